"""Tonality input, both measures (the detail similarity and the partials' persistence): held notes read high,
gliding voice-like harmonics and noise low, digital silence 0; gain does not matter; the window forgets; a stream
in any pieces and the training path give one call's numbers."""
from __future__ import annotations

import numpy as np
import pytest

from neuroflow.vad.frontend import FeatureExtractor, feature_width
from neuroflow.vad.tonality import (PARTIAL_LAGS, TONAL_HISTORY, TONAL_LAG, TONAL_WINDOW, N_TONAL, excerpt_similarity,
                                    partial_persistence, spectral_detail, spectral_peaks)

CONFIG = {"n_mels": 40, "norm": "floor", "skip_silence": True, "level": True, "modulation": True, "tonality": True}
SR = 16000
#: per measure: frames that compare with nothing at a start, the least median of held notes, the most of the others
MEASURES = {"detail": (TONAL_LAG, 0.7, 0.5), "partials": (max(PARTIAL_LAGS), 0.5, 0.2)}


def config(measure: str) -> dict:
    return CONFIG if measure == "detail" else {**CONFIG, "tonality_measure": measure}


def harmonics(f0: np.ndarray, n: int = 10) -> np.ndarray:
    """``n`` equal harmonics of a (per-sample) fundamental ``f0`` (Hz) at -20 dBFS."""
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase + k) for k in range(1, n + 1))
    return (0.1 * x / np.sqrt(np.mean(x * x))).astype(np.float32)


