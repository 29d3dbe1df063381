"""``neuroflow flow gaussian``: integrate the infinite-data teacher–student gradient flow, and its demo."""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from neuroflow.cliutil import add_common_options, emit


def teacher_cosines(objective, theta) -> np.ndarray:
    """Cosines between teacher units (rows) and student units (columns)."""
    W, _ = objective.split(theta)
    Wn = W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-300)
    V = objective.teacher_W / np.linalg.norm(objective.teacher_W, axis=1, keepdims=True)
    return V @ Wn.T


def run_gaussian(input_dim: int, teacher_width: int, student_width: int, activation: str, *, seed: int = 0,
                 method: str = "auto", maxtime: float = 60.0, min_gnorm: float = 1e-10,
                 progress: bool = False) -> tuple[dict, object, object]:
    """Train a seeded student on the infinite-data loss of a seeded teacher.

    Returns ``(payload, objective, TrainResult)``; the payload is what ``neuroflow flow gaussian``
    prints. Convergence means ``gnorm <= min_gnorm`` (a loss of 0 up to round-off does not count).
    """
    from neuroflow.flow.gaussian import GaussianTeacherStudent, random_teacher
    from neuroflow.flow.train import train

    W, a = random_teacher(input_dim, teacher_width, seed=seed)
    obj = GaussianTeacherStudent(W, a, student_width, activation, method=method)
    theta0 = obj.random_student(seed=seed + 1)
    obj.loss_gradient_hessian(theta0)  # warm-up: quadrature rules are built on first use
    t0 = time.perf_counter()
    obj.loss_gradient_hessian(theta0 * (1.0 + 1e-12))  # a new point: the evaluation cache cannot answer
    eval_ms = (time.perf_counter() - t0) * 1e3
    res = train(obj, theta0, maxtime_ode=maxtime, maxtime_optim=maxtime, min_gnorm=min_gnorm,
                min_loss=-math.inf, progress=progress)
    cos = teacher_cosines(obj, res.x)
    payload = {
        "input_dim": input_dim, "teacher_width": teacher_width, "student_width": student_width,
        "activation": obj.activation, "method": obj.method, "seed": seed, "n_params": obj.n_params,
        "loss": res.loss, "gnorm": res.gnorm, "converged": bool(res.converged), "time_s": res.time_s,
        "ode_stopped_by": res.ode_stopped_by, "optim_stopped_by": res.optim_stopped_by,
        "ode_iterations": res.ode_iterations, "optim_iterations": res.optim_iterations,
        "ode_time_s": res.ode_time_s, "optim_time_s": res.optim_time_s,
        "evaluation_ms": eval_ms,
        # how well each teacher unit is matched by its best-aligned student unit (up to sign, which
        # odd activations such as tanh and erf absorb into the output weight)
        "teacher_best_cosines": np.abs(cos).max(axis=1).tolist(),
        "teacher_loss": obj.teacher_norm2,
    }
    return payload, obj, res


def plot_run(res, cosines: np.ndarray, path, title: str = "") -> Path:
    """Loss and gradient norm against wall time, and the teacher–student cosine matrix."""
    from neuroflow._utils import pyplot, save_figure

    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.6, 1]})
    curve = np.asarray(res.loss_curve)
    if curve.size:
        t = np.maximum(curve[:, 0], 1e-4)
        ax.loglog(t, np.maximum(curve[:, 1], 1e-32), label="loss")
        ax.loglog(t, np.maximum(curve[:, 2], 1e-32), label="gnorm (inf-norm)")
        polish = np.flatnonzero(curve[:, 3] == 2)
        if polish.size:
            ax.axvline(t[polish[0]], color="grey", ls=":", lw=1, label="Newton/BFGS phase")
    ax.set_xlabel("wall time (s)")
    ax.set_title(title or "infinite-data gradient flow")
    ax.legend(fontsize=8)
    im = bx.imshow(cosines, vmin=-1, vmax=1, cmap="RdBu_r")
    bx.set_xlabel("student unit")
    bx.set_ylabel("teacher unit")
    bx.set_title("cos(teacher, student)")
    bx.set_xticks(range(cosines.shape[1]))
    bx.set_yticks(range(cosines.shape[0]))
    fig.colorbar(im, ax=bx, fraction=0.046)
    return save_figure(fig, path)


