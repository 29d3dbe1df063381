"""Expand-and-Cluster: recover the hidden layer of an unknown network from input-output probes.

    python examples/expand_and_cluster.py [--quick] [--out DIR]

A random tanh teacher is queried on Gaussian probes; over-parameterised students are trained to
near-zero loss; their neurons are clustered; the reduced network is fine-tuned; the recovered
weights are compared with the teacher's.
"""
from __future__ import annotations

from pathlib import Path

from neuroflow.cliutil import Parser, integer, output_dir
from neuroflow.identify import ExpandAndCluster
from neuroflow.identify.budgets import QUICK_STUDENT_OPTIONS
from neuroflow.identify.plotting import plot_weights
from neuroflow.identify.problems import make_problem


def main() -> None:
    ap = Parser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tiny problem (a few seconds)")
    ap.add_argument("--out", type=output_dir(), default="neuroflow-out/expand_and_cluster",
                    help="folder for the plot")
    ap.add_argument("--seed", type=integer(0), default=0)
    args = ap.parse_args()

    d, k, n = (2, 3, 400) if args.quick else (4, 4, 1000)
    problem = make_problem(d, k, "tanh", n, seed=args.seed)
    X = problem.probes()
    Y = problem.teacher(X)  # all we may use: the target's outputs on our probes

    est = ExpandAndCluster(n_students=4 if args.quick else 10, expansion=3 if args.quick else 4,
                           activation="tanh", hidden_sizes=k, seed=args.seed,
                           train_options=QUICK_STUDENT_OPTIONS if args.quick else None)
    est.fit(X, Y)
    report = est.report(problem.teacher, seed=args.seed + 1)

    print(f"teacher: {d}-{k}-1 tanh network, {n} probes, {est.n_students} students of width {est.expansion * k}")
    clusters = est.clusters_[0]
    print(f"cluster spread cut (beta={est.beta!r}): {clusters.beta_deg:.3g} deg ({clusters.beta_rule})")
    print(f"neurons found by clustering: {est.cluster_sizes_[0]}, after reconstruction: {report.layer_sizes[0]}")
    print(f"largest angle between matched neurons: {report.max_angle_deg:.2g} deg")
    print(f"functional relative MSE on fresh probes: {report.functional_rel_mse:.2e}")
    print(f"time: {est.time_s_:.1f} s")
    path = plot_weights(est, problem.teacher, Path(args.out) / "expand_and_cluster.png", report=report)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
