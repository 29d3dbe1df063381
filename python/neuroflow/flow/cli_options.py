"""Command-line options that every ``neuroflow flow`` verb built on ``train`` shares, with one spelling:
step budgets per phase, an optional wall-clock cap, and the convergence threshold."""
from __future__ import annotations

import inspect

from neuroflow.cliutil import integer, number

__all__ = ["add_net_options", "add_train_options", "train_options", "exit_status"]


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
    p.add_argument("--max-iterations-ode", type=integer(0), default=_default("maxiterations_ode"), metavar="N",
                   help="step budget of the gradient-flow ODE phase; 0 skips it (default: %(default)s)")
    p.add_argument("--max-iterations-optim", type=integer(0), default=_default("maxiterations_optim"),
                   metavar="N", help="iteration budget of the Newton/BFGS polishing phase; 0 skips it "
                                     "(default: %(default)s)")
    p.add_argument("--max-time", type=number(0, lo_open=True), default=None, metavar="SECONDS",
                   help="optional wall-clock cap on each phase (so at most about twice this in all); a phase "
                        "it stops says maxtime and the run is no longer reproducible (default: no cap)")
    p.add_argument("--min-gnorm", type=number(0, lo_open=True), default=_default("min_gnorm"), metavar="G",
                   help="converged when the gradient's inf-norm falls to G > 0 (0 is never reached in floating "
                        "point; default: %(default)s)")


def train_options(args) -> dict:
    """The keyword arguments of :func:`neuroflow.flow.train` that the options above set."""
    return dict(maxiterations_ode=args.max_iterations_ode, maxiterations_optim=args.max_iterations_optim,
                maxtime_ode=args.max_time, maxtime_optim=args.max_time, min_gnorm=args.min_gnorm)


def exit_status(result, payload: dict) -> int:
    """0, or 130 when Ctrl-C cut the run short (``train`` then ends the phase and keeps the best point;
    the result says ``"interrupted"`` and the payload gets ``interrupted: true``)."""
    interrupted = "interrupted" in (result.ode_stopped_by, result.optim_stopped_by)
    payload["interrupted"] = interrupted
    return 130 if interrupted else 0
