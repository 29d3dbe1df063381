"""Expand-and-Cluster benchmarks, printing JSON.

  python benchmarks/identify.py suite --suite paper --n-jobs 2 --out results/identify_paper.jsonl
      150 synthetic problems (resumable: rows already in --out are skipped); summary vs the targets:
      exact size on >= 90 %, <= 10 % overhead, matched neurons within 1 deg, functional rel. MSE <= 1e-8.
  python benchmarks/identify.py time
      one shallow problem (d = 8, k = 8, N = 2000, 10 students) timed end to end (target < 2 min).
  python benchmarks/identify.py digits --checkpoint DIR --out results/identify_digits.json
      the deep 64-20-20-10 (activation g) teacher trained on sklearn digits: overhead per layer and
      first-layer angles (targets <= 10 %, <= 5 deg); resumable layer by layer with --checkpoint. The
      teacher answers the second stage's designed probes (--layer-probes, 0 for Gaussian probes only).
  python benchmarks/identify.py digits-control --out results/identify_digits_control.json
      a control for the digits teacher's second layer: students trained as in the digits run's second
      stage, but on the teacher's own (exact) first layer, frozen; per student the loss and which teacher
      second-layer neurons it found, and per teacher neuron its nonlinear signal (what part of the output
      it explains beyond a linear map of its layer's input). It separates first-layer error from the
      students' optimisation of that layer. Its probes are mixed as in the digits run's second stage
      (--layer-probes), with the design taken from the teacher's own first layer.
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
    ap.add_argument("what", choices=["suite", "time", "digits", "digits-control"])
    ap.add_argument("--suite", default="paper", choices=["quick", "paper"])
    ap.add_argument("--n-problems", type=int, default=None, help="first N problems of the suite")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="JSON-lines file for suite rows (resumable); digits: JSON file")
    ap.add_argument("--checkpoint", default=None, help="digits: folder for each layer's students (resumable)")
    ap.add_argument("--probe-scales", type=float, nargs="+", default=None,
                    help="digits: scale the Gaussian probes' rows by these factors in turn (default: all 1)")
    ap.add_argument("--plot", default=None, help="PNG of success along the difficulty axis (suite)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--widths", type=int, nargs="+", default=None,
                    help="digits-control: one student per width given (default: the digits run's students)")
    ap.add_argument("--layer-probes", type=float, default=0.5,
                    help="digits, digits-control: share of the probes replaced, from the second hidden layer on, "
                         "by probes designed from the (reconstructed / teacher's) first layer (0: Gaussian only)")
    ap.add_argument("--stage2-time", type=float, default=None, metavar="S",
                    help="digits, digits-control: the second stage's L-BFGS wall time per student, seconds "
                         "(default: the configuration's, 120)")
    ap.add_argument("--clusterer", default="hierarchical", choices=["hierarchical", "hdbscan"])
    ap.add_argument("--beta-deg", default="auto",
                    help='largest cluster spread, degrees, or "auto" (default; the cut at the clear gap, else 30)')
    args = ap.parse_args(argv)
    _limit_threads(args.threads)

    import numpy as np

    from neuroflow._utils import dumps, print_json
    from neuroflow.identify.cli import parse_beta_deg

    try:
        beta_deg = parse_beta_deg(args.beta_deg)
    except argparse.ArgumentTypeError as err:
        ap.error(f"argument --beta-deg: {err}")
    beta = "auto" if beta_deg == "auto" else float(np.radians(beta_deg))
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
                         settings={"clusterer": args.clusterer, "beta": beta})
        summary = summarize(rows)
        if args.plot:
            from neuroflow.identify.plotting import plot_difficulty

            plot_difficulty(rows, args.plot)
        keep = ("name", "activation", "input_dim", "width", "n_samples", "weight_scale", "alignment", "difficulty",
                "teacher_sizes", "cluster_sizes", "layer_sizes", "overhead_pct", "exact_size", "max_angle_deg",
                "functional_rel_mse", "student_loss_median", "n_failed_students", "beta_deg", "beta_rule", "gap_check",
                "cluster_spreads_deg", "polish", "timings", "time_s", "error")
        print(dumps({"benchmark": f"identify-suite-{name}", "settings": {**BENCH_SETTINGS, "clusterer": args.clusterer,
                                                                          "beta": beta, "beta_deg": args.beta_deg},
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
    if args.what == "digits-control":
        cfg = _with_stage2_time(DIGITS_QUICK if args.quick else DIGITS_FULL, args.stage2_time)
        prob = P.digits_problem(n_samples=cfg["n_samples"], seed=args.seed)
        stage2 = cfg["torch_options"] if isinstance(cfg["torch_options"], dict) else cfg["torch_options"][-1]
        cfg = {**cfg, "torch_options": stage2, "layer_probes": args.layer_probes}
        out = digits_control(prob, cfg, widths=args.widths or [cfg["expansion"] * 20] * cfg["n_students"],
                             seed=args.seed, n_jobs=args.n_jobs)
        print_json({"benchmark": "identify-digits-control", "env": env, "settings": cfg, **out}, args.out, indent=1)
        return 0
    # digits: the deep teacher, identified layer by layer (students retrained with the reconstructed
    # layers frozen); --checkpoint keeps each layer's students so an interrupted run resumes
    import warnings

    from neuroflow.identify.estimator import ExpandAndCluster

    t0 = time.perf_counter()
    cfg = {**_with_stage2_time(DIGITS_QUICK if args.quick else DIGITS_FULL, args.stage2_time), "beta_deg": args.beta_deg,
           "layer_probes": args.layer_probes}
    prob = P.digits_problem(n_samples=cfg["n_samples"], seed=args.seed)
    X = prob.probes()
    if args.probe_scales:  # rows in turn scaled by each factor: probes that also reach the units' far ranges
        X = X * np.resize(np.asarray(args.probe_scales, dtype=float), len(X))[:, None]
        cfg = {**cfg, "probe_scales": args.probe_scales}
    Y = prob.teacher(X)
    Xd, _ = P.digits_data()
    est = ExpandAndCluster(n_students=cfg["n_students"], expansion=cfg["expansion"], activation="g",
                           beta=beta,
                           hidden_sizes=[20, 20], engine="torch", n_jobs=args.n_jobs, random_state=args.seed,
                           torch_options=cfg["torch_options"], finetune_options=cfg["finetune_options"],
                           loss_tol=cfg["loss_tol"], checkpoint=args.checkpoint, progress=sys.stderr.isatty(),
                           layer_probes=args.layer_probes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(X, Y, query=prob.teacher)  # the teacher answers the second stage's designed probes
        except RuntimeError as err:  # e.g. students too far from zero loss to share any neuron
            print_json({"benchmark": "identify-digits", "env": env, "settings": cfg, "n_samples": prob.n_samples,
                        "failed": str(err), "warnings": [str(w.message)[:300] for w in caught],
                        "time_s": time.perf_counter() - t0}, args.out, indent=1)
            return 1
    rep = est.report(prob.teacher, X_test=prob.probes(n=2000, seed=99))
    Td = prob.teacher(Xd)
    rel_digits = float(np.sum((est.predict(Xd) - Td) ** 2) / np.sum((Td - Td.mean(0)) ** 2))
    y_var = est.target_var_[-1]  # the outputs' variance on the last stage's probes (designed ones included)
    layers = [l.to_dict() for l in rep.layers]
    out = {"benchmark": "identify-digits", "env": env, "settings": cfg, "teacher": prob.teacher.to_dict(),
           "n_samples": prob.n_samples, "designed_probes": est.designed_probes_,
           "targets": {"overhead_pct_max": 10.0, "first_layer_angle_deg_max": 5.0},
           "teacher_sizes": rep.teacher_sizes, "cluster_sizes": est.cluster_sizes_, "layer_sizes": est.layer_sizes_,
           "overhead_pct": rep.overhead_pct,
           "first_layer_max_matched_angle_deg": layers[0]["max_matched_angle_deg"],
           "max_matched_angle_deg_per_layer": [l["max_matched_angle_deg"] for l in layers],
           "missing_per_layer": [l["missing"] for l in layers], "excess_per_layer": [l["excess"] for l in layers],
           "functional_rel_mse": rep.functional_rel_mse, "functional_rel_mse_on_digits": rel_digits,
           "finetune_rel_loss": None if est.finetune_ is None else float(est.finetune_.loss) / y_var,
           "student_rel_losses": [[f.loss / v for f in fits] for fits, v in zip(est.students_, est.target_var_)],
           "clusters": [c.to_dict() for c in est.clusters_], "pruned": est.pruned_, "timings": est.timings_,
           "warnings": [str(w.message)[:300] for w in caught], "report": rep.to_dict(),
           "load_avg_1min_at_end": os.getloadavg()[0], "time_s": time.perf_counter() - t0}
    print_json(out, args.out, indent=1)
    return 0


def _with_stage2_time(cfg: dict, seconds) -> dict:
    """``cfg`` with its second stage's torch ``maxtime`` set to ``seconds`` (None: unchanged)."""
    if seconds is None:
        return cfg
    opts = cfg["torch_options"]
    stages = [opts, opts] if isinstance(opts, dict) else list(opts)
    return {**cfg, "torch_options": [stages[0], {**stages[-1], "maxtime": float(seconds)}]}


