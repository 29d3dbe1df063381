"""Tonality input of a spiking VAD: how much of a frame's fine spectral detail was already there 0.1 s before.

Music holds notes: its partials stay at the same frequencies for tenths of a second, so the fine
structure of its spectrum (the peaks standing above the spectral envelope) at one frame is largely the
structure of a frame 0.1 s earlier. Speech does not: the pitch of a voice glides, so its harmonics move
across frequency bins within a few frames, and consonants, pauses and noise have no lasting peaks at all.
One input per frame measures that, after the speech/music discriminators that track partials
(spectral peak continuity; e.g. Scheirer & Slaney, ICASSP 1997, for the family of such cues):

1. **Spectral detail.** A 64 ms window (:data:`TONAL_HISTORY` samples of the past ahead of the 25 ms
   window, ending where that window ends, so it adds no latency), Hann, 1024-point power spectrum
   (15.6 Hz bins); between :data:`TONAL_BAND_HZ` the log spectrum minus its moving average over
   :data:`DETAIL_SMOOTH_BINS` bins (about 200 Hz), kept where positive (the peaks) and where the bin is
   within :data:`TONAL_RANGE_DB` of the frame's loudest one; scaled to unit length.
2. **Similarity.** The dot product of a frame's detail with that of the frame :data:`TONAL_LAG` frames
   earlier (a cosine in [0, 1]): steady partials give values near 1, gliding harmonics and noise about
   0.35-0.45, digital silence 0.
3. **Input.** The mean similarity over the last :data:`TONAL_WINDOW` seconds (a sliding window, so it
   forgets a sound at a known time).

Measured on the corpora of ``neuroflow/vad/models/recipe.json`` (``benchmarks/vad_music.py``,
``benchmarks/results/vad_music.json``): this input alone separates training speech from the training music
with a frame AUC of 0.964 (music above speech), and the held-out speakers' speech (every condition of the
real-speech benchmark) from held-out music (asc-music, never trained on) with 0.959 (0.972 against clean
speech), where the best of the four modulation inputs of :mod:`neuroflow.vad.modulation` reaches 0.78; a
logistic regression on the 46 inputs of the bin model before it reaches 0.79, with this input added 0.96,
and at the decision value that keeps 95 % of the training speech it calls 37 % of the held-out music
frames speech instead of 75 %. Every noise of the benchmark (white to babble, room tone) sits where speech
does (median 0.38-0.48; held-out music 0.60), so the input says "music", never "speech": it cannot hold a
detector on after speech ends.

A second measure, ``measure="partials"`` (:func:`spectral_peaks`, :func:`partial_persistence`), asks the
same question of the spectral peaks themselves: per frame, the share of its peak amplitude (peaks standing
:data:`PEAK_PROMINENCE_DB` above the bins two away, within :data:`PEAK_RANGE_DB` of the frame's loudest bin)
at frequencies (within one bin) that were peaks :data:`PARTIAL_LAGS` frames before too -- a partial held for
0.2 s, between :data:`PARTIAL_BAND_HZ` (above most voices' fundamental). Averaged over 1 s it separates
training speech from training music with a frame AUC of 0.954 and held-out speech (every condition) from held-out
music with 0.969 (0.983 against clean speech); a logistic regression on the bin model's 48 inputs with it in
place of the detail similarity calls 5.8 % of the held-out music frames speech instead of 12.9 % at the decision
value that keeps 95 % of the training speech (held-out speech kept: 97.7 against 97.9 %;
``benchmarks/vad_music.py``, ``with_partials``). The bin model trained with it in place of the detail similarity
did not gain (``neuroflow/vad/models/recipe.json``, ``not_shipped``): the shipped models keep "detail".

Every step is ``(input, state) -> (output, state)``: a stream fed in any pieces gives the numbers of one
call on the whole. The first :data:`TONAL_LAG` frames of a stream (``max(PARTIAL_LAGS)`` for "partials")
compare with nothing (0), and the window starts empty. Digital silence (``silent`` frames) reads 0 and neither
enters nor ages the window; its similarity pairs are kept, so the first frames after a silence compare with silence (0).
"""
from __future__ import annotations

import math

import numpy as np

from neuroflow._utils import check_choice
from neuroflow.vad.features import WIN, check_window_seconds, moving_average

