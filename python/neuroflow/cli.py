"""Command-line interface: ``neuroflow <area> <verb>``, plus ``neuroflow info`` and ``neuroflow demo``.

Each area's verbs live beside the area's code, in modules listed in :data:`AREAS`. Such a module
defines ``register(verbs)`` (``verbs`` is the area's argparse sub-parsers object; each verb sets
``func=handler`` where ``handler(args) -> int``) and may define ``demo(outdir, quick, seed) -> list[str]``,
which runs a short tour of the area, writes its plots into ``outdir`` and returns summary lines for
``neuroflow demo``. Modules are imported only when their area is used, so ``neuroflow info`` stays fast.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from neuroflow import __version__
from neuroflow._utils import dumps, exclusive_lock, write_text_atomic
from neuroflow.cliutil import Parser, add_common_options, emit, integer, output_dir  # noqa: F401 (re-exported)
from neuroflow.cliutil import check_output_file, environment_problems, fail, note, one_line, say

#: area -> (help text, modules contributing verbs/demos, in demo order)
AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "flow": ("gradient flow for MLPs: train, infinite-data teacher-student, benchmarks",
             ("neuroflow.flow.cli",)),
    "identify": ("Expand-and-Cluster: recover a network's layer sizes and weights from probes",
                 ("neuroflow.identify.cli",)),
    "maze": ("actor-critic TD learning on emulated memristors: T-maze and water maze",
             ("neuroflow.rl.cli",)),
    "vad": ("voice activity detection: corpus, baselines, spiking networks",
            ("neuroflow.vad.cli", "neuroflow.vad.snn_cli")),
}


def _area_modules(area: str):
    for name in AREAS[area][1]:
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside the module: say so
                raise


# ----------------------------------------------------------------------------- info
def _info(args) -> int:
    from neuroflow.backend import available_backends, julia_status, resolve_backend

    ok, reason = julia_status()
    problems = environment_problems()  # every other command refuses to start with these
    try:
        resolve_backend(None)  # what NEUROFLOW_BACKEND asks for, where a command takes no --backend
    except ValueError as exc:
        problems.append(str(exc))
    payload = {"version": __version__, "backends": available_backends(), "julia_reason": reason,
               "python": sys.version.split()[0], "environment_problems": problems}
    lines = [f"neuroflow {__version__} (Python {payload['python']})"]
    lines += [f"  backend {k:<6} {'yes' if v else 'no'}" for k, v in payload["backends"].items()]
    lines.append(f"  julia: {reason}")
    lines += [f"  {problem}" for problem in problems]
    emit(args, payload, lines)
    return 0


# ----------------------------------------------------------------------------- demo
#: seconds each demo part takes on a quiet 2-core machine, (--quick, full); printed before the part runs
DEMO_SECONDS: dict[str, tuple[float, float]] = {  # (quick, full), measured 2026-12-02 on 2 shared cores
    "neuroflow.flow.cli": (5, 6), "neuroflow.identify.cli": (2, 8), "neuroflow.rl.cli": (4, 9),
    "neuroflow.vad.cli": (7, 9), "neuroflow.vad.snn_cli": (3, 3),
}


def _demo(args) -> int:
    outdir = Path(args.out)
    check_output_file(outdir / "summary.json", "--out")  # written after the first part: a folder there failed then
    outdir.mkdir(parents=True, exist_ok=True)
    # two demos into one folder: its summary.json would list one run's parts beside the other's plots
    with exclusive_lock(outdir / ".neuroflow-demo.lock", f"--out: {outdir} is being written by another demo (pid "
                                                         f"{{pid}}); wait for it to finish or use another folder"):
        return _demo_locked(args, outdir)


def _demo_locked(args, outdir: Path) -> int:
    parts = [(area, m) for area in AREAS for m in _area_modules(area) if getattr(m, "demo", None) is not None]
    expected = sum(DEMO_SECONDS.get(m.__name__, (10, 20))[0 if args.quick else 1] for _, m in parts)
    say(f"neuroflow {__version__} demo ({'quick' if args.quick else 'full'}, {len(parts)} parts, about "
        f"{expected:.0f} s on a quiet 2-core machine); plots go to {outdir.resolve()}")
    report: dict[str, dict] = {}
    try:
        _demo_parts(parts, outdir, args, report)
    except KeyboardInterrupt:
        kept = (f"the plots and summary.json of the {len(report)} finished part{'s' if len(report) != 1 else ''} "
                f"are in {outdir.resolve()}" if report else "no part had finished")
        note(f"interrupted; {kept}", new_line_on_terminal=True)
        return 130
    say(f"\nplots and summary.json written to {outdir.resolve()}")
    return 0


def _demo_parts(parts, outdir: Path, args, report: dict) -> None:
    """Run the demo's parts in order, writing summary.json after each (``report`` holds the finished ones)."""
    with _interrupt_noted() as interrupted:
        for i, (area, module) in enumerate(parts, 1):
            key = module.__name__.rsplit(".", 1)[0].split(".", 1)[1] + ":" + module.__name__.rsplit(".", 1)[1]
            secs = DEMO_SECONDS.get(module.__name__, (10, 20))[0 if args.quick else 1]
            say(f"\n[{i}/{len(parts)}] {area}: {AREAS[area][0]} ({module.__name__}, about {secs:.0f} s)")
            t0 = time.perf_counter()
            lines = module.demo(outdir, quick=args.quick, seed=args.seed)
            if interrupted():  # a part that ends its own work on Ctrl-C (train, the agents) returns early:
                raise KeyboardInterrupt  # its numbers are not the demo's, and the parts after it do not run
            elapsed = time.perf_counter() - t0
            say("\n".join([f"  {line}" for line in lines] + [f"  ({elapsed:.1f} s)"]))
            report[key] = {"summary": list(lines), "time_s": elapsed}
            # after every part, so an interrupted demo keeps what it showed
            write_text_atomic(outdir / "summary.json", dumps(report, indent=2))


