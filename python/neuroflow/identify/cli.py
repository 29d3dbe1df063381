"""`neuroflow identify run | bench | make-teacher`, and the identify part of `neuroflow demo`."""
from __future__ import annotations

import math
import time
from pathlib import Path


def register(verbs) -> None:
    from neuroflow.cliutil import add_common_options

    p = verbs.add_parser("run", help="identify a teacher network (.npz) from Gaussian probes")
    p.add_argument("--teacher", type=Path, required=True, metavar="FILE.npz",
                   help="teacher file: activation, weight_0, bias_0, weight_1, ... (see neuroflow.identify.teacher)")
    p.add_argument("--n-samples", type=int, required=True, help="number of Gaussian probes")
    p.add_argument("--n-students", type=int, default=10)
    p.add_argument("--expansion", type=float, default=4.0, help="student width = expansion x width guess")
    p.add_argument("--width", type=int, nargs="+", default=None,
                   help="width guess per hidden layer (default: the teacher file's widths)")
    p.add_argument("--gamma", type=float, default=0.5)
    p.add_argument("--beta-deg", type=parse_beta_deg, default="auto",
                   help='largest median angle within a cluster, degrees, or "auto" (default: the cut at the clear '
                        'gap between tight and loose clusters\' spreads, else 30)')
    p.add_argument("--clusterer", choices=["hierarchical", "hdbscan"], default="hierarchical")
    p.add_argument("--engine", choices=["auto", "flow", "torch"], default="auto")
    p.add_argument("--student-time", type=float, default=None, metavar="S",
                   help="wall-time budget per student, seconds (split 1:2 between ODE and Newton/BFGS)")
    p.add_argument("--n-jobs", type=int, default=1, help="students trained in parallel (joblib)")
    p.add_argument("--checkpoint", type=Path, default=None, metavar="DIR",
                   help="save each layer's trained students here; a rerun with the same data resumes from them")
    p.add_argument("--layer-probes", type=float, default=0.5, metavar="SHARE",
                   help="deep teachers: share of the probes replaced, from the second hidden layer on, by probes "
                        "designed from the reconstructed first layer (0: Gaussian probes only)")
    add_common_options(p)
    p.set_defaults(func=_run)

    p = verbs.add_parser("bench", help="run a problem suite (one row per problem, and a summary)")
    p.add_argument("--suite", choices=["quick", "paper"], default="quick")
    p.add_argument("--n-jobs", type=int, default=1, help="problems run in parallel (joblib)")
    p.add_argument("--n-problems", type=int, default=None, help="only the first N problems")
    p.add_argument("--out", type=Path, default=None, metavar="ROWS.jsonl",
                   help="append each row as it finishes; rows already there are skipped (resume)")
    add_common_options(p)
    p.set_defaults(func=_bench)

    p = verbs.add_parser("make-teacher", help="write a random one-hidden-layer teacher .npz")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.npz")
    p.add_argument("--input-dim", type=int, default=4)
    p.add_argument("--width", type=int, default=4)
    p.add_argument("--activation", default="tanh")
    p.add_argument("--weight-scale", type=float, default=1.0)
    p.add_argument("--alignment", type=float, default=0.0)
    add_common_options(p, plot=False)
    p.set_defaults(func=_make_teacher)


def parse_beta_deg(text: str):
    """--beta-deg: "auto" or a number of degrees in (0, 180]."""
    import argparse

    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected "auto" or degrees in (0, 180], got {text!r}') from None
    if not 0 < value <= 180:
        raise argparse.ArgumentTypeError(f'expected "auto" or degrees in (0, 180], got {text!r}')
    return value


