"""Gradient flow to an exact minimum, against Adam at the same wall time.

A random teacher (4 softplus units, 2 inputs) labels Gaussian probes; a student with 8 units follows
the gradient flow d(theta)/dt = -grad L with an ODE solver, then Newton polishing takes it to a fixed
point. The Hessian spectrum there says whether it is a minimum. Full-batch Adam gets the same time.

    python examples/gradient_flow.py [--quick] [--out DIR]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from neuroflow import MLP, train
from neuroflow.flow import adam, hessian_spectrum, is_minimum
from neuroflow.flow.bench import teacher_student_problem
from neuroflow.flow.cli import plot_run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data and a few seconds")
    parser.add_argument("--out", type=Path, default=Path("gradient_flow_out"), help="folder for the plot")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n_samples, budget = (1000, 4.0) if args.quick else (10_000, 60.0)

    # data: a random 4-unit teacher on standard-normal inputs
    _, _, X, Y = teacher_student_problem(input_dim=2, teacher_width=4, n_samples=n_samples, seed=args.seed)
    student = MLP(2, [(8, "softplus", True), (1, "identity", True)])
    theta0 = student.init_params(seed=args.seed)

    # phase 1: gradient-flow ODE; phase 2: Newton trust region with the exact Hessian
    result = train(student, theta0, X, Y, maxtime_ode=budget / 2, maxtime_optim=budget / 2)
    baseline = adam(student, theta0, X, Y, lr=1e-3, maxtime=result.time_s)

    eigenvalues = hessian_spectrum(student.hessian(result.x, X, Y))
    print(f"student: {student.n_params} parameters, N = {n_samples}")
    print(f"gradient flow + Newton: loss {result.loss:.3e}, gradient inf-norm {result.gnorm:.1e}, "
          f"{result.time_s:.1f} s (ODE: {result.ode_stopped_by}; Newton: {result.optim_stopped_by})")
    print(f"Adam, same time ({baseline.iterations} steps): loss {baseline.loss:.3e}")
    if result.converged:
        kind = "a minimum" if is_minimum(eigenvalues) else "a saddle"
    else:
        kind = "not a fixed point yet (raise the budget)"
    print(f"Hessian eigenvalues in [{eigenvalues[0]:.2e}, {eigenvalues[-1]:.2e}]: {kind}")

    args.out.mkdir(parents=True, exist_ok=True)
    plot_run(result, baseline, path=args.out / "gradient_flow.png", title="student 8 on teacher 4")
    result.save(args.out / "train_result.json")
    print(f"plot and result written to {args.out}/")
    return 0 if np.isfinite(result.loss) else 1


if __name__ == "__main__":
    raise SystemExit(main())
