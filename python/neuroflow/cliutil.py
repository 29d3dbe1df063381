"""What every CLI verb shares: the parser, common options, argument types and output-path checks.

Every bad value ends in one line that names its flag, before any work starts. Argument types raise
:class:`argparse.ArgumentTypeError`, which argparse reports as ``argument --flag: <message>``, and
:class:`Parser` prints that as a single line (``neuroflow <verb>: error: ...``) with exit status 2.
Output paths (``--out``, ``--plot``, ``--checkpoint``, ...) are checked by their types at parse time:
a directory where a file is expected, a path under a regular file, or a folder that cannot be written
are refused there, so a run never does minutes of work and then fails to save it.

This module imports nothing from the areas, so both ``neuroflow.cli`` and every area's CLI module
can import it.
"""
from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable

from neuroflow._utils import FIGURE_SUFFIXES, NOT_A_REGULAR_FILE, dumps, expanded, file_problem, short_repr

__all__ = ["Parser", "add_common_options", "emit", "number", "integer", "choice_list", "output_file",
           "output_dir", "input_file", "input_dir", "check_output_file", "check_output_dir", "fail",
           "environment_problems", "say", "note", "as_flag_error", "flag_error", "record_interrupts"]


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line: ``neuroflow flow train: error: argument --x: ...``.

    Sub-parsers made with ``add_subparsers`` inherit the class, so every verb behaves the same. Help
    texts show each default once: a ``%(default)s`` in the help is the only place it appears.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        self._check_outputs_apart(namespace)
        self._check_jobs_or_cluster(namespace)
        return namespace, extras

    def _check_jobs_or_cluster(self, namespace) -> None:
        """``--n-jobs`` beside ``--scheduler`` was taken and did nothing (the cluster's workers run the jobs):
        refused, naming both, on the verbs that take both."""
        actions = {a.dest: a for a in self._actions}
        if not {"n_jobs", "scheduler"} <= set(actions) or getattr(namespace, "scheduler", None) is None:
            return
        if getattr(namespace, "n_jobs", actions["n_jobs"].default) != actions["n_jobs"].default:
            self.error("--n-jobs, --scheduler: the Dask cluster's workers run the jobs, so --n-jobs would do nothing; "
                       "give one of them")

    def _check_outputs_apart(self, namespace) -> None:
        """Two output flags naming one path (``--checkpoint q.png --plot q.png``, ``--out x --checkpoint x``) would
        fail, or write one output over the other, only after the work: refused here, naming both flags."""
        seen = {}
        for action in self._actions:
            value = getattr(namespace, action.dest, None)
            if value is None or not getattr(action.type, "writes_output", False):
                continue
            for path in value if isinstance(value, list) else [value]:
                flag = action.option_strings[-1] if action.option_strings else action.metavar or action.dest
                key = os.path.realpath(path)
                if key in seen and seen[key] != flag:
                    self.error(f"{seen[key]}, {flag}: both name {path}; give each output its own path")
                seen.setdefault(key, flag)

    def error(self, message: str):  # noqa: D401 - argparse's hook
        # one line even when a type's message quotes a file's text with a line break in it
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


