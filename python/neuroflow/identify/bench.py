"""Running Expand-and-Cluster over a problem suite: one row per problem, written as it finishes
(JSON lines, resumable), and a summary against the targets.

Problems run through :func:`neuroflow.parallel.parallel_map` (``n_jobs`` local processes or a Dask
``scheduler``); each takes its randomness from its own seed, so a row is the same wherever it ran. A row is
written only when its problem finished: Ctrl-C (``KeyboardInterrupt``) leaves the file with the finished rows
and no partial one, and a rerun skips them.
"""
from __future__ import annotations

import contextlib
import json
import math
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from neuroflow._utils import (JSONContentError, check_positive, check_seed, differing_keys, dumps, is_integer,
                              is_number, loads_json, lock_beside)
from neuroflow.identify.budgets import BENCH_STUDENT_OPTIONS
from neuroflow.identify.problems import Problem

#: estimator settings used by the suites (short step budgets: many problems); a problem's own ``settings``
#: and the caller's are merged over them. "width": "teacher" (the guess is the teacher's widths) or
#: "search" (no guess: depth and widths searched, see :mod:`neuroflow.identify.search`)
BENCH_SETTINGS = {"n_students": 8, "expansion": 4, "gamma": 0.5, "beta": "auto", "width": "teacher",
                  "train_options": BENCH_STUDENT_OPTIONS}


def problem_settings(problem: Problem, settings: dict | None = None) -> dict:
    """The estimator settings a problem runs with (``BENCH_SETTINGS``, the problem's, then ``settings``)."""
    return {**BENCH_SETTINGS, **problem.settings, **(settings or {})}


def settings_record(settings: dict) -> dict:
    """The estimator settings a row was computed with, as JSON values a rerun can compare (numbers as floats, so
    ``expansion`` 4 and 4.0 agree; tuples as lists); ``width`` (the row's ``width_guess``) and ``checkpoint`` (where
    students are kept, not what they are) left out."""
    def plain(v):
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
        if isinstance(v, (list, tuple, np.ndarray)):
            return [plain(x) for x in v]
        if isinstance(v, (bool, np.bool_)) or v is None or isinstance(v, str):
            return v if not isinstance(v, np.bool_) else bool(v)
        if is_number(v):
            return float(v) if math.isfinite(float(v)) else repr(float(v))
        return repr(v)

    return plain({k: v for k, v in settings.items() if k not in ("width", "checkpoint")})


def run_problem(problem: Problem, *, seed: int = 0, settings: dict | None = None, n_jobs: int = 1,
                checkpoint=None) -> dict:
    """Identify one problem (the teacher answers designed probes for a deep net's later layers); returns a
    JSON-ready row (with ``error`` set if the run failed; ``KeyboardInterrupt``, and ``OSError`` or ``MemoryError``,
    the machine's failures rather than the problem's, are not caught, so no row claims the problem done). With
    ``checkpoint`` (a folder), the problem's finished students are kept in its subfolder named after the
    problem, and a rerun loads them (:mod:`.checkpoint`)."""
    from neuroflow.identify.checkpoint import CheckpointBusy
    from neuroflow.identify.estimator import ExpandAndCluster

    settings = problem_settings(problem, settings)
    record = settings_record(settings)
    if checkpoint is not None:
        settings["checkpoint"] = str(Path(checkpoint) / problem.name)
    width = settings.pop("width")
    row = problem.to_dict()
    row["teacher_sizes"] = problem.teacher.hidden_sizes
    row["width_guess"] = width
    row["run_seed"] = seed  # with width_guess: what a rerun appending to the same file must share (run_suite)
    row["run_settings"] = record   # ... and the rest of the settings
    t0 = time.perf_counter()
    try:
        X = problem.probes()
        Y = problem.teacher(X)
        guess = problem.teacher.hidden_sizes if width == "teacher" else None
        est = ExpandAndCluster(activation=problem.teacher.activation, hidden_sizes=guess, seed=seed, n_jobs=n_jobs,
                               backend="numpy", **settings)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.fit(X, Y, query=problem.teacher)
        rep = est.report(problem.teacher, X_test=problem.probes(n=2000, seed=problem.seed + 12345))
        losses = [f.loss for fits in est.students_ for f in fits]
        row.update(rep.to_dict())
        row.pop("layers", None)
        row.update({
            "cluster_sizes": est.cluster_sizes_, "n_pruned": len(est.pruned_), "timings": est.timings_,
            "beta_deg": [c.beta_deg for c in est.clusters_], "beta_rule": [c.beta_rule for c in est.clusters_],
            "gap_check": [c.gap_check for c in est.clusters_],
            "cluster_spreads_deg": [np.round(np.sort(c.candidate_spreads_deg), 8).tolist() for c in est.clusters_],
            "polish": None if est.polish_ is None else {"optim_stopped_by": est.polish_.optim_stopped_by,
                                                        "loss": float(est.polish_.loss)},
            "all_matched_within_1deg": bool(rep.exact_size and rep.max_angle_deg <= 1.0),
            "max_min_angle_deg": max(l.to_dict()["max_min_angle_deg"] for l in rep.layers),
            "student_loss_median": float(np.median(losses)), "student_loss_max": float(np.max(losses)),
            "n_failed_students": int(sum(len(f) for f in est.failed_students_)),
            "finetune_loss": None if est.finetune_ is None else float(est.finetune_.loss),
            "width_search": None if est.search_ is None else est.search_.to_dict(), "expansion": est.expansion_,
            "inner_selection": est.selection_, "designed_probes": est.designed_probes_,
            "floor_students": est.floor_students_, "retry": est.retry_, "refined": est.refined_,
            "recut": est.recut_,
            "student_steps": [[list(f.steps) for f in fits] for fits in est.students_],
            "student_stopped_by": [[f.stopped_by for f in fits] for fits in est.students_],
            "warnings": [str(w.message)[:200] for w in caught], "error": None,
        })
    except (OSError, MemoryError, CheckpointBusy):
        # the machine's failure, not the problem's (a full disk under the checkpoint, memory, another run writing the
        # problem's students): a row saying so was kept as done, and a rerun after freeing the disk skipped the
        # problem; the run ends instead, its rows kept
        raise
    except Exception as exc:  # a failed problem is a row too; the suite goes on
        row.update({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-2000:],
                    "exact_size": False})
    row["time_s"] = time.perf_counter() - t0
    return row


