"""The deep path: layer by layer with the same students, reconstructed layers frozen (fixed-parameter
objective), on a tiny two-hidden-layer teacher."""
from __future__ import annotations

import warnings

import numpy as np

from neuroflow.identify import ExpandAndCluster
from neuroflow.identify.teacher import Teacher


def test_deep_teacher_recovered_with_frozen_layers():
    teacher = Teacher("tanh",
                      [np.array([[1.2, -0.4], [0.3, 1.1], [-0.9, -0.8]]),
                       np.array([[1.0, -0.8, 0.6], [-0.5, 0.9, 1.1]]), np.array([[1.0, -1.2]])],
                      [np.array([0.3, -0.2, 0.1]), np.array([0.2, -0.3]), np.zeros(1)])
    X = np.random.default_rng(1).standard_normal((300, 2))
    est = ExpandAndCluster(n_students=3, gamma=0.67, expansion=2, activation="tanh", hidden_sizes=[3, 2],
                           random_state=0, engine="flow", loss_tol=1e-300,
                           train_options={"maxiterations_ode": 60, "maxiterations_optim": 30},
                           finetune_options={"maxtime_ode": 0.5, "maxtime_optim": 2.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        est.fit(X, teacher(X))
    rep = est.report(teacher, seed=1)
    assert rep.layer_sizes == [3, 2] and rep.exact_size
    assert rep.max_angle_deg < 1.0
    assert rep.functional_rel_mse < 1e-8
    # second stage: the same three students, each with the reconstructed first layer (3 units, not the
    # expanded 6) held fixed, and their upper layers retrained to a low loss
    first, second = est.students_
    assert [f.seed for f in first] != [f.seed for f in second] and len(second) == 3
    n_first = 3 * 3  # (3 units) x (2 inputs + bias)
    frozen = [f.theta[:n_first] for f in second]
    for th in frozen[1:]:
        np.testing.assert_array_equal(th, frozen[0])
    assert second[0].theta.size == n_first + 4 * 4 + 1 * 5  # 3 -> 4 (expanded) -> 1
    y_var = float(np.var(teacher(X)))
    assert max(f.loss for f in second) < 1e-3 * y_var