def digits_control(prob, cfg, *, widths, seed=0, match_deg=5.0, n_jobs=1) -> dict:
    """Second-stage students of the digits run (minibatch Adam then L-BFGS, ``cfg``'s torch options) with
    the teacher's exact first layer frozen, one per width (seeds ``seed``, ``seed + 1``, ...). A teacher
    second-layer neuron counts as found by a student if one of its units is within ``match_deg`` degrees
    (symmetry-aware angles between incoming vectors, bias included). Students run in parallel through
    joblib (``n_jobs``)."""
    import numpy as np
    from joblib import Parallel, delayed

    from neuroflow.identify.estimator import mix_designed_probes
    from neuroflow.identify.students import torch_fit
    from neuroflow.identify.symmetry import angles_deg
    from neuroflow.mlp import MLP

    t0 = time.perf_counter()
    T = prob.teacher
    if len(T.weights) != 3:
        raise ValueError(f"digits-control: expected a teacher with two hidden layers, got {len(T.weights) - 1}")
    first, second = T.incoming(0), T.incoming(1)
    X = prob.probes()
    # as the estimator's second stage: a share of designed probes, here from the exact first layer
    X, n_new = mix_designed_probes(X, first, cfg.get("layer_probes", 0.0), seed)
    Y = T(X)
    y_var = float(np.mean(np.sum((Y - Y.mean(0)) ** 2, axis=1)))
    # nonlinear signal: output variance (relative) of each second-layer neuron beyond a linear map of H1
    F = np.c_[T.hidden(X, 0), np.ones(len(X))]
    H2 = T.hidden(X, 1)
    resid = H2 - F @ np.linalg.lstsq(F, H2, rcond=None)[0]
    signal = np.sum(T.weights[2] ** 2, axis=0) * resid.var(axis=0) / y_var

    def student(i, width):
        net = MLP(X.shape[1], [(first.shape[0], T.activation, True), (int(width), T.activation, True),
                               (Y.shape[1], "identity", True)], backend="numpy")
        mats = net.unpack(net.init_params(seed=seed + i))
        mats[0] = first.copy()
        t1 = time.perf_counter()
        theta, loss, why = torch_fit(net, net.pack(mats), X, Y, frozen_layers=1, seed=seed + i, **cfg["torch_options"])
        angles = angles_deg(second, net.unpack(theta)[1], T.activation).min(axis=1)
        return {"width": int(width), "seed": seed + i, "rel_loss": loss / y_var, "stopped": why,
                "found_mask": angles <= match_deg, "min_angle_deg": angles.round(2).tolist(),
                "time_s": time.perf_counter() - t1}

    students = Parallel(n_jobs=n_jobs)(delayed(student)(i, w) for i, w in enumerate(widths))
    found = np.array([s.pop("found_mask") for s in students])
    for s, f in zip(students, found):
        s["found"] = int(f.sum())
    return {"first_layer": "teacher's own, frozen", "match_deg": match_deg, "n_samples": prob.n_samples,
            "designed_probes": n_new,
            "students": students, "found_by_n_students": found.sum(axis=0).tolist(),
            "teacher_nonlinear_signal": signal.tolist(), "time_s": time.perf_counter() - t0}


