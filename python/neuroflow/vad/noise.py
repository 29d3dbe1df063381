"""Background noises for the VAD corpus: coloured noise, babble, cafe, street, car, reverberant room, music.

Every generator has the signature ``make(n_samples, rng, group) -> float32 array`` with unit RMS, at
16 kHz, and draws only from ``rng`` (so a seed fixes it). Babble and cafe use eSpeak voices and
sentences of the corpus ``group``, so groups A and B share no babble talker. Nothing is downloaded:
:data:`NOISE_TYPES` are generated; "music" (:data:`RECORDED_NOISES`) is recorded music from a Debian
package (:func:`neuroflow.vad.sources.music_excerpt`: music on hold and four game soundtracks for group
A, the held-out asc-music soundtrack for group B). :func:`room_impulse_response` makes the synthetic room response used by the "reverb" condition.
"""
from __future__ import annotations

import numpy as np

from neuroflow._utils import as_rng, check_choice, check_memory, check_positive
from neuroflow.vad.audio import SAMPLE_RATE, check_piece, check_samples

NOISE_TYPES = ("white", "pink", "brown", "babble", "cafe", "street", "car", "reverb")
#: noises read from installed packages rather than generated
RECORDED_NOISES = ("music",)


def check_generator_args(n, rng, group) -> tuple[int, np.random.Generator]:
    """``(n, rng)`` of a generator call ``make(n_samples, rng, group)``, or ValueError naming ``n``, ``rng`` or
    ``group``: a string, None or -5 samples, or a seed where a Generator belongs, were numpy's TypeError or "negative
    dimensions", or an AttributeError ("'int' object has no attribute 'standard_normal'"), and a group other than A
    or B was taken as B by "music". An int seed is taken as :func:`~neuroflow._utils.as_rng` takes it; a Generator is
    used as it is, so a seeded call draws what it drew before."""
    from neuroflow.vad.speech import GROUPS

    check_choice(group, "group", GROUPS)
    return check_piece(n, rng)


