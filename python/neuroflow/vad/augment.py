"""Augmentations that teach a spiking VAD what real recordings hold and the corpus lacks.

* :func:`random_gain`: every scene at a random level (the log floor and the level inputs make the
  features not quite gain invariant);
* :func:`excerpt_bounds`: 3-8 s excerpts whose features start afresh, as at the start of a stream,
  where a causal normalisation has seen little;
* :func:`speech_free_pieces` ``"noise"``: stretches of steady noise at any level (the corpus's scenes
  always hold 5-95 % speech);
* :func:`speech_free_pieces` ``"talk"``: background talk alone (babble or cafe noise), quieter than the
  corpus's speech: in the corpus it is only ever heard under a foreground talker;
* :func:`music_piece`: synthetic music (melody, chords, bass and drums of random timbres, keys and
  tempi), speech-free, for variety beside the few recorded pieces of training music;
* :func:`gated_piece`: music or noise whose high or low bands switch off and on (a filter sweep), which
  floor-relative inputs read as new sound at every return;
* :func:`room_tone_piece`: the quiet background of a real recording, which the generated noises lack
  (:func:`neuroflow.vad.roomtone.room_tone`, training family), at times after digital silence (a file
  that opens with zeros).
"""
from __future__ import annotations

import numpy as np

from neuroflow._utils import as_rng, check_choice, check_seed, is_integer, is_number
from neuroflow.vad.audio import SAMPLE_RATE, check_piece, check_samples
from neuroflow.vad.features import FRAME_RATE

#: noises of the speech-free sequences, and their level range (dBFS)
NOISE_KINDS = ("white", "pink", "brown", "car", "street")
NOISE_LEVELS_DB = (-80.0, -10.0)
#: background talk of the speech-free sequences, and its level range (dBFS): at least 4 dB under the corpus's
#: active speech level (-26 dBov), as in its scenes at 5 dB SNR and above
TALK_KINDS = ("babble", "cafe")
TALK_LEVELS_DB = (-70.0, -30.0)
#: excerpt lengths (s)
EXCERPT_S = (3.0, 8.0)


def random_gain(wav: np.ndarray, gain_db: float, rng: np.random.Generator) -> np.ndarray:
    """``wav`` scaled by a random gain, uniform in [-gain_db, +gain_db] dB (unchanged for ``gain_db <= 0``)."""
    # were "'int' object has no attribute 'uniform'", "'<=' not supported" or "can't multiply sequence"
    wav, rng = check_samples(wav), as_rng(rng, "rng")
    if not is_number(gain_db, finite=True):
        raise ValueError(f"gain_db: expected a finite number of dB, got {gain_db!r}")
    if gain_db <= 0:
        return wav
    return wav * np.float32(10 ** (rng.uniform(-gain_db, gain_db) / 20))


def excerpt_bounds(n: int, rng: np.random.Generator) -> tuple[int, int]:
    """``(start, stop)`` frames of a random 3-8 s excerpt of ``n`` frames (all of it if shorter)."""
    if not is_integer(n) or n < 0:  # -3 gave (0, -3), "x" and None a TypeError from min()
        raise ValueError(f"n: expected a non-negative whole number of frames, got {n!r}")
    rng = as_rng(rng, "rng")
    length = min(n, int(rng.uniform(*EXCERPT_S) * FRAME_RATE))
    start = int(rng.integers(0, n - length + 1))
    return start, start + length


