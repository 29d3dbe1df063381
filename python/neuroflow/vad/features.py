"""Log-mel filterbank features at 10 ms hop / 25 ms window, the input of every VAD model here.

Frame alignment (shared by features, corpus labels, metrics and every :class:`~neuroflow.vad.systems.VADSystem`)
------------------------------------------------------------------------------------------------
At 16 kHz a frame is 10 ms = ``HOP = 160`` samples, and a signal of ``n`` samples has::

    n_frames = n // 160

frames. Frame ``t`` *labels* the samples ``[160 t, 160 (t + 1))``; its 25 ms (400-sample) analysis
window is centred on the centre of that interval (sample ``160 t + 80``), so it starts at
``160 t - 120``. The signal is zero-padded at both ends so that every frame has a full window. A
trailing partial frame (``n % 160`` samples) is dropped everywhere. :func:`n_frames` computes it;
corpus labels (``Scene.labels``) and ``VADSystem.score`` outputs have exactly this length.

One path for files and streams
------------------------------
Every stateful step is a function ``step(input, state) -> (output, state)`` (``state=None`` starts
afresh): :func:`frame_step` cuts samples into windows, :func:`noise_floor` and :func:`running_zscore`
normalise, and :class:`neuroflow.vad.frontend.FeatureExtractor` chains them (with :func:`log_mel` in
between) for a model's feature configuration. The batch functions (:func:`frame_signal`,
:func:`logmel`, :func:`normalize`, ``FeatureExtractor.transform``) are those steps over one chunk, so a stream fed in pieces gives the
numbers of one call on the whole.

Normalisation
-------------
``norm="utterance"`` subtracts each band's mean over the whole input and divides by its standard
deviation; ``norm="running"`` does the same with exponentially weighted (causal) statistics, as a
streaming detector would; ``norm="none"`` leaves log energies as they are.

``norm="floor"`` subtracts a causal per-band *noise floor* instead (minimum statistics, after R.
Martin 2001: the minimum, over the last ``floor_window`` frames, of the band's log energy smoothed
by an exponential average with factor ``floor_smooth``; see :func:`noise_floor`), so every value is
a log signal-to-floor ratio. It keeps what the z-scores throw away: stationary noise of any level,
colour or gain stays within about a nat of 0, its own fluctuations, while a z-score rescales those
fluctuations to unit variance, where they look like speech. The floor needs no warm-up (the running
z-score's start made the first seconds of any input look loud), and a constant gain or spectral
tilt cancels exactly.

A minimum over 1.5 s also sinks with a band that fades out alone (a synthesiser's filter sweep, a
held note released) and reads its return as a new sound for the whole window. ``floor_fall_db``
(dB per second) bounds that: a band's floor sinks at most that fast, and only while the band is
below it, unless the whole signal's floor sinks too (a quieter background), which the bands follow
at once (the ``fall`` and ``reference`` of :func:`noise_floor`).

Absolute level
--------------
The floor-relative bands are blind to how loud a sound is: a faint click in near-silent room tone
stands as far above *its* floor as a word does above a noisy one. A model configuration with
``"level": True`` adds inputs that carry the absolute level (:mod:`neuroflow.vad.level`), and with
``"skip_silence": True`` frames of digital silence neither enter the noise floor nor age it, so
steady noise that starts after digital silence reads as steady noise from its first frame
(:mod:`neuroflow.vad.frontend` chains these for a model).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from neuroflow._utils import check_array, check_choice, check_positive, is_integer, is_number
from neuroflow.vad.audio import SAMPLE_RATE, check_sample_rate, check_samples, prepare

#: samples per 10 ms frame at 16 kHz
HOP = 160
#: samples per 25 ms analysis window at 16 kHz
WIN = 400
#: frames per second
FRAME_RATE = SAMPLE_RATE // HOP
#: frames whose 25 ms window energy is below this (dB re full scale) are digital silence
SILENCE_DB = -90.0

NORMS = ("none", "utterance", "running", "floor")
#: the normalisations a stream can compute (the utterance z-score needs the whole input)
CAUSAL_NORMS = ("none", "running", "floor")
#: defaults of the "floor" normalisation: minimum over 1.5 s of log energies smoothed over ~50 ms
FLOOR_WINDOW = 150
FLOOR_SMOOTH = 0.8
#: default factor of the running z-score's exponential averages
ALPHA = 0.995
#: log(max(mel energy, LOG_FLOOR)) keeps log-mel finite in digital silence
LOG_FLOOR = 1e-10


def n_frames(n_samples: int, sr: int = SAMPLE_RATE) -> int:
    """Number of 10 ms frames for ``n_samples`` at ``sr`` (after resampling to 16 kHz when ``sr`` differs)."""
    if not is_integer(n_samples) or n_samples < 0:  # -1600 gave -10 frames, "1600" and 1600.5 were taken
        raise ValueError(f"n_samples: expected a non-negative whole number of samples, got {n_samples!r}")
    check_sample_rate(sr)
    if int(sr) != SAMPLE_RATE:
        n_samples = int(np.ceil(int(n_samples) * SAMPLE_RATE / int(sr)))
    return int(n_samples) // HOP


def frame_times(n: int) -> np.ndarray:
    """Start time (s) of each of ``n`` frames."""
    if not is_integer(n) or n < 0:  # "x" was int()'s "invalid literal", 2.7 taken as 2 frames, -3 as none
        raise ValueError(f"n: expected a non-negative whole number of frames, got {n!r}")
    return np.arange(int(n)) * (HOP / SAMPLE_RATE)


# ============================================================================= framing
def frame_step(x: np.ndarray, state: dict | None = None, *, final: bool = False,
               frame_length: int = WIN, history: int = 0) -> tuple[np.ndarray, dict]:
    """Windows of the frames that ``x`` completes, and the state to continue from.

    Frame ``t``'s window (``frame_length`` samples) is centred on samples ``[160 t, 160 t + 160)``;
    ``history`` more samples before it extend the window into the past (rows of ``history +
    frame_length`` samples that end where the centred window ends, so a longer look back costs no
    latency). The signal is zero-padded in front. A frame is complete once its window is full; with
    ``final=True`` the input ends, the window is zero-padded behind, and every one of the
    ``n_samples // 160`` frames has been returned. Returns ``(frames (n, history + frame_length), state)``;
    ``frames`` views the state's buffer, so use it before the next call.
    """
    x = np.asarray(x)
    length = int(frame_length) + int(history)
    if state is None:
        state = {"buf": np.zeros(frame_length // 2 - HOP // 2 + int(history), x.dtype), "n_in": 0, "n_out": 0}
    buf = np.concatenate([state["buf"], x]) if len(x) else state["buf"]
    n_in = state["n_in"] + len(x)
    due = n_in // HOP - state["n_out"]  # frames whose labelled samples have all arrived
    if final:
        n = due
        need = n * HOP + length - HOP
        if len(buf) < need:
            buf = np.concatenate([buf, np.zeros(need - len(buf), buf.dtype)])
    else:
        n = max(0, min((len(buf) - length) // HOP + 1, due))
    if n <= 0:
        return np.zeros((0, length), buf.dtype), {"buf": buf, "n_in": n_in, "n_out": state["n_out"]}
    frames = np.lib.stride_tricks.sliding_window_view(buf[: (n - 1) * HOP + length], length)[::HOP]
    return frames, {"buf": buf[n * HOP:], "n_in": n_in, "n_out": state["n_out"] + n}


def moving_average(x: np.ndarray, width: int, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.signal.lfilter(np.full(width, 1 / width), [1.0], x, axis=0, zi=zi)``: the mean of the last ``width``
    rows of float64 ``x`` (``zi``, (width - 1,) + ``x.shape[1:]``: the partial sums the rows before left), and the
    state to continue from; the same floats as that call.

    scipy convolves each column with ``np.convolve`` through ``np.apply_along_axis`` (~250 us a call for one row of
    82 columns, most of it ``apply_along_axis``'s own work). Here one row, the stream's 10 ms chunk, is done at once:
    each of its outputs is a single product plus the carried sum, as in scipy's convolution of one row. Longer pieces
    make the same ``np.convolve`` calls on the same column views as scipy, without ``apply_along_axis``. Either way
    the floats are scipy's; other input types and state shapes go to scipy itself.
    """
    b = np.full(width, 1.0 / width)
    if not (x.dtype == np.float64 and zi.dtype == np.float64 and zi.shape == (width - 1,) + x.shape[1:]
            and x.ndim in (1, 2) and len(x)):
        from scipy.signal import lfilter

        return lfilter(b, [1.0], x, axis=0, zi=zi)
    if len(x) == 1:
        full = b.reshape((width,) + (1,) * (x.ndim - 1)) * x[0]  # what scipy's convolution gives for one row
    else:
        cols = x.reshape(len(x), -1)
        full = np.empty((len(x) + width - 1, cols.shape[1]))
        for c in range(cols.shape[1]):
            full[:, c] = np.convolve(b, cols[:, c])
        full = full.reshape((len(full),) + x.shape[1:])
    full[:width - 1] += zi
    return full[:len(x)], full[len(x):]


