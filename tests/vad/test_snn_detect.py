"""The shipped spiking models out of the box: scores, segments, streaming, CLI, and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from neuroflow.vad.detect import SpikingVADSystem, segments_from_scores
from neuroflow.vad.features import n_frames
from neuroflow.vad.training import hter


@pytest.fixture(scope="module")
def clip():
    from neuroflow.vad.corpus import make_scene, plan_corpus

    plan = plan_corpus(0.3, "B", 5, durations=(20.0,), snrs=(10.0,), noises=("pink",))[0]
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
    assert hter(score >= 0.5, labels)[0] < 0.35  # a useless detector sits at 0.5
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


def test_streaming_in_chunks_equals_one_call(system, clip):
    wav = clip[0][: 16000 * 6]
    whole = system.score(wav, 16000)
    stream = system.stream()
    rng = np.random.default_rng(0)
    out, i = [], 0
    while i < len(wav):
        n = int(rng.choice([0, 1, 7, 160, 399, 512, 3000]))
        out.append(stream.process(wav[i:i + n]))
        i += n
    out.append(stream.flush())
    assert np.allclose(np.concatenate(out), whole, atol=1e-6)  # equal up to float32 rounding
    assert stream.frames_done == len(whole)
    with pytest.raises(ValueError, match="flushed"):
        stream.process(wav[:160])
    stream.reset()
    assert len(stream.process(wav[:1600])) > 0


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
    with pytest.raises(ValueError, match="n_mels"):
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


def test_systems_registry_builds_both_spiking_models():
    from neuroflow.vad.systems import get_system

    assert get_system("snn").name == "snn"
    assert get_system("bin").name == "bin"


def test_cli_info_and_detect(tmp_path, capsys, clip):
    import soundfile as sf

    from neuroflow.cli import main

    assert main(["vad", "info", "--model", "bin", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    for key in ("synapses", "sparsity", "spikes_per_frame", "sops_per_s", "power_uW"):
        assert key in info
    assert info["sparsity"] >= 0.85 and info["power_uW"] <= 5.0
    path = tmp_path / "clip.flac"
    sf.write(path, clip[0][: 16000 * 4], 16000)
    png = tmp_path / "det.png"
    assert main(["vad", "detect", str(path), "--json", "--plot", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hop_s"] == 0.01 and len(out["speech_prob"]) == 400
    assert isinstance(out["segments"], list) and png.stat().st_size > 0
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(50, np.float32), 16000)
    assert main(["vad", "detect", str(empty)]) == 2
    assert "shorter than one 10 ms frame" in capsys.readouterr().err
