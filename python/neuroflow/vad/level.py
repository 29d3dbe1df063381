"""Absolute-level inputs of a spiking VAD: how quiet a frame is, and how quiet its background is.

The floor-relative mel bands (:func:`neuroflow.vad.features.noise_floor`) are gain invariant by
design, which is what makes them robust to the level of steady noise; it also makes a faint click in
near-silent room tone (-70 dBFS, clicks at -55) look as much like a word as a word looks over a
noisy background. Two more inputs per frame give a model the absolute scale back:

* ``level``: the frame's window energy, ``ln(10) / 10 * clip(E_dB, MIN_LEVEL_DB, ceiling)`` (the log
  power in the units of the log-mel bands, so a 10 dB step is 2.3);
* ``floor``: the noise floor of that level, by the same minimum statistics as the bands
  (:func:`~neuroflow.vad.features.noise_floor` with the model's window and smoothing).

The ceiling (:data:`LEVEL_CEILING_DB`, -45 dBFS by default) is what keeps the inputs honest: they say
how *quiet* a frame or a background is, and nothing about how loud. Unclipped, the models learnt
"loud means speech" (their training speech is loud, most of their non-speech quiet) and called steady
street and brown noise at -15 dBFS speech in 45-83 % of the frames, where the floor-relative models
called none; a running-peak input ("how far below the loudest recent sound") made it worse (held-out
car noise at 0 dB SNR: 74 % false alarms). Digital silence (``silent`` frames) is clipped to
:data:`MIN_LEVEL_DB` and skipped by the floor, as in the bands.
"""
from __future__ import annotations

import math

import numpy as np

from neuroflow.vad.features import noise_floor

#: number of absolute-level inputs per frame (level, floor)
N_LEVEL = 2
#: window energies below this (dB re full scale) count as this level
MIN_LEVEL_DB = -100.0
#: window energies above this (dB re full scale) count as this level: the inputs only tell quiet apart
LEVEL_CEILING_DB = -45.0
#: dB -> natural-log power (the log-mel bands' unit)
DB_TO_LOG = math.log(10.0) / 10.0


def level_inputs(energy_db: np.ndarray, state: dict | None = None, *, window: int, smooth: float,
                 silent: np.ndarray | None = None, ceiling_db: float = LEVEL_CEILING_DB) -> tuple[np.ndarray, dict]:
    """``(inputs (n, 2) float32, state)``: the frames' level and its running noise floor, clipped to
    [:data:`MIN_LEVEL_DB`, ``ceiling_db``].

    ``energy_db`` is the window energy (dB re full scale) of each frame
    (:func:`neuroflow.vad.features.window_energy_db`); ``state`` continues a stream (None: start).
    """
    level = DB_TO_LOG * np.clip(np.asarray(energy_db, dtype=np.float64), MIN_LEVEL_DB, ceiling_db)[:, None]
    floor, state = noise_floor(level, window, smooth, state, skip=silent)
    return np.concatenate([level, floor], axis=1).astype(np.float32), state
