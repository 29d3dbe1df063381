"""Hostile input to `vad train | calibrate | info` and their recipes and checkpoints (a CLI fuzz's findings): every
bad recipe setting, recipe file, checkpoint, corpus list and model record ends in one line naming what is wrong."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from neuroflow.cli import main
from neuroflow.vad import training
from neuroflow.vad.recipe import Recipe

#: a recipe that trains in about a second on the tiny corpus
FAST = {"hidden": [4], "epochs": 3, "prune": 0.0, "seq_frames": 60, "burn_in": 5, "batch_size": 4,
        "rewind_epoch": 0, "val_fraction": 0.34, "median": 3, "hangover": 2}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from neuroflow.vad.corpus import generate_corpus

    root = tmp_path_factory.mktemp("hostile_train") / "corpus"
    generate_corpus(root, minutes=0.5, split="train", seed=3, durations=(10.0,), snrs=(10.0,), progress=False)
    return root


@pytest.fixture
def recipe_file(tmp_path):
    def write(content, name="r.json") -> str:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)

    return write


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neuroflow: error: "), err
    return lines[0]


def _train(corpus, out, *extra) -> int:
    return main(["vad", "train", "--quiet", "--corpus", str(corpus), "--out", str(out), *extra])


# ----------------------------------------------------------------------------- recipe files (items 8, 12)
def test_a_deeply_nested_recipe_file_is_one_line(corpus, tmp_path, recipe_file, capsys):
    path = recipe_file("[" * 100_000 + "]" * 100_000)
    assert _train(corpus, tmp_path / "m.pt", "--recipe", path) == 2
    line = _error_line(capsys)
    assert "--recipe" in line and path in line and "nested too deeply" in line


@pytest.mark.parametrize("value, kind", [(None, "null"), (5, "a number"), ([1, 2], "an array"), ("ab", "a string"),
                                         ([{"a": 1}], "an array")])
def test_a_recipe_key_that_is_no_object_names_the_file(value, kind, corpus, tmp_path, recipe_file, capsys):
    path = recipe_file({"recipe": value})
    assert _train(corpus, tmp_path / "m.pt", "--recipe", path) == 2
    line = _error_line(capsys)
    assert line.startswith(f"neuroflow: error: --recipe: {path}: expected a JSON object of settings")
    assert line.endswith(f"got {kind}")


# ----------------------------------------------------------------------------- recipe settings (items 13-16)
@pytest.mark.parametrize("hidden", ["64", [8.7], [True], [8, "8"]])
def test_hidden_must_be_a_list_of_whole_numbers(hidden, corpus, tmp_path, recipe_file, capsys):
    path = recipe_file({**FAST, "hidden": hidden})
    assert _train(corpus, tmp_path / "m.pt", "--recipe", path) == 2
    assert f"--recipe: {path}: hidden: expected a list of layer widths" in _error_line(capsys)
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize("setting, value, expected", [
    ("gain_db", 1e308, "a number in [0, 60]"), ("offset_frames", 10**9, "an integer in [1, 1000]"),
    ("threads", 100_000, "an integer in [1, 256]"), ("n_mels", 100_000, "an integer in [1, 128]"),
    ("noise_only", 1e6, "a number in [0, 10]"), ("room_tone", 11.0, "a number in [0, 10]"),
    ("restarts", 10**6, "an integer in [0, 50]"), ("batch_size", 10**9, "an integer in [1, 4096]"),
    ("seq_frames", 10**9, "an integer in [1, 60000]"), ("epochs", 10**9, "an integer in [1, 1000]"),
    ("hangover", 10**18, "an integer in [0, 1000]"), ("lr", 1e30, "a number in (0, 1]"),
    ("seed", 2**64, "an integer in [0, 18446744073709551615]"), ("gain_db", 10**400, "a number in [0, 60]"),
    ("tau", 1e300, "a number in [0.01, 1000]"), ("tau", 1e-300, "a number in [0.01, 1000]"),
    ("floor_window", 10**9, "an integer in [1, 6000]"), ("modulation_window", 1e6, "a number <= 10"),
    ("tonality_window", 1e6, "a number <= 10"), ("n_bins", 100_000, "an integer in [2, 64]"),
    ("slope", 1e308, "a number in (0, 100]"),
])
def test_numeric_extremes_are_refused_naming_the_setting_and_range(setting, value, expected):
    with pytest.raises(ValueError) as err:
        Recipe(**{setting: value})
    msg = str(err.value)
    assert msg.startswith(f"{setting}: expected {expected}, got ") and len(msg) < 150, msg


def test_extremes_in_a_recipe_file_end_before_any_work(corpus, tmp_path, recipe_file, capsys):
    path = recipe_file({**FAST, "threads": 100_000})
    assert _train(corpus, tmp_path / "m.pt", "--recipe", path) == 2
    assert _error_line(capsys) == (f"neuroflow: error: --recipe: {path}: threads: expected an integer in [1, 256], "
                                   f"got 100000")


def test_too_many_hidden_layers_are_refused():
    with pytest.raises(ValueError, match="hidden: expected at most 8 layers, got 9"):
        Recipe(hidden=[4] * 9)


def test_a_batch_past_this_machines_memory_is_refused_at_once(tmp_path):
    recipe = Recipe(batch_size=4096, seq_frames=60_000, hidden=(4096,) * 8)
    with pytest.raises(ValueError, match=r"^batch_size, seq_frames: this run needs about .* GiB of memory"):
        training.train_vad(tmp_path / "no_corpus", tmp_path / "m.pt", recipe, progress=False)


def test_the_batch_estimate_of_the_shipped_recipes_is_small():
    from neuroflow.vad.recipe import default_recipe

    assert all(training.batch_bytes(default_recipe(kind)) < 2**28 for kind in ("snu", "bin"))


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Recipe)])
def test_every_setting_of_a_wrong_type_is_named(field):
    with pytest.raises(ValueError) as err:
        Recipe(**{field: {"a": 1}})  # a JSON object is the wrong type for every setting
    assert str(err.value).startswith(f"{field}: expected "), str(err.value)


@pytest.mark.parametrize("settings, message", [
    ({"alpha": "x", "norm": "running"}, "alpha: expected a number, got 'x'"),
    ({"prune": "x"}, "prune: expected a number, got 'x'"),
    ({"tau": 10.0, "slope": "5"}, "slope: expected a positive number, got '5'"),
    ({"epochs": 6.0}, "epochs: expected a positive integer, got 6.0"),
    ({"teacher": "bin", "teacher_weight": True}, "teacher_weight: expected a number, got True"),
    ({"floor_fall_db": "4"}, "floor_fall_db: expected a number or None, got '4'"),
])
def test_type_errors_in_a_recipe_file_name_the_setting(settings, message, corpus, tmp_path, recipe_file, capsys):
    path = recipe_file(settings)
    assert _train(corpus, tmp_path / "m.pt", "--recipe", path) == 2
    assert _error_line(capsys) == f"neuroflow: error: --recipe: {path}: {message}"


# ----------------------------------------------------------------------------- flags (item 17)
@pytest.mark.parametrize("flag, value", [("--hidden", "99999"), ("--seed", str(2**64)), ("--epochs", "5000"),
                                         ("--prune-epochs", "5000")])
def test_a_bad_value_from_a_flag_names_the_flag(flag, value, corpus, tmp_path, recipe_file, capsys):
    assert _train(corpus, tmp_path / "m.pt", "--recipe", recipe_file(FAST), flag, value) == 2
    assert _error_line(capsys).startswith(f"neuroflow: error: {flag}: expected ")
    assert _train(corpus, tmp_path / "m.pt", flag, value) == 2  # the same without --recipe
    assert _error_line(capsys).startswith(f"neuroflow: error: {flag}: expected ")


def test_a_bound_set_by_a_flag_is_named_with_the_setting_it_bounds(corpus, tmp_path, recipe_file, capsys):
    path = recipe_file({**FAST, "rewind_epoch": 3})
    assert _train(corpus, tmp_path / "m.pt", "--recipe", path, "--epochs", "2") == 2
    assert _error_line(capsys) == (f"neuroflow: error: --recipe: {path}: rewind_epoch: expected at most epochs=2, "
                                   f"got 3 (epochs from --epochs)")


# ----------------------------------------------------------------------------- checkpoints (item 18)
@pytest.fixture(scope="module")
def checkpoint(corpus, tmp_path_factory):
    """A real checkpoint of FAST, stopped by Ctrl-C in its second epoch (the first is kept): (recipe file, contents)."""
    root = tmp_path_factory.mktemp("hostile_ckpt")
    path = root / "r.json"
    path.write_text(json.dumps(FAST))
    real_epoch, calls = training._epoch, {"n": 0}

    def stopped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    training._epoch = stopped
    try:
        assert _train(corpus, root / "m.pt", "--recipe", str(path)) == 130
    finally:
        training._epoch = real_epoch
    ck = torch.load(root / "m.pt.ckpt", weights_only=True)
    assert ck["epoch"] == 1 and len(ck["history"]) == 1
    return str(path), ck


def _nan_weights(ck):
    ck["model"] = {k: v * float("nan") if v.is_floating_point() else v for k, v in ck["model"].items()}


DAMAGES = {
    "string epoch": lambda ck: ck.update(epoch="abc"),
    "null history": lambda ck: ck.update(history=None),
    "empty optimiser state": lambda ck: ck.update(optim={}),
    "NaN weights": _nan_weights,
    "epoch 1e9": lambda ck: ck.update(epoch=10**9),
    "round 99": lambda ck: ck.update(round=99),
    "history of another length": lambda ck: ck.update(history=ck["history"] * 2),
    "rewind weights of another model": lambda ck: ck.update(rewind={"x": torch.zeros(1)}),
    "optimiser moments of another shape": lambda ck: ck["optim"]["state"][0].update(exp_avg=torch.zeros(3)),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_checkpoint_is_one_line_naming_it(damage, checkpoint, corpus, tmp_path, capsys):
    import copy

    recipe, good = checkpoint
    ck = copy.deepcopy(good)
    DAMAGES[damage](ck)
    out = tmp_path / "m.pt"
    torch.save(ck, tmp_path / "m.pt.ckpt")
    assert _train(corpus, out, "--recipe", recipe) == 2
    line = _error_line(capsys)
    assert line.startswith(f"neuroflow: error: {out}.ckpt: damaged training checkpoint ("), line
    assert line.endswith(f"; {START_OVER_CLI.format(out=out)}"), line
    assert not out.exists()


#: how `vad train` ends a message about a checkpoint it cannot resume (its own flags, no API phrase)
START_OVER_CLI = "write to another --out, delete {out}.ckpt, or start over with --no-resume"


@pytest.mark.filterwarnings("ignore:.*planned scenes")  # the other corpus holds a scene fewer than planned
def test_a_checkpoint_of_other_training_data_is_refused_naming_it(checkpoint, corpus, tmp_path, capsys):
    import shutil

    recipe, good = checkpoint
    other = tmp_path / "other"
    shutil.copytree(corpus, other)
    manifest = json.loads((other / "corpus.json").read_text())
    manifest["scenes"] = manifest["scenes"][:-1]  # a scene fewer: other data
    (other / "corpus.json").write_text(json.dumps(manifest))
    out = tmp_path / "m.pt"
    for ck, reason in ((good, f"checkpoint of training on other data than {other} ("),
                       ({k: v for k, v in good.items() if k != "data_sha256"}, "checkpoint records no training data")):
        torch.save(ck, tmp_path / "m.pt.ckpt")
        assert _train(other, out, "--recipe", recipe) == 2
        line = _error_line(capsys)
        assert line.startswith(f"neuroflow: error: {out}.ckpt: {reason}"), line
        assert line.endswith(START_OVER_CLI.format(out=out)) and not out.exists()
    torch.save(good, tmp_path / "m.pt.ckpt")  # the checkpoint's own corpus, copied elsewhere: the same data
    shutil.rmtree(other)
    shutil.copytree(corpus, other)
    assert _train(other, out, "--recipe", recipe, "--json") == 0
    assert json.loads(capsys.readouterr().out)["resumed"]


@pytest.mark.filterwarnings("ignore:.*the validation split .* holds no:UserWarning")  # a tiny corpus
def test_a_checkpoint_of_another_recipe_says_which_settings_differ(checkpoint, corpus, tmp_path, capsys):
    recipe, good = checkpoint
    out = tmp_path / "m.pt"
    torch.save({**good, "recipe": {**good["recipe"], "seed": 7, "notes": "x" * 500}}, tmp_path / "m.pt.ckpt")
    assert _train(corpus, out, "--recipe", recipe, "--seed", "8") == 2
    line = _error_line(capsys)
    assert line == (f"neuroflow: error: {out}.ckpt: checkpoint of another recipe (seed 7 in the checkpoint, 8 now; "
                    f"notes '{'x' * 36}... in the checkpoint, no such setting now); "
                    + START_OVER_CLI.format(out=out)), line


def test_an_intact_checkpoint_still_resumes(checkpoint, corpus, tmp_path, capsys):
    recipe, good = checkpoint
    torch.save(good, tmp_path / "m.pt.ckpt")
    assert _train(corpus, tmp_path / "m.pt", "--recipe", recipe, "--json") == 0
    res = json.loads(capsys.readouterr().out)
    assert res["resumed"] and len(res["history"]) == 3 and res["history"][0] == good["history"][0]


# ----------------------------------------------------------------------------- vad info (item 19)
@pytest.mark.parametrize("recipe", [{"teacher_weight": 0.5}, {"teacher_weight": "x", "teacher": "bin"},
                                    {"teacher_weight": [1], "teacher": None}, {}])
def test_vad_info_shows_a_model_whose_recipe_record_is_damaged(recipe, tmp_path, capsys):
    from neuroflow.vad.detect import MODELS_DIR

    payload = torch.load(MODELS_DIR / "bin.pt", weights_only=True)
    payload["info"]["recipe"] = recipe
    payload["info"]["val"] = {"hter": "x"}
    torch.save(payload, tmp_path / "m.pt")
    assert main(["vad", "info", "--model", str(tmp_path / "m.pt")]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith(f"bin model {tmp_path / 'm.pt'}") and "validation HTER" not in out
    assert ("teacher settings are damaged" in out) == ("teacher_weight" in recipe)


MODEL_DAMAGES = {  # fields no training run writes: were read silently (a string "false" as true), or at detection
    "switch a string": (lambda p: p["config"]["features"].update(level="false"), "config features level: "),
    "switch a number": (lambda p: p["config"]["features"].update(skip_silence=1), "config features skip_silence: "),
    "NaN alpha": (lambda p: p["config"]["features"].update(norm="running", alpha=float("nan")),
                  "config features alpha: "),
    "ceiling a string": (lambda p: p["config"]["features"].update(level_ceiling_db="-45"),
                         "config features level_ceiling_db: "),
    "complex bin edges": (lambda p: p["state_dict"].update(bin_edges=p["state_dict"]["bin_edges"].to(torch.complex64)),
                          "state_dict bin_edges (complex64): "),  # was a NotImplementedError traceback
    "integer weights": (lambda p: p["state_dict"].update({"layers.0.weight": p["state_dict"]["layers.0.weight"].int()}),
                        "state_dict layers.0.weight (int32): "),
}


@pytest.mark.filterwarnings("error")  # refused before torch copies the weights (complex ones drew its cast warning)
@pytest.mark.parametrize("damage", list(MODEL_DAMAGES))
@pytest.mark.parametrize("verb", ["info", "detect"])
def test_a_model_file_with_a_field_of_the_wrong_type_is_refused_naming_it(damage, verb, tmp_path, capsys):
    import soundfile as sf

    from neuroflow.vad.detect import MODELS_DIR

    payload = torch.load(MODELS_DIR / "bin.pt", weights_only=True)
    change, field = MODEL_DAMAGES[damage]
    change(payload)
    torch.save(payload, tmp_path / "m.pt")
    sf.write(tmp_path / "a.wav", np.zeros(1600, np.float32), 16000)
    argv = ["vad", "info", "--model", str(tmp_path / "m.pt")] if verb == "info" else \
        ["vad", "detect", str(tmp_path / "a.wav"), "--model", str(tmp_path / "m.pt")]
    assert main(argv) == 2
    line = _error_line(capsys)
    assert line.startswith(f"neuroflow: error: {tmp_path / 'm.pt'}: damaged spiking-VAD model ({field}"), line


# ----------------------------------------------------------------------------- corpora (item 26)
@pytest.mark.parametrize("verb", ["train", "eval"])
def test_a_corpus_wav_cut_short_after_it_was_written_is_one_error_line(corpus, tmp_path, recipe_file, capsys, verb):
    import shutil
    import warnings

    damaged = tmp_path / "damaged"
    shutil.copytree(corpus, damaged)
    path = damaged / "A_0000.wav"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no truncation warning before the error
        if verb == "train":
            assert _train(damaged, tmp_path / "m.pt", "--recipe", recipe_file(FAST)) == 2
        else:
            assert main(["vad", "eval", "--quiet", "--corpus", str(damaged), "--system", "energy"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err == [f"neuroflow: error: {path}: differs from the corpus manifest (SHA-256), changed or cut short after "
                   "it was written; run the same `neuroflow vad corpus` command again to remake it"]
    assert not (tmp_path / "m.pt").exists()


def test_hand_corrected_labels_are_used_as_they_are(corpus, tmp_path, capsys):
    import shutil

    edited = tmp_path / "edited"
    shutil.copytree(corpus, edited)
    path = edited / "A_0000.labels.npy"
    np.save(path, 1 - np.load(path))  # valid 0/1 labels, other than the manifest's hash
    assert main(["vad", "eval", "--quiet", "--corpus", str(edited), "--system", "energy", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert main(["vad", "eval", "--quiet", "--corpus", str(corpus), "--system", "energy", "--json"]) == 0
    assert again["HTER"] != json.loads(capsys.readouterr().out)["HTER"]  # the edited labels were scored


def test_a_wav_truncated_against_its_labels_without_recorded_hashes_is_named(corpus, tmp_path, recipe_file, capsys):
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(corpus, damaged)
    manifest = json.loads((damaged / "corpus.json").read_text())
    for entry in manifest["scenes"]:
        entry.pop("sha256")  # a corpus written by hand: nothing to compare with
    (damaged / "corpus.json").write_text(json.dumps(manifest))
    wav = damaged / "A_0000.wav"
    wav.write_bytes(wav.read_bytes()[: wav.stat().st_size // 2])
    with pytest.warns(UserWarning, match="truncated WAV file"):
        assert _train(damaged, tmp_path / "m.pt", "--recipe", recipe_file(FAST)) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"neuroflow: error: {damaged / 'A_0000.labels.npy'}: 1000 labels, but {wav} has ")
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize("verb", [["vad", "train", "--recipe", "{R}"], ["vad", "calibrate", "--model", "bin"]])
def test_the_same_corpus_twice_is_refused(verb, corpus, tmp_path, recipe_file, capsys):
    argv = [a.replace("{R}", recipe_file(FAST)) for a in verb]
    for twice in ([str(corpus), str(corpus)], [str(corpus), f"{corpus}/../{corpus.name}/"]):
        assert main([*argv, "--quiet", "--corpus", *twice, "--out", str(tmp_path / "m.pt")]) == 2
        line = _error_line(capsys)
        assert line.startswith(f"neuroflow: error: --corpus: {twice[1].rstrip('/')}") and "given twice" in line
    assert not (tmp_path / "m.pt").exists()


def test_two_different_corpus_folders_are_still_pooled(corpus, tmp_path, recipe_file, capsys):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(corpus, other)
    assert main(["vad", "train", "--quiet", "--corpus", str(corpus), str(other), "--out", str(tmp_path / "m.pt"),
                 "--recipe", recipe_file({**FAST, "epochs": 1}), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["history"]) == 1


def test_valid_scenes_have_as_many_labels_as_frames(corpus):
    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.sequences import corpus_sequences

    data = corpus_sequences(corpus, Recipe().features())
    assert [len(f) for f in data.feats] == [len(s.labels) for s in load_corpus(corpus)]
    assert all(np.array_equal(y, s.labels) for y, s in zip(data.labels, load_corpus(corpus)))


def test_vad_info_names_a_model_whose_stored_activity_record_is_damaged(tmp_path, capsys):
    import torch

    from neuroflow.cli import main
    from neuroflow.vad.detect import model_path

    saved = torch.load(model_path("bin"), weights_only=False)
    saved["info"]["rates"] = {"input": [0.1]}  # the hidden layer's activity lost
    damaged = tmp_path / "rates.pt"
    torch.save(saved, damaged)
    assert main(["vad", "info", "--model", str(damaged)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"neuroflow: error: {damaged}: its stored activity record is damaged")
    assert len(err.splitlines()) == 1 and "pass audio to measure" in err


def test_the_recipe_files_kind_is_trained_and_a_different_model_flag_refused(corpus, tmp_path, recipe_file, capsys):
    small = {"hidden": [4], "epochs": 1, "prune": 0, "seq_frames": 100, "burn_in": 10, "batch_size": 4,
             "rewind_epoch": 0}
    path = recipe_file({**small, "kind": "bin"})
    assert _train(corpus, tmp_path / "b.pt", "--recipe", path, "--json") == 0  # no --model: the file's kind
    assert json.loads(capsys.readouterr().out)["recipe"]["kind"] == "bin"
    assert _train(corpus, tmp_path / "s.pt", "--recipe", path, "--model", "snu") == 2
    line = _error_line(capsys)
    assert line.startswith("neuroflow: error: --model, --recipe: --model snu, but ") and "'bin' model" in line
    assert not (tmp_path / "s.pt").exists()
    assert _train(corpus, tmp_path / "x.pt", "--recipe", recipe_file({**small, "kind": "x"}, "x.json")) == 2
    assert "kind: expected one of" in _error_line(capsys)


@pytest.mark.parametrize("verb", ["train", "calibrate"])
def test_an_unfinished_corpus_is_trained_or_calibrated_on_with_a_warning(verb, corpus, tmp_path, recipe_file):
    import shutil

    part = tmp_path / "part"
    shutil.copytree(corpus, part)
    manifest = json.loads((part / "corpus.json").read_text())
    (part / "corpus.json").write_text(json.dumps({**manifest, "scenes": manifest["scenes"][:2]}))
    argv = (["--recipe", recipe_file({**FAST, "epochs": 1})] if verb == "train" else ["--model", "bin"])
    with pytest.warns(UserWarning) as record:
        assert main(["vad", verb, "--quiet", "--corpus", str(part), "--out", str(tmp_path / "m.pt"), *argv]) == 0
    planned = [str(w.message) for w in record if "planned" in str(w.message)]
    doing = {"train": "training on those", "calibrate": "calibrating on those"}[verb]
    assert planned == [f"{part}: the corpus holds 2 of its 3 planned scenes (its generation was interrupted; rerun "
                       f"`neuroflow vad corpus` with the same arguments to finish it); {doing}"], planned


def test_training_on_one_class_of_frames_is_refused_naming_the_corpus(corpus, tmp_path, capsys):
    from neuroflow.vad.sequences import SequenceSet, corpus_sequences

    quiet = tmp_path / "quiet"
    assert main(["vad", "corpus", "--quiet", "--out", str(quiet), "--speech", "none", "--minutes", "0.05",
                 "--durations", "2"]) == 0
    assert _train(quiet, tmp_path / "m.pt", "--epochs", "1", "--hidden", "4", "--prune", "0") == 2
    assert _error_line(capsys) == (f"neuroflow: error: --corpus: {quiet} holds no speech frames (every label is 0); "
                                   f"training needs speech and non-speech frames")
    assert not (tmp_path / "m.pt").exists()
    recipe = Recipe(**FAST)
    data = corpus_sequences(corpus, recipe.features())
    speech_only = SequenceSet(data.feats, [np.ones_like(y) for y in data.labels], data.names, data.snr_db)
    with pytest.raises(ValueError, match=f"^corpus: {corpus} holds no non-speech frames"):
        training.train_vad(corpus, tmp_path / "s.pt", recipe, data=speech_only, progress=False)


def test_training_on_a_corpus_without_scenes_names_it(tmp_path):
    from neuroflow.vad.sequences import corpus_sequences

    class Empty:
        root = tmp_path / "empty"

        def __iter__(self):
            return iter(())

    with pytest.raises(ValueError, match=f"^corpus: {tmp_path / 'empty'} holds no scenes"):
        corpus_sequences(Empty(), Recipe().features())


def test_a_model_path_the_system_refuses_is_one_line_naming_system(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["vad", "eval", "--corpus", str(tmp_path), "--system", "snu:" + "a" * 300 + ".pt"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "argument --system" in err and "Traceback" not in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("side", ["m.json", "m.dense.pt", "m.pt.ckpt"])
def test_a_folder_where_training_writes_beside_out_is_refused_before_any_work(side, corpus, tmp_path, recipe_file,
                                                                              capsys, monkeypatch):
    (tmp_path / side).mkdir()  # was: "[Errno 21] Is a directory" after the training (the report: after the model)
    monkeypatch.setattr(training, "training_data", lambda *a, **k: pytest.fail("features made before the check"))
    assert _train(corpus, tmp_path / "m.pt", "--recipe", recipe_file({**FAST, "prune": 0.5})) == 2
    line = _error_line(capsys)
    assert f"--out: {tmp_path / side}: is a folder" in line, line
    assert not (tmp_path / "m.pt").exists()


def test_a_second_training_run_into_the_same_out_is_refused_at_once(corpus, tmp_path, recipe_file, capsys):
    import os

    from neuroflow._utils import exclusive_lock

    out = tmp_path / "m.pt"
    lock = tmp_path / ".m.pt.lock"
    # both ran: one checkpoint written by two, and the later model replaced the earlier run's, which said success
    with exclusive_lock(lock, "held"):  # a run in progress
        assert _train(corpus, out, "--recipe", recipe_file(FAST)) == 2
    line = _error_line(capsys)
    assert line == (f"neuroflow: error: --out: {out} is being written by another run (pid {os.getpid()}); "
                    f"wait for it to finish or write to another path"), line
    assert not out.exists() and not lock.exists()  # the lock file goes with its run


@pytest.mark.parametrize("prune", [0.0, 0.5])
def test_training_into_the_file_of_its_own_teacher_is_refused(corpus, tmp_path, recipe_file, capsys, prune):
    """--out at the recipe's teacher (or the unpruned model beside it at the teacher) replaced the network the run
    learnt from, so the same command run again learnt from that new model: another model each time, none matching
    the teacher it records."""
    import shutil

    from neuroflow.vad.detect import MODELS_DIR
    from neuroflow.vad.recipe import default_recipe

    out = tmp_path / "m.pt"
    teacher = tmp_path / ("m.dense.pt" if prune else "m.pt")
    shutil.copy(MODELS_DIR / "bin.pt", teacher)
    before = teacher.read_bytes()
    recipe = {**default_recipe("bin").to_dict(), **FAST, "prune": prune, "teacher": str(teacher),
              "teacher_weight": 0.5}
    assert _train(corpus, out, "--recipe", recipe_file(recipe)) == 2
    line = _error_line(capsys)
    assert line.startswith(f"neuroflow: error: --out: {out} would write its {'unpruned ' if prune else ''}model over "
                           f"{teacher}, the recipe's teacher"), line
    assert teacher.read_bytes() == before and not (tmp_path / "m.json").exists()


def test_a_report_over_a_corpus_manifest_is_refused(corpus, tmp_path, recipe_file, capsys):
    """--out corpus/corpus.pt wrote the training report over corpus/corpus.json, the manifest: the corpus could no
    longer be read ("not a valid corpus manifest") nor resumed; another corpus's manifest went the same way."""
    import shutil

    from neuroflow.vad.corpus import load_corpus

    copy = tmp_path / "corpus"
    shutil.copytree(corpus, copy)
    manifest = (copy / "corpus.json").read_bytes()
    recipe = recipe_file(FAST)
    for trained_on in (copy, corpus):  # the corpus it trains on, or another one
        assert _train(trained_on, copy / "corpus.pt", "--recipe", recipe) == 2
        line = _error_line(capsys)
        assert line.startswith(f"neuroflow: error: --out: {copy / 'corpus.pt'} would write its report over "
                               f"{copy / 'corpus.json'}"), line
    assert (copy / "corpus.json").read_bytes() == manifest and not (copy / "corpus.pt").exists()
    with pytest.raises(ValueError, match="^out: .*the manifest of the corpus it trains on"):
        training.train_vad(load_corpus(copy), copy / "corpus.pt", Recipe.from_dict(FAST), progress=False)


