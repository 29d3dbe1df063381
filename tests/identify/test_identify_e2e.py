"""Expand-and-Cluster end to end on a tiny teacher, bad input, and the `neuroflow identify` CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from neuroflow.identify import ExpandAndCluster, save_teacher
from neuroflow.identify.problems import make_problem

FAST = {"maxtime_ode": 1.0, "maxtime_optim": 2.0}


@pytest.fixture(scope="module")
def tiny():
    prob = make_problem(2, 2, "tanh", 300, seed=3)
    X = prob.probes()
    est = ExpandAndCluster(n_students=4, expansion=3, activation="tanh", hidden_sizes=2, random_state=0,
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
    d = rep.to_dict()
    json.dumps(d)
    assert d["layers"][0]["excess"] == 0
    X = prob.probes(50, seed=9)
    np.testing.assert_allclose(est.predict(X), prob.teacher(X), atol=1e-4)


def test_bad_input_is_named():
    X = np.random.default_rng(0).normal(size=(20, 2))
    Y = X[:, :1] ** 2
    with pytest.raises(ValueError, match="gamma"):
        ExpandAndCluster(n_students=3, gamma=0.5).fit(X, Y)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="X: expected finite"):
        ExpandAndCluster().fit(Xn, Y)
    with pytest.raises(ValueError, match="Y: expected 20 rows"):
        ExpandAndCluster().fit(X, Y[:5])
    with pytest.raises(ValueError, match="activation"):
        ExpandAndCluster(activation="banana").fit(X, Y)
    with pytest.raises(ValueError, match="clusterer"):
        ExpandAndCluster(clusterer="kmeans").fit(X, Y)
    with pytest.raises(ValueError, match="not fitted"):
        ExpandAndCluster().predict(X)
    with pytest.raises(ValueError, match="f: the target returned NaN"):
        ExpandAndCluster().fit_teacher(lambda x: np.full((len(x), 1), np.nan), 2, 10)


def test_cli_run_and_make_teacher(tmp_path, capsys):
    from neuroflow.cli import main

    path = tmp_path / "t.npz"
    assert main(["identify", "make-teacher", "--out", str(path), "--input-dim", "2", "--width", "2",
                 "--seed", "4", "--json"]) == 0
    capsys.readouterr()
    plot = tmp_path / "w.png"
    run = ["identify", "run", "--teacher", str(path), "--n-samples", "300", "--n-students", "4", "--expansion", "3",
           "--student-time", "3", "--seed", "0", "--json", "--quiet", "--checkpoint", str(tmp_path / "ck")]
    assert main(run + ["--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (tmp_path / "ck" / "students_layer0.pkl").is_file()
    assert main(run) == 0  # resumes from the saved students: the same clusters and angles
    again = json.loads(capsys.readouterr().out)
    assert again["layer_sizes"] == out["layer_sizes"] and again["max_angle_deg"] == out["max_angle_deg"]
    for key in ("layer_sizes", "teacher_sizes", "overhead_pct", "max_angle_deg", "functional_rel_mse", "time_s"):
        assert key in out
    assert out["teacher_sizes"] == [2] and out["layer_sizes"] == [2]
    assert out["functional_rel_mse"] < 1e-8
    assert plot.is_file()
    bad = tmp_path / "bad.npz"
    np.savez(bad, activation="tanh", weight_0=np.ones((3, 2)), weight_1=np.ones((1, 4)))
    assert main(["identify", "run", "--teacher", str(bad), "--n-samples", "10"]) == 2
    assert "weight_1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["identify", "run", "--teacher", str(path), "--n-samples", "10", "--beta-deg", "tight"])
    assert "beta-deg" in capsys.readouterr().err
    assert out["clusters"][0]["beta_rule"] in ("gap", "no gap", "gap rejected")
    assert out["designed_probes"] == 0  # one hidden layer: nothing above the first layer to design probes for
    assert main(["identify", "run", "--teacher", str(path), "--n-samples", "10", "--layer-probes", "1.5"]) == 2
    assert "layer_probes: expected a fraction" in capsys.readouterr().err