# ----------------------------------------------------------------------------- common options and output
def add_common_options(parser: argparse.ArgumentParser, *, plot: bool = True, seed: bool = True) -> None:
    """The options verbs share: --seed (where the verb is random), --json, --quiet and --plot PATH."""
    if seed:
        parser.add_argument("--seed", type=integer(0), default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    if plot:
        parser.add_argument("--plot", type=output_file(FIGURE_SUFFIXES), default=None, metavar="PATH",
                            help="save a figure to PATH (.png, .pdf, .svg, ...)")


def emit(args, payload: dict, lines: list[str] | None = None) -> None:
    """Print a verb's result: JSON with --json, otherwise readable lines (or key: value pairs)."""
    if sys.stdout is None:  # started with standard output closed (`>&-`): print() would drop the result, exit 0
        raise OSError("standard output: closed, so the result cannot be printed")
    if getattr(args, "json", False):
        say(dumps(payload, indent=2))
        return
    if lines is None:
        lines = [f"{k}: {v}" for k, v in payload.items() if not isinstance(v, (list, dict))]
    say("\n".join(lines))


def say(text: str) -> None:
    """``print(text)`` to standard output, flushed: a write that fails (a full disk, /dev/full) raises OSError naming
    standard output (the system's "[Errno 28] No space left on device" named nothing). A closed pipe's
    BrokenPipeError is left as it is (the command line stops quietly)."""
    try:
        try:
            print(text, flush=True)
        except UnicodeEncodeError:  # an encoding without the name's letters (PYTHONIOENCODING=ascii): the result was
            encoding = getattr(sys.stdout, "encoding", None) or "ascii"  # lost; written as stderr writes them
            print(text.encode(encoding, "backslashreplace").decode(encoding), flush=True)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OSError(f"standard output: cannot print ({exc.strerror or exc})") from None


def note(text: str, *, new_line_on_terminal: bool = False) -> None:
    """``text`` on standard error, for a person: lost quietly where there is none to write to. Started with
    ``2>&-``, ``sys.stderr`` is None and ``print(file=None)`` put the text on stdout among the results; a full or
    broken one raised OSError, ending the run with exit status 1. ``new_line_on_terminal``: start a new line first
    where stderr is a terminal (a progress bar may hold the line)."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        print(("\n" if new_line_on_terminal and stream.isatty() else "") + text, file=stream, flush=True)
    except (OSError, ValueError):  # full or broken; closed since
        pass


# ----------------------------------------------------------------------------- numbers
def _interval(lo, hi, lo_open, hi_open) -> str:
    if lo is None and hi is None:
        return "a finite number"
    if hi is None:
        return f"a number {'>' if lo_open else '>='} {lo:g}"
    if lo is None:
        return f"a number {'<' if hi_open else '<='} {hi:g}"
    return f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
           hi_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite float within the bounds (NaN and inf are always refused)."""
    want = _interval(lo, hi, lo_open, hi_open)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {want}, got {short_repr(text)}") from None
        bad = (not math.isfinite(value) or (lo is not None and (value < lo or (lo_open and value == lo)))
               or (hi is not None and (value > hi or (hi_open and value == hi))))
        if bad:
            raise argparse.ArgumentTypeError(f"expected {want}, got {short_repr(text)}")
        return value

    parse.__name__ = "number"
    return parse


def integer(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer within ``[lo, hi]`` (``1e3`` style spellings of integers are accepted)."""
    if lo is not None and hi is not None:
        want = f"an integer in [{lo}, {hi}]"
    elif lo is not None:
        want = "a positive integer" if lo == 1 else f"an integer >= {lo}"
    elif hi is not None:
        want = f"an integer <= {hi}"
    else:
        want = "an integer"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected {want}, got {short_repr(text)}") from None
            if not math.isfinite(f) or f != int(f):
                raise argparse.ArgumentTypeError(f"expected {want}, got {short_repr(text)}") from None
            value = int(f)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"expected {want}, got {short_repr(text)}")
        return value

    parse.__name__ = "integer"
    return parse


def choice_list(choices) -> Callable[[str], str]:
    """An argparse type for one item of a list option (``nargs="+"``) restricted to ``choices``."""
    choices = list(choices)

    def parse(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(choices)}, got {short_repr(text)}")
        return text

    parse.__name__ = "choice"
    return parse


def scheduler_address(text: str) -> str:
    """An argparse type for --scheduler: a Dask scheduler address (host:port, optionally with a scheme such as
    tcp://)."""
    rest = text.split("://", 1)[-1]
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected a Dask scheduler address such as tcp://127.0.0.1:8786, "
                                         f"got {short_repr(text)}")
    return text


def as_flag_error(exc: ValueError, flags: dict[str, str]) -> str | None:
    """The one-line message for a ValueError that names an API argument behind a flag of any area
    (``"method_ode: ..."`` -> ``"--method-ode: ..."``; several names joined by ", " too), or None when it names
    an argument outside ``flags`` (an argument name -> flag mapping)."""
    name, sep, rest = str(exc).partition(": ")
    names = name.split(", ")  # "n_samples, student_width: ..." names every size behind an estimate
    if sep and all(n in flags for n in names):
        return f"{', '.join(flags[n] for n in names)}: {rest}"
    return None


def flag_error(exc: ValueError, flags: dict[str, str]) -> ValueError:
    """``exc`` with the API argument it names spelled as its flag (:func:`as_flag_error`), or ``exc`` itself when it
    names none of ``flags``: a verb's ``except ValueError as exc: raise flag_error(exc, {...}) from None``."""
    message = as_flag_error(exc, flags)
    return exc if message is None else ValueError(message)


# ----------------------------------------------------------------------------- paths
def _first_existing(path: Path) -> Path:
    """The nearest ancestor of ``path`` (itself included) that exists; ValueError at a broken symbolic link on
    the way, which every later write or mkdir through it would fail on (after the work was done)."""
    p = path
    while not p.exists() and p != p.parent:
        if p.is_symlink():
            raise ValueError(f"{path}: {p} is a broken symbolic link (to {os.readlink(p)}); expected a path "
                             f"that can be written")
        p = p.parent
    return p


def _check_creatable(path: Path, what: str) -> None:
    """Raise ValueError unless ``path`` can be created: no ancestor is a regular file and the nearest
    existing ancestor is a writable folder."""
    try:
        anchor = _first_existing(path if path.is_symlink() or path.exists() else path.parent)
    except OSError as exc:  # a name the system refuses, e.g. a component over 255 bytes
        raise ValueError(f"{path}: not a usable path ({exc.strerror or exc})") from None
    if anchor != path and not anchor.is_dir():
        raise ValueError(f"{path}: cannot create {what} under {anchor}, which is a file, not a folder")
    target = path if path.exists() else anchor
    if not os.access(target, os.W_OK):
        raise ValueError(f"{path}: {target} is not writable")
    if target.is_dir():  # os.access says yes to root everywhere (/proc too): try it
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".neuroflow-probe-", dir=target))
        except OSError as exc:
            raise ValueError(f"{path}: nothing can be created in {target} ({exc.strerror or exc})") from None


