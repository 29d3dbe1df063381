"""Augmentations that teach a spiking VAD what real recordings hold and the corpus lacks.

* :func:`random_gain`: every scene at a random level (the log floor and the level inputs make the
  features not quite gain invariant);
* :func:`excerpt_bounds`: 3-8 s excerpts whose features start afresh, as at the start of a stream,
  where a causal normalisation has seen little;
* :func:`noise_pieces`: speech-free stretches of steady noise at any level (the corpus's scenes
  always hold 5-95 % speech);
* :func:`room_tone_piece`: the quiet background of a real recording, which the generated noises lack
  (:func:`neuroflow.vad.roomtone.room_tone`, training family), at times after digital silence (a file
  that opens with zeros).
"""
from __future__ import annotations

import numpy as np

from neuroflow.vad.audio import SAMPLE_RATE
from neuroflow.vad.features import FRAME_RATE

#: noises of the speech-free sequences, and their level range (dBFS)
NOISE_KINDS = ("white", "pink", "brown", "car", "street")
NOISE_LEVELS_DB = (-80.0, -10.0)
#: excerpt lengths (s)
EXCERPT_S = (3.0, 8.0)


def random_gain(wav: np.ndarray, gain_db: float, rng: np.random.Generator) -> np.ndarray:
    """``wav`` scaled by a random gain, uniform in [-gain_db, +gain_db] dB (unchanged for ``gain_db <= 0``)."""
    if gain_db <= 0:
        return wav
    return wav * np.float32(10 ** (rng.uniform(-gain_db, gain_db) / 20))


def excerpt_bounds(n: int, rng: np.random.Generator) -> tuple[int, int]:
    """``(start, stop)`` frames of a random 3-8 s excerpt of ``n`` frames (all of it if shorter)."""
    length = min(n, int(rng.uniform(*EXCERPT_S) * FRAME_RATE))
    start = int(rng.integers(0, n - length + 1))
    return start, start + length


def noise_pieces(seconds: float, seed: int = 0, group: str = "A"):
    """About ``seconds`` of speech-free audio in 2-10 s pieces: white, pink, brown, car or street noise of
    ``group`` at a random level in [-80, -10] dBFS. Yields ``(wav float32 at 16 kHz, kind)``."""
    from neuroflow.vad.noise import make_noise

    rng = np.random.default_rng([int(seed), 0x0015E])
    total = 0.0
    while total < seconds:
        length = float(rng.uniform(2.0, 10.0))
        kind = NOISE_KINDS[int(rng.integers(len(NOISE_KINDS)))]
        wav = make_noise(kind, int(length * SAMPLE_RATE), seed=rng, group=group)
        yield wav * np.float32(10 ** (rng.uniform(*NOISE_LEVELS_DB) / 20)), kind
        total += length


def room_tone_piece(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of training-family room tone (-80 to -55 dBFS, faint transients, hum); with
    probability 0.3 its first 0.2-3 s are digital silence."""
    from neuroflow.vad.roomtone import room_tone

    tone = room_tone(n, rng, family="train")
    if rng.random() < 0.3:
        tone[: min(n, int(rng.uniform(0.2, 3.0) * SAMPLE_RATE))] = 0.0
    return tone
