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
noise floor, so each prompt gets its own activity before it is placed in a scene: within 35 dB
(:data:`PROMPT_THRESHOLD_DB`) of the prompt's own reference *and* at least 10 dB
(:data:`FLOOR_MARGIN_DB`) above the speaker's noise floor (the 1st percentile of all its prompts' frame
energies: -81 to -64 dBFS for the 16 kHz sets, -54 and -53 dBFS for the two 8 kHz GSM sets, against
speech references of -12 to -17 dBFS). Frames that lie in runs of 150 ms or more within 10 dB of the
floor, i.e. pauses, but were labelled speech: without the floor term 12.5 % of Armelle's frames and
3.8 % of July's; with it 2.3 % and 0.9 % (mostly the 50 ms hangover), and under 0.2 % in the other sets
(measured over up to 200 prompts per speaker). The smoothing then runs over the scene's
frames, so a pause between two prompts is filled only if it is shorter than 150 ms. The prompts start
on their first word (median 0-80 ms of lead, 95th percentile under 0.22 s, by this rule).
"""
from __future__ import annotations

import numpy as np

from neuroflow._utils import is_number
from neuroflow.vad.audio import SAMPLE_RATE, check_samples
from neuroflow.vad.features import HOP, frame_energy_db

#: threshold (dB below the reference) for synthetic speech and for real prompts
SYNTHETIC_THRESHOLD_DB = 40.0
PROMPT_THRESHOLD_DB = 35.0
#: how far above a recording's noise floor an active frame must be (dB)
FLOOR_MARGIN_DB = 10.0
MIN_GAP_S = 0.15
HANGOVER_S = 0.05


def frame_activity(clean: np.ndarray, threshold_db: float = SYNTHETIC_THRESHOLD_DB,
                   reference_db: float | None = None, floor_db: float | None = None) -> np.ndarray:
    """Step 1 of the rule: bool per 10 ms frame (``len(clean) // 160``), no smoothing.

    Active: energy above ``reference_db - threshold_db`` and, when ``floor_db`` (the recording's noise
    floor, dBFS) is given, above ``floor_db + FLOOR_MARGIN_DB``.
    """
    energy = frame_energy_db(np.asarray(clean, dtype=np.float64))
    if len(energy) == 0:
        return np.zeros(0, bool)
    if reference_db is None:
        audible = energy[energy > energy.max() - 80.0]
        reference_db = float(np.percentile(audible, 95))
    limit = max(reference_db - threshold_db, -100.0)
    if floor_db is not None:
        limit = max(limit, float(floor_db) + FLOOR_MARGIN_DB)
    return energy > limit


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
    # None or text were "bad operand type for abs()" or a UFuncTypeError, a 2-d array was cut by flat indices
    wav = check_samples(wav)
    if not (is_number(threshold_db, finite=True) and threshold_db > 0):
        raise ValueError(f"threshold_db: expected a positive number of dB below the peak, got {threshold_db!r}")
    env = np.abs(wav)
    peak = float(env.max()) if len(env) else 0.0
    if peak == 0:
        return wav
    idx = np.flatnonzero(env > peak * 10 ** (-threshold_db / 20))
    return wav[idx[0]: idx[-1] + 1]
