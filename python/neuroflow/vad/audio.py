"""Audio input/output for VAD: every file becomes mono float32 at 16 kHz, or a clear error naming it.

:func:`load_audio` reads anything soundfile reads (WAV, FLAC, OGG, MP3, AIFF, ...) and falls back to
librosa (audioread/ffmpeg formats where a decoder is installed). Stereo or multichannel input is
averaged to mono, any sample rate from 8 kHz up is resampled to :data:`SAMPLE_RATE`, and integer
sample formats are scaled to [-1, 1]. Rates below 8 kHz are refused: speech needs its band up to
4 kHz, and a wrong rate (a 1 Hz header) would otherwise turn a short file into minutes of "audio".
A WAV file whose header promises more samples than the file holds (a recording cut short) is read as
far as it goes, with a warning that names the file and both lengths.
"""
from __future__ import annotations

import contextlib
import os
import struct
import sys
import warnings
from pathlib import Path

import numpy as np

from neuroflow._utils import NOT_A_REGULAR_FILE, as_rng, check_array, check_positive, short_repr

#: the sample rate every VAD function works at (Hz)
SAMPLE_RATE = 16000
#: the lowest input sample rate accepted (Hz)
MIN_SAMPLE_RATE = 8000
#: the highest input sample rate accepted (Hz): above the fastest audio interfaces, below rates whose resampling
#: filter alone would not fit in memory (a damaged header can declare 4 GHz)
MAX_SAMPLE_RATE = 768000


class AudioError(ValueError):
    """An audio file or array that cannot be used (unreadable, empty, wrong sample format)."""


def check_samples(wav, name: str = "wav", ndim: int = 1) -> np.ndarray:
    """``wav`` as an array of ``ndim`` dimensions of real numbers in its own dtype (float32 stays float32, so results
    do not move), or ValueError naming ``name``: the low-level helpers' raw errors from deep inside numpy or scipy
    ("len() of unsized object", "in1 and in2 should have the same dimensionality", an AttributeError) said neither
    the argument nor what was expected. Checked once per call at the entry, without copying an array, and without a
    pass over the samples (NaN is not looked for here: :func:`prepare` does that for a whole input)."""
    if wav is None or isinstance(wav, (str, bytes, int, float)):  # "got shape ()" would not say what came
        raise ValueError(f"{name}: expected a {ndim}-d array of numbers, got {short_repr(wav)}")
    arr = check_array(wav, name, ndim=ndim, dtype=None, finite=False)
    if arr.dtype.kind not in "fiu":  # text, objects, bools
        raise ValueError(f"{name}: expected an array of numbers, got dtype {arr.dtype}")
    return arr


def check_piece(n, rng) -> tuple[int, np.random.Generator]:
    """``(n, rng)`` of a call that draws ``n`` samples from ``rng`` (a noise generator, a training piece), or
    ValueError naming ``n`` or ``rng``; an int seed is taken as :func:`~neuroflow._utils.as_rng` takes it, a Generator
    is used as it is."""
    return int(check_positive(n, "n", integer=True)), as_rng(rng, "rng")


def to_mono(wav: np.ndarray, name: str = "wav") -> np.ndarray:
    """Mix (n_samples, n_channels) or (n_channels, n_samples) audio down to one channel.

    A 2-d array is read as samples in rows (soundfile's layout) unless it has more than 8 columns and
    at most 8 rows, in which case it is taken as channels in rows (librosa's layout). More than 8 rows and
    more columns than rows is refused: read as samples in rows it would be more channels than samples (a
    16-channel recording in librosa's layout came out as 16 samples of averages over time).
    """
    wav = np.asarray(wav)
    if wav.ndim == 1:
        return wav
    if wav.ndim != 2:
        raise AudioError(f"{name}: expected 1-d (mono) or 2-d (multichannel) audio, got shape {wav.shape}")
    if wav.shape[1] > 8 and wav.shape[0] <= 8:
        return wav.mean(axis=0)
    if wav.shape[0] > 8 and wav.shape[1] > wav.shape[0]:
        raise AudioError(f"{name}: shape {wav.shape} would be {wav.shape[1]} channels of {wav.shape[0]} samples; "
                         f"expected (n_samples, n_channels), or (n_channels, n_samples) with at most 8 channels "
                         f"(transpose it)")
    return wav.mean(axis=1)


