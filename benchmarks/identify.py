"""Expand-and-Cluster benchmarks, printing JSON (every stage stops on step budgets: the numbers do not depend
on the machine's load; only the recorded seconds do).

  python benchmarks/identify.py suite --suite paper --n-jobs 2 --out results/identify_paper.jsonl
      a problem suite (quick, paper: 150 shallow problems, deep: 24 teachers with 2-3 hidden layers);
      resumable (rows already in --out are skipped); summary vs the targets. --width search: no width guess
      (depth and widths searched); --widen: the paper suite widened towards the paper's ranges;
      --max-expansion E: first-stage students of which too few reach the floor are retrained wider, up to E
      times the teacher's widths; --max-students N: a fit whose reduced net misses the floor is repeated
      clustering only the students at the floor, up to N students per stage.
  python benchmarks/identify.py time
      one shallow problem (d = 8, k = 8, N = 2000, 10 students) timed end to end (target < 2 min).
  python benchmarks/identify.py digits --seed S --checkpoint DIR --out results/identify_digits_seedS.json
      a deep 64-20-20-10 (activation g) teacher trained on sklearn digits with seed S: overhead per layer and
      angles (targets <= 10 %, <= 5 deg); resumable student by student with --checkpoint.
  python benchmarks/identify.py digits-inner --seed S --checkpoint DIR --out results/identify_digits_inner_seedS.json
      the first stage of the digits run only (the same students, saved to --checkpoint, which a later
      digits run reuses): which first-layer clusters the inner-layer rule keeps, against the teacher, and
      what the earlier rule (pre-activation residual within 10x) would have kept.
  python benchmarks/identify.py digits-control --out results/identify_digits_control.json
      second-stage students on the teacher's own (exact) first layer, frozen: which teacher second-layer
      neurons each finds, each neuron's nonlinear signal (separates first-layer error from the second
      layer's optimisation), and its nearest neuron by incoming weights with their pre-activations' correlation.
  python benchmarks/identify.py digits-cuts --seeds 0 1 2 3 4 5 --checkpoint DIR --out results/identify_digits_cuts.json
      the digits runs up to the last hidden layer's clusters (no fine-tune; students from --checkpoint, trained
      if missing), that layer cut again by each rule: the most clusters at one height, and the persistent cut
      with ratios 1.5, 2 and 3 (clusters, cut height, each teacher neuron's angle to the nearest cluster);
      resumable seed by seed with --checkpoint (each finished seed's row is kept there as it finishes).
  python benchmarks/identify.py deep-control --problem d14 --out results/identify_deep_control.json
      second-stage students of a deep-suite teacher (deep_suite(0), the suite's student settings) with the
      teacher's own first layer frozen, on the given probes and on half designed probes (--layer-probes): their
      relative losses, i.e. whether the designed probes, not the first layer's reconstruction, keep them from
      the floor.
  python benchmarks/identify.py difficulty results/identify_paper.json --plot results/identify_difficulty.png
      recovery against the paper's problem features (input dimension, width, probes per parameter,
      activation): a table (JSON) and a plot.
  python benchmarks/identify.py repro
      `neuroflow identify run` twice with one seed, the second time beside two busy processes: identical
      JSON apart from timing fields.
  python benchmarks/identify.py budgets --out results/identify_budgets_remeasured.json
      how many steps each stage takes within given CPU seconds (a quiet machine's wall time): the clock of
      neuroflow.train's budget checks is patched to count this process's CPU time, and the step budgets are
      lifted. (The step budgets were chosen from the same measurement of the earlier time budgets,
      results/identify_budgets.json.)
  python benchmarks/identify.py lm --out results/identify_deep_lm.json
      students of the deep development teacher d01 (g 16-4-3-1) after Adam and L-BFGS, then polished from the
      same point by Levenberg-Marquardt (neuroflow.flow.lm) and by MINPACK's lmder (scipy least_squares,
      method "lm"), the same step budget: relative loss and seconds of each.
  --quick shrinks each to a small size. BLAS/torch threads are limited to --threads (default 1).
  --checkpoint DIR: the long subcommands (suite's students, digits, digits-inner, digits-cuts, digits-control,
  deep-control, budgets, lm) keep each finished student or row there as it finishes; a rerun with the same settings
  resumes from them, one with other settings is refused in one line naming them. Ctrl-C ends any subcommand with
  exit status 130 and one line saying what is kept (the finished part is printed; --out is left unwritten).
"""
from __future__ import annotations

from neuroflow.__main__ import ctrl_c_ends_in_one_line  # first: 1.5 ms (sys and the lazy package)

# Ctrl-C at any moment ends in one line and exit status 130, as for `neuroflow` (neuroflow/__main__.py): main()
# loads numpy and the library (half a second, which ended in an import traceback) under the guard at the end
with ctrl_c_ends_in_one_line():
    import argparse
    import os
    import sys
    import time


def _limit_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(n)


def _env(args) -> dict:
    return {"threads": args.threads, "n_jobs": args.n_jobs, "cpu_count": os.cpu_count(),
            "load_avg_1min_at_start": os.getloadavg()[0]}


