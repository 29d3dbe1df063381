"""Command-line options that every ``neuroflow flow`` verb built on ``train`` shares, with one spelling:
step budgets per phase, an optional wall-clock cap, and the convergence threshold."""
from __future__ import annotations

import inspect

from neuroflow.cliutil import integer, number

__all__ = ["add_net_options", "add_train_options", "train_options", "phase_conflict", "exit_status", "plot_kept"]


def _default(name: str):
    from neuroflow.flow.engine import train

    return inspect.signature(train).parameters[name].default


def add_net_options(p, *, input_dim: int, teacher_width: int, student_width: int, activation: str,
                    activations) -> None:
    """``--input-dim``, ``--teacher-width``, ``--student-width`` and ``--activation`` with these defaults."""
    names = sorted(activations)
    p.add_argument("--input-dim", type=integer(1), default=input_dim, metavar="D",
                   help="inputs of teacher and student (default: %(default)s)")
    p.add_argument("--teacher-width", type=integer(1), default=teacher_width, metavar="K",
                   help="hidden units of the seeded random teacher (default: %(default)s)")
    p.add_argument("--student-width", type=integer(1), default=student_width, metavar="M",
                   help="hidden units of the student (default: %(default)s)")
    p.add_argument("--activation", default=activation, choices=names, metavar="NAME",
                   help=f"hidden activation of both nets: {', '.join(names)} (default: %(default)s)")


def add_train_options(p) -> None:
    """``--max-iterations-ode``, ``--max-iterations-optim``, ``--max-time`` and ``--min-gnorm``."""
    # default None, so that a budget given for a phase --method-ode/--method-optim none skips is told from the default
    p.add_argument("--max-iterations-ode", type=integer(0), default=None, metavar="N",
                   help=f"step budget of the gradient-flow ODE phase; 0 skips it (default: "
                        f"{_default('maxiterations_ode')})")
    p.add_argument("--max-iterations-optim", type=integer(0), default=None, metavar="N",
                   help=f"iteration budget of the Newton/BFGS polishing phase; 0 skips it (default: "
                        f"{_default('maxiterations_optim')})")
    p.add_argument("--max-time", type=number(0, lo_open=True), default=None, metavar="SECONDS",
                   help="optional wall-clock cap on each phase (so at most about twice this in all); a phase "
                        "it stops says maxtime and the run is no longer reproducible (default: no cap)")
    p.add_argument("--min-gnorm", type=number(0, lo_open=True), default=_default("min_gnorm"), metavar="G",
                   help="converged when the gradient's inf-norm falls to G > 0 (0 is never reached in floating "
                        "point; default: %(default)s)")


def train_options(args) -> dict:
    """The keyword arguments of :func:`neuroflow.flow.train` that the options above set."""
    budgets = {f"maxiterations_{phase}": _default(f"maxiterations_{phase}") if given is None else given
               for phase, given in (("ode", args.max_iterations_ode), ("optim", args.max_iterations_optim))}
    return dict(**budgets, maxtime_ode=args.max_time, maxtime_optim=args.max_time, min_gnorm=args.min_gnorm)


def phase_conflict(args) -> str | None:
    """The flags that ask a phase both to run and to be skipped, for ``flow train``'s ``--method-ode`` /
    ``--method-optim``: ``--method-ode none --max-iterations-ode 500`` skipped the ODE phase and said nothing of
    its budget, ``--max-iterations-optim 0 --method-optim bfgs`` skipped the BFGS it asked for."""
    for phase in ("ode", "optim"):
        method, budget = getattr(args, f"method_{phase}"), getattr(args, f"max_iterations_{phase}")
        if method == "none" and budget is not None and budget > 0:
            return (f"--method-{phase} none, --max-iterations-{phase} {budget}: 'none' skips the phase, so its "
                    f"budget would go unused; drop one")
        if budget == 0 and method not in ("auto", "none"):
            return (f"--max-iterations-{phase} 0, --method-{phase} {method}: a budget of 0 skips the phase, so "
                    f"{method} would never run; drop one")
    return None


def exit_status(result, payload: dict) -> int:
    """0, or 130 when Ctrl-C cut the run short (``train`` then ends the phase and keeps the best point;
    the result says ``"interrupted"`` and the payload gets ``interrupted: true``)."""
    interrupted = result.interrupted
    payload["interrupted"] = interrupted
    return 130 if interrupted else 0


def plot_kept(args, draw) -> bool:
    """``draw()`` (the --plot figure, drawn after --out was saved); False when Ctrl-C (or SIGTERM) cut it short,
    after a line saying where the result is: the command line's own line said "nothing written" while --out held
    the finished result."""
    from neuroflow.cliutil import note

    try:
        draw()
    except KeyboardInterrupt:
        if not args.out:
            raise  # nothing was written: the command line's own line says so
        note(f"interrupted while drawing {args.plot}; the result is in {args.out}", new_line_on_terminal=True)
        return False
    return True