def check_output_file(path, name: str = "path", suffixes=None) -> Path:
    """``path`` as a Path if a file can be written there (parents may be missing), else ValueError naming ``name``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a path, got {type(path).__name__}")
    p = expanded(path)
    try:
        if str(path) == "":
            raise ValueError("expected a file path, got ''")
        if p.is_dir() or str(path).endswith(("/", os.sep)):
            raise ValueError(f"{path}: is a folder; expected a file path")
        if p.exists() and not p.is_file():  # a write would replace it (a link to /dev/null: the device), a read wait
            raise ValueError(f"{path}: {NOT_A_REGULAR_FILE}; expected a file path")
        if suffixes is not None and p.suffix.lower() not in suffixes:
            raise ValueError(f"{path}: expected a file name ending in one of {', '.join(suffixes)}")
        _check_creatable(p, "a file")
    except OSError as exc:
        raise ValueError(f"{name}: {path}: not a usable path ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    return p


def check_output_dir(path, name: str = "path") -> Path:
    """``path`` as a Path if a folder exists or can be created there, else ValueError naming ``name``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a path, got {type(path).__name__}")
    p = expanded(path)
    try:
        if str(path) == "":
            raise ValueError("expected a folder path, got ''")
        if p.exists() and not p.is_dir():
            raise ValueError(f"{path}: is a file; expected a folder")
        _check_creatable(p, "a folder")
    except OSError as exc:
        raise ValueError(f"{name}: {path}: not a usable path ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    return p


def _as_type(check, **kw):
    def parse(text: str) -> Path:
        try:
            return check(text, **kw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None

    parse.writes_output = True  # Parser checks that no two output flags name one path
    return parse


def output_file(suffixes=None) -> Callable[[str], Path]:
    """An argparse type for a file the verb will write (see :func:`check_output_file`)."""
    return _as_type(check_output_file, suffixes=tuple(suffixes) if suffixes else None)


def output_dir() -> Callable[[str], Path]:
    """An argparse type for a folder the verb will write into (see :func:`check_output_dir`)."""
    return _as_type(check_output_dir)


def input_file(text: str) -> Path:
    """An argparse type: an existing, readable regular file."""
    if text == "":  # Path("") is the current folder: "is not a regular file" would say nothing useful
        raise argparse.ArgumentTypeError("expected a file path, got ''")
    problem = file_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text}: {problem}")
    return expanded(text)


def input_dir(text: str) -> Path:
    """An argparse type: an existing folder."""
    if text == "":
        raise argparse.ArgumentTypeError("expected a folder, got ''")
    p = expanded(text)
    try:
        if not p.is_dir():
            raise argparse.ArgumentTypeError(f"{text}: no such folder" if not p.exists() else f"{text}: is not a folder")
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text}: not a usable path ({exc.strerror or exc})") from None
    return p


def one_line(message) -> str:
    """``message`` on one line: line breaks (a library's multi-paragraph error) become spaces."""
    return " ".join(str(message).split())


def fail(message: str, code: int = 2) -> int:
    """Print ``neuroflow: error: message`` (on one line) on stderr and return ``code`` (for a verb's ``return``).
    A stderr that is full (``2>/dev/full``) or closed loses the line but not the code (the write's OSError made it
    exit status 1, and with ``2>&-`` the line went to stdout, among the results): :func:`note`."""
    note(f"neuroflow: error: {one_line(message)}")
    return code