def test_an_out_ending_in_upper_case_pt_is_trained_as_the_parser_took_it(corpus, tmp_path, recipe_file, capsys):
    """--out M.PT passed the parser (and vad calibrate writes it), then training refused it: "expected a .pt model
    path"."""
    assert _train(corpus, tmp_path / "M.PT", "--recipe", recipe_file(FAST)) == 0
    assert (tmp_path / "M.PT").is_file() and (tmp_path / "M.json").is_file()
    assert not (tmp_path / "M.PT.ckpt").exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    from neuroflow._utils import exclusive_lock

    lock = tmp_path / ".m.pt.lock"
    lock.write_text("12345\n")  # a holder killed with SIGKILL leaves its file, not its lock
    with exclusive_lock(lock, "held by {pid}"):
        assert lock.read_text().strip() == str(__import__("os").getpid())
        with pytest.raises(ValueError, match=f"^held by {__import__('os').getpid()}$"):
            with exclusive_lock(lock, "held by {pid}"):
                pass
    assert not lock.exists()


def test_a_calibration_into_a_model_being_written_is_refused_at_once(corpus, tmp_path, capsys):
    import os

    from neuroflow._utils import exclusive_lock

    out = tmp_path / "m.pt"
    with exclusive_lock(tmp_path / ".m.pt.lock", "held"):  # a training or calibration run writing m.pt
        assert main(["vad", "calibrate", "--quiet", "--model", "bin", "--corpus", str(corpus), "--out", str(out)]) == 2
    assert _error_line(capsys) == (f"neuroflow: error: --out: {out} is being written by another run (pid "
                                   f"{os.getpid()}); wait for it to finish or write to another path")
    assert not out.exists()


def test_a_pipe_where_the_checkpoint_goes_is_refused_not_waited_on(corpus, tmp_path, recipe_file, capsys):
    import os
    import signal

    os.mkfifo(tmp_path / "m.pt.ckpt")  # the resume read waited on it forever

    def hung(signum, frame):
        raise TimeoutError("training waited on its checkpoint")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        assert _train(corpus, tmp_path / "m.pt", "--recipe", recipe_file(FAST)) == 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert _error_line(capsys).startswith(f"neuroflow: error: --out: {tmp_path / 'm.pt.ckpt'}: is not a regular file")


def test_a_recipe_or_manifest_with_a_key_twice_is_refused_naming_the_key(corpus, tmp_path, recipe_file, capsys):
    import shutil

    recipe = recipe_file(json.dumps(FAST)[:-1] + ', "epochs": 30}')  # the last one was trained, without a word
    assert _train(corpus, tmp_path / "m.pt", "--recipe", recipe) == 2
    assert _error_line(capsys) == (f"neuroflow: error: --recipe: {recipe}: recipe gives 'epochs' twice in one object "
                                   f"(which one was meant?)")
    other = tmp_path / "c"
    shutil.copytree(corpus, other)
    text = (other / "corpus.json").read_text()
    (other / "corpus.json").write_text(text.replace('"scenes": [', '"scenes": [], "scenes": [', 1))
    assert main(["vad", "eval", "--quiet", "--system", "energy", "--corpus", str(other)]) == 2
    assert "gives 'scenes' twice in one object" in _error_line(capsys)


# ----------------------------------------------------------------------------- a sixth pass
@pytest.mark.parametrize("where", ["flag", "recipe"])
def test_prune_epochs_without_pruning_is_refused_naming_both(where, corpus, tmp_path, recipe_file, capsys):
    """--prune-epochs retrains after each pruning round; with prune 0 there is none, and the flag was taken and did
    nothing (the model trained as if it were not there)."""
    extra = ["--recipe", recipe_file(FAST), "--prune", "0"] if where == "flag" else \
        ["--recipe", recipe_file({**FAST, "prune": 0})]
    assert _train(corpus, tmp_path / "m.pt", *extra, "--prune-epochs", "3") == 2
    line = _error_line(capsys)
    assert line.startswith("neuroflow: error: --prune-epochs: retrains after each pruning round, and ")
    assert ("--prune 0 prunes nothing" if where == "flag" else "the recipe's prune 0 (") in line, line
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "m.pt.ckpt").exists()