def main(argv=None) -> int:
    from neuroflow._utils import FIGURE_SUFFIXES
    from neuroflow.cliutil import Parser, input_file, integer, number, output_dir, output_file
    from neuroflow.identify.cli import n_jobs_type

    # flags checked while parsing: a bad value ended in a traceback, some only after the students were trained
    ap = Parser(prog="benchmarks/identify.py", description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["suite", "time", "digits", "digits-inner", "digits-control", "digits-cuts",
                                     "deep-control", "difficulty", "repro", "budgets", "lm"])
    ap.add_argument("rows", nargs="*", type=input_file,
                    help="difficulty: suite row files (.jsonl) or suite results (.json)")
    ap.add_argument("--suite", default="paper", choices=["quick", "paper", "deep"])
    ap.add_argument("--width", default="teacher", choices=["teacher", "search"],
                    help="suite: students from the teacher's widths, or grown until they reach the floor")
    ap.add_argument("--widen", action="store_true", help="suite paper: the widened factor ranges")
    ap.add_argument("--max-expansion", type=number(1), default=None,
                    help="suite, --width teacher: grow the first stage's students up to this expansion")
    ap.add_argument("--max-students", type=integer(2), default=None,
                    help="suite: a fit that misses the floor is repeated on the students at the floor (up to N)")
    ap.add_argument("--n-problems", type=integer(1), default=None, help="first N problems of the suite")
    ap.add_argument("--n-jobs", type=n_jobs_type, default=2)
    ap.add_argument("--threads", type=integer(1, 1024), default=1)
    ap.add_argument("--out", type=output_file(), default=None,
                    help="suite: JSON-lines rows (resumable); otherwise a JSON file")
    ap.add_argument("--checkpoint", type=output_dir(), default=None,
                    help="suite, digits, digits-inner, digits-cuts, digits-control, deep-control, budgets, lm: folder "
                         "for finished students and rows; a rerun with the same settings resumes from them")
    ap.add_argument("--plot", type=output_file(FIGURE_SUFFIXES), default=None,
                    help="suite, difficulty: PNG of recovery along the difficulty axis")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=integer(0), default=0)
    ap.add_argument("--seeds", type=integer(0), nargs="+", default=[0, 1, 2, 3, 4],
                    help="digits-cuts: the teachers' seeds")
    ap.add_argument("--widths", type=integer(1), nargs="+", default=None,
                    help="digits-control: one student per width given (default: the digits run's students)")
    ap.add_argument("--layer-probes", type=number(0, 1, hi_open=True), default=0.5,
                    help="digits, digits-control: share of the probes replaced, from the second hidden layer on, "
                         "by probes designed from the (reconstructed / teacher's) first layer (0: Gaussian only)")
    ap.add_argument("--problem", default="d14", help="deep-control: the deep-suite problem (name prefix)")
    ap.add_argument("--n-students", type=integer(1), default=3, help="deep-control: students per kind of probes")
    ap.add_argument("--clusterer", default="hierarchical", choices=["hierarchical", "hdbscan"])
    ap.add_argument("--beta-deg", default="auto",
                    help='largest cluster spread, degrees, or "auto" (default; the cut at the clear gap, else 30)')
    args = ap.parse_args(argv)
    if args.rows and args.what != "difficulty" or args.what == "difficulty" and not args.rows:
        ap.error("argument rows: suite row files (.jsonl) or results (.json) are read by difficulty, and only there")
    if args.out is not None and any(p.resolve() == args.out.resolve() for p in args.rows):
        ap.error(f"rows, --out: both name {args.out}; the table would be written over the rows it is read from")
    if args.widen and (args.what != "suite" or args.quick or args.suite != "paper"):
        ap.error("argument --widen: widens the paper suite (suite --suite paper, without --quick) and nothing else")
    twice = sorted({s for s in args.seeds if args.seeds.count(s) > 1})
    if args.what == "digits-cuts" and twice:   # the seed's row computed (hours) and reported twice
        ap.error(f"argument --seeds: {twice[0]} appears twice; give each seed once")
    if args.what == "deep-control" and args.layer_probes == 0:
        ap.error("argument --layer-probes: deep-control compares the given probes with a share of designed ones; "
                 "expected a share in (0, 1), got 0")
    _limit_threads(args.threads)

    import numpy as np

    from neuroflow.identify.cli import parse_beta_deg

    try:
        beta_deg = parse_beta_deg(args.beta_deg)
    except argparse.ArgumentTypeError as err:
        ap.error(f"argument --beta-deg: {err}")
    beta = "auto" if beta_deg == "auto" else float(np.radians(beta_deg))
    run = {"suite": _suite, "time": _time, "digits": _digits, "digits-inner": _digits_inner,
           "digits-control": _digits_control, "digits-cuts": _digits_cuts, "deep-control": _deep_control,
           "difficulty": _difficulty, "repro": _repro, "budgets": _budgets, "lm": _lm}[args.what]
    from neuroflow.identify.checkpoint import CheckpointBusy

    try:
        return run(args, beta)
    except CheckpointBusy as exc:   # another run writes the students (digits and digits-inner, say): was a traceback
        from neuroflow.cliutil import fail, flag_error

        return fail(str(flag_error(exc, {"checkpoint": "--checkpoint"})))
    except KeyboardInterrupt:   # was a traceback; the subcommands that keep finished parts say so themselves
        from neuroflow.cliutil import note

        # the subcommands that keep finished parts in --checkpoint say what they kept themselves; Ctrl-C before that
        # (building the problems, the teacher) said "nothing is kept ... only when it finishes" of their checkpoint
        keeps = {"digits": "students", "digits-inner": "students", "digits-cuts": "rows", "digits-control": "students",
                 "deep-control": "students", "budgets": "problems", "lm": "students"}.get(args.what)
        kept = ("nothing is kept (this subcommand writes its result only when it finishes)" if keeps is None
                else f"the finished {keeps} are not kept (no --checkpoint)" if args.checkpoint is None
                else f"the finished {keeps} are kept in {args.checkpoint} (a rerun with the same settings resumes "
                     "from them)")
        note(f"interrupted: {kept}", new_line_on_terminal=True)
        return 130


# ---------------------------------------------------------------------- suites
def _suite(args, beta) -> int:
    from neuroflow._utils import dumps
    from neuroflow.cliutil import fail, flag_error, note
    from neuroflow.identify import problems as P
    from neuroflow.identify.bench import BENCH_SETTINGS, run_suite, summarize

    name = "quick" if args.quick else args.suite
    if name == "paper" and args.widen:
        probs = P.widened_paper_suite(seed=args.seed)
        probs = probs[: args.n_problems] if args.n_problems else probs
    else:
        probs = P.suite(name, seed=args.seed, n_problems=args.n_problems)
    t0 = time.perf_counter()
    rows = []   # filled as rows come in: Ctrl-C keeps the finished ones
    settings = {"clusterer": args.clusterer, "beta": beta, "width": args.width}
    if args.max_expansion is not None:
        settings["max_expansion"] = args.max_expansion
    if args.max_students is not None:
        settings["max_students"] = args.max_students
    try:  # every argument is checked before any problem runs; a problem's own error is kept in its row
        rows = run_suite(probs, out=args.out, n_jobs=args.n_jobs, seed=args.seed, progress=sys.stderr.isatty(),
                         settings=settings, checkpoint=args.checkpoint, rows=rows)
    except KeyboardInterrupt:  # was a traceback: one line saying where the finished rows are
        where = (f"kept in {args.out} (a rerun with the same settings skips them)" if args.out is not None
                 else "not kept for a rerun (no --out)")
        if args.checkpoint is not None:   # was left unsaid: "not kept (no --out)" though a rerun takes the students
            where += f"; the finished students are kept in {args.checkpoint}"
        note(f"interrupted: {len(rows)} of {len(probs)} problems finished; their rows are printed and {where}",
             new_line_on_terminal=True)
        print(dumps({"benchmark": f"identify-suite-{name}", "interrupted": True, "n_problems": len(probs),
                     "rows": [{k: v for k, v in r.items() if k != "traceback"} for r in rows]}, indent=1))
        return 130
    except ValueError as exc:  # was a traceback: one line naming the flag
        flags = {"max_expansion": "--max-expansion", "max_students": "--max-students", "out": "--out",
                 "checkpoint": "--checkpoint", "seed": "--seed", "width": "--width"}
        return fail(str(flag_error(ValueError(str(exc).removeprefix("settings ")), flags)))
    summary = summarize(rows)
    if args.plot:
        from neuroflow.identify.plotting import plot_difficulty

        plot_difficulty(rows, args.plot)
    keep = ("name", "activation", "input_dim", "width", "width_guess", "hidden", "n_samples", "teacher", "weight_scale", "alignment",
            "difficulty", "teacher_sizes", "cluster_sizes", "layer_sizes", "overhead_pct", "exact_size",
            "max_angle_deg", "all_matched_within_1deg", "functional_rel_mse", "student_loss_median",
            "n_failed_students", "beta_deg", "beta_rule", "gap_check", "width_search", "expansion", "inner_selection",
            "polish", "timings", "time_s", "error")
    print(dumps({"benchmark": f"identify-suite-{name}" + ("-widened" if args.widen else "")
                 + ("-search" if args.width == "search" else ""),
                 "settings": {**BENCH_SETTINGS, **settings, "beta_deg": args.beta_deg}, "env": _env(args),
                 "wall_s": time.perf_counter() - t0, "summary": summary,
                 "rows": [{k: r.get(k) for k in keep} for r in rows]}, indent=1))
    return 0