def _gaussian(args) -> int:
    from neuroflow._utils import check_positive

    check_positive(args.input_dim, "--input-dim", integer=True)
    check_positive(args.teacher_width, "--teacher-width", integer=True)
    check_positive(args.student_width, "--student-width", integer=True)
    check_positive(args.maxtime, "--maxtime")
    payload, obj, res = run_gaussian(args.input_dim, args.teacher_width, args.student_width, args.activation,
                                     seed=args.seed, method=args.method, maxtime=args.maxtime,
                                     min_gnorm=args.min_gnorm, progress=not args.quiet and not args.json)
    p = payload
    lines = [
        f"teacher {p['teacher_width']} x {p['activation']} units in d = {p['input_dim']}, student width "
        f"{p['student_width']} ({p['n_params']} parameters, {p['method']} expectations)",
        f"  loss {p['loss']:.3e}  gnorm {p['gnorm']:.2e}  converged {p['converged']}  ({p['time_s']:.2f} s: "
        f"ODE {p['ode_iterations']} steps, stopped by {p['ode_stopped_by']}; polish {p['optim_iterations']} "
        f"iterations, stopped by {p['optim_stopped_by']})",
        f"  one loss+gradient+Hessian evaluation: {p['evaluation_ms']:.2f} ms",
        "  best |cosine| per teacher unit: " + ", ".join(f"{c:.4f}" for c in p["teacher_best_cosines"]),
    ]
    if args.plot:
        plot_run(res, teacher_cosines(obj, res.x), args.plot,
                 title=f"{p['activation']}: d={p['input_dim']}, k={p['teacher_width']}, m={p['student_width']}")
        lines.append(f"  plot: {args.plot}")
        payload["plot"] = str(args.plot)
    emit(args, payload, lines)
    return 0


def register(verbs) -> None:
    from neuroflow.flow.gaussian import CLOSED_FORM_ACTIVATIONS, QUADRATURE_ACTIVATIONS

    names = sorted(set(CLOSED_FORM_ACTIVATIONS) | set(QUADRATURE_ACTIVATIONS))
    p = verbs.add_parser(
        "gaussian", help="teacher-student gradient flow with infinite standard-Gaussian data",
        description="Train a bias-free two-layer student on the exact expected loss E_x[(f - f*)^2], "
                    "x ~ N(0, I_d), of a seeded teacher with unit-norm weight vectors and output weights 1: "
                    "gradient-flow ODE, then Newton trust region, on closed-form or Gauss-Hermite expectations.")
    p.add_argument("--input-dim", type=int, default=10, metavar="D", help="input dimension d (default 10)")
    p.add_argument("--teacher-width", type=int, default=4, metavar="K", help="teacher hidden units (default 4)")
    p.add_argument("--student-width", type=int, default=4, metavar="M", help="student hidden units (default 4)")
    p.add_argument("--activation", default="relu", choices=names, metavar="A",
                   help=f"hidden activation, one of {', '.join(names)} (default relu)")
    p.add_argument("--method", default="auto", choices=("auto", "closed", "quadrature", "series"),
                   help="expectations in closed form (relu, erf, normal_cdf), by 2-D Gauss-Hermite quadrature, "
                        "or by the Hermite series of the correlated pair (faster); auto: closed form where one "
                        "exists, else quadrature")
    p.add_argument("--maxtime", type=float, default=60.0, help="wall-time budget per phase, seconds (default 60)")
    p.add_argument("--min-gnorm", type=float, default=1e-10, help="converged when the gradient inf-norm "
                   "falls to this (default 1e-10)")
    add_common_options(p)
    p.set_defaults(func=_gaussian)


def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    """Infinite-data flows for closed-form (relu, erf) and quadrature/series (tanh) expectations."""
    outdir = Path(outdir)
    if quick:
        cases = [("relu", 6, 3, 3, "auto"), ("tanh", 6, 3, 3, "series")]
    else:
        cases = [("relu", 10, 4, 4, "auto"), ("erf", 10, 4, 5, "auto"), ("tanh", 10, 4, 4, "quadrature"),
                 ("tanh", 10, 4, 4, "series")]
    lines = []
    for act, d, k, m, method in cases:
        p, obj, res = run_gaussian(d, k, m, act, seed=seed, method=method, maxtime=10.0 if quick else 60.0)
        path = plot_run(res, teacher_cosines(obj, res.x), outdir / f"flow_gaussian_{act}_{obj.method}.png",
                        title=f"{act} ({obj.method}): d={d}, k={k}, m={m}, infinite data")
        lines.append(f"{act} d={d} k={k} m={m} ({p['method']}): loss {p['loss']:.2e}, gnorm {p['gnorm']:.1e}, "
                     f"converged {p['converged']} in {p['time_s']:.1f} s; one L+g+H evaluation "
                     f"{p['evaluation_ms']:.1f} ms; min best |cosine| {min(p['teacher_best_cosines']):.4f} -> {path.name}")
    return lines