def notes(seconds: float, note_s: float = 0.4) -> np.ndarray:
    """Held notes (a new pitch every ``note_s`` seconds): what a melody does."""
    t = np.arange(int(seconds * SR)) / SR
    scale = 220.0 * 2 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12]) / 12)
    return harmonics(scale[(t // note_s).astype(int) % len(scale)])


def gliding(seconds: float) -> np.ndarray:
    """A voice-like fundamental that never holds still: 120-200 Hz, swept up and down 3 times a second."""
    t = np.arange(int(seconds * SR)) / SR
    return harmonics(160.0 + 40.0 * np.sin(2 * np.pi * 3.0 * t))


def tonality_of(wav: np.ndarray, config: dict = CONFIG) -> np.ndarray:
    return FeatureExtractor(config).transform(wav)[:, -1]


def test_width_and_recipe():
    assert N_TONAL == 1
    assert feature_width(CONFIG) == FeatureExtractor(CONFIG).n_features == 47
    assert FeatureExtractor(CONFIG).history == TONAL_HISTORY
    assert FeatureExtractor({"n_mels": 40}).history == 0
    from neuroflow.vad.recipe import Recipe

    assert Recipe(tonality=True).features()["tonality_window"] == TONAL_WINDOW
    assert "tonality" not in Recipe().features()
    # the other inputs do not change when the tonality input is added
    wav = notes(2.0)
    without = FeatureExtractor({k: v for k, v in CONFIG.items() if k != "tonality"}).transform(wav)
    assert np.array_equal(FeatureExtractor(CONFIG).transform(wav)[:, :-1], without)


@pytest.mark.parametrize("measure", list(MEASURES))
def test_held_notes_stand_apart_from_gliding_harmonics_and_noise(measure):
    _, high, low = MEASURES[measure]
    rng = np.random.default_rng(0)
    held = tonality_of(notes(4.0), config(measure))[80:-5]
    glide = tonality_of(gliding(4.0), config(measure))[80:-5]
    noise = tonality_of((0.05 * rng.standard_normal(4 * SR)).astype(np.float32), config(measure))[80:-5]
    # every frame of the melody above every frame of the glide and of the noise, by a wide margin at the median
    assert held.min() > max(glide.max(), noise.max()), (held.min(), glide.max(), noise.max())
    assert np.median(held) > np.median(glide) + 0.2
    assert np.median(held) > high and np.median(glide) < low and np.median(noise) < low
    # a gain changes nothing but rounding
    loud = tonality_of(notes(4.0) * np.float32(10 ** (-30 / 20)), config(measure))[80:-5]
    np.testing.assert_allclose(loud, held, atol=1e-3)


@pytest.mark.parametrize("measure", list(MEASURES))
def test_starts_from_nothing_forgets_and_skips_digital_silence(measure):
    lag = MEASURES[measure][0]
    width = int(round(TONAL_WINDOW * 100))
    x = notes(3.0)
    tone = tonality_of(x, config(measure))
    assert np.all(tone[:lag] == 0.0)  # nothing to compare with yet
    assert tone[lag + 5] < tone[width + lag + 5] / 2  # the window fills up over TONAL_WINDOW
    # music, then noise: one window (plus the lag) after the music ends the input is the noise's
    rng = np.random.default_rng(1)
    noise = (0.05 * rng.standard_normal(3 * SR)).astype(np.float32)
    both = tonality_of(np.concatenate([x, noise]), config(measure))
    np.testing.assert_allclose(both[300 + width + lag + 5:-5], tonality_of(noise, config(measure))[width + lag + 5:-5],
                               atol=0.1)
    # digital silence reads 0 and leaves the window as it was: music, a second of zeros, music again
    gap = tonality_of(np.concatenate([x, np.zeros(SR, np.float32), x]), config(measure))
    assert np.all(gap[305:395] == 0.0)
    assert gap[410] > 0.6 * np.median(tone[100:-5])  # the window still holds the music before the gap


def test_partials_persistence_counts_peaks_held_at_every_lag():
    # one peak at bin 5 for 25 frames, then it moves two bins: held once both lags have seen it within a bin
    peaks = np.zeros((50, 12), np.float32)
    peaks[:25, 5] = 1.0
    peaks[25:, 7] = 1.0
    values, state = partial_persistence(peaks)
    assert np.all(values[:max(PARTIAL_LAGS)] == 0.0) and np.all(values[max(PARTIAL_LAGS):25] == 1.0)
    assert np.all(values[25:25 + max(PARTIAL_LAGS)] == 0.0) and np.all(values[25 + max(PARTIAL_LAGS):] == 1.0)
    # a peak one bin away still counts; its weight is its share of the frame's peak amplitude
    moved = peaks.copy()
    moved[30:, 7], moved[30:, 8] = 0.0, 1.0
    moved[30:, 2] = 3.0  # a new, louder peak that was not there before
    v = partial_persistence(moved)[0]
    assert v[-1] == pytest.approx(0.25)
    # the state carries the past: two halves give the whole
    a, st = partial_persistence(peaks[:17])
    b, _ = partial_persistence(peaks[17:], st)
    assert np.array_equal(np.r_[a, b], values)
    assert np.all(excerpt_similarity(values, "partials")[:max(PARTIAL_LAGS)] == 0.0)


@pytest.mark.parametrize("measure", list(MEASURES))
def test_a_stream_in_any_pieces_and_the_training_path_give_one_calls_numbers(streams_match_one_call, measure):
    lag = MEASURES[measure][0]
    rng = np.random.default_rng(2)
    x = np.concatenate([notes(1.5), np.zeros(4000, np.float32), gliding(1.0)])
    x = x + np.float32(1e-3) * rng.standard_normal(len(x)).astype(np.float32)
    ex = FeatureExtractor(config(measure))
    raw, energy, own, sim = streams_match_one_call(ex, x, rng, 5000)
    # an excerpt's inputs start afresh, as a stream starting there would: its first frames read 0
    part = ex.normalize_raw(raw[100:200], energy[100:200], own[100:200], sim[100:200])
    assert np.all(part[:lag, -1] == 0.0) and part[lag:, -1].max() > 0.0
    with pytest.raises(ValueError, match="similarity"):
        ex.normalize_raw(raw, energy, own)


def test_bad_settings_and_windows_are_named():
    with pytest.raises(ValueError, match="tonality_window"):
        FeatureExtractor({**CONFIG, "tonality_window": 0.0})
    from neuroflow.vad.recipe import Recipe

    with pytest.raises(ValueError, match="tonality_window"):
        Recipe(tonality=True, tonality_window=float("nan"))
    with pytest.raises(ValueError, match="tonality"):
        Recipe(tonality="yes")
    with pytest.raises(ValueError, match="windows"):
        spectral_detail(np.zeros((3, 400)))
    with pytest.raises(ValueError, match="windows"):
        spectral_peaks(np.zeros((3, 400)))
    with pytest.raises(ValueError, match="tonality_measure"):
        FeatureExtractor({**CONFIG, "tonality_measure": "peaks"})
    with pytest.raises(ValueError, match="tonality_measure"):
        Recipe(tonality=True, tonality_measure="peaks")
    # the default measure leaves the features of existing models as they were
    assert "tonality_measure" not in Recipe(tonality=True).features()
    assert Recipe(tonality=True, tonality_measure="partials").features()["tonality_measure"] == "partials"