def _time(args, beta) -> int:
    from neuroflow._utils import dumps
    from neuroflow.identify import problems as P
    from neuroflow.identify.bench import run_problem

    import resource

    def cpu_s():  # this process and its finished children (the worker processes, once they exit)
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    d, k, n, ns = (4, 4, 1000, 10) if args.quick else (8, 8, 2000, 10)
    prob = P.make_problem(d, k, "tanh", n, seed=args.seed)
    c0 = cpu_s()
    row = run_problem(prob, seed=args.seed, n_jobs=args.n_jobs, settings={"n_students": ns, "beta": beta})
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)  # the workers exit, so their CPU time is counted
    cpu = cpu_s() - c0
    print(dumps({"benchmark": "identify-time", "target_s": 120, "env": _env(args), "problem": prob.name,
                 "n_students": ns, "cpu_s": cpu, "note": "on a quiet machine the wall time is at most cpu_s (one core)",
                 "row": {k: v for k, v in row.items() if k != "traceback"}}, indent=1))
    return 0


def _difficulty(args, beta) -> int:
    """Recovery against the paper's problem features, from one or more suites' row files."""
    from neuroflow._utils import print_json, read_json
    from neuroflow.cliutil import fail
    from neuroflow.identify.bench import read_rows
    from neuroflow.identify.plotting import plot_features
    from neuroflow.identify.report import recovery_by_feature

    rows = []
    for path in args.rows:  # a file that is not a suite's rows: one line naming it (was a traceback)
        try:
            found = read_json(path, "suite result").get("rows") if path.suffix == ".json" else read_rows(path)
        except (ValueError, AttributeError):
            found = None
        if not found or not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
            return fail(f"{path}: expected suite rows (.jsonl) or a suite result (.json) with a list of rows")
        rows += found
    args.rows = [str(p) for p in args.rows]
    table = recovery_by_feature(rows)
    if args.plot:
        plot_features(rows, args.plot)
    print_json({"benchmark": "identify-difficulty", "sources": args.rows, "n_problems": len(rows), **table},
               args.out, indent=1)
    return 0


# ---------------------------------------------------------------------- digits
#: a small digits configuration for --quick (a smoke test of the path, not a result)
DIGITS_QUICK = {"n_students": 4, "expansion": 2, "loss_tol": 1e-1, "engine": "torch",
                "torch_options": {"adam_steps": 1500, "batch_size": 256, "lr": 3e-3, "lr_end": 3e-5, "max_iter": 60},
                "finetune_options": {"maxiterations_ode": 0, "maxiterations_optim": 300, "method_optim": "lbfgs"}}


def _digits_setup(args):
    """The digits teacher of ``--seed``: probe count, problem, estimator settings, probes and answers."""
    from neuroflow.identify import problems as P

    n, cfg = _digits_config(args)
    prob = P.digits_problem(n_samples=n, seed=args.seed)
    X = prob.probes()
    return n, prob, cfg, X, prob.teacher(X)


def _digits_config(args):
    """The probe count and estimator settings of a digits run (those of every digits teacher, without training one)."""
    from neuroflow.identify import problems as P

    return (4000 if args.quick else P.DIGITS_N_SAMPLES,
            {**(DIGITS_QUICK if args.quick else P.DIGITS_SETTINGS), "layer_probes": args.layer_probes})


def _digits(args, beta) -> int:
    """The deep digits teacher of ``--seed``, identified layer by layer (students retrained with the
    reconstructed layers frozen; the teacher answers the second stage's designed probes)."""
    import warnings

    import numpy as np

    from neuroflow._utils import print_json
    from neuroflow.identify import problems as P
    from neuroflow.identify.estimator import ExpandAndCluster

    t0 = time.perf_counter()
    n, prob, cfg, X, Y = _digits_setup(args)
    Xd, _ = P.digits_data()
    est = ExpandAndCluster(activation="g", beta=beta, hidden_sizes=[20, 20], n_jobs=args.n_jobs, seed=args.seed,
                           checkpoint=args.checkpoint, progress=sys.stderr.isatty(), **cfg)
    base = {"benchmark": "identify-digits", "env": _env(args), "settings": cfg, "seed": args.seed,
            "teacher": prob.teacher.to_dict(), "n_samples": n}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(X, Y, query=prob.teacher)
        except RuntimeError as err:  # e.g. students too far from zero loss to share any neuron
            print_json({**base, "failed": str(err), "warnings": [str(w.message)[:300] for w in caught],
                        "time_s": time.perf_counter() - t0}, args.out, indent=1)
            return 1
    rep = est.report(prob.teacher, X_test=prob.probes(n=2000, seed=99))
    Td = prob.teacher(Xd)
    rel_digits = float(np.sum((est.predict(Xd) - Td) ** 2) / np.sum((Td - Td.mean(0)) ** 2))
    layers = [l.to_dict() for l in rep.layers]
    recovered = all(l["overhead_pct"] <= 10.0 and l["missing"] == 0 for l in layers) and all(
        np.nanmax(np.asarray(l["min_angle_deg"], dtype=float)) <= 5.0 for l in layers)
    out = {**base, "designed_probes": est.designed_probes_,
           "targets": {"overhead_pct_max": 10.0, "angle_deg_max": 5.0},
           "recovered": bool(recovered), "teacher_sizes": rep.teacher_sizes, "cluster_sizes": est.cluster_sizes_,
           "layer_sizes": est.layer_sizes_, "overhead_pct": rep.overhead_pct,
           "max_matched_angle_deg_per_layer": [l["max_matched_angle_deg"] for l in layers],
           "missing_per_layer": [l["missing"] for l in layers], "excess_per_layer": [l["excess"] for l in layers],
           "functional_rel_mse": rep.functional_rel_mse, "functional_rel_mse_on_digits": rel_digits,
           "finetune_rel_loss": None if est.finetune_ is None else float(est.finetune_.loss) / est.target_var_[-1],
           "student_rel_losses": [[f.loss / v for f in fits] for fits, v in zip(est.students_, est.target_var_)],
           "student_steps": [[list(f.steps) for f in fits] for fits in est.students_],
           "inner_selection": est.selection_, "clusters": [c.to_dict() for c in est.clusters_],
           "pruned": est.pruned_, "timings": est.timings_, "warnings": [str(w.message)[:300] for w in caught],
           "report": rep.to_dict(), "load_avg_1min_at_end": os.getloadavg()[0], "time_s": time.perf_counter() - t0}
    print_json(out, args.out, indent=1)
    return 0


