"""``neuroflow flow train | gaussian | bench`` and the gradient-flow part of ``neuroflow demo``."""
from __future__ import annotations

from pathlib import Path

from neuroflow.cliutil import add_common_options, emit, fail, flag_error, integer, note, output_file
from neuroflow.flow.cli_options import (add_net_options, add_train_options, exit_status, phase_conflict, plot_kept,
                                        train_options)

#: API arguments of teacher_student_run / train whose ValueErrors are reported under their flag
_TRAIN_FLAGS = {"method_ode": "--method-ode", "method_optim": "--method-optim", "backend": "--backend",
                "n_samples": "--n-samples", "activation": "--activation", "student_width": "--student-width",
                "input_dim": "--input-dim", "teacher_width": "--teacher-width"}


# ----------------------------------------------------------------------------- verbs
def _train(args) -> int:
    from neuroflow.backend import get_backend
    from neuroflow.flow.plots import plot_train
    from neuroflow._utils import check_memory
    from neuroflow.flow.teacher_student import TEACHER_STUDENT_SIZES, teacher_student_memory, teacher_student_run

    conflict = phase_conflict(args)
    if conflict:
        return fail(conflict)
    try:
        get_backend(args.backend)
        check_memory(teacher_student_memory(args.input_dim, args.teacher_width, args.student_width, args.n_samples,
                                            method_ode=args.method_ode, method_optim=args.method_optim),
                     TEACHER_STUDENT_SIZES)
        run = teacher_student_run(args.input_dim, args.teacher_width, args.student_width, args.activation,
                                  args.n_samples, seed=args.seed, backend=args.backend, progress=not args.quiet,
                                  method_ode=args.method_ode, method_optim=args.method_optim,
                                  **train_options(args))
    except ValueError as exc:  # checked before any work: an option the backend cannot honour, or memory
        raise flag_error(exc, _TRAIN_FLAGS) from None
    res = run.result
    payload = run.to_dict()
    status = exit_status(res, payload)
    lines = [f"student {args.student_width} x {args.activation} on a {args.teacher_width}-unit teacher, "
             f"N={args.n_samples}, {res.n_params} parameters",
             f"  ODE ({res.method_ode}): {res.ode_iterations} steps, {res.ode_time_s:.2f} s, stopped by "
             f"{res.ode_stopped_by}, loss {res.ode_loss:.3e}",
             f"  polish ({res.method_optim}): {res.optim_iterations} iterations, {res.optim_time_s:.2f} s, "
             f"stopped by {res.optim_stopped_by}",
             f"  loss {res.loss:.3e}  gnorm {res.gnorm:.2e}  converged {res.converged}  time {res.time_s:.2f} s"
             + ("" if res.reproducible else "  (interrupted: not reproducible)" if "interrupted" in
                (res.ode_stopped_by + res.optim_stopped_by) else "  (stopped by the clock: not reproducible)")]
    if args.out:  # the result first: a plot that fails to write must not lose it
        res.save(args.out)
        payload["out"] = str(args.out)
        lines.append(f"  result: {args.out}")
    if args.plot:
        if not plot_kept(args, lambda: plot_train(res, args.plot, title=f"student {args.student_width} on teacher "
                                                                          f"{args.teacher_width}, N={args.n_samples}")):
            return 130
        payload["plot"] = str(args.plot)
        lines.append(f"  plot: {args.plot}")
    emit(args, payload, lines)
    return status


def _bench(args) -> int:
    from neuroflow._utils import dumps, write_text_atomic
    from neuroflow.flow.bench import gradient_benchmark

    def report(p):  # one line per grid point as it finishes: the full grid takes minutes
        if not args.quiet:
            hs = f", Hessian {p['hessian_speedup']:.0f}x" if "hessian_speedup" in p else ""
            note(f"  hidden {'-'.join(map(str, p['hidden']))}, N={p['n_samples']}: gradient "
                 f"{p['gradient_speedup']:.1f}x{hs}")

    res = gradient_benchmark(quick=not args.full, repeats=args.repeats, on_point=report)
    if args.out:
        write_text_atomic(args.out, dumps(res, indent=2) + "\n")
    lines = ["gradient / Hessian speed against torch (float64, one thread each side)",
             f"  {'hidden':>8} {'N':>7} {'grad x':>8} {'hess x':>8}"]
    for p in res["points"]:
        hs = f"{p['hessian_speedup']:8.1f}" if "hessian_speedup" in p else f"{'-':>8}"
        lines.append(f"  {'-'.join(map(str, p['hidden'])):>8} {p['n_samples']:>7} {p['gradient_speedup']:8.1f} {hs}")
    s = res["summary"]
    lines.append(f"  min speed-up: gradient {s['min_gradient_speedup']:.1f}x, Hessian (1 hidden) "
                 f"{s['min_hessian_speedup_one_hidden']:.1f}x, Hessian (20-20) {s['min_hessian_speedup_two_hidden']:.1f}x")
    if args.out:
        lines.append(f"  JSON: {args.out}")
    emit(args, res, lines)
    return 0


