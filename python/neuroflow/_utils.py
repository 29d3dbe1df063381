"""Small helpers shared by every area: input validation, seeding, progress bars, JSON output."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np


# ----------------------------------------------------------------------------- validation
def check_array(
    value: Any,
    name: str,
    *,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    dtype=np.float64,
    finite: bool = True,
) -> np.ndarray:
    """Return ``value`` as an array, or raise ValueError naming ``name``, the value and what was expected.

    ``shape`` may hold ``None`` for free dimensions. Validation happens once, at public boundaries.
    """
    if getattr(getattr(value, "dtype", None), "kind", "") == "c" and np.dtype(dtype).kind in "biuf":
        # numpy would drop the imaginary parts with only a ComplexWarning
        raise ValueError(f"{name}: expected real numbers, got a complex array")
    if np.dtype(dtype).kind in "iu":  # numpy casts 2.7 to 2 and NaN to -2**63 (with a RuntimeWarning at most)
        src = value if isinstance(value, np.ndarray) else np.asarray(value) if _is_numeric_list(value) else None
        if src is not None and src.dtype.kind == "f":
            info = np.iinfo(dtype)
            with np.errstate(invalid="ignore"):  # float(max) + 1: 2**63 exactly for int64 (max itself rounds up)
                ok = np.isfinite(src) & (src == np.trunc(src)) & (src >= info.min) & (src < float(info.max) + 1)
            bad = np.size(src) - np.count_nonzero(ok)
            if bad:
                raise ValueError(f"{name}: expected whole numbers, found {bad} entr{'y' if bad == 1 else 'ies'} with "
                                 f"a fraction, NaN or inf, or beyond {np.dtype(dtype).name}")
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected an array of numbers, got {type(value).__name__} ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
    if finite and arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: expected finite values, found {bad} NaN/inf entr{'y' if bad == 1 else 'ies'}")
    return arr


def _is_numeric_list(value) -> bool:
    """Whether ``value`` is a list or tuple numpy reads as an array of numbers (no text, no ragged rows)."""
    if not isinstance(value, (list, tuple)):
        return False
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False


def is_integer(value) -> bool:
    """Whether ``value`` is a whole number of a Python or NumPy integer type (a bool is not one)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value, *, finite: bool = False) -> bool:
    """Whether ``value`` is a number of a Python or NumPy integer or float type (a bool is not one), and with
    ``finite`` neither infinite nor NaN."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    return ok and (not finite or is_integer(value) or math.isfinite(value))  # an int is finite (and may be 10**400)


def check_positive(value: Any, name: str, *, integer: bool = False, allow_zero: bool = False):
    """Raise ValueError unless ``value`` is a (strictly, unless allow_zero) positive number."""
    kind = "integer" if integer else "number"
    ok = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.integer, np.floating))
    # an int is finite however long (float(10**400) would raise OverflowError)
    if (isinstance(value, bool) or not ok or (not is_integer(value) and not math.isfinite(float(value))) or value < 0
            or (value == 0 and not allow_zero)):
        raise ValueError(f"{name}: expected a {'non-negative' if allow_zero else 'positive'} {kind}, got {value!r}")
    return value


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` as an int if it is a non-negative integer (the seeds of the library's random streams), else ValueError
    naming ``name``: -1 was numpy's "expected non-negative integer" naming no argument, 1.5 taken as 1 by int(),
    None or a Generator a TypeError from ``seed + 1``."""
    if not (is_integer(seed) and seed >= 0):
        raise ValueError(f"{name}: expected a non-negative integer, got {short_repr(seed)}")
    return int(seed)


def check_memory(needed: int, name: str) -> None:
    """Raise ValueError naming ``name`` when ``needed`` bytes exceed the machine's physical memory
    (a request refused up front, from an estimate, instead of failing minutes later).

    Parameters
    ----------
    needed : int
        Estimated peak memory, bytes.
    name : str
        The argument (or flag) named in the error.
    """
    import os

    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not on POSIX
        return
    if needed > total:
        raise ValueError(f"{name}: this run needs about {_gib(needed)} GiB of memory, more than the "
                         f"{total / 2**30:.1f} GiB this machine has")


def _gib(n_bytes) -> str:
    """``n_bytes`` in GiB for a message: "24.0", "9.3e+20", or "10^690" past the float range (sizes such as
    --width 1e308 multiply to one)."""
    try:
        gib = n_bytes / 2**30
    except OverflowError:
        return short_count(int(n_bytes) >> 30)
    return f"{gib:.1f}" if gib < 1e6 else f"{gib:.2g}"


