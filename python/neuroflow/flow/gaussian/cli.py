"""``neuroflow flow gaussian``: integrate the infinite-data teacher–student gradient flow (registered by
:mod:`neuroflow.flow.cli`), and the infinite-data part of the flow demo."""
from __future__ import annotations

from pathlib import Path

from neuroflow.cliutil import add_common_options, as_flag_error, emit, fail, output_file
from neuroflow.flow.cli_options import add_net_options, add_train_options, exit_status, plot_kept, train_options

#: API arguments whose ValueErrors are reported under their flag
_FLAGS = {"method": "--method", "activation": "--activation", "input_dim": "--input-dim",
          "student_width": "--student-width"}


def _describe(run) -> list[str]:
    p = run.to_dict()
    return [
        f"teacher {p['teacher_width']} x {p['activation']} units in d = {p['input_dim']}, student width "
        f"{p['student_width']} ({p['n_params']} parameters, {p['method']} expectations)",
        f"  loss {p['loss']:.3e}  gnorm {p['gnorm']:.2e}  converged {p['converged']}  ({p['time_s']:.2f} s: "
        f"ODE {p['ode_iterations']} steps, stopped by {p['ode_stopped_by']}; polish {p['optim_iterations']} "
        f"iterations, stopped by {p['optim_stopped_by']})",
        f"  one {p['evaluation']} evaluation: {p['evaluation_ms']:.2f} ms",
        "  best |cosine| per teacher unit: " + ", ".join(f"{c:.4f}" for c in p["teacher_best_cosines"]),
    ]


def _gaussian(args) -> int:
    from neuroflow.flow.gaussian.experiment import gaussian_run_memory, run_gaussian
    from neuroflow.flow.plots import plot_train
    from neuroflow._utils import check_memory

    from neuroflow.flow.gaussian.kernel import Kernel, method_problem

    problem = None if args.method == "auto" else method_problem(args.activation, args.method)
    if problem is not None:  # the library's message, in flags
        arg, reason, instead = problem
        flags = f"--activation {args.activation}, --method {args.method}"
        return fail(f"{flags}: {reason}" + (f"; use --method {instead}" if instead else "; use another --method "
                                                                                             "or --activation"))
    try:  # before any work: the activation/method pair, and memory
        Kernel(args.activation, args.method, None)
        check_memory(gaussian_run_memory(args.input_dim, args.teacher_width, args.student_width),
                     "--input-dim, --teacher-width, --student-width")
    except ValueError as exc:
        return fail(as_flag_error(exc, _FLAGS) or str(exc))
    run = run_gaussian(args.input_dim, args.teacher_width, args.student_width, args.activation, seed=args.seed,
                       method=args.method, progress=not args.quiet, **train_options(args))
    payload = run.to_dict()
    status = exit_status(run.result, payload)
    lines = _describe(run)
    if args.out:  # the result first, as flow train: a plot that fails to write must not lose it
        run.result.save(args.out)
        lines.append(f"  result: {args.out}")
        payload["out"] = str(args.out)
    if args.plot:
        if not plot_kept(args, lambda: plot_train(
                run.result, args.plot, cosines=run.teacher_cosines,
                title=f"{payload['activation']}: d={args.input_dim}, k={args.teacher_width}, m={args.student_width}, "
                      f"infinite data")):
            return 130
        lines.append(f"  plot: {args.plot}")
        payload["plot"] = str(args.plot)
    emit(args, payload, lines)
    return status


def register(verbs) -> None:
    from neuroflow.flow.gaussian import CLOSED_FORM_ACTIVATIONS, METHODS, QUADRATURE_ACTIVATIONS

    p = verbs.add_parser(
        "gaussian", help="teacher-student gradient flow with infinite standard-Gaussian data",
        description="Train a bias-free two-layer student on the exact expected loss E_x[(f - f*)^2], "
                    "x ~ N(0, I_d), of a seeded teacher with unit-norm weight vectors and output weights 1: "
                    "gradient-flow ODE, then Newton trust region, on closed-form or Gauss-Hermite expectations.")
    add_net_options(p, input_dim=10, teacher_width=4, student_width=4, activation="relu",
                    activations=set(CLOSED_FORM_ACTIVATIONS) | set(QUADRATURE_ACTIVATIONS))
    p.add_argument("--method", default="auto", choices=METHODS, metavar="METHOD",
                   help="expectations in closed form (relu, erf, normal_cdf), by 2-D Gauss-Hermite quadrature, "
                        "or by the Hermite series of the correlated pair (faster); auto: closed form where one "
                        "exists, else quadrature (default: %(default)s)")
    add_train_options(p)
    p.add_argument("--out", type=output_file((".json",)), default=None, metavar="PATH",
                   help="save the TrainResult as JSON")
    add_common_options(p, plot=True, seed=True)
    p.set_defaults(func=_gaussian)


def demo_part(outdir: Path, quick: bool, seed: int) -> list[str]:
    """Infinite-data flows: a closed form (relu) and the Hermite series (tanh)."""
    from neuroflow.flow.gaussian.experiment import run_gaussian
    from neuroflow.flow.plots import plot_train

    cases = [("relu", 6, 3, 3, "auto"), ("tanh", 6, 3, 3, "series")] if quick else \
        [("relu", 10, 4, 4, "auto"), ("tanh", 10, 4, 4, "series")]
    lines = []
    for act, d, k, m, method in cases:
        print(f"  infinite data: {act} student (m={m}) on a {k}-unit teacher in d={d}, exact expected loss...",
              flush=True)
        run = run_gaussian(d, k, m, act, seed=seed, method=method)
        p = run.to_dict()
        path = plot_train(run.result, Path(outdir) / f"flow_gaussian_{act}_{p['method']}.png",
                          cosines=run.teacher_cosines, title=f"{act} ({p['method']}): d={d}, k={k}, m={m}, "
                                                             "infinite data")
        lines.append(f"infinite data, {act} d={d} k={k} m={m} ({p['method']}): loss {p['loss']:.2e}, gnorm "
                     f"{p['gnorm']:.1e}, converged {p['converged']} in {p['time_s']:.1f} s; min best |cosine| "
                     f"{min(p['teacher_best_cosines']):.4f} -> {path.name}")
    return lines
