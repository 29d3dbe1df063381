"""Rhythm input: a steady beat reads high, irregular onsets and steady noise low, digital silence 0; gain does
not matter; the window forgets; a stream in any pieces and the training path give one call's numbers."""
from __future__ import annotations

import numpy as np
import pytest

from neuroflow.vad.frontend import FeatureExtractor, feature_width
from neuroflow.vad.rhythm import N_RHYTHM, RHYTHM_LAGS_S, RHYTHM_WINDOW, onset_strength, rhythm_inputs

CONFIG = {"n_mels": 40, "norm": "floor", "skip_silence": True, "level": True, "modulation": True, "tonality": True,
          "rhythm": True}
SR = 16000
MEMORY = int(round((RHYTHM_WINDOW + RHYTHM_LAGS_S[1]) * 100))  # frames a beat is remembered


def hits(times_s, seconds: float, seed: int = 0) -> np.ndarray:
    """Decaying noise bursts (drum-like hits, 60 ms) at ``times_s`` over quiet noise, -20 dBFS peaks."""
    rng = np.random.default_rng(seed)
    x = 0.002 * rng.standard_normal(int(seconds * SR))
    burst = rng.standard_normal(int(0.06 * SR)) * np.exp(-np.arange(int(0.06 * SR)) / (0.015 * SR))
    for t in times_s:
        i = int(t * SR)
        n = min(len(burst), len(x) - i)
        if n > 0:
            x[i:i + n] += 0.1 * burst[:n]
    return x.astype(np.float32)


def beat(seconds: float, period: float = 0.5, seed: int = 0) -> np.ndarray:
    return hits(np.arange(0.05, seconds, period), seconds, seed)


def irregular(seconds: float, seed: int = 0) -> np.ndarray:
    """Onsets at random intervals of 0.1-0.5 s (syllable-like: no period)."""
    rng = np.random.default_rng(seed + 100)
    return hits(np.cumsum(rng.uniform(0.1, 0.5, int(seconds / 0.1))), seconds, seed)


def rhythm_of(wav: np.ndarray, config: dict = CONFIG) -> np.ndarray:
    return FeatureExtractor(config).transform(wav)[:, -1]


def test_width_and_recipe():
    assert N_RHYTHM == 1
    assert feature_width(CONFIG) == FeatureExtractor(CONFIG).n_features == 48
    from neuroflow.vad.recipe import Recipe

    assert Recipe(rhythm=True).features()["rhythm"] is True
    assert "rhythm" not in Recipe().features()
    # the other inputs do not change when the rhythm input is added
    wav = beat(4.0)
    without = FeatureExtractor({k: v for k, v in CONFIG.items() if k != "rhythm"}).transform(wav)
    assert np.array_equal(FeatureExtractor(CONFIG).transform(wav)[:, :-1], without)


def test_a_beat_stands_apart_from_irregular_onsets_and_noise():
    settled = slice(MEMORY, -5)
    steady = rhythm_of(beat(10.0))[settled]
    slow = rhythm_of(beat(10.0, period=1.2))[settled]
    loose = rhythm_of(irregular(10.0))[settled]
    noise = rhythm_of((0.05 * np.random.default_rng(3).standard_normal(10 * SR)).astype(np.float32))[settled]
    assert steady.min() > 0.8 and slow.min() > 0.8, (steady.min(), slow.min())
    assert loose.max() < 0.5 and noise.max() < 0.3, (loose.max(), noise.max())
    values = np.concatenate([steady, loose, noise])
    assert values.min() >= 0.0 and values.max() <= 1.0 + 1e-9
    # a gain changes nothing but rounding
    np.testing.assert_allclose(rhythm_of(beat(10.0) * np.float32(10 ** (-30 / 20)))[settled], steady, atol=1e-3)


def test_starts_from_nothing_forgets_and_skips_digital_silence():
    lag0 = int(round(RHYTHM_LAGS_S[0] * 100))
    x = beat(8.0)
    r = rhythm_of(x)
    assert np.all(r[:lag0] == 0.0)  # no lag has a partner yet
    # a beat, then noise: once the window and the longest lag have passed, the noise's own value
    noise = (0.05 * np.random.default_rng(4).standard_normal(8 * SR)).astype(np.float32)
    both = rhythm_of(np.concatenate([x, noise]))
    assert both[780] > 0.8
    assert both[800 + MEMORY + 5:-5].max() < 0.3
    # digital silence reads 0 and leaves the window as it was: a beat, two seconds of zeros, the beat again
    gap = rhythm_of(np.concatenate([x, np.zeros(2 * SR, np.float32), x]))
    assert np.all(gap[805:995] == 0.0)
    # (up to the few frames whose windows straddle the edges of the gap)
    np.testing.assert_allclose(gap[1000:1100], rhythm_of(np.concatenate([x, x]))[800:900], atol=1e-3)


def test_a_stream_in_any_pieces_and_the_training_path_give_one_calls_numbers(streams_match_one_call):
    rng = np.random.default_rng(5)
    x = np.concatenate([beat(5.0), np.zeros(4000, np.float32), irregular(3.0)])
    x = x + np.float32(1e-3) * rng.standard_normal(len(x)).astype(np.float32)
    ex = FeatureExtractor(CONFIG)
    raw, energy, own, sim = streams_match_one_call(ex, x, rng, 9000)
    # an excerpt's input starts afresh, as a stream starting there would
    part = ex.normalize_raw(raw[300:500], energy[300:500], own[300:500], sim[300:500])
    fresh, _ = rhythm_inputs(raw[300:500])
    np.testing.assert_array_equal(part[:, -1:], fresh)
    # frames fed one at a time: the running sums give the numbers of one call, bit for bit
    state, ones = None, []
    for i in range(len(raw)):
        v, state = rhythm_inputs(raw[i:i + 1], state)
        ones.append(v)
    np.testing.assert_array_equal(np.concatenate(ones), rhythm_inputs(raw)[0])


def test_onsets_and_bad_settings():
    bands = np.log(np.array([[1.0, 1.0], [4.0, 1.0], [1.0, 1.0]]))
    o, last = onset_strength(bands, None)
    np.testing.assert_allclose(o, [0.0, np.log(4.0) / 2, 0.0])  # only rises count
    np.testing.assert_allclose(onset_strength(bands[2:], last)[0], [0.0])
    from neuroflow.vad.recipe import Recipe

    with pytest.raises(ValueError, match="rhythm"):
        Recipe(rhythm="yes")