def room_tone_piece(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of training-family room tone (-80 to -55 dBFS, faint transients, hum); with
    probability 0.3 its first 0.2-3 s are digital silence."""
    from neuroflow.vad.roomtone import room_tone

    n, rng = check_piece(n, rng)  # room_tone's own check named its seed and n_samples
    tone = room_tone(n, rng, family="train")
    if rng.random() < 0.3:
        tone[: min(n, int(rng.uniform(0.2, 3.0) * SAMPLE_RATE))] = 0.0
    return tone


_SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 2, 4, 7, 9), (0, 3, 5, 7, 10))


def _tone(freq: float, n: int, rng: np.random.Generator, timbre: dict) -> np.ndarray:
    """One note: harmonic partials (amplitude k^-rolloff, up to 7.5 kHz), optional vibrato, ADSR envelope."""
    t = np.arange(n) / SAMPLE_RATE
    vib = 1.0 + timbre["vibrato"] * np.sin(2 * np.pi * 5.5 * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * freq * np.cumsum(vib) / SAMPLE_RATE
    note = np.zeros(n)
    for k in range(1, max(2, min(timbre["partials"], int(7500 / freq))) + 1):
        note += k ** -timbre["rolloff"] * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    a, r = max(1, int(timbre["attack"] * SAMPLE_RATE)), max(1, int(timbre["release"] * SAMPLE_RATE))
    env = np.full(n, timbre["sustain"])
    env[: min(a, n)] = np.linspace(0, 1, min(a, n))
    tail = min(r, n)
    env[n - tail:] *= np.linspace(1, 0, tail)
    if timbre["decay"]:  # plucked: an exponential decay instead of a sustain
        env *= np.exp(-t / timbre["decay"])
    return note * env


def _timbre(rng: np.random.Generator) -> dict:
    return {"partials": int(rng.integers(1, 16)), "rolloff": float(rng.uniform(0.5, 2.5)),
            "vibrato": float(rng.choice([0.0, rng.uniform(0.002, 0.01)])), "attack": float(rng.uniform(0.003, 0.15)),
            "release": float(rng.uniform(0.02, 0.3)), "sustain": float(rng.uniform(0.4, 1.0)),
            "decay": float(rng.choice([0.0, rng.uniform(0.15, 1.0)]))}


def _drum(kind: str, rng: np.random.Generator) -> np.ndarray:
    n = int((0.25 if kind == "kick" else 0.15 if kind == "snare" else 0.05) * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    if kind == "kick":
        f = rng.uniform(45, 80) * (1 + 2 * np.exp(-t / 0.02))
        return np.sin(2 * np.pi * np.cumsum(f) / SAMPLE_RATE) * np.exp(-t / 0.08)
    noise = rng.standard_normal(n)
    if kind == "hat":
        noise = np.diff(noise, prepend=0.0)
    return noise * np.exp(-t / (0.04 if kind == "snare" else 0.012))


def music_piece(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples (float32, 16 kHz, unit RMS) of synthetic music: a key and scale, a tempo of 60-180
    beats per minute, a melody, sustained chords and a bass line (each present with probability 0.5-0.9,
    each with its own random timbre) and, with probability 0.5, a drum pattern. No voice in it."""
    n, rng = check_piece(n, rng)  # were numpy's "'str' object cannot be interpreted as an integer", an AttributeError
    out = np.zeros(n)
    beat = 60.0 / rng.uniform(60, 180)
    root = rng.uniform(40, 60)  # MIDI note of the key
    scale = _SCALES[int(rng.integers(len(_SCALES)))]
    midi = lambda degree, octave: root + 12 * octave + scale[degree % len(scale)] + 12 * (degree // len(scale))  # noqa: E731
    hz = lambda m: 440.0 * 2 ** ((m - 69) / 12)  # noqa: E731
    parts = [("melody", 0.9, 1), ("chords", 0.6, 0), ("bass", 0.6, -1)]
    for role, p, octave in parts:
        if rng.random() > p:
            continue
        timbre, gain, pos = _timbre(rng), rng.uniform(0.3, 1.0), 0.0
        degree = int(rng.integers(0, len(scale)))
        while pos * SAMPLE_RATE < n:
            length = beat * float(rng.choice([0.5, 1, 1, 2, 4] if role != "melody" else [0.25, 0.5, 0.5, 1, 2]))
            m = int(length * SAMPLE_RATE)
            start = int(pos * SAMPLE_RATE)
            end = min(n, start + m)
            degrees = [degree, degree + 2, degree + 4] if role == "chords" else [degree]
            for d in degrees:
                out[start:end] += gain * _tone(hz(midi(d, octave)), m, rng, timbre)[: end - start]
            degree = max(-3, min(10, degree + int(rng.integers(-2, 3))))
            pos += length
    if rng.random() < 0.5:
        pattern = [("kick", 0.0), ("hat", 0.5), ("snare", 1.0), ("hat", 1.5)]
        gain, pos = rng.uniform(0.2, 1.0), 0.0
        while pos * SAMPLE_RATE < n:
            for kind, off in pattern:
                start = int((pos + off * beat) * SAMPLE_RATE)
                if start < n:
                    hit = _drum(kind, rng)
                    out[start:start + len(hit)] += gain * hit[: n - start]
            pos += 2 * beat
    rms = float(np.sqrt(np.mean(out ** 2)))
    return (out / rms).astype(np.float32) if rms > 0 else out.astype(np.float32)


def _generated_piece(rng: np.random.Generator, group: str, kinds, levels_db) -> tuple[np.ndarray, str]:
    """2-10 s of one of the generated noises ``kinds`` of ``group`` at a level drawn from ``levels_db`` (dBFS)."""
    from neuroflow.vad.noise import make_noise

    length = float(rng.uniform(2.0, 10.0))
    kind = kinds[int(rng.integers(len(kinds)))]
    wav = make_noise(kind, int(length * SAMPLE_RATE), seed=rng, group=group)
    return wav * np.float32(10 ** (rng.uniform(*levels_db) / 20)), kind


def _noise_piece(rng: np.random.Generator, group: str) -> tuple[np.ndarray, str]:
    return _generated_piece(rng, group, NOISE_KINDS, NOISE_LEVELS_DB)


def _talk_piece(rng: np.random.Generator, group: str) -> tuple[np.ndarray, str]:
    return _generated_piece(rng, group, TALK_KINDS, TALK_LEVELS_DB)


def _room_piece(rng: np.random.Generator, group: str) -> tuple[np.ndarray, str]:
    return room_tone_piece(int(rng.uniform(3.0, 10.0) * SAMPLE_RATE), rng), "room"


def _half_over_room_tone(make, rng: np.random.Generator) -> np.ndarray:
    """4-12 s of ``make(n, rng)``, over training-family room tone with probability 0.5."""
    from neuroflow.vad.roomtone import room_tone

    n = int(rng.uniform(4.0, 12.0) * SAMPLE_RATE)
    wav = make(n, rng)
    if rng.random() < 0.5:
        wav = wav + room_tone(n, rng, family="train")
    return wav


def _music_piece(rng: np.random.Generator, group: str) -> tuple[np.ndarray, str]:
    return _half_over_room_tone(
        lambda n, r: music_piece(n, r) * np.float32(10 ** (r.uniform(-45.0, -15.0) / 20)), rng), "music"


def gate_bands(wav: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``wav`` with its high bands (70 %: a low-pass at 1-5 kHz) or low bands (a high-pass at 150-600 Hz)
    switched off and on in blocks of 0.5-3 s, with 20 ms ramps; the first block is full-band or not at random."""
    from scipy.signal import butter, sosfiltfilt

    # an int rng was an AttributeError, a 2-d wav a broadcasting error after the filtering
    x = np.asarray(check_samples(wav), dtype=np.float64)
    rng = as_rng(rng, "rng")
    if rng.random() < 0.7:
        sos = butter(6, rng.uniform(1000.0, 5000.0), "lowpass", fs=SAMPLE_RATE, output="sos")
    else:
        sos = butter(4, rng.uniform(150.0, 600.0), "highpass", fs=SAMPLE_RATE, output="sos")
    cut = sosfiltfilt(sos, x)
    gate, t, full = np.zeros(len(x)), 0, bool(rng.random() < 0.5)
    while t < len(x):
        length = int(rng.uniform(0.5, 3.0) * SAMPLE_RATE)
        gate[t:t + length] = float(full)
        t, full = t + length, not full
    ramp = int(0.02 * SAMPLE_RATE)
    gate = np.convolve(gate, np.ones(ramp) / ramp, mode="same")
    return gate * x + (1.0 - gate) * cut


def gated_piece(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of training music (60 %) or white or pink noise through :func:`gate_bands`, at -45 to
    -15 dBFS: each return of the bands reads, band by band, as new energy over a floor that sank while they
    were gone (a filter sweep in the held-out track the shipped models call most speech)."""
    from neuroflow.vad.noise import make_noise
    from neuroflow.vad.sources import music_excerpt

    n, rng = check_piece(n, rng)  # make_noise's own check named its seed and n_samples
    if rng.random() < 0.6:
        wav = music_excerpt("train", n, rng).astype(np.float64)
    else:
        wav = make_noise(("white", "pink")[int(rng.integers(2))], n, seed=rng, group="A").astype(np.float64)
        wav /= max(float(np.sqrt(np.mean(wav ** 2))), 1e-12)
    return (gate_bands(wav, rng) * 10 ** (rng.uniform(-45.0, -15.0) / 20)).astype(np.float32)


def _gated_piece(rng: np.random.Generator, group: str) -> tuple[np.ndarray, str]:
    return _half_over_room_tone(gated_piece, rng), "gated"


#: kind -> (piece maker, seed tag)
_PIECES = {"noise": (_noise_piece, 0x0015E), "room": (_room_piece, 0x2007), "music": (_music_piece, 0x3051C),
           "talk": (_talk_piece, 0x7A1C), "gated": (_gated_piece, 0x6A7E)}
#: the kinds of speech-free piece
SPEECH_FREE = tuple(_PIECES)


def speech_free_pieces(kind: str, seconds: float, seed: int = 0, group: str = "A"):
    """About ``seconds`` of speech-free audio in pieces, yielding ``(wav float32 at 16 kHz, name)``:

    ``"noise"``
        2-10 s of white, pink, brown, car or street noise of ``group`` at -80 to -10 dBFS;
    ``"room"``
        3-10 s of :func:`room_tone_piece`;
    ``"music"``
        4-12 s of :func:`music_piece` at -45 to -15 dBFS, half of them over training-family room tone;
    ``"talk"``
        2-10 s of babble or cafe noise (eSpeak talkers of ``group``) at -70 to -30 dBFS;
    ``"gated"``
        4-12 s of :func:`gated_piece`, half of them over training-family room tone.

    The arguments are checked at the call, not at the first piece: as a generator it named an unknown kind only
    when read, and "x" seconds or seed -1 were a TypeError or numpy's "expected non-negative integer".
    """
    from neuroflow.vad.speech import GROUPS

    check_choice(kind, "kind", SPEECH_FREE)
    if not is_number(seconds, finite=True) or seconds < 0:
        raise ValueError(f"seconds: expected a non-negative finite number, got {seconds!r}")
    check_choice(group, "group", GROUPS)
    return _speech_free_pieces(kind, seconds, check_seed(seed), group)


def _speech_free_pieces(kind: str, seconds: float, seed: int, group: str):
    make, tag = _PIECES[kind]
    rng = np.random.default_rng([int(seed), tag])
    total = 0.0
    while total < seconds:
        wav, name = make(rng, group)
        yield wav, name
        total += len(wav) / SAMPLE_RATE