class _KeptRows:
    """The finished parts of a long subcommand (rows, students) kept in one JSON file in --checkpoint, rewritten whole
    (atomically) as each finishes, with the settings that computed them: a rerun with the same settings takes them,
    one with other settings is refused in one line naming those (ValueError), and while a run writes the file a
    second run is refused (a lock beside it). ``path`` None (no --checkpoint): nothing is kept. ``ok(part)`` says
    whether a part read back is one this subcommand writes."""

    def __init__(self, path, what: str, settings: dict, key: str, ok, flags: str):
        self.path, self.what, self.settings, self.key, self.flags = path, what, settings, key, flags
        self.parts: dict = {}
        self._ok = ok

    @classmethod
    def entered(cls, *args) -> tuple:
        """``(kept, stack)``: a ``_KeptRows(*args)`` read and locked, held until ``stack`` closes (``with stack:``);
        ValueError (one line) where the file is refused."""
        import contextlib

        stack = contextlib.ExitStack()
        return stack.enter_context(cls(*args)), stack

    def __enter__(self):
        import contextlib

        from neuroflow._utils import lock_beside

        self._stack = contextlib.ExitStack()
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # two runs rewriting one file each dropped the other's parts
                self._stack.enter_context(lock_beside(self.path, f"--checkpoint: {self.path} is being written by "
                                                                 f"another {self.what} run (pid {{pid}}); wait for it "
                                                                 "to end or use another --checkpoint"))
            except OSError as exc:   # a folder that became read-only after the flags were checked: was a traceback
                raise ValueError(f"--checkpoint: {self.path.parent}: cannot keep {self.what} there "
                                 f"({exc.strerror or exc})") from None
            try:
                self._read()
            except BaseException:
                self._stack.close()
                raise
        return self

    def __exit__(self, *exc):
        self._stack.close()
        return False

    def _read(self) -> None:
        from neuroflow._utils import describe_differences, read_json

        if not self.path.exists():
            return
        saved = read_json(self.path, f"{self.what} file")
        parts = saved.get("parts") if isinstance(saved, dict) else None
        # one part twice (a file edited by hand) silently took the last: no run writes that
        if not (isinstance(saved, dict) and saved.get("benchmark") == self.what
                and isinstance(saved.get("settings"), dict) and isinstance(parts, list)
                and all(isinstance(r, dict) and type(r.get(self.key)) is int and self._ok(r) for r in parts)
                and len({r[self.key] for r in parts}) == len(parts)):
            # "a identify-lm students file": every name here starts with a vowel
            article = "an" if self.what[:1].lower() in "aeiou" else "a"
            raise ValueError(f"--checkpoint: {self.path} is not {article} {self.what} file; use another --checkpoint "
                             "or delete it")
        then, now = saved["settings"], self.settings
        diff = describe_differences(then, now, limit=3)
        if diff:  # not this run's parts
            raise ValueError(f"--checkpoint: {self.path} holds {self.what} computed with other settings ({diff}); "
                             f"rerun with the flags of that run ({self.flags}), use another --checkpoint or delete it")
        self.parts = {r[self.key]: r for r in parts}

    def keep(self, part: dict) -> None:
        """Record one finished part (and rewrite the file, when there is one)."""
        from neuroflow._utils import dumps, write_text_atomic

        parts = {**self.parts, part[self.key]: part}
        if self.path is not None:  # counted as kept once written: Ctrl-C mid-write left it counted, not in the file
            write_text_atomic(self.path, dumps({"benchmark": self.what, "settings": self.settings,
                                                "parts": [parts[k] for k in sorted(parts)]}, indent=1) + "\n")
        self.parts = parts

    def where(self) -> str:
        """Where the finished parts are, for the line an interrupted run ends with ("0 of 4 students finished, printed
        and kept in FILE" was said of a file not written: none is kept then)."""
        return ("not kept for a rerun (no --checkpoint)" if self.path is None
                else f"none is kept in {self.path} (none finished)" if not self.parts
                else f"kept in {self.path} (a rerun with the same settings resumes from them)")


#: digits-cuts' rows file in --checkpoint: every finished teacher seed's row, rewritten whole as each finishes
CUTS_ROWS = "digits_cuts_rows.json"


def _digits_cuts(args, beta) -> int:
    """Each digits teacher's last hidden layer, clustered from the same students by each cut rule. With
    --checkpoint each finished seed's row is kept there (:data:`CUTS_ROWS`, beside the students) as it finishes, and
    a rerun with the same settings takes the rows kept instead of computing them again; rows of other settings are
    refused, naming them. Ctrl-C ends the run with exit status 130, the finished rows printed and --out unwritten.
    (The rows were written only after the last seed: Ctrl-C or a crash in seed 5 lost seeds 0 to 4.)"""
    from pathlib import Path

    from neuroflow._utils import print_json
    from neuroflow.cliutil import check_output_dir, fail, note, record_interrupts
    from neuroflow.identify import problems as P
    from neuroflow.identify.bench import settings_record

    t0 = time.perf_counter()
    n, cfg = _digits_config(args)
    settings = settings_record({"n_samples": n, "beta": beta, **cfg, "finetune": False})
    path = None if args.checkpoint is None else Path(args.checkpoint) / CUTS_ROWS
    rows, interrupted, interrupts = [], False, record_interrupts()
    try:
        kept, stack = _KeptRows.entered(path, "identify-digits-cuts rows", settings, "seed",
                                        lambda r: isinstance(r.get("rules"), dict),
                                        "--quick, --layer-probes, --beta-deg")
    except ValueError as exc:
        return fail(str(exc))
    try:   # each seed's students folder before any seed runs: a file there ended in a traceback once its turn came
        for seed in args.seeds:
            if path is not None and seed not in kept.parts:
                check_output_dir(Path(args.checkpoint) / P.DIGITS_NAME.format(seed=seed), "--checkpoint")
    except ValueError as exc:
        stack.close()
        return fail(str(exc))
    with stack:
        if kept.parts:
            note(f"resuming: the rows of seed{'s' if len(kept.parts) > 1 else ''} "
                 f"{', '.join(map(str, sorted(kept.parts)))} are taken from {path}")
        try:
            for seed in args.seeds:
                row = kept.parts.get(seed)
                if row is None:
                    row = _cuts_row(args, beta, seed)
                    if interrupts:  # a stage that caught Ctrl-C and returned early: not this seed's row
                        raise KeyboardInterrupt
                    kept.keep(row)
                    log = {k: (v["clusters"], round(v["max_angle_deg"], 2)) for k, v in row["rules"].items()}
                    print(f"seed {seed}: {log}", file=sys.stderr, flush=True)
                rows.append(row)
        except KeyboardInterrupt:
            interrupted = True
    out = {"benchmark": "identify-digits-cuts", "env": _env(args), "layer": "last hidden (second)",
           "clusters_of": "clusters of at least ceil(gamma * n) students, no spread cut (beta = pi)",
           "rows": rows, "time_s": time.perf_counter() - t0}
    if interrupted:
        done = ", ".join(str(r["seed"]) for r in rows)
        note(f"interrupted: the rows of the finished seeds ({done or 'none'}) are printed and {kept.where()}; --out "
             "is left unwritten", new_line_on_terminal=True)
        print_json({**out, "interrupted": True}, indent=1)
        return 130
    print_json(out, args.out, indent=1)
    return 0


def _cuts_row(args, beta, seed) -> dict:
    """digits-cuts' row of the digits teacher of ``seed``: its students (from --checkpoint, trained if missing)
    up to the last hidden layer's clusters, that layer cut again by each rule."""
    import math
    import warnings

    import numpy as np

    from neuroflow.identify.clustering import cluster_neurons
    from neuroflow.identify.estimator import ExpandAndCluster
    from neuroflow.identify.report import compare_networks
    from neuroflow.identify.symmetry import sign_mode

    args.seed = seed
    n, prob, cfg, X, Y = _digits_setup(args)
    ck = None if args.checkpoint is None else os.path.join(args.checkpoint, prob.name)
    est = ExpandAndCluster(activation="g", beta=beta, hidden_sizes=[20, 20], n_jobs=args.n_jobs, seed=0,
                           checkpoint=ck, progress=sys.stderr.isatty(), **{**cfg, "finetune": False})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        est.fit(X, Y, query=prob.teacher)
    last, sign = est.clusters_[-1], sign_mode(2, "g")
    n_st = len(est.students_[-1])
    row = {"seed": seed, "problem": prob.name, "first_layer_clusters": est.clusters_[0].size,
           "student_rel_losses": [f.loss / est.target_var_[-1] for f in est.students_[-1]], "rules": {}}
    for rule, ratio in (("most", None), ("persistent 1.5", 1.5), ("persistent 2", 2.0), ("persistent 3", 3.0)):
        res = cluster_neurons(last.vectors, last.student_ids, n_st, "g", gamma=max(est.gamma, 2.0 / n_st),
                              beta=math.pi, sign=sign, cut="most" if ratio is None else "persistent",
                              **({} if ratio is None else {"persist_ratio": ratio}))
        rep = compare_networks(prob.teacher, [est.incoming(0), res.centres], "g", match_tol_deg=180.0, sign=sign)
        nearest = np.asarray(rep[1].to_dict()["min_angle_deg"], dtype=float)
        row["rules"][rule] = {"clusters": res.size, "cut_deg": math.degrees(res.cut_height),
                              "max_angle_deg": float(np.nanmax(nearest)),
                              "teacher_neurons_over_5deg": int(np.sum(nearest > 5.0)),
                              "nearest_cluster_deg": nearest.round(4).tolist()}
    return row


