"""Room tone: the quiet non-speech of a real recording, made from parts, at an absolute level.

A real recording opens with seconds of room tone: a low, coloured noise floor, mains hum, and faint
transients (clicks, breaths, keys, a chair). Detectors that see only each band's level above its own
noise floor call such transients speech, so the corpus puts room tone before, between and after the
words, at -80 to -55 dBFS (RMS of the whole file) as real recordings have it.

Two recipe families, so that a test on room tone is not a test on the training recipe:

``"train"``
    Pink-to-brown floor (spectral slope drawn per file); 50 Hz mains hum with a few harmonics;
    single clicks (1-4 ms decaying bursts, 0.1-1 per second); taps (10-40 ms knocks on a table,
    resonant at 200-2000 Hz); breaths (0.3-0.8 s of band-passed noise, 300-3500 Hz, smooth
    envelope); bursts of keyboard typing (3-15 keystrokes 70-250 ms apart, each a press and a
    release with a 2-6 kHz resonance).
``"test"``
    Floor of white noise through a random three-band equaliser plus a ventilation fan (a rumble
    with blade-pass tones at 20-120 Hz); 60 Hz hum with a buzz (a clipped sine, rich in odd
    harmonics); mouse clicks (pairs of 0.5-2 ms ticks 60-150 ms apart); chair creaks (0.1-0.4 s
    gliding resonances at 150-900 Hz); soft thumps (low-passed 20-60 ms knocks); paper rustles
    (0.2-1 s of high-passed crackle).

In both the floor is not stationary: its level wanders by a few dB over seconds (a slow random gain,
2-6 dB standard deviation, correlated over 0.5-4 s), as air conditioning and distant traffic make it.
Transients sit 8-35 dB above the floor's RMS, as the issue's -70 dBFS tone with -54 dBFS clicks does.
:func:`room_tone` returns float32 at 16 kHz with the requested RMS level; it draws only from ``seed``.
"""
from __future__ import annotations

import numpy as np

from neuroflow._utils import as_rng, check_choice, check_memory, check_positive, is_number
from neuroflow.vad.audio import SAMPLE_RATE

