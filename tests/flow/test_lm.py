"""The per-sample Jacobian and the Levenberg-Marquardt polisher."""
import numpy as np
import pytest

from neuroflow.flow.lm import levenberg_marquardt, mlp_least_squares
from neuroflow.mlp import MLP


@pytest.mark.parametrize("layers", [
    [(5, "tanh", True), (4, "g", True), (3, "identity", True)],
    [(6, "softplus", False), (2, "sigmoid", True)],
])
def test_jacobian_matches_finite_differences(layers):
    net = MLP(3, layers, backend="numpy")
    rng = np.random.default_rng(0)
    theta = net.init_params(seed=0) + 0.3 * rng.standard_normal(net.n_params)
    X = rng.standard_normal((7, 3))
    J = net.jacobian(theta, X)
    assert J.shape == (7, net.output_dim, net.n_params)
    eps = 1e-6
    for p in range(net.n_params):
        e = np.zeros(net.n_params)
        e[p] = eps
        num = (net.forward(theta + e, X) - net.forward(theta - e, X)) / (2 * eps)
        np.testing.assert_allclose(J[:, :, p], num, atol=1e-8)
    # the gradient of the loss is 2/N J^T r
    Y = rng.standard_normal((7, net.output_dim))
    r = net.forward(theta, X) - Y
    np.testing.assert_allclose(2.0 / 7 * np.einsum("nop,no->p", J, r), net.gradient(theta, X, Y), atol=1e-12)


def test_lm_solves_a_zero_residual_problem_to_rounding():
    """A student with the teacher's architecture, started near it: LM reaches the zero-loss point."""
    teacher = MLP(4, [(3, "tanh", True), (1, "identity", True)], backend="numpy")
    rng = np.random.default_rng(1)
    t = teacher.init_params(seed=2) + rng.standard_normal(teacher.n_params)
    X = rng.standard_normal((300, 4))
    Y = teacher.forward(t, X)
    start = t + 0.05 * rng.standard_normal(t.size)
    res = mlp_least_squares(teacher, start, X, Y, max_iter=200)
    assert res.value < 1e-25 * Y.var()
    assert res.value == pytest.approx(teacher.loss(res.x, X, Y), rel=1e-6, abs=1e-30)
    assert res.stopped_by in ("min_value", "small_step")
    assert res.accepted <= res.iterations <= 200


def test_lm_is_monotone_and_counts_steps():
    """Rosenbrock as residuals: every accepted step lowers F, and the budget is a step count."""
    seen = []

    def resid(x):
        return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])

    def normal(x):
        r = resid(x)
        J = np.array([[-20 * x[0], 10.0], [-1.0, 0.0]])
        seen.append(0.5 * r @ r)
        return 0.5 * r @ r, J.T @ J, J.T @ r

    res = levenberg_marquardt(normal, lambda x: 0.5 * resid(x) @ resid(x), [-1.2, 1.0], max_iter=5)
    assert res.iterations == 5 and res.stopped_by == "max_iter"
    assert all(b < a for a, b in zip(seen, seen[1:]))
    res = levenberg_marquardt(normal, lambda x: 0.5 * resid(x) @ resid(x), [-1.2, 1.0], max_iter=500, min_value=1e-30)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-10)
    with pytest.raises(ValueError, match="max_iter"):
        levenberg_marquardt(normal, lambda x: 0.0, [0.0, 0.0], max_iter=-1)