def clip_below_peak(raw: np.ndarray, range_db: float) -> np.ndarray:
    """Log-mel frames (natural-log power, (n, bands)) with every band raised to at most ``range_db`` dB below
    its frame's loudest band, so leakage and rounding noise in the quiet bands do not count as movement."""
    return np.maximum(raw, raw.max(axis=1, keepdims=True) - range_db * math.log(10.0) / 10.0)


def check_window_seconds(window, name: str, min_frames: int) -> float:
    """``window`` (seconds) as a float, if it spans at least ``min_frames`` 10 ms frames; else a ValueError
    naming ``name``."""
    if isinstance(window, bool) or not isinstance(window, (int, float)) or not np.isfinite(window) \
            or round(float(window) * FRAME_RATE) < min_frames:
        raise ValueError(f"{name}: expected seconds spanning at least {min_frames} 10 ms frame"
                         f"{'s' if min_frames > 1 else ''} (>= {min_frames / FRAME_RATE:g}), got {window!r}")
    return float(window)


def frame_signal(wav: np.ndarray, frame_length: int = WIN, history: int = 0) -> np.ndarray:
    """(n_frames, history + frame_length) windows of ``wav``: frame t's centred on samples [160 t, 160 t + 160),
    with ``history`` samples of the past before it (:func:`frame_step`)."""
    # checked here, once per signal (frame_step, a stream's step, is not): None or a string was "len() of unsized
    # object", a 2-d array numpy's "all the input arrays must have same number of dimensions", frame_length -4
    # "negative dimensions", and history -1 cut every window a sample short
    wav = check_samples(wav)
    check_positive(frame_length, "frame_length", integer=True)
    check_positive(history, "history", integer=True, allow_zero=True)
    if frame_length // 2 - HOP // 2 + history < 0:  # a window that ends before its frame's labelled samples do
        raise ValueError(f"frame_length: expected at least {HOP - 2 * int(history)} samples with history "
                         f"{history} (a window centred on a {HOP}-sample frame covers it), got {frame_length}")
    return frame_step(wav, final=True, frame_length=frame_length, history=history)[0]