def short_count(n) -> str:
    """A whole number for a one-line message: as is up to 15 digits, else "6e+308" or, past the float range,
    "10^1000" (a size of 1e308 multiplied out is a number of hundreds of digits)."""
    n = int(n)
    if abs(n) < 10**15:
        return str(n)
    try:
        return f"{float(n):.3g}"
    except OverflowError:
        return f"10^{int((abs(n).bit_length() - 1) * math.log10(2))}"


def as_list(values, name: str, what: str) -> list:
    """``values`` (any iterable but a string) read once into a list, or ValueError naming ``name`` (``what``: what the
    list holds). A generator that a check read first came to its use empty (a plan of 2 scenes for 12, "got none"),
    and a string would be read letter by letter."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name}: expected a list of {what}, got {values!r:.60}")
    return list(values)


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool, or ValueError naming ``name`` unless it is True or False (numpy's too): a switch given
    "no" or 2 is truthy, and was taken as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Iterable[str]):
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"{name}: expected one of {choices}, got {value!r}")
    return value


def expanded(path: str | os.PathLike) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded, as a shell does: left as it is where that user has no home
    here (``Path.expanduser`` raised RuntimeError "Could not determine home directory", a traceback from every path
    flag given ``~nouser/...``)."""
    return Path(os.path.expanduser(path))


def file_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as a file ("no such file", "is not a regular file", "not readable"), or None."""
    p = expanded(path)
    try:
        if not p.exists():
            if p.is_symlink():  # exists() is False for a link to nothing, and for a loop of links, which is there
                try:
                    os.stat(p)
                except OSError as exc:
                    return f"is a symbolic link that leads to no file ({exc.strerror or exc})"
            return "no such file"
        if not p.is_file():
            return "is not a regular file"
    except OSError as exc:  # a name the system refuses (a component over 255 bytes, a loop of links)
        return f"cannot be looked up ({exc.strerror or exc})"
    if not os.access(p, os.R_OK):
        return "not readable"
    return None


class JSONContentError(ValueError):
    """JSON that parses but cannot be read as meant: a key given twice in one object, or a number too long to read."""


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise JSONContentError(f"gives {short_repr(key, 40)} twice in one object (which one was meant?)")
        seen[key] = value
    return seen


def loads_json(text: str):
    """``json.loads(text)``, refusing (:class:`JSONContentError`) an object that gives a key twice, which json
    reads as the last one silently, and a number of thousands of digits, which Python refuses with a message
    about ``sys.set_int_max_str_digits``. JSONDecodeError and RecursionError pass as json raises them."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except (JSONContentError, json.JSONDecodeError):
        raise
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion ..."
        limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        raise JSONContentError(f"holds a number of more than {limit} digits, too long to read") from None


#: what every reader and writer says of a path that is there but no regular file or folder (reading a named pipe
#: with no writer waits for ever; a rename onto a device replaces it)
NOT_A_REGULAR_FILE = "is not a regular file (a named pipe, a device or a socket)"


def check_regular_file(path: Path, what: str = "file") -> None:
    """ValueError naming ``path`` when it exists but is neither a regular file nor a folder: reading a named pipe
    with no writer (or a device) waits for ever, as the command line's input types already refuse."""
    try:
        odd = path.exists() and not path.is_file() and not path.is_dir()
    except OSError:  # a name the system refuses: the read says why
        return
    if odd:
        raise ValueError(f"{path}: {what} {NOT_A_REGULAR_FILE}")


def read_json(path: str | Path, what: str = "file"):
    """The JSON value in the file at ``path``, or ValueError naming the file (``what`` says what it was meant to
    be): unreadable, not UTF-8, not JSON, nested too deeply to read, a key given twice or a number too long
    (:func:`loads_json`). A byte-order mark, as some editors write, is skipped."""
    p = Path(path)
    check_regular_file(p, what)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{p}: {what} is not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"{p}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        return loads_json(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: {what} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except JSONContentError as exc:
        raise ValueError(f"{p}: {what} {exc}") from None
    except RecursionError:
        raise ValueError(f"{p}: {what} is nested too deeply to read") from None


