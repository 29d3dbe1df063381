"""Modulation inputs: they tell a syllable-rate sound from a steady one, forget it one window after it
ends, ignore gain, skip digital silence, and a stream in any pieces gives one call's numbers (features and a
model's scores)."""
from __future__ import annotations

import numpy as np
import pytest

from neuroflow.vad.frontend import FeatureExtractor, feature_width
from neuroflow.vad.modulation import MOD_FLOOR, MOD_WINDOW, N_MOD

CONFIG = {"n_mels": 40, "norm": "floor", "skip_silence": True, "level": True, "modulation": True}
SR = 16000


def harmonic_tone(seconds: float, f0: float = 150.0, am_hz: float | None = None) -> np.ndarray:
    """Ten equal harmonics of ``f0`` at -20 dBFS; with ``am_hz``, gated on and off at that rate
    (raised-cosine envelope with troughs 26 dB down: syllables and the short pauses between them)."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * k * f0 * t + k) for k in range(1, 11))
    if am_hz is not None:
        x = x * (0.05 + 0.95 * (0.5 - 0.5 * np.cos(2 * np.pi * am_hz * t)))
    return (0.1 * x / np.sqrt(np.mean(x * x))).astype(np.float32)


def modulation_of(wav: np.ndarray) -> np.ndarray:
    return FeatureExtractor(CONFIG).transform(wav)[:, -N_MOD:]


def test_width_and_defaults():
    assert feature_width(CONFIG) == FeatureExtractor(CONFIG).n_features == 46
    assert feature_width({"n_mels": 40, "modulation": True}) == 44
    off = FeatureExtractor({"n_mels": 40, "norm": "floor", "level": True})  # the shipped SNU's configuration
    assert off.n_features == 42 and not off.modulation
    from neuroflow.vad.recipe import Recipe

    # a model records the window its inputs were computed over
    assert Recipe(modulation=True).features()["modulation_window"] == MOD_WINDOW
    assert "modulation_window" not in Recipe().features()
    wide = FeatureExtractor({**CONFIG, "modulation_window": 2 * MOD_WINDOW})
    assert not np.array_equal(wide.transform(harmonic_tone(1.0, am_hz=4.0)),
                              FeatureExtractor(CONFIG).transform(harmonic_tone(1.0, am_hz=4.0)))


def test_syllable_rate_modulation_stands_apart_from_a_steady_tone():
    # after a second of settling, and before the last frames, whose windows reach past the end of the signal
    steady = modulation_of(harmonic_tone(3.0))[100:-5]
    syllabic = modulation_of(harmonic_tone(3.0, am_hz=4.0))[100:-5]
    # every input is higher for the 4 Hz gated tone at every frame (the two do not overlap at all), and
    # typically by more than 4 nats (a factor 50 in mean square)
    assert np.all(syllabic.min(axis=0) > steady.max(axis=0)), (steady.max(axis=0), syllabic.min(axis=0))
    assert np.all(np.median(syllabic, axis=0) > np.median(steady, axis=0) + 4.0)
    # the steady tone's partials do not move: level and band modulation sit near the "nothing moves" value
    assert np.all(np.median(steady[:, :2], axis=0) < MOD_FLOOR + 3.0)
    # the band-pass is the syllabic band: a 40 Hz flutter of the same depth moves the level far less
    flutter = modulation_of(harmonic_tone(3.0, am_hz=40.0))[100:-5]
    assert np.median(flutter[:, 0]) < np.median(syllabic[:, 0]) - 2.0


def test_a_sound_is_forgotten_one_window_after_it_ends():
    """Syllabic bursts in steady noise, then the noise alone: two windows after the bursts end (``spread``'s
    reference trails by one), every input is back at the noise's own value. (An exponential average read in
    logs took seconds: a model trained on it called most of the second after each utterance in noise speech.)"""
    rng = np.random.default_rng(0)
    noise = (0.02 * rng.standard_normal(6 * SR)).astype(np.float32)
    bursts = np.concatenate([harmonic_tone(2.0, am_hz=4.0), np.zeros(4 * SR, np.float32)])
    mixed, alone = modulation_of(bursts + noise), modulation_of(noise)
    end, w = 200, int(round(MOD_WINDOW * 100))
    # the bursts stand out in level and band modulation (spectral flux is the noise's own jitter either way)
    assert np.all(mixed[150:end, :2].mean(axis=0) > alone[150:end, :2].mean(axis=0) + 1.5)
    after = slice(end + 2 * w + 5, end + 100)
    np.testing.assert_allclose(mixed[after], alone[after], atol=0.35)


def test_gain_cancels_and_digital_silence_is_skipped():
    x = harmonic_tone(2.0, am_hz=4.0)
    f = modulation_of(x)
    np.testing.assert_allclose(modulation_of(x * np.float32(0.05)), f, atol=0.1)  # -26 dB: the same inputs
    gap = modulation_of(np.concatenate([x[:SR], np.zeros(SR // 2, np.float32), x[SR:]]))
    assert np.all(gap[100:150] == np.float32(MOD_FLOOR))  # silence reads "nothing moves"
    # ... and neither enters nor ages the filters: after it, the inputs go on as if it had been cut out, not
    # from the start-up value nor a 100 dB jump; the two frames whose analysis windows reach into the silence
    # stay in the sliding window for one window length (and the band-pass rings a few frames), then the inputs
    # are those of the cut signal
    w = int(round(MOD_WINDOW * 100)) + 5
    np.testing.assert_allclose(gap[150:150 + w], f[100:100 + w], atol=1.0)
    np.testing.assert_allclose(gap[150 + w:], f[100 + w:], atol=0.1)
    unskipped = FeatureExtractor({**CONFIG, "skip_silence": False}).transform(
        np.concatenate([x[:SR], np.zeros(SR // 2, np.float32), x[SR:]]))[:, -N_MOD:]
    assert np.abs(unskipped[150:] - f[100:]).max() > 1.0


def test_stream_in_random_chunks_equals_one_call_and_training_path():
    from neuroflow.vad.sequences import raw_frames

    rng = np.random.default_rng(7)
    noise = (0.01 * rng.standard_normal(24000)).astype(np.float32)
    x = np.concatenate([np.zeros(2000, np.float32), harmonic_tone(1.5, am_hz=4.0) + noise,
                        np.zeros(3000, np.float32), harmonic_tone(1.0) + noise[:16000]])
    ex = FeatureExtractor(CONFIG)
    whole = ex.transform(x)
    for trial in range(3):
        state, parts, i = None, [], 0
        while i < len(x):
            n = int(rng.choice([0, 1, 7, 159, 160, 161, 400, 1234, 5000]))
            feats, _, state = ex.step(x[i:i + n], state)
            parts.append(feats)
            i += n
        parts.append(ex.step(np.zeros(0, np.float32), state, final=True)[0])
        assert np.array_equal(np.concatenate(parts), whole), trial  # bit for bit
    raw, energy, own, _ = raw_frames(x, SR, ex)  # the path training takes
    assert np.array_equal(ex.normalize_raw(raw, energy, own), whole)
    with pytest.raises(ValueError, match="energy_db"):
        ex.normalize_raw(raw)


def test_a_model_with_modulation_inputs_streams_like_one_call(tmp_path):
    from neuroflow.vad.detect import SpikingVADSystem
    from neuroflow.vad.snn import build_model, save_model

    x = np.concatenate([harmonic_tone(1.0, am_hz=4.0), np.zeros(800, np.float32), harmonic_tone(1.0)])
    ex = FeatureExtractor(CONFIG)
    model = build_model("bin", n_mels=40, hidden=(16,), n_bins=4, seed=1, features=CONFIG)
    model.fit_input(ex.transform(x))
    path = save_model(model, tmp_path / "mod.pt", threshold=0.5)
    system = SpikingVADSystem(path)
    whole = system.score(x, SR)
    stream, out, i = system.stream(), [], 0
    rng = np.random.default_rng(3)
    while i < len(x):
        n = int(rng.integers(0, 3000))
        out.append(stream.process(x[i:i + n]))
        i += n
    out.append(stream.flush())
    assert np.array_equal(np.concatenate(out), whole)


def test_the_band_pass_is_designed_once_not_per_chunk(monkeypatch):
    """A stream called scipy's filter design for every chunk (~400 us of a 10 ms chunk's ~1.4 ms)."""
    import scipy.signal

    from neuroflow.vad import modulation

    calls = []
    butter = scipy.signal.butter
    monkeypatch.setattr(scipy.signal, "butter", lambda *a, **k: calls.append(1) or butter(*a, **k))
    modulation._bandpass.cache_clear()
    ex, x = FeatureExtractor(CONFIG), harmonic_tone(0.5, am_hz=4.0)
    state, parts = None, []
    for i in range(0, len(x), 160):
        feats, _, state = ex.step(x[i:i + 160], state)
        parts.append(feats)
    parts.append(ex.step(np.zeros(0, np.float32), state, final=True)[0])
    assert len(calls) == 1
    assert np.array_equal(np.concatenate(parts), ex.transform(x))
