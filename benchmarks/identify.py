"""Expand-and-Cluster benchmarks, printing JSON.

  python benchmarks/identify.py suite --suite paper --n-jobs 2 --out results/identify_paper.jsonl
      150 synthetic problems (resumable: rows already in --out are skipped); summary vs the targets:
      exact size on >= 90 %, <= 10 % overhead, matched neurons within 1 deg, functional rel. MSE <= 1e-8.
  python benchmarks/identify.py time
      one shallow problem (d = 8, k = 8, N = 2000, 10 students) timed end to end (target < 2 min).
  python benchmarks/identify.py digits
      the deep 64-20-20-10 (activation g) teacher trained on sklearn digits: overhead per layer and
      first-layer angles (targets <= 10 %, <= 5 deg).
  --quick shrinks each to a small size. BLAS/torch threads are limited to --threads (default 1).
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def _limit_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(n)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["suite", "time", "digits"])
    ap.add_argument("--suite", default="paper", choices=["quick", "paper"])
    ap.add_argument("--n-problems", type=int, default=None, help="first N problems of the suite")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="JSON-lines file for suite rows (resumable)")
    ap.add_argument("--plot", default=None, help="PNG of success along the difficulty axis (suite)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clusterer", default="hierarchical", choices=["hierarchical", "hdbscan"])
    args = ap.parse_args(argv)
    _limit_threads(args.threads)

    import numpy as np

    from neuroflow._utils import dumps
    from neuroflow.identify import problems as P
    from neuroflow.identify.bench import BENCH_SETTINGS, run_problem, run_suite, summarize

    env = {"threads": args.threads, "n_jobs": args.n_jobs, "cpu_count": os.cpu_count(),
           "load_avg_1min_at_start": os.getloadavg()[0]}
    if args.what == "suite":
        name = "quick" if args.quick else args.suite
        probs = P.suite(name, seed=args.seed)
        if args.n_problems:
            probs = probs[: args.n_problems]
        t0 = time.perf_counter()
        rows = run_suite(probs, out=args.out, n_jobs=args.n_jobs, seed=args.seed, progress=sys.stderr.isatty(),
                         settings={"clusterer": args.clusterer})
        summary = summarize(rows)
        if args.plot:
            from neuroflow.identify.plotting import plot_difficulty

            plot_difficulty(rows, args.plot)
        keep = ("name", "activation", "input_dim", "width", "n_samples", "weight_scale", "alignment", "difficulty",
                "teacher_sizes", "cluster_sizes", "layer_sizes", "overhead_pct", "exact_size", "max_angle_deg",
                "functional_rel_mse", "student_loss_median", "n_failed_students", "time_s", "error")
        print(dumps({"benchmark": f"identify-suite-{name}", "settings": {**BENCH_SETTINGS, "clusterer": args.clusterer},
                     "env": env,
                     "wall_s": time.perf_counter() - t0, "summary": summary,
                     "rows": [{k: r.get(k) for k in keep} for r in rows]}, indent=1))
        return 0
    if args.what == "time":
        d, k, n, ns = (4, 4, 1000, 10) if args.quick else (8, 8, 2000, 10)
        prob = P.make_problem(d, k, "tanh", n, seed=args.seed)
        row = run_problem(prob, seed=args.seed, n_jobs=args.n_jobs,
                          settings={"n_students": ns, "train_options": {"maxtime_ode": 3.0, "maxtime_optim": 6.0}})
        print(dumps({"benchmark": "identify-time", "target_s": 120, "env": env, "problem": prob.name,
                     "n_students": ns, "row": {k: v for k, v in row.items() if k != "traceback"}}, indent=1))
        return 0
    # digits
    from neuroflow.identify.estimator import ExpandAndCluster

    t0 = time.perf_counter()
    prob = P.digits_problem(n_samples=1500 if args.quick else 4000, seed=args.seed, maxtime=10 if args.quick else 30)
    X = prob.probes()
    Y = prob.teacher(X)
    Xd, _ = P.digits_data()
    est = ExpandAndCluster(n_students=4 if args.quick else 8, expansion=2 if args.quick else 4, activation="g",
                           hidden_sizes=[20, 20], engine="torch", n_jobs=args.n_jobs, random_state=args.seed,
                           torch_options={"maxtime": 30.0 if args.quick else 150.0, "max_iter": 20000},
                           finetune_options={"maxtime_ode": 0.0, "maxtime_optim": 60.0 if args.quick else 240.0,
                                             "method_optim": "lbfgs"})
    est.fit(X, Y)
    rep = est.report(prob.teacher, X_test=prob.probes(n=2000, seed=99))
    rel_digits = float(np.sum((est.predict(Xd) - prob.teacher(Xd)) ** 2) / np.sum((prob.teacher(Xd) - prob.teacher(Xd).mean(0)) ** 2))
    print(dumps({"benchmark": "identify-digits", "env": env, "teacher": prob.teacher.to_dict(),
                 "n_samples": prob.n_samples, "cluster_sizes": est.cluster_sizes_, "report": rep.to_dict(),
                 "functional_rel_mse_on_digits": rel_digits,
                 "first_layer_max_matched_angle_deg": rep.layers[0].to_dict()["max_matched_angle_deg"],
                 "student_losses": [[f.loss for f in fits] for fits in est.students_],
                 "time_s": time.perf_counter() - t0}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
