"""Expand-and-Cluster end to end on a tiny teacher, bad input, reproducibility, Ctrl-C, and the
`neuroflow identify` CLI."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from neuroflow.identify import ExpandAndCluster, save_teacher
from neuroflow.identify.bench import without_timing
from neuroflow.identify.budgets import QUICK_STUDENT_OPTIONS as FAST
from neuroflow.identify.problems import make_problem, make_teacher


@pytest.fixture(scope="module")
def tiny():
    prob = make_problem(2, 2, "tanh", 300, seed=3)
    X = prob.probes()
    est = ExpandAndCluster(n_students=4, expansion=3, activation="tanh", hidden_sizes=2, seed=0,
                           train_options=FAST, loss_tol=1e-300)
    with pytest.warns(RuntimeWarning, match="did not reach low loss"):
        est.fit(X, prob.teacher(X))
    return prob, est


def test_tiny_teacher_is_recovered(tiny):
    prob, est = tiny
    rep = est.report(prob.teacher, seed=1)
    assert rep.layer_sizes == [2] and rep.exact_size
    assert rep.overhead_pct == [0.0]
    assert rep.max_angle_deg < 1.0
    assert rep.functional_rel_mse < 1e-8
    assert len(est.students_[0]) == 4 and est.failed_students_[0] == [0, 1, 2, 3]
    assert all(f.steps[0] <= FAST["maxiterations_ode"] and f.steps[1] <= FAST["maxiterations_optim"]
               for f in est.students_[0])
    d = rep.to_dict()
    json.dumps(d)
    assert d["layers"][0]["excess"] == 0
    X = prob.probes(50, seed=9)
    np.testing.assert_allclose(est.predict(X), prob.teacher(X), atol=1e-4)
    np.testing.assert_allclose(est.to_teacher()(X) + X @ np.zeros((2, 1)), est.predict(X))
    assert est.incoming(0).shape == (2, 3)


def test_width_search_grows_students_until_they_reach_the_floor():
    """No width given: students of width 2 cannot fit a 3-unit teacher, width 4 can; the search reports both
    and the reconstruction finds the 3 neurons. With max_width 2 the floor is never reached: a warning that
    says so, and the best result so far."""
    prob = make_problem(2, 3, "tanh", 400, seed=0)
    X = prob.probes()
    est = ExpandAndCluster(n_students=4, activation="tanh", depth=1, max_width=4, seed=0, train_options=FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        est.fit(X, prob.teacher(X))
    s = est.search_
    assert [st.width for st in s.steps] == [2, 4] and not s.steps[0].reached and s.steps[1].reached
    assert s.reached_floor and s.width == 4 and "chose 1 hidden layer(s) of 4 units" in s.message
    assert est.layer_sizes_ == [3] and est.report(prob.teacher).max_angle_deg < 1.0
    narrow = ExpandAndCluster(n_students=4, activation="tanh", depth=1, max_width=2, seed=0, train_options=FAST,
                              finetune=False)
    with pytest.warns(RuntimeWarning, match="no configuration reached the floor"):
        warnings.filterwarnings("ignore", message=".*did not reach low loss")
        narrow.fit(X, prob.teacher(X))
    assert not narrow.search_.reached_floor and narrow.search_.width == 2 and narrow.layer_sizes_


def test_expansion_grows_until_the_students_reach_the_floor():
    """A width guess too small for the teacher (2 for 3 units) at expansion 1: its students stall above the
    floor, so with max_expansion 2 they are retrained twice as wide (the same rule as the width search), which
    reach it; the reconstruction finds the 3 neurons. Without max_expansion nothing grows."""
    prob = make_problem(2, 3, "tanh", 400, seed=0)
    X = prob.probes()
    est = ExpandAndCluster(n_students=4, activation="tanh", hidden_sizes=[2], expansion=1, max_expansion=2, seed=0,
                           train_options=FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        est.fit(X, prob.teacher(X))
    s = est.search_
    assert [st.sizes for st in s.steps] == [(2,), (4,)] and not s.steps[0].reached and s.reached_floor
    assert est.expansion_ == 2 and "(2 x the guess [2])" in s.message
    assert est.layer_sizes_ == [3] and est.report(prob.teacher).max_angle_deg < 1.0
    fixed = ExpandAndCluster(n_students=4, activation="tanh", hidden_sizes=[2], expansion=1, seed=0,
                             train_options=FAST, finetune=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fixed.fit(X, prob.teacher(X))
    assert fixed.search_ is None and fixed.expansion_ == 1 and len(fixed.students_[0][0].theta) == 2 * 3 + 3
    with pytest.raises(ValueError, match=r"max_expansion: expected None \(no growth\) or a number >= expansion"):
        ExpandAndCluster(activation="tanh", hidden_sizes=[2], expansion=2, max_expansion=1).fit(X, prob.teacher(X))


def test_second_fit_clusters_the_students_at_the_floor():
    """A sigmoid 2-6-1 teacher at expansion 1: of four students, two stop in local minima (relative loss 1e-7)
    and their neurons leave the reduced net above the floor. With max_students 8 the fit is repeated: four
    more students are trained (too few had reached the floor), the three that reached it are clustered, and
    that net reaches rounding level; without max_students there is no second fit."""
    prob = make_problem(2, 6, "sigmoid", 400, seed=1)
    X = prob.probes()
    Y = prob.teacher(X)

    def fitted(**extra):
        est = ExpandAndCluster(n_students=4, activation="sigmoid", hidden_sizes=[6], expansion=1, seed=0,
                               train_options=FAST, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return est.fit(X, Y)

    once = fitted()
    assert once.retry_ is None and once.floor_students_ == [None] and len(once.students_[0]) == 4
    assert once.train_rel_mse_ > once.search_tol
    est = fitted(max_students=8)
    floor = 1e-10 * est.target_var_[0]
    students = est.students_[0]
    assert [f.index for f in students] == list(range(8))  # one id per student: they are clustered by it
    assert [f.theta.tolist() for f in students[:4]] == [f.theta.tolist() for f in once.students_[0]]
    at = [f.index for f in students if f.loss <= floor]
    assert len(at) >= 2 and est.floor_students_ == [{"trained": 8, "at_floor": at, "clustered": "students at the floor",
                                                  "probes": "given"}]
    assert est.retry_["kept"] == "second" and est.retry_["second_fit_floor_students"] == est.floor_students_
    assert est.retry_["rel_loss_first_fit"] == pytest.approx(once.train_rel_mse_, rel=1e-6)
    assert est.retry_["rel_loss_second_fit"] < 1e-20 and est.train_rel_mse_ < 1e-20
    rep = est.report(prob.teacher)
    assert rep.exact_size and rep.max_angle_deg < 1e-3
    with pytest.raises(ValueError, match=r"max_students: expected None \(no second fit\) or an integer >= n_students"):
        ExpandAndCluster(n_students=4, activation="tanh", max_students=3).fit(X, Y)


def _too_narrow_with_second_fit():
    """Four tanh students of width 2 (expansion 1, no fine-tune) fitted to a 2-3-1 teacher, max_students 8."""
    prob = make_problem(2, 3, "tanh", 400, seed=0)
    X = prob.probes()
    est = ExpandAndCluster(n_students=4, activation="tanh", hidden_sizes=[2], expansion=1, seed=0, train_options=FAST,
                           max_students=8, finetune=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return est.fit(X, prob.teacher(X))


def test_second_fit_that_does_no_better_leaves_the_first():
    """Students too narrow for the target (width 2 for 3 units) never reach the floor: the second fit trains up to
    max_students, clusters them all, does no better, and the first fit is kept as it was, with the second's
    record in retry_."""
    est = _too_narrow_with_second_fit()
    r = est.retry_
    assert r["kept"] == "first" and not r["rel_loss_second_fit"] < r["rel_loss_first_fit"]
    assert r["second_fit_floor_students"] == [{"trained": 8, "at_floor": [], "clustered": "all students",
                                          "probes": "given"}]
    assert len(est.students_[0]) == 4 and est.floor_students_ == [None]
    assert r["rel_loss_first_fit"] == pytest.approx(est.train_rel_mse_, rel=1e-12) and r["second_fit_error"] is None


def test_second_fit_that_fails_leaves_the_first(monkeypatch):
    """A second fit that ends in the estimator's RuntimeError (no neuron shared by enough of the few students at
    the floor) does not lose the first fit: it is kept, and retry_ says why the second has no loss."""
    def fails(self, layer, *args):
        raise RuntimeError(f"layer {layer}: no neuron was shared by 2 of 2 students")

    monkeypatch.setattr(ExpandAndCluster, "_students_at_floor", fails)
    est = _too_narrow_with_second_fit()
    r = est.retry_
    assert r["kept"] == "first" and r["rel_loss_second_fit"] == np.inf
    assert r["second_fit_error"] == "layer 0: no neuron was shared by 2 of 2 students"
    assert est.layer_sizes_ == [2] and len(est.students_[0]) == 4 and est.floor_students_ == [None]


def _searched(X, Y, **settings):
    """A tanh estimator with no width guess (4 students, widths up to 4, no fine-tune) fitted to X, Y."""
    est = ExpandAndCluster(n_students=4, activation="tanh", max_width=4, seed=0, train_options=FAST, finetune=False,
                           **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        est.fit(X, Y)
    return est


def test_width_search_reaches_the_floor_on_a_small_target():
    """The students' gradient stop scales with a small target's variance: the same teacher with outputs
    scaled by 1/100 reaches the floor at the same width (with the engine's absolute default, 1 of 4 students
    did, too few)."""
    prob = make_problem(2, 3, "tanh", 400, seed=0)
    X = prob.probes()
    est = _searched(X, 1e-2 * prob.teacher(X), depth=1)
    assert est.search_.reached_floor and est.search_.width == 4


class _Fit:
    def __init__(self, loss):
        self.loss = loss


def test_width_search_skips_students_with_more_parameters_than_equations():
    """A configuration whose students could fit any data is never trained; it is listed, and the message of a
    search that fails says so. Too few probes for any configuration is an error naming X."""
    from neuroflow.identify.search import search_sizes

    trained = []

    def train(sizes):
        trained.append((len(sizes), sizes[0]))
        return [_Fit(1e-3)] * 4

    def n_params(sizes):
        return 10 * sum(sizes)

    with pytest.warns(RuntimeWarning, match="not tried, having more parameters than the 100 probe outputs: 1x16, 2x8"):
        res, _ = search_sizes(train, [1, 2], [2, 4, 8, 16], need=2, floor=1e-10, y_var=1.0, n_params=n_params,
                              max_params=100)
    assert trained == [(1, 2), (1, 4), (1, 8), (2, 2), (2, 4)] and not res.reached_floor
    assert res.to_dict()["skipped"] == [[16], [8, 8], [16, 16]]
    with pytest.raises(ValueError, match=r"X: 15 probe outputs are fewer than the 20 parameters of the narrowest "
                                         r"student \(1 hidden layer\(s\) of 2 units\)"):
        search_sizes(train, [1], [2, 4], need=2, floor=1e-10, y_var=1.0, n_params=n_params, max_params=15)
    X = np.random.default_rng(0).normal(size=(8, 3))
    with pytest.raises(ValueError, match="X: 8 probe outputs are fewer than the 11 parameters"):
        ExpandAndCluster(activation="tanh", max_width=4, seed=0).fit(X, X[:, :1] ** 2)


def test_depth_search_picks_the_smallest_depth_that_reaches_the_floor():
    prob = make_problem(2, 2, "tanh", 300, seed=3)
    X = prob.probes()
    est = _searched(X, prob.teacher(X), max_depth=2)
    assert est.search_.depth == 1 and est.search_.reached_floor and {st.depth for st in est.search_.steps} == {1}


X20 = np.random.default_rng(0).normal(size=(20, 2))
Y20 = X20[:, :1] ** 2


@pytest.mark.parametrize("kwargs, match", [
    ({"n_students": 0}, "n_students"), ({"n_students": 2.5}, "n_students"), ({"n_students": True}, "n_students"),
    ({"expansion": 0.5}, "expansion"), ({"expansion": float("nan")}, "expansion"),
    ({"gamma": 0.0}, "gamma"), ({"gamma": 1.5}, "gamma"), ({"n_students": 3, "gamma": 0.5}, "gamma"),
    ({"beta": "tight"}, "beta"), ({"beta": 4.0}, "beta"),
    ({"clusterer": "kmeans"}, "clusterer"), ({"engine": "jax"}, "engine"),
    ({"train_options": "fast"}, "train_options"), ({"train_options": {"bogus": 1}}, "train_options"),
    ({"finetune_options": {"maxtime": 1}}, "finetune_options"),
    ({"torch_options": "fast"}, "torch_options"), ({"torch_options": {"bogus": 1}}, "torch_options"),
    ({"hidden_sizes": [3, 2], "torch_options": [{"adam_steps": 10}]}, "torch_options"),
    ({"n_jobs": 0}, "n_jobs"), ({"n_jobs": -2}, "n_jobs"), ({"backend": "cuda"}, "backend"),
    ({"seed": -1}, "seed"), ({"seed": "a"}, "seed"),
    ({"activation": "banana"}, "activation"), ({"activation": "identity"}, "activation"),
    ({"hidden_sizes": 0}, "hidden_sizes"), ({"hidden_sizes": []}, "hidden_sizes"),
    ({"hidden_sizes": [2, 0]}, "hidden_sizes"), ({"hidden_sizes": "3"}, "hidden_sizes"),
    ({"depth": 0}, "depth"), ({"max_width": 1}, "max_width"), ({"max_depth": 0}, "max_depth"),
    ({"search_tol": 0.0}, "search_tol"), ({"loss_tol": -1.0}, "loss_tol"), ({"prune_tol": 1.5}, "prune_tol"),
    ({"prune_tol_rel": 0.0}, "prune_tol_rel"),
    ({"finetune": "yes"}, "finetune"), ({"polish": 1}, "polish"), ({"prune": None}, "prune"),
    ({"progress": "no"}, "progress"),
    ({"layer_probes": 1.0}, "layer_probes"), ({"layer_probes": -0.1}, "layer_probes"),
    ({"layer_probes": True}, "layer_probes"), ({"scheduler": ""}, "scheduler"), ({"scheduler": 5}, "scheduler"),
])
def test_bad_estimator_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ExpandAndCluster(**kwargs).fit(X20, Y20)


def test_bad_fit_report_and_method_arguments_are_named(tmp_path, tiny):
    prob, est = tiny
    Xn = X20.copy()
    Xn[3, 1] = np.nan
    cases = [
        (lambda: ExpandAndCluster().fit(Xn, Y20), "X: expected finite"),
        (lambda: ExpandAndCluster().fit(X20, Y20[:5]), "Y: expected 20 rows"),
        (lambda: ExpandAndCluster().fit(X20, Y20, query="teacher"), "query: expected None or a callable"),
        (lambda: ExpandAndCluster(checkpoint=tmp_path / "f" / "x").fit(X20, Y20), "checkpoint"),
        (lambda: ExpandAndCluster().fit_teacher(lambda x: np.full((len(x), 1), np.nan), 2, 10), "f: the target"),
        (lambda: ExpandAndCluster().fit_teacher("teacher", 2, 10), "f: expected a callable"),
        (lambda: ExpandAndCluster().fit_teacher(prob.teacher, 0, 10), "input_dim"),
        (lambda: ExpandAndCluster().fit_teacher(prob.teacher, 2, 0), "n_samples"),
        (lambda: ExpandAndCluster().fit_teacher(prob.teacher, 2, 10**30), "n_samples: this run needs about"),
        (lambda: ExpandAndCluster().fit_teacher(prob.teacher, 2, 10, probe_scale=-1.0), "probe_scale"),
        (lambda: ExpandAndCluster().predict(X20), "not fitted"),
        (lambda: est.report("teacher"), "teacher: expected"),
        (lambda: est.report(prob.teacher, match_tol_deg=0.0), "match_tol_deg"),
        (lambda: est.report(prob.teacher, n_test=0), "n_test"),
        (lambda: est.incoming(1), "layer: expected an integer in \\[0, 0\\]"),
        (lambda: est.predict(np.ones((3, 5))), "X: expected shape"),
    ]
    (tmp_path / "f").write_text("")
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()


# ---------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def teacher_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("teacher") / "t.npz"
    save_teacher(make_teacher(2, 2, "tanh", seed=4), path)
    return path


def test_cli_run_is_reproducible_and_resumes(tmp_path, capsys, teacher_file):
    from neuroflow.cli import main

    plot = tmp_path / "w.png"
    run = ["identify", "run", "--teacher", str(teacher_file), "--n-samples", "300", "--n-students", "4",
           "--expansion", "3", "--width", "teacher", "--student-steps", "1000", "--seed", "0", "--json", "--quiet"]
    assert main(run + ["--checkpoint", str(tmp_path / "ck"), "--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(list((tmp_path / "ck").glob("students_layer0_*.npz"))) == 1
    assert main(run) == 0  # the same seed: the same JSON, timing aside
    again = json.loads(capsys.readouterr().out)
    out.pop("plot")
    assert without_timing(again) == without_timing(out)
    assert main(run + ["--checkpoint", str(tmp_path / "ck")]) == 0  # resumed from the saved students
    assert without_timing(json.loads(capsys.readouterr().out)) == without_timing(out)
    assert out["interrupted"] is False and out["teacher_sizes"] == [2] and out["layer_sizes"] == [2]
    assert out["functional_rel_mse"] < 1e-8 and out["width_search"] is None and out["designed_probes"] == 0
    assert out["clusters"][0]["beta_rule"] in ("gap", "no gap", "gap rejected")
    assert all(s["steps"][0] <= 1000 for s in out["students"][0])
    assert plot.is_file()


def test_cli_run_without_width_searches(capsys, teacher_file):
    from neuroflow.cli import main

    assert main(["identify", "run", "--teacher", str(teacher_file), "--n-samples", "300", "--n-students", "4",
                 "--depth", "1", "--max-width", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "width search: chose 1 hidden layer(s) of" in out and "recovered [2]" in out


@pytest.mark.filterwarnings("ignore:layer 0. 4 of 4 students did not reach low loss:RuntimeWarning")
def test_cli_run_second_fit_on_students_at_the_floor(capsys, teacher_file):
    """Students of width 1 cannot fit the 2-unit teacher: the first fit misses the floor, --max-students runs the
    second, which finds no student at the floor either; the JSON and the text say so."""
    from neuroflow.cli import main

    run = ["identify", "run", "--teacher", str(teacher_file), "--n-samples", "200", "--n-students", "4",
           "--width", "1", "--expansion", "1", "--student-steps", "300", "--max-students", "8", "--quiet"]
    assert main(run + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["retry"]["second_fit_floor_students"] == [{"trained": 8, "at_floor": [], "clustered": "all students",
                                                          "probes": "given"}]
    assert out["retry"]["kept"] in ("first", "second") and out["retry"]["second_fit_error"] is None
    assert len(out["students"][0]) == (4 if out["retry"]["kept"] == "first" else 8)
    assert main(run) == 0
    assert "second fit on the students at the floor: relative loss" in capsys.readouterr().out
    assert out["recut"] is None  # not asked for
    assert main(run + ["--recut", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["recut"]["kept"] in ("first", "second") and len(out["recut"]["cut_deg"]) == 2
    assert main(run + ["--recut"]) == 0
    assert "last hidden layer" in capsys.readouterr().out


def test_cli_make_teacher_and_bad_teacher_file(tmp_path, capsys):
    from neuroflow.cli import main

    path = tmp_path / "t.npz"
    assert main(["identify", "make-teacher", "--out", str(path), "--input-dim", "2", "--width", "2", "--seed", "4",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sizes"] == [2, 2, 1]
    bad = tmp_path / "bad.npz"
    np.savez(bad, activation="tanh", weight_0=np.ones((3, 2)), weight_1=np.ones((1, 4)))
    assert main(["identify", "run", "--teacher", str(bad), "--n-samples", "10"]) == 2
    assert "weight_1" in capsys.readouterr().err
    assert main(["identify", "run", "--teacher", str(path), "--n-samples", "10", "--width", "teacher", "3"]) == 2
    assert '--width: "teacher" stands alone' in capsys.readouterr().err
    assert main(["identify", "run", "--teacher", str(path), "--n-samples", "10", "--width", "2", "--expansion", "4",
                 "--max-expansion", "2"]) == 2
    err = capsys.readouterr().err
    assert "--max-expansion: expected a number >= --expansion (4), got 2" in err and len(err.strip().splitlines()) == 1
    assert main(["identify", "run", "--teacher", str(path), "--n-samples", "10", "--n-students", "6",
                 "--max-students", "4"]) == 2
    err = capsys.readouterr().err
    assert "--max-students: expected an integer >= --n-students (6), got 4" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exit_:
        main(["identify", "run", "--teacher", str(path), "--n-samples", "10", "--refine-rounds", "-1"])
    assert exit_.value.code == 2
    assert "argument --refine-rounds: expected an integer >= 0, got '-1'" in capsys.readouterr().err


def test_cli_student_lm_steps_reach_the_torch_students(capsys, teacher_file):
    import json

    from neuroflow.cli import main

    argv = ["identify", "run", "--teacher", str(teacher_file), "--n-samples", "200", "--n-students", "4",
            "--engine", "torch", "--student-steps", "200", "--student-iterations", "20", "--student-lm-steps", "30",
            "--json", "--quiet"]
    assert main(argv) == 0
    students = json.loads(capsys.readouterr().out)["students"][0]
    assert all("+lm:" in s["stopped_by"] and 0 < s["steps"][2] <= 30 for s in students)


def _bad_flag_rows():
    rows = {
        "run": [("--n-samples", "0"), ("--n-samples", "abc"), ("--n-samples", "nan"), ("--n-students", "1"),
                ("--expansion", "0.5"), ("--expansion", "inf"), ("--width", "0"), ("--width", "wide"),
                ("--depth", "0"), ("--max-width", "1"), ("--max-depth", "0"), ("--gamma", "0"), ("--gamma", "1.5"),
                ("--gamma", "nan"), ("--beta-deg", "0"), ("--beta-deg", "200"), ("--beta-deg", "tight"),
                ("--clusterer", "kmeans"), ("--engine", "jax"), ("--student-steps", "0"),
                ("--student-iterations", "-1"), ("--student-lm-steps", "-1"), ("--n-jobs", "0"), ("--n-jobs", "-2"), ("--scheduler", "nohost"),
                ("--scheduler", "tcp://h:99999"), ("--checkpoint", "FILE"), ("--checkpoint", "FILE/sub"),
                ("--layer-probes", "1.5"), ("--layer-probes", "-0.1"), ("--plot", "DIR"), ("--plot", "x.txt"),
                ("--plot", "FILE/x.png"), ("--seed", "-1"), ("--teacher", "missing.npz"), ("--teacher", "DIR")],
        "bench": [("--suite", "huge"), ("--n-problems", "0"), ("--n-problems", "-3"), ("--width", "4"),
                  ("--out", "DIR"), ("--out", "rows.txt"), ("--out", "FILE/rows.jsonl"), ("--n-jobs", "0"),
                  ("--scheduler", ":8786"), ("--plot", "DIR"), ("--seed", "x"), ("--checkpoint", "FILE"),
                  ("--checkpoint", "FILE/sub")],
        "make-teacher": [("--out", "DIR"), ("--out", "FILE/t.npz"), ("--out", "t.txt"), ("--input-dim", "0"),
                         ("--width", "-1"), ("--activation", "identity"), ("--weight-scale", "0"),
                         ("--weight-scale", "nan"), ("--alignment", "1"), ("--seed", "1.5")],
    }
    return [(verb, flag, value) for verb, items in rows.items() for flag, value in items]


@pytest.mark.parametrize("verb, flag, value", _bad_flag_rows())
def test_bad_flags_end_in_one_line_naming_the_flag(verb, flag, value, tmp_path, capsys, teacher_file):
    from neuroflow.cli import main

    (tmp_path / "DIR").mkdir()
    (tmp_path / "FILE").write_text("")
    if value.split("/")[0] in ("DIR", "FILE") or value.endswith((".txt", ".npz")):
        value = str(tmp_path / value)
    base = {"run": ["--teacher", str(teacher_file), "--n-samples", "10"], "bench": [],
            "make-teacher": ["--out", str(tmp_path / "t.npz")]}[verb]
    if flag in base:
        i = base.index(flag)
        base = base[:i] + base[i + 2:]
    argv = ["identify", verb] + base
    with pytest.raises(SystemExit) as exc:
        main(argv + [flag, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"argument {flag}" in err, err


def test_bench_is_resumable_and_keeps_finished_rows_on_ctrl_c(tmp_path, capsys, monkeypatch):
    """Ctrl-C during the second problem: exit 130, the first row kept in --out (and its students in its
    --checkpoint subfolder), none for the second, the JSON flagged; a rerun skips the finished row."""
    import neuroflow.identify.bench as B
    from neuroflow.cli import main

    real, calls = B.run_problem, []

    def interrupted_second(problem, **kwargs):
        calls.append(problem.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(problem, **kwargs)

    monkeypatch.setattr(B, "run_problem", interrupted_second)
    out = tmp_path / "rows.jsonl"
    argv = ["identify", "bench", "--suite", "quick", "--n-problems", "2", "--out", str(out), "--json", "--quiet",
            "--checkpoint", str(tmp_path / "ck")]
    assert main(argv) == 130
    payload = json.loads(capsys.readouterr().out)
    assert payload["interrupted"] is True and payload["n_finished"] == 1 and payload["n_problems"] == 2
    assert [json.loads(line)["name"] for line in out.read_text().splitlines()] == [calls[0]]
    assert [p.parent.name for p in (tmp_path / "ck").glob("*/*.npz")] == [calls[0]]
    calls.clear()
    monkeypatch.setattr(B, "run_problem", lambda p, **kw: (calls.append(p.name), real(p, **kw))[1])
    assert main(argv) == 0
    assert len(calls) == 1 and json.loads(capsys.readouterr().out)["n_finished"] == 2


def test_ctrl_c_stops_run_promptly_and_keeps_finished_students(tmp_path, interruptible_popen):
    """SIGINT once the first student is on disk: exit 130 within seconds, the JSON says interrupted and how
    many students finished, the checkpoint holds exactly those, and none of them was cut short."""
    from types import SimpleNamespace

    teacher = tmp_path / "t.npz"
    save_teacher(make_teacher(3, 4, "tanh", seed=1), teacher)
    ck = tmp_path / "ck"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "python"), OMP_NUM_THREADS="1")
    argv = [sys.executable, "-m", "neuroflow", "identify", "run", "--teacher", str(teacher), "--n-samples", "2000",
            "--n-students", "40", "--width", "teacher", "--checkpoint", str(ck), "--json", "--quiet"]
    proc = interruptible_popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not list(ck.glob("*.npz")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before the first student was saved"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    finally:  # a run that ignores the signal must not go on eating a core under the rest of the suite
        proc.kill()
    waited = time.monotonic() - sent
    assert proc.returncode == 130, stderr
    assert waited < 15, f"took {waited:.1f} s to stop"  # it used to run on for 20-40 s
    payload = json.loads(stdout)
    assert payload["interrupted"] is True
    (saved_file,) = ck.glob("*.npz")
    with np.load(saved_file) as data:
        saved = {f["index"]: SimpleNamespace(**f) for f in json.loads(str(data["meta"][()]))["fits"]}
    assert 1 <= len(saved) == sum(payload["finished_students"]) < 40
    assert all("interrupted" not in f.stopped_by for f in saved.values())