FAMILIES = ("train", "test")
#: RMS level range of room tone in the corpus (dBFS, full scale = 1.0)
LEVEL_RANGE_DB = (-80.0, -55.0)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def _coloured(n: int, rng, slope: float) -> np.ndarray:
    """Gaussian noise with a power spectrum falling as f**-slope above 30 Hz, unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    spec *= np.maximum(f, 30.0) ** (-slope / 2.0)
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    return x / (_rms(x) or 1.0)


def _filter(x: np.ndarray, kind: str, freq, order: int = 2) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(order, freq, btype=kind, fs=SAMPLE_RATE, output="sos"), x)


def _wander(n: int, rng) -> np.ndarray:
    """A slowly wandering gain: exp of Gaussian noise smoothed over 0.5-4 s, 2-6 dB standard deviation."""
    from scipy.ndimage import gaussian_filter1d

    hop = 160  # draw the curve at 100 Hz, then interpolate
    m = n // hop + 2
    curve = gaussian_filter1d(rng.standard_normal(m), sigma=rng.uniform(0.5, 4.0) * SAMPLE_RATE / hop / 2.0)
    curve *= rng.uniform(2.0, 6.0) / (np.std(curve) or 1.0)
    db = np.interp(np.arange(n) / hop, np.arange(m), curve)
    with np.errstate(over="ignore", under="ignore"):
        gain = 10 ** (db / 20)
    if np.all(np.isfinite(gain)) and 1e-100 < gain.min() and gain.max() < 1e100:
        return gain
    # a clip much shorter than the smoothing (1 s against up to 4 s): the curve is nearly flat and its spread rounding
    # noise, so the scaling above threw its level past what a float holds (1 s of room tone came out as NaN or as
    # digital silence in 1 of 5 seeds); the level is normalised away after, so the curve about its mean is the same
    return 10 ** ((db - np.mean(db)) / 20)


def _place(out: np.ndarray, event: np.ndarray, start: int, gain: float) -> None:
    end = min(len(out), start + len(event))
    if end > start:
        out[start:end] += gain * event[: end - start]


def _events(rng, n: int, rate_hz: float) -> np.ndarray:
    """Start samples of a Poisson process with ``rate_hz`` over ``n`` samples (sorted)."""
    count = int(rng.poisson(rate_hz * n / SAMPLE_RATE))
    return np.sort(rng.integers(0, max(n, 1), size=count))


# ----------------------------------------------------------------------------- training family
def _hum(n: int, rng, f0: float, harmonics, buzz: bool = False) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    f = f0 * (1.0 + rng.uniform(-0.002, 0.002))
    if buzz:  # a clipped sine: odd harmonics, as from a transformer or a fluorescent lamp
        x = np.clip(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) * rng.uniform(1.5, 4.0), -1.0, 1.0)
    else:
        x = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * k * f * t + rng.uniform(0, 2 * np.pi))
                for k in harmonics)
    wobble = 1.0 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t)
    x = x * wobble
    return x / (_rms(x) or 1.0)


def _click(rng) -> np.ndarray:
    m = int(rng.uniform(0.001, 0.004) * SAMPLE_RATE)
    t = np.arange(m) / SAMPLE_RATE
    return rng.standard_normal(m) * np.exp(-t / rng.uniform(0.0003, 0.0015))


def _breath(rng) -> np.ndarray:
    m = int(rng.uniform(0.3, 0.8) * SAMPLE_RATE)
    lo = rng.uniform(300, 800)
    x = _filter(rng.standard_normal(m), "band", [lo, min(lo * rng.uniform(3, 6), 3500.0)])
    return x * np.hanning(m) ** rng.uniform(0.7, 1.5) / (_rms(x) or 1.0)


def _keystroke(rng) -> np.ndarray:
    m = int(0.12 * SAMPLE_RATE)
    out = np.zeros(m)
    f = rng.uniform(2000, 6000)
    for start in (0, int(rng.uniform(0.03, 0.08) * SAMPLE_RATE)):
        k = int(rng.uniform(0.005, 0.02) * SAMPLE_RATE)
        t = np.arange(k) / SAMPLE_RATE
        hit = (np.sin(2 * np.pi * f * t) + 0.5 * rng.standard_normal(k)) * np.exp(-t / rng.uniform(0.001, 0.004))
        _place(out, hit, start, rng.uniform(0.4, 1.0))
    return out


def _tap(rng) -> np.ndarray:
    m = int(rng.uniform(0.01, 0.04) * SAMPLE_RATE)
    t = np.arange(m) / SAMPLE_RATE
    x = np.sin(2 * np.pi * rng.uniform(200, 2000) * t) * np.exp(-t / (t[-1] / 5 + 1e-4))
    x = x + 0.3 * rng.standard_normal(m) * np.exp(-t / 0.002)
    return x / (_rms(x) or 1.0)


def _typing(rng) -> np.ndarray:
    """A burst of 3-15 keystrokes, 70-250 ms apart, each 8-25 dB above the floor (relative gains)."""
    gaps = (rng.uniform(0.07, 0.25, size=int(rng.integers(3, 16))) * SAMPLE_RATE).astype(int)
    out = np.zeros(int(gaps.sum()) + int(0.12 * SAMPLE_RATE))
    pos = 0
    for gap in gaps:
        _place(out, _keystroke(rng), pos, 10 ** (rng.uniform(0, 17) / 20))
        pos += int(gap)
    return out


def _scatter(events: np.ndarray, rng, kinds) -> np.ndarray:
    """Add transients at Poisson times: ``kinds`` holds (rate range /s, maker, gain range dB) per kind."""
    for rate, make, gain_db in kinds:
        for s in _events(rng, len(events), rng.uniform(*rate)):
            _place(events, make(rng), int(s), 10 ** (rng.uniform(*gain_db) / 20))
    return events


def _train_family(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    floor = _coloured(n, rng, rng.uniform(1.0, 2.0)) * _wander(n, rng)
    if rng.random() < 0.7:
        floor = floor + 10 ** (rng.uniform(-12, 3) / 20) * _hum(n, rng, 50.0, range(1, int(rng.integers(2, 6))))
    events = _scatter(np.zeros(n), rng, (((0.1, 1.0), _click, (8, 35)), ((0.0, 0.3), _tap, (5, 25)),
                                         ((0.0, 0.15), _breath, (0, 15)), ((0.0, 0.1), _typing, (8, 8))))
    return floor, events


# ----------------------------------------------------------------------------- test family
def _fan(n: int, rng) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    rumble = _filter(rng.standard_normal(n), "low", rng.uniform(150, 400))
    blade = rng.uniform(20, 120)
    tones = sum(np.sin(2 * np.pi * k * blade * t + rng.uniform(0, 2 * np.pi)) / k for k in (1, 2, 3))
    x = rumble / (_rms(rumble) or 1.0) + rng.uniform(0.1, 0.6) * tones / (_rms(tones) or 1.0)
    return x / (_rms(x) or 1.0)


def _equalised_white(n: int, rng) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    gains_db = rng.uniform(-15, 5, size=3)
    shape = np.interp(np.log10(np.maximum(f, 20.0)), [np.log10(100), np.log10(1000), np.log10(6000)], gains_db)
    x = np.fft.irfft(spec * 10 ** (shape / 20), n)
    return x / (_rms(x) or 1.0)


def _mouse_click(rng) -> np.ndarray:
    gap = int(rng.uniform(0.06, 0.15) * SAMPLE_RATE)
    out = np.zeros(gap + 64)
    for start in (0, gap):
        k = int(rng.uniform(0.0005, 0.002) * SAMPLE_RATE) + 2
        _place(out, np.diff(rng.standard_normal(k + 1)) * np.exp(-np.arange(k) / (k / 3)), start,
               rng.uniform(0.5, 1.0))
    return out


def _creak(rng) -> np.ndarray:
    m = int(rng.uniform(0.1, 0.4) * SAMPLE_RATE)
    t = np.arange(m) / SAMPLE_RATE
    f = np.linspace(rng.uniform(150, 900), rng.uniform(150, 900), m)
    pulses = (np.sin(2 * np.pi * np.cumsum(f) / SAMPLE_RATE) > 0.95).astype(float)  # a stick-slip pulse train
    x = _filter(pulses + 0.1 * rng.standard_normal(m), "band", [100.0, 2500.0]) * np.hanning(m)
    return x / (_rms(x) or 1.0) * (t[-1] > 0)


def _thump(rng) -> np.ndarray:
    m = int(rng.uniform(0.02, 0.06) * SAMPLE_RATE)
    t = np.arange(m) / SAMPLE_RATE
    x = _filter(rng.standard_normal(m), "low", rng.uniform(150, 500)) * np.exp(-t / (t[-1] / 4 + 1e-4))
    return x / (_rms(x) or 1.0)


def _rustle(rng) -> np.ndarray:
    m = int(rng.uniform(0.2, 1.0) * SAMPLE_RATE)
    crackle = rng.standard_normal(m) * (rng.random(m) < rng.uniform(0.02, 0.2))
    x = _filter(crackle, "high", rng.uniform(1000, 3000)) * np.hanning(m)
    return x / (_rms(x) or 1.0)


def _test_family(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    floor = (_equalised_white(n, rng) + 10 ** (rng.uniform(-6, 6) / 20) * _fan(n, rng)) * _wander(n, rng)
    if rng.random() < 0.7:
        floor = floor + 10 ** (rng.uniform(-12, 3) / 20) * _hum(n, rng, 60.0, (), buzz=True)
    events = _scatter(np.zeros(n), rng, (((0.05, 0.6), _mouse_click, (10, 35)), ((0.0, 0.1), _creak, (5, 20)),
                                         ((0.0, 0.2), _thump, (10, 25)), ((0.0, 0.1), _rustle, (0, 15))))
    return floor, events


_RECIPES = {"train": _train_family, "test": _test_family}


#: peak memory per sample of :func:`room_tone`, bytes (measured with tracemalloc: 28)
BYTES_PER_SAMPLE = 32


def room_tone(n_samples: int, seed=None, family: str = "train", level_db: float | None = None) -> np.ndarray:
    """``n_samples`` of room tone at 16 kHz (float32) from recipe ``family`` ("train" or "test").

    Parameters
    ----------
    n_samples : int
        Length in samples.
    seed : int, numpy.random.Generator or None
        Randomness (the recipe's choices and every noise sample).
    family : str
        Recipe family (see the module docstring); the test family shares no component with training.
    level_db : float, optional
        RMS level of the floor in dBFS; drawn from :data:`LEVEL_RANGE_DB` when None. Transients come on
        top, 8-30 dB above it.

    Returns
    -------
    numpy.ndarray
        float32 samples.
    """
    check_positive(n_samples, "n_samples", integer=True)
    check_memory(BYTES_PER_SAMPLE * int(n_samples), "n_samples")  # 10**13 was numpy's MemoryError
    check_choice(family, "family", FAMILIES)
    rng = as_rng(seed)
    if level_db is not None and not is_number(level_db):  # "x" was "could not convert string to float: 'x'"
        raise ValueError(f"level_db: expected a finite level in dBFS (<= 0), got {level_db!r}")
    level = float(rng.uniform(*LEVEL_RANGE_DB)) if level_db is None else float(level_db)
    if not np.isfinite(level) or level > 0:
        raise ValueError(f"level_db: expected a finite level in dBFS (<= 0), got {level_db!r}")
    floor, events = _RECIPES[family](int(n_samples), rng)
    floor = floor / (_rms(floor) or 1.0)
    gain = 10 ** (level / 20)
    return (gain * (floor + events)).astype(np.float32)