def _digits_inner(args, beta) -> int:
    """The digits run's first stage and the inner-layer decision, new rule against the earlier one."""
    import warnings

    import numpy as np

    from neuroflow._utils import as_rng, print_json
    from neuroflow.backend import resolve_backend
    from neuroflow.identify.estimator import ExpandAndCluster
    from neuroflow.identify.lstsq import backward_elimination, layer_forward
    from neuroflow.identify.params import torch_options_per_layer
    from neuroflow.identify.selection import eliminate_inner, next_preactivations
    from neuroflow.identify.symmetry import angles_deg

    t0 = time.perf_counter()
    n, prob, cfg, X, Y = _digits_setup(args)
    est = ExpandAndCluster(activation="g", beta=beta, hidden_sizes=[20, 20], n_jobs=args.n_jobs, seed=args.seed,
                           checkpoint=args.checkpoint, progress=sys.stderr.isatty(), **cfg)
    est._check_params()  # the steps of fit's first stage, with fit's seeds: a later digits run reuses the students
    est._reset()
    backend = resolve_backend(est.backend)
    sizes = [int(np.ceil(est.expansion * 20))] * 2
    seeds, starts = est._fresh_starts(X.shape[1], sizes, Y, as_rng(args.seed), backend, [])
    net = est._stage_net(X.shape[1], [], sizes, Y.shape[1], backend)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        fits = est._train_stage(0, net, X, Y, seeds, starts, backend, torch_options_per_layer(est.torch_options, 2)[0])
        y_var = float(np.mean(np.sum((Y - Y.mean(0)) ** 2, axis=1)))
        try:
            result = est._cluster(0, net, fits, X, X, Y, y_var, None, 2)
        except RuntimeError as err:  # students too far from zero loss to share a neuron (e.g. --quick)
            print_json({"benchmark": "identify-digits-inner", "seed": args.seed, "failed": str(err)}, args.out)
            return 1
    mats = [net.unpack(f.theta) for f in fits]
    keep, record = eliminate_inner(result.centres, mats, X, 0, Y, [f.loss for f in fits], "g")
    old_keep = backward_elimination(layer_forward(X, result.centres, "g"), None,
                                    np.hstack([next_preactivations(m, X, 0, "g") for m in mats]))
    t_u = prob.teacher.incoming(0)

    def matched(cols):
        ang = angles_deg(t_u, result.centres[cols], "g").min(axis=1) if len(cols) else np.full(20, np.nan)
        return {"kept": len(cols), "teacher_neurons_within_5deg": int(np.sum(ang <= 5.0)),
                "max_min_angle_deg": float(np.nanmax(ang))}

    print_json({"benchmark": "identify-digits-inner", "env": _env(args), "seed": args.seed, "settings": cfg,
                "student_rel_losses": [f.loss / y_var for f in fits], "student_steps": [list(f.steps) for f in fits],
                "clusters": result.size, "cluster_spreads_deg": sorted(result.median_angle_deg.tolist()),
                "beta_rule": result.beta_rule, "all_clusters": matched(list(range(result.size))),
                "new_rule": {**matched(keep), "record": record},
                "earlier_rule_preactivations_10x": matched(old_keep), "time_s": time.perf_counter() - t0},
               args.out, indent=1)
    return 0


#: digits-control's students file in --checkpoint (per teacher seed): every finished student, kept as it finishes
CONTROL_STUDENTS = "digits_control_seed{seed}.json"


def _digits_control(args, beta) -> int:
    """Second-stage students on the digits teacher's own first layer. With --checkpoint each finished student is
    kept there (:data:`CONTROL_STUDENTS`) as it finishes and a rerun with the same settings trains only the rest;
    students of other settings are refused, naming them. Ctrl-C ends the run with exit status 130, the finished
    students printed and --out unwritten. (The students, 4 to 10 minutes each, were written only after the last:
    Ctrl-C or a crash lost them all.)"""
    from pathlib import Path

    from neuroflow._utils import print_json
    from neuroflow.cliutil import fail, note, record_interrupts
    from neuroflow.identify import problems as P
    from neuroflow.identify.bench import settings_record

    n, cfg = _digits_config(args)
    stage2 = cfg["torch_options"] if isinstance(cfg["torch_options"], dict) else cfg["torch_options"][-1]
    cfg = {**cfg, "torch_options": stage2}
    widths = args.widths or [cfg["expansion"] * 20] * cfg["n_students"]
    settings = settings_record({"n_samples": n, "seed": args.seed, "widths": widths, "torch_options": stage2,
                                "layer_probes": args.layer_probes})
    path = None if args.checkpoint is None else Path(args.checkpoint) / CONTROL_STUDENTS.format(seed=args.seed)
    try:
        kept, stack = _KeptRows.entered(path, "identify-digits-control students", settings, "index",
                                        lambda r: isinstance(r.get("found_mask"), list)
                                        and _json_float(r.get("loss")) is not None,
                                        "--quick, --widths, --layer-probes")
    except ValueError as exc:
        return fail(str(exc))
    interrupts, teacher = record_interrupts(), []

    def finished(i, student):
        if interrupts:  # collected after Ctrl-C: not kept as finished
            raise KeyboardInterrupt
        kept.keep({"index": i, "teacher": teacher[0], **student})

    with stack:
        try:
            prob = P.digits_problem(n_samples=n, seed=args.seed)
            # the teacher is trained anew by each run (torch): one of other last bits (another torch or machine)
            # had its students' found neurons counted with the kept students of the teacher before
            teacher.append(_teacher_digest(prob.teacher))
            other = sorted(i for i, s in kept.parts.items() if s.get("teacher", teacher[0]) != teacher[0])
            if other:
                return fail(f"--checkpoint: {path} holds student{'s' if len(other) > 1 else ''} "
                            f"{', '.join(map(str, other))} of another teacher of seed {args.seed} than the one this "
                            "run trained (another torch or machine can give other last bits); use another "
                            "--checkpoint or delete it")
            if kept.parts:
                note(f"resuming: student{'s' if len(kept.parts) > 1 else ''} "
                     f"{', '.join(map(str, sorted(kept.parts)))} {'are' if len(kept.parts) > 1 else 'is'} taken "
                     f"from {path}")
            # a loss as the file holds it: a NaN is null there, an infinity "inf" (a student whose L-BFGS ended
            # non-finite), which digits_control divided as they were ("TypeError: ... 'NoneType' and 'float'")
            done = {i: {**{k: v for k, v in s.items() if k not in ("index", "teacher")}, "loss": _json_float(s["loss"])}
                    for i, s in kept.parts.items()}
            out = digits_control(prob, cfg, widths=widths, seed=args.seed, n_jobs=args.n_jobs, done=done,
                                 on_student=finished)
        except KeyboardInterrupt:
            note(f"interrupted: {len(kept.parts)} of {len(widths)} students finished, printed and {kept.where()}; "
                 "--out is left unwritten", new_line_on_terminal=True)
            print_json({"benchmark": "identify-digits-control", "env": _env(args), "settings": cfg,
                        "interrupted": True, "finished_students": [kept.parts[i] for i in sorted(kept.parts)]},
                       indent=1)
            return 130
    print_json({"benchmark": "identify-digits-control", "env": _env(args), "settings": cfg, **out}, args.out,
               indent=1)
    return 0