def window_energy_db(frames: np.ndarray) -> np.ndarray:
    """Mean-square energy (dB re full scale) of each row of ``frames``, in float64."""
    f = np.asarray(frames, dtype=np.float64)
    return 10.0 * np.log10(np.mean(f * f, axis=1) + 1e-12)


def frame_energy_db(wav: np.ndarray, frame_length: int = WIN) -> np.ndarray:
    """Mean-square energy (dB re full scale) of each frame's window, ``frame_signal`` alignment."""
    return window_energy_db(frame_signal(np.asarray(check_samples(wav), dtype=np.float64), frame_length))


# ============================================================================= log-mel
#: the largest FFT a feature configuration may ask for (every model uses 512 points; past a few thousand the mel
#: basis and the spectra of every frame take gigabytes)
MAX_N_FFT = 4096
_MEL_CACHE: dict[tuple, np.ndarray] = {}
_HANN = np.hanning(WIN + 1)[:-1].astype(np.float32)  # periodic Hann


def mel_basis(n_fft: int = 512, n_mels: int = 40, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """librosa's Slaney mel filters (n_mels, n_fft // 2 + 1) at 16 kHz, built once per setting."""
    # -1 was numpy's "negative dimensions are not allowed", "x" "could not convert string to float"
    check_positive(n_fft, "n_fft", integer=True)
    if n_fft > MAX_N_FFT:
        raise ValueError(f"n_fft: expected at most {MAX_N_FFT} points, got {n_fft}")
    check_positive(n_mels, "n_mels", integer=True)
    check_positive(fmin, "fmin", allow_zero=True)
    if fmax is not None and not (is_number(fmax, finite=True) and fmax > fmin):
        raise ValueError(f"fmax: expected None or a frequency above fmin ({fmin!r} Hz), got {fmax!r}")
    fmax = SAMPLE_RATE / 2 if fmax is None else float(fmax)
    key = (int(n_fft), int(n_mels), float(fmin), fmax)
    if key not in _MEL_CACHE:
        import librosa

        _MEL_CACHE[key] = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=key[0], n_mels=key[1], fmin=key[2], fmax=fmax)
    return _MEL_CACHE[key]


