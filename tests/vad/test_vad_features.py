"""Log-mel features: shape, frame alignment, resampling, mixdown and normalisation."""
from __future__ import annotations

import numpy as np
import pytest

from neuroflow.vad.features import HOP, frame_energy_db, logmel, n_frames, normalize


def test_shape_and_frame_count():
    rng = np.random.default_rng(0)
    for n in (160, 161, 16000, 16159, 33333):
        x = rng.standard_normal(n).astype(np.float32)
        f = logmel(x, 16000)
        assert f.shape == (n // HOP, 40) == (n_frames(n), 40)
        assert f.dtype == np.float32 and np.all(np.isfinite(f))
    assert logmel(np.zeros(100), 16000).shape == (0, 40)
    assert logmel(rng.standard_normal(1600), 16000, n_mels=64).shape == (10, 64)


def test_alignment_burst_lands_in_its_frame():
    x = np.zeros(16000, np.float32)
    k = 37  # samples [160k, 160k+160) carry a burst
    x[HOP * k:HOP * (k + 1)] = np.random.default_rng(1).standard_normal(HOP)
    energy = logmel(x).sum(axis=1)
    assert int(np.argmax(energy)) == k
    assert int(np.argmax(frame_energy_db(x))) == k


def test_resampling_and_stereo():
    rng = np.random.default_rng(2)
    x16 = rng.standard_normal(16000).astype(np.float32)
    f = logmel(x16, 16000)
    stereo = np.stack([x16, x16], axis=1)
    np.testing.assert_allclose(logmel(stereo, 16000), f, rtol=1e-5, atol=1e-4)
    x8 = rng.standard_normal(8000).astype(np.float32)
    assert len(logmel(x8, 8000)) == n_frames(8000, 8000) == 100


def test_normalisation():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(32000).astype(np.float32) * np.linspace(0.1, 1, 32000, dtype=np.float32)
    u = logmel(x, norm="utterance")
    np.testing.assert_allclose(u.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(u.std(axis=0), 1, atol=1e-3)
    r = logmel(x, norm="running")
    assert np.all(np.isfinite(r))
    # causal: changing the future does not change the past
    y = x.copy()
    y[16000:] *= 5
    np.testing.assert_allclose(logmel(y, norm="running")[:90], r[:90], atol=1e-5)
    with pytest.raises(ValueError, match="norm"):
        logmel(x, norm="global")
    with pytest.raises(ValueError, match="alpha"):
        normalize(u, "running", alpha=1.5)
    with pytest.raises(ValueError, match="n_fft"):
        logmel(x, n_fft=256)


def test_floor_normalisation_ignores_level_and_tilt_and_keeps_stationary_noise_low():
    from neuroflow.vad.features import noise_floor

    rng = np.random.default_rng(4)
    noise = rng.standard_normal(16000 * 3).astype(np.float32)
    raw = logmel(noise)
    f = normalize(raw, "floor")
    # a gain (and any per-band gain: a spectral tilt) is a constant in the log domain and cancels
    tilt = np.linspace(-3.0, 2.0, raw.shape[1], dtype=np.float32)
    np.testing.assert_allclose(normalize(raw + tilt - 4.0, "floor"), f, atol=1e-4)
    # stationary noise stays within a nat or so of its floor: no frame looks loud (a z-score does not
    # bound it: it rescales the fluctuations to unit variance)
    assert np.percentile(f.mean(axis=1), 99) < 1.5
    # speech-like bursts 20 dB over the noise stand far out
    burst = noise.copy()
    burst[16000:19200] += 10 * rng.standard_normal(3200).astype(np.float32)
    g = logmel(burst, norm="floor")
    assert g[105:115].mean() > f[105:115].mean() + 3.0
    # causal, and chunk by chunk equal to one call
    np.testing.assert_allclose(logmel(burst[:16000], norm="floor")[:99], g[:99], atol=1e-5)
    state, parts = None, []
    for a, b in ((0, 1), (1, 60), (60, 60), (60, raw.shape[0])):
        fl, state = noise_floor(raw[a:b], state=state)
        parts.append(raw[a:b] - fl)
    np.testing.assert_allclose(np.concatenate(parts), f, atol=1e-5)
    with pytest.raises(ValueError, match="floor_smooth"):
        normalize(raw, "floor", floor_smooth=1.0)
    with pytest.raises(ValueError, match="floor_window"):
        normalize(raw, "floor", floor_window=0)


def test_front_end_with_level_inputs_and_silence_skipping():
    from neuroflow.vad.frontend import FeatureExtractor, feature_width
    from neuroflow.vad.level import DB_TO_LOG

    rng = np.random.default_rng(5)
    noise = (0.001 * rng.standard_normal(16000 * 3)).astype(np.float32)  # -60 dBFS, under the level ceiling
    config = {"n_mels": 40, "norm": "floor", "skip_silence": True, "level": True}
    ex = FeatureExtractor(config)
    assert ex.n_features == feature_width(config) == 42
    f = ex.transform(noise)
    assert f.shape == (300, 42)
    # the level inputs carry the absolute level (the bands do not): 20 dB quieter moves both by 20 dB
    g = ex.transform(noise * np.float32(0.1))
    np.testing.assert_allclose(g[:, :40], f[:, :40], atol=1e-3)
    np.testing.assert_allclose(g[:, 40:], f[:, 40:] - 20 * DB_TO_LOG, atol=1e-3)
    assert abs(float(np.median(f[:, 40])) - (-60 * DB_TO_LOG)) < 0.5
    # steady noise after digital silence reads as steady noise from its first frame: the silence is skipped
    late = ex.transform(np.concatenate([np.zeros(16000, np.float32), noise]))
    np.testing.assert_allclose(late[100:], f, atol=1e-4)
    plain = FeatureExtractor({"n_mels": 40, "norm": "floor"}).transform(np.concatenate([np.zeros(16000, np.float32),
                                                                                         noise]))
    assert plain[100:150, :40].mean() > 5.0  # without skipping, the silence sets the floor: noise looks loud
    # chunk by chunk equals the whole file, bit for bit
    state, parts = None, []
    x = np.concatenate([np.zeros(3000, np.float32), noise[:20000]])
    for a, b in ((0, 1), (1, 161), (161, 2999), (2999, 3000), (3000, 9000), (9000, len(x))):
        feats, _, state = ex.step(x[a:b], state)
        parts.append(feats)
    parts.append(ex.step(np.zeros(0, np.float32), state, final=True)[0])
    assert np.array_equal(np.concatenate(parts), ex.transform(x))


def test_level_inputs_tell_only_how_quiet():
    from neuroflow.vad.frontend import FeatureExtractor
    from neuroflow.vad.level import DB_TO_LOG

    rng = np.random.default_rng(6)
    noise = rng.standard_normal(16000).astype(np.float32)
    ex = FeatureExtractor({"n_mels": 40, "norm": "floor", "level": True})
    loud, louder = ex.transform(noise * np.float32(0.03)), ex.transform(noise * np.float32(0.3))  # -30, -10 dBFS
    np.testing.assert_allclose(loud[:, 40:], -45 * DB_TO_LOG, atol=1e-5)  # above the ceiling: all alike
    np.testing.assert_allclose(louder[:, 40:], loud[:, 40:])
    quiet = ex.transform(noise * np.float32(0.001))  # -60 dBFS
    assert abs(float(np.median(quiet[:, 40])) + 60 * DB_TO_LOG) < 0.3
    with pytest.raises(ValueError, match="level_ceiling_db"):
        FeatureExtractor({"n_mels": 40, "level": True, "level_ceiling_db": 3.0})


def test_synthetic_music_is_music_not_silence():
    from neuroflow.vad.augment import music_piece

    x = music_piece(16000 * 4, np.random.default_rng(1))
    assert x.dtype == np.float32 and len(x) == 64000
    assert float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) == pytest.approx(1.0, rel=1e-3)
    assert np.array_equal(x, music_piece(16000 * 4, np.random.default_rng(1)))  # a seed fixes it
    active = frame_energy_db(x) > -30
    assert active.mean() > 0.5