def _unit_rms(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return (x / rms).astype(np.float32) if rms > 0 else x.astype(np.float32)


def _shaped_noise(n: int, rng, exponent: float, f_low: float = 20.0) -> np.ndarray:
    """Gaussian noise with power spectral density proportional to 1 / f**exponent (flat below ``f_low``)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    spec *= np.maximum(f, f_low) ** (-exponent / 2.0)
    spec[0] = 0.0
    return np.fft.irfft(spec, n)


def white(n: int, rng, group: str = "A") -> np.ndarray:
    n, rng = check_generator_args(n, rng, group)
    return _unit_rms(rng.standard_normal(n))


def pink(n: int, rng, group: str = "A") -> np.ndarray:
    n, rng = check_generator_args(n, rng, group)
    return _unit_rms(_shaped_noise(n, rng, 1.0))


def brown(n: int, rng, group: str = "A") -> np.ndarray:
    n, rng = check_generator_args(n, rng, group)
    return _unit_rms(_shaped_noise(n, rng, 2.0))


def _talker_stream(n: int, rng, group: str, max_seconds: float = 20.0) -> np.ndarray:
    """One babble talker: sentences spoken back to back (at most ``max_seconds``, then looped from a random point)."""
    from neuroflow.vad.speech import SentenceGenerator, random_voice, synthesize

    voice = random_voice(group, rng)
    sentences = SentenceGenerator(group, rng)
    target = min(n, int(max_seconds * SAMPLE_RATE))
    parts, total = [], 0
    while total < target:
        wav = synthesize(sentences.sentence(), voice)
        parts.append(wav)
        parts.append(np.zeros(int(rng.uniform(0.05, 0.3) * SAMPLE_RATE), np.float32))
        total += len(wav) + len(parts[-1])
    stream = _unit_rms(np.concatenate(parts))
    start = int(rng.integers(len(stream)))
    reps = int(np.ceil((n + start) / len(stream)))
    return np.tile(stream, reps)[start:start + n]


def babble(n: int, rng, group: str = "A", talkers: int | None = None) -> np.ndarray:
    """Several eSpeak talkers of ``group`` (4 to 7 unless given) summed with random levels."""
    n, rng = check_generator_args(n, rng, group)
    from neuroflow.vad.speech import engine

    engine().reset()  # synthesis then depends only on rng (see ESpeak.reset)
    k = int(rng.integers(4, 8)) if talkers is None else int(talkers)
    out = np.zeros(n, np.float64)
    for _ in range(k):
        out += rng.uniform(0.6, 1.0) * _talker_stream(n, rng, group)
    return _unit_rms(out)


def _clatter(n: int, rng, rate_hz: float) -> np.ndarray:
    """Dish and cutlery clatter: damped resonances (1.5-7 kHz) struck at Poisson times."""
    out = np.zeros(n, np.float64)
    count = int(rng.poisson(rate_hz * n / SAMPLE_RATE))
    for _ in range(count):
        dur = int(rng.uniform(0.04, 0.25) * SAMPLE_RATE)
        start = int(rng.integers(max(1, n - dur)))
        t = np.arange(dur) / SAMPLE_RATE
        tau = rng.uniform(0.01, 0.06)
        tone = sum(rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * rng.uniform(1500, 7000) * t + rng.uniform(0, 2 * np.pi))
                   for _ in range(int(rng.integers(1, 4))))
        burst = (tone + 0.3 * rng.standard_normal(dur)) * np.exp(-t / tau) * rng.uniform(0.3, 1.0)
        out[start:start + dur] += burst[: n - start]
    return out


def cafe(n: int, rng, group: str = "A") -> np.ndarray:
    """Babble of 5-9 talkers, a little pink room noise, and clatter transients (about 1.5 per second)."""
    n, rng = check_generator_args(n, rng, group)
    base = babble(n, rng, group, talkers=int(rng.integers(5, 10)))
    clat = _clatter(n, rng, rate_hz=rng.uniform(0.8, 2.5))
    clat_rms = float(np.sqrt(np.mean(clat**2))) or 1.0
    return _unit_rms(base + 0.25 * pink(n, rng) + rng.uniform(0.5, 1.0) * clat / clat_rms)


def _lowpass(x: np.ndarray, cutoff_hz: float, order: int = 4) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(order, cutoff_hz, btype="low", fs=SAMPLE_RATE, output="sos"), x)


def _bandpass(x: np.ndarray, lo: float, hi: float, order: int = 2) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(order, [lo, hi], btype="band", fs=SAMPLE_RATE, output="sos"), x)


def street(n: int, rng, group: str = "A") -> np.ndarray:
    """Traffic: low-frequency rumble with slow level changes, vehicles passing by, and the odd horn."""
    n, rng = check_generator_args(n, rng, group)
    t = np.arange(n) / SAMPLE_RATE
    rumble = _lowpass(brown(n, rng), 250.0)
    rumble *= 1.0 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.02, 0.1) * t + rng.uniform(0, 2 * np.pi))
    out = _unit_rms(rumble).astype(np.float64)
    duration = n / SAMPLE_RATE
    for _ in range(int(rng.poisson(duration / rng.uniform(4.0, 10.0)))):
        centre, width = rng.uniform(0, duration), rng.uniform(0.8, 2.5)
        envelope = np.exp(-0.5 * ((t - centre) / width) ** 2)
        lo = rng.uniform(60, 200)
        vehicle = _bandpass(rng.standard_normal(n), lo, lo * rng.uniform(6, 20))
        out += rng.uniform(1.0, 3.0) * envelope * vehicle / (np.std(vehicle) + 1e-12)
    for _ in range(int(rng.poisson(duration / 30.0))):
        dur = int(rng.uniform(0.2, 0.7) * SAMPLE_RATE)
        start = int(rng.integers(max(1, n - dur)))
        tt = np.arange(dur) / SAMPLE_RATE
        f0 = rng.uniform(300, 500)
        horn = sum(np.sin(2 * np.pi * k * f0 * tt) / k for k in range(1, 6)) * np.hanning(dur)
        out[start:start + dur] += rng.uniform(1.0, 2.0) * horn[: n - start]
    return _unit_rms(out)


def car(n: int, rng, group: str = "A") -> np.ndarray:
    """Inside a car: engine harmonics that follow a slowly wandering RPM, plus low-passed road noise."""
    n, rng = check_generator_args(n, rng, group)
    t = np.arange(n) / SAMPLE_RATE
    rpm = rng.uniform(1500, 3000) * (1.0 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.01, 0.05) * t
                                                         + rng.uniform(0, 2 * np.pi)))
    firing_hz = rpm / 60.0 * 2.0  # a four-cylinder engine fires twice per revolution
    phase = 2 * np.pi * np.cumsum(firing_hz) / SAMPLE_RATE
    engine = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k**1.5 for k in range(1, 8))
    road = _unit_rms(_lowpass(pink(n, rng), rng.uniform(400, 900)))
    return _unit_rms(0.6 * _unit_rms(engine) + road)


def room_impulse_response(rng, rt60: float | None = None, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A synthetic room impulse response: direct path, sparse early reflections, exponential diffuse tail.

    ``rt60`` (s, the time the tail takes to decay by 60 dB) is drawn from U(0.3, 0.9) unless given.
    The response is normalised to unit energy.
    """
    rng = as_rng(rng, "rng")
    rt60 = float(rng.uniform(0.3, 0.9)) if rt60 is None else float(check_positive(rt60, "rt60"))
    length = int(min(rt60 * 1.2, 2.0) * sr)
    t = np.arange(length) / sr
    h = rng.standard_normal(length) * np.exp(-6.9078 * t / rt60)  # ln(1000): -60 dB at t = rt60
    h[: int(0.005 * sr)] *= np.linspace(0.0, 1.0, int(0.005 * sr))  # tail builds up after the direct sound
    h[0] = 4.0  # direct path
    for _ in range(8):
        k = int(rng.uniform(0.002, 0.04) * sr)
        h[k] += rng.uniform(-1.5, 1.5)
    h = _lowpass(h, 6000.0, order=2)  # air and wall absorption of high frequencies
    return (h / np.sqrt(np.sum(h**2))).astype(np.float32)


def reverberate(wav: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve ``wav`` with ``rir`` (FFT), keeping the original length."""
    from scipy.signal import fftconvolve

    wav, rir = check_samples(wav, "wav"), check_samples(rir, "rir")  # "in1 and in2 should have the same ..."
    return fftconvolve(wav, rir)[: len(wav)].astype(np.float32)


def reverb(n: int, rng, group: str = "A") -> np.ndarray:
    """The noise of the reverberant-room condition: pink noise and a faint babble heard through a room."""
    n, rng = check_generator_args(n, rng, group)
    rir = room_impulse_response(rng)
    base = pink(n, rng) + 0.5 * babble(n, rng, group, talkers=3)
    return _unit_rms(reverberate(base, rir))


def music(n: int, rng, group: str = "A") -> np.ndarray:
    """Recorded music: the training music of :mod:`neuroflow.vad.sources` for group A, ``asc-music`` for group B."""
    n, rng = check_generator_args(n, rng, group)
    from neuroflow.vad.sources import music_excerpt

    return music_excerpt("train" if group == "A" else "test", n, rng)


_GENERATORS = {"white": white, "pink": pink, "brown": brown, "babble": babble, "cafe": cafe, "street": street,
               "car": car, "reverb": reverb, "music": music}


#: peak memory of a generator per sample, bytes (measured with tracemalloc: 20 for white to 64 for music)
BYTES_PER_SAMPLE = 64


def make_noise(kind: str, n_samples: int, seed=None, group: str = "A") -> np.ndarray:
    """``n_samples`` of noise ``kind`` (one of :data:`NOISE_TYPES` or "music") at 16 kHz with unit RMS, seeded."""
    check_choice(kind, "kind", NOISE_TYPES + RECORDED_NOISES)
    check_positive(n_samples, "n_samples", integer=True)
    check_memory(BYTES_PER_SAMPLE * int(n_samples), "n_samples")  # 10**13 was numpy's MemoryError, not the argument
    return _GENERATORS[kind](int(n_samples), as_rng(seed), group)
