"""Modulation inputs of a spiking VAD: how a sound changes over a few hundred milliseconds.

The floor-relative mel bands and the level inputs say what a frame holds; they say little about how
the sound moves. That is what tells speech from music: speech is a train of syllables, its level and
spectral envelope rise and fall 2-8 times a second (the "4 Hz" syllabic modulation) with pauses
between words, while music holds its partials steady across frames and moves in other rhythms.
Both models, trained on the 42 frame inputs, called 67-70 % of the frames of held-out music speech.
A logistic regression trained on training speech against the music on hold (then the only training music) could not
tell held-out speech (all conditions) from held-out music with those 42 inputs (frame AUC 0.52); with
the four inputs below added it reached 0.79, and the four alone 0.82; against clean held-out speech
each input alone reaches 0.99 (``benchmarks/results/vad_music.json``). Trained into the models
(``Recipe.modulation``), they did not deliver that on held-out music: with 10 % synthetic music in both
arms, the frames called speech fell from 56.5 to 50.4 % and 55.9 to 52.5 % (bin, two seeds) and from 69.7
to 56.5 % (SNU), while mean HTER on held-out speech rose by 0.7-1.4 points and clean false alarms went up,
so the shipped models do not use them.

Four inputs per frame, each the log of an exponential average (factor ``exp(-1 / (tau * 100))``,
``tau`` = :data:`MOD_TAU` s) of a squared, causally filtered trajectory, so a gain cancels exactly
and every value is in the nats of the log-mel bands:

* ``level_mod``: the frame level (natural-log window energy), band-passed to 2-8 Hz (first-order
  Butterworth band-pass at the 100 Hz frame rate): syllabic modulation of loudness;
* ``band_mod``: the same band-pass on each raw log-mel band, averaged (in logs) over the bands;
* ``flux``: the mean squared frame-to-frame change of the log-mel bands (spectral flux);
* ``spread``: each band's squared deviation from its own exponential average, averaged (in logs)
  over the bands: how far the spectrum strays from where it has been (steady partials stay close).

The last three see each band clipped at :data:`MOD_RANGE_DB` below the frame's loudest band, so bands
that hold only window leakage or rounding noise, whose logs jitter wildly, do not count as movement
(without it a steady synthetic tone had the spectral flux of speech, and the inputs changed with gain).

The filters start in their steady state for the first frame they see (no start-up transient) and
the averages at zero, so the inputs of a stream's first frames say "nothing has moved yet". Digital
silence (``silent`` frames) neither enters the filters nor ages them, as in the noise floors, and
reads as :data:`MOD_FLOOR` ("nothing moves") on every input. Each step is ``(input, state) ->
(output, state)`` over :func:`scipy.signal.lfilter` with its state carried, so a stream fed in any
pieces gives the numbers of one call on the whole.
"""
from __future__ import annotations

import math

import numpy as np

#: number of modulation inputs per frame (level_mod, band_mod, flux, spread)
N_MOD = 4
#: time constant (s) of the averages
MOD_TAU = 0.5
#: the syllabic band (Hz) of the band-pass
MOD_BAND_HZ = (2.0, 8.0)
#: added to every average before the log (nats squared): the value of a trajectory that never moves
MOD_EPS = 1e-4
#: what a frame reads where nothing moves (and in digital silence)
MOD_FLOOR = math.log(MOD_EPS)
#: dynamic range (dB) within a frame: bands further below the frame's loudest band count as that far below
MOD_RANGE_DB = 50.0
#: window energies below this (dB re full scale) count as this level
_MIN_DB = -100.0
_FRAME_RATE = 100.0


def _bandpass() -> tuple[np.ndarray, np.ndarray]:
    from scipy.signal import butter

    lo, hi = MOD_BAND_HZ
    return butter(1, [lo / (_FRAME_RATE / 2), hi / (_FRAME_RATE / 2)], "bandpass")


def modulation_inputs(raw: np.ndarray, energy_db: np.ndarray, state: dict | None = None, *,
                      silent: np.ndarray | None = None, tau: float = MOD_TAU) -> tuple[np.ndarray, dict]:
    """``(inputs (n, N_MOD) float32, state)`` of (n, n_mels) raw log-mel frames and their window
    energies (dB re full scale, :func:`neuroflow.vad.features.window_energy_db`).

    ``state`` continues a stream (None: start); ``silent`` (bool per frame) marks digital silence,
    which reads :data:`MOD_FLOOR` and leaves the state as it was.
    """
    from scipy.signal import lfilter, lfilter_zi

    raw = np.asarray(raw, dtype=np.float64)
    n, n_bands = raw.shape
    out = np.full((n, N_MOD), MOD_FLOOR)
    keep = np.ones(n, bool) if silent is None else ~np.asarray(silent, bool)
    if not keep.any():
        return out.astype(np.float32), state
    level = math.log(10.0) / 10.0 * np.maximum(np.asarray(energy_db, dtype=np.float64), _MIN_DB)
    bands = np.maximum(raw, raw.max(axis=1, keepdims=True) - MOD_RANGE_DB * math.log(10.0) / 10.0)
    x = np.concatenate([level[:, None], bands], axis=1)[keep]  # (kept, 1 + n_bands)
    b, a = _bandpass()
    alpha = math.exp(-1.0 / (float(tau) * _FRAME_RATE))
    if state is None:  # filters in their steady state for the first frame, averages at zero
        state = {"bp": lfilter_zi(b, a)[:, None] * x[:1], "prev": x[0, 1:].copy(), "mean": x[0, 1:].copy(),
                 "mean_z": alpha * x[:1, 1:], "avg_z": np.zeros((1, 2 + 2 * n_bands))}
    bp, bp_z = lfilter(b, a, x, axis=0, zi=state["bp"])
    bands = x[:, 1:]
    diff = np.diff(bands, axis=0, prepend=state["prev"][None])
    mean, mean_z = lfilter([1.0 - alpha], [1.0, -alpha], bands, axis=0, zi=state["mean_z"])
    # deviation from the average of the frames before this one (the frame itself not yet in it)
    before = np.concatenate([state["mean"][None], mean[:-1]])
    sq = np.concatenate([bp * bp, np.mean(diff * diff, axis=1, keepdims=True), (bands - before) ** 2], axis=1)
    avg, avg_z = lfilter([1.0 - alpha], [1.0, -alpha], sq, axis=0, zi=state["avg_z"])
    logs = np.log(avg + MOD_EPS)
    out[keep] = np.column_stack([logs[:, 0], logs[:, 1:1 + n_bands].mean(axis=1), logs[:, 1 + n_bands],
                                 logs[:, 2 + n_bands:].mean(axis=1)])
    new = {"bp": bp_z, "prev": bands[-1].copy(), "mean": mean[-1].copy(), "mean_z": mean_z, "avg_z": avg_z}
    return out.astype(np.float32), new
