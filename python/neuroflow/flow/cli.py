"""``neuroflow flow train`` / ``neuroflow flow bench`` and the gradient-flow part of ``neuroflow demo``."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from neuroflow._utils import check_positive, pyplot, save_figure


def teacher_student_run(input_dim: int, teacher_width: int, student_width: int, activation: str, n_samples: int,
                        seed: int, maxtime: float, progress: bool = False, adam_too: bool = False,
                        backend: str = "numpy", method_ode: str = "auto", method_optim: str = "auto") -> dict:
    """Draw a random teacher, train a student on Gaussian probes; optionally Adam at the same budget."""
    from neuroflow.flow.baselines import adam
    from neuroflow.flow.bench import teacher_student_problem
    from neuroflow.flow.train import train
    from neuroflow.mlp import MLP

    check_positive(input_dim, "input_dim", integer=True)
    check_positive(teacher_width, "teacher_width", integer=True)
    check_positive(student_width, "student_width", integer=True)
    check_positive(n_samples, "n_samples", integer=True)
    check_positive(maxtime, "maxtime")
    _, _, X, Y = teacher_student_problem(input_dim, teacher_width, n_samples, activation, seed=seed)
    student = MLP(input_dim, [(student_width, activation, True), (1, "identity", True)], backend=backend)
    theta0 = student.init_params(seed=10_000 + seed)
    result = train(student, theta0, X, Y, maxtime_ode=maxtime / 2, maxtime_optim=maxtime / 2, progress=progress,
                   method_ode=method_ode, method_optim=method_optim)
    out = {"result": result, "student": student, "X": X, "Y": Y}
    if adam_too:
        out["adam"] = adam(student, theta0, X, Y, lr=1e-3, maxtime=max(result.time_s, 1e-3), progress=progress)
    return out


def plot_run(result, adam_result=None, path=None, title="gradient flow + Newton"):
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    lc = result.loss_curve
    for phase, colour, label in ((1, "tab:blue", f"ODE ({result.method_ode})"),
                                 (2, "tab:red", f"polish ({result.method_optim})")):
        sel = lc[:, 3] == phase
        if sel.any():
            axes[0].semilogy(lc[sel, 0], np.maximum(lc[sel, 1], 1e-300), ".", ms=3, color=colour, label=label)
            axes[1].semilogy(lc[sel, 0], np.maximum(lc[sel, 2], 1e-300), ".", ms=3, color=colour, label=label)
    if adam_result is not None and len(adam_result.loss_curve):
        ac = adam_result.loss_curve
        axes[0].semilogy(ac[:, 0], np.maximum(ac[:, 1], 1e-300), "-", color="gray", label="Adam (lr 1e-3)")
    axes[0].set(xlabel="wall time (s)", ylabel="loss", title=title)
    axes[1].set(xlabel="wall time (s)", ylabel="gradient inf-norm", title=f"final gnorm {result.gnorm:.1e}")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


# ----------------------------------------------------------------------------- verbs
def _train(args) -> int:
    from neuroflow.cliutil import emit

    t0 = time.perf_counter()
    run = teacher_student_run(args.input_dim, args.teacher_width, args.student_width, args.activation,
                              args.n_samples, args.seed, args.maxtime, progress=not args.quiet,
                              backend=args.backend, method_ode=args.method_ode, method_optim=args.method_optim)
    res = run["result"]
    payload = dict(res.summary())
    payload.update(backend=run["student"].backend.name, input_dim=args.input_dim, teacher_width=args.teacher_width, student_width=args.student_width,
                   activation=args.activation, n_samples=args.n_samples, seed=args.seed,
                   wall_s=time.perf_counter() - t0)
    if args.plot:
        plot_run(res, path=args.plot)
        payload["plot"] = str(args.plot)
    if args.save:
        res.save(args.save)
        payload["saved"] = str(args.save)
    lines = [f"student {args.student_width} x {args.activation} on a {args.teacher_width}-unit teacher, "
             f"N={args.n_samples}, {res.n_params} parameters",
             f"  ODE ({res.method_ode}): {res.ode_iterations} steps, {res.ode_time_s:.2f} s, stopped by "
             f"{res.ode_stopped_by}, loss {res.ode_loss:.3e}",
             f"  polish ({res.method_optim}): {res.optim_iterations} iterations, {res.optim_time_s:.2f} s, "
             f"stopped by {res.optim_stopped_by}",
             f"  loss {res.loss:.3e}  gnorm {res.gnorm:.2e}  converged {res.converged}  time {res.time_s:.2f} s"]
    if args.plot:
        lines.append(f"  plot: {args.plot}")
    emit(args, payload, lines)
    return 0


def _bench(args) -> int:
    from neuroflow.cliutil import emit
    from neuroflow.flow.bench import gradient_benchmark

    res = gradient_benchmark(quick=not args.full, repeats=args.repeats)
    lines = ["gradient / Hessian speed against torch (float64, one thread each side)",
             f"  {'hidden':>8} {'N':>7} {'grad x':>8} {'hess x':>8}"]
    for p in res["points"]:
        hs = f"{p['hessian_speedup']:8.1f}" if "hessian_speedup" in p else f"{'-':>8}"
        lines.append(f"  {'-'.join(map(str, p['hidden'])):>8} {p['n_samples']:>7} {p['gradient_speedup']:8.1f} {hs}")
    s = res["summary"]
    lines.append(f"  min speed-up: gradient {s['min_gradient_speedup']:.1f}x, Hessian (1 hidden) "
                 f"{s['min_hessian_speedup_one_hidden']:.1f}x, Hessian (20-20) {s['min_hessian_speedup_two_hidden']:.1f}x")
    emit(args, res, lines)
    return 0


def register(verbs) -> None:
    from neuroflow.cliutil import add_common_options
    from neuroflow.mlp.activations import ACTIVATIONS

    p = verbs.add_parser("train", help="train a student MLP on a random teacher (gradient flow, then Newton)")
    p.add_argument("--input-dim", type=int, default=2, help="inputs of teacher and student (default 2)")
    p.add_argument("--teacher-width", type=int, default=4, help="hidden units of the random teacher (default 4)")
    p.add_argument("--student-width", type=int, default=8, help="hidden units of the student (default 8)")
    p.add_argument("--activation", default="softplus", choices=sorted(ACTIVATIONS), metavar="NAME",
                   help=f"hidden activation of both nets: {', '.join(sorted(ACTIVATIONS))} (default softplus)")
    p.add_argument("--n-samples", type=int, default=1000, help="standard-normal probe inputs (default 1000)")
    p.add_argument("--maxtime", type=float, default=20.0, help="wall-time budget in seconds (both phases)")
    p.add_argument("--method-ode", default="auto", help="auto, RK45, DOP853, RK23, Radau, BDF, LSODA or none")
    p.add_argument("--method-optim", default="auto", help="auto, newton, trust-exact, trust-krylov, bfgs, lbfgs or none")
    p.add_argument("--backend", default="numpy", choices=["auto", "numpy", "torch", "julia"],
                   help="where loss, gradient and Hessian are computed (default numpy)")
    p.add_argument("--save", type=Path, default=None, metavar="PATH", help="save the TrainResult as JSON")
    add_common_options(p)
    p.set_defaults(func=_train)

    p = verbs.add_parser("bench", help="gradient/Hessian speed against torch (small grid; --full for all)")
    p.add_argument("--full", action="store_true", help="the whole issue grid (minutes)")
    p.add_argument("--repeats", type=int, default=5)
    add_common_options(p, plot=False, seed=False)
    p.set_defaults(func=_bench)


# ----------------------------------------------------------------------------- demo
def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    """Teacher-student: gradient flow + Newton against Adam at the same wall time; plots the curves."""
    from neuroflow.flow.spectrum import hessian_spectrum, is_minimum

    n, budget = (1000, 4.0) if quick else (10_000, 40.0)
    run = teacher_student_run(2, 4, 8, "softplus", n, seed, budget, adam_too=True)
    res, ad = run["result"], run["adam"]
    H = run["student"].hessian(res.x, run["X"], run["Y"])
    ev = hessian_spectrum(H)
    path = Path(outdir) / "flow_teacher_student.png"
    plot_run(res, ad, path=path, title=f"student 8 on teacher 4, N={n}")
    return [f"teacher 4 softplus units -> student 8 units, N={n}, budget {budget:.0f} s",
            f"gradient flow + Newton: loss {res.loss:.2e}, gnorm {res.gnorm:.1e} in {res.time_s:.1f} s "
            f"(ODE stopped by {res.ode_stopped_by})",
            f"Adam (lr 1e-3, same time): loss {ad.loss:.2e} ({ad.loss / max(res.loss, 1e-300):.1e}x higher)",
            f"Hessian spectrum: min {ev[0]:.1e}, max {ev[-1]:.1e} -> "
            + (("a minimum" if is_minimum(ev) else "a saddle") if res.converged
               else "not a fixed point yet (short budget)"),
            f"plot: {path.name}"]