def without_timing(payload):
    """``payload`` (nested dicts and lists) without its wall-clock fields (``time_s``, ``timings``): what two
    runs with one seed must agree on exactly."""
    if isinstance(payload, dict):
        return {k: without_timing(v) for k, v in payload.items() if k not in ("time_s", "timings")}
    if isinstance(payload, list):
        return [without_timing(v) for v in payload]
    return payload


def _number(value, *, none: bool = False) -> bool:
    """``value`` is a number (``none``: or null, what a NaN is written as); numpy's too (a row before JSON)."""
    return (none and value is None) or is_number(value)


def _flag(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def _sizes(value, low: int) -> bool:
    return isinstance(value, list) and all(is_integer(v) and v >= low for v in value)


def _overheads(value) -> bool:
    """Per-layer overheads: numbers, or "inf" where a layer the teacher lacks was recovered (never NaN)."""
    if not isinstance(value, list) or not value:
        return False
    try:
        return all(isinstance(o, (int, float, str, np.integer, np.floating)) and not isinstance(o, bool)
                   and float(o) == float(o) for o in value)
    except (ValueError, OverflowError):
        return False


#: what :func:`summarize` and the CLI read of every finished row (no ``error``): field -> check
_FINISHED_FIELDS = {"time_s": _number, "difficulty": _number, "exact_size": _flag,
                    "overhead_pct": _overheads, "functional_rel_mse": lambda v: _number(v, none=True),
                    "teacher_sizes": lambda v: _sizes(v, 1) and bool(v)}
#: ... and of a finished row of the exact size
_EXACT_FIELDS = {"max_angle_deg": lambda v: _number(v, none=True),
                 "all_matched_within_1deg": _flag}
#: fields a row may lack (a failed problem's row: only its name and error are sure), checked where present
_OPTIONAL_FIELDS = {"time_s": _number, "difficulty": _number, "exact_size": _flag,
                    "teacher_sizes": lambda v: _sizes(v, 1), "cluster_sizes": lambda v: _sizes(v, 0),
                    "missing": _number}


def _row_problem(row) -> str | None:
    """What in a suite row no :func:`run_problem` writes (None: nothing): a finished row (``error`` null or
    absent) must hold every field :func:`summarize` reads, a failed one (``error`` a message) its name and error;
    fields present are of the types :func:`run_problem` writes."""
    if not isinstance(row, dict) or not isinstance(row.get("name"), str):
        return "not a row (an object with a name)"
    error = row.get("error")
    if error is not None and not (isinstance(error, str) and error):
        return "error: expected null or a message"
    need = {} if error else {**_FINISHED_FIELDS, **(_EXACT_FIELDS if row.get("exact_size") else {})}
    missing = [k for k in need if k not in row]
    if missing:
        return f"a finished row without {', '.join(missing)}"
    wrong = [k for k, ok in {**_OPTIONAL_FIELDS, **need}.items() if k in row and not ok(row[k])]
    if wrong:
        return f"{', '.join(wrong)} of the wrong type"
    return None


#: how every row starts (:func:`run_problem`'s row opens with the problem's name): a line that does not parse
#: but starts so (or is cut before that) was cut short by an interrupted run
_ROW_START = '{"name": '


def read_rows(path) -> list[dict]:
    """The rows of a suite's .jsonl file, one JSON object per line. A line cut short by an interrupted run is
    skipped; so is a row that lacks fields or holds what no run writes, after a warning naming its line (its
    problem runs again). ValueError when the file is not a rows file: not text, a line that is neither JSON nor a
    row cut short, no line that is a row, or named objects none of which is a row (another program's JSON lines)."""
    path = Path(path)
    if path.exists() and not path.is_file():   # a folder read as no rows at all: a fresh start, silently
        raise ValueError(f"{path}: is not a rows file (a folder or another non-file); use another --out")
    if not path.is_file():
        return []
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a rows file (JSON lines); use another --out or delete it") from None
    rows, rowlike, skipped = [], 0, []
    for i, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            row = loads_json(line)
        except JSONContentError as exc:
            raise ValueError(f"{path}: line {i} {exc}; use another --out or delete it") from None
        except (json.JSONDecodeError, RecursionError):
            if line.startswith(_ROW_START) or _ROW_START.startswith(line):   # cut short by an interrupted run
                rowlike += 1
                continue
            raise ValueError(f"{path}: not a rows file of `identify bench` (line {i} is not JSON); use another "
                             "--out or delete it") from None
        problem = _row_problem(row)
        rowlike += isinstance(row, dict) and isinstance(row.get("name"), str)
        if problem:
            skipped.append((i, problem))
            continue
        rows.append(row)
    if text.strip() and not rowlike:
        raise ValueError(f"{path}: not a rows file of `identify bench` (none of its lines is a row); use another "
                         "--out or delete it")
    if skipped and not rows:
        # objects with a name but none a row (another program's JSON lines): a warning per line, thousands of them,
        # and then this run's rows appended to that program's file
        i, problem = skipped[0]
        raise ValueError(f"{path}: not a rows file of `identify bench` (none of its {len(skipped)} objects is a row "
                         f"a run writes; line {i}: {problem}); use another --out or delete it")
    for i, problem in skipped:
        warnings.warn(f"{path}:{i}: {problem}; skipped", stacklevel=2)
    return rows


#: what :func:`run_problem` sets itself, never from ``settings``
_OWN_SETTINGS = ("activation", "hidden_sizes", "seed", "n_jobs", "backend")


def _check_suite_run(problems, settings, seed, out, checkpoint, rows) -> None:
    """ValueError naming the first argument of :func:`run_suite` that no problem can run with, before any runs: a
    setting of no use made every problem a failed row (written to ``out``, where a rerun skipped them), and an
    ``out`` that is a folder failed once the first problem had finished."""
    import inspect

    from neuroflow.cliutil import check_output_dir, check_output_file
    from neuroflow.identify.estimator import ExpandAndCluster

    if not isinstance(problems, (list, tuple)) or not all(isinstance(p, Problem) for p in problems):
        got = type(problems).__name__ if not isinstance(problems, (list, tuple)) else \
            f"a {type(next(p for p in problems if not isinstance(p, Problem))).__name__} among them"
        raise ValueError(f"problems: expected a list of neuroflow.identify.problems.Problem, got {got}")
    names = [p.name for p in problems]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # rows are matched to problems by name (the file's rows, the order of the result)
        raise ValueError(f"problems: two or more problems are named {twice[0]!r}; rows are matched to problems by "
                         "name: give each its own")
    check_seed(seed)  # a row records it (run_seed): a Generator or None is no number to rerun
    if settings is not None and not isinstance(settings, dict):
        raise ValueError(f"settings: expected None or a dict of ExpandAndCluster settings, got "
                         f"{type(settings).__name__}")
    if checkpoint is not None:
        check_output_dir(checkpoint, "checkpoint")
    allowed = set(inspect.signature(ExpandAndCluster).parameters) - set(_OWN_SETTINGS)
    unknown = sorted(set(settings or {}) - allowed - {"width"}, key=str)
    if unknown:
        raise ValueError(f"settings: {', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not a "
                         f"setting a suite run takes; expected some of {sorted(allowed | {'width'})}")
    for p in problems:
        merged = problem_settings(p, settings)
        if merged.get("width") not in ("teacher", "search"):
            raise ValueError(f"settings width: expected 'teacher' or 'search', got {merged.get('width')!r}")
        est = ExpandAndCluster(activation=p.teacher.activation, seed=seed, backend="numpy",
                               **{k: v for k, v in merged.items() if k not in ("width", "checkpoint")})
        try:
            est._check_params()
        except ValueError as exc:
            raise ValueError(f"settings {exc}") from None
        # the folder of this problem's students (a file there made the problem a failed row, kept as done)
        folder = Path(checkpoint) / p.name if checkpoint is not None else merged.get("checkpoint")
        if folder is not None:
            check_output_dir(folder, "checkpoint")
    if out is not None:
        check_output_file(out, "out")
    if rows is not None and not isinstance(rows, list):
        raise ValueError(f"rows: expected None or a list to fill with the rows, got {type(rows).__name__}")


def run_suite(problems: list[Problem], *, out=None, n_jobs: int = 1, scheduler: str | None = None, seed: int = 0,
              settings: dict | None = None, progress: bool = True, rows: list | None = None,
              checkpoint=None) -> list[dict]:
    """Run every problem (``n_jobs`` at a time, or on a Dask ``scheduler``) and return the rows in the
    problems' order. With ``out`` (a .jsonl path) each row is appended as soon as it is collected, and
    problems already in the file are skipped. ``rows`` (a list), if given, is filled as rows come in, so a
    caller still holds the finished ones when ``KeyboardInterrupt`` ends the run. ``checkpoint`` (a folder):
    every problem's finished students too (:func:`run_problem`), so a problem cut short resumes student by
    student (the workers must see the folder). Every argument is checked before any problem runs (ValueError
    naming it): the problems (a list, one name each), ``settings`` (ExpandAndCluster's, for every problem),
    ``seed`` (a non-negative integer), ``out``, ``checkpoint`` and ``rows``."""
    from neuroflow._utils import progress as bar
    from neuroflow.parallel import parallel_map

    _check_suite_run(problems, settings, seed, out, checkpoint, rows)
    with contextlib.ExitStack() as stack:
        if out is not None:   # two runs appending to one file ran the same problems twice, rows interleaved
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(lock_beside(out, f"out: {out} is being written by another suite run (pid {{pid}}); "
                                                 "wait for it to end or use another --out"))
        rows = [] if rows is None else rows
        done = {r["name"]: r for r in read_rows(out)} if out is not None else {}
        for p in problems:  # a row of the same problem run otherwise must not stand in for this run's
            r = done.get(p.name)
            if r is None:
                continue
            for field, now in (("width_guess", problem_settings(p, settings)["width"]), ("run_seed", seed)):
                if field in r and r[field] != now:
                    raise ValueError(f"{out}: its row of {p.name} was computed with {field} {r[field]!r}, this run has "
                                     f"{now!r} (--width / --seed); use another --out or delete it")
            now = settings_record(problem_settings(p, settings))
            then = r.get("run_settings", now)   # (rows written before settings were recorded: width and seed only)
            if then != now:   # other settings (another clusterer, beta, n_students...) were taken as this run's rows
                keys = differing_keys(then, now) if isinstance(then, dict) else ["run_settings"]
                diff = ", ".join(f"{k} {then.get(k, '(unset)')!r} against {now.get(k, '(unset)')!r}"
                                 if isinstance(then, dict) else f"{k} {then!r}" for k in keys)
                raise ValueError(f"{out}: its row of {p.name} was computed with other settings than this run's "
                                 f"({diff}); use another --out or delete it")
        rows.extend(done[p.name] for p in problems if p.name in done)
        todo = [p for p in problems if p.name not in done]
        if out is not None:
            if Path(out).is_file() and Path(out).stat().st_size and not Path(out).read_bytes().endswith(b"\n"):
                with open(out, "a") as fh:  # a line cut short by an interrupt: the next row starts on its own line
                    fh.write("\n")
        with bar(total=len(todo), enabled=progress, desc="problems", unit="problem") as pbar:
            def collected(_, row):
                if out is not None:
                    try:
                        with open(out, "a") as fh:
                            fh.write(dumps(row) + "\n")
                    except OSError as exc:  # a full disk said "[Errno 28] No space left on device", naming no file
                        raise OSError(exc.errno, f"{exc.strerror or exc} (writing a row of {row['name']})",
                                      str(out)) from None
                # among the finished rows once --out holds it: Ctrl-C mid-write left it there, said to be kept
                rows.append(row)
                pbar.update(1)

            parallel_map(run_problem, [((p,), {"seed": seed, "settings": settings, "checkpoint": checkpoint})
                                        for p in todo], n_jobs=n_jobs,
                         scheduler=scheduler, on_result=collected)
        order = {p.name: i for i, p in enumerate(problems)}
        rows.sort(key=lambda r: order.get(r["name"], 10**9))
        return rows


def summarize(rows: list[dict], n_bins: int = 5) -> dict:
    """Rates against the targets, and success along the difficulty axis (``n_bins`` equal-count bins)."""
    check_positive(n_bins, "n_bins", integer=True)   # -1 gave no bins, silently; 1.5 a TypeError once rows had any
    if isinstance(rows, (str, bytes, dict)) or not isinstance(rows, (list, tuple)):
        raise ValueError(f"rows: expected a list of suite rows, got {type(rows).__name__}")
    n = len(rows)
    if n == 0:
        return {"n_problems": 0}
    for i, r in enumerate(rows):
        problem = _row_problem(r)
        if problem:
            name = f" ({r['name']})" if isinstance(r, dict) and isinstance(r.get("name"), str) else ""
            raise ValueError(f"rows[{i}]{name}: {problem}")
    ok = [r for r in rows if not r.get("error")]
    exact = [r for r in ok if r.get("exact_size")]
    # overheads as floats: a layer the teacher lacks is "inf" in JSON
    over = [max(float(o) for o in r["overhead_pct"]) for r in ok]
    times = [r["time_s"] for r in rows if "time_s" in r]   # a failed problem's row may lack it
    recovered = [r for r in ok if all(float(o) <= 10.0 + 1e-9 for o in r["overhead_pct"])
                 and r.get("missing", 0) == 0]
    cluster_over = [100.0 * (c - t) / t for r in ok for c, t in zip(r.get("cluster_sizes", []), r["teacher_sizes"])]
    summary = {
        "n_problems": n, "n_errors": n - len(ok),
        "exact_size_rate": len(exact) / n,
        "overhead_le_10pct_rate": sum(o <= 10.0 + 1e-9 for o in over) / n,
        "mean_overhead_pct": float(np.mean(over)) if over else None,
        "max_overhead_pct": float(np.max(over)) if over else None,
        "within_1deg_rate_of_exact": (sum(r["all_matched_within_1deg"] for r in exact) / len(exact)) if exact else None,
        "rel_mse_le_1e-8_rate": sum((r["functional_rel_mse"] or 1.0) <= 1e-8 for r in ok) / n,
        "rel_mse_le_1e-8_rate_of_exact": (sum((r["functional_rel_mse"] or 1.0) <= 1e-8 for r in exact) / len(exact))
        if exact else None,
        "median_max_angle_deg_of_exact": float(np.median([np.nan if r["max_angle_deg"] is None else r["max_angle_deg"]
                                                          for r in exact])) if exact else None,
        "median_time_s": float(np.median(times)) if times else None,
        "total_time_s": float(np.sum(times)),
        "recovered_rate": len(recovered) / n,
        # the clustering rule alone (before least-squares elimination / pruning of the reduced net)
        "cluster_exact_size_rate": sum(r.get("cluster_sizes") == r.get("teacher_sizes") for r in ok) / n,
        "cluster_mean_overhead_pct": float(np.mean(cluster_over)) if cluster_over else None,
    }
    by_act = {}
    for r in rows:
        a = r.get("activation", "?")
        by_act.setdefault(a, []).append(bool(r.get("exact_size")))
    summary["exact_size_rate_by_activation"] = {a: float(np.mean(v)) for a, v in sorted(by_act.items())}
    placed = [r for r in rows if "difficulty" in r]   # a failed problem's row may lack it
    diff = np.array([r["difficulty"] for r in placed], dtype=float)
    edges = np.quantile(diff, np.linspace(0, 1, n_bins + 1)) if placed else []
    bins = []
    for i in range(n_bins if placed else 0):
        lo, hi = edges[i], edges[i + 1]
        sel = [r for r, d in zip(placed, diff) if (lo <= d <= hi if i == n_bins - 1 else lo <= d < hi)]
        if sel:
            bins.append({"difficulty_lo": float(lo), "difficulty_hi": float(hi), "n": len(sel),
                         "exact_size_rate": float(np.mean([bool(r.get("exact_size")) for r in sel]))})
    summary["difficulty_bins"] = bins
    return summary