def _teacher_digest(teacher) -> str:
    """A digest of a teacher's weights and biases (bit for bit) and activation."""
    from neuroflow.identify.checkpoint import checkpoint_key

    return checkpoint_key([*teacher.weights, *(b for b in teacher.biases if b is not None)], teacher.activation)[:16]


def _json_float(value) -> float | None:
    """A float as neuroflow's JSON writes it (a number, null for NaN, "inf" / "-inf") read back, or None if
    ``value`` is none of those."""
    import math

    if value is None:
        return math.nan
    if isinstance(value, str):
        return {"inf": math.inf, "-inf": -math.inf}.get(value)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _control_student(i, width, X, Y, first, second, activation, seed, torch_options, match_deg):
    from neuroflow.identify.students import torch_fit
    from neuroflow.identify.symmetry import angles_deg
    from neuroflow.mlp import MLP

    net = MLP(X.shape[1], [(first.shape[0], activation, True), (int(width), activation, True),
                           (Y.shape[1], "identity", True)], backend="numpy")
    mats = net.unpack(net.init_params(seed=seed + i))
    mats[0] = first.copy()
    t1 = time.perf_counter()
    theta, loss, why, steps = torch_fit(net, net.pack(mats), X, Y, frozen_layers=1, seed=seed + i, **torch_options)
    angles = angles_deg(second, net.unpack(theta)[1], activation).min(axis=1)
    return {"width": int(width), "seed": seed + i, "loss": loss, "stopped": why, "steps": list(steps),
            "found_mask": angles <= match_deg, "min_angle_deg": angles.round(2).tolist(),
            "time_s": time.perf_counter() - t1}


def digits_control(prob, cfg, *, widths, seed=0, match_deg=5.0, n_jobs=1, done=None, on_student=None) -> dict:
    """Second-stage students of the digits run (minibatch Adam then L-BFGS, ``cfg``'s torch options) with
    the teacher's exact first layer frozen, one per width (seeds ``seed``, ``seed + 1``, ...). A teacher
    second-layer neuron counts as found by a student if one of its units is within ``match_deg`` degrees
    (symmetry-aware angles between incoming vectors, bias included). ``done``: students finished earlier (by
    index, as ``on_student`` got them), not trained again; ``on_student(index, student)`` as each finishes."""
    import numpy as np

    from neuroflow.identify.probes import mix_designed_probes
    from neuroflow.parallel import parallel_map

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
    H1, H2 = T.hidden(X, 0), T.hidden(X, 1)
    F = np.c_[H1, np.ones(len(X))]
    resid = H2 - F @ np.linalg.lstsq(F, H2, rcond=None)[0]
    signal = np.sum(T.weights[2] ** 2, axis=0) * resid.var(axis=0) / y_var
    near = near_parallel(second, H1)
    done = dict(done or {})
    todo = [i for i in range(len(widths)) if i not in done]

    def collected(k, student):
        done[todo[k]] = student
        if on_student is not None:
            on_student(todo[k], student)

    parallel_map(_control_student, [(i, widths[i], X, Y, first, second, T.activation, seed, cfg["torch_options"],
                                     match_deg) for i in todo], n_jobs=n_jobs, on_result=collected)
    students = [dict(done[i]) for i in range(len(widths))]
    found = np.array([s.pop("found_mask") for s in students], dtype=bool)
    for s, f in zip(students, found):
        s["found"] = int(f.sum())
        s["rel_loss"] = s.pop("loss") / y_var
    return {"first_layer": "teacher's own, frozen", "match_deg": match_deg, "n_samples": prob.n_samples,
            "designed_probes": n_new, "students": students, "found_by_n_students": found.sum(axis=0).tolist(),
            "teacher_nonlinear_signal": signal.tolist(), "teacher_nearest_neuron": near,
            "time_s": time.perf_counter() - t0}


def near_parallel(U, H) -> list[dict]:
    """For each neuron of a layer (incoming vectors ``U`` = [W | b], rows; ``H`` its input on the probes): the other
    neuron whose incoming weights (bias left out) are nearest in angle, that angle, and the correlation of the two
    pre-activations on the probes. Neurons of one direction that differ mainly in bias and scale (correlation near 1)
    are what students merge: their pre-activations rise and fall together under any probes."""
    import numpy as np

    W = U[:, :-1] / np.linalg.norm(U[:, :-1], axis=1, keepdims=True)
    ang = np.degrees(np.arccos(np.clip(np.abs(W @ W.T), 0.0, 1.0)))
    np.fill_diagonal(ang, np.inf)
    corr = np.corrcoef((H @ U[:, :-1].T + U[:, -1]).T)
    out = []
    for i in range(U.shape[0]):
        j = int(np.argmin(ang[i]))
        out.append({"neuron": i, "nearest": j, "weight_angle_deg": round(float(ang[i, j]), 2),
                    "preactivation_corr": round(float(corr[i, j]), 4)})
    return out


