"""Expand-and-Cluster on a deep network: recover both hidden layers of an unknown two-layer teacher.

    python examples/deep_expand_and_cluster.py [--quick] [--out DIR]

A random tanh teacher with two hidden layers is queried on Gaussian probes. Its layers are identified one
at a time with the same students: the first layer's neurons are clustered, that layer is rebuilt and held
fixed in every student, the layers above are retrained -- on probes half of which are designed from the
rebuilt first layer (sparse activity drives the second layer's units through their nonlinear range) and
answered by the teacher -- and the second layer is clustered in turn. A fit that misses the loss floor is
repeated on the students that reach it (``max_students``, three times as many students at most), and a
reduced network that misses it is rebuilt once from another cut of its last hidden layer (``recut``: the
most clusters that hold over a range of cut heights). Every stage stops on step budgets, so the run gives
the same numbers on any machine.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from neuroflow.cliutil import Parser, integer, output_dir
from neuroflow.identify import ExpandAndCluster
from neuroflow.identify.budgets import QUICK_STUDENT_OPTIONS
from neuroflow.identify.plotting import plot_weights
from neuroflow.identify.problems import make_deep_teacher


def main() -> None:
    ap = Parser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tiny teacher (a few seconds)")
    ap.add_argument("--out", type=output_dir(), default="neuroflow-out/deep_expand_and_cluster",
                    help="folder for the plot")
    ap.add_argument("--seed", type=integer(0), default=0)
    args = ap.parse_args()

    d, hidden, n = (3, [4, 3], 600) if args.quick else (6, [6, 4], 4000)
    teacher = make_deep_teacher(d, hidden, "tanh", seed=args.seed)
    n_students = 4 if args.quick else 8
    est = ExpandAndCluster(n_students=n_students, expansion=2, max_students=3 * n_students, activation="tanh",
                           hidden_sizes=hidden, seed=args.seed, recut=True,
                           train_options=QUICK_STUDENT_OPTIONS if args.quick else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # students far from zero loss are listed below anyway
        est.fit_teacher(teacher, d, n)  # the teacher answers our probes, and the designed ones
    report = est.report(teacher, seed=args.seed + 1)

    sizes = "-".join(map(str, [d, *hidden, 1]))
    print(f"teacher: {sizes} tanh network, {n} Gaussian probes (+ {est.designed_probes_} designed for layer 2), "
          f"{est.n_students} students twice as wide")
    for l, lay in enumerate(report.layers):
        rule = est.selection_[l] if l < len(est.selection_) else None
        kept = "" if rule is None else f"; inner rule dropped {len(rule['dropped'])} (floor {rule['floor']:.1e})"
        print(f"hidden layer {l + 1}: clusters {est.cluster_sizes_[l]}{kept}; recovered {lay.recovered_size} of "
              f"{lay.teacher_size}, largest matched angle {max(lay.matched_angle_deg):.2g} deg")
    if est.retry_ is not None:
        r = est.retry_
        print(f"second fit on the students at the floor: relative loss {r['rel_loss_second_fit']:.2e} against "
              f"{r['rel_loss_first_fit']:.2e}, kept the {r['kept']}")
    if est.recut_ is not None and est.recut_["rel_loss"][1] is not None:
        r = est.recut_
        print(f"last hidden layer cut again ({r['clusters'][1]} clusters for {r['clusters'][0]}): relative loss "
              f"{r['rel_loss'][1]:.2e} against {r['rel_loss'][0]:.2e}, kept the {r['kept']}")
    print(f"functional relative MSE on fresh probes: {report.functional_rel_mse:.2e}")
    print(f"time: {est.time_s_:.1f} s")
    path = plot_weights(est, teacher, Path(args.out) / "deep_expand_and_cluster.png", report=report)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