#: number of tonality inputs per frame
N_TONAL = 1
#: samples of the past added ahead of the 25 ms window: the detail's window is 64 ms (1024 samples)
TONAL_HISTORY = 1024 - WIN
#: FFT length of the detail's spectrum
TONAL_FFT = 1024
#: frequency range (Hz) of the detail: the low harmonics of voices and most musical partials (chosen on training
#: data, real speech of the training speakers against the training music: frame AUC 0.953 with 3 kHz, 0.941 with
#: 5 kHz, 0.934 with 8 kHz)
TONAL_BAND_HZ = (100.0, 3000.0)
#: bins (15.6 Hz each) of the moving average the detail stands above
DETAIL_SMOOTH_BINS = 13
#: bins further than this (dB) below the frame's loudest one hold no detail
TONAL_RANGE_DB = 50.0
#: frames between the two spectra compared (0.1 s)
TONAL_LAG = 10
#: length (s) of the sliding window the similarities are averaged over
TONAL_WINDOW = 0.5
#: what the tonality input measures (module docstring)
TONAL_MEASURES = ("detail", "partials")
#: "partials": a peak counts as held if the frames this many frames earlier had a peak within one bin
PARTIAL_LAGS = (10, 20)
#: "partials": a peak stands this far (dB) above the bins two away on both sides
PEAK_PROMINENCE_DB = 3.0
#: "partials": peaks further than this (dB) below the frame's loudest bin do not count
PEAK_RANGE_DB = 30.0
#: "partials": the frequency range (Hz) of the peaks (above most voices' fundamental)
PARTIAL_BAND_HZ = (150.0, 3000.0)
_FRAME_RATE = 100.0
_HANN = np.hanning(WIN + TONAL_HISTORY + 1)[:-1]  # periodic Hann
_BINS = (int(round(TONAL_BAND_HZ[0] * TONAL_FFT / 16000)), int(round(TONAL_BAND_HZ[1] * TONAL_FFT / 16000)))
_PEAK_BINS = (int(round(PARTIAL_BAND_HZ[0] * TONAL_FFT / 16000)), int(round(PARTIAL_BAND_HZ[1] * TONAL_FFT / 16000)))


def check_window(window, name: str = "tonality_window") -> float:
    """``window`` (seconds) as a float, if it spans at least one 10 ms frame; else a ValueError naming
    ``name`` (the recipe's field, or the caller's argument)."""
    return check_window_seconds(window, name, 1)