def _deep_control(args, beta) -> int:
    """Second-stage students of a deep-suite teacher on its own first layer, given probes against a share of
    designed ones. With --checkpoint each finished student is kept there (``deep_control_<problem>``, the
    estimator's student checkpoint: a student of other settings is trained anew beside it, never taken) and a rerun
    trains only the rest; Ctrl-C ends the run with exit status 130, the finished runs printed and --out unwritten.
    (The students, 12 minutes a run of three, were written only at the end: Ctrl-C or a crash lost them all.)"""
    import contextlib
    from pathlib import Path

    import numpy as np

    from neuroflow._utils import lock_beside, print_json
    from neuroflow.cliutil import check_output_dir, fail, note, record_interrupts
    from neuroflow.identify import problems as P
    from neuroflow.identify.checkpoint import StudentCheckpoint, checkpoint_key
    from neuroflow.identify.lstsq import output_variance
    from neuroflow.identify.probes import query_designed_probes
    from neuroflow.identify.students import train_students
    from neuroflow.mlp import MLP

    probs = [p for p in P.deep_suite(args.seed) if p.name.startswith(args.problem)]
    if len(probs) != 1:
        names = ", ".join(p.name.split("-")[0] for p in P.deep_suite(args.seed))
        return fail(f"--problem: expected a prefix of one deep-suite problem name ({names}), got {args.problem!r}")
    prob, cfg = probs[0], P.DEEP_SETTINGS
    T = prob.teacher
    topts = {**cfg["torch_options"], **({"adam_steps": 500, "max_iter": 50, "lm_steps": 50} if args.quick else {})}
    first = T.incoming(0)
    sizes = [first.shape[0]] + [int(np.ceil(cfg["expansion"] * w)) for w in T.hidden_sizes[1:]]
    layers = [(w, T.activation, True) for w in sizes] + [(T.output_dim, "identity", True)]
    X0 = prob.probes()
    folder = None if args.checkpoint is None else Path(args.checkpoint) / f"deep_control_{prob.name}"
    runs, stages, interrupts = [], [], record_interrupts()
    with contextlib.ExitStack() as stack:
        # the folder, the lock and both runs' student files before any student trains, each refused in one line: a
        # file in the folder's place, a second run into it, or a folder where the designed run's students go ended
        # in a traceback, the last after the given probes' students had trained
        try:
            if folder is not None:   # two runs rewriting one student file each dropped the other's students
                folder = check_output_dir(folder, "--checkpoint")
                folder.mkdir(parents=True, exist_ok=True)
                stack.enter_context(lock_beside(folder, f"--checkpoint: {folder} is being written by another "
                                                        "deep-control run (pid {pid}); wait for it to end or use "
                                                        "another --checkpoint"))
            for share in (0.0, args.layer_probes):
                X, Y, n_new = query_designed_probes(X0, T(X0), T, first, share, np.random.default_rng(args.seed + 7))
                net = MLP(X.shape[1], layers, backend="numpy")
                seeds = list(range(args.n_students))
                starts = []
                for s in seeds:
                    mats = net.unpack(net.init_params(seed=100 + s))
                    mats[0] = first.copy()
                    starts.append(net.pack(mats))
                y_var = output_variance(Y)
                options = {"min_loss": 1e-14 * y_var}
                key = checkpoint_key([X, Y, np.asarray(seeds, dtype=float), *starts],
                                     (layers, "torch", options, topts, "first layer frozen"))
                stages.append((StudentCheckpoint(folder, 1, key, n_params=net.n_params), len(seeds),
                               (X, Y, n_new, seeds, starts, y_var, options)))
        except (OSError, ValueError) as exc:
            return fail(str(exc) if isinstance(exc, ValueError) else
                        f"--checkpoint: {folder}: cannot be used ({exc.strerror or exc})")
        try:
            for saved, _, (X, Y, n_new, seeds, starts, y_var, options) in stages:
                def finished(fit, saved=saved):
                    if interrupts:  # collected after Ctrl-C: not kept as finished
                        raise KeyboardInterrupt
                    saved.add(fit)

                t0 = time.perf_counter()
                train_students(X.shape[1], layers, X, Y, seeds, starts, indices=[i for i in range(len(seeds))
                                                                                 if i not in saved.fits],
                               engine="torch", frozen_layers=1, train_options=options, torch_options=topts,
                               n_jobs=args.n_jobs, on_result=finished)
                fits = [saved.fits[i] for i in range(len(seeds))]
                rel = [f.loss / y_var for f in fits]
                runs.append({"designed_probes": n_new, "target_variance": y_var, "rel_losses": rel,
                             "at_floor_1e-10": int(sum(r <= 1e-10 for r in rel)),
                             "stopped_by": [f.stopped_by for f in fits], "time_s": time.perf_counter() - t0})
        except KeyboardInterrupt:
            done = ", ".join(f"{name}: {len(saved.fits)} of {n}"
                             for name, (saved, n, _) in zip(("given probes", "designed"), stages))
            where = ("not kept for a rerun (no --checkpoint)" if folder is None
                     else f"none kept in {folder} (none finished)" if not any(saved.fits for saved, _, _ in stages)
                     else f"kept in {folder} (a rerun with the same settings resumes from them)")
            note(f"interrupted: the finished students ({done}) are {where}; the finished runs are printed, --out is "
                 "left unwritten", new_line_on_terminal=True)
            print_json({"benchmark": "identify-deep-control", "env": _env(args), "problem": prob.name,
                        "interrupted": True, "runs": runs}, indent=1)
            return 130
    print_json({"benchmark": "identify-deep-control", "env": _env(args), "problem": prob.name,
                "first_layer": "teacher's own, frozen", "student_sizes": sizes, "torch_options": topts,
                "runs": runs}, args.out, indent=1)
    return 0


# ---------------------------------------------------------------------- reproducibility and budgets
def _repro(args, beta) -> int:
    """`neuroflow identify run` twice with one seed: on the machine as it is, then beside two busy processes
    (`yes > /dev/null`); the JSON must be identical apart from timing fields."""
    import json
    import subprocess
    import tempfile

    from neuroflow._utils import print_json
    from neuroflow.identify import save_teacher
    from neuroflow.identify.bench import without_timing
    from neuroflow.identify.problems import make_deep_teacher, make_teacher

    with tempfile.TemporaryDirectory() as tmp:
        cases = {"shallow": (make_teacher(4, 4, "tanh", seed=args.seed), ["--n-samples", "1000", "--n-students", "6"]),
                 "deep": (make_deep_teacher(3, [4, 3], "tanh", seed=args.seed),
                          ["--n-samples", "600", "--n-students", "4", "--expansion", "2", "--student-steps", "1000",
                           "--student-iterations", "500"])}
        results = {}
        for name, (teacher, options) in cases.items():
            path = os.path.join(tmp, f"{name}.npz")
            save_teacher(teacher, path)
            cmd = [sys.executable, "-m", "neuroflow", "identify", "run", "--teacher", path, *options,
                   "--width", "teacher", "--seed", str(args.seed), "--json", "--quiet"]
            runs = []
            for busy in (0, 2):
                hogs = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(busy)]
                try:
                    t = time.perf_counter()
                    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
                    runs.append((json.loads(proc.stdout), time.perf_counter() - t, os.getloadavg()[0]))
                finally:
                    for h in hogs:
                        h.kill()
            (a, ta, la), (b, tb, lb) = runs
            results[name] = {"identical_apart_from_timing": without_timing(a) == without_timing(b),
                             "layer_sizes": a["layer_sizes"], "teacher_sizes": a["teacher_sizes"],
                             "max_angle_deg": a["max_angle_deg"], "functional_rel_mse": a["functional_rel_mse"],
                             "wall_s": [ta, tb], "load_avg_1min_after": [la, lb]}
    print_json({"benchmark": "identify-repro", "busy_processes": [0, 2], "seed": args.seed, **results}, args.out,
               indent=1)
    return 0 if all(r["identical_apart_from_timing"] for r in results.values()) else 1


