"""Hostile input met by the VAD corpus verbs: Ctrl-C inside eSpeak, audio at names that are not UTF-8, empty,
duplicated or unfinished corpora, labels with other values, empty system arguments, an unreachable scheduler."""
import json
import os
import shutil
import signal
import sys
import warnings

import numpy as np
import pytest

from neuroflow.cli import main

#: three 2 s eSpeak scenes of white noise at 0 dB
TINY = ["--quiet", "--minutes", "0.1", "--durations", "2", "--snrs", "0", "--noises", "white", "--seed", "3"]
#: a callback call inside the second scene (a scene takes about 60 of them)
NTH_CALL = 100


def _files(folder) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def _one_error_line(capsys, code: int, *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for word in words:
        assert word in err, err
    return err


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A finished three-scene corpus, made without interruption."""
    root = tmp_path_factory.mktemp("vad_hostile") / "ref"
    assert main(["vad", "corpus", "--out", str(root)] + TINY) == 0
    return root


def _copy(reference, folder):
    shutil.copytree(reference, folder)
    return folder


def _manifest(folder) -> dict:
    return json.loads((folder / "corpus.json").read_text())


# ----------------------------------------------------------------------------- Ctrl-C inside eSpeak's callback
def _in_callback(monkeypatch, action):
    """Run ``action()`` inside eSpeak's audio callback on its NTH_CALL-th call (the callback copies each chunk
    with ``numpy.ctypeslib.as_array``)."""
    real, calls = np.ctypeslib.as_array, []

    def as_array(*args, **kwargs):
        calls.append(1)
        if len(calls) == NTH_CALL:
            action()
        return real(*args, **kwargs)

    monkeypatch.setattr(np.ctypeslib, "as_array", as_array)
    return calls


def _raise_keyboard_interrupt():
    raise KeyboardInterrupt


def _send_sigint():  # the C handler records it; Python runs its handler at the callback's next bytecode
    os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32", reason="needs POSIX signals")
@pytest.mark.parametrize("action", [_raise_keyboard_interrupt, _send_sigint], ids=["raised", "signal"])
def test_ctrl_c_during_espeak_synthesis_stops_the_run_and_keeps_no_partial_scene(action, reference, tmp_path,
                                                                                 monkeypatch, capsys):
    out = tmp_path / "c"
    calls = _in_callback(monkeypatch, action)
    code = main(["vad", "corpus", "--out", str(out)] + TINY)
    err = capsys.readouterr().err
    assert len(calls) >= NTH_CALL
    assert code == 130, err
    assert "Exception ignored" not in err and "Traceback" not in err, err
    assert [e["name"] for e in _manifest(out)["scenes"]] == ["A_0000"]  # the scene being made is not recorded
    monkeypatch.undo()
    assert main(["vad", "corpus", "--out", str(out)] + TINY) == 0
    assert "(2 generated, 1 kept" in capsys.readouterr().out
    assert _files(out) == _files(reference)


def test_the_engine_speaks_normally_after_an_interrupted_utterance(monkeypatch):
    from neuroflow.vad.speech import synthesize

    whole = synthesize("The baker found the red basket.", fresh=True)
    _in_callback(monkeypatch, _raise_keyboard_interrupt)
    with pytest.raises(KeyboardInterrupt):
        for _ in range(20):  # several utterances reach the NTH_CALL-th callback
            synthesize("The baker found the red basket.", fresh=True)
    monkeypatch.undo()
    np.testing.assert_array_equal(synthesize("The baker found the red basket.", fresh=True), whole)


# ----------------------------------------------------------------------------- names that are not UTF-8
def test_audio_at_a_name_that_is_not_utf8_is_read(reference, tmp_path, capsys):
    from neuroflow.vad.audio import load_audio

    odd = os.fsdecode(os.fsencode(str(tmp_path)) + b"/bad\xffname.wav")
    shutil.copy(reference / "A_0000.wav", odd)
    wav, _ = load_audio(odd)
    np.testing.assert_array_equal(wav, load_audio(reference / "A_0000.wav")[0])
    assert main(["vad", "detect", "--quiet", "--json", odd]) == 0
    assert main(["vad", "info", "--json", "--audio", odd]) == 0
    folder = os.fsdecode(os.fsencode(str(tmp_path)) + b"/corpus\xff")
    shutil.copytree(reference, folder)
    assert main(["vad", "eval", "--quiet", "--corpus", folder, "--system", "energy", "--json"]) == 0
    capsys.readouterr()


# ----------------------------------------------------------------------------- corpora
@pytest.mark.parametrize("verb", [["vad", "eval"], ["vad", "compare"],
                                  ["vad", "calibrate", "--model", "bin", "--out", "x.pt"],
                                  ["vad", "train", "--out", "x.pt"]])
def test_an_empty_corpus_path_is_refused(verb, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(verb + ["--corpus", ""])
    _one_error_line(capsys, exit_.value.code, "--corpus")


@pytest.mark.parametrize("verb", [["vad", "eval", "--system", "energy"], ["vad", "compare", "--systems", "energy"]])
def test_a_corpus_without_scenes_is_named(verb, reference, tmp_path, capsys):
    folder = _copy(reference, tmp_path / "empty")
    manifest = _manifest(folder)
    (folder / "corpus.json").write_text(json.dumps({**manifest, "scenes": []}))
    _one_error_line(capsys, main(verb + ["--quiet", "--corpus", str(folder)]), str(folder), "no scenes")


def test_a_rerun_removes_only_its_own_temporary_files(reference, tmp_path, capsys):
    folder = _copy(reference, tmp_path / "mine")
    (folder / "thesis.part1.docx").write_text("not the corpus's")  # a user's file that matched "*.part*"
    (folder / "old.parts").mkdir()  # a folder that matched it (unlink raised IsADirectoryError)
    (folder / "A_0001.wav.part").write_bytes(b"half a scene")  # what a killed run leaves
    (folder / "A_0001.labels.part.npy").write_bytes(b"half")
    assert main(["vad", "corpus", "--out", str(folder)] + TINY) == 0, capsys.readouterr().err
    assert (folder / "thesis.part1.docx").read_text() == "not the corpus's" and (folder / "old.parts").is_dir()
    assert not (folder / "A_0001.wav.part").exists() and not (folder / "A_0001.labels.part.npy").exists()


@pytest.mark.parametrize("argv", [["vad", "eval", "--system", "energy", "--corpus"],
                                  ["vad", "corpus"] + TINY + ["--out"],
                                  ["vad", "corpus"] + TINY + ["--overwrite", "--out"]],
                         ids=["eval", "corpus", "corpus --overwrite"])
def test_a_folder_named_corpus_json_is_named(argv, reference, tmp_path, capsys):
    folder = _copy(reference, tmp_path / "dir")
    (folder / "corpus.json").unlink()
    (folder / "corpus.json").mkdir()  # was "[Errno 21] Is a directory"; --overwrite left corpus.json.part behind
    err = _one_error_line(capsys, main(argv + [str(folder)]), str(folder / "corpus.json"), "is a folder")
    assert "Errno" not in err, err
    assert not (folder / "corpus.json.part").exists()


@pytest.mark.parametrize("name", ["A_0001.wav", "A_0002.labels.npy", "A_0001.wav.part", "corpus.json.part",
                                  ".corpus.lock"])
def test_a_folder_under_a_scenes_name_is_refused_before_any_scene_is_made(name, tmp_path, capsys):
    out = tmp_path / "c"
    (out / name).mkdir(parents=True)  # was "[Errno 21] Is a directory" after the scenes before it, a .part left
    err = _one_error_line(capsys, main(["vad", "corpus", "--out", str(out)] + TINY), "--out", str(out / name))
    assert "Errno" not in err and ("is a folder" in err or "Is a directory" in err), err
    assert sorted(p.name for p in out.iterdir()) == sorted({".corpus.lock", name})


def test_a_labels_file_that_is_not_npy_says_so(reference, tmp_path, capsys):
    folder = _copy(reference, tmp_path / "text")
    (folder / "A_0001.labels.npy").write_text("0 1 1 0\n")  # numpy called it "pickled (object) data"
    err = _one_error_line(capsys, main(["vad", "eval", "--quiet", "--corpus", str(folder), "--system", "energy"]),
                          "A_0001.labels.npy", "expected a NumPy .npy file")
    assert "pickle" not in err, err


def test_labels_with_other_values_say_so(reference, tmp_path, capsys):
    folder = _copy(reference, tmp_path / "fives")
    labels = np.load(folder / "A_0001.labels.npy")
    np.save(folder / "A_0001.labels.npy", np.where(labels > 0, 5, 0).astype(np.int8))
    err = _one_error_line(capsys, main(["vad", "eval", "--quiet", "--corpus", str(folder), "--system", "energy"]),
                          "A_0001.labels.npy", "expected 0/1 labels", "other values (5)")
    assert "shape" not in err


def test_duplicate_scenes_are_refused(reference, tmp_path, capsys):
    folder = _copy(reference, tmp_path / "dup")
    manifest = _manifest(folder)
    manifest["scenes"].append(dict(manifest["scenes"][1]))
    (folder / "corpus.json").write_text(json.dumps(manifest))
    _one_error_line(capsys, main(["vad", "eval", "--quiet", "--corpus", str(folder), "--system", "energy"]),
                    str(folder / "corpus.json"), "A_0001", "scene 3", "already that of scene 1")


def test_an_unfinished_corpus_is_scored_with_a_warning(reference, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a finished corpus: no word
        assert main(["vad", "eval", "--quiet", "--corpus", str(reference), "--system", "energy"]) == 0
    folder = _copy(reference, tmp_path / "part")
    manifest = _manifest(folder)
    (folder / "corpus.json").write_text(json.dumps({**manifest, "scenes": manifest["scenes"][:2]}))
    for verb in (["vad", "eval", "--system", "energy"], ["vad", "compare", "--systems", "energy", "webrtc:3"]):
        with pytest.warns(UserWarning) as record:
            assert main(verb + ["--quiet", "--corpus", str(folder)]) == 0
        planned = [w for w in record if "planned" in str(w.message)]  # (its two scenes are all speech: a warning too)
        assert len(planned) == 1, [str(w.message) for w in record]  # once, not once per system
        message = str(planned[0].message)
        assert message.startswith(f"{folder}: ") and "2 of its 3 planned scenes" in message, message


def test_calibrating_on_a_speech_free_corpus_names_it(tmp_path, capsys):
    folder = tmp_path / "quiet"
    assert main(["vad", "corpus", "--quiet", "--out", str(folder), "--speech", "none", "--minutes", "0.05",
                 "--durations", "2"]) == 0
    code = main(["vad", "calibrate", "--quiet", "--model", "bin", "--corpus", str(folder),
                 "--out", str(tmp_path / "cal.pt")])
    _one_error_line(capsys, code, f"in {folder} (no speech", "no condition has both")
    assert not (tmp_path / "cal.pt").exists()


def test_a_speech_free_corpus_has_no_hter_and_says_so(tmp_path, capsys):
    folder = tmp_path / "quiet"
    assert main(["vad", "corpus", "--quiet", "--out", str(folder), "--speech", "none", "--minutes", "0.05",
                 "--durations", "2"]) == 0
    capsys.readouterr()
    for verb in (["eval", "--system", "energy"], ["compare", "--systems", "energy", "webrtc:3"]):
        with pytest.warns(UserWarning) as record:
            assert main(["vad", *verb, "--quiet", "--corpus", str(folder)]) == 0
        assert [str(w.message) for w in record] == [f"{folder}: the corpus holds no speech frames, so HTER is "
                                                    f"undefined (reported as n/a); only FAR means something there"]
        out = capsys.readouterr().out
        assert "HTER n/a" in out if verb[0] == "eval" else out.splitlines()[1].split()[1:3] == ["n/a", "n/a"], out
        with pytest.warns(UserWarning):
            assert main(["vad", *verb, "--quiet", "--json", "--corpus", str(folder)]) == 0
        d = json.loads(capsys.readouterr().out)
        for r in [d] if verb[0] == "eval" else list(d["systems"].values()):
            assert r["HTER"] is None and r["MR"] is None and r["FAR"] is not None, r


# ----------------------------------------------------------------------------- system specs, scheduler
@pytest.mark.parametrize("spec", ["webrtc:", "bin:", "snu:", "energy:", "silero:", "webrtc: "])
def test_a_system_with_nothing_after_the_colon_is_refused(spec, reference, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["vad", "eval", "--corpus", str(reference), "--system", spec])
    _one_error_line(capsys, exit_.value.code, "--system", repr(spec))


def test_the_same_system_twice_is_refused_naming_both(reference, capsys):
    for systems, words in ((["energy", "energy"], ["--systems: 'energy' is given twice"]),
                           (["webrtc", "webrtc:3"], ["--systems: 'webrtc:3' and 'webrtc' name the same system"]),
                           (["snu", "snu"], ["--systems: 'snu' is given twice"])):
        code = main(["vad", "compare", "--quiet", "--corpus", str(reference), "--systems", *systems])
        _one_error_line(capsys, code, *words)


def test_model_files_of_one_name_are_compared_under_distinct_names(reference, tmp_path, capsys):
    from neuroflow.vad.detect import MODELS_DIR

    specs = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(MODELS_DIR / "bin.pt", tmp_path / folder / "x.pt")
        specs.append(f"bin:{tmp_path / folder / 'x.pt'}")
    assert main(["vad", "compare", "--quiet", "--json", "--corpus", str(reference), "--systems", *specs]) == 0
    assert sorted(json.loads(capsys.readouterr().out)["systems"]) == sorted(specs)
    assert main(["vad", "compare", "--quiet", "--corpus", str(reference), "--systems", specs[0], "bin"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows == ["bin:x", "bin"]  # names that differ are kept


def test_a_model_of_the_other_kind_is_refused_under_a_kinds_spec(reference, capsys):
    from neuroflow.vad.detect import MODELS_DIR

    for kind, other in (("snu", "bin"), ("bin", "snu")):
        path = MODELS_DIR / f"{other}.pt"
        for argv in (["eval", "--system"], ["compare", "--systems"]):
            code = main(["vad", argv[0], "--quiet", "--corpus", str(reference), argv[1], f"{kind}:{path}"])
            line = _one_error_line(capsys, code)
            assert line == f"neuroflow: error: {path}: a {other} model, not {kind}; use {other}:{path}", line


def test_an_unreachable_scheduler_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys):
    import neuroflow.parallel as parallel

    def unreachable(address, timeout=parallel.DEFAULT_TIMEOUT_S):
        raise parallel.SchedulerError(f"scheduler: no Dask scheduler answered at {address!r} within {timeout:g} s")

    monkeypatch.setattr(parallel, "connect", unreachable)
    out = tmp_path / "new" / "c"
    code = main(["vad", "corpus", "--out", str(out), "--scheduler", "tcp://127.0.0.1:9"] + TINY)
    _one_error_line(capsys, code, "--scheduler", "127.0.0.1:9")
    assert not (tmp_path / "new").exists()


def test_a_model_path_with_a_tilde_is_found_where_the_parser_found_it(reference, tmp_path, monkeypatch, capsys):
    from neuroflow.vad.detect import model_path

    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copy(model_path("bin"), tmp_path / "m.pt")
    # the parser's check expanded "~"; loading did not: "model file not found: ~/m.pt"
    assert main(["vad", "eval", "--quiet", "--corpus", str(reference), "--system", "bin:~/m.pt"]) == 0, \
        capsys.readouterr().err
    assert main(["vad", "info", "--model", "~/m.pt"]) == 0, capsys.readouterr().err
    _one_error_line(capsys, main(["vad", "compare", "--quiet", "--corpus", str(reference), "--systems",
                                  "bin:~/m.pt", f"bin:{tmp_path / 'm.pt'}"]), "same system")


def test_a_validation_split_of_one_class_is_warned_about(reference, monkeypatch):
    from neuroflow.vad import training
    from neuroflow.vad.recipe import Recipe

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(training, "_run", stop)  # the check comes before any epoch
    # three scenes of speech only: the split drew one, and the report said "validation HTER 0.00%" with a threshold
    # chosen on one class (with the shipped recipe's speech-free sequences it drew one of those: no speech at all)
    with pytest.warns(UserWarning, match=r"validation split \(1 of 3 sequences.*holds no non-speech frames"):
        with pytest.raises(Stop):
            training.train_vad(reference, reference.parent / "m.pt", Recipe(hidden=(8,), prune=0.0), progress=False)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("name, words", [("corpus.json", ("corpus.json: is not a regular file",)),
                                         ("A_0001.labels.npy", ("not regular files", "A_0001.labels.npy"))])
@pytest.mark.parametrize("verb", ["eval", "train"])
def test_a_pipe_in_a_corpus_is_refused_not_waited_on(name, words, verb, reference, tmp_path, capsys):
    folder = _copy(reference, tmp_path / "c")
    (folder / name).unlink()
    os.mkfifo(folder / name)  # its read waited forever

    def hung(signum, frame):
        raise TimeoutError("the command waited on a pipe")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        argv = ["vad", "eval", "--system", "energy"] if verb == "eval" else ["vad", "train", "--out",
                                                                            str(tmp_path / "m.pt")]
        code = main(argv + ["--quiet", "--corpus", str(folder)])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    _one_error_line(capsys, code, *words)


def _children(pid: int) -> list[int]:
    kids = []
    for stat in __import__("glob").glob("/proc/[0-9]*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.split("/")[2]))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="lists processes through /proc")
def test_sigterm_stops_a_corpus_run_as_ctrl_c_does_workers_included(tmp_path):
    import subprocess
    import time

    from neuroflow import __file__ as package

    out = tmp_path / "c"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(os.path.dirname(package))]
                                                       + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    proc = subprocess.Popen([sys.executable, "-m", "neuroflow.cli", "vad", "corpus", "--out", str(out), "--quiet",
                             "--minutes", "20", "--durations", "10", "--snrs", "10", "--n-jobs", "2"],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        t0 = time.time()
        while not (out / "A_0000.wav").exists() and time.time() - t0 < 120:
            time.sleep(0.1)
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=60)[1]
    finally:
        proc.kill()
    # the default handler ended the run without a word, and its two workers ran on as orphans
    assert proc.returncode == 143 and err.startswith("interrupted; ") and "finished scenes kept in" in err, err
    t0 = time.time()
    while any(_alive(pid) for pid in workers) and time.time() - t0 < 20:
        time.sleep(0.2)
    assert workers and not any(_alive(pid) for pid in workers)
    assert _manifest(out)["scenes"]  # what was finished is kept


# ----------------------------------------------------------------------------- a sixth pass
@pytest.mark.parametrize("plan, why", [(["--noises", "none"], "every scene is clean (the only noise is 'none')"),
                                       (["--speech", "none"], "a speech-free corpus (speech is 'none') has no SNR"),
                                       (["--speech", "none", "--noises", "music", "none"], "speech is 'none'")])
def test_snrs_that_would_do_nothing_are_refused_naming_both(plan, why, tmp_path, capsys):
    code = main(["vad", "corpus", "--out", str(tmp_path / "c"), "--quiet", "--minutes", "0.05", "--durations", "3",
                 "--snrs", "5", "10"] + plan)  # the SNRs were dropped without a word
    _one_error_line(capsys, code, "--snrs: ", why, "so SNRs would do nothing")
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("flag, values, shown", [("--noises", ["white", "pink", "white"], "'white'"),
                                                ("--snrs", ["5", "10", "5.0"], "5"),
                                                ("--durations", ["3", "3"], "3")])
def test_a_value_given_twice_is_refused_naming_the_flag(flag, values, shown, tmp_path, capsys):
    code = main(["vad", "corpus", "--out", str(tmp_path / "c"), "--quiet", "--minutes", "0.05", flag, *values])
    _one_error_line(capsys, code, f"{flag}: {shown} given twice", "give each value once")  # it counted twice
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("field, value", [("speech", "espek"), ("background", "rooomtone")])
def test_a_hand_made_scene_plan_with_a_misspelt_kind_is_refused(field, value):
    """make_scene made a plan of speech 'espek' speech-free, and one of background 'rooomtone' had none."""
    from neuroflow.vad.scenes import ScenePlan, make_scene

    plan = ScenePlan(index=0, name="x", group="B", duration_s=2.0, snr_db=5.0, noise="white", stratum=0,
                     target_fraction=0.5, seed=[1], **{field: value})
    with pytest.raises(ValueError, match=f"^plan.{field}: expected one of .*, got '{value}'$"):
        make_scene(plan)


def test_snrs_with_clean_scenes_among_noisy_ones_still_count():
    from neuroflow.vad.corpus import plan_corpus

    plans = plan_corpus(0.5, durations=(3.0,), snrs=(7.0,), noises=("none", "white"))
    assert {p.snr_db for p in plans} == {7.0, float("inf")}


@pytest.mark.parametrize("text, voice, error, message", [
    ("", None, ValueError, "text: expected a non-empty string, got ''"),
    ("  ", None, ValueError, "text: expected a non-empty string, got '  '"),
    (b"hello", None, TypeError, "text: expected a non-empty string, got bytes"),
    ("hello", "xx-nope", ValueError, "voice: eSpeak NG does not know 'xx-nope\\+m3'")])
def test_a_bad_text_or_voice_to_speak_is_a_value_or_type_error(text, voice, error, message):
    """They were SpeechError, a RuntimeError: eSpeak's own failures, not the caller's argument."""
    from neuroflow.vad.speech import SpeechError, Voice, synthesize

    with pytest.raises(error, match=f"^{message}") as exc:
        synthesize(text, Voice(language=voice) if voice else Voice())
    assert not isinstance(exc.value, SpeechError)


@pytest.mark.parametrize("specs", ["snu", b"bin", 3])
def test_one_spec_where_a_list_belongs_is_named(specs):
    from neuroflow.vad.registry import available_systems

    with pytest.raises(ValueError, match="^specs: expected a list of system specs"):  # was "unknown spec 's'"
        available_systems(specs)
    assert [s.name for s in available_systems(iter(["energy", "bin"]))[0]] == ["energy", "bin"]


@pytest.mark.parametrize("make", ["noise", "room tone"])
def test_noise_past_the_memory_is_refused_naming_n_samples(make):
    from neuroflow.vad.noise import make_noise
    from neuroflow.vad.roomtone import room_tone

    with pytest.raises(ValueError, match="^n_samples: this run needs about .* GiB of memory, more than"):
        make_noise("white", 10**13) if make == "noise" else room_tone(10**13)  # was numpy's MemoryError
    assert len(make_noise("white", 1600) if make == "noise" else room_tone(1600, seed=0)) == 1600


@pytest.mark.parametrize("family", ["train", "test"])
def test_a_second_of_room_tone_is_room_tone(family):
    """Its slow gain curve, normalised over a clip far shorter than its smoothing, overflowed: 1 s of room tone was
    NaN or digital silence in about 1 of 5 seeds (a `vad corpus --speech none --durations 1` scene over room tone
    came out silent)."""
    from neuroflow.vad.roomtone import room_tone

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "overflow encountered in power"
        tones = [room_tone(16000, seed=seed, family=family, level_db=-60.0) for seed in range(30)]
    rms = [float(np.sqrt(np.mean(np.square(t, dtype=np.float64)))) for t in tones]
    assert all(np.all(np.isfinite(t)) for t in tones) and min(rms) > 10 ** (-60 / 20) * 0.5, rms


@pytest.mark.parametrize("score", ["evaluate", "compare"])
def test_a_list_of_corpus_folders_where_scenes_belong_is_named(score, reference):
    from neuroflow.vad.evaluation import compare_systems, evaluate_system

    with pytest.raises(TypeError, match="^corpus: expected a Corpus, a corpus folder or a list of scenes, got a list "
                                        "holding str"):  # was AttributeError: 'str' object has no attribute 'wav'
        if score == "evaluate":
            evaluate_system("energy", [str(reference)], progress=False)
        else:
            compare_systems([str(reference)], ["energy"], progress=False)


@pytest.mark.parametrize("given, got", [("folder", "got str"), ("folders", "got a list holding str"),
                                        ("none", "got NoneType")])
def test_calibrating_on_a_folder_where_scenes_belong_is_named(given, got, reference):
    from neuroflow.vad.calibration import calibrate
    from neuroflow.vad.detect import SpikingVADSystem

    scenes = {"folder": str(reference), "folders": [str(reference)], "none": None}[given]
    with pytest.raises(TypeError, match=f"^scenes: expected corpus scenes .*, {got}"):  # was an AttributeError
        calibrate(SpikingVADSystem("bin"), scenes)


@pytest.mark.parametrize("verb", [["vad", "eval", "--system", "energy"], ["vad", "compare", "--systems", "energy"]])
def test_a_benchmark_folder_given_as_one_corpus_names_its_corpora(verb, reference, tmp_path, capsys):
    for name in ("music", "speech"):  # the layout `vad corpus --benchmark` writes
        _copy(reference, tmp_path / "bench" / name)
    code = main(verb + ["--quiet", "--corpus", str(tmp_path / "bench")])
    # was "corpus manifest missing: .../corpus.json (generate with `neuroflow vad corpus`)", the command that made it
    _one_error_line(capsys, code, "bench: holds 2 corpora (a `neuroflow vad corpus --benchmark` folder?), not one; "
                                  f"give one of {tmp_path / 'bench' / 'music'}, {tmp_path / 'bench' / 'speech'}")