@contextlib.contextmanager
def _interrupt_noted():
    """While inside: Ctrl-C raises KeyboardInterrupt as usual and is also remembered, so a caller can tell that
    code which catches the interrupt to end its own work early (``train``) was interrupted. Yields a function
    that says whether Ctrl-C came. Outside the main thread nothing changes (signals are the main thread's)."""
    came = [False]
    previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    if not callable(previous):  # another thread, or Ctrl-C ignored / left to the system: leave it so
        yield lambda: came[0]
        return

    def note(signum, frame):
        came[0] = True
        previous(signum, frame)

    hook = sys.unraisablehook

    def quiet(unraisable):  # Ctrl-C landing where Python cannot raise it (a finaliser): noted above, not printed
        if not (came[0] and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            hook(unraisable)

    signal.signal(signal.SIGINT, note)
    sys.unraisablehook = quiet
    try:
        yield lambda: came[0]
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = hook


# ----------------------------------------------------------------------------- parser
def build_parser(areas: list[str] | None = None) -> argparse.ArgumentParser:
    parser = Parser(prog="neuroflow", description=(
        "neuroflow <area> <verb> [options]: gradient flow for MLPs, Expand-and-Cluster, actor-critic agents on "
        "memristors and spiking voice activity detection. `neuroflow demo` tours every area; `neuroflow <area> "
        "--help` lists an area's verbs."))
    parser.add_argument("--version", action="version", version=f"neuroflow {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="version and usable backends (never starts Julia)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_info)

    p = sub.add_parser("demo", help="a short tour of every area, with plots")
    p.add_argument("--quick", action="store_true", help="smallest sizes (each part prints its expected time)")
    p.add_argument("--out", type=output_dir(), default=Path("neuroflow-demo"),
                   help="folder for plots and summary.json (default: %(default)s)")
    p.add_argument("--seed", type=integer(0), default=0, help="random seed (default: %(default)s)")
    p.set_defaults(func=_demo)

    for area, (help_text, _) in AREAS.items():
        ap = sub.add_parser(area, help=help_text)
        verbs = ap.add_subparsers(dest="verb", metavar="VERB")
        ap.set_defaults(func=lambda args, ap=ap: (ap.print_help(), 2)[1])
        if areas is None or area in areas:
            for module in _area_modules(area):
                if hasattr(module, "register"):
                    module.register(verbs)
    return parser


def _innermost_parser(parser: argparse.ArgumentParser, args) -> argparse.ArgumentParser:
    """The parser of the area or verb that ``args`` chose (``parser`` itself if none)."""
    while True:
        chosen = None
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(args, action.dest, None) or "")
        if chosen is None:
            return parser
        parser = chosen


