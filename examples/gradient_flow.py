"""Gradient flow to an exact minimum, against Adam given the same work.

A random teacher (4 softplus units, 2 inputs) labels Gaussian probes; a student with 8 units follows
the gradient flow d(theta)/dt = -grad L with an ODE solver, then Newton polishing takes it to a fixed
point. Both phases stop on step budgets, so the numbers are the same on any machine. The Hessian
spectrum at the end says whether it is a minimum. Full-batch Adam gets one step per gradient evaluation that
train made, a Hessian counted as one per parameter (``TrainResult.same_work``): the same numbers on any machine
too.

    python examples/gradient_flow.py [--quick] [--out DIR] [--seed S]
"""
from __future__ import annotations

import numpy as np

from neuroflow import MLP, train
from neuroflow.cliutil import Parser, integer, output_dir
from neuroflow.flow import adam, hessian_spectrum, is_minimum, plot_train, teacher_student_problem


def main(argv=None) -> int:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1000 samples instead of 10000 (a few seconds)")
    parser.add_argument("--out", type=output_dir(), default="neuroflow-out/gradient_flow",
                        help="folder for the plot and the result (default: %(default)s)")
    parser.add_argument("--seed", type=integer(0), default=0, help="seed of teacher, data and student (default: 0)")
    args = parser.parse_args(argv)
    n_samples = 1000 if args.quick else 10_000

    # data: a random 4-unit teacher on standard-normal inputs
    _, _, X, Y = teacher_student_problem(input_dim=2, teacher_width=4, n_samples=n_samples, seed=args.seed)
    student = MLP(2, [(8, "softplus", True), (1, "identity", True)])
    theta0 = student.init_params(seed=args.seed)

    # phase 1: gradient-flow ODE; phase 2: Newton trust region with the exact Hessian
    result = train(student, theta0, X, Y)
    if result.interrupted:  # train caught Ctrl-C: stop, no Adam run
        raise SystemExit("interrupted (Ctrl-C): the run is unfinished, so nothing is reported")
    baseline = adam(student, theta0, X, Y, lr=1e-3, **result.same_work())

    eigenvalues = hessian_spectrum(student.hessian(result.x, X, Y))
    print(f"student: {student.n_params} parameters, N = {n_samples}")
    print(f"gradient flow + Newton: loss {result.loss:.3e}, gradient inf-norm {result.gnorm:.1e}, "
          f"{result.time_s:.1f} s (ODE: {result.ode_iterations} steps, {result.ode_stopped_by}; Newton: "
          f"{result.optim_iterations} iterations, {result.optim_stopped_by})")
    print(f"Adam, the same work ({baseline.iterations} steps = {result.n_gradients} gradients + {result.n_hessians} "
          f"Hessians x {student.n_params}; {baseline.time_s:.1f} s): loss {baseline.loss:.3e}")
    if result.converged:
        kind = "a minimum" if is_minimum(eigenvalues) else "a saddle"
    else:
        kind = "not a fixed point yet (raise maxiterations_ode / maxiterations_optim)"
    print(f"Hessian eigenvalues in [{eigenvalues[0]:.2e}, {eigenvalues[-1]:.2e}]: {kind}")

    plot_train(result, args.out / "gradient_flow.png", baseline=baseline,
               title=f"student 8 on teacher 4, N={n_samples}")
    result.save(args.out / "train_result.json")
    print(f"plot and result written to {args.out}/")
    return 0 if np.isfinite(result.loss) else 1


if __name__ == "__main__":
    raise SystemExit(main())