def _as_float(wav: np.ndarray, name: str) -> np.ndarray:
    kind = wav.dtype.kind
    if kind == "f":
        return wav.astype(np.float32, copy=False)
    if kind == "i":
        return (wav.astype(np.float64) / float(-np.iinfo(wav.dtype).min)).astype(np.float32)
    if kind == "u":
        info = np.iinfo(wav.dtype)
        mid = (info.max + 1) / 2.0
        return ((wav.astype(np.float64) - mid) / mid).astype(np.float32)
    raise AudioError(f"{name}: unsupported sample format {wav.dtype} (expected float or integer PCM samples)")


def resample(wav: np.ndarray, sr: int, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Resample 1-d audio from ``sr`` to ``target_sr`` with a polyphase filter (exact for rational ratios)."""
    # were "invalid literal for int()", scipy's "Invalid cutoff frequency" or "tuple index out of range"; a 2-d
    # array was resampled along its last axis, which to_mono's (n_samples, n_channels) layout made the channels
    wav = check_samples(wav)
    check_sample_rate(sr)
    check_sample_rate(target_sr, "target_sr")
    if int(sr) == int(target_sr):
        return wav
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sr), int(target_sr))
    up, down = int(target_sr) // g, int(sr) // g
    return resample_poly(wav, up, down, window=_antialias_filter(up, down)).astype(np.float32)


_FILTERS: dict[tuple[int, int], np.ndarray] = {}


def _antialias_filter(up: int, down: int) -> np.ndarray:
    """scipy's default resample_poly filter (Kaiser, beta 5), designed once per ratio instead of per call."""
    if (up, down) not in _FILTERS:
        from scipy.signal import firwin

        max_rate = max(up, down)
        _FILTERS[(up, down)] = firwin(20 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    return _FILTERS[(up, down)]


#: the largest sample magnitude accepted (float audio is nominally within [-1, 1]; int32 values reach 2.1e9)
MAX_SAMPLE = 1e10


def check_sample_rate(sr, name: str = "sr") -> int:
    """``sr`` as an int, or AudioError naming ``name`` unless it is an integer sample rate within
    [:data:`MIN_SAMPLE_RATE`, :data:`MAX_SAMPLE_RATE`]."""
    if (isinstance(sr, bool) or not isinstance(sr, (int, np.integer))
            or not MIN_SAMPLE_RATE <= sr <= MAX_SAMPLE_RATE):
        raise AudioError(f"{name}: expected an integer sample rate of at least {MIN_SAMPLE_RATE} Hz and at most "
                         f"{MAX_SAMPLE_RATE} Hz, got {short_repr(sr)}")  # 10**400 as 400 digits
    return int(sr)


def prepare(wav, sr: int, name: str = "wav") -> np.ndarray:
    """Validate an in-memory signal and return it as mono float32 at 16 kHz.

    ``sr`` must be an integer in [:data:`MIN_SAMPLE_RATE`, :data:`MAX_SAMPLE_RATE`] (8 to 768 kHz); the signal
    must be non-empty, numeric, finite and at most :data:`MAX_SAMPLE` in magnitude.
    """
    check_sample_rate(sr)
    arr = np.asarray(wav)
    if arr.dtype == object or arr.dtype.kind not in "fiu":
        raise AudioError(f"{name}: expected numeric audio samples, got dtype {arr.dtype}")
    if arr.dtype.kind in "iu" and arr.dtype.itemsize == 8:
        # no audio format has 64-bit integer samples: this is a list of ints (int16 values, say), which scaled by
        # 2**63 came out as silence
        raise AudioError(f"{name}: 64-bit integer samples ({arr.dtype}; a list of whole numbers is read so); expected "
                         f"float samples in [-1, 1] or an int8/int16/int32 array (np.asarray(samples, np.int16))")
    if arr.size == 0:  # before the mix-down: channels of no samples would average to NaN
        raise AudioError(f"{name}: audio is empty (0 samples)")
    arr = _as_float(to_mono(arr, name), name)
    if not np.all(np.isfinite(arr)):
        raise AudioError(f"{name}: audio contains NaN or inf samples")
    peak = float(np.max(np.abs(arr)))
    if peak > MAX_SAMPLE:  # the frames' power would overflow float32; even 32-bit integer values stay below
        raise AudioError(f"{name}: samples reach {peak:.3g}; expected audio in [-1, 1] (or integer sample values)")
    return np.ascontiguousarray(resample(arr, int(sr)), dtype=np.float32)


def load_audio(path: str | Path, sr: int = SAMPLE_RATE, *, name: str = "path") -> tuple[np.ndarray, int]:
    """Read an audio file as ``(wav, sr)``: mono float32 in [-1, 1] resampled to ``sr`` (16 kHz).

    Raises FileNotFoundError for a missing file and :class:`AudioError` (a ValueError) for a file
    that no decoder reads, that holds no samples, or whose samples are not finite; the message names
    the file, or ``name`` (the caller's argument) for a value that is no path at all.
    """
    check_sample_rate(sr)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}: expected an audio file path, got {type(path).__name__}")
    if str(path) == "":  # Path("") is the current folder: "is a folder" would say nothing useful
        raise AudioError(f"{name}: expected an audio file path, got ''")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"audio file not found: {path}")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, expected an audio file")
    if not path.is_file():  # a pipe or a device (/dev/zero): never "empty", and a pipe would block the read
        raise AudioError(f"{path}: {NOT_A_REGULAR_FILE}, expected an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes)")
    data = None
    native_sr = None
    errors = []
    try:
        import soundfile as sf

        with c_stderr_silenced():  # libsndfile's MP3 decoder prints resync notes on a damaged file
            data, native_sr = sf.read(_sf_name(path), dtype="float32", always_2d=False)
        from_soundfile = True
    except Exception as exc:  # soundfile raises its own error types; fall back to librosa
        # libsndfile says "does not exist or is not a regular file" of a file it has no decoder for
        errors.append("soundfile: " + ("not a format it reads" if "not a regular file" in str(exc) else str(exc)))
    else:
        _warn_if_truncated(path, len(data), int(native_sr))
    if data is None:
        try:
            import librosa

            with warnings.catch_warnings(), contextlib.ExitStack() as stack, c_stderr_silenced():
                warnings.simplefilter("ignore")
                # librosa falls back to audioread only for a name; one that soundfile cannot encode goes in open
                source = str(path) if _encodable(path) else stack.enter_context(open(path, "rb"))
                data, native_sr = librosa.load(source, sr=None, mono=False)
            from_soundfile = False
        except Exception as exc:
            errors.append(f"librosa: {type(exc).__name__}" + (f": {exc}" if str(exc) else " (no decoder for it)"))
            raise AudioError(f"{path}: cannot read audio ({'; '.join(errors)}){_ffmpeg_hint(path)}") from None
    if not MIN_SAMPLE_RATE <= int(native_sr) <= MAX_SAMPLE_RATE:  # said of the file, not of an argument "sr"
        raise AudioError(f"{path}: its header gives a sample rate of {int(native_sr)} Hz; expected {MIN_SAMPLE_RATE} "
                         f"to {MAX_SAMPLE_RATE} Hz")
    if np.ndim(data) == 2:  # the layout is known here: soundfile's (frames, channels), librosa's (channels, frames)
        data = data.mean(axis=1 if from_soundfile else 0)
    try:
        wav = prepare(data, int(native_sr), name=str(path))
    except AudioError as exc:
        raise AudioError(str(exc) if str(path) in str(exc) else f"{path}: {exc}") from None
    if int(sr) != SAMPLE_RATE:
        wav = resample(wav, SAMPLE_RATE, int(sr))
    return wav, int(sr)


