"""Students and problems on a Dask cluster: the same numbers as locally; an unreachable scheduler fails fast."""
from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from neuroflow.identify import ExpandAndCluster
from neuroflow.identify.budgets import QUICK_STUDENT_OPTIONS
from neuroflow.identify.problems import make_problem

distributed = pytest.importorskip("distributed")


def _fit(**kwargs):
    prob = make_problem(2, 2, "tanh", 300, seed=3)
    X = prob.probes()
    est = ExpandAndCluster(n_students=4, expansion=3, activation="tanh", hidden_sizes=2, seed=0,
                           train_options=QUICK_STUDENT_OPTIONS, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return est.fit(X, prob.teacher(X))


def test_students_on_a_local_dask_cluster_match_the_local_run():
    local = _fit()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = _fit(scheduler=cluster.scheduler_address)
    for a, b in zip(local.students_[0], remote.students_[0]):
        assert a.index == b.index and np.array_equal(a.theta, b.theta) and a.steps == b.steps
    np.testing.assert_array_equal(local.theta_, remote.theta_)


def test_unreachable_scheduler_fails_in_seconds_naming_the_address(capsys, tmp_path):
    from neuroflow.cli import main
    from neuroflow.identify import save_teacher
    from neuroflow.identify.problems import make_teacher

    path = tmp_path / "t.npz"
    save_teacher(make_teacher(2, 2, "tanh", seed=0), path)
    t = time.monotonic()
    assert main(["identify", "run", "--teacher", str(path), "--n-samples", "50", "--width", "teacher",
                 "--scheduler", "tcp://127.0.0.1:9", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "tcp://127.0.0.1:9" in err and len(err.strip().splitlines()) == 1
    assert time.monotonic() - t < 30