def log_mel(frames: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Log mel energies (n, n_mels) float32 of (n, 400) windows: Hann, power spectrum, mel filters, log.

    Each row is computed on its own (``einsum``, not BLAS, whose blocking rounds a row differently
    depending on how many rows come with it), so a stream's frames equal a file's bit for bit.
    """
    n_fft = 2 * (basis.shape[1] - 1)
    spec = np.fft.rfft(frames * _HANN, n=n_fft, axis=1)
    power = spec.real ** 2 + spec.imag ** 2
    return np.log(np.maximum(np.einsum("tf,mf->tm", power, basis), LOG_FLOOR)).astype(np.float32)


def logmel(
    wav,
    sr: int = SAMPLE_RATE,
    n_mels: int = 40,
    *,
    n_fft: int = 512,
    fmin: float = 0.0,
    fmax: float | None = None,
    norm: str = "none",
) -> np.ndarray:
    """Log-mel filterbank energies, shape ``(n_frames, n_mels)``, float32.

    ``wav`` is any numeric 1-d or 2-d (stereo) signal at ``sr``; it is mixed down and resampled to
    16 kHz. Each frame is a 25 ms Hann window every 10 ms (zero-padded to ``n_fft``), aligned as the
    module docstring says, so ``len(result) == n_frames(len(wav), sr)``. The mel filters come from
    librosa (Slaney scale), the power spectrum is summed into them and ``log(max(energy, 1e-10))``
    taken; ``norm`` is "none" (default), "utterance", "running" or "floor" (:func:`normalize`).
    """
    check_positive(n_mels, "n_mels", integer=True)
    check_positive(n_fft, "n_fft", integer=True)
    if n_fft < WIN:
        raise ValueError(f"n_fft: expected at least the window length {WIN}, got {n_fft}")
    if n_fft > MAX_N_FFT:  # the mel filters alone: 75 GiB at 10**9 points
        raise ValueError(f"n_fft: expected at most {MAX_N_FFT} points, got {n_fft}")
    if n_mels > n_fft // 2 + 1:  # bands of no FFT bin: librosa's "empty filters" warning, and 10**8 of them 200 GB
        raise ValueError(f"n_mels: expected at most {n_fft // 2 + 1} bands (the FFT bins of n_fft={n_fft}), "
                         f"got {n_mels}")
    # a NaN, a negative fmin or one above fmax, an fmax past the Nyquist frequency: filters of nothing, read silently
    nyquist = SAMPLE_RATE / 2
    if not (is_number(fmin, finite=True) and 0.0 <= fmin < nyquist):
        raise ValueError(f"fmin: expected a frequency in [0, {nyquist:g}) Hz, got {fmin!r}")
    if fmax is not None and not (is_number(fmax, finite=True) and fmin < fmax <= nyquist):
        raise ValueError(f"fmax: expected a frequency in (fmin={fmin:g}, {nyquist:g}] Hz or None, got {fmax!r}")
    check_choice(norm, "norm", NORMS)
    with warnings.catch_warnings():  # librosa's multi-line "Empty filters detected": said below in one line
        warnings.simplefilter("ignore", UserWarning)
        basis = mel_basis(n_fft, n_mels, fmin, fmax)
    empty = int(np.sum(~basis.any(axis=1)))
    if empty:  # bands that hold no FFT bin read as LOG_FLOOR forever
        raise ValueError(f"n_mels: {empty} of {n_mels} mel bands between {fmin:g} and "
                         f"{SAMPLE_RATE / 2 if fmax is None else fmax:g} Hz hold no bin of a {n_fft}-point FFT; ask "
                         f"for fewer bands, a wider band or a larger n_fft")
    x = prepare(wav, sr)
    frames = frame_signal(x, WIN)
    if len(frames) == 0:
        return np.zeros((0, n_mels), dtype=np.float32)
    return normalize(log_mel(frames, basis), norm)


# ============================================================================= normalisation steps
def check_floor_settings(window, smooth, names: tuple[str, str] = ("floor_window", "floor_smooth")) -> tuple[int, float]:
    """Validated ``(window, smooth)`` of the "floor" normalisation; a ValueError names ``names`` (the recipe's
    fields, or the caller's arguments)."""
    check_positive(window, names[0], integer=True)
    if not (is_number(smooth) and 0.0 <= smooth < 1.0):  # "x" and None were float()'s errors, naming nothing
        raise ValueError(f"{names[1]}: expected an averaging factor in [0, 1), got {smooth!r}")
    return int(window), float(smooth)


def check_floor_fall(rate) -> float | None:
    """Validated ``floor_fall_db``: a positive, finite rate in dB per second, or None (no limit)."""
    if rate is not None and (isinstance(rate, bool) or not (isinstance(rate, (int, float))
                                                            and 0.0 < rate < math.inf)):
        raise ValueError(f"floor_fall_db: expected a positive rate in dB per second or None, got {rate!r}")
    return None if rate is None else float(rate)


#: frames up to which a running filter over a chunk takes each frame's window directly (a stream's chunks of up to
#: 160 ms): :func:`noise_floor`'s minimum here, the post-processor's maximum and odd median
#: (:mod:`neuroflow.vad.postprocess`), rather than scipy's filter over the whole carried window or ``np.median``
#: (faster up to ~20 frames)
DIRECT_FRAMES = 16


def floor_state(n_bands: int) -> dict:
    """Empty state of :func:`noise_floor` (nothing seen yet)."""
    check_positive(n_bands, "n_bands", integer=True, allow_zero=True)  # "x" was int()'s "invalid literal"
    return {"ema": np.zeros(int(n_bands)), "seen": 0, "tail": np.zeros((0, int(n_bands)))}


def noise_floor(feats: np.ndarray, window: int = FLOOR_WINDOW, smooth: float = FLOOR_SMOOTH,
                state: dict | None = None, *, skip: np.ndarray | None = None, fall: float | None = None,
                reference: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Causal per-band noise floor of (n_frames, n_bands) log energies, and the state to continue from.

    ``e[t]`` is the exponential average (factor ``smooth``) of the frames so far, bias-corrected so it
    starts as their plain mean; ``floor[t] = min(e[t - window + 1 .. t])``, leaving out the first
    ``warm = round(1 / (1 - smooth))`` frames (an average of a few frames still has nearly a frame's
    spread, and the lowest of those would set the floor for a whole window); before that,
    ``floor[t] = e[t]``. Feeding a signal in pieces with the returned ``state`` gives the floor of
    one call on the whole.

    ``skip`` (bool per frame) marks frames that are not part of the signal (digital silence): they
    neither enter the average nor the window, as if they had been cut out, and their floor is their
    own value (a level of 0 over the floor).

    ``fall`` (natural-log units per frame; None: no limit) bounds how fast a band's floor may sink,
    once the floors have seen a full window: from then on the floor holds while the band's level
    ``e[t]`` stands above it and sinks by at most ``fall`` plus the fall of ``reference``'s floor
    (a log level per frame, e.g. the whole signal's, by the same statistics) while ``e[t]`` is below
    it, and it rises with ``m`` (the minimum above) as before::

        floor[t] = max(m[t], floor[t - 1] - [e[t] < floor[t - 1]] (fall + max(0, r[t - 1] - r[t])))

    When the whole background gets quieter the bands' floors follow it at once; a band that fades out
    alone (a filter sweep, a released note) keeps most of its floor, so its return does not read as a
    new sound for a whole window. The first window is left free, so a stream that starts in speech
    finds its background at the first pause.
    """
    from scipy.ndimage import minimum_filter1d
    from scipy.signal import lfilter

    window, smooth = check_floor_settings(window, smooth, ("window", "smooth"))
    x = np.asarray(feats, dtype=np.float64)
    n_bands = x.shape[1]
    if fall is not None and not float(fall) >= 0.0:
        raise ValueError(f"fall: expected a non-negative fall per frame, got {fall!r}")
    if reference is not None:
        ref = np.asarray(reference, dtype=np.float64).reshape(-1)
        if len(ref) != len(x):
            raise ValueError(f"reference: expected one level per frame ({len(x)}), got {len(ref)}")
        if fall is None:
            raise ValueError("reference: only used with a fall limit (fall)")
        x = np.column_stack([x, ref])
    state = floor_state(x.shape[1]) if state is None else state
    if skip is not None and np.any(skip):
        keep = ~np.asarray(skip, bool)
        floor = x[:, :n_bands].copy()
        if keep.any():
            floor[keep], state = noise_floor(x[keep, :n_bands], window, smooth, state, fall=fall,
                                             reference=None if reference is None else x[keep, -1])
        return floor, state
    if len(x) == 0:
        return np.zeros_like(x[:, :n_bands]), state
    raw = lfilter([1.0 - smooth], [1.0, -smooth], x, axis=0, zi=(smooth * state["ema"])[None, :])[0]
    count = state["seen"] + np.arange(1, len(x) + 1)  # frames seen up to and including each one
    e = raw / (1.0 - smooth ** np.minimum(count, 10_000))[:, None]
    warm = int(round(1.0 / (1.0 - smooth)))
    cand = np.where((count > warm)[:, None], e, np.inf)
    ext = np.concatenate([state["tail"], cand])
    # causal running minimum of ext[j - window + 1 .. j] (+inf before the first frame) at each new frame j
    front = max(window - 1 - len(state["tail"]), 0)
    if len(x) <= DIRECT_FRAMES:  # a stream's few frames: the minima of their windows, without filtering the
        # whole padded tail (a minimum is exact, so the floats are the filter's)
        padded = np.concatenate([np.full((front, x.shape[1]), np.inf), ext]) if front else ext
        rows = padded[len(padded) - (len(x) + window - 1):]
        floor = (rows.min(axis=0, keepdims=True) if len(x) == 1
                 else np.lib.stride_tricks.sliding_window_view(rows, window, axis=0).min(axis=-1))
    else:  # pad ``window - 1`` frames of +inf in front; scipy's window for output i covers inputs
        # [i - window // 2, i - window // 2 + window - 1], so output j + window // 2 covers exactly the padded frames
        # j .. j + window - 1, i.e. ext[j - window + 1 .. j]
        pad = np.full((window - 1, x.shape[1]), np.inf)
        mins = minimum_filter1d(np.concatenate([pad, ext]), size=window, axis=0, mode="nearest")
        floor = mins[window // 2: window // 2 + len(ext)][len(state["tail"]):]
    floor = np.where((count > warm)[:, None], floor, e)
    tail = ext[-(window - 1):] if window > 1 else ext[:0]
    new = {"ema": raw[-1].copy(), "seen": int(count[-1]), "tail": tail.copy()}
    if fall is not None:
        allowed = np.full(len(x), float(fall))
        if reference is not None:
            ref_floor, floor, e = floor[:, -1], floor[:, :-1], e[:, :-1]
            before = np.concatenate([[state.get("reference", ref_floor[0])], ref_floor[:-1]])
            allowed += np.maximum(before - ref_floor, 0.0)
            new["reference"] = float(ref_floor[-1])
        floor, new["last"] = _limit_fall(floor, e, allowed, count > window, state.get("last"))
    return floor, new


def _limit_fall(floor: np.ndarray, level: np.ndarray, allowed: np.ndarray, on: np.ndarray,
                last: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``floor`` (the minimum statistics) sinking at most ``allowed`` per frame, and only while ``level`` is below
    it, on the frames ``on``; ``last`` is the floor of the frame before (None: none yet). A loop over frames: the
    fall of each frame depends on the floor of the one before."""
    out = floor.copy()
    prev = None if last is None else np.array(last, dtype=np.float64)
    for t in range(len(out)):
        if on[t] and prev is not None:
            out[t] = np.maximum(floor[t], np.where(level[t] < prev, prev - allowed[t], prev))
        prev = out[t]
    return out, (last if prev is None else prev.copy())


def running_zscore(feats: np.ndarray, alpha: float = ALPHA, state: dict | None = None,
                   eps: float = 1e-5) -> tuple[np.ndarray, dict]:
    """Causal per-band z-scores of (n_frames, n_bands) features with exponentially weighted mean and
    second moment (factor ``alpha``), initialised on the first frame; returns ``(z float32, state)``."""
    from scipy.signal import lfilter

    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    x = np.asarray(feats, dtype=np.float64)
    if len(x) == 0:
        return x.astype(np.float32), state
    if state is None:  # y[0] = (1 - a) x0 + a x0 = x0: the start is the first frame, not 0
        zmu, zm2 = alpha * x[0], alpha * (x[0] * x[0] + 1.0)
    else:
        zmu, zm2 = alpha * state["mu"], alpha * state["m2"]
    b, a = [1.0 - alpha], [1.0, -alpha]
    mu = lfilter(b, a, x, axis=0, zi=zmu[None, :])[0]
    m2 = lfilter(b, a, x * x, axis=0, zi=zm2[None, :])[0]
    var = np.maximum(m2 - mu * mu, 0.0)
    return ((x - mu) / (np.sqrt(var) + eps)).astype(np.float32), {"mu": mu[-1], "m2": m2[-1]}


def normalize(feats: np.ndarray, norm: str = "utterance", *, alpha: float = ALPHA, eps: float = 1e-5,
              floor_window: int = FLOOR_WINDOW, floor_smooth: float = FLOOR_SMOOTH) -> np.ndarray:
    """Normalise (n_frames, n_bands) features per band: "none", "utterance", "running" (EMA, factor
    ``alpha``, :func:`running_zscore`) or "floor" (minus :func:`noise_floor` with ``floor_window`` /
    ``floor_smooth``)."""
    check_choice(norm, "norm", NORMS)
    # a 1-d array was an IndexError ("floor", "running") or normalised as one band ("utterance"), text numpy's
    # "could not convert string to float"
    feats = check_array(feats, "feats", ndim=2, dtype=np.float32, finite=False)
    if norm == "none" or len(feats) == 0:
        return feats
    if norm == "floor":
        check_floor_settings(floor_window, floor_smooth)  # under this function's names, not noise_floor's
        floor, _ = noise_floor(feats, floor_window, floor_smooth)
        return (feats - floor).astype(np.float32)
    if norm == "utterance":
        mu = feats.mean(axis=0, keepdims=True)
        sd = feats.std(axis=0, keepdims=True)
        return ((feats - mu) / (sd + eps)).astype(np.float32)
    return running_zscore(feats, alpha, None, eps)[0]
