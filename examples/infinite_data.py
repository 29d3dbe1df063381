"""Finite data against infinite data: the same teacher, students trained on N = 1e3, 1e4, 1e5 samples
and on the exact expected loss (standard Gaussian input, N = infinity).

The student is narrower than the teacher, so no student fits it exactly and the finite-data minimum
moves with the sample. The plot shows how the finite-N solutions approach the infinite-data one:
the parameter distance falls like 1/sqrt(N) (sampling noise in the gradient), and the excess
infinite-data loss of the finite-N solution, which is quadratic in that distance, like 1/N.

    python examples/infinite_data.py [--quick] [--out DIR] [--activation erf] [--seed 0]
"""
from __future__ import annotations

import math
import time

import matplotlib
import numpy as np

import neuroflow
from neuroflow.cliutil import Parser, integer, output_dir
from neuroflow.flow import GaussianTeacherStudent, random_teacher
from neuroflow.flow.gaussian import CLOSED_FORM_ACTIVATIONS, QUADRATURE_ACTIVATIONS

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)


def stop_if_interrupted(result) -> None:
    """train catches Ctrl-C and returns the point it had: stop here rather than go on with the next runs."""
    if result.interrupted:
        raise SystemExit("interrupted (Ctrl-C): the runs are unfinished, so nothing is reported")


def main(argv=None) -> int:
    ap = Parser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one data set per N (about 10 s)")
    ap.add_argument("--out", type=output_dir(), default="neuroflow-out/infinite_data",
                    help="folder for the plot (default: %(default)s)")
    ap.add_argument("--activation", default="erf", choices=sorted({*CLOSED_FORM_ACTIVATIONS, *QUADRATURE_ACTIVATIONS}),
                    help="hidden activation (default: erf, a closed form)")
    ap.add_argument("--seed", type=integer(0), default=0, help="seed of teacher, student and samples (default: 0)")
    args = ap.parse_args(argv)

    d, k, m = 5, 3, 2  # teacher 3 units, student 2: not realisable
    W, a = random_teacher(d, k, seed=args.seed)
    infinite = GaussianTeacherStudent(W, a, m, args.activation)
    theta0 = infinite.random_student(seed=args.seed + 1)
    opts = dict(min_gnorm=1e-10, min_loss=-math.inf)  # step budgets (the defaults): reproducible numbers

    t0 = time.perf_counter()
    best = neuroflow.train(infinite, theta0, **opts)
    stop_if_interrupted(best)
    print(f"infinite data: loss {best.loss:.6f}, gnorm {best.gnorm:.1e}, {time.perf_counter() - t0:.2f} s")

    sizes = [1_000, 10_000, 100_000]
    repeats = 1 if args.quick else 5
    rows = []
    for N in sizes:
        for rep in range(repeats):
            X, Y = infinite.sample(N, seed=1000 * rep + N)
            t0 = time.perf_counter()
            res = neuroflow.train(infinite.student_net, theta0, X, Y, **opts)
            stop_if_interrupted(res)
            dist = float(np.linalg.norm(res.x - best.x))
            excess = infinite.loss(res.x) - best.loss
            rows.append((N, dist, excess))
            print(f"N = {N:>6}: finite-data loss {res.loss:.6f}, |theta_N - theta_inf| = {dist:.2e}, "
                  f"excess expected loss {excess:.2e}, gnorm {res.gnorm:.0e}, {time.perf_counter() - t0:.2f} s")

    rows = np.array(rows)
    Ns = np.array(sizes, dtype=float)
    mean_dist = np.array([rows[rows[:, 0] == N, 1].mean() for N in sizes])
    mean_excess = np.array([rows[rows[:, 0] == N, 2].mean() for N in sizes])
    slope_dist = np.polyfit(np.log(Ns), np.log(mean_dist), 1)[0]
    slope_excess = np.polyfit(np.log(Ns), np.log(np.maximum(mean_excess, 1e-300)), 1)[0]
    print(f"log-log slopes: distance {slope_dist:.2f} (1/sqrt(N): -0.5), excess loss {slope_excess:.2f} (1/N: -1)")

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(rows[:, 0], rows[:, 1], "o", color="C0", alpha=0.35)
    ax.loglog(Ns, mean_dist, "-o", color="C0", label=f"|theta_N - theta_inf| (slope {slope_dist:.2f})")
    ax.loglog(rows[:, 0], np.maximum(rows[:, 2], 1e-300), "s", color="C1", alpha=0.35)
    ax.loglog(Ns, mean_excess, "-s", color="C1", label=f"L_inf(theta_N) - L_inf(theta_inf) (slope {slope_excess:.2f})")
    ax.loglog(Ns, mean_dist[0] * (Ns / Ns[0]) ** -0.5, ":", color="C0", label="~ 1/sqrt(N)")
    ax.loglog(Ns, mean_excess[0] * (Ns / Ns[0]) ** -1.0, ":", color="C1", label="~ 1/N")
    ax.set_xlabel("number of samples N")
    ax.set_title(f"{args.activation}: teacher k={k}, student m={m}, d={d}")
    ax.legend(fontsize=8)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "infinite_data.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"plot: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