def short_repr(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (ending in "..." when cut), for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def differing_keys(a: dict, b: dict) -> list[str]:
    """The keys (sorted) whose values differ between the settings ``a`` and ``b``, a key missing on one side included:
    what a refusal to resume another run's file names."""
    unset = object()
    return sorted((k for k in set(a) | set(b) if a.get(k, unset) != b.get(k, unset)), key=str)


def describe_differences(a: dict, b: dict, keys=None, *, limit: int | None = None, label=None) -> str:
    """``"n_episodes 100 there, 200 now; seed 0 there, 1 now; 2 more"``: the settings ``keys`` (default: all
    :func:`differing_keys`) with ``a``'s value (a file's) and ``b``'s (this run's), at most ``limit`` of them, each key
    shown as ``label(key)`` (a flag, say); "" where none differ. A value is "unset" where its side lacks the key, a
    float in ``%g`` (a count written 1.0 reads 1), anything else cut to 40 characters."""
    keys = differing_keys(a, b) if keys is None else list(keys)

    def show(d, k):
        if k not in d:
            return "unset"
        v = d[k]
        return f"{v:g}" if isinstance(v, float) else short_repr(v, 40)

    shown = keys if limit is None else keys[:limit]
    parts = [f"{k if label is None else label(k)} {show(a, k)} there, {show(b, k)} now" for k in shown]
    more = f"; {len(keys) - len(shown)} more" if len(keys) > len(shown) else ""
    return "; ".join(parts) + more


def exception_reason(exc: BaseException, limit: int = 100) -> str:
    """``"Type: first sentence"`` of an exception, for a one-line message: a library's own text may run to
    paragraphs (torch's unpickling advice, a C++ trace); its first sentence, cut to ``limit`` characters, is enough."""
    first = (str(exc).strip().splitlines() or [""])[0].split(". ")[0][:limit]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# ----------------------------------------------------------------------------- randomness
def as_rng(seed: int | np.random.Generator | None = None, name: str = "seed") -> np.random.Generator:
    """A numpy Generator from a seed, an existing Generator (returned as is) or None (fresh entropy).

    Parameters
    ----------
    seed : int >= 0, None, numpy.random.Generator (or a SeedSequence / BitGenerator)
    name : str
        The argument named in the ValueError for anything else (a negative or non-integer seed).

    Returns
    -------
    numpy.random.Generator
    """
    if isinstance(seed, np.random.Generator):
        return seed
    ok = seed is None or isinstance(seed, (np.random.SeedSequence, np.random.BitGenerator)) or (
        isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0)
    if not ok:
        raise ValueError(f"{name}: expected a non-negative integer, None or a numpy Generator, got {seed!r}")
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------- threads
_BLAS_CONTROLLER: list = []


def serial_blas():
    """A context that keeps BLAS on one thread: the same numbers on every machine, and no waiting.

    A large product's sums run in an order that depends on the thread count, so its last bits do, and an
    iterative solver turns those into another result (:func:`neuroflow.train` on 20 000 probes: another end
    point after 300 L-BFGS steps on two threads than on one). Products of a few million flops gain nothing
    from more threads, and on a busy machine the extra threads only wait for each other (measured on a
    loaded 2-core machine: 32 ms instead of 0.15 ms for an 8 x 473 x 448 product; the README's ``train``
    snippet 21 s instead of 3 s). Without threadpoolctl it does nothing.
    """
    from contextlib import nullcontext

    if not _BLAS_CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER.append(ThreadpoolController())
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            _BLAS_CONTROLLER.append(None)
    ctl = _BLAS_CONTROLLER[0]
    return ctl.limit(limits=1, user_api="blas") if ctl is not None else nullcontext()


# ----------------------------------------------------------------------------- progress
class _BestEffortStream:
    """A progress bar's stream (stderr): a write that fails, on a closed stream or a full device (``2>/dev/full``),
    switches the bar's output off; it ended the run (exit 1, the result never printed)."""

    def __init__(self, stream):
        self._stream, self._broken = stream, False

    def _try(self, method, *args):
        if not self._broken:
            try:
                return getattr(self._stream, method)(*args)
            except (OSError, ValueError):   # ENOSPC, EPIPE, "I/O operation on closed file"
                self._broken = True
        return None

    def write(self, text):
        self._try("write", text)

    def flush(self):
        self._try("flush")

    def __getattr__(self, name):   # isatty, fileno, encoding: what tqdm asks of its file
        return getattr(self._stream, name)


def progress(iterable=None, *, enabled: bool = True, **kwargs):
    """tqdm progress bar that can be switched off (``progress=False`` / ``--quiet``); ``enabled`` is the caller's
    ``progress`` argument, refused unless True or False (``progress="no"`` showed the bar)."""
    from tqdm.auto import tqdm

    check_bool(enabled, "progress")
    stream = sys.stderr   # None when the process started with stderr closed (2>&-)
    return tqdm(iterable, disable=not enabled or stream is None, dynamic_ncols=True,
                file=None if stream is None else _BestEffortStream(stream), **kwargs)


# ----------------------------------------------------------------------------- files
@contextlib.contextmanager
def atomic_output(path: str | Path, mode: str = "w", **open_kwargs):
    """Open a file that appears at ``path`` only once it is whole: the with-block writes a temporary file beside
    ``path``, which replaces ``path`` (in one rename) when the block ends without an exception. An error inside,
    a full disk or Ctrl-C leaves ``path`` as it was (the previous result, or nothing) and no temporary behind.
    Parent folders are created. ``mode`` is "w" (text) or "wb"; the file gets the permissions of any new file.
    A named pipe or a device at ``path`` is written into directly. A temporary that a write killed outright
    (SIGKILL, a power cut) left beside ``path`` is removed by the next write to ``path`` on the same machine.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode: expected 'w' or 'wb', got {mode!r}")
    path = Path(path)
    if path.is_symlink():  # write where the link points, as a plain open() would; the link stays
        path = Path(os.path.realpath(path))
    if path.is_dir():  # before the write: the rename failed after it, "[Errno 21] Is a directory"
        raise IsADirectoryError(f"{path}: is a folder; expected a file path")
    if path.exists() and not path.is_file():
        # a named pipe, a device, a socket: a stream to write into, not a file to replace (a rename put a regular
        # file where the pipe was, and its reader waited for ever)
        with open(path, mode, **open_kwargs) as fh:
            yield fh
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = path.with_name(f"{_temporary_prefix(path)}{os.getpid()}.{os.urandom(4).hex()}.tmp")  # within 255 bytes
    try:
        with open(tmp, mode.replace("w", "x"), **open_kwargs) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename in (None, str(tmp)):
            # a full disk mid-write says only "No space left on device": name the file it was writing
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise


def _temporary_prefix(path: Path) -> str:
    """How :func:`atomic_output`'s temporaries beside ``path`` begin: ``.NAME.HOST.`` (then ``PID.RANDOM.tmp``). The
    host tells a temporary of this machine from one of another machine writing into a shared folder."""
    import re
    import socket

    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"
    return f".{path.name[:100]}.{host}."


def _remove_stale_temporaries(path: Path) -> None:
    """Remove the temporaries beside ``path`` that a write killed outright (SIGKILL, a power cut) left behind: those
    of this machine whose process is gone. Those of a running process, or of another machine, stay."""
    prefix = _temporary_prefix(path)
    try:
        candidates = [p for p in path.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(".tmp")]
    except OSError:
        return
    for p in candidates:
        pid, _, rest = p.name[len(prefix):-len(".tmp")].partition(".")
        if not pid.isdigit() or len(rest) != 8:
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # no such process: the writer is dead
            with contextlib.suppress(OSError):
                p.unlink()
        except (PermissionError, OverflowError, ValueError):  # alive (another user's), or no pid at all
            pass


@contextlib.contextmanager
def exclusive_lock(path: str | Path, busy: str):
    """Hold an exclusive lock for the with-block, on the file ``path`` (made for it and removed at the end), or raise
    ValueError ``busy`` (its ``{pid}`` replaced by the holder's process id) at once when another process holds it.
    The system lets go of the lock when its holder ends, even by SIGKILL; the file such a holder leaves is taken
    over by the next run."""
    import fcntl

    path = Path(path)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ValueError(busy.replace("{pid}", holder)) from None
        try:  # the holder that just let go may have removed the file: a lock on that one would lock nothing
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # while still holding it, so no other run locks the removed file
        os.close(fd)


def lock_beside(path: str | Path, busy: str):
    """:func:`exclusive_lock` on ``.<name>.lock`` beside the file ``path`` a run writes (a model, a checkpoint, a rows
    file): a second run writing the same file is refused with ``busy``."""
    return exclusive_lock(_lock_beside_path(path), busy)


def _lock_beside_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def lock_if_writable(path: str | Path, busy: str):
    """:func:`exclusive_lock` on ``path`` for a run that reads files and may write them (a checkpoint, a sweep's
    points), the lock's folder made if missing; where that folder cannot be written (a finished run's files on a
    read-only share) no lock is taken, as reading needs none, and a write there fails in its own turn (the lock's
    OSError failed such a run before it read)."""
    with contextlib.ExitStack() as stack:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(exclusive_lock(path, busy))
        except OSError:
            pass
        yield


def lock_beside_if_writable(path: str | Path, busy: str):
    """:func:`lock_beside` as :func:`lock_if_writable` takes it: no lock where ``path``'s folder cannot be written."""
    return lock_if_writable(_lock_beside_path(path), busy)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_output`: the file is whole or unchanged."""
    with atomic_output(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)


# ----------------------------------------------------------------------------- JSON
def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, numpy scalars/arrays, paths and containers into JSON-serialisable objects."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if hasattr(obj, "to_dict"):
            return to_jsonable(obj.to_dict())
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps(obj: Any, **kwargs) -> str:
    return json.dumps(to_jsonable(obj), **kwargs)


def print_json(obj: Any, out: str | Path | None = None, indent: int = 2) -> str:
    """Print ``obj`` as JSON (a benchmark's result) and, when ``out`` is given, also write it there."""
    text = dumps(obj, indent=indent)
    print(text)
    if out:
        write_text_atomic(out, text + "\n")
    return text


# ----------------------------------------------------------------------------- plots
#: figure formats that matplotlib's Agg backend writes (the command line's --plot takes the same)
FIGURE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")


def save_figure(fig, path: str | Path) -> Path:
    """Save a matplotlib figure (creating parent folders) and close it. The same figure gives the same bytes in
    every format: vector formats are dated 1970-01-01 (the reproducible-builds ``SOURCE_DATE_EPOCH``, which
    matplotlib honours; one already set is kept) instead of now, and SVG's element ids come from a fixed salt instead of a random one."""
    import os

    matplotlib = _import_matplotlib()
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:  # matplotlib's own error names neither the path nor the argument
        plt.close(fig)
        raise ValueError(f"path: {path}: expected a file name ending in one of {', '.join(FIGURE_SUFFIXES)}")
    # a named pipe there was written into and waited for a reader for ever; a folder was IsADirectoryError
    taken = "is a folder" if path.is_dir() else NOT_A_REGULAR_FILE if path.exists() and not path.is_file() else None
    if taken:
        plt.close(fig)
        raise ValueError(f"path: {path}: {taken}; expected a file path")
    ours = "SOURCE_DATE_EPOCH" not in os.environ  # a date the caller set is kept
    if ours:
        os.environ["SOURCE_DATE_EPOCH"] = "0"
    notes = _LogNotes()  # matplotlib logs its notes (PostScript has no transparency) bare, naming no file
    logger = logging.getLogger("matplotlib")
    logger.addHandler(notes)
    propagate, logger.propagate = logger.propagate, False
    try:
        with matplotlib.rc_context({"svg.hashsalt": "neuroflow"}):
            with atomic_output(path, "wb") as fh:  # a plot cut short (Ctrl-C, a full disk) never replaces one
                fig.savefig(fh, format=path.suffix[1:].lower(), dpi=120, bbox_inches="tight")
    finally:
        logger.removeHandler(notes)
        logger.propagate = propagate
        if ours:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        plt.close(fig)
    for note in dict.fromkeys(notes.messages):  # as warnings naming the figure (one line on the command line)
        warnings.warn(f"{path}: {note}", stacklevel=2)
    return path


def _usable_folder(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return path.is_dir() and os.access(path, os.W_OK)


def _import_matplotlib():
    """``import matplotlib``, untroubled by its environment: figures are only ever written to files (Agg), so an
    MPLBACKEND that names no backend must not fail a plot after the work (matplotlib refuses it at import), and a
    config or cache folder that cannot be written (MPLCONFIGDIR, HOME read-only or unset) gets a temporary one
    without matplotlib's two-line warning."""
    if "matplotlib" in sys.modules:
        return sys.modules["matplotlib"]
    if os.environ.get("MPLCONFIGDIR"):
        folders = [Path(os.environ["MPLCONFIGDIR"])]
    else:
        home = Path(os.path.expanduser("~"))
        folders = [Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib",
                   Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib"]
    if not all(_usable_folder(f) for f in folders):
        import atexit
        import shutil
        import tempfile

        os.environ["MPLCONFIGDIR"] = tmp = tempfile.mkdtemp(prefix="matplotlib-")  # what matplotlib itself does
        atexit.register(shutil.rmtree, tmp, True)
    backend = os.environ.pop("MPLBACKEND", None)
    try:
        import matplotlib
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
    return matplotlib


class _LogNotes(logging.Handler):
    """Keeps the messages of the log records (warnings and worse) it is given."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record) -> None:
        self.messages.append(record.getMessage())


def plain_text(text) -> str:
    """``text`` for a figure's title or legend as it is: matplotlib reads what stands between two ``$`` as TeX math,
    so a file named ``a$\\frac$b.wav`` stopped the figure with a parse error (and ``$x$`` came out in italics)."""
    return str(text).replace("$", r"\$")


def pyplot():
    """matplotlib.pyplot with a non-interactive backend (safe on headless machines and in CI)."""
    matplotlib = _import_matplotlib()
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt
