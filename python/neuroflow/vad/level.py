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
"""
from __future__ import annotations

import math

import numpy as np

from neuroflow.vad.features import noise_floor

#: number of absolute-level inputs per frame (level, floor)
N_LEVEL = 2
#: window energies below this (dB re full scale) count as this level
MIN_LEVEL_DB = -100.0
#: dB -> natural-log power (the log-mel bands' unit)
DB_TO_LOG = math.log(10.0) / 10.0


def level_inputs(energy_db: np.ndarray, state: dict | None = None, *, window: int, smooth: float,
                 silent: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """``(inputs (n, 2) float32, state)``: the frames' absolute level and its running noise floor.

    ``energy_db`` is the window energy (dB re full scale) of each frame
    (:func:`neuroflow.vad.features.window_energy_db`); ``state`` continues a stream (None: start).
    """
    level = DB_TO_LOG * np.maximum(np.asarray(energy_db, dtype=np.float64), MIN_LEVEL_DB)[:, None]
    floor, state = noise_floor(level, window, smooth, state, skip=silent)
    return np.concatenate([level, floor], axis=1).astype(np.float32), state