#: the digits run: 20k Gaussian probes (the teacher is queried freely; the 1797 images alone
#: under-determine a 12.5k-parameter student), half of them replaced by designed probes for the second
#: stage (--layer-probes; the teacher answers them), 8 students of width 4 x 20 trained by minibatch Adam then
#: L-BFGS (40k Adam steps of 128 probes: per second of compute, more small steps beat fewer large ones,
#: and a learning rate decaying only to 3e-4 keeps improving where 3e-5 stalls); the reduced 64-20-20-10
#: net fine-tuned by L-BFGS (neuroflow.train). beta: "auto" by default (--beta-deg), the estimator's
#: data-driven cut (the previous fixed 5 deg had been read off this teacher's first-layer spreads)
_DIGITS_TORCH = {"adam_steps": 40000, "batch_size": 128, "lr": 3e-3, "lr_end": 3e-4, "max_iter": 1000, "maxtime": 20.0}
DIGITS_FULL = {"n_samples": 20000, "n_students": 8, "expansion": 4, "loss_tol": 1e-2,
               # second stage (first layer frozen: 2 490 free parameters instead of 12 570): 2 min of L-BFGS
               "torch_options": [_DIGITS_TORCH, {**_DIGITS_TORCH, "max_iter": 10**7, "maxtime": 120.0}],
               "finetune_options": {"maxtime_ode": 0.0, "maxtime_optim": 300.0, "method_optim": "lbfgs"}}
DIGITS_QUICK = {"n_samples": 4000, "n_students": 4, "expansion": 2, "loss_tol": 1e-1,
                "torch_options": {"adam_steps": 1500, "batch_size": 256, "lr": 3e-3, "lr_end": 3e-5,
                                  "max_iter": 100, "maxtime": 5.0},
                "finetune_options": {"maxtime_ode": 0.0, "maxtime_optim": 10.0, "method_optim": "lbfgs"}}

if __name__ == "__main__":
    sys.exit(main())
