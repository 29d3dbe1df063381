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


def test_floor_fall_limit_keeps_a_faded_band_s_floor_and_follows_a_quieter_background():
    from neuroflow.vad.features import noise_floor

    rng = np.random.default_rng(7)
    n, window, fall = 600, 150, 0.01
    steady = rng.normal(0.0, 0.1, (n, 3))
    bands = steady.copy()
    bands[300:400, 2] -= 7.0  # one band fades out for a second and comes back: the others stay
    level = np.log(np.exp(bands).sum(axis=1))
    free, _ = noise_floor(bands, window)
    held, _ = noise_floor(bands, window, fall=fall, reference=level)
    # without a limit the band's floor sinks to its absent level, and its return reads as a new sound
    assert free[420:500, 2].mean() < -6.0
    # limited, it sank about ``fall`` a frame (and as far as the whole level's floor) in the 1.5 s after
    assert held[299, 2] - 2.5 < held[300:450, 2].min() < held[299, 2] - fall * 90
    assert np.all(held >= free - 1e-12) and np.allclose(held[:, :2], free[:, :2], atol=0.05)
    # the whole background 7 nats quieter: the floors follow it as fast as the unlimited ones
    quiet = steady - 7.0 * (np.arange(n) >= 300)[:, None]
    down, _ = noise_floor(quiet, window, fall=fall, reference=np.log(np.exp(quiet).sum(axis=1)))
    np.testing.assert_allclose(down[460:], noise_floor(quiet, window)[0][460:], atol=0.05)
    # without a reference the same limit holds the floors of a quieter background up (fall per frame)
    slow, _ = noise_floor(quiet, window, fall=fall)
    assert slow[460:, 0].mean() > down[460:, 0].mean() + 4.0
    # the first window is free: a stream that starts loud finds its background at the first quiet stretch
    start = steady + 5.0 * (np.arange(n) < 60)[:, None]
    np.testing.assert_allclose(noise_floor(start, window, fall=fall, reference=np.log(np.exp(start).sum(axis=1)))[0],
                               noise_floor(start, window)[0], atol=0.05)
    # chunk by chunk, digital silence skipped, equal to one call bit for bit
    skip = np.zeros(n, bool)
    skip[200:230] = True
    whole, _ = noise_floor(bands, window, fall=fall, reference=level, skip=skip)
    state, parts = None, []
    for a, b in ((0, 1), (1, 149), (149, 151), (151, 215), (215, 215), (215, 401), (401, n)):
        fl, state = noise_floor(bands[a:b], window, fall=fall, reference=level[a:b], skip=skip[a:b], state=state)
        parts.append(fl)
    assert np.array_equal(np.concatenate(parts), whole)
    with pytest.raises(ValueError, match="reference"):
        noise_floor(bands, window, fall=fall, reference=level[:10])
    with pytest.raises(ValueError, match="reference"):
        noise_floor(bands, window, reference=level)
    with pytest.raises(ValueError, match="fall"):
        noise_floor(bands, window, fall=-0.1)


