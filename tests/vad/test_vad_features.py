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
