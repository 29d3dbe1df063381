"""Corpus generation under faults and hostile input: SIGKILL then resume gives the same bytes, two writers never
mix, Ctrl-C exits 130 keeping finished scenes, the eSpeak library copy never outlives its load, Dask and local
processes make the same files, and every bad flag or argument is refused up front, naming it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from neuroflow.cli import main
from neuroflow.vad import corpus_store
from neuroflow.vad.audio import AudioError, load_audio, prepare
from neuroflow.vad.corpus import MANIFEST, generate_corpus, plan_corpus
from neuroflow.vad.corpus_store import CorpusLocked, locked

TINY = dict(minutes=0.2, durations=(4.0,), split="train", seed=5, progress=False)  # three 4 s eSpeak scenes
REPO = Path(__file__).resolve().parents[2]


def _run(argv: list[str]) -> int:
    """Exit status of ``neuroflow ARGV`` run in-process (parser errors exit through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def _files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.name != ".corpus.lock"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    generate_corpus(root, **TINY)
    return _files(root)


def test_sigkill_mid_scene_then_resume_gives_identical_bytes(tmp_path, reference):
    out, scratch = tmp_path / "corpus", tmp_path / "tmp"
    scratch.mkdir()
    script = textwrap.dedent(f"""
        import os, signal
        import neuroflow.vad.corpus as c
        import neuroflow.vad.corpus_store as store
        from neuroflow.vad.audio import write_audio
        real, calls = store.write_scene_files, []
        def killer(root, name, wav, labels):
            calls.append(name)
            if len(calls) == 2:  # half of the second scene's audio on disk, no labels, no manifest entry
                write_audio(root / f"{{name}}.wav", wav[: len(wav) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
            return real(root, name, wav, labels)
        store.write_scene_files = killer
        c.generate_corpus({str(out)!r}, minutes=0.2, durations=(4.0,), split="train", seed=5, progress=False)
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"), TMPDIR=str(scratch))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert len(json.loads((out / MANIFEST).read_text())["scenes"]) == 1
    assert list(scratch.iterdir()) == []  # the killed process left no eSpeak library copy behind
    made = generate_corpus(out, **TINY)
    assert (made.n_generated, made.n_resumed) == (2, 1)
    assert _files(out) == reference


def test_a_second_writer_is_refused_and_nothing_mixes(tmp_path, reference, capsys):
    root = tmp_path / "c"
    with locked(root):  # another run holds the folder (flock is per open file, so this process counts as another)
        with pytest.raises(CorpusLocked, match=f"out_dir: {root} is being written by another corpus run .pid {os.getpid()}"):
            generate_corpus(root, **{**TINY, "seed": 6})
        assert _run(["vad", "corpus", "--out", str(root), "--minutes", "0.2", "--durations", "4", "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("neuroflow: error: --out:") and "another corpus run" in err[0]
        assert not (root / MANIFEST).exists()
    made = generate_corpus(root, **TINY)  # the lock went with its holder
    assert made.n_generated == 3 and _files(root) == reference


def test_ctrl_c_exits_130_keeps_finished_scenes_and_says_interrupted(tmp_path, interrupt_second_scene, capsys):
    interrupt_second_scene()
    code = main(["vad", "corpus", "--out", str(tmp_path), "--minutes", "0.2", "--durations", "4", "--quiet", "--json"])
    out = capsys.readouterr()
    assert code == 130 and json.loads(out.out) == {"root": str(tmp_path), "interrupted": True, "n_finished": 1}
    assert "rerun the same command to resume" in out.err


def test_espeak_library_copy_is_removed_at_once(tmp_path, monkeypatch):
    from neuroflow.vad.speech import ESpeak

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    eng = ESpeak()
    eng.reset()
    assert list(tmp_path.iterdir()) == []
    assert len(eng.synthesize("one two")) > 1000


def test_a_dask_cluster_makes_the_same_files(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        made = generate_corpus(tmp_path / "dask", scheduler=cluster.scheduler_address, **TINY)
    assert made.n_generated == 3 and _files(tmp_path / "dask") == reference


# ----------------------------------------------------------------------------- planning bounds
def test_planning_is_bounded_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="minutes: .*more than 100000 scenes"):
        plan_corpus(1e9, "train", 0)
    with pytest.raises(ValueError, match=r"durations: expected numbers in \[1, 3600\]"):
        plan_corpus(1, "train", 0, durations=(0.001,))
    with pytest.raises(ValueError, match=r"durations: expected numbers in \[10, 3600\]"):
        plan_corpus(1, "train", 0, speech="real", durations=(5.0,))
    with pytest.raises(ValueError, match="minutes: .* GB"):
        corpus_store.check_disk(tmp_path, 1e12 / 32100)
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- bad flags, one line naming each
BAD_FLAGS = [
    (["--minutes", "0"], "--minutes"), (["--minutes", "-1"], "--minutes"), (["--minutes", "nan"], "--minutes"),
    (["--minutes", "inf"], "--minutes"), (["--minutes", "1e9"], "--minutes"), (["--minutes", "x"], "--minutes"),
    (["--durations", "0.001"], "--durations"), (["--durations", "nan"], "--durations"),
    (["--durations", "60,120"], "--durations"), (["--durations", "5000"], "--durations"),
    (["--speech", "real", "--durations", "5"], "--durations"),
    (["--snrs", "nan"], "--snrs"), (["--snrs", "inf"], "--snrs"), (["--snrs", "100"], "--snrs"),
    (["--snrs", "10,5"], "--snrs"), (["--noises", "jet"], "--noises"), (["--noises", "white,pink"], "--noises"),
    (["--speech", "klingon"], "--speech"), (["--split", "dev"], "--split"), (["--group", "C"], "--group"),
    (["--group", "A", "--split", "test"], "--group"), (["--n-jobs", "0"], "--n-jobs"),
    (["--n-jobs", "-2"], "--n-jobs"), (["--n-jobs", "two"], "--n-jobs"), (["--seed", "-1"], "--seed"),
    (["--seed", "1.5"], "--seed"), (["--benchmark", "--minutes", "5"], "--benchmark"),
    (["--benchmark", "--speech", "real"], "--benchmark"),
]


@pytest.mark.parametrize("extra,flag", BAD_FLAGS, ids=[" ".join(e) for e, _ in BAD_FLAGS])
def test_corpus_bad_flags(tmp_path, capsys, extra, flag):
    out = tmp_path / "c"
    code = _run(["vad", "corpus", "--out", str(out), "--quiet", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and flag in err[0], err
    assert not out.exists() or not any(out.iterdir())


def _file(tmp_path: Path) -> Path:
    f = tmp_path / "file.txt"
    f.write_text("x")
    return f


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_corpus_out_must_be_a_folder(tmp_path, capsys, where):
    f = _file(tmp_path)
    target = f if where == "file" else f / "sub"
    assert _run(["vad", "corpus", "--out", str(target), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and f.read_text() == "x"


@pytest.mark.parametrize("extra", [["--install", "--bogus"], ["--plot", "x.txt"], ["--seed", "x"]])
def test_sources_bad_flags(tmp_path, capsys, extra):
    with pytest.raises(SystemExit) as exc:
        main(["vad", "sources", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1


def test_sources_plot_under_a_file_is_refused(tmp_path, capsys):
    f = _file(tmp_path)
    with pytest.raises(SystemExit):
        main(["vad", "sources", "--plot", str(f / "labels.png")])
    assert "--plot" in capsys.readouterr().err


# ----------------------------------------------------------------------------- bad API arguments
BAD_API = [
    (dict(minutes=float("nan")), "minutes"), (dict(minutes=0), "minutes"), (dict(minutes=1e9), "minutes"),
    (dict(split="dev"), "split"), (dict(speech="klingon"), "speech"), (dict(seed=-1), "seed"),
    (dict(seed=1.5), "seed"), (dict(durations=(float("nan"),)), "durations"), (dict(durations=()), "durations"),
    (dict(durations="60"), "durations"), (dict(snrs=(float("nan"),)), "snrs"), (dict(snrs=(float("inf"),)), "snrs"),
    (dict(snrs=(True,)), "snrs"), (dict(noises=("jet",)), "noises"), (dict(noises="white"), "noises"),
    (dict(n_jobs=0), "n_jobs"), (dict(n_jobs=1.5), "n_jobs"), (dict(group="C"), "group"),
]


@pytest.mark.parametrize("kwargs,name", BAD_API, ids=[f"{k}={v!r}" for k, v in (next(iter(d.items())) for d, _ in BAD_API)])
def test_generate_corpus_bad_arguments(tmp_path, kwargs, name):
    args = {**dict(minutes=0.1, durations=(3.0,), progress=False), **kwargs}
    with pytest.raises(ValueError, match=f"^{name}:"):
        generate_corpus(tmp_path / "c", **args)
    assert not (tmp_path / "c" / MANIFEST).exists()


def test_generate_corpus_refuses_an_output_path_under_a_file(tmp_path):
    with pytest.raises(ValueError, match="out_dir"):
        generate_corpus(_file(tmp_path) / "c", minutes=0.1, durations=(3.0,), progress=False)


# ----------------------------------------------------------------------------- audio API
@pytest.mark.parametrize("sr", [0, -16000, 1, 7999, 16000.0, True, "16000", None])
def test_prepare_refuses_bad_sample_rates(sr):
    with pytest.raises(AudioError, match="sr: expected an integer sample rate of at least 8000 Hz"):
        prepare(np.zeros(100), sr)


@pytest.mark.parametrize("bad", [np.zeros(0), np.array([0.0, np.inf]), np.array([0.0, 1e20]), np.zeros((2, 2, 2)),
                                 np.array(["a"]), np.array([None, 1.0], dtype=object)])
def test_prepare_refuses_bad_arrays(bad):
    with pytest.raises(AudioError):
        prepare(bad, 16000)


def _whole_and_cut_wav(tmp_path):
    """A 1 s 16-bit WAV, and a copy cut after half its data: the header still says 16000 samples, 8000 remain."""
    whole = tmp_path / "whole.wav"
    sf.write(whole, (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32), 16000,
             subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: 44 + 16000])
    return whole, cut


def test_low_rate_file_is_refused_and_truncated_wav_warns(tmp_path):
    low = tmp_path / "one_hertz.wav"
    sf.write(low, np.zeros(100, np.float32), 1000)
    with pytest.raises(AudioError, match="one_hertz.wav.*8000 Hz"):
        load_audio(low)
    whole, cut = _whole_and_cut_wav(tmp_path)
    with pytest.warns(UserWarning, match=r"cut.wav: truncated WAV file: the header declares 16000 samples .* holds 8000"):
        wav, _ = load_audio(cut)
    assert len(wav) == 8000
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_audio(whole)[0]) == 16000  # an intact file reads without a warning
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(whole.read_bytes()[:44])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one message, the error, not a truncation warning before it
        with pytest.raises(AudioError, match="header.wav: audio is empty"):
            load_audio(header_only)


def test_cli_reports_a_truncated_wav_in_one_warning_line(tmp_path):
    import subprocess
    import sys

    _, cut = _whole_and_cut_wav(tmp_path)
    run = subprocess.run([sys.executable, "-m", "neuroflow", "vad", "detect", str(cut), "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    err = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("neuroflow: warning: ") and "cut.wav: truncated WAV file" in err[0], err


def _hand_made_corpus(root, **changes):
    """A one-scene corpus folder written by hand, its entry changed by ``changes`` (None: the key removed)."""
    from neuroflow.vad.corpus_store import MANIFEST, write_scene_files

    root.mkdir(exist_ok=True)
    files = write_scene_files(root, "A_0000", np.zeros(16000, np.float32), np.zeros(100, np.int8))
    entry = {"name": "A_0000", **files, "snr_db": 5.0, "noise": "white", "level": "medium", "group": "A",
             "speech_fraction": 0.0, "duration_s": 1.0}
    entry.update(changes)
    entry = {k: v for k, v in entry.items() if v is not None}
    (root / MANIFEST).write_text(json.dumps({"settings": {}, "scenes": [entry]}))
    return root


@pytest.mark.parametrize("changes, says", [
    ({"wav": 5}, "wav 5"), ({"wav": None}, "wav None"), ({"wav": "../../x.wav"}, "inside the corpus folder"),
    ({"noise": 5}, "noise 5"), ({"snr_db": "abc"}, "must be numbers"), ({"snr_db": float("nan")}, "out of range"),
    ({"speech_fraction": 2.0}, "out of range"), ({"level": "ultra"}, "level 'ultra'")])
def test_a_manifest_entry_of_the_wrong_shape_is_named(tmp_path, capsys, changes, says):
    from neuroflow.cli import main
    from neuroflow.vad.corpus import load_corpus

    assert len(load_corpus(_hand_made_corpus(tmp_path / "ok"))) == 1
    root = _hand_made_corpus(tmp_path / "bad", **changes)
    with pytest.raises(ValueError, match="corpus.json: scene 0 \\(A_0000\\): ") as err:
        load_corpus(root)
    assert says in str(err.value)
    assert main(["vad", "eval", "--quiet", "--system", "energy", "--corpus", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err


def test_a_manifest_whose_scenes_are_not_objects_is_named(tmp_path):
    from neuroflow.vad.corpus import load_corpus

    root = _hand_made_corpus(tmp_path / "c")
    (root / "corpus.json").write_text(json.dumps({"scenes": [1, 2]}))
    with pytest.raises(ValueError, match="scene 0: expected an object, got int"):
        load_corpus(root)


def test_prepare_keeps_integer_valued_float_audio():
    # float arrays holding int16 or int32 sample values are audio too (only magnitudes past 1e10 are refused)
    assert prepare(np.array([0.0, 32767.0, -2.0**31] * 100), 16000).shape == (300,)


def test_disk_check_names_the_folder_or_the_minutes(tmp_path, monkeypatch):
    from collections import namedtuple

    from neuroflow.vad import corpus_store

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(corpus_store.shutil, "disk_usage", lambda p: usage(0, 0, 0))
    with pytest.raises(ValueError, match="out_dir: .* has no free space to write a corpus into"):
        corpus_store.check_disk(tmp_path / "corpus", 12.0)
    monkeypatch.setattr(corpus_store.shutil, "disk_usage", lambda p: usage(0, 0, 100_000))
    with pytest.raises(ValueError, match=r"minutes: 0.2 minutes of audio need about 0.4 MB, but only 0.1 MB are free"):
        corpus_store.check_disk(tmp_path / "corpus", 12.0)