#: the first bytes of containers that only ffmpeg (through librosa's audioread) decodes: (offset, bytes, name)
FFMPEG_FORMATS = ((4, b"ftyp", "MP4/M4A"), (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
                  (0, bytes.fromhex("3026b2758e66cf11"), "WMA/ASF"), (0, b"#!AMR", "AMR"), (0, b".RMF", "RealMedia"))


def _ffmpeg_hint(path: Path) -> str:
    """What to do about a file of a format only ffmpeg reads where no ffmpeg is on PATH ("" otherwise): the readers'
    own "NoBackendError (no decoder for it)" named neither the program nor how to install it."""
    import shutil

    if shutil.which("ffmpeg") is not None:
        return ""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return ""
    names = [name for offset, magic, name in FFMPEG_FORMATS if head[offset:offset + len(magic)] == magic]
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:  # an ADTS frame header: raw AAC
        names.append("AAC")
    if not names:
        return ""
    return (f"; it is {names[0]} audio, which needs ffmpeg, and no ffmpeg is on PATH: install it (apt-get install "
            f"ffmpeg) or convert the file to WAV or FLAC")


@contextlib.contextmanager
def c_stderr_silenced():
    """Inside: what C libraries write to file descriptor 2 (decoders' notes) goes nowhere; Python's own
    warnings and errors are raised as usual and reported by the caller in one line."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable descriptor 2 (an embedding host): leave it
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _encodable(path: Path) -> bool:
    """Whether ``str(path)`` encodes strictly in the file-system encoding (a name read from a non-UTF-8 folder
    listing or command line carries surrogate escapes, which do not)."""
    try:
        str(path).encode(sys.getfilesystemencoding())
    except UnicodeEncodeError:
        return False
    return True


def _sf_name(path: Path) -> str | bytes:
    """``path`` for soundfile, which encodes a str strictly: as bytes where that fails (a non-UTF-8 name)."""
    return str(path) if _encodable(path) else os.fsencode(path)


def wav_declared_frames(path: str | Path) -> int | None:
    """Sample frames a RIFF/WAVE file's header declares (its ``data`` chunk size over the block size), or
    None when the file is not a WAV file or declares no usable size (streamed files write 0 or 0xFFFFFFFF)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(size)
                if len(fmt) < 14:
                    return None
                block = struct.unpack("<H", fmt[12:14])[0]
                if size % 2:
                    f.seek(1, 1)
            elif cid == b"data":
                if not block or size in (0, 0xFFFFFFFF):
                    return None
                return size // block
            else:
                f.seek(size + (size % 2), 1)


def _warn_if_truncated(path: Path, n_read: int, sr: int) -> None:
    try:
        declared = wav_declared_frames(path)
    except OSError:
        return
    if declared is not None and declared > n_read and n_read > 0:  # nothing read: the empty-audio error says it
        warnings.warn(f"{path}: truncated WAV file: the header declares {declared} samples "
                      f"({declared / sr:.3f} s) but the file holds {n_read} ({n_read / sr:.3f} s); "
                      f"reading what is there", stacklevel=3)


def write_audio(path: str | Path, wav: np.ndarray, sr: int = SAMPLE_RATE) -> Path:
    """Write mono audio as 16-bit PCM WAV (written to a temporary name first, so a crash never leaves half a file)."""
    import soundfile as sf

    wav = check_samples(wav)  # before any folder is made: "could not convert string to float" named nothing
    check_sample_rate(sr)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    sf.write(_sf_name(tmp), np.clip(np.asarray(wav, dtype=np.float32), -1.0, 1.0), int(sr), subtype="PCM_16",
             format="WAV")
    tmp.replace(path)
    return path
