"""Pair expectations E[s(w.x) s(v.x)] and their derivatives: closed forms against quadrature."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from neuroflow.flow import gaussian as G
from neuroflow.flow.gaussian import moments as GM, quadrature as GQ, series as GS
from neuroflow.mlp.activations import get_activation

# (r1, r2, u) including the aligned and anti-aligned ends, where sqrt(1 - u^2) = 0
GRID = [(r1, r2, u) for r1 in (0.3, 1.0, 2.2) for r2 in (0.7, 1.6) for u in (-1.0, -0.55, 0.0, 0.35, 0.9, 1.0)]


def _moments(fn, *args):
    r1, r2, u = (np.array([a[i] for a in GRID]) for i in range(3))
    s = np.sqrt(1.0 - u * u)
    return fn(r1, r2, u, s, *args), (r1, r2, u, s)


@pytest.mark.parametrize("name", ["erf", "normal_cdf"])
def test_asin_closed_forms_match_quadrature_to_1e10(name):
    closed, _ = _moments(GM.CLOSED_PAIR[name], 2)
    z, w = GQ.gauss_hermite_rule(G.quadrature_nodes(name, 2.2))
    act = get_activation(name)
    quad, _ = _moments(lambda r1, r2, u, s, order: GQ.quadrature_pair(act, z, w, r1, r2, u, s, order), 2)
    for field, a, b in zip(closed._fields, closed, quad):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10, err_msg=f"{name} {field}")
    r = np.array([0.0, 0.4, 1.0, 2.5])
    for k, (a, b) in enumerate(zip(GM.CLOSED_SELF[name](r, 2), GQ.quadrature_self(act, z, w, r, 2))):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10, err_msg=f"{name} self derivative {k}")


def _relu_reference(r1, r2, u):
    """E[relu(r1 z1) relu(r2 z2)] by adaptive quadrature over z1 > 0 of the inner expectation
    E[relu(m + S z3)] = m Phi(m / S) + S phi(m / S), m = r2 u z1, S = r2 sqrt(1 - u^2)."""
    S = r2 * math.sqrt(1.0 - u * u)

    def inner(z1):
        mu = r2 * u * z1
        if S == 0.0:
            return max(mu, 0.0)
        return mu * special.ndtr(mu / S) + S * math.exp(-0.5 * (mu / S) ** 2) / math.sqrt(2 * math.pi)

    f = lambda z1: r1 * z1 * inner(z1) * math.exp(-0.5 * z1 * z1) / math.sqrt(2 * math.pi)
    return integrate.quad(f, 0.0, 40.0, epsabs=1e-14, epsrel=1e-13, limit=200)[0]


def test_relu_arccos_kernel_matches_adaptive_quadrature_to_1e10():
    closed, (r1, r2, u, _) = _moments(GM.relu_pair, 0)
    ref = np.array([_relu_reference(*args) for args in zip(r1, r2, u)])
    np.testing.assert_allclose(closed.F, ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(GM.relu_self(np.array([0.5, 2.0]), 0)[0], [0.125, 2.0], rtol=1e-15)


def test_relu_derivatives_match_central_differences():
    # interior cosines only: the u-derivatives of the arc-cosine kernel blow up at u = +-1
    pts = [(r1, r2, u) for (r1, r2, u) in GRID if abs(u) < 1.0]
    r1, r2, u = (np.array([p[i] for p in pts]) for i in range(3))
    F = lambda a, b, c: GM.relu_pair(a, b, c, np.sqrt(1 - c * c), 0).F
    m = GM.relu_pair(r1, r2, u, np.sqrt(1 - u * u), 2)
    h = 1e-5
    d1 = lambda f, x: (f(x + h) - f(x - h)) / (2 * h)
    checks = {
        "F1": d1(lambda x: F(x, r2, u), r1), "F2": d1(lambda x: F(r1, x, u), r2), "Fu": d1(lambda x: F(r1, r2, x), u),
        "F12": d1(lambda x: GM.relu_pair(r1, x, u, np.sqrt(1 - u * u), 1).F1, r2),
        "F1u": d1(lambda x: GM.relu_pair(r1, r2, x, np.sqrt(1 - x * x), 1).F1, u),
        "F2u": d1(lambda x: GM.relu_pair(r1, r2, x, np.sqrt(1 - x * x), 1).F2, u),
        "Fuu": d1(lambda x: GM.relu_pair(r1, r2, x, np.sqrt(1 - x * x), 1).Fu, u),
    }
    for field, fd in checks.items():
        np.testing.assert_allclose(getattr(m, field), fd, rtol=1e-7, atol=1e-8, err_msg=field)
    np.testing.assert_array_equal(m.F11, 0.0)


@pytest.mark.parametrize("name", ["tanh", "softplus", "g", "gelu", "cube"])
def test_quadrature_converges_to_1e12(name):
    # the automatic node count against a rule with twice as many nodes, all ten moments
    act = get_activation(name)
    args = (np.array([0.6, 1.3]), np.array([1.1, 0.9]), np.array([0.3, -0.97]), np.sqrt(1 - np.array([0.3, -0.97]) ** 2))
    n = G.quadrature_nodes(name, 1.3)
    a = GQ.quadrature_pair(act, *GQ.gauss_hermite_rule(n), *args, 2)
    b = GQ.quadrature_pair(act, *GQ.gauss_hermite_rule(2 * n), *args, 2)
    for field, x, y in zip(a._fields, a, b):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12, err_msg=f"{name} {field}")


def test_quadrature_moments_match_central_differences():
    act = get_activation("tanh")
    z, w = GQ.gauss_hermite_rule(200)
    r1, r2, u = np.array([0.8]), np.array([1.2]), np.array([0.4])
    P = lambda a, b, c, order=0: GQ.quadrature_pair(act, z, w, a, b, c, np.sqrt(1 - c * c), order)
    m = P(r1, r2, u, 2)
    h = 1e-5
    np.testing.assert_allclose(m.Fu, (P(r1, r2, u + h).F - P(r1, r2, u - h).F) / (2 * h), rtol=1e-8)
    np.testing.assert_allclose(m.Fuu, (P(r1, r2, u + h, 1).Fu - P(r1, r2, u - h, 1).Fu) / (2 * h), rtol=1e-7)
    np.testing.assert_allclose(m.F1u, (P(r1, r2, u + h, 1).F1 - P(r1, r2, u - h, 1).F1) / (2 * h), rtol=1e-7)
    np.testing.assert_allclose(m.F11, (P(r1 + h, r2, u, 1).F1 - P(r1 - h, r2, u, 1).F1) / (2 * h), rtol=1e-7)
    np.testing.assert_allclose(m.F22, (P(r1, r2 + h, u, 1).F2 - P(r1, r2 - h, u, 1).F2) / (2 * h), rtol=1e-7)
    np.testing.assert_allclose(m.F12, (P(r1, r2 + h, u, 1).F1 - P(r1, r2 - h, u, 1).F1) / (2 * h), rtol=1e-7)


def test_pair_expectation_public_helper():
    w, v = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    # orthogonal relu units: E[relu(X)] E[relu(Y)] = (1 / sqrt(2 pi)) (2 / sqrt(2 pi))
    assert G.pair_expectation("relu", w, v) == pytest.approx(2.0 / (2 * math.pi), rel=1e-14)
    assert G.pair_expectation("tanh", w, v) == pytest.approx(0.0, abs=1e-15)
    a = G.pair_expectation("erf", w, w + v, method="closed")
    b = G.pair_expectation("erf", w, w + v, method="quadrature")
    assert a == pytest.approx(b, abs=1e-12)
    with pytest.raises(ValueError, match="v: expected shape"):
        G.pair_expectation("relu", w, np.ones(3))
    with pytest.raises(ValueError, match="no closed form"):
        G.pair_expectation("tanh", w, v, method="closed")
    with pytest.raises(ValueError, match="not smooth enough"):
        G.pair_expectation("relu", w, v, method="quadrature")


@pytest.mark.parametrize("name", ["tanh", "softplus", "g", "gelu", "cube"])
def test_hermite_series_matches_2d_quadrature(name):
    act = get_activation(name)
    u = np.array([-1.0, -0.8, 0.0, 0.45, 0.999, 1.0])
    r1, r2 = np.full(6, 1.2), np.full(6, 0.7)
    n = G.quadrature_nodes(name, 1.2)
    quad = GQ.quadrature_pair(act, *GQ.gauss_hermite_rule(n), r1, r2, u, np.sqrt(1 - u * u), 2)
    series = GS.series_pair(act, n, r1, r2, u, 2)
    for field, a, b in zip(quad._fields, series, quad):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-11 * max(1.0, np.abs(b).max()), err_msg=f"{name} {field}")
    # at u = 1 and equal norms the series sums to the 1-D self term E[s(r z)^2]
    same = GS.series_pair(act, n, np.array([0.9]), np.array([0.9]), np.array([1.0]), 0).F
    np.testing.assert_allclose(same, GQ.quadrature_self(act, *GQ.gauss_hermite_rule(n), np.array([0.9]), 0)[0], atol=1e-12)
