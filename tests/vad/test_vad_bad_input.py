"""Every flag of `vad eval | compare | train | calibrate | info | detect` and every argument of their API refuses a bad
value in one line naming it, before any work starts (in-process: no subprocess, no import of torch per row)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from neuroflow.cli import main


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    root = tmp_path_factory.mktemp("vad_bad")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "corpus.json").write_text(json.dumps({"scenes": []}))
    a_file = root / "file.txt"
    a_file.write_text("x")
    wav = root / "clip.wav"
    import soundfile as sf

    sf.write(wav, (0.01 * np.random.default_rng(0).standard_normal(1600)).astype(np.float32), 16000)
    bad_json = root / "recipe.json"
    bad_json.write_text("{not json")
    bad_recipe = root / "recipe2.json"
    bad_recipe.write_text(json.dumps({"epochz": 3}))
    return {"C": str(corpus), "F": str(a_file), "W": str(wav), "D": str(root), "J": str(bad_json),
            "R": str(bad_recipe)}


def _argv(template: list[str], paths: dict) -> list[str]:
    return [a.format(**paths) for a in template]


PARSE_ERRORS = [
    # eval
    (["vad", "eval", "--corpus", "{D}/absent"], "--corpus"),
    (["vad", "eval", "--corpus", "{F}"], "--corpus"),
    (["vad", "eval", "--corpus", "{C}", "--system", "bogus"], "--system"),
    (["vad", "eval", "--corpus", "{C}", "--system", "webrtc:9"], "--system"),
    (["vad", "eval", "--corpus", "{C}", "--system", "snu:{D}/none.pt"], "--system"),
    (["vad", "eval", "--corpus", "{C}", "--threshold", "nan"], "--threshold"),
    (["vad", "eval", "--corpus", "{C}", "--threshold", "5"], "--threshold"),
    (["vad", "eval", "--corpus", "{C}", "--threshold", "-0.1"], "--threshold"),
    (["vad", "eval", "--corpus", "{C}", "--plot", "{D}"], "--plot"),
    (["vad", "eval", "--corpus", "{C}", "--plot", "{F}/x.png"], "--plot"),
    (["vad", "eval", "--corpus", "{C}", "--plot", "{D}/x.txt"], "--plot"),
    (["vad", "eval", "--corpus", "{C}", "--seed", "1"], "--seed"),
    # compare
    (["vad", "compare", "--corpus", "{D}/absent"], "--corpus"),
    (["vad", "compare", "--corpus", "{C}", "--systems", "energy", "nope"], "--systems"),
    (["vad", "compare", "--corpus", "{C}", "--systems", "energy,webrtc:3"], "--systems"),
    (["vad", "compare", "--corpus", "{C}", "--threshold", "inf"], "--threshold"),
    (["vad", "compare", "--corpus", "{C}", "--plot", "{D}"], "--plot"),
    (["vad", "compare", "--corpus", "{C}", "--seed", "1"], "--seed"),
    # train
    (["vad", "train", "--corpus", "{D}/absent", "--out", "{D}/m.pt"], "--corpus"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--model", "gru"], "--model"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--prune", "1"], "--prune"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--prune", "nan"], "--prune"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--prune", "-0.1"], "--prune"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--epochs", "0"], "--epochs"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--epochs", "1.5"], "--epochs"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--prune-epochs", "-1"], "--prune-epochs"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--hidden", "0"], "--hidden"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--hidden", "8,8"], "--hidden"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--recipe", "{D}/none.json"], "--recipe"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--recipe", "{D}"], "--recipe"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}"], "--out"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.txt"], "--out"),
    (["vad", "train", "--corpus", "{C}", "--out", "{F}/m.pt"], "--out"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--seed", "-1"], "--seed"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--plot", "{D}"], "--plot"),
    # calibrate
    (["vad", "calibrate", "--model", "bin", "--corpus", "{D}/absent", "--out", "{D}/m.pt"], "--corpus"),
    (["vad", "calibrate", "--model", "{D}/none.pt", "--corpus", "{C}", "--out", "{D}/m.pt"], "--model"),
    (["vad", "calibrate", "--model", "bin", "--corpus", "{C}", "--out", "{D}/m.txt"], "--out"),
    (["vad", "calibrate", "--model", "bin", "--corpus", "{C}"], "--out"),
    (["vad", "calibrate", "--model", "bin", "--corpus", "{C}", "--out", "{D}/m.pt", "--seed", "1"], "--seed"),
    # info
    (["vad", "info", "--model", "{D}/none.pt"], "--model"),
    (["vad", "info", "--model", "gru"], "--model"),
    (["vad", "info", "--audio", "{D}/none.wav"], "--audio"),
    (["vad", "info", "--pj-per-sop", "nan"], "--pj-per-sop"),
    (["vad", "info", "--pj-per-sop", "0"], "--pj-per-sop"),
    (["vad", "info", "--pj-per-sop", "-1"], "--pj-per-sop"),
    (["vad", "info", "--pj-per-sop", "inf"], "--pj-per-sop"),
    (["vad", "info", "--pj-per-sop", "1e308"], "--pj-per-sop"),
    (["vad", "info", "--pj-per-sop", "1000001"], "--pj-per-sop"),
    (["vad", "info", "--seed", "1"], "--seed"),
    # detect
    (["vad", "detect", "{D}/none.wav"], "file"),
    (["vad", "detect", "{D}"], "file"),
    (["vad", "detect", "{W}", "--model", "{D}/none.pt"], "--model"),
    (["vad", "detect", "{W}", "--threshold", "nan"], "--threshold"),
    (["vad", "detect", "{W}", "--threshold", "2"], "--threshold"),
    (["vad", "detect", "{W}", "--min-speech", "-1"], "--min-speech"),
    (["vad", "detect", "{W}", "--min-speech", "nan"], "--min-speech"),
    (["vad", "detect", "{W}", "--min-silence", "inf"], "--min-silence"),
    (["vad", "detect", "{W}", "--pad", "-0.1"], "--pad"),
    (["vad", "detect", "{W}", "--plot", "{D}"], "--plot"),
    (["vad", "detect", "{W}", "--plot", "{F}/x.png"], "--plot"),
    (["vad", "detect", "{W}", "--plot", "{D}/x.wav"], "--plot"),
    (["vad", "detect", "{W}", "--seed", "1"], "--seed"),
]


@pytest.mark.parametrize("template, flag", PARSE_ERRORS, ids=[" ".join(t[1:3]) + " " + f for t, f in PARSE_ERRORS])
def test_bad_flag_one_line_naming_it(template, flag, paths, capsys):
    with pytest.raises(SystemExit) as exc:
        main(_argv(template, paths))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err, err


LATER_ERRORS = [  # values only the content of a file reveals: still one line naming the flag, exit 2
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--recipe", "{J}", "--quiet"], "--recipe"),
    (["vad", "train", "--corpus", "{C}", "--out", "{D}/m.pt", "--recipe", "{R}", "--quiet"], "--recipe"),
    (["vad", "info", "--audio", "{F}"], "file.txt"),
    (["vad", "calibrate", "--model", "bin", "--corpus", "{C}", "--out", "{D}/m.pt", "--quiet"], "--corpus"),
    (["vad", "detect", "{F}"], "file.txt"),
]


@pytest.mark.parametrize("template, name", LATER_ERRORS, ids=[" ".join(t[1:2]) + " " + n for t, n in LATER_ERRORS])
def test_bad_file_content_one_line(template, name, paths, capsys):
    assert main(_argv(template, paths)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and name in err, err


def _clip():
    return (0.01 * np.random.default_rng(1).standard_normal(3200)).astype(np.float32)


API_ERRORS = [
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).detect(_clip(), 16000, threshold=float("nan")),
     "threshold"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).detect(_clip(), 16000, pad_s=-1.0), "pad_s"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).detect(_clip(), 16000, min_speech_s=float("inf")),
     "min_speech_s"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).detect(_clip(), 16000, min_silence_s=-2),
     "min_silence_s"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).detect(_clip()), "sr"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).detect(_clip(), 0), "sr"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).SpikingVADSystem("bin").stream(threshold=2.0),
     "threshold"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).SpikingVADSystem("bin").stream().process(
        np.zeros((2, 160))), "chunk"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).SpikingVADSystem("bin").stream().process(
        np.full(160, np.nan)), "chunk"),
    (lambda: __import__("neuroflow.vad.energy", fromlist=["x"]).model_info("bin", pj_per_sop=float("nan")),
     "pj_per_sop"),
    (lambda: __import__("neuroflow.vad.energy", fromlist=["x"]).model_info("bin", pj_per_sop=0), "pj_per_sop"),
    (lambda: __import__("neuroflow.vad.energy", fromlist=["x"]).model_info("bin", pj_per_sop=1e308), "pj_per_sop"),
    (lambda: __import__("neuroflow.vad.evaluation", fromlist=["x"]).evaluate_system("energy", [], threshold=2),
     "threshold"),
    (lambda: __import__("neuroflow.vad.evaluation", fromlist=["x"]).evaluate_system("nope", []), "system"),
    (lambda: __import__("neuroflow.vad.frontend", fromlist=["x"]).FeatureExtractor(
        {"n_mels": 40, "norm": "utterance"}), "norm"),
    (lambda: __import__("neuroflow.vad.frontend", fromlist=["x"]).FeatureExtractor({"n_mels": 0}), "n_mels"),
    (lambda: __import__("neuroflow.vad.frontend", fromlist=["x"]).FeatureExtractor(
        {"n_mels": 40, "modulation": True, "modulation_window": 0}), "modulation_window"),
    (lambda: __import__("neuroflow.vad.frontend", fromlist=["x"]).FeatureExtractor(
        {"n_mels": 40, "modulation": True, "modulation_window": 0.01}), "modulation_window"),
    (lambda: __import__("neuroflow.vad.recipe", fromlist=["x"]).Recipe(modulation_window=float("nan")),
     "modulation_window"),
    (lambda: __import__("neuroflow.vad.recipe", fromlist=["x"]).Recipe(modulation_window="0.2"), "modulation_window"),
    (lambda: __import__("neuroflow.vad.recipe", fromlist=["x"]).Recipe(level="yes"), "level"),
    (lambda: __import__("neuroflow.vad.recipe", fromlist=["x"]).Recipe(modulation=1), "modulation"),
    (lambda: __import__("neuroflow.vad.recipe", fromlist=["x"]).Recipe(norm="utterance"), "norm"),
    (lambda: __import__("neuroflow.vad.recipe", fromlist=["x"]).Recipe.from_dict({"hidden": 5}), "hidden"),
    (lambda: __import__("neuroflow.vad.metrics", fromlist=["x"]).frame_metrics([0, 1], [0.1, 0.9],
                                                                                float("nan")), "threshold"),
    # a sample rate whose resampling filter alone would not fit in memory
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).detect(_clip(), 10 ** 15), "sr: .*at most 768000"),
    (lambda: __import__("neuroflow.vad.audio", fromlist=["x"]).prepare(_clip(), 2 ** 31 - 1), "sr: .*at most"),
    (lambda: __import__("neuroflow.vad.audio", fromlist=["x"]).load_audio(__file__, sr=0), "sr: "),
    (lambda: __import__("neuroflow.vad.audio", fromlist=["x"]).load_audio(__file__, sr="16k"), "sr: "),
    (lambda: __import__("neuroflow.vad.audio", fromlist=["x"]).load_audio(""), "path: .*''"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).detect(np.zeros((2, 0)), 16000), "empty"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).detect(_clip(), 16000, model=""), "model: .*''"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).SpikingVADSystem("bin").stream().process(
        np.full(160, 1e20)), "chunk: samples reach"),
    # a scalar or a string where a list goes: named, not iterated ("'float' object is not iterable", "got 'w'")
    (lambda: __import__("neuroflow.vad.corpus", fromlist=["x"]).plan_corpus(1, durations=30.0), "durations: .*list"),
    (lambda: __import__("neuroflow.vad.corpus", fromlist=["x"]).plan_corpus(1, snrs=5), "snrs: .*list"),
    (lambda: __import__("neuroflow.vad.corpus", fromlist=["x"]).plan_corpus(1, noises="white"),
     "noises: .*got 'white'"),
    (lambda: __import__("neuroflow.vad.evaluation", fromlist=["x"]).compare_systems("x", "energy"), "specs: .*list"),
    (lambda: __import__("neuroflow.vad.evaluation", fromlist=["x"]).compare_systems("x", []), "specs: .*none"),
    (lambda: __import__("neuroflow.vad.corpus", fromlist=["x"]).load_corpus(""), "root: .*''"),
    # NaN thresholds and margins gave all-silence decisions and NaN scores
    (lambda: __import__("neuroflow.vad.registry", fromlist=["x"]).get_system("energy").detect(
        _clip(), 16000, threshold=float("nan")), "threshold"),
    (lambda: __import__("neuroflow.vad.registry", fromlist=["x"]).get_system("energy").detect(
        _clip(), 16000, threshold=-1), "threshold"),
    (lambda: __import__("neuroflow.vad.systems", fromlist=["x"]).EnergyVAD(margin_db=float("nan")), "margin_db"),
    (lambda: __import__("neuroflow.vad.systems", fromlist=["x"]).EnergyVAD(floor_percentile="10"), "floor_percentile"),
    # a hangover of 10**9 frames allocated 7.5 GiB at the first score; Silero's threads met torch only when scoring
    # (-1: torch's RuntimeError, "x": int()'s ValueError), 2.5 ran as 2, and 10**6 crashed the process
    (lambda: __import__("neuroflow.vad.systems", fromlist=["x"]).EnergyVAD(hangover_frames=10**9),
     "^hangover_frames: .*\\[0, 1000\\], got 1000000000"),
    (lambda: __import__("neuroflow.vad.systems", fromlist=["x"]).EnergyVAD(hangover_frames=2.0), "^hangover_frames"),
    (lambda: __import__("neuroflow.vad.systems", fromlist=["x"]).SileroVAD(threads=-1), "^threads: "),
    (lambda: __import__("neuroflow.vad.systems", fromlist=["x"]).SileroVAD(threads="x"), "^threads: "),
    (lambda: __import__("neuroflow.vad.systems", fromlist=["x"]).SileroVAD(threads=2.5), "^threads: "),
    (lambda: __import__("neuroflow.vad.systems", fromlist=["x"]).SileroVAD(threads=10**6), "^threads: .*1000000"),
    (lambda: __import__("neuroflow.vad.features", fromlist=["x"]).n_frames(-1600), "n_samples"),  # was -10 frames
    (lambda: __import__("neuroflow.vad.features", fromlist=["x"]).n_frames(1600.5), "n_samples"),
    (lambda: __import__("neuroflow.vad.features", fromlist=["x"]).n_frames(1600, sr=0), "sr"),  # ZeroDivisionError
    (lambda: __import__("neuroflow.vad.speech", fromlist=["x"]).synthesize("hello", sr=10 ** 15), "sr"),  # was killed
    (lambda: __import__("neuroflow.vad.speech", fromlist=["x"]).synthesize(
        "hello", __import__("neuroflow.vad.speech", fromlist=["x"]).Voice(rate=float("nan"))), "voice: rate"),
    (lambda: __import__("neuroflow.vad.speech", fromlist=["x"]).synthesize(
        "hello", __import__("neuroflow.vad.speech", fromlist=["x"]).Voice(pitch=1000)), "voice: pitch"),
    # NaN features came out as ordinary-looking probabilities
    (lambda: (lambda s: s.score_features(np.full((10, s.extractor.n_features), np.nan)))(
        __import__("neuroflow.vad.detect", fromlist=["x"]).SpikingVADSystem("bin")), "feats: 480 NaN"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).SpikingVADSystem("bin").score_features("abc"),
     "feats: "),
    # the benchmark's plan: 10**9 scenes per condition hung while planning, "music" was read letter by letter
    (lambda: __import__("neuroflow.vad.realspeech", fromlist=["x"]).benchmark_plans(scenes_per_condition=10 ** 9),
     "scenes_per_condition"),
    (lambda: __import__("neuroflow.vad.realspeech", fromlist=["x"]).benchmark_plans(nonspeech_files=10 ** 9),
     "nonspeech_files"),
    (lambda: __import__("neuroflow.vad.realspeech", fromlist=["x"]).benchmark_plans(duration_s=1e9), "duration_s"),
    (lambda: __import__("neuroflow.vad.realspeech", fromlist=["x"]).benchmark_plans(noises="music"),
     "noises: .*got 'music'"),
    (lambda: __import__("neuroflow.vad.realspeech", fromlist=["x"]).benchmark_plans(snrs=5), "snrs: .*list"),
]


@pytest.mark.parametrize("call, name", API_ERRORS, ids=[f"{i}-{n}" for i, (_, n) in enumerate(API_ERRORS)])
def test_api_refuses_bad_arguments_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()


TYPE_ERRORS = [
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).detect(None, 16000), "path_or_wav"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).detect(_clip(), 16000, model=None), "model"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).SpikingVADSystem(3), "model"),
    (lambda: __import__("neuroflow.vad.audio", fromlist=["x"]).load_audio(None), "path"),
    (lambda: __import__("neuroflow.vad.corpus", fromlist=["x"]).generate_corpus(None, minutes=0.1), "out_dir"),
    (lambda: __import__("neuroflow.vad.corpus", fromlist=["x"]).load_corpus(None), "root"),
    (lambda: __import__("neuroflow.vad.evaluation", fromlist=["x"]).evaluate_system("energy", None), "corpus"),
    (lambda: __import__("neuroflow.vad.evaluation", fromlist=["x"]).evaluate_system("energy", 3), "corpus"),
    (lambda: __import__("neuroflow.vad.speech", fromlist=["x"]).synthesize("hello", "en-us"), "voice"),
    (lambda: __import__("neuroflow.vad.detect", fromlist=["x"]).VADStream(
        __import__("neuroflow.vad.detect", fromlist=["x"]).SpikingVADSystem("bin"), rules="x"), "rules"),
    # were AttributeError ('dict' object has no attribute 'prune') and "'NoneType' object is not iterable"
    (lambda: __import__("neuroflow.vad.training", fromlist=["x"]).train_vad("c", "m.pt", {"hidden": [8]}), "recipe"),
    (lambda: __import__("neuroflow.vad.training", fromlist=["x"]).train_vad("c", None), "out"),
    (lambda: __import__("neuroflow.vad.training", fromlist=["x"]).train_vad(None, "m.pt"), "corpus"),
    (lambda: __import__("neuroflow.vad.training", fromlist=["x"]).train_vad(5, "m.pt"), "corpus"),
]


def test_audio_shorter_than_a_frame_for_vad_info_names_the_flag(tmp_path, capsys):
    import soundfile as sf

    sf.write(tmp_path / "one.wav", np.zeros(1, np.float32), 16000)
    assert main(["vad", "info", "--model", "bin", "--audio", str(tmp_path / "one.wav")]) == 2
    # was "audio: ... is shorter than one 10 ms frame", the API argument's name
    assert capsys.readouterr().err == (f"neuroflow: error: --audio: {tmp_path / 'one.wav'} is shorter than one 10 ms "
                                       f"frame\n")


def test_text_with_a_nul_character_is_refused_not_cut_short():
    from neuroflow.vad.speech import synthesize

    with pytest.raises(ValueError, match="text: contains a NUL"):  # eSpeak spoke only "hel"
        synthesize("hel\0lo")


def test_a_file_given_as_a_corpus_folder_is_called_a_file(tmp_path):
    from neuroflow.vad.corpus import load_corpus

    (tmp_path / "corpus.json").write_text("{}")
    with pytest.raises(NotADirectoryError, match="is a file; expected a corpus folder"):  # was "folder not found"
        load_corpus(tmp_path / "corpus.json")


@pytest.mark.parametrize("call, name", TYPE_ERRORS, ids=[f"{i}-{n}" for i, (_, n) in enumerate(TYPE_ERRORS)])
def test_api_refuses_arguments_of_the_wrong_type_naming_them(call, name):
    with pytest.raises(TypeError, match=f"^{name}: "):
        call()


def test_a_wav_header_with_an_absurd_sample_rate_is_one_line_naming_it(tmp_path, capsys):
    import soundfile as sf

    wav = tmp_path / "ghz.wav"
    sf.write(wav, np.zeros(100, np.float32), 2 ** 31 - 1)  # resampling it would ask for 320 GiB
    assert main(["vad", "detect", str(wav)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ghz.wav" in err and "2147483647" in err and "memory" not in err, err


@pytest.mark.parametrize("what", ["detect_array", "features"])
def test_a_long_signal_takes_memory_of_one_chunk_not_of_the_signal(what):
    import tracemalloc

    from neuroflow.vad.detect import SpikingVADSystem

    system = SpikingVADSystem("bin")
    wav = (0.05 * np.random.default_rng(2).standard_normal(16000 * 25)).astype(np.float32)  # 25 s: 1.6 MB
    run = {"detect_array": lambda: system.detect_array(wav, 16000).speech_prob,
           "features": lambda: system.extractor.transform(wav)}[what]
    tracemalloc.start()
    try:
        whole = run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the whole signal in one go took ~2.7 MB per second of audio (an hour: ~10 GB); 10 s chunks take ~30 MB in all
    assert peak < 45e6, f"{peak / 1e6:.0f} MB"  # was 67 MB
    if what == "detect_array":  # chunked or not: the same scores, bit for bit
        stream = system.stream()
        parts = [stream.process(wav[i:i + 24000]) for i in range(0, len(wav), 24000)] + [stream.flush()]
        assert np.array_equal(np.concatenate(parts), whole)
    else:
        assert np.array_equal(system.extractor.step(wav, None, final=True)[0], whole)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs named pipes")
def test_a_pipe_or_device_given_as_audio_is_called_that_not_empty(tmp_path):
    import os

    from neuroflow.vad.audio import AudioError, load_audio

    os.mkfifo(tmp_path / "pipe.wav")
    (tmp_path / "zero.wav").symlink_to("/dev/zero")
    for name in ("pipe.wav", "zero.wav"):  # both were "file is empty (0 bytes)"
        with pytest.raises(AudioError, match=f"{name}: is not a regular file"):
            load_audio(tmp_path / name)


def test_a_benchmark_too_large_for_the_disk_names_out_not_minutes(tmp_path, monkeypatch, capsys):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 ** 9, 10 ** 9 - 10 ** 6, 10 ** 6))  # 1 MB free
    assert main(["vad", "corpus", "--benchmark", "--quiet", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    # was "--minutes: ...", a flag --benchmark refuses
    assert err.count("\n") == 1 and "--out: " in err and "--minutes" not in err and "1.0 MB" in err, err


def test_the_benchmark_plan_keeps_its_scenes_with_numpy_snrs():
    from neuroflow.vad.realspeech import benchmark_plans

    plans = benchmark_plans(snrs=[np.int64(5)])  # was refused: not an int or float
    assert [p.snr_db for p in plans["speech"]][-1] == 5.0 and len(plans["speech"]) == 2 * (1 + 9)


@pytest.fixture(scope="module")
def calibration_scenes(tmp_path_factory):
    from neuroflow.vad.corpus import generate_corpus, load_corpus

    root = tmp_path_factory.mktemp("cal_grid")
    generate_corpus(root, minutes=0.05, durations=(2.0,), snrs=(0.0,), noises=("white",), progress=False)
    return list(load_corpus(root))


@pytest.mark.parametrize("grid, value", [("thresholds", [float("nan")]), ("thresholds", [5.0]), ("thresholds", []),
                                         ("medians", [0]), ("hangovers", [-3]), ("hangovers", [1.5]),
                                         ("low_snr_dbs", [float("nan")]), ("releases", "0.5")])
def test_calibration_grids_refuse_values_no_model_may_hold(grid, value, calibration_scenes):
    from neuroflow.vad.calibration import calibrate
    from neuroflow.vad.detect import SpikingVADSystem

    # were chosen and written into a model file that load_model then refused (threshold nan, median 0, hangover -3)
    with pytest.raises(ValueError, match=f"^{grid}: "):
        calibrate(SpikingVADSystem("bin"), calibration_scenes, **{grid: value})
    with pytest.raises(TypeError, match="^system: "):
        calibrate("bin", calibration_scenes)


@pytest.mark.parametrize("kwargs, name", [({"threshold": float("nan")}, "threshold"), ({"threshold": 2}, "threshold"),
                                          ({"smoothing": {"median": 0}}, "smoothing"),
                                          ({"info": {"recipe": 5}}, "info"), ({"smoothing": "x"}, "smoothing")])
def test_save_model_never_writes_a_file_load_model_refuses(kwargs, name, tmp_path):
    from neuroflow.vad.detect import model_path
    from neuroflow.vad.snn import load_model, save_model

    model = load_model(model_path("bin")).model
    with pytest.raises((ValueError, TypeError), match=f"^{name}: "):  # was written, then "damaged" on every load
        save_model(model, tmp_path / "m.pt", **kwargs)
    assert not (tmp_path / "m.pt").exists()


def test_systems_given_as_a_generator_are_compared_and_no_scenes_named_as_the_corpus(calibration_scenes):
    from neuroflow.vad.evaluation import compare_systems, evaluate_system

    # the check for repeated systems read the generator, which came to the evaluation empty: "got none"
    with pytest.warns(UserWarning, match="no non-speech frames"):  # the fixture's scenes are speech throughout
        results, _ = compare_systems(calibration_scenes, (s for s in ["energy"]), progress=False)
    assert [r.system for r in results] == ["energy"]
    with pytest.raises(ValueError, match="^corpus: expected at least one scene"):  # was "labels: ..."
        evaluate_system("energy", [], progress=False)


def test_lists_given_as_generators_are_read_once(calibration_scenes, tmp_path):
    import json

    from neuroflow.vad.calibration import calibrate
    from neuroflow.vad.corpus import generate_corpus, plan_corpus
    from neuroflow.vad.detect import SpikingVADSystem
    from neuroflow.vad.realspeech import benchmark_plans

    def gen(values):
        return (v for v in values)

    # each generator was read by a check first and came to its use empty
    assert len(benchmark_plans(noises=gen(["white"]))["speech"]) == len(benchmark_plans(noises=["white"])["speech"])
    plan = dict(durations=[10.0], snrs=[5.0])
    assert [p.noise for p in plan_corpus(1, noises=gen(["white", "pink"]), **plan)] == \
        [p.noise for p in plan_corpus(1, noises=["white", "pink"], **plan)]  # was "generator has no len()"
    generate_corpus(tmp_path / "c", minutes=0.1, durations=gen([6.0]), snrs=gen([5.0]), noises=gen(["white"]),
                    progress=False)
    settings = json.loads((tmp_path / "c" / "corpus.json").read_text())["settings"]
    assert (settings["durations"], settings["snrs"], settings["noises"]) == ([6.0], [5.0], ["white"])  # were []
    # these scenes have no non-speech frames: the search is reached (was "thresholds: ... got none" before it)
    with pytest.raises(ValueError, match="^scenes: no condition has both"):
        calibrate(SpikingVADSystem("bin"), calibration_scenes, thresholds=gen([0.5, 0.6]))


@pytest.mark.parametrize("kwargs, name", [({"fmin": -100.0}, "fmin"), ({"fmax": 20000.0}, "fmax"),
                                          ({"fmin": 5000.0, "fmax": 1000.0}, "fmax"), ({"fmax": float("nan")}, "fmax"),
                                          ({"n_fft": 10 ** 9}, "n_fft")])
def test_logmel_refuses_filters_of_nothing_and_sizes_past_memory(kwargs, name):
    from neuroflow.vad.features import logmel

    # fmin/fmax out of the band gave empty or NaN filters read as features; 10**9 points asked for 75 GiB
    with pytest.raises(ValueError, match=f"^{name}: "):
        logmel(_clip(), 16000, **kwargs)


def test_save_model_refuses_info_a_model_file_cannot_hold_and_takes_numpy_frame_counts(tmp_path):
    from pathlib import Path

    from neuroflow.vad.detect import model_path
    from neuroflow.vad.snn import load_model, save_model

    model = load_model(model_path("bin")).model
    for info in ({"hter": np.float64(0.1)}, {"corpus": Path("c")}):  # were written; every load then refused them
        with pytest.raises(TypeError, match="^info: holds values a model file cannot store"):
            save_model(model, tmp_path / "m.pt", info=info)
        assert not (tmp_path / "m.pt").exists()
    save_model(model, tmp_path / "m.pt", smoothing={"median": np.int64(3), "hangover": 2})  # was "expected a whole
    assert load_model(tmp_path / "m.pt").smoothing == {"median": 3, "hangover": 2}  # number of frames"


def test_a_switch_given_as_a_string_is_refused_not_read_as_true(tmp_path):
    from neuroflow.vad.corpus import generate_corpus
    from neuroflow.vad.training import train_vad

    # "no" is true: overwrite started over on the corpus in the folder, resume continued its checkpoint
    with pytest.raises(TypeError, match="^overwrite: expected True or False, got 'no'"):
        generate_corpus(tmp_path / "c", minutes=0.1, overwrite="no", progress=False)
    assert not (tmp_path / "c" / "corpus.json").exists()
    with pytest.raises(TypeError, match="^resume: expected True or False, got 'no'"):
        train_vad(tmp_path / "c", tmp_path / "m.pt", resume="no")


def test_plot_functions_name_arguments_of_the_wrong_kind(tmp_path):
    """The figures of the area refused a wrong argument with the drawing library's words, or drew it: one
    EvalResult "is not iterable", a string "has no attribute 'per_snr'", det=None "no attribute 'segments'", a
    history record without its keys a KeyError, a scene shorter than a frame "index -1 is out of bounds", and a
    2-d waveform was drawn as lines."""
    from neuroflow.vad.detect import Detection
    from neuroflow.vad.metrics import summarize
    from neuroflow.vad.plots import plot_detection, plot_history, plot_hter, plot_scene

    y, s = np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.6, 0.2])
    result = summarize([y], [s], [5.0], ["white"], system="x")
    det = Detection(speech_prob=s, segments=[[0.01, 0.03]], duration_s=0.04, model="bin")
    png = tmp_path / "f.png"
    for call, error, match in (
            (lambda: plot_hter(result, png), TypeError, "^results: .*give \\[result\\]"),
            (lambda: plot_hter("abc", png), ValueError, "^results: "),
            (lambda: plot_hter([result, "x"], png), TypeError, "^results: .*holding 'x'"),
            (lambda: plot_detection(np.zeros(640), None, png), TypeError, "^det: expected a Detection"),
            (lambda: plot_detection(np.zeros((2, 640)), det, png), ValueError, "^wav: expected a 1-d"),
            (lambda: plot_detection(np.zeros(640), det, png, labels="ab"), ValueError, "^labels: "),
            (lambda: plot_history([{"val_hter": 0.1}], png), ValueError, "^history: .*sparsity"),
            (lambda: plot_scene(np.zeros(100), [0], {}, png, "t"), ValueError, "^wav: 100 samples is shorter"),
            (lambda: plot_scene(np.zeros(1600), [0] * 10, [0.5] * 10, png, "t"), TypeError, "^scores: ")):
        with pytest.raises(error, match=match):
            call()
    assert not png.exists()
    assert plot_hter(iter([result]), png) == png and png.stat().st_size > 0


def test_held_out_scene_names_its_own_arguments():
    """A bad duration was "minutes: ..." or "durations: ..." of the plan behind it (5 s too), a text one a
    TypeError, an unknown noise or a NaN SNR "durations: ..." or "snrs: ...", and a clean scene (noise "none")
    with the default SNR "snrs: ... would do nothing"."""
    from neuroflow.vad.evaluation import held_out_scene

    for kwargs, match in ((dict(duration_s=-5), "^duration_s: "), (dict(duration_s="30"), "^duration_s: "),
                          (dict(duration_s=5.0), "^duration_s: expected seconds in \\[10, 3600\\], got 5.0"),
                          (dict(noise="xx"), "^noise: .*got 'xx'"), (dict(snr_db=float("nan")), "^snr_db: "),
                          (dict(snr_db="5"), "^snr_db: ")):
        with pytest.raises(ValueError, match=match):
            held_out_scene(0, **kwargs)
    plan, wav, labels, _, _ = held_out_scene(0, 12.0, noise="none")
    assert plan.noise == "none" and plan.snr_db == float("inf") and len(wav) == 12 * 16000


def test_a_list_of_scenes_is_checked_without_reading_them_and_each_field_is_named(calibration_scenes):
    """The check of a list of scenes read (and kept) every scene's audio and labels before the first was scored (all
    of a large corpus in memory at once); a scene of one's own without sr, snr_db, noise or name failed with an
    AttributeError after the scenes before it were scored, and one whose labels disagreed with its frames with
    "no attribute 'labels_path'"."""
    from types import SimpleNamespace

    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.evaluation import _check_corpus, evaluate_system

    fresh = list(load_corpus(calibration_scenes[0].path.parent))
    _check_corpus(fresh)
    assert not any("wav" in s.__dict__ or "labels" in s.__dict__ for s in fresh)
    scene = calibration_scenes[0]
    full = dict(wav=scene.wav, labels=scene.labels, sr=16000, snr_db=0.0, noise="white", name="mine")
    for field in ("sr", "snr_db", "noise", "name"):
        partial = {k: v for k, v in full.items() if k != field}
        with pytest.raises(TypeError, match=f"^corpus: scene 1 \\(SimpleNamespace\\) has no {field}; "):
            evaluate_system("energy", [SimpleNamespace(**full), SimpleNamespace(**partial)], progress=False)
    short = SimpleNamespace(**{**full, "labels": scene.labels[:-3]})
    with pytest.raises(ValueError, match="^scene mine: .* labels, but system energy gave"):
        evaluate_system("energy", [short], progress=False)


def _name_cases():
    import importlib

    from neuroflow.vad import augment, calibration, energy, features, level, metrics, modulation, noise, speech, \
        tonality

    from neuroflow.vad import packages, roomtone, snn

    detect = importlib.import_module("neuroflow.vad.detect")  # neuroflow.vad.detect is also the function

    rng = np.random.default_rng(0)
    return [  # (call, the argument its message must name); each named another one before
        (lambda: augment.room_tone_piece(100, -1), "rng"),          # was room_tone's "seed"
        (lambda: augment.room_tone_piece(0, rng), "n"),             # was room_tone's "n_samples"
        (lambda: augment.gated_piece(100, -1), "rng"),              # was an AttributeError ('int' has no 'random')
        (lambda: augment.gated_piece(-1, rng), "n"),                # was make_noise's "n_samples"
        (lambda: noise.room_impulse_response(-1), "rng"),           # was "seed"
        (lambda: speech.random_voice("A", -1), "rng"),              # was "seed"
        (lambda: energy.model_info("snu", audio=3), "audio"),       # was load_audio's "path"
        (lambda: energy.model_info("snu", audio=""), "audio"),
        (lambda: detect.detect(np.full(1600, np.nan), sr=16000), "path_or_wav"),  # was detect_array's "wav"
        (lambda: features.noise_floor(np.zeros((10, 4)), window=0), "window"),     # was the recipe's "floor_window"
        (lambda: features.noise_floor(np.zeros((10, 4)), smooth=2.0), "smooth"),   # was "floor_smooth"
        (lambda: level.level_inputs(np.zeros(3), window=0, smooth=0.5), "window"),  # was "floor_window"
        (lambda: tonality.tonality_step(np.zeros((2, 1024)), measure="x"), "measure"),  # was "tonality_measure"
        (lambda: tonality.tonality_inputs(np.zeros(3), window=0), "window"),       # was "tonality_window"
        (lambda: tonality.excerpt_similarity(np.zeros(3), measure="x"), "measure"),
        (lambda: modulation.modulation_inputs(np.zeros((3, 40)), np.zeros(3), window=0), "window"),  # "modulation_window"
        (lambda: metrics.summarize([np.zeros(3)], [], [], []), "labels, scores, snrs, noises"),  # was "summarize"
        (lambda: calibration.search_rule([]), "outputs"),           # was "scenes", an argument of calibrate
        (lambda: calibration.calibrate(detect.SpikingVADSystem("bin"), []), "scenes"),
        # these named nothing: "'int' object is not iterable", "invalid literal for int()", numpy's
        # "negative dimensions are not allowed", "could not convert string to float"
        (lambda: snn.SNUVAD(hidden=-1), "hidden"),
        (lambda: snn.SNUVAD(seed="x"), "seed"),
        (lambda: snn.BinSNNVAD(features=-1), "features"),
        (lambda: features.mel_basis(n_fft=-1), "n_fft"),
        (lambda: features.mel_basis(n_mels=-1), "n_mels"),
        (lambda: features.mel_basis(fmin="x"), "fmin"),
        (lambda: features.mel_basis(fmax="x"), "fmax"),
        (lambda: speech.SentenceGenerator(exclude=-1), "exclude"),
        (lambda: packages.install_sources(-1), "packages"),
        (lambda: roomtone.room_tone(100, level_db="x"), "level_db"),
    ]


@pytest.mark.parametrize("case", range(29))
def test_api_errors_name_the_argument_the_caller_passed(case):
    cases = _name_cases()
    assert len(cases) == 29
    call, name = cases[case]
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert str(info.value).startswith(f"{name}: "), str(info.value)