def _budgets(args, beta) -> int:
    """Steps each stage takes within CPU-second caps (the earlier wall-time budgets, on a quiet machine)."""
    import functools
    import types
    from pathlib import Path

    import numpy as np

    import neuroflow.flow as flow
    from neuroflow._utils import print_json
    from neuroflow.cliutil import fail, note, record_interrupts
    from neuroflow.identify import problems as P
    from neuroflow.identify.bench import run_problem, settings_record

    for name, module in list(sys.modules.items()):  # budget checks count CPU seconds in every engine module
        if name.startswith("neuroflow.flow") and getattr(module, "time", None) is time:
            module.time = types.SimpleNamespace(perf_counter=time.process_time)
    real, calls, label = flow.train, [], ["?"]

    @functools.wraps(real)
    def recording(*a, **k):
        res = real(*a, **k)
        calls.append({"problem": label[0], "caps": [k.get("maxtime_ode"), k.get("maxtime_optim")],
                      "method_optim": res.method_optim, "steps": [res.ode_iterations, res.optim_iterations],
                      "stopped_by": [res.ode_stopped_by, res.optim_stopped_by]})
        return res

    flow.train = recording
    huge = {"maxiterations_ode": 10**9, "maxiterations_optim": 10**9}
    settings = {"train_options": {**huge, "maxtime_ode": 1.5, "maxtime_optim": 2.5},
                "finetune_options": {**huge, "maxtime_ode": 5.0, "maxtime_optim": 30.0}}
    probs = P.paper_suite(150, seed=args.seed)[:: 3 if not args.quick else 50]
    # each finished problem's calls kept in --checkpoint as it finishes (about a minute a problem, 50 of them, were
    # all lost at Ctrl-C or a crash); its students are not: they are what is measured. --threads too: CPU-second caps
    # count every thread's seconds, so calls kept under another thread count were reported with this run's
    path = None if args.checkpoint is None else Path(args.checkpoint) / "budgets_problems.json"
    try:
        kept, stack = _KeptRows.entered(path, "identify-budgets problems",
                                        settings_record({"seed": args.seed, "quick": args.quick,
                                                         "threads": args.threads, **settings}), "index",
                                        lambda r: isinstance(r.get("calls"), list), "--quick, --seed, --threads")
    except ValueError as exc:
        return fail(str(exc))
    interrupts = record_interrupts()
    with stack:
        try:
            for i, p in enumerate(probs):
                if i in kept.parts:
                    continue
                label[0], first = p.name, len(calls)
                run_problem(p, seed=args.seed, settings=settings)
                if interrupts:  # a stage that caught Ctrl-C and returned early: not this problem's calls
                    raise KeyboardInterrupt
                kept.keep({"index": i, "problem": p.name, "calls": calls[first:]})
        except KeyboardInterrupt:
            note(f"interrupted: {len(kept.parts)} of {len(probs)} problems finished, their calls printed and "
                 f"{kept.where()}; --out is left unwritten", new_line_on_terminal=True)
            print_json({"benchmark": "identify-budgets", "interrupted": True,
                        "calls": [c for i in range(len(probs)) if i in kept.parts for c in kept.parts[i]["calls"]]},
                       indent=1)
            return 130
    # this run's problems only: a part of another index (a file edited by hand) was counted among them
    calls = [c for i in range(len(probs)) for c in kept.parts[i]["calls"]]
    at_cap = [c["steps"][0] for c in calls if c["caps"] == [1.5, 2.5] and c["stopped_by"][0] == "maxtime"]
    all_ode = [c["steps"][0] for c in calls if c["caps"] == [1.5, 2.5]]
    print_json({"benchmark": "identify-budgets", "method": "CPU-second caps, step budgets lifted",
                "students": {"ode_steps_percentiles_10_50_90_100": np.percentile(all_ode, [10, 50, 90, 100]).tolist(),
                             "ode_steps_of_students_stopped_by_the_cap": at_cap},
                "calls": calls}, args.out, indent=1)
    return 0

# ---------------------------------------------------------------------- Levenberg-Marquardt polish
def _lm(args, beta) -> int:
    """Levenberg-Marquardt and MINPACK polishing torch's students. With --checkpoint each finished student's row is
    kept there and a rerun with the same settings computes only the rest; Ctrl-C ends the run with exit status 130,
    the finished rows printed and --out unwritten."""
    from pathlib import Path

    from neuroflow._utils import print_json
    from neuroflow.cliutil import fail, note, record_interrupts
    from neuroflow.identify.bench import settings_record
    from neuroflow.identify.problems import DEEP_SETTINGS, deep_suite
    from neuroflow.mlp import MLP

    prob = deep_suite(1)[1]
    X, Y = prob.probes(), prob.teacher(prob.probes())
    n_students, steps = (1, 100) if args.quick else (2, 2000)
    torch_opts = {k: v for k, v in DEEP_SETTINGS["torch_options"].items() if k != "lm_steps"}
    if args.quick:
        torch_opts.update(adam_steps=500, max_iter=100)
    act = prob.teacher.activation
    net = MLP(X.shape[1], [(2 * w, act, True) for w in prob.teacher.hidden_sizes] + [(1, "identity", True)],
              backend="numpy")
    y_var = float(Y.var())
    # each finished student's row kept in --checkpoint as it finishes (two or three minutes each)
    path = None if args.checkpoint is None else Path(args.checkpoint) / "lm_students.json"
    # --threads too: the rows' seconds (what lm compares) move with it; rows timed under another thread count were
    # reported as this run's
    settings = settings_record({"problem": prob.name, "torch_options": torch_opts, "step_budget": steps,
                                "threads": args.threads})
    try:
        kept, stack = _KeptRows.entered(path, "identify-lm students", settings,
                                        "student", lambda r: "lm_rel_loss" in r, "--quick, --threads")
    except ValueError as exc:
        return fail(str(exc))
    interrupts = record_interrupts()
    with stack:
        try:
            for s in range(n_students):
                if s not in kept.parts:
                    kept.keep(_lm_student(s, net, X, Y, y_var, torch_opts, steps, interrupts))
        except KeyboardInterrupt:
            note(f"interrupted: {len(kept.parts)} of {n_students} students finished, printed and {kept.where()}; "
                 "--out is left unwritten", new_line_on_terminal=True)
            print_json({"benchmark": "identify-lm-polish", "interrupted": True,
                        "students": [kept.parts[i] for i in sorted(kept.parts)]}, indent=1)
            return 130
    rows = [kept.parts[i] for i in range(n_students)]
    out = {"benchmark": "identify-lm-polish", "env": _env(args), "problem": prob.name, "n_params": net.n_params,
           "student_widths": [2 * w for w in prob.teacher.hidden_sizes], "torch_options": torch_opts,
           "step_budget": steps, "students": rows}
    print_json(out, args.out, indent=1)  # written whole or not at all (open(.., "w") left it half-written)
    return 0


def _lm_student(s, net, X, Y, y_var, torch_opts, steps, interrupts) -> dict:
    """lm's row of student ``s``: torch's fit, then Levenberg-Marquardt and MINPACK from its end point."""
    from scipy.optimize import least_squares

    from neuroflow.flow.lm import mlp_least_squares
    from neuroflow.identify.students import torch_fit

    t0 = time.perf_counter()
    theta, loss, _, _ = torch_fit(net, net.init_params(seed=100 + s), X, Y, seed=100 + s, **torch_opts)
    t1 = time.perf_counter()
    ours = mlp_least_squares(net, theta, X, Y, max_iter=steps)
    t2 = time.perf_counter()
    mp = least_squares(lambda th: net.forward(th, X)[:, 0] - Y[:, 0], theta,
                       jac=lambda th: net.jacobian(th, X)[:, 0, :], method="lm", max_nfev=steps,
                       ftol=1e-15, xtol=1e-15, gtol=1e-15)
    t3 = time.perf_counter()
    if interrupts:  # a phase that caught Ctrl-C and returned early: not this student's row
        raise KeyboardInterrupt
    return {"student": s, "torch_rel_loss": loss / y_var, "torch_s": t1 - t0, "lm_rel_loss": ours.value / y_var,
            "lm_s": t2 - t1, "lm_steps": ours.iterations, "lm_stopped_by": ours.stopped_by,
            "minpack_rel_loss": float(net.loss(mp.x, X, Y)) / y_var, "minpack_s": t3 - t2,
            "minpack_evaluations": int(mp.nfev)}


if __name__ == "__main__":
    with ctrl_c_ends_in_one_line("interrupted"):  # what main() leaves uncaught (while parsing, say)
        sys.exit(main())
