"""`neuroflow identify run | bench | make-teacher`, and the identify part of `neuroflow demo`.

Every flag is checked by its argparse type before any work starts (one line naming the flag). Ctrl-C
ends `run` and `bench` promptly with exit status 130: finished students (`run --checkpoint DIR`) and
finished problems (`bench --out FILE`, and their students with `--checkpoint DIR`) are on disk, a student
or problem cut short is never stored as finished, and the JSON printed says `"interrupted": true`.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import time
import warnings
from pathlib import Path

from neuroflow.cliutil import (add_common_options, input_file, integer, number, output_dir, output_file,
                               scheduler_address)

#: identifiable activations a random teacher can have
TEACHER_ACTIVATIONS = ("tanh", "erf", "sigmoid", "normal_cdf", "softplus", "gelu", "silu", "relu", "g")
SUITE_NAMES = ("quick", "paper", "deep", "digits")
#: defaults of --max-width / --max-depth (the width and depth search without a width guess)
MAX_WIDTH, MAX_DEPTH = 64, 3
#: default of --expansion (students of a width guess)
EXPANSION = 4.0
#: default of --layer-probes (ExpandAndCluster's own)
LAYER_PROBES = 0.5


def n_jobs_type(text: str) -> int:
    """--n-jobs: a positive integer, or -1 for every core."""
    value = integer(-1)(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer or -1 (all cores), got {text!r}")
    return value


def width_item(text: str):
    """--width: "teacher" or a positive integer (one per hidden layer)."""
    if text == "teacher":
        return text
    try:
        return integer(1)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f'expected "teacher" or positive integers (one per hidden layer), '
                                         f'got {text!r}') from None


def parse_beta_deg(text: str):
    """--beta-deg: "auto" or a number of degrees in (0, 180]."""
    if text == "auto":
        return text
    try:
        return number(0, 180, lo_open=True)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f'expected "auto" or degrees in (0, 180], got {text!r}') from None


def _add_parallel(p, what: str) -> None:
    p.add_argument("--n-jobs", type=n_jobs_type, default=1,
                   help=f"{what} run in parallel on this machine, -1 for every core (default: %(default)s)")
    p.add_argument("--scheduler", type=scheduler_address, default=None, metavar="ADDRESS",
                   help=f"run the {what} on a Dask cluster, e.g. tcp://127.0.0.1:8786 (same numbers as locally)")


def register(verbs) -> None:
    p = verbs.add_parser("run", help="identify a teacher network (.npz) from Gaussian probes")
    p.add_argument("--teacher", type=input_file, required=True, metavar="FILE.npz",
                   help="teacher file: activation, weight_0, bias_0, weight_1, ... (see neuroflow.identify.teacher)")
    p.add_argument("--n-samples", type=integer(1), required=True, help="number of Gaussian probes")
    p.add_argument("--n-students", type=integer(2), default=10, help="students per stage (default: %(default)s)")
    p.add_argument("--width", type=width_item, nargs="+", default=None, metavar="W",
                   help='width guess per hidden layer; "teacher" reads the teacher file\'s widths (benchmarks); '
                        'omitted, the widths are unknown: the students grow until they reach the loss floor')
    p.add_argument("--expansion", type=number(1), default=None,
                   help=f"with a width guess: student width = expansion x guess (default: {EXPANSION:g})")
    p.add_argument("--max-expansion", type=number(1), default=None,
                   help="with a width guess: while too few first-stage students reach the loss floor, retrain "
                        "them twice as wide, up to this expansion (default: no growth)")
    p.add_argument("--max-students", type=integer(2), default=None,
                   help="when the reduced network misses the loss floor, fit again clustering only the students at "
                        "the floor, training more per stage (up to this many) while too few reach it "
                        "(default: no second fit)")
    p.add_argument("--refine-rounds", type=integer(0), default=0,
                   help="deep nets: times an inner layer's students, stopped above the loss floor with nearly "
                        "degenerate clusters, are trained another budget and clustered again (default: %(default)s)")
    p.add_argument("--recut", action="store_true",
                   help="when the fine-tuned network misses the loss floor, cluster the last hidden layer again at "
                        "the persistent cut (the most clusters that hold over a range of cut heights) and fine-tune "
                        "again; the lower loss is kept")
    p.add_argument("--depth", type=integer(1), default=None,
                   help="without a width guess: the number of hidden layers (default: the smallest depth whose "
                        "students reach the floor, up to --max-depth)")
    p.add_argument("--max-width", type=integer(2), default=None,
                   help=f"without a width guess: the widest students tried (default: {MAX_WIDTH})")
    p.add_argument("--max-depth", type=integer(1), default=None,
                   help=f"without a width guess or --depth: the deepest students tried (default: {MAX_DEPTH})")
    p.add_argument("--gamma", type=number(0, 1, lo_open=True), default=0.5,
                   help="a neuron must be found by this share of the students (default: %(default)s)")
    p.add_argument("--beta-deg", type=parse_beta_deg, default="auto",
                   help='largest median angle within a cluster, degrees, or "auto" (the cut at the clear gap '
                        'between tight and loose clusters\' spreads, else 30; default: %(default)s)')
    p.add_argument("--clusterer", choices=["hierarchical", "hdbscan"], default="hierarchical",
                   help="how the students' neurons are clustered (default: %(default)s)")
    p.add_argument("--engine", choices=["auto", "flow", "torch"], default="auto",
                   help="student trainer: neuroflow.train (flow), minibatch Adam + L-BFGS (torch), or torch "
                        "above 3000 parameters (auto; default: %(default)s)")
    p.add_argument("--student-steps", type=integer(1), default=None, metavar="N",
                   help="per student: gradient-flow ODE steps (torch engine: Adam steps); default: the "
                        "estimator's step budgets")
    p.add_argument("--student-iterations", type=integer(0), default=None, metavar="N",
                   help="per student: Newton/BFGS iterations (torch engine: L-BFGS iterations); default: the "
                        "estimator's step budgets")
    p.add_argument("--student-lm-steps", type=integer(0), default=None, metavar="N",
                   help="per student, torch engine: Levenberg-Marquardt steps after L-BFGS (default: none)")
    _add_parallel(p, "students")
    p.add_argument("--checkpoint", type=output_dir(), default=None, metavar="DIR",
                   help="save every finished student here; a rerun with the same data and settings resumes")
    # default None: a share given for a net of one hidden layer, where it does nothing, is told from the default
    p.add_argument("--layer-probes", type=number(0, 1, hi_open=True), default=None, metavar="SHARE",
                   help="deep teachers: share of the probes replaced, from the second hidden layer on, by probes "
                        "designed from the reconstructed first layer (0: Gaussian probes only; default: "
                        f"{LAYER_PROBES})")
    add_common_options(p)
    p.set_defaults(func=_run)

    p = verbs.add_parser("bench", help="run a problem suite (one row per problem, and a summary)")
    p.add_argument("--suite", choices=SUITE_NAMES, default="quick",
                   help="quick (5 small), paper (150 shallow), deep (24 with 2-3 hidden layers) or digits "
                        "(64-20-20-10 teachers trained on digits, seeds 0-4; long) (default: %(default)s)")
    p.add_argument("--n-problems", type=integer(1), default=None, metavar="N", help="only the first N problems")
    p.add_argument("--width", choices=["teacher", "search"], default="teacher",
                   help="students from the teacher's widths (teacher) or grown until they reach the loss floor "
                        "(search) (default: %(default)s)")
    _add_parallel(p, "problems")
    p.add_argument("--out", type=output_file((".jsonl",)), default=None, metavar="ROWS.jsonl",
                   help="append each row as it finishes; rows already there are skipped (resume)")
    p.add_argument("--checkpoint", type=output_dir(), default=None, metavar="DIR",
                   help="save every problem's finished students here (a subfolder per problem); a problem cut "
                        "short resumes student by student")
    add_common_options(p)
    p.set_defaults(func=_bench)

    p = verbs.add_parser("make-teacher", help="write a random one-hidden-layer teacher .npz")
    p.add_argument("--out", type=output_file((".npz",)), required=True, metavar="FILE.npz",
                   help="where to write the teacher")
    p.add_argument("--input-dim", type=integer(1), default=4, help="inputs (default: %(default)s)")
    p.add_argument("--width", type=integer(1), default=4, help="hidden units (default: %(default)s)")
    p.add_argument("--activation", choices=TEACHER_ACTIVATIONS, default="tanh",
                   help="hidden activation (default: %(default)s)")
    p.add_argument("--weight-scale", type=number(0, 100, lo_open=True), default=1.0,
                   help="norm of the incoming vectors (the pre-activation's standard deviation on Gaussian probes), "
                        "in (0, 100]: small is near-linear, large saturated (default: %(default)s)")
    p.add_argument("--alignment", type=number(0, 1, hi_open=True), default=0.0,
                   help="how close the incoming vectors are to one shared direction (default: %(default)s)")
    add_common_options(p, plot=False)
    p.set_defaults(func=_make_teacher)


def _guess(width, teacher):
    if width is None:
        return None
    if "teacher" in width:
        if width != ["teacher"]:
            raise ValueError(f'--width: "teacher" stands alone, got {" ".join(map(str, width))}')
        return teacher.hidden_sizes
    return [int(w) for w in width]


def _conflicts(args) -> str | None:
    """Flags of ``identify run`` that cannot act together with the others given (one message naming them)."""
    if args.width is not None:
        search = [f for f, v in (("--depth", args.depth), ("--max-width", args.max_width),
                                 ("--max-depth", args.max_depth)) if v is not None]
        if search:
            verb = "steers" if len(search) == 1 else "steer"
            return (f"--width, {', '.join(search)}: {' and '.join(search)} only {verb} the search for the students' "
                    "widths and depth, which a width guess (--width) replaces; give one or the other")
    elif args.expansion is not None or args.max_expansion is not None:
        flag = "--expansion" if args.expansion is not None else "--max-expansion"
        return (f"{flag}, --width: {flag} sets the students' width from a width guess; without --width the widths "
                f"are searched (--max-width); add --width or drop {flag}")
    if args.depth is not None and args.max_depth is not None:
        return "--depth, --max-depth: --depth fixes the number of hidden layers that --max-depth would search; give one"
    if args.engine == "flow" and args.student_lm_steps is not None:
        return ("--engine flow, --student-lm-steps: Levenberg-Marquardt steps belong to the torch engine only; "
                "use --engine torch (or auto) or drop --student-lm-steps")
    return None


def _deep_only_flags(args, guess) -> str | None:
    """--refine-rounds and --layer-probes act on the inner layers of deep students; with one hidden layer (a one-layer
    --width, --width teacher of a one-layer teacher, --depth 1 or --max-depth 1) they did nothing, exit 0."""
    given = [f for f, on in (("--refine-rounds", args.refine_rounds > 0),
                             ("--layer-probes", args.layer_probes is not None)) if on]
    if guess is not None and len(guess) == 1:
        one = "--width teacher (a teacher of one hidden layer)" if args.width == ["teacher"] else \
            f"--width {' '.join(map(str, args.width))}"
    else:
        one = "--depth 1" if args.depth == 1 else "--max-depth 1" if guess is None and args.max_depth == 1 else None
    if not given or one is None:
        return None
    return (f"{', '.join(given)}, {one.split(' (')[0]}: {' and '.join(given)} only "
            f"act{'s' if len(given) == 1 else ''} on the inner layers of students with two or more hidden layers, and "
            f"{one} gives one; drop {' and '.join(given)}")


def _student_memory(args, teacher, guess) -> None:
    """Refuse (ValueError naming the flags) students whose parameters and activations alone cannot fit in memory:
    widths of --expansion (and --max-expansion) x the --width guess, before any work."""
    from neuroflow._utils import check_memory
    from neuroflow.identify.search import expanded_width

    if guess is None:
        return
    for flag, e in (("--expansion", args.expansion), ("--max-expansion", args.max_expansion)):
        if e is None:
            continue
        widths = [expanded_width(e, g) for g in guess]
        sizes = [teacher.input_dim, *widths, teacher.output_dim]
        params = sum(o * (i + 1) for i, o in zip(sizes[:-1], sizes[1:]))
        need = 8 * (args.n_students * params + args.n_samples * sum(widths))  # weights, one pass: a lower bound
        check_memory(need, f"--width, {flag}")


#: API arguments of ExpandAndCluster.fit_teacher behind the flags of ``identify run`` (X: the probes drawn)
_RUN_FLAGS = {"X": "--n-samples", "n_samples": "--n-samples", "depth": "--depth", "checkpoint": "--checkpoint"}
#: the estimator's advice in its warnings (neuroflow.identify.estimator.ADVICE), in flags
_ADVICE_FLAGS = {"search": "raise --max-width / --max-depth", "expansion": "raise --max-expansion",
                 "budgets": "raise the step budgets (--student-steps, --student-iterations)",
                 "probes": "add probes (--n-samples)"}
#: the estimator's NO_NEURON_ADVICE, in flags
_NO_NEURON_FLAGS = ("try more probes (--n-samples), more students (--n-students), a lower --gamma, a wider "
                    "--beta-deg or longer training (--student-steps, --student-iterations)")


def _in_flags(text: str) -> str:
    """``text`` with the estimator's advice (ADVICE) in flags, not in its argument names."""
    from neuroflow.identify.estimator import ADVICE

    for key, phrase in ADVICE.items():
        text = text.replace(phrase, _ADVICE_FLAGS[key])
    return text


