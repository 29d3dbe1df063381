"""Modulation inputs of a spiking VAD: how a sound changes over a few hundred milliseconds.

The floor-relative mel bands and the level inputs say what a frame holds; they say little about how
the sound moves. That is what tells speech from music: speech is a train of syllables, its level and
spectral envelope rise and fall 2-8 times a second (the "4 Hz" syllabic modulation) with pauses
between words, while music holds its partials steady across frames and moves in other rhythms.
With music on hold as their only training music, both models (42 frame inputs) called 67-70 % of the
frames of held-out music speech.
A logistic regression trained on training speech against the music on hold (then the only training music) could not
tell held-out speech (all conditions) from held-out music with those 42 inputs (frame AUC 0.52); with
the four inputs below added it reached 0.79, and the four alone 0.82; against clean held-out speech
each input alone reaches 0.99 (measured with the earlier exponential averages described below;
``benchmarks/results/vad_music.json`` now holds the same analysis for the sliding windows, against wideband
training music: the four alone 0.76, with the 42 other inputs 0.79). The bin model of the previous release
used them over a 0.2 s window (``Recipe.modulation``, ``Recipe.modulation_window``): trained on the same
corpora as the bin model before it, it called 38.0 % of the held-out music frames speech instead of 48.5 % (a second seed: 39.5
against 48.2 %) at no cost in mean HTER on held-out speech (15.6 against 15.9 %; 17.2 and 17.2 % with the
second seed), better in babble and worse in stationary noise (docs/vad.md, "Known limits"). The shipped bin
model has the tonality input of :mod:`neuroflow.vad.tonality` for music and these inputs over 0.1 s
(with the tonality input, 0.1 s beat 0.2 s on the validation split and on held-out speech with two seeds).

Four inputs per frame, each the log of the mean over the last :data:`MOD_WINDOW` seconds (a sliding
window) of a squared, causally filtered trajectory, so a gain cancels exactly and every value is in the
nats of the log-mel bands:

* ``level_mod``: the frame level (natural-log window energy), band-passed to 2-8 Hz (first-order
  Butterworth band-pass at the 100 Hz frame rate): syllabic modulation of loudness;
* ``band_mod``: the same band-pass on each raw log-mel band, averaged (in logs) over the bands;
* ``flux``: the mean squared frame-to-frame change of the log-mel bands (spectral flux);
* ``spread``: each band's squared deviation from its mean over the window before the frame, averaged (in
  logs) over the bands: how far the spectrum strays from where it has been (steady partials stay close).

The window is a sliding one, not an exponential average, so the inputs forget a sound at a known time:
an exponential average of 0.5 s, read in logs, took 2-4 s to fall from speech to the level of the steady
noise after it (it decays by a fixed number of nats per second, and speech sits 3-5 nats above noise),
and a model trained on it called 40-87 % of the first second after each utterance in white or pink noise
at 5-10 dB speech (against 0-14 % without the inputs), which cost it 1-3 points of mean HTER. With the
window, a frame more than one window after a sound ended (two for ``spread``, whose reference trails it)
no longer sees it: the previous bin model (0.2 s) called 86 % of the first 0.1 s after an utterance in those
noises speech, 36 % of 0.2-0.3 s and none later.

The last three see each band clipped at :data:`MOD_RANGE_DB` below the frame's loudest band, so bands
that hold only window leakage or rounding noise, whose logs jitter wildly, do not count as movement
(without it a steady synthetic tone had the spectral flux of speech, and the inputs changed with gain).

The filters start in their steady state for the first frame they see (no start-up transient) and
the windows empty (zeros), so the inputs of a stream's first frames say "nothing has moved yet". Digital
silence (``silent`` frames) neither enters the filters nor ages them, as in the noise floors, and
reads as :data:`MOD_FLOOR` ("nothing moves") on every input. Each step is ``(input, state) ->
(output, state)`` over :func:`scipy.signal.lfilter` with its state carried, so a stream fed in any
pieces gives the numbers of one call on the whole.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from neuroflow.vad.features import check_window_seconds, clip_below_peak, moving_average

#: number of modulation inputs per frame (level_mod, band_mod, flux, spread)
N_MOD = 4
#: default length (s) of the sliding window the inputs average over (a model records its own, ``modulation_window``;
#: the previous bin model's: 0.15 and 0.3 s gave 42.4 and 40.5 % of held-out music called speech against its 38.0 %,
#: at 15.7 and 15.9 % mean HTER against 15.6 %; the shipped one, with the tonality input, uses 0.1 s)
MOD_WINDOW = 0.2
#: the syllabic band (Hz) of the band-pass
MOD_BAND_HZ = (2.0, 8.0)
#: added to every mean before the log (nats squared): the value of a trajectory that never moves
MOD_EPS = 1e-4
#: what a frame reads where nothing moves (and in digital silence)
MOD_FLOOR = math.log(MOD_EPS)
#: dynamic range (dB) within a frame: bands further below the frame's loudest band count as that far below
MOD_RANGE_DB = 50.0
#: window energies below this (dB re full scale) count as this level
_MIN_DB = -100.0
_FRAME_RATE = 100.0


def check_window(window, name: str = "modulation_window") -> float:
    """``window`` (seconds) as a float, if it spans at least two 10 ms frames; else a ValueError naming
    ``name`` (the recipe's field, or the caller's argument)."""
    return check_window_seconds(window, name, 2)


@functools.cache
def _bandpass() -> tuple[np.ndarray, np.ndarray]:
    """The band-pass's ``(b, a)``, designed once (read-only): designing it took ~400 us, redone for every chunk of a
    stream."""
    from scipy.signal import butter

    lo, hi = MOD_BAND_HZ
    b, a = butter(1, [lo / (_FRAME_RATE / 2), hi / (_FRAME_RATE / 2)], "bandpass")
    b.flags.writeable = a.flags.writeable = False
    return b, a


def modulation_inputs(raw: np.ndarray, energy_db: np.ndarray, state: dict | None = None, *,
                      silent: np.ndarray | None = None, window: float = MOD_WINDOW) -> tuple[np.ndarray, dict]:
    """``(inputs (n, N_MOD) float32, state)`` of (n, n_mels) raw log-mel frames and their window
    energies (dB re full scale, :func:`neuroflow.vad.features.window_energy_db`).

    ``state`` continues a stream (None: start); ``silent`` (bool per frame) marks digital silence,
    which reads :data:`MOD_FLOOR` and leaves the state as it was; ``window``: seconds averaged over.
    """
    from scipy.signal import lfilter, lfilter_zi

    raw = np.asarray(raw, dtype=np.float64)
    n, n_bands = raw.shape
    out = np.full((n, N_MOD), MOD_FLOOR)
    keep = np.ones(n, bool) if silent is None else ~np.asarray(silent, bool)
    if not keep.any():
        return out.astype(np.float32), state
    level = math.log(10.0) / 10.0 * np.maximum(np.asarray(energy_db, dtype=np.float64), _MIN_DB)
    bands = clip_below_peak(raw, MOD_RANGE_DB)
    x = np.concatenate([level[:, None], bands], axis=1)[keep]  # (kept, 1 + n_bands)
    b, a = _bandpass()
    width = int(round(check_window(window, "window") * _FRAME_RATE))
    box = np.full(width, 1.0 / width)
    if state is None:  # band-pass in its steady state for the first frame; the reference window full of
        # that frame, the windows of squares empty
        state = {"bp": lfilter_zi(b, a)[:, None] * x[:1], "prev": x[0, 1:].copy(), "mean": x[0, 1:].copy(),
                 "mean_z": lfilter_zi(box, [1.0])[:, None] * x[:1, 1:],
                 "avg_z": np.zeros((width - 1, 2 + 2 * n_bands))}
    bp, bp_z = lfilter(b, a, x, axis=0, zi=state["bp"])
    bands = x[:, 1:]
    diff = np.diff(bands, axis=0, prepend=state["prev"][None])
    mean, mean_z = moving_average(bands, width, state["mean_z"])
    # deviation from the mean of the window before this frame (the frame itself not yet in it)
    before = np.concatenate([state["mean"][None], mean[:-1]])
    sq = np.concatenate([bp * bp, np.mean(diff * diff, axis=1, keepdims=True), (bands - before) ** 2], axis=1)
    avg, avg_z = moving_average(sq, width, state["avg_z"])
    logs = np.log(avg + MOD_EPS)
    out[keep] = np.column_stack([logs[:, 0], logs[:, 1:1 + n_bands].mean(axis=1), logs[:, 1 + n_bands],
                                 logs[:, 2 + n_bands:].mean(axis=1)])
    new = {"bp": bp_z, "prev": bands[-1].copy(), "mean": mean[-1].copy(), "mean_z": mean_z, "avg_z": avg_z}
    return out.astype(np.float32), new