def _log_power(windows: np.ndarray) -> np.ndarray:
    """Log power spectrum (n, 513) of (n, 1024) windows, Hann, one row at a time (no BLAS)."""
    w = np.asarray(windows, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != WIN + TONAL_HISTORY:
        raise ValueError(f"windows: expected (n, {WIN + TONAL_HISTORY}) samples, got shape {w.shape}")
    spec = np.fft.rfft(w * _HANN, n=TONAL_FFT, axis=1)
    return np.log(np.maximum(spec.real ** 2 + spec.imag ** 2, 1e-20))


def spectral_detail(windows: np.ndarray) -> np.ndarray:
    """(n, n_bins) float32 unit-length spectral detail of (n, 1024) windows (zero rows for silence).

    Each row is computed on its own (no BLAS), so a stream's rows equal a file's bit for bit.
    """
    from scipy.ndimage import uniform_filter1d

    logp = _log_power(windows)[:, _BINS[0]:_BINS[1]]
    detail = np.maximum(logp - uniform_filter1d(logp, DETAIL_SMOOTH_BINS, axis=1, mode="nearest"), 0.0)
    detail *= logp > logp.max(axis=1, keepdims=True) - TONAL_RANGE_DB * math.log(10.0) / 10.0
    norm = np.sqrt(np.einsum("tf,tf->t", detail, detail))
    return (detail / np.maximum(norm, 1e-12)[:, None]).astype(np.float32)


def check_measure(measure, name: str = "tonality_measure") -> str:
    """``measure`` if it is one of :data:`TONAL_MEASURES`; else a ValueError naming ``name`` (the recipe's field,
    or the caller's argument)."""
    return check_choice(measure, name, TONAL_MEASURES)


def spectral_peaks(windows: np.ndarray) -> np.ndarray:
    """(n, n_bins) float32: each spectral peak's amplitude relative to the frame's loudest bin (0 where no
    peak) of (n, 1024) windows, between :data:`PARTIAL_BAND_HZ`. Rows are computed on their own."""
    full = _log_power(windows)
    logp = full[:, _PEAK_BINS[0] - 2:_PEAK_BINS[1] + 2]
    c = logp[:, 2:-2]
    to_db = 10.0 / math.log(10.0)
    top = full.max(axis=1, keepdims=True)
    peak = ((c > logp[:, 1:-3]) & (c >= logp[:, 3:-1])
            & ((c - np.maximum(logp[:, :-4], logp[:, 4:])) * to_db > PEAK_PROMINENCE_DB)
            & ((top - c) * to_db < PEAK_RANGE_DB) & (top > math.log(1e-20)))
    return np.where(peak, np.exp(0.5 * (c - top)), 0.0).astype(np.float32)


def partial_persistence(peaks: np.ndarray, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(values (n,) float64, state)``: per frame, the share of its peak amplitude (:func:`spectral_peaks`)
    at bins that held a peak (within one bin) :data:`PARTIAL_LAGS` frames before as well; 0 without peaks.
    ``state``: the last ``max(PARTIAL_LAGS)`` frames' widened peak masks (None: a fresh stream, no peaks)."""
    p = np.asarray(peaks, dtype=np.float32)
    lag = max(PARTIAL_LAGS)
    near = p > 0
    near[:, 1:] |= p[:, :-1] > 0
    near[:, :-1] |= p[:, 1:] > 0
    past = np.zeros((lag, p.shape[1]), bool) if state is None else state
    both = np.concatenate([past, near])
    held = np.ones(p.shape, bool)
    for L in PARTIAL_LAGS:
        held &= both[lag - L:lag - L + len(p)]
    total = p.astype(np.float64).sum(axis=1)
    kept = np.where(held, p, 0.0).astype(np.float64).sum(axis=1)
    return np.where(total > 0, kept / np.maximum(total, 1e-300), 0.0), both[-lag:].copy()


def tonality_step(windows: np.ndarray, state=None, measure: str = "detail") -> tuple[np.ndarray, np.ndarray]:
    """The per-frame value the tonality input averages, from (n, 1024) windows: the detail similarity
    (``"detail"``) or the partials' persistence (``"partials"``); ``(values (n,), state)``."""
    if check_measure(measure, "measure") == "partials":
        return partial_persistence(spectral_peaks(windows), state)
    return detail_similarity(spectral_detail(windows), state)


def detail_similarity(detail: np.ndarray, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(similarity (n,) float64, state)``: each frame's detail against the one :data:`TONAL_LAG` frames
    before; ``state`` (the last :data:`TONAL_LAG` rows; None: a fresh stream, whose past is zeros)."""
    d = np.asarray(detail, dtype=np.float32)
    past = np.zeros((TONAL_LAG, d.shape[1]), np.float32) if state is None else state
    both = np.concatenate([past, d])
    sim = np.einsum("tf,tf->t", both[TONAL_LAG:].astype(np.float64), both[:-TONAL_LAG].astype(np.float64))
    return sim, both[-TONAL_LAG:].copy()


def tonality_inputs(similarity: np.ndarray, state: dict | None = None, *, silent: np.ndarray | None = None,
                    window: float = TONAL_WINDOW) -> tuple[np.ndarray, dict | None]:
    """``(inputs (n, 1) float32, state)``: the mean of the frames' similarities over the last ``window``
    seconds of sound; ``silent`` frames read 0 and leave the state as it was."""
    sim = np.asarray(similarity, dtype=np.float64)
    out = np.zeros((len(sim), N_TONAL))
    keep = np.ones(len(sim), bool) if silent is None else ~np.asarray(silent, bool)
    if not keep.any():
        return out.astype(np.float32), state
    width = int(round(check_window(window, "window") * _FRAME_RATE))
    zi = np.zeros(width - 1) if state is None else state["z"]
    mean, zi = moving_average(sim[keep], width, zi)
    out[keep, 0] = mean
    return out.astype(np.float32), {"z": zi}


def excerpt_similarity(similarity: np.ndarray, measure: str = "detail") -> np.ndarray:
    """The per-frame values (:func:`tonality_step`) of an excerpt sliced from a longer signal's, as a stream
    starting at the excerpt computes them: its first frames compare with nothing (0) -- :data:`TONAL_LAG` of
    them for ``"detail"``, ``max(PARTIAL_LAGS)`` for ``"partials"``."""
    out = np.array(similarity, dtype=np.float64)
    out[:TONAL_LAG if check_measure(measure, "measure") == "detail" else max(PARTIAL_LAGS)] = 0.0
    return out