def test_front_end_floor_fall_streams_exactly_and_rejects_bad_rates():
    from neuroflow.vad.frontend import FeatureExtractor
    from neuroflow.vad.recipe import Recipe

    rng = np.random.default_rng(8)
    t = np.arange(16000 * 6) / 16000
    hiss = rng.standard_normal(len(t)) * 0.02 * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    hiss[16000 * 2:16000 * 3] *= 0.001  # the high band drops out for a second; the tone under it goes on
    x = (0.1 * np.sin(2 * np.pi * 200 * t) + hiss).astype(np.float32)
    config = {"n_mels": 40, "norm": "floor", "skip_silence": True, "level": True}
    plain, held = FeatureExtractor(config), FeatureExtractor({**config, "floor_fall_db": 4.0})
    # after the drop-out the hiss bands read far over a sunk floor without the limit, near theirs with it
    assert plain.transform(x)[310:400, 30:40].mean() > held.transform(x)[310:400, 30:40].mean() + 3.0
    state, parts = None, []
    cuts = np.sort(rng.integers(0, len(x), 20))
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(x)]):
        feats, _, state = held.step(x[a:b], state)
        parts.append(feats)
    parts.append(held.step(np.zeros(0, np.float32), state, final=True)[0])
    assert np.array_equal(np.concatenate(parts), held.transform(x))
    assert Recipe(floor_fall_db=4.0).features()["floor_fall_db"] == 4.0
    assert "floor_fall_db" not in Recipe().features()
    for bad in (0.0, -1.0, float("inf"), True, "4"):
        with pytest.raises(ValueError, match="floor_fall_db"):
            FeatureExtractor({**config, "floor_fall_db": bad})
        with pytest.raises(ValueError, match="floor_fall_db"):
            Recipe(floor_fall_db=bad)


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


@pytest.mark.parametrize("shape", [(), (3,), (82,), "strided"])
def test_moving_average_gives_scipy_s_floats_row_by_row_and_at_once(shape):
    """A stream's 10 ms chunk (one row) is averaged without scipy's per-column convolutions, and longer pieces
    without ``apply_along_axis`` (~250 us a call for one row of 82 columns): the same floats as scipy."""
    from scipy.signal import lfilter

    from neuroflow.vad.features import moving_average

    rng = np.random.default_rng(5)
    for width in (2, 10, 50):
        x = rng.standard_normal((300, 83)) * rng.uniform(0.01, 100.0, (300, 83))
        # contiguous rows (modulation's squares, tonality's similarities) and a view of columns (modulation's bands)
        x = x[:, 1:] if shape == "strided" else np.ascontiguousarray(x[:, 0] if shape == () else x[:, :shape[0]])
        box = np.full(width, 1.0 / width)
        zi = rng.standard_normal((width - 1,) + x.shape[1:])
        for n in (1, 1, 2, 7, 1, 300):  # a row at a time (the stream's 10 ms), small blocks, the whole
            z_ref = z = zi
            for i in range(0, len(x), n):
                want, z_ref = lfilter(box, [1.0], x[i:i + n], axis=0, zi=z_ref)
                got, z = moving_average(x[i:i + n], width, z)
                assert np.array_equal(got, want) and np.array_equal(z, z_ref), (width, n, i)


def test_noise_floor_of_a_stream_s_few_frames_takes_their_window_minima_directly(monkeypatch):
    """Fed a few frames at a time (a stream's chunks of 10 ms and up), the floor is the window's minimum taken directly
    (scipy's running-minimum filter ran over the whole padded window for each frame), with one call's floats."""
    import scipy.ndimage

    from neuroflow.vad import features
    from neuroflow.vad.features import noise_floor

    rng = np.random.default_rng(11)
    x = rng.standard_normal((700, 5)).cumsum(axis=0) * 0.1
    ref = rng.standard_normal(700).cumsum() * 0.1
    skip = rng.random(700) < 0.05
    for kw in ({}, {"skip": skip}, {"fall": 0.01, "reference": ref, "skip": skip}):
        whole = noise_floor(x, 150, 0.8, **kw)[0]
        filtered = scipy.ndimage.minimum_filter1d
        monkeypatch.setattr(scipy.ndimage, "minimum_filter1d", None)  # not called for a few frames
        state, parts, i = None, [], 0
        while i < len(x):
            n = int(rng.integers(1, features.DIRECT_FRAMES + 1))
            part = {k: v[i:i + n] for k, v in kw.items() if k != "fall"}
            floor, state = noise_floor(x[i:i + n], 150, 0.8, state, fall=kw.get("fall"), **part)
            parts.append(floor)
            i += n
        monkeypatch.setattr(scipy.ndimage, "minimum_filter1d", filtered)
        assert np.array_equal(np.concatenate(parts), whole), kw