# ----------------------------------------------------------------------------- environment
#: the most threads NUMBA_NUM_THREADS or OMP_NUM_THREADS may ask for (numba crashed the process starting 99 999)
MAX_THREADS = 1024
#: the latest date SOURCE_DATE_EPOCH may give (9999-12-31 23:59:59 UTC, the last a time_t converts everywhere)
MAX_SOURCE_DATE = 253402300799


def _whole_numbers_in(text: str, low: int, high: int) -> bool:
    """Whether ``text`` is a comma-separated list of one or more whole numbers, each in ``[low, high]``."""
    try:
        return all(low <= int(item) <= high for item in text.split(","))
    except ValueError:
        return False


def _numba_threads_problem(value: str) -> str | None:
    if not _whole_numbers_in(value, 1, MAX_THREADS) or "," in value:
        return f"expected a whole number of threads from 1 to {MAX_THREADS}, got {short_repr(value)}"
    return None


def _omp_threads_problem(value: str) -> str | None:
    """OpenMP reads a comma-separated list, one count per level of nested parallelism (empty: its default)."""
    if value.strip() and not _whole_numbers_in(value, 1, MAX_THREADS):
        return (f"expected a whole number of threads from 1 to {MAX_THREADS} (or a comma-separated list of them), "
                f"got {short_repr(value)}")
    return None


#: the values numba's NUMBA_THREADING_LAYER takes: its layers, and the kinds it picks one of
NUMBA_THREADING_LAYERS = ("default", "safe", "forksafe", "threadsafe", "tbb", "omp", "workqueue")


def _numba_layer_problem(value: str) -> str | None:
    """numba reads the layer only at its first parallel kernel: "abc" ended a run there with "The threading layer
    requested 'abc' is unknown to Numba." and "tbb" without Intel TBB with "No threading layer could be loaded",
    neither naming the variable."""
    if value not in NUMBA_THREADING_LAYERS:
        return f"expected one of {', '.join(NUMBA_THREADING_LAYERS)}, got {short_repr(value)}"
    if value in ("tbb", "omp"):
        try:
            importlib.import_module(f"numba.np.ufunc.{value}pool")
        except ImportError as exc:   # a missing libtbb / libgomp
            return (f"{short_repr(value)}: numba cannot load that threading layer here ({exc}); use workqueue or "
                    "unset it")
    return None


def _source_date_problem(value: str) -> str | None:
    if not _whole_numbers_in(value, 0, MAX_SOURCE_DATE) or "," in value:
        return f"expected seconds since 1970 (a whole number from 0 to {MAX_SOURCE_DATE}), got {short_repr(value)}"
    return None


#: environment variables a library reads when it is imported, and what is wrong with a value it cannot use: numba
#: stopped its import at NUMBA_NUM_THREADS=0 with "Number of threads specified must be > 0." (naming no variable),
#: printed a traceback as a warning at "abc", and crashed the process in a parallel kernel at 99999; libgomp printed its
#: own unprefixed line for OMP_NUM_THREADS=abc; NumPy's f2py (imported by SciPy) and matplotlib's PDF and SVG dates read
#: SOURCE_DATE_EPOCH: "abc" stopped every vad command with "invalid literal for int()", a date past the year 9999 with
#: an OverflowError traceback
ENVIRONMENT_CHECKS: dict[str, Callable[[str], str | None]] = {"NUMBA_NUM_THREADS": _numba_threads_problem,
                                                              "OMP_NUM_THREADS": _omp_threads_problem,
                                                              "NUMBA_THREADING_LAYER": _numba_layer_problem,
                                                              "SOURCE_DATE_EPOCH": _source_date_problem}


def environment_problems(environ=None) -> list[str]:
    """One line per variable of :data:`ENVIRONMENT_CHECKS` set to a value its library cannot use (``VAR: ...``)."""
    environ = os.environ if environ is None else environ
    problems = []
    for name, check in ENVIRONMENT_CHECKS.items():
        value = environ.get(name)
        problem = check(value) if value is not None else None
        if problem:
            problems.append(f"environment variable {name}: {problem}")
    return problems


def record_interrupts() -> list:
    """A list that gets an entry at each Ctrl-C (SIGINT, still raised as KeyboardInterrupt). The library catches
    KeyboardInterrupt inside a run and returns what it finished (``neuroflow.train``, ``ActorCritic.fit``,
    ``maze_sweep``), so a script that runs many of them cannot tell a finished run from one cut short: it checks this
    list after each (the benchmarks keep their finished parts and stop). Left alone where SIGINT is ignored (a job
    started in the background)."""
    import signal

    seen: list = []

    def on_sigint(signum, frame):
        seen.append(signum)
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, on_sigint)
    return seen
