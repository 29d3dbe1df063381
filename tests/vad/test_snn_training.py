"""A tiny BPTT recipe on a generated corpus: loss falls, pruning reaches its target, runs resume exactly."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neuroflow.vad import sequences, training
from neuroflow.vad.metrics import error_rates
from neuroflow.vad.postprocess import causal_max, causal_median
from neuroflow.vad.recipe import Recipe
from neuroflow.vad.snn import load_model, network_sha256, save_model
from neuroflow.vad.training import train_vad


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    from neuroflow.vad.corpus import generate_corpus

    root = tmp_path_factory.mktemp("snn_corpus")
    generate_corpus(root, minutes=1.0, split="train", seed=3, durations=(15.0,), snrs=(10.0, 5.0), progress=False)
    return root


@pytest.fixture(scope="module")
def tiny_data(tiny_corpus):
    return sequences.corpus_sequences(tiny_corpus, Recipe().features())


def _tiny(**kw):
    base = dict(hidden=(8,), epochs=3, prune=0.0, seq_frames=60, burn_in=5, batch_size=8, lr=0.02,
                val_fraction=0.25, median=3, hangover=2, seed=1)
    base.update(kw)
    return Recipe(**base)


def test_tiny_recipe_loss_falls_and_model_saves(tiny_corpus, tiny_data, tmp_path):
    res = train_vad(tiny_corpus, tmp_path / "m.pt", _tiny(), data=tiny_data, progress=False)
    losses = [h["loss"] for h in res.history]
    assert len(losses) == 3
    assert losses[-1] < losses[0]
    assert 0.0 <= res.val["hter"] <= 1.0 and 0.0 < res.threshold < 1.0
    assert res.energy["power_uW"] > 0 and res.energy["spikes_per_neuron_per_frame"] >= 0
    loaded = load_model(res.path)
    assert loaded.threshold == pytest.approx(res.threshold)
    assert loaded.info["recipe"] == res.recipe
    assert (tmp_path / "m.json").exists() and not (tmp_path / "m.pt.ckpt").exists()


def test_pruned_bin_model_reaches_target_sparsity(tiny_corpus, tiny_data, tmp_path):
    res = train_vad(tiny_corpus, tmp_path / "b.pt", _tiny(kind="bin", n_bins=4, epochs=2, prune=0.85,
                                                          prune_rate=0.62, prune_epochs=1), data=tiny_data,
                    progress=False)
    assert res.sparsity >= 0.85
    assert [h["round"] for h in res.history] == [0, 0, 1, 2]
    dense = load_model(res.dense_path)
    assert dense.model.sparsity() == 0.0
    pruned = load_model(res.path).model
    for _, w, m in pruned.connections():  # masks travel with the model and pruned weights are zero
        assert torch.all(w[m == 0] == 0)


def _stopped_in_second_epoch(monkeypatch, corpus, data, out, recipe):
    """Train ``recipe`` into ``out`` and stop it with Ctrl-C in its second epoch (a checkpoint of the first stays)."""
    real_epoch, calls = training._epoch, {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training, "_epoch", flaky)
    with pytest.raises(KeyboardInterrupt):
        train_vad(corpus, out, recipe, data=data, progress=False)
    monkeypatch.setattr(training, "_epoch", real_epoch)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_interrupted_run_resumes_to_the_same_model(tiny_corpus, tiny_data, tmp_path, monkeypatch, schedule):
    recipe = _tiny(epochs=2, lr_schedule=schedule)
    ref = train_vad(tiny_corpus, tmp_path / "ref.pt", recipe, data=tiny_data, progress=False)
    _stopped_in_second_epoch(monkeypatch, tiny_corpus, tiny_data, tmp_path / "int.pt", recipe)
    assert (tmp_path / "int.pt.ckpt").exists()
    res = train_vad(tiny_corpus, tmp_path / "int.pt", recipe, data=tiny_data, progress=False)
    assert res.resumed and res.history == ref.history
    assert [h["epoch"] for h in res.history] == [1, 2]
    a, b = load_model(ref.path).model.state_dict(), load_model(res.path).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="another recipe"):
        torch.save({"recipe": {"kind": "bin"}}, tmp_path / "int.pt.ckpt")
        train_vad(tiny_corpus, tmp_path / "int.pt", recipe, data=tiny_data, progress=False)


def test_a_damaged_training_checkpoint_is_refused_in_one_line(tiny_corpus, tiny_data, tmp_path, monkeypatch):
    recipe = _tiny(epochs=2, lr_schedule="cosine")
    ckpt = tmp_path / "int.pt.ckpt"
    _stopped_in_second_epoch(monkeypatch, tiny_corpus, tiny_data, tmp_path / "int.pt", recipe)
    good = torch.load(ckpt, weights_only=True)  # tensors and plain types only: loading it cannot run code
    assert good["epoch"] == 1
    bad_state = {**good, "model": {"nonsense": torch.zeros(1)}}
    damages = [("empty", lambda: ckpt.write_bytes(b"")), ("random", lambda: ckpt.write_bytes(bytes(range(256)))),
               ("a list", lambda: torch.save([1, 2], ckpt)), ("other weights", lambda: torch.save(bad_state, ckpt))]
    for name, write in damages:
        write()
        with pytest.raises(ValueError) as err:
            train_vad(tiny_corpus, tmp_path / "int.pt", recipe, data=tiny_data, progress=False)
        msg = str(err.value)
        assert msg.startswith(str(ckpt)) and "\n" not in msg and "resume=False" in msg, (name, msg)


def test_recipe_validation_names_the_setting():
    with pytest.raises(ValueError, match="prune"):
        Recipe(prune=1.0)
    with pytest.raises(ValueError, match="kind"):
        Recipe(kind="gru")
    with pytest.raises(ValueError, match="median"):
        Recipe(median=4)
    with pytest.raises(ValueError, match="unknown settings"):
        Recipe.from_dict({"epochz": 3})
    with pytest.raises(ValueError, match="offset_weight"):
        Recipe(offset_weight=-1.0)
    with pytest.raises(ValueError, match="offset_frames"):
        Recipe(offset_frames=0)
    with pytest.raises(ValueError, match="lr_schedule"):
        Recipe(lr_schedule="step")
    with pytest.raises(ValueError, match="seed: expected a non-negative integer, got 'x'"):
        Recipe(seed="x")
    with pytest.raises(ValueError, match="hidden: expected layers of 1 to 4096 units"):
        Recipe(hidden=(10_000_000,))


def test_offset_weights_fall_on_the_non_speech_after_speech():
    y = torch.tensor([[0, 1, 1, 0, 0, 0, 0, 1, 0, 0], [1, 0, 0, 0, 1, 1, 0, 0, 0, 0]], dtype=torch.float32)
    w = training.offset_weights(y, 2, 2.0)
    assert w.tolist() == [[1, 1, 1, 3, 3, 1, 1, 1, 3, 3], [1, 3, 3, 1, 1, 1, 3, 3, 1, 1]]
    assert training.offset_weights(y, 2, 0.0) is None


def test_offset_weighted_training_differs_and_stays_reproducible(tiny_corpus, tiny_data, tmp_path):
    a = train_vad(tiny_corpus, tmp_path / "a.pt", _tiny(offset_weight=2.0), data=tiny_data, progress=False)
    b = train_vad(tiny_corpus, tmp_path / "b.pt", _tiny(offset_weight=2.0), data=tiny_data, progress=False)
    c = train_vad(tiny_corpus, tmp_path / "c.pt", _tiny(), data=tiny_data, progress=False)
    assert a.history == b.history and a.history != c.history


def test_cosine_schedule_runs_from_lr_to_zero_within_each_round(tiny_data, monkeypatch):
    r = Recipe(lr=0.01, lr_schedule="cosine")
    assert training.round_lr(r, 0, 40) == pytest.approx(0.01)
    assert training.round_lr(r, 20, 40) == pytest.approx(0.005)
    assert training.round_lr(r, 40, 40) == pytest.approx(0.0, abs=1e-12)
    assert training.round_lr(Recipe(lr=0.01), 30, 40) == 0.01
    # Adam takes each step of epoch 1 of a 2-epoch round at the schedule's size: from lr/2 down towards zero
    recipe = _tiny(lr_schedule="cosine")
    model = training.build_model("snu", n_mels=recipe.n_mels, hidden=recipe.hidden, seed=0,
                                 features=recipe.features())
    model.fit_input(np.concatenate(tiny_data.feats))
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    seen, real_step = [], opt.step
    monkeypatch.setattr(opt, "step", lambda: (seen.append(opt.param_groups[0]["lr"]), real_step())[1])
    training._epoch(model, opt, tiny_data, recipe, np.random.default_rng(0), round_position=(1, 2))
    n = sequences.n_crop_batches(tiny_data, recipe.seq_frames, recipe.batch_size)
    assert len(seen) == n == sum(1 for _ in sequences.batches(tiny_data, recipe.seq_frames, recipe.batch_size,
                                                               np.random.default_rng(0)))
    assert seen == pytest.approx([training.round_lr(recipe, n + b, 2 * n) for b in range(n)])
    assert seen[0] == pytest.approx(recipe.lr / 2) and all(x > y for x, y in zip(seen, seen[1:]))


def test_cosine_schedule_changes_training(tiny_corpus, tiny_data, tmp_path):
    cos = train_vad(tiny_corpus, tmp_path / "a.pt", _tiny(epochs=2, lr_schedule="cosine"), data=tiny_data,
                    progress=False)
    const = train_vad(tiny_corpus, tmp_path / "c.pt", _tiny(epochs=2), data=tiny_data, progress=False)
    assert cos.history != const.history


@pytest.mark.parametrize("kind", ["snu", "bin"])
def test_default_recipe_is_the_shipped_models(kind):
    # `neuroflow vad train --model KIND` without --recipe trains the shipped model's recipe, and the shipped model
    # was made with it: its feature configuration is the recipe's
    import json

    from neuroflow.vad.detect import MODELS_DIR
    from neuroflow.vad.recipe import Recipe, default_recipe

    shipped = json.loads((MODELS_DIR / f"{kind}.json").read_text())["recipe"]
    # a report written before a setting existed trains with that setting's default (e.g. the SNU's, before rhythm)
    assert default_recipe(kind).to_dict() == Recipe.from_dict(shipped).to_dict()
    assert load_model(MODELS_DIR / f"{kind}.pt").model.features == default_recipe(kind).features()


def test_train_seed_defaults_to_the_recipes(tmp_path):
    # without --seed, `vad train` keeps the recipe's seed: the shipped model's without --recipe,
    # the recipe file's with one; --seed overrides either
    import json

    from neuroflow.cli import build_parser
    from neuroflow.vad.recipe import default_recipe
    from neuroflow.vad.snn_cli import _recipe_from_args

    def recipe(*extra):
        return _recipe_from_args(build_parser().parse_args(["vad", "train", "--corpus", str(tmp_path), "--out",
                                                            str(tmp_path / "m.pt"), *extra]))

    assert recipe("--model", "snu").seed == default_recipe("snu").seed == 1  # the shipped SNU is seed 1
    assert recipe("--model", "bin").seed == default_recipe("bin").seed == 0
    assert recipe("--model", "snu", "--seed", "5").seed == 5 and recipe("--model", "snu", "--seed", "0").seed == 0
    assert recipe("--model", "bin", "--seed", "2").seed == 2
    (tmp_path / "r.json").write_text(json.dumps({"recipe": {"hidden": [8], "seed": 3}}))
    assert recipe("--model", "snu", "--recipe", str(tmp_path / "r.json")).seed == 3
    assert recipe("--model", "snu", "--recipe", str(tmp_path / "r.json"), "--seed", "1").seed == 1


def test_post_processing_helpers():
    p = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    assert causal_median(p, 3)[0].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    assert causal_max(np.array([1, 0, 0, 0, 1, 0]), 2)[0].tolist() == [1, 1, 1, 0, 1, 1]
    mr, far, h = error_rates(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 1]))
    assert (far, mr, h) == (0.5, 0.5, 0.5)


def test_cli_train_pools_corpora_and_reports(tiny_corpus, tmp_path, capsys):
    import json
    import shutil

    from neuroflow.cli import main

    out = tmp_path / "cli.pt"
    copy = shutil.copytree(tiny_corpus, tmp_path / "copy")  # two folders (the same one twice is refused)
    rc = main(["vad", "train", "--corpus", str(tiny_corpus), str(copy), "--model", "snu", "--epochs", "1",
               "--prune", "0", "--hidden", "4", "--out", str(out), "--json", "--quiet"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["recipe"]["hidden"] == [4] and res["recipe"]["epochs"] == 1
    assert len(res["history"]) == 1 and out.exists()


def test_augmentation_excerpts_follow_their_scene_and_noise_pieces_are_speech_free(tiny_corpus):
    feats = Recipe().features()
    data = sequences.corpus_sequences(tiny_corpus, feats, restarts=2, seed=4)
    scenes = [n for n in data.names if "@" not in n]
    assert len(data) == 3 * len(scenes)
    for f, y, name in zip(data.feats, data.labels, data.names):
        assert len(f) == len(y) and f.shape[1] == 40
        if "@" in name:
            assert 300 <= len(f) <= 800  # 3-8 s excerpts with their own, fresh features
    train, val = sequences.split_sequences(data, 0.25, seed=0)
    base = lambda names: {n.split("@")[0] for n in names}  # noqa: E731
    assert base(train.names).isdisjoint(base(val.names)) and len(train) + len(val) == len(data)
    noise = sequences.speech_free_sequences("noise", 30.0, feats, seed=1)
    assert sum(len(f) for f in noise.feats) >= 30 * 100
    assert all(200 <= len(f) <= 1000 and not y.any() for f, y in zip(noise.feats, noise.labels))
    for kind, (lo, hi) in (("room", (300, 1000)), ("music", (400, 1200))):
        pieces = sequences.speech_free_sequences(kind, 12.0, {**feats, "level": True, "skip_silence": True}, seed=2)
        assert all(lo <= len(f) <= hi and f.shape[1] == 42 and not y.any() for f, y in zip(pieces.feats, pieces.labels))


def test_background_talk_pieces_are_quiet_babble_or_cafe_and_enter_training_data(tiny_corpus,
                                                                                  check_speech_free_pieces):
    from neuroflow.vad.augment import TALK_KINDS, TALK_LEVELS_DB

    check_speech_free_pieces("talk", TALK_KINDS, (2, 10), (TALK_LEVELS_DB[0] - 0.5, TALK_LEVELS_DB[1] + 0.5))
    with pytest.raises(ValueError, match="background_talk"):
        Recipe(background_talk=-0.1)
    recipe = Recipe(background_talk=0.05, restarts=0)
    plain = training.training_data(tiny_corpus, Recipe(restarts=0))
    data = training.training_data(tiny_corpus, recipe)
    talk = data.subset(range(len(plain), len(data)))
    seconds = plain.n_frames / 100
    assert len(talk) >= 1 and talk.n_frames >= 0.05 * seconds * 100
    assert all(not y.any() for y in talk.labels)
    assert all(n.split("_")[0] == "talk" and n.split("_")[1] in TALK_KINDS for n in talk.names)


@pytest.mark.filterwarnings("ignore:.*the validation split .* holds no:UserWarning")  # a tiny corpus
def test_cli_train_ctrl_c_keeps_finished_epochs_and_says_so(tiny_corpus, tmp_path, capsys, monkeypatch):
    import json

    from neuroflow.cli import main

    real_epoch = training._epoch
    calls = {"n": 0}

    def interrupted_second_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training, "_epoch", interrupted_second_epoch)
    out = tmp_path / "c.pt"
    argv = ["vad", "train", "--corpus", str(tiny_corpus), "--model", "bin", "--epochs", "2", "--prune", "0",
            "--hidden", "4", "--out", str(out), "--json", "--quiet"]
    assert main(argv) == 130
    d = json.loads(capsys.readouterr().out)
    assert d["interrupted"] is True and d["checkpoint"].endswith("c.pt.ckpt") and not out.exists()


def test_teacher_targets_blend_labels_with_the_teachers_probability(tiny_data, tmp_path):
    recipe = _tiny()
    teacher = training.build_model("bin", n_mels=recipe.n_mels, hidden=(6,), n_bins=4, seed=0,
                                   features=recipe.features())
    teacher.fit_input(np.concatenate(tiny_data.feats))
    x = torch.as_tensor(tiny_data.feats[0][None, :50])
    y = torch.as_tensor(tiny_data.labels[0][None, :50]).float()
    assert training.frame_targets(y, x, None, 0.3) is y
    p = teacher(x).prob.detach()
    assert torch.allclose(training.frame_targets(y, x, teacher, 0.3), 0.7 * y + 0.3 * p)
    assert torch.allclose(training.frame_targets(y, x, teacher, 1.0), p)


def test_training_with_a_teacher_differs_and_stays_reproducible(tiny_corpus, tiny_data, tmp_path):
    teacher = train_vad(tiny_corpus, tmp_path / "t.pt", _tiny(kind="bin", n_bins=4, epochs=1), data=tiny_data,
                        progress=False)
    kd = _tiny(teacher=str(teacher.path), teacher_weight=0.5)
    a = train_vad(tiny_corpus, tmp_path / "a.pt", kd, data=tiny_data, progress=False)
    b = train_vad(tiny_corpus, tmp_path / "b.pt", kd, data=tiny_data, progress=False)
    c = train_vad(tiny_corpus, tmp_path / "c.pt", _tiny(), data=tiny_data, progress=False)
    assert a.history == b.history and a.history != c.history
    info = load_model(a.path).info
    assert info["recipe"]["teacher_weight"] == 0.5
    assert info["teacher_sha256"] == network_sha256(load_model(teacher.path).model)
    assert load_model(c.path).info["teacher_sha256"] is None


def test_a_shipped_model_is_a_teacher_by_name():
    from neuroflow.vad.detect import MODELS_DIR
    from neuroflow.vad.recipe import default_recipe

    teacher = training.load_teacher(default_recipe("snu", teacher="bin", teacher_weight=0.5))
    assert teacher.model.kind == "bin" and not teacher.model.training
    assert teacher.sha256 == network_sha256(load_model(MODELS_DIR / "bin.pt").model)
    assert training.load_teacher(default_recipe("bin")) is None


@pytest.mark.parametrize("settings, match", [
    ({"teacher_weight": 0.5}, "teacher: a teacher model and a positive teacher_weight"),
    ({"teacher": "t.pt"}, "teacher: a teacher model and a positive teacher_weight"),
    ({"teacher": "t.pt", "teacher_weight": 1.5}, r"teacher_weight: expected a share in \[0, 1\]"),
    ({"teacher": 3, "teacher_weight": 0.5}, "teacher: expected 'snu', 'bin', a model file"),
])
def test_bad_teacher_settings_are_named(settings, match):
    with pytest.raises(ValueError, match=match):
        Recipe(**settings)


def test_a_missing_or_mismatched_teacher_is_named(tiny_corpus, tiny_data, tmp_path):
    with pytest.raises(ValueError, match="teacher: expected 'snu', 'bin' or a model file, got .*none.pt"):
        train_vad(tiny_corpus, tmp_path / "m.pt", _tiny(teacher=str(tmp_path / "none.pt"), teacher_weight=0.5),
                  data=tiny_data, progress=False)
    other = train_vad(tiny_corpus, tmp_path / "o.pt", _tiny(epochs=1, level=True), progress=False)
    with pytest.raises(ValueError, match="teacher: .*o.pt was trained on other features"):
        train_vad(tiny_corpus, tmp_path / "m.pt", _tiny(teacher=str(other.path), teacher_weight=0.5),
                  data=tiny_data, progress=False)


def test_a_checkpoint_resumes_only_with_the_same_teacher_network(tiny_corpus, tiny_data, tmp_path, monkeypatch):
    import shutil

    first = train_vad(tiny_corpus, tmp_path / "t1.pt", _tiny(kind="bin", n_bins=4, epochs=1), data=tiny_data,
                      progress=False)
    other = train_vad(tiny_corpus, tmp_path / "t2.pt", _tiny(kind="bin", n_bins=4, epochs=1, seed=7),
                      data=tiny_data, progress=False)
    teacher = tmp_path / "teacher.pt"
    shutil.copy(first.path, teacher)
    recipe = _tiny(epochs=2, teacher=str(teacher), teacher_weight=0.5)
    _stopped_in_second_epoch(monkeypatch, tiny_corpus, tiny_data, tmp_path / "m.pt", recipe)
    shutil.copy(other.path, teacher)  # same path and features, other weights
    with pytest.raises(ValueError, match="another teacher network"):
        train_vad(tiny_corpus, tmp_path / "m.pt", recipe, data=tiny_data, progress=False)
    loaded = load_model(first.path)  # the first network with another decision rule (a recalibrated file)
    save_model(loaded.model, teacher, threshold=0.77, smoothing={"median": 3, "hangover": 4, "release": 0.3},
               info=loaded.info)
    assert teacher.read_bytes() != first.path.read_bytes()
    res = train_vad(tiny_corpus, tmp_path / "m.pt", recipe, data=tiny_data, progress=False)
    assert res.resumed and [h["epoch"] for h in res.history] == [1, 2]


def test_a_resumed_run_whose_unpruned_model_is_gone_says_so_and_reports_none(tiny_corpus, tiny_data, tmp_path,
                                                                             monkeypatch):
    """The unpruned model is written once, when its round ends; removed by hand before the run resumed in a pruning
    round, the run reported it written all the same (dense_path and "(dense model: ...)" named a missing file)."""
    recipe = _tiny(kind="bin", n_bins=4, epochs=1, prune=0.5, prune_epochs=2)
    out = tmp_path / "p.pt"
    _stopped_in_second_epoch(monkeypatch, tiny_corpus, tiny_data, out, recipe)  # in the first pruning round
    dense = tmp_path / "p.dense.pt"
    assert dense.is_file() and (tmp_path / "p.pt.ckpt").is_file()
    dense.unlink()
    with pytest.warns(UserWarning, match="p.dense.pt: the unpruned model this checkpoint's run wrote is gone"):
        res = train_vad(tiny_corpus, out, recipe, data=tiny_data, progress=False)
    assert res.resumed and res.dense_path is None and not dense.exists()
    assert json.loads((tmp_path / "p.json").read_text())["dense_path"] is None
    ref = train_vad(tiny_corpus, tmp_path / "r.pt", recipe, data=tiny_data, progress=False)
    assert torch.equal(load_model(out).model.state_dict()["layers.0.weight"],
                       load_model(ref.path).model.state_dict()["layers.0.weight"])
