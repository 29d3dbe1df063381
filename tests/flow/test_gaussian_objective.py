"""GaussianTeacherStudent: loss against Monte Carlo, exact gradient/Hessian, perfect student, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from neuroflow.flow.gaussian import GaussianTeacherStudent
from neuroflow.mlp import MLP


def _problem(activation, d=4, k=3, m=3, seed=0, **kw):
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((k, d)) / np.sqrt(d)
    b = rng.choice([-1.0, 1.0], k) * rng.uniform(0.5, 1.5, k)
    return GaussianTeacherStudent(V, b, m, activation, **kw)


@pytest.mark.parametrize("activation", ["relu", "erf", "softplus", "tanh", "g"])
def test_loss_matches_monte_carlo_within_4_standard_errors(activation):
    obj = _problem(activation)
    theta = obj.random_student(seed=1)
    rng = np.random.default_rng(7)
    sq_sum = sq2_sum = 0.0
    n, chunk = 1_000_000, 200_000
    for _ in range(n // chunk):
        X = rng.standard_normal((chunk, obj.input_dim))
        e2 = (obj.student_net.forward(theta, X) - obj.teacher_output(X))[:, 0] ** 2
        sq_sum += e2.sum()
        sq2_sum += (e2 * e2).sum()
    mean = sq_sum / n
    se = np.sqrt((sq2_sum / n - mean * mean) / n)
    assert abs(obj.loss(theta) - mean) < 4 * se, (obj.loss(theta), mean, se)
    # the finite-data engine on fresh samples agrees at the same level
    X, Y = obj.sample(20_000, seed=3)
    assert abs(obj.student_net.loss(theta, X, Y) - obj.loss(theta)) < 0.2 * obj.loss(theta)


@pytest.mark.parametrize("activation,m", [("relu", 3), ("erf", 4), ("normal_cdf", 2), ("tanh", 3),
                                          ("softplus", 4), ("g", 2), ("cube", 2)])
def test_gradient_and_hessian_match_finite_differences(activation, m):
    obj = _problem(activation, d=3, k=2, m=m, seed=4)
    theta = obj.random_student(seed=5)
    L, g, H = obj.loss_gradient_hessian(theta)
    assert L == pytest.approx(obj.loss(theta), rel=1e-13)
    np.testing.assert_allclose(obj.gradient(theta), g, rtol=1e-13, atol=1e-15)
    eps = 1e-6
    E = np.eye(obj.n_params)
    g_fd = np.array([(obj.loss(theta + eps * e) - obj.loss(theta - eps * e)) / (2 * eps) for e in E])
    H_fd = np.array([(obj.gradient(theta + eps * e) - obj.gradient(theta - eps * e)) / (2 * eps) for e in E])
    scale = max(1.0, np.abs(H).max())
    np.testing.assert_allclose(g, g_fd, atol=1e-7 * scale)
    np.testing.assert_allclose(H, H_fd, atol=1e-7 * scale)
    # symmetric to round-off without being symmetrised after the fact
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-14 * scale)


@pytest.mark.parametrize("activation,method", [("relu", "auto"), ("erf", "auto"), ("normal_cdf", "auto"),
                                               ("tanh", "auto"), ("g", "auto"), ("tanh", "series"),
                                               ("softplus", "series")])
def test_perfect_student_has_zero_loss_and_gradient(activation, method):
    obj = _problem(activation, d=5, k=3, m=3, seed=2, method=method)
    L, g, H = obj.loss_gradient_hessian(obj.teacher_params)
    scale = obj.teacher_norm2
    assert abs(L) < 1e-13 * scale
    assert np.abs(g).max() < 1e-13 * scale
    # a minimum: no direction of negative curvature beyond round-off
    assert np.linalg.eigvalsh(H).min() > -1e-12 * np.abs(H).max()
    # a wider student holding the teacher plus a silent unit (a = 0) is perfect too
    wide = _problem(activation, d=5, k=3, m=4, seed=2, method=method)
    W = np.vstack([obj.teacher_W, np.full(5, 0.3)])
    theta = wide.student_net.pack([W, np.append(obj.teacher_a, 0.0)[None, :]])
    L, g = wide.loss_and_gradient(theta)
    assert abs(L) < 1e-13 * scale and np.abs(g).max() < 1e-13 * scale


@pytest.mark.parametrize("case", ["teacher", "duplicates"])
def test_relu_hessian_at_aligned_units_matches_finite_differences(case):
    # cosines of exactly +-1 (student on a teacher unit, two identical student units, a unit opposite
    # a teacher unit): the arc-cosine kernel's u-derivatives are singular there, yet the Hessian is
    # finite and exact
    obj = _problem("relu", d=3, k=2, m=2 if case == "teacher" else 3, seed=6)
    if case == "teacher":
        theta = obj.teacher_params
    else:
        V = obj.teacher_W
        theta = obj.student_net.pack([np.vstack([1.3 * V[0], 1.3 * V[0], -V[1]]), np.array([[0.4, 0.5, 0.3]])])
    H = obj.hessian(theta)
    eps = 1e-6
    H_fd = np.array([(obj.gradient(theta + eps * e) - obj.gradient(theta - eps * e)) / (2 * eps)
                     for e in np.eye(obj.n_params)])
    assert np.all(np.isfinite(H))
    np.testing.assert_allclose(H, H_fd, atol=1e-6 * np.abs(H).max())


def test_layout_and_helpers():
    obj = _problem("tanh", d=4, k=3, m=5)
    net = MLP(4, [(5, "tanh", False), (1, "identity", False)])
    assert obj.n_params == net.n_params == obj.student_net.n_params == 25
    theta = obj.random_student(seed=9)
    np.testing.assert_array_equal(theta, obj.random_student(seed=9))
    W, a = obj.split(theta)
    Wn, an = net.unpack(theta)
    np.testing.assert_array_equal(W, Wn)
    np.testing.assert_array_equal(a, an[0])
    X, Y = obj.sample(10, seed=1)
    assert X.shape == (10, 4) and Y.shape == (10, 1)
    np.testing.assert_allclose(Y[:, 0], np.tanh(X @ obj.teacher_W.T) @ obj.teacher_a)
    assert obj.to_dict()["student_width"] == 5 and "tanh" in repr(obj)
    # method="quadrature" gives the same objective as the closed form
    c = _problem("erf", method="closed")
    q = _problem("erf", method="quadrature")
    t = c.random_student(seed=2)
    assert c.loss(t) == pytest.approx(q.loss(t), abs=1e-12)
    np.testing.assert_allclose(c.hessian(t), q.hessian(t), atol=1e-10)


def test_bad_input_raises_clear_errors():
    V, b = np.ones((2, 3)), np.ones(2)
    with pytest.raises(ValueError, match="teacher_a: expected shape"):
        GaussianTeacherStudent(V, np.ones(3), 2, "relu")
    with pytest.raises(ValueError, match="teacher_W: expected a 2-d array"):
        GaussianTeacherStudent(np.ones(3), b, 2, "relu")
    with pytest.raises(ValueError, match="d >= 1"):
        GaussianTeacherStudent(np.ones((2, 0)), b, 2, "relu")
    with pytest.raises(ValueError, match="teacher_W: expected finite"):
        GaussianTeacherStudent(np.array([[1.0, np.nan, 0.0], [1.0, 1.0, 1.0]]), b, 2, "relu")
    with pytest.raises(ValueError, match="teacher_a: expected finite"):
        GaussianTeacherStudent(V, np.array([1.0, np.inf]), 2, "relu")
    with pytest.raises(ValueError, match="student_width"):
        GaussianTeacherStudent(V, b, 0, "relu")
    with pytest.raises(ValueError, match="activation: expected one of"):
        GaussianTeacherStudent(V, b, 2, "swish3")
    with pytest.raises(ValueError, match="no closed form"):
        GaussianTeacherStudent(V, b, 2, "tanh", method="closed")
    with pytest.raises(ValueError, match="not smooth enough"):
        GaussianTeacherStudent(V, b, 2, "relu", method="quadrature")
    with pytest.raises(ValueError, match="method: expected one of"):
        GaussianTeacherStudent(V, b, 2, "relu", method="exact")
    obj = GaussianTeacherStudent(V, b, 2, "relu")
    with pytest.raises(ValueError, match="theta: expected a flat vector of length n_params=8"):
        obj.loss(np.zeros(7))
    theta = obj.random_student(0)
    theta[obj._idx_W[1]] = 0.0
    assert np.isfinite(obj.loss(theta))
    with pytest.raises(ValueError, match="student unit 1 has a zero weight vector"):
        obj.gradient(theta)
    # NaN parameters are refused like MLP.loss refuses them (train never passes them on)
    for smooth in (obj, GaussianTeacherStudent(V, b, 2, "tanh")):
        for method in (smooth.loss, smooth.gradient, smooth.hessian):
            with pytest.raises(ValueError, match="theta: expected finite"):
                method(np.full(8, np.nan))


def test_series_method_agrees_with_quadrature():
    q = _problem("tanh", d=3, k=2, m=3, seed=8)
    s = _problem("tanh", d=3, k=2, m=3, seed=8, method="series")
    assert s.method == "series"
    theta = q.random_student(seed=1)
    Lq, gq, Hq = q.loss_gradient_hessian(theta)
    Ls, gs, Hs = s.loss_gradient_hessian(theta)
    assert Ls == pytest.approx(Lq, abs=1e-12)
    np.testing.assert_allclose(gs, gq, atol=1e-11)
    np.testing.assert_allclose(Hs, Hq, atol=1e-11)
    L, g = s.loss_and_gradient(_perfect(s))
    assert abs(L) < 1e-13 and np.abs(g).max() < 1e-12


def _perfect(obj):
    """A student of width m >= k holding the teacher and silent extra units."""
    m, k = obj.student_width, obj.teacher_width
    W = np.vstack([obj.teacher_W, np.full((m - k, obj.input_dim), 0.4)])
    return obj.student_net.pack([W, np.concatenate([obj.teacher_a, np.zeros(m - k)])[None, :]])


def test_train_integrates_the_infinite_data_flow_to_the_teacher():
    import math

    from neuroflow import train
    from neuroflow.flow.gaussian import random_teacher

    W, a = random_teacher(4, 2, seed=0)
    obj = GaussianTeacherStudent(W, a, 2, "relu")
    res = train(obj, obj.random_student(seed=1), min_gnorm=1e-10, min_loss=-math.inf)
    assert res.loss < 1e-14 and res.gnorm < 1e-8
    Ws, as_ = obj.split(res.x)
    cos = (W / np.linalg.norm(W, axis=1, keepdims=True)) @ (Ws / np.linalg.norm(Ws, axis=1, keepdims=True)).T
    np.testing.assert_allclose(np.sort(cos.max(axis=1)), [1.0, 1.0], atol=1e-6)
    # the student's output weights times norms match the teacher's (relu is positively homogeneous)
    np.testing.assert_allclose(np.sort(as_ * np.linalg.norm(Ws, axis=1)), np.sort(a * np.linalg.norm(W, axis=1)),
                               atol=1e-6)