def _run(args) -> int:
    from neuroflow.cliutil import emit
    from neuroflow.identify import ExpandAndCluster, load_teacher

    teacher = load_teacher(args.teacher)
    train_options = None
    if args.student_time is not None:
        train_options = {"maxtime_ode": args.student_time / 3, "maxtime_optim": 2 * args.student_time / 3}
    beta = args.beta_deg if args.beta_deg == "auto" else math.radians(args.beta_deg)
    est = ExpandAndCluster(n_students=args.n_students, expansion=args.expansion, gamma=args.gamma,
                           beta=beta, clusterer=args.clusterer, train_options=train_options,
                           n_jobs=args.n_jobs, random_state=args.seed, activation=teacher.activation,
                           hidden_sizes=args.width or teacher.hidden_sizes, engine=args.engine,
                           checkpoint=args.checkpoint, progress=not args.quiet, layer_probes=args.layer_probes)
    t0 = time.perf_counter()
    est.fit_teacher(teacher, teacher.input_dim, args.n_samples)
    elapsed = time.perf_counter() - t0
    rep = est.report(teacher, seed=args.seed + 1)
    payload = {"layer_sizes": rep.layer_sizes, "teacher_sizes": rep.teacher_sizes, "overhead_pct": rep.overhead_pct,
               "max_angle_deg": rep.max_angle_deg, "functional_rel_mse": rep.functional_rel_mse, "time_s": elapsed,
               "cluster_sizes": est.cluster_sizes_, "n_pruned": len(est.pruned_),
               "designed_probes": est.designed_probes_,
               "failed_students": est.failed_students_, "report": rep.to_dict(),
               "students": [[f.to_dict() for f in fits] for fits in est.students_],
               "clusters": [c.to_dict() for c in est.clusters_]}
    if args.plot:
        from neuroflow.identify.plotting import plot_weights

        plot_weights(est, teacher, args.plot, report=rep)
        payload["plot"] = str(args.plot)
    lines = [f"teacher sizes {rep.teacher_sizes}, recovered {rep.layer_sizes} "
             f"(clusters {est.cluster_sizes_}, overhead {['%.0f%%' % o for o in rep.overhead_pct]})",
             f"largest matched angle {rep.max_angle_deg:.3g} deg, functional relative MSE {rep.functional_rel_mse:.2e}",
             f"time {elapsed:.1f} s"]
    emit(args, payload, lines)
    return 0


def _bench(args) -> int:
    from neuroflow.cliutil import emit
    from neuroflow.identify import problems as P
    from neuroflow.identify.bench import run_suite, summarize

    probs = P.suite(args.suite, seed=args.seed)
    if args.n_problems:
        probs = probs[: args.n_problems]
    rows = run_suite(probs, out=args.out, n_jobs=args.n_jobs, seed=args.seed, progress=not args.quiet)
    summary = summarize(rows)
    if args.plot:
        from neuroflow.identify.plotting import plot_difficulty

        plot_difficulty(rows, args.plot)
    payload = {"suite": args.suite, "summary": summary,
               "rows": [{k: v for k, v in r.items() if k not in ("traceback", "warnings")} for r in rows]}
    lines = [f"{r['name']}: sizes {r.get('teacher_sizes')} -> {r.get('layer_sizes')} "
             f"angle {r.get('max_angle_deg', float('nan')):.2g} deg, rel MSE {r.get('functional_rel_mse') or float('nan'):.1e}, "
             f"{r['time_s']:.0f} s" + (f" ERROR {r['error']}" if r.get("error") else "") for r in rows]
    lines.append(f"exact size on {summary['exact_size_rate']:.0%} of {summary['n_problems']} problems; "
                 f"rel. MSE <= 1e-8 on {summary['rel_mse_le_1e-8_rate']:.0%}")
    emit(args, payload, lines)
    return 0


def _make_teacher(args) -> int:
    from neuroflow.cliutil import emit
    from neuroflow.identify import save_teacher
    from neuroflow.identify.problems import make_teacher

    t = make_teacher(args.input_dim, args.width, args.activation, weight_scale=args.weight_scale,
                     alignment=args.alignment, seed=args.seed)
    save_teacher(t, args.out)
    emit(args, {"path": str(args.out), **t.to_dict()}, [f"wrote {args.out}: {t.to_dict()}"])
    return 0


def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    """Identify a small tanh teacher (quick) or a tanh and a softplus teacher (full)."""
    from neuroflow.identify import ExpandAndCluster
    from neuroflow.identify.plotting import plot_weights
    from neuroflow.identify.problems import make_problem

    specs = [(2, 3, "tanh", 400)] if quick else [(4, 4, "tanh", 1000), (3, 3, "softplus", 1000)]
    lines = []
    for d, k, act, n in specs:
        prob = make_problem(d, k, act, n, seed=seed)
        est = ExpandAndCluster(n_students=4 if quick else 8, expansion=3 if quick else 4, activation=act,
                               hidden_sizes=k, random_state=seed,
                               train_options={"maxtime_ode": 1.0, "maxtime_optim": 2.0} if quick else None)
        X = prob.probes()
        est.fit(X, prob.teacher(X))
        rep = est.report(prob.teacher, seed=seed + 1)
        path = plot_weights(est, prob.teacher, Path(outdir) / f"identify_{act}_d{d}_k{k}.png", report=rep)
        lines.append(f"{act} teacher {d}-{k}-1 from {n} probes: recovered width {rep.layer_sizes[0]} "
                     f"(clusters {est.cluster_sizes_[0]}), max angle {rep.max_angle_deg:.2g} deg, "
                     f"rel. MSE {rep.functional_rel_mse:.1e}, {est.time_s_:.0f} s -> {path.name}")
    return lines