@contextlib.contextmanager
def _terminate_as_interrupt():
    """While inside: SIGTERM (``kill``, ``timeout``, a service manager or CI stopping the command) is handled as
    Ctrl-C is, by whatever handles SIGINT at that moment, so each verb keeps and reports what it finished, and worker
    processes are stopped (the default handler ended the process at once: its joblib workers ran on as orphans,
    nothing said what was kept). Yields a function saying whether SIGTERM came. Outside the main thread, or where
    SIGTERM is already handled, nothing changes."""
    came = [False]
    main_thread = threading.current_thread() is threading.main_thread()
    if not main_thread or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield lambda: came[0]
        return

    def terminate(signum, frame):
        came[0] = True
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:  # Ctrl-C ignored or left to the system: end as the default SIGINT handler would
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield lambda: came[0]
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings on the command line: one line naming what they are about, no source excerpt."""
    return f"neuroflow: warning: {one_line(message)}\n"


@contextlib.contextmanager
def _file_names_printable():
    """stdout writes a file name that is not UTF-8 (Python holds its bytes as surrogates) as those bytes, as it
    does in the C locale. Under a UTF-8 locale stdout is strict: `identify make-teacher --out $'t\\xff.npz'` wrote
    the teacher and then failed printing its name ("'utf-8' codec can't encode character '\\udcff'"), exit 2."""
    stream = sys.stdout
    errors = getattr(stream, "errors", None)
    if errors != "strict" or not hasattr(stream, "reconfigure"):
        yield
        return
    stream.reconfigure(errors="surrogateescape")
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # closed meanwhile
            stream.reconfigure(errors=errors)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    problems = environment_problems() if argv[:1] != ["info"] else []  # `info` lists them
    if problems:  # before any area is imported: the library reads the variable as it is imported
        return fail(problems[0])
    # import only the modules of the area being used
    areas = [argv[0]] if argv and argv[0] in AREAS else []
    # warnings on one line from the start: argument types read files (a device, a model) while parsing
    previous, warnings.formatwarning = warnings.formatwarning, _one_line_warning
    terminated = lambda: False  # noqa: E731
    try:
        parser = build_parser(areas)  # inside: an area's import that fails is one line too
        with _file_names_printable():
            args, extra = parser.parse_known_args(argv)
            if extra:  # argparse would name the top-level parser: name the verb whose options these are not
                _innermost_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
            if not hasattr(args, "func"):
                parser.print_help()
                return 2
            with _terminate_as_interrupt() as terminated:
                code = int(args.func(args) or 0)
        return 128 + signal.SIGTERM if terminated() and code == 130 else code
    except KeyboardInterrupt:
        # on a terminal a progress bar may hold the line: start a new one; in a log, one line
        # verbs that keep partial results (checkpoints, output folders) catch Ctrl-C themselves and say what they
        # kept; the rest write their results only at the end
        note("interrupted; nothing written (this command writes its results only when it finishes)",
             new_line_on_terminal=True)
        return 128 + signal.SIGTERM if terminated() else 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, OSError) as exc:  # bad input met after parsing: one line, never a traceback
        return fail(exc)
    except Warning as exc:  # a warning made an error (PYTHONWARNINGS=error, -W error): one line too
        return fail(exc)
    except RecursionError:  # a structure nested past Python's limit that no reader caught (JSON, pickles)
        return fail("input nested too deeply to read (a JSON or pickled file of thousands of levels?)")
    except MemoryError as exc:  # sizes past this machine's memory that no check caught before the work
        return fail(f"not enough memory ({exc or 'MemoryError'}); ask for less (fewer samples, seeds, units or "
                    f"frames)")
    finally:
        warnings.formatwarning = previous


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
