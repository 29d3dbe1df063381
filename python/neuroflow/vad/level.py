"""Absolute-level inputs of a spiking VAD: how loud a frame is, and how loud its background is.

The floor-relative mel bands (:func:`neuroflow.vad.features.noise_floor`) are gain invariant by
design, which is what makes them robust to the level of steady noise; it also makes a faint click in
near-silent room tone (-70 dBFS, clicks at -55) look as much like a word as a word looks over a
noisy background. Two more inputs per frame give a model the absolute scale back:

* ``level``: the frame's window energy, ``ln(10) / 10 * max(E_dB, MIN_LEVEL_DB)`` (the log power in
  the units of the log-mel bands, so a 10 dB step is 2.3);
* ``floor``: the noise floor of that broadband level, by the same minimum statistics as the bands
  (:func:`~neuroflow.vad.features.noise_floor` with the model's window and smoothing).

From the pair a model can tell "20 dB over a -70 dBFS room" (a click) from "20 dB over a -45 dBFS
street" (a voice), and near-silence from speech, without giving up the bands' gain invariance. Digital
silence (``silent`` frames) is clipped to :data:`MIN_LEVEL_DB` and skipped by the floor, as in the
bands.

With ``peak=True`` a third input says how far the frame lies below the loudest sound of the last
seconds (the running peak of the level, falling :data:`~neuroflow.vad.postprocess.PEAK_DECAY_DB` per
frame, as the silence gate's): background talk or music 20 dB under the speech of a conversation is
quiet *for this recording*, whatever its absolute level.
"""
from __future__ import annotations

import math

import numpy as np

from neuroflow.vad.features import noise_floor
from neuroflow.vad.postprocess import PEAK_DECAY_DB, running_peak

#: number of absolute-level inputs per frame (level, floor), and with the peak input
N_LEVEL = 2
N_LEVEL_PEAK = 3
#: window energies below this (dB re full scale) count as this level
MIN_LEVEL_DB = -100.0
#: dB -> natural-log power (the log-mel bands' unit)
DB_TO_LOG = math.log(10.0) / 10.0


def level_inputs(energy_db: np.ndarray, state: dict | None = None, *, window: int, smooth: float,
                 silent: np.ndarray | None = None, peak: bool = False) -> tuple[np.ndarray, dict]:
    """``(inputs (n, 2 or 3) float32, state)``: the frames' absolute level, its running noise floor and,
    with ``peak``, the level minus its running peak.

    ``energy_db`` is the window energy (dB re full scale) of each frame
    (:func:`neuroflow.vad.features.window_energy_db`); ``state`` continues a stream (None: start).
    """
    state = {"floor": None, "peak": None} if state is None else state
    db = np.maximum(np.asarray(energy_db, dtype=np.float64), MIN_LEVEL_DB)
    level = DB_TO_LOG * db[:, None]
    floor, floor_state = noise_floor(level, window, smooth, state["floor"], skip=silent)
    parts = [level, floor]
    peak_state = state["peak"]
    if peak:
        top, peak_state = running_peak(db, PEAK_DECAY_DB, peak_state)
        parts.append(DB_TO_LOG * (db - top)[:, None] if len(db) else np.zeros((0, 1)))
    return np.concatenate(parts, axis=1).astype(np.float32), {"floor": floor_state, "peak": peak_state}