@contextlib.contextmanager
def _advice_in_flags():
    """Warnings shown meanwhile give the estimator's advice (ADVICE) in flags, not in its argument names."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        text = _in_flags(str(message))
        shown(category(text) if text != str(message) else message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def _interrupted(args, est, t0) -> int:
    """What an interrupted ``identify run`` kept: the finished students per stage (in --checkpoint, if given)."""
    from neuroflow.cliutil import emit

    done = [len(fits) for fits in getattr(est, "students_", [])]
    kept = f"kept in {args.checkpoint}" if args.checkpoint else "not kept: no --checkpoint"
    payload = {"interrupted": True, "finished_students": done, "checkpoint": args.checkpoint,
               "time_s": time.perf_counter() - t0}
    emit(args, payload, [f"interrupted: {sum(done)} finished students per stage {done} ({kept})"])
    return 130


def _run(args) -> int:
    from neuroflow.cliutil import emit, fail, flag_error
    from neuroflow.identify import ExpandAndCluster, load_teacher
    from neuroflow.identify.estimator import NO_NEURON_ADVICE, IdentificationError

    conflict = _conflicts(args)
    if conflict:
        return fail(conflict)
    if args.expansion is None:
        args.expansion = EXPANSION
    if args.max_expansion is not None and args.max_expansion < args.expansion:
        raise ValueError(f"--max-expansion: expected a number >= --expansion ({args.expansion:g}), "
                         f"got {args.max_expansion:g}")
    if args.max_students is not None and args.max_students < args.n_students:
        raise ValueError(f"--max-students: expected an integer >= --n-students ({args.n_students}), "
                         f"got {args.max_students}")
    teacher = load_teacher(args.teacher)
    guess = _guess(args.width, teacher)
    shallow = _deep_only_flags(args, guess)
    if shallow:
        return fail(shallow)
    _student_memory(args, teacher, guess)
    if args.gamma * args.n_students < 2:  # the library's check (clustering.min_students), in flags
        raise ValueError(f"--gamma, --n-students: a neuron must be found by at least 2 students for a cluster to mean "
                         f"anything, got --gamma {args.gamma:g} x --n-students {args.n_students} = "
                         f"{args.gamma * args.n_students:g}; raise --gamma or --n-students")
    train_options, torch_options = {}, {}
    if args.student_steps is not None:
        train_options["maxiterations_ode"] = torch_options["adam_steps"] = args.student_steps
    if args.student_iterations is not None:
        train_options["maxiterations_optim"] = torch_options["max_iter"] = args.student_iterations
    if args.student_lm_steps is not None:
        torch_options["lm_steps"] = args.student_lm_steps
    beta = args.beta_deg if args.beta_deg == "auto" else math.radians(args.beta_deg)
    est = ExpandAndCluster(n_students=args.n_students, expansion=args.expansion, gamma=args.gamma, beta=beta,
                           clusterer=args.clusterer, train_options=train_options or None, n_jobs=args.n_jobs,
                           seed=args.seed, activation=teacher.activation, hidden_sizes=guess,
                           max_expansion=args.max_expansion, max_students=args.max_students, depth=args.depth,
                           max_width=args.max_width or MAX_WIDTH, max_depth=args.max_depth or MAX_DEPTH,
                           engine=args.engine,
                           torch_options=torch_options or None, checkpoint=args.checkpoint, progress=not args.quiet,
                           layer_probes=LAYER_PROBES if args.layer_probes is None else args.layer_probes,
                           scheduler=args.scheduler, refine_rounds=args.refine_rounds,
                           recut=args.recut)
    t0 = time.perf_counter()
    try:
        with _advice_in_flags():
            est.fit_teacher(teacher, teacher.input_dim, args.n_samples)
    except ValueError as exc:  # "X: too few probe outputs ...": the probes are --n-samples
        raise flag_error(exc, _RUN_FLAGS) from None
    except IdentificationError as exc:  # the run failed on these data and settings: one line, what to try, exit 1
        return fail(str(exc).replace(NO_NEURON_ADVICE, _NO_NEURON_FLAGS), code=1)
    except KeyboardInterrupt:
        return _interrupted(args, est, t0)
    elapsed = time.perf_counter() - t0
    try:   # Ctrl-C while the fit is compared or plotted: said "nothing written", with the students in --checkpoint
        rep = est.report(teacher, seed=args.seed + 1)
        if args.plot:
            from neuroflow.identify.plotting import plot_weights

            plot_weights(est, teacher, args.plot, report=rep)
    except KeyboardInterrupt:
        return _interrupted(args, est, t0)
    search = None if est.search_ is None else est.search_.to_dict()
    payload = {"interrupted": False, "layer_sizes": rep.layer_sizes, "teacher_sizes": rep.teacher_sizes,
               "overhead_pct": rep.overhead_pct, "max_angle_deg": rep.max_angle_deg,
               "functional_rel_mse": rep.functional_rel_mse, "time_s": elapsed, "cluster_sizes": est.cluster_sizes_,
               "width_search": search, "expansion": est.expansion_, "n_pruned": len(est.pruned_),
               "designed_probes": est.designed_probes_,
               "failed_students": est.failed_students_, "report": rep.to_dict(),
               "students": [[f.to_dict() for f in fits] for fits in est.students_],
               "clusters": [c.to_dict() for c in est.clusters_], "inner_selection": est.selection_,
               "retry": est.retry_, "floor_students": est.floor_students_, "refined": est.refined_,
               "recut": est.recut_}
    if args.plot:
        payload["plot"] = str(args.plot)
    lines = [f"teacher sizes {rep.teacher_sizes}, recovered {rep.layer_sizes} "
             f"(clusters {est.cluster_sizes_}, overhead {['%.0f%%' % o for o in rep.overhead_pct]})"]
    if est.search_ is not None:
        # (the search's sentence gave its advice in the API's names: "raise max_width / max_depth")
        lines.append(f"{'width' if est.expansion_ is None else 'expansion'} search: {_in_flags(est.search_.message)}")
    if est.retry_ is not None:
        r = est.retry_
        lines.append(f"second fit on the students at the floor: relative loss {r['rel_loss_second_fit']:.2e} against "
                     f"{r['rel_loss_first_fit']:.2e}; kept the {r['kept']}")
    if est.recut_ is not None:
        r = est.recut_
        if r["error"] is not None:
            lines.append(f"last hidden layer cut again: {r['error']}; kept the first cut")
        elif r["rel_loss"][1] is None:
            lines.append(f"last hidden layer: the persistent cut is the first one ({r['cut_deg'][0]:.3g} deg); "
                         f"nothing to rebuild")
        else:
            lines.append(f"last hidden layer cut again at {r['cut_deg'][1]:.3g} deg ({r['clusters'][1]} clusters, "
                         f"first {r['cut_deg'][0]:.3g} deg, {r['clusters'][0]}): relative loss "
                         f"{r['rel_loss'][1]:.2e} against {r['rel_loss'][0]:.2e}; kept the {r['kept']}")
    lines += [f"largest matched angle {rep.max_angle_deg:.3g} deg, functional relative MSE "
              f"{rep.functional_rel_mse:.2e}", f"time {elapsed:.1f} s"]
    emit(args, payload, lines)
    return 0


def _bench(args) -> int:
    from neuroflow.cliutil import emit, flag_error
    from neuroflow.identify import problems as P
    from neuroflow.identify.bench import run_suite, summarize

    try:
        probs = P.suite(args.suite, seed=args.seed, n_problems=args.n_problems)
    except ValueError as exc:  # more problems than the suite has: named, not run quietly as fewer
        raise flag_error(exc, {"n_problems": "--n-problems"}) from None
    settings = {"width": args.width}
    rows, interrupted = [], False
    t0 = time.perf_counter()
    try:
        run_suite(probs, out=args.out, n_jobs=args.n_jobs, scheduler=args.scheduler, seed=args.seed,
                  settings=settings, progress=not args.quiet, rows=rows, checkpoint=args.checkpoint)
    except KeyboardInterrupt:
        interrupted = True
    except ValueError as exc:   # e.g. a problem's checkpoint folder taken by a file: named as the flag
        raise flag_error(exc, {"checkpoint": "--checkpoint", "out": "--out"}) from None
    summary = summarize(rows)
    if args.plot and rows:
        from neuroflow.identify.plotting import plot_difficulty

        try:   # Ctrl-C here said "nothing written", with every row in --out
            plot_difficulty(rows, args.plot)
        except KeyboardInterrupt:
            interrupted = True
    payload = {"suite": args.suite, "interrupted": interrupted, "n_finished": len(rows), "n_problems": len(probs),
               "summary": summary, "time_s": time.perf_counter() - t0,
               "rows": [{k: v for k, v in r.items() if k not in ("traceback", "warnings")} for r in rows]}
    nan = float("nan")
    lines = [f"{r['name']}: sizes {r.get('teacher_sizes')} -> {r.get('layer_sizes')} "
             f"angle {nan if r.get('max_angle_deg') is None else r['max_angle_deg']:.2g} deg, "
             f"rel MSE {r.get('functional_rel_mse') or nan:.1e}, "
             f"{r.get('time_s', nan):.0f} s" + (f" ERROR {r['error']}" if r.get("error") else "") for r in rows]
    if rows:
        lines.append(f"exact size on {summary['exact_size_rate']:.0%} of {summary['n_problems']} problems; "
                     f"rel. MSE <= 1e-8 on {summary['rel_mse_le_1e-8_rate']:.0%}")
    if interrupted:
        lines.append(f"interrupted: {len(rows)} of {len(probs)} problems finished"
                     + (f" (kept in {args.out})" if args.out else ""))
    emit(args, payload, lines)
    return 130 if interrupted else 0


def _make_teacher(args) -> int:
    from neuroflow._utils import check_memory
    from neuroflow.cliutil import emit, flag_error
    from neuroflow.identify import save_teacher
    from neuroflow.identify.problems import make_teacher

    # the weights and a few working copies of the (width, input-dim) matrix, before any is drawn
    check_memory(32 * args.width * (args.input_dim + 3), "--input-dim, --width")
    try:
        t = make_teacher(args.input_dim, args.width, args.activation, weight_scale=args.weight_scale,
                         alignment=args.alignment, seed=args.seed)
    except ValueError as exc:   # a --weight-scale so small that the teacher is constant
        raise flag_error(exc, {"weight_scale": "--weight-scale"}) from None
    save_teacher(t, args.out)
    emit(args, {"path": str(args.out), **t.to_dict()}, [f"wrote {args.out}: {t.to_dict()}"])
    return 0


def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    """Identify a small tanh teacher of unknown width (the students grow until they reach the loss floor);
    the full demo adds a softplus teacher."""
    from neuroflow.identify import ExpandAndCluster
    from neuroflow.identify.budgets import QUICK_STUDENT_OPTIONS
    from neuroflow.identify.plotting import plot_weights
    from neuroflow.identify.problems import make_problem

    specs = [(2, 3, "tanh", 400)] if quick else [(4, 4, "tanh", 1000), (3, 3, "softplus", 1000)]
    lines = []
    for d, k, act, n in specs:
        prob = make_problem(d, k, act, n, seed=seed)
        est = ExpandAndCluster(n_students=4 if quick else 8, activation=act, depth=1, max_width=8, seed=seed,
                               train_options=QUICK_STUDENT_OPTIONS if quick else None)
        X = prob.probes()
        est.fit(X, prob.teacher(X))
        rep = est.report(prob.teacher, seed=seed + 1)
        path = plot_weights(est, prob.teacher, Path(outdir) / f"identify_{act}_d{d}_k{k}.png", report=rep)
        tried = ", ".join(str(s.width) for s in est.search_.steps)
        lines.append(f"{act} teacher {d}-{k}-1 of unknown width, {n} probes: students of width {tried} tried, "
                     f"{est.search_.width} reached the floor; recovered width {rep.layer_sizes[0]} (clusters "
                     f"{est.cluster_sizes_[0]}), max angle {rep.max_angle_deg:.2g} deg, rel. MSE "
                     f"{rep.functional_rel_mse:.1e}, {est.time_s_:.0f} s -> {path.name}")
    return lines
