"""Augmentations that teach a spiking VAD what real recordings hold and the corpus lacks.

* :func:`random_gain`: every scene at a random level (the log floor and the level inputs make the
  features not quite gain invariant);
* :func:`excerpt_bounds`: 3-8 s excerpts whose features start afresh, as at the start of a stream,
  where a causal normalisation has seen little;
* :func:`noise_pieces`: speech-free stretches of steady noise at any level (the corpus's scenes
  always hold 5-95 % speech);
* :func:`room_tone`: the quiet background of a real recording, which the generated noises lack:
  -80 to -55 dBFS of coloured noise with faint clicks, keyboard-like bursts, mains hum and, at times,
  digital silence before it starts (a file that opens with zeros).
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


#: room tone level range (dBFS, RMS of the steady part)
ROOM_TONE_DB = (-80.0, -55.0)


def _click(rng: np.random.Generator) -> np.ndarray:
    """One transient, unit peak: a 1-20 ms burst of (low- or high-passed) noise with an exponential decay."""
    n = int(rng.uniform(0.001, 0.02) * SAMPLE_RATE) + 8
    burst = rng.standard_normal(n) * np.exp(-np.arange(n) / (n / rng.uniform(2.0, 6.0)))
    if rng.random() < 0.5:  # duller (a knock) or sharper (a tick)
        burst = np.convolve(burst, np.ones(4) / 4, mode="same")
    else:
        burst = np.diff(burst, prepend=0.0)
    return burst / (np.max(np.abs(burst)) + 1e-12)


def room_tone(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of synthetic room tone (float32, 16 kHz; see the module docstring), no speech in it.

    Steady pink or brown noise at a level drawn from :data:`ROOM_TONE_DB`; with probability 0.5 mains
    hum (50 or 60 Hz and 2-5 harmonics, -10 to +6 dB against the noise); transients at 0.1-2 per
    second (single clicks, or keyboard-like runs of 3-8 at 5-12 per second) peaking 10-30 dB over
    the noise's RMS; with probability 0.3 the first 0.2-3 s are digital silence.
    """
    from neuroflow.vad.noise import make_noise

    tone = make_noise("pink" if rng.random() < 0.5 else "brown", n, seed=rng).astype(np.float64)
    if rng.random() < 0.5:
        t = np.arange(n) / SAMPLE_RATE
        f0 = 50.0 if rng.random() < 0.5 else 60.0
        hum = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi))
                  for k in range(1, int(rng.integers(3, 7))))
        hum *= 10 ** (rng.uniform(-10.0, 6.0) / 20) / (np.sqrt(np.mean(hum ** 2)) + 1e-12)
        tone = tone + hum
    rate = rng.uniform(0.1, 2.0)
    pos = 0.0
    while True:
        pos += rng.exponential(1.0 / rate)
        start = int(pos * SAMPLE_RATE)
        if start >= n:
            break
        clicks = int(rng.integers(3, 9)) if rng.random() < 0.3 else 1
        gap = rng.uniform(1 / 12, 1 / 5)
        for c in range(clicks):
            at = start + int(c * gap * SAMPLE_RATE)
            click = _click(rng) * 10 ** (rng.uniform(10.0, 30.0) / 20)
            end = min(n, at + len(click))
            if at < n:
                tone[at:end] += click[: end - at]
    tone *= 10 ** (rng.uniform(*ROOM_TONE_DB) / 20)
    if rng.random() < 0.3:
        tone[: min(n, int(rng.uniform(0.2, 3.0) * SAMPLE_RATE))] = 0.0
    return tone.astype(np.float32)