def register(verbs) -> None:
    from neuroflow.backend import BACKENDS
    from neuroflow.flow.engine import ODE_METHODS, OPTIM_METHODS
    from neuroflow.flow.gaussian import cli as gaussian_cli
    from neuroflow.mlp.activations import ACTIVATIONS

    p = verbs.add_parser("train", help="train a student MLP on a random teacher (gradient flow, then Newton)")
    add_net_options(p, input_dim=2, teacher_width=4, student_width=8, activation="softplus", activations=ACTIVATIONS)
    p.add_argument("--n-samples", type=integer(1), default=1000, metavar="N",
                   help="standard-normal probe inputs (default: %(default)s)")
    add_train_options(p)
    p.add_argument("--method-ode", default="auto", choices=["auto", *ODE_METHODS, "none"], metavar="METHOD",
                   help=f"ODE solver: auto, {', '.join(ODE_METHODS)} or none (default: %(default)s)")
    p.add_argument("--method-optim", default="auto", choices=["auto", *OPTIM_METHODS], metavar="METHOD",
                   help=f"polisher: auto, {', '.join(OPTIM_METHODS)} (default: %(default)s)")
    p.add_argument("--backend", default="numpy", choices=["auto", *BACKENDS], metavar="NAME",
                   help="where loss, gradient and Hessian are computed: auto, numpy, torch or julia "
                        "(default: %(default)s)")
    p.add_argument("--out", type=output_file((".json",)), default=None, metavar="PATH",
                   help="save the TrainResult as JSON")
    add_common_options(p, plot=True, seed=True)
    p.set_defaults(func=_train)

    gaussian_cli.register(verbs)

    p = verbs.add_parser("bench", help="gradient/Hessian speed against torch (small grid; --full for all)")
    p.add_argument("--full", action="store_true", help="the whole grid of benchmarks/gradients.py (minutes)")
    p.add_argument("--repeats", type=integer(1), default=5, metavar="R",
                   help="timed repetitions per point, median reported (default: %(default)s)")
    p.add_argument("--out", type=output_file((".json",)), default=None, metavar="PATH",
                   help="also write the JSON there")
    add_common_options(p, plot=False, seed=False)
    p.set_defaults(func=_bench)


# ----------------------------------------------------------------------------- demo
def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    """Teacher-student: gradient flow + Newton to a fixed point (Adam beside it with the same work),
    its Hessian spectrum, and the infinite-data flow; plots into ``outdir``."""
    from neuroflow.flow.gaussian.cli import demo_part
    from neuroflow.flow.plots import plot_train
    from neuroflow.flow.spectrum import hessian_spectrum, is_minimum
    from neuroflow.flow.teacher_student import teacher_student_run

    from neuroflow._utils import serial_blas

    n = 1000 if quick else 2000
    print(f"  finite data: an 8-unit softplus student on {n} probes of a random 4-unit teacher, gradient flow "
          "then Newton, and Adam with as many gradients...", flush=True)
    with serial_blas():  # train does this itself; Adam beside it gets the same conditions
        run = teacher_student_run(2, 4, 8, "softplus", n, seed=seed, adam_too=True)
    res, ad = run.result, run.adam
    ev = hessian_spectrum(run.student.hessian(res.x, run.X, run.Y))
    path = plot_train(res, Path(outdir) / "flow_teacher_student.png", baseline=ad,
                      title=f"student 8 on teacher 4, N={n}")
    kind = ("a minimum" if is_minimum(ev) else "a saddle") if res.converged else "not a fixed point"
    lines = [f"teacher 4 softplus units -> student 8 units, N={n}: gradient flow ({res.ode_iterations} steps, "
             f"{res.ode_stopped_by}) + {res.method_optim} ({res.optim_iterations} iterations): loss {res.loss:.2e}, "
             f"gnorm {res.gnorm:.1e} in {res.time_s:.1f} s",
             f"Adam (lr 1e-3, {ad.iterations} steps = train's {res.n_gradients} gradients + {res.n_hessians} "
             f"Hessians x {res.n_params} parameters; {ad.time_s:.1f} s): loss {ad.loss:.2e} "
             f"({ad.loss / max(res.loss, 1e-300):.1e}x higher)",
             f"Hessian spectrum at the end: min {ev[0]:.1e}, max {ev[-1]:.1e} -> {kind}",
             f"plot: {path.name}"]
    return lines + demo_part(outdir, quick, seed)
