"""Reference speech labels per 10 ms frame, made from clean speech, one rule for synthetic and real speech.

The rule
--------
1. *Activity.* A frame (25 ms window, :mod:`neuroflow.vad.features` alignment) is active when its energy
   lies within ``threshold_db`` of a reference level: the 95th percentile of the energies of the audible
   frames (those within 80 dB of the loudest; digital silence is left out), a robust stand-in for the
   speech peak level.
2. *Smoothing.* Inactive runs shorter than ``min_gap_s`` (150 ms) between active frames are filled:
   the stops and short pauses inside words and phrases are speech. Then every speech run is extended by
   ``hangover_s`` (50 ms), the decay of the last phoneme.

Synthetic scenes apply it to the scene's clean speech track with ``threshold_db=40`` (eSpeak's output
has digital silence between words, so any audible frame is speech). Real prompts carry their studio's
noise floor (-80 to -45 dBFS against speech peaks of -12 to -17 dBFS, measured over 40 prompts per
speaker), so each prompt gets its own activity with ``threshold_db=35`` (:data:`PROMPT_THRESHOLD_DB`),
from its own reference, before it is placed in a scene; the smoothing then runs over the scene's frames,
so a pause between two prompts is filled only if it is shorter than 150 ms. Prompts start on the first
word, so no prompt's activity starts before its speech does.
"""
from __future__ import annotations

import numpy as np

from neuroflow.vad.audio import SAMPLE_RATE
from neuroflow.vad.features import HOP, frame_energy_db

#: threshold (dB below the reference) for synthetic speech and for real prompts
SYNTHETIC_THRESHOLD_DB = 40.0
PROMPT_THRESHOLD_DB = 35.0
MIN_GAP_S = 0.15
HANGOVER_S = 0.05


def frame_activity(clean: np.ndarray, threshold_db: float = SYNTHETIC_THRESHOLD_DB,
                   reference_db: float | None = None) -> np.ndarray:
    """Step 1 of the rule: bool per 10 ms frame (``len(clean) // 160``), no smoothing."""
    energy = frame_energy_db(np.asarray(clean, dtype=np.float64))
    if len(energy) == 0:
        return np.zeros(0, bool)
    if reference_db is None:
        audible = energy[energy > energy.max() - 80.0]
        reference_db = float(np.percentile(audible, 95))
    return energy > max(reference_db - threshold_db, -100.0)


def smooth_activity(active: np.ndarray, min_gap_s: float = MIN_GAP_S, hangover_s: float = HANGOVER_S) -> np.ndarray:
    """Step 2 of the rule: fill inactive runs shorter than ``min_gap_s`` between active frames, then extend
    every run by ``hangover_s``; int8 0/1."""
    active = np.asarray(active, dtype=bool)
    labels = active.copy()
    frame_s = HOP / SAMPLE_RATE
    idx = np.flatnonzero(active)
    if len(idx):
        for g in np.flatnonzero(np.diff(idx) > 1):  # fill short pauses between speech frames
            a, b = idx[g] + 1, idx[g + 1]
            if (b - a) * frame_s < min_gap_s:
                labels[a:b] = True
        hang = int(round(hangover_s / frame_s))
        if hang > 0:
            for e in np.flatnonzero(labels[:-1] & ~labels[1:]):
                labels[e + 1:e + 1 + hang] = True
    return labels.astype(np.int8)


def speech_labels(clean: np.ndarray, *, threshold_db: float = SYNTHETIC_THRESHOLD_DB, min_gap_s: float = MIN_GAP_S,
                  hangover_s: float = HANGOVER_S, reference_db: float | None = None) -> np.ndarray:
    """0/1 per 10 ms frame of a clean speech track (int8, ``len(clean) // 160`` frames), by the module's rule.

    Parameters
    ----------
    clean : array
        Clean speech (no noise) at 16 kHz.
    threshold_db : float
        A frame is active within this many dB of the reference.
    min_gap_s, hangover_s : float
        Pauses shorter than ``min_gap_s`` are filled; speech runs are extended by ``hangover_s``.
    reference_db : float, optional
        The reference level; default the 95th percentile of the audible frames' energies.

    Returns
    -------
    numpy.ndarray
        int8 labels.
    """
    return smooth_activity(frame_activity(clean, threshold_db, reference_db), min_gap_s, hangover_s)


def trim_silence(wav: np.ndarray, threshold_db: float = 50.0) -> np.ndarray:
    """Cut leading and trailing near-silence (eSpeak and Festival pad their output)."""
    env = np.abs(wav)
    peak = float(env.max()) if len(env) else 0.0
    if peak == 0:
        return wav
    idx = np.flatnonzero(env > peak * 10 ** (-threshold_db / 20))
    return wav[idx[0]: idx[-1] + 1]
