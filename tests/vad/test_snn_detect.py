"""The shipped spiking models out of the box: scores, segments, streaming, CLI, and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from neuroflow.vad.detect import SpikingVADSystem, model_path
from neuroflow.vad.features import n_frames
from neuroflow.vad.metrics import error_rates
from neuroflow.vad.postprocess import segments_from_scores
from neuroflow.vad.snn import load_model, network_sha256


@pytest.fixture(scope="module")
def clip():
    from neuroflow.vad.corpus import make_scene, plan_corpus

    plan = plan_corpus(0.3, "test", 5, durations=(20.0,), snrs=(10.0,), noises=("pink",))[0]
    wav, labels, _ = make_scene(plan)
    return wav, labels


@pytest.fixture(scope="module", params=["snu", "bin"])
def system(request):
    return SpikingVADSystem(request.param)


def test_shipped_model_detects_speech_in_a_generated_clip(system, clip):
    wav, labels = clip
    score = system.score(wav, 16000)
    assert len(score) == n_frames(len(wav)) == len(labels)
    assert np.all((score >= 0) & (score <= 1))
    assert error_rates(score >= 0.5, labels)[2] < 0.35  # a useless detector sits at 0.5
    det = system.detect_array(wav, 16000)
    assert det.segments == segments_from_scores(score)
    assert all(0 <= a < b <= 20.0 for a, b in det.segments)
    d = det.to_dict()
    assert d["hop_s"] == 0.01 and len(d["speech_prob"]) == len(score)


@pytest.mark.parametrize("kind", ["white", "pink", "brown"])
def test_stationary_noise_of_any_level_gives_no_segments(system, kind):
    # the models once standardised each band by running statistics, which blew stationary noise up
    # to speech-like fluctuations (most of the first seconds of any steady noise came out as speech)
    from neuroflow.vad.noise import make_noise

    noise = make_noise(kind, 16000 * 3, seed=11, group="B")
    for level_db in (-70.0, -40.0, -10.0):
        wav = noise * np.float32(10 ** (level_db / 20))
        assert system.segments(wav, 16000) == [], (kind, level_db)


def test_alsa_noise_recording_is_not_speech(system):
    from pathlib import Path

    from neuroflow.vad.audio import load_audio

    path = Path("/usr/share/sounds/alsa/Noise.wav")  # Debian's alsa-utils; evaluation only, never trained on
    if not path.is_file():
        pytest.skip("alsa-utils sounds not installed")
    wav, sr = load_audio(path)
    assert system.segments(wav, sr) == []


@pytest.mark.parametrize("rules", [{}, {"threshold": 0.4, "min_speech_s": 0.1, "min_silence_s": 0.3, "pad_s": 0.05}])
def test_streaming_in_chunks_equals_one_call(system, clip, rules):
    wav = clip[0][: 16000 * 6]
    whole = system.detect_array(wav, 16000, **rules)
    assert whole.segments, "the clip holds speech"
    stream = system.stream(**rules)
    rng = np.random.default_rng(len(rules))
    out, popped, i = [], [], 0
    while i < len(wav):
        if rng.random() < 0.1:  # a stretch of single samples
            n = int(rng.integers(1, 400))
            out += [stream.process(wav[j:j + 1]) for j in range(i, min(i + n, len(wav)))]
        else:
            n = int(rng.choice([0, 1, 7, 160, 399, 512, 3000]))
            out.append(stream.process(wav[i:i + n]))
        i += n
        popped += stream.pop_segments()
    out.append(stream.flush())
    popped += stream.pop_segments()
    assert np.array_equal(np.concatenate(out), whole.speech_prob)  # bit for bit: one path
    assert stream.segments == popped == whole.segments
    assert stream.frames_done == len(whole.speech_prob)
    with pytest.raises(ValueError, match="flushed"):
        stream.process(wav[:160])
    stream.reset()
    assert len(stream.process(wav[:1600])) > 0 and stream.segments == []


def test_a_10_ms_chunk_is_checked_once_and_runs_no_scipy_filter(system, clip, monkeypatch):
    """A microphone's 10 ms chunks cost ~1.4 ms each (6.5x real time against ~460x for a file): the network's own
    probabilities and scores were checked again at every step, scipy's running-minimum and -maximum filters ran over
    whole carried windows and its per-column convolutions over every column, for one frame. Now the chunk is checked
    once, at ``process``, and one frame is computed directly (the same floats: ``np.array_equal`` with one call)."""
    import scipy.ndimage

    import neuroflow.vad.postprocess as post

    wav = clip[0][: 16000 * 3]
    whole = system.score(wav, 16000)
    checked = []

    def refuse(*args, **kwargs):
        raise AssertionError("called for a 10 ms chunk")

    check_array = post.check_array
    stream, out = system.stream(), []
    monkeypatch.setattr(post, "check_array", lambda *a, **k: checked.append(a[1]) or check_array(*a, **k))
    for name in ("minimum_filter1d", "maximum_filter1d"):
        monkeypatch.setattr(scipy.ndimage, name, refuse)
    monkeypatch.setattr(np, "apply_along_axis", refuse)  # scipy's FIR lfilter: one convolution per column
    monkeypatch.setattr(np, "median", refuse)  # the bin model's 3-frame median: ~50 us of checks for one value
    for i in range(0, len(wav), 160):
        out.append(stream.process(wav[i:i + 160]))
    monkeypatch.undo()
    out.append(stream.flush())
    assert checked == []
    assert np.array_equal(np.concatenate(out), whole)


def test_segment_options_change_segments_as_documented(system, clip):
    wav = clip[0][: 16000 * 6]
    plain = system.detect_array(wav, 16000).segments
    padded = system.detect_array(wav, 16000, pad_s=0.1).segments
    bridged = system.detect_array(wav, 16000, min_silence_s=1.0).segments
    long_only = system.detect_array(wav, 16000, min_speech_s=0.5).segments
    assert len(bridged) <= len(plain) and len(padded) <= len(plain)
    assert all(b - a >= 0.5 - 1e-9 for a, b in long_only)
    assert padded[0][0] == pytest.approx(max(0.0, plain[0][0] - 0.1))
    strict = system.detect_array(wav, 16000, threshold=0.9)
    assert strict.to_dict()["speech_fraction"] <= system.detect_array(wav, 16000).to_dict()["speech_fraction"]


def test_other_sample_rates_and_stereo(system, clip):
    from scipy.signal import resample_poly

    wav = clip[0][: 16000 * 3]
    wav48 = resample_poly(wav, 3, 1).astype(np.float32)
    stereo = np.stack([wav48, wav48], axis=1)
    s16, s48 = system.score(wav, 16000), system.score(stereo, 48000)
    assert len(s48) == len(s16)
    assert np.mean((s48 >= 0.5) == (s16 >= 0.5)) > 0.9


def test_silence_gives_no_segments_and_bad_input_clear_errors(system, tmp_path):
    from neuroflow.vad.audio import AudioError

    silent = np.zeros(16000 * 2, np.float32)
    assert system.segments(silent, 16000) == []
    assert np.all(system.score(silent, 16000) == 0)
    with pytest.raises(ValueError, match="empty"):
        system.score(np.zeros(0), 16000)
    with pytest.raises(AudioError, match="shorter than one 10 ms frame"):
        system.detect_array(np.zeros(100, np.float32), 16000)
    junk = tmp_path / "junk.wav"
    junk.write_text("this is not audio")
    with pytest.raises(ValueError, match="junk.wav"):
        system.detect_file(junk)
    with pytest.raises(FileNotFoundError):
        system.detect_file(tmp_path / "missing.wav")
    with pytest.raises(ValueError, match="feature width"):
        system.score_features(np.zeros((10, 13), np.float32))
    with pytest.raises(ValueError, match="16000"):
        from neuroflow.vad.detect import VADStream

        VADStream(system, sr=8000)


def test_model_lookup_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        SpikingVADSystem(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match="bad.pt"):
        SpikingVADSystem(bad)
    with pytest.raises(FileNotFoundError, match="is not a regular file"):
        SpikingVADSystem(tmp_path)


def test_a_model_that_cannot_be_written_names_the_path(tmp_path, monkeypatch):
    import torch

    from neuroflow.vad.snn import load_model, save_model

    def refused(obj, fh):  # what torch raises where the file cannot be written, after half of it was
        fh.write(b"PK")
        raise RuntimeError("[enforce fail at inline_container.cc:747] . open file failed with strerror: "
                           "Permission denied\nException raised from ... (most recent call first):\nframe #0")

    monkeypatch.setattr(torch, "save", refused)
    with pytest.raises(OSError, match="m.pt: cannot write .*Permission denied\\)$"):
        save_model(load_model(model_path("snu")).model, tmp_path / "m.pt")
    assert not list(tmp_path.iterdir())  # no half file left behind


def test_a_model_file_with_damaged_fields_is_refused_naming_the_field(tmp_path):
    import torch

    def damaged(edit):
        payload = torch.load(model_path("snu"), weights_only=True)
        edit(payload)
        path = tmp_path / "m.pt"
        torch.save(payload, path)
        return path

    weight = "layers.0.weight"
    for edit, field in [(lambda p: p.pop("threshold"), "threshold None"),
                        (lambda p: p.update(threshold=float("nan")), "threshold nan"),
                        (lambda p: p.update(smoothing={"median": 10**9, "hangover": 3}), "smoothing median"),
                        (lambda p: p.update(smoothing="abc"), "smoothing 'abc'"),
                        (lambda p: p.update(smoothing={"median": 1, "hangover": 3, "release": 1.5}),
                         "smoothing release 1.5"),
                        (lambda p: p.update(smoothing={"median": 1, "release": "0.4"}), "smoothing release '0.4'"),
                        (lambda p: p.update(smoothing={"median": 1, "hangover": 3, "low_snr_db": 10.0}),
                         "smoothing low_snr_db and low_snr_hangover: expected both or neither"),
                        (lambda p: p.update(smoothing={"median": 1, "low_snr_db": 10.0, "low_snr_hangover": -4}),
                         "smoothing low_snr_hangover: expected a whole number"),
                        (lambda p: p.update(info=[1, 2]), "info is a list"),
                        (lambda p: p["info"].update(recipe="abc"), "info recipe is a str"),
                        (lambda p: p["state_dict"].update({weight: p["state_dict"][weight] * float("nan")}),
                         f"NaN or infinite values in {weight}")]:
        with pytest.raises(ValueError, match="damaged spiking-VAD model") as err:
            SpikingVADSystem(damaged(edit))
        assert field in str(err.value)


def test_cli_says_in_one_line_that_a_model_file_is_corrupt(tmp_path, capsys, clip):
    import soundfile as sf

    from neuroflow.cli import main

    audio = tmp_path / "clip.wav"
    sf.write(audio, clip[0][:16000], 16000)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8).tobytes())
    assert main(["vad", "detect", str(audio), "--model", str(bad)]) == 2
    err = capsys.readouterr().err
    # torch's own message runs to several paragraphs; the user gets one line naming the file
    assert err.count("\n") == 1 and err.startswith(f"neuroflow: error: {bad}: not a readable neuroflow spiking-VAD model")
    with pytest.raises(SystemExit) as stop:  # a folder is refused while the arguments are parsed
        main(["vad", "detect", str(audio), "--model", str(tmp_path)])
    assert stop.value.code == 2 and "(is not a regular file)" in capsys.readouterr().err


def test_systems_registry_builds_both_spiking_models():
    from neuroflow.vad.registry import get_system

    assert get_system("snu").name == "snu"
    assert get_system("bin").name == "bin"


def test_cli_info_and_detect(tmp_path, capsys, clip):
    import soundfile as sf

    from neuroflow.cli import main

    assert main(["vad", "info", "--model", "bin", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    for key in ("synapses", "sparsity", "spikes_per_frame", "sops_per_s", "power_uW"):
        assert key in info
    assert info["sparsity"] >= 0.85 and info["power_uW"] <= 5.0
    assert info["teacher_sha256"] is None  # the bin model learnt from labels alone; the shipped SNU from it
    assert main(["vad", "info", "--model", "snu"]) == 0
    out = capsys.readouterr().out
    assert "trained towards its labels blended 0.5 with the bin model's speech probability" in out
    assert f"network SHA-256 {network_sha256(load_model(model_path('bin')).model)[:12]}" in out
    snu = load_model(model_path("snu"))
    sm = snu.smoothing
    low = f" ({sm['low_snr_hangover']} below an estimated SNR of {sm['low_snr_db']:g} dB)" if "low_snr_db" in sm else ""
    assert (f"decision rule: threshold {snu.threshold:.2f}, release {sm['release']:.2f}, median "
            f"{sm['median']}, hangover {sm['hangover']} frames{low}\n") in out
    path = tmp_path / "clip.flac"
    sf.write(path, clip[0][: 16000 * 4], 16000)
    png = tmp_path / "det.png"
    assert main(["vad", "detect", str(path), "--json", "--plot", str(png), "--min-silence", "0.3", "--pad", "0.05"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hop_s"] == 0.01 and len(out["speech_prob"]) == 400
    assert out["rules"] == {"threshold": 0.5, "min_speech_s": 0.0, "min_silence_s": 0.3, "pad_s": 0.05}
    assert isinstance(out["segments"], list) and png.stat().st_size > 0
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(50, np.float32), 16000)
    assert main(["vad", "detect", str(empty)]) == 2
    assert "shorter than one 10 ms frame" in capsys.readouterr().err


def test_held_out_scene_says_what_it_skipped_without_the_speech_packages(monkeypatch):
    from neuroflow.vad import corpus_store
    from neuroflow.vad.evaluation import held_out_scene
    from neuroflow.vad.sources import SourceMissing

    def missing(plans):
        raise SourceMissing("not installed: asterisk-core-sounds-it-g722; install with `neuroflow vad sources "
                            "--install`")

    monkeypatch.setattr(corpus_store, "check_sources", missing)
    plan, wav, labels, info, note = held_out_scene(seed=0, duration_s=10.0)
    assert plan.speech == "espeak" and plan.split == "test" and len(labels) == len(wav) // 160 == 1000
    assert "skipped real speech" in note and "vad sources --install" in note and "eSpeak" in note


def test_steady_noise_after_digital_silence_is_not_speech(system):
    # the earlier models saw the zeros in every band's noise floor and called the noise after them speech
    # for up to 1.5 s; the floors now skip digital silence
    from neuroflow.vad.noise import make_noise

    for kind, level_db in (("white", -40.0), ("pink", -20.0), ("brown", -60.0)):
        noise = (make_noise(kind, 16000 * 2, seed=3, group="B") * np.float32(10 ** (level_db / 20))).astype(np.float32)
        after = np.mean(system.score(np.concatenate([np.zeros(16000, np.float32), noise]), 16000)[100:] >= 0.5)
        alone = np.mean(system.score(noise, 16000) >= 0.5)
        assert after <= min(alone + 0.02, 0.1), (kind, level_db, after, alone)  # as if the file started there


def test_demo_part_says_what_each_shipped_model_learnt_from(tmp_path):
    from neuroflow.vad.snn_cli import demo

    lines = demo(tmp_path, True, 0)
    assert any(line.startswith("  snu trained towards its labels blended 0.5 with the bin model's") for line in lines)
    assert not any(line.startswith("  bin trained towards") for line in lines)
    assert (tmp_path / "spiking_vad_snu.png").stat().st_size > 0
