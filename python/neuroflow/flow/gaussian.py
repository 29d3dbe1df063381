"""Teacher–student gradient flow in the limit of infinite data, for standard Gaussian input.

A bias-free two-layer student ``f(x) = sum_j a_j s(w_j . x)`` learns a teacher
``f*(x) = sum_i b_i s(v_i . x)`` from ``x ~ N(0, I_d)``. The expected loss

    L = E_x[(f(x) - f*(x))**2]
      = a' K(W, W) a - 2 a' K(W, V) b + b' K(V, V) b,     K(w, v) = E[s(w . x) s(v . x)],

depends on the weights only through norms and pairwise cosines, because ``(w . x, v . x)`` is a
centred Gaussian pair with variances ``|w|**2``, ``|v|**2`` and correlation ``u = cos(w, v)``. So
``K(w, v) = F(|w|, |v|, u)`` with ``F(r1, r2, u) = E[s(r1 z1) s(r2 z2)]``, ``z2 = u z1 + sqrt(1 - u**2) z3``
and ``z1, z3`` independent standard normals. The loss is the same functional as the finite-data loss
of :class:`neuroflow.MLP` (mean squared error), so both agree as the number of samples grows.

``F`` and its derivatives with respect to ``(r1, r2, u)`` up to second order come from

* closed forms for ``relu`` (the arc-cosine kernel, ``r1 r2 (sin t + (pi - t) cos t) / (2 pi)``
  with ``t = arccos u``), ``erf`` (``(2/pi) asin(c / sqrt((1 + r1**2)(1 + r2**2)))`` with
  ``c = r1 r2 u``) and ``normal_cdf`` (``1/4 + asin(...) / (2 pi)``, the same argument);
* Gauss–Hermite quadrature (1-D for the self terms ``E[s(r z)**2]``, a 2-D product rule over
  ``(z1, z3)`` for pairs) for every other smooth activation. Derivatives in ``u`` use Price's theorem,
  ``dF/du = r1 r2 E[s'(r1 z1) s'(r2 z2)]``, so no ``1/sqrt(1 - u**2)`` appears.
* optionally (``method="series"``) the Hermite expansion of the correlated pair,
  ``F = sum_n c_n(r1) c_n(r2) u**n`` with ``c_n(r) = E[s(r z) He_n(z)] / sqrt(n!)`` from 1-D
  Gauss–Hermite quadrature: the same values to ~1e-13, several times faster, because a pair costs
  O(terms) instead of a 2-D grid.

Gradient and Hessian with respect to the student's flat parameters follow by the chain rule through
norms and cosines (no finite differences), vectorised over all (student, student) and (student,
teacher) pairs at once. Parameters use the layout of
``MLP(d, [(m, activation, False), (1, "identity", False)])``.
"""
from __future__ import annotations

import math
from contextlib import nullcontext
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numba import njit

from neuroflow._utils import as_rng, check_array, check_choice, check_positive

__all__ = [
    "GaussianTeacherStudent",
    "random_teacher",
    "CLOSED_FORM_ACTIVATIONS",
    "QUADRATURE_ACTIVATIONS",
    "METHODS",
    "pair_expectation",
    "quadrature_nodes",
]

_TWO_PI = 2.0 * math.pi

#: ways to compute the expectations: closed form, 2-D Gauss–Hermite quadrature, or the Hermite
#: series of the correlated pair with 1-D Gauss–Hermite coefficients ("auto": closed, else quadrature)
METHODS = ("auto", "closed", "quadrature", "series")

#: activations whose Gaussian expectations have closed forms here
CLOSED_FORM_ACTIVATIONS = ("relu", "erf", "normal_cdf")

#: smooth activations integrated by quadrature -> distance of the nearest complex singularity of
#: s(x) from the real axis (inf for entire functions). s(r z) then has its singularity at distance
#: ``tau / r`` in z, which sets how many nodes a rule needs for ~1e-12 accuracy.
QUADRATURE_ACTIVATIONS = {
    "identity": math.inf,
    "square": math.inf,
    "cube": math.inf,
    "gelu": math.inf,
    "erf": math.inf,
    "normal_cdf": math.inf,
    "softplus": math.pi,
    "sigmoid": math.pi,
    "silu": math.pi,
    "tanh": math.pi / 2.0,
    "g": math.pi / 4.0,  # sigmoid(4x) has poles at i pi / 4
}

_MIN_NODES, _MAX_NODES = 60, 4000
# rule sizes actually used: steps of 25% from 60 up to 4000, so that pairs and calls share rules
_NODE_LADDER = tuple(sorted({n for n in (round(_MIN_NODES * 1.25 ** i) for i in range(19)) if n < _MAX_NODES}
                            | {_MAX_NODES}))
# a 2-D quadrature block holds at most this many grid values per array (memory bound)
_BLOCK_VALUES = 1_000_000


# ----------------------------------------------------------------------------- quadrature rule
@lru_cache(maxsize=32)
def _rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n``-point Gauss–Hermite rule for E[g(z)], z ~ N(0, 1) (weights sum to 1).

    Nodes with weight below 1e-32 are dropped: for the polynomially bounded integrands here they
    change no sum, and they are most of the nodes of a large rule (an n-point rule reaches out to
    |z| ~ 2 sqrt(n), but only |z| < 12 matters), so the work grows like sqrt(n), not n.
    """
    from scipy.special import roots_hermitenorm  # stable for large n, unlike numpy's hermegauss

    z, w = roots_hermitenorm(n)
    w = w / math.sqrt(_TWO_PI)
    keep = w > 1e-32
    z, w = z[keep], w[keep]
    z.setflags(write=False)
    w.setflags(write=False)
    return z, w


def quadrature_nodes(activation: str, max_norm: float) -> int:
    """Gauss–Hermite nodes per dimension that integrate ``s(r z)``, ``r <= max_norm``, to about 1e-12.

    For an activation analytic in the strip ``|Im x| < tau`` (:data:`QUADRATURE_ACTIVATIONS`; tau is
    the distance of its nearest complex singularity from the real axis), the error of the n-point
    rule for ``s(r z)`` was measured to fall like ``exp(-1.65 (tau / r) sqrt(n))``; entire activations
    (polynomials, gelu) need few nodes. The count keeps a margin for the second derivatives;
    between 60 and 4000 nodes.
    """
    tau = QUADRATURE_ACTIVATIONS.get(activation, math.pi / 4.0)
    r = max(float(max_norm), 1e-3)
    if math.isinf(tau):
        n = 40.0 + 40.0 * r * r
    else:
        n = (36.0 * r / (1.65 * tau)) ** 2
    n = int(math.ceil(n))
    return int(min(max(n, _MIN_NODES), _MAX_NODES))


# ----------------------------------------------------------------------------- pair moments
# field order of _Moments seen from the other unit of the pair: F1 <-> F2, F11 <-> F22, F1u <-> F2u
_SWAP = np.array([0, 2, 1, 3, 5, 4, 6, 8, 7, 9])


class _Moments(NamedTuple):
    """F(r1, r2, u) = E[s(r1 z1) s(r2 z2)] and its partial derivatives (1 = r1, 2 = r2, u = cosine).

    Entries a caller did not ask for (``order`` < 2 or < 1) are None.
    """

    F: np.ndarray
    F1: np.ndarray | None = None
    F2: np.ndarray | None = None
    Fu: np.ndarray | None = None
    F11: np.ndarray | None = None
    F22: np.ndarray | None = None
    F12: np.ndarray | None = None
    F1u: np.ndarray | None = None
    F2u: np.ndarray | None = None
    Fuu: np.ndarray | None = None


def _relu_pair(r1, r2, u, s, order):
    """Arc-cosine kernel: F = r1 r2 k(u), k = (s + (pi - t) u) / (2 pi), t = atan2(s, u)."""
    t = np.arctan2(s, u)
    k = (s + (math.pi - t) * u) / _TWO_PI
    F = r1 * r2 * k
    if order == 0:
        return _Moments(F)
    dk = (math.pi - t) / _TWO_PI
    F1, F2, Fu = r2 * k, r1 * k, r1 * r2 * dk
    if order == 1:
        return _Moments(F, F1, F2, Fu)
    zero = np.zeros_like(F)
    # k'' = 1 / (2 pi s) is singular at u = +-1, but the chain rule only ever multiplies it by the
    # outer product of cosine gradients, whose norm is s**2 / r**2: the product is O(s) and vanishes
    # at s = 0, where we set the (then unused) coefficient to 0.
    with np.errstate(divide="ignore"):
        d2k = np.where(s > 0.0, 1.0 / (_TWO_PI * np.where(s > 0.0, s, 1.0)), 0.0)
    return _Moments(F, F1, F2, Fu, zero, zero, k, r2 * dk, r1 * dk, r1 * r2 * d2k)


def _asin_pair(scale, offset):
    """F = offset + scale * asin(A(r1) A(r2) u), A(r) = r / sqrt(1 + r**2) (erf and normal_cdf)."""

    def pair(r1, r2, u, s, order):
        q1, q2 = 1.0 + r1 * r1, 1.0 + r2 * r2
        A1, A2 = r1 / np.sqrt(q1), r2 / np.sqrt(q2)
        t = A1 * A2 * u  # |t| <= A1 A2 < 1
        F = offset + scale * np.arcsin(t)
        if order == 0:
            return _Moments(F)
        g = 1.0 / np.sqrt(1.0 - t * t)
        d1 = scale * g  # dF/dt
        dA1, dA2 = q1 ** -1.5, q2 ** -1.5
        t1, t2, tu = dA1 * A2 * u, A1 * dA2 * u, A1 * A2
        F1, F2, Fu = d1 * t1, d1 * t2, d1 * tu
        if order == 1:
            return _Moments(F, F1, F2, Fu)
        d2 = scale * t * g ** 3  # d2F/dt2
        ddA1, ddA2 = -3.0 * r1 * q1 ** -2.5, -3.0 * r2 * q2 ** -2.5
        return _Moments(
            F, F1, F2, Fu,
            d2 * t1 * t1 + d1 * ddA1 * A2 * u,
            d2 * t2 * t2 + d1 * A1 * ddA2 * u,
            d2 * t1 * t2 + d1 * dA1 * dA2 * u,
            d2 * t1 * tu + d1 * dA1 * A2,
            d2 * t2 * tu + d1 * A1 * dA2,
            d2 * tu * tu,
        )

    return pair


def _relu_self(r, order):
    out = [0.5 * r * r]
    if order >= 1:
        out.append(np.array(r, dtype=np.float64, copy=True))
    if order >= 2:
        out.append(np.ones_like(r))
    return out


def _asin_self(scale, offset):
    """h(r) = F(r, r, 1) = offset + scale * asin(r**2 / (1 + r**2)) and two derivatives."""

    def self_term(r, order):
        q = 1.0 + r * r
        t = r * r / q
        out = [offset + scale * np.arcsin(t)]
        if order >= 1:
            g = 1.0 / np.sqrt(1.0 - t * t)
            dt = 2.0 * r / (q * q)
            out.append(scale * g * dt)
            if order >= 2:
                ddt = (2.0 - 6.0 * r * r) / q ** 3
                out.append(scale * (t * g ** 3 * dt * dt + g * ddt))
        return out

    return self_term


_CLOSED_PAIR = {
    "relu": _relu_pair,
    "erf": _asin_pair(2.0 / math.pi, 0.0),
    "normal_cdf": _asin_pair(1.0 / _TWO_PI, 0.25),
}
_CLOSED_SELF = {
    "relu": _relu_self,
    "erf": _asin_self(2.0 / math.pi, 0.0),
    "normal_cdf": _asin_self(1.0 / _TWO_PI, 0.25),
}


def _quadrature_pair(act, z, w, r1, r2, u, s, order):
    """F and its derivatives by the product rule over (z1, z3), z2 = u z1 + s z3.

    With X = r1 z1, Y = r2 z2 at fixed correlation u:
      F_1 = E[z1 s'(X) s(Y)],  F_11 = E[z1^2 s''(X) s(Y)],  F_12 = E[z1 z2 s'(X) s'(Y)],
      F_u = r1 r2 E[s'(X) s'(Y)] (Price's theorem),  F_uu = (r1 r2)^2 E[s''(X) s''(Y)],
      F_1u = r2 E[s'(X) s'(Y)] + r1 r2 E[z1 s''(X) s'(Y)]   (and symmetrically for 2).
    """
    P, n = r1.shape[0], z.shape[0]
    out = {name: np.empty(P) for name in _Moments._fields[: (1, 4, 10)[order]]}
    # inner sums over z3 as matrix products: sum_b w_b z3_b^k g(Y_ab) for k = 0, 1, 2; powers of
    # z2 = u z1 + s z3 then expand into these, so no (p, n, n) array besides Y and g(Y) is formed
    Wk = np.stack([w, w * z, w * z * z], axis=1)
    wz, wzz = w * z, w * z * z
    block = max(1, _BLOCK_VALUES // (n * n))
    for lo in range(0, P, block):
        sl = slice(lo, min(P, lo + block))
        U, S = u[sl, None], s[sl, None]
        X = r1[sl, None] * z  # (p, n)
        Y = r2[sl, None, None] * (U[:, :, None] * z[:, None] + S[:, :, None] * z)  # (p, n_z1, n_z3)
        Uz = U * z  # u z1, (p, n)
        fX = act.f(X)
        inner0 = act.f(Y) @ w  # E_z3[s(Y)], (p, n_z1)
        out["F"][sl] = (fX * inner0) @ w
        if order == 0:
            continue
        dX = act.df(X)
        A = act.df(Y) @ Wk[:, :2]
        inner1 = A[..., 0]  # E_z3[s'(Y)]
        inner1z = Uz * A[..., 0] + S * A[..., 1]  # E_z3[z2 s'(Y)]
        E11 = (dX * inner1) @ w  # E[s'(X) s'(Y)]
        out["F1"][sl] = (dX * inner0) @ wz
        out["F2"][sl] = (fX * inner1z) @ w
        rr = r1[sl] * r2[sl]
        out["Fu"][sl] = rr * E11
        if order == 1:
            continue
        d2X = act.d2f(X)
        B = act.d2f(Y) @ Wk
        inner2 = B[..., 0]
        inner2z = Uz * B[..., 0] + S * B[..., 1]
        inner2zz = Uz * Uz * B[..., 0] + 2.0 * Uz * S * B[..., 1] + S * S * B[..., 2]
        out["F11"][sl] = (d2X * inner0) @ wzz
        out["F22"][sl] = (fX * inner2zz) @ w
        out["F12"][sl] = (dX * inner1z) @ wz
        out["F1u"][sl] = r2[sl] * E11 + rr * ((d2X * inner1) @ wz)
        out["F2u"][sl] = r1[sl] * E11 + rr * ((dX * inner2z) @ w)
        out["Fuu"][sl] = rr * rr * ((d2X * inner2) @ w)
    return _Moments(**out)


def _quadrature_self(act, z, w, r, order):
    """h(r) = E[s(r z)^2], h' = 2 E[z s s'], h'' = 2 E[z^2 (s'^2 + s s'')]."""
    X = r[:, None] * z
    f = act.f(X)
    out = [(f * f) @ w]
    if order >= 1:
        df = act.df(X)
        out.append(2.0 * (f * df) @ (w * z))
        if order >= 2:
            out.append(2.0 * (df * df + f * act.d2f(X)) @ (w * z * z))
    return out


# the series keeps at most this many terms (its table of Hermite functions is terms x (terms + 60));
# by the node-count rule, enough for norms up to about 2.7 (tanh), 5 (softplus, sigmoid, silu), 1.3 (g)
_SERIES_MAX_TERMS = 1500


@lru_cache(maxsize=8)
def _series_rule(K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes z, scaled weights w e^(z^2/4) and the Hermite functions
    psi_n(z) = He_n(z) e^(-z^2/4) / sqrt(n!), n = 0..K, at the nodes (K + 1, n_nodes).

    Hermite functions obey a recurrence that stays bounded where He_n itself would overflow; the
    rule has K + 60 nodes, enough to integrate s(r z) He_n(z) for every n <= K.
    """
    from scipy.special import roots_hermitenorm

    z, w = roots_hermitenorm(K + 60)
    keep = w > 0.0  # far nodes whose weight underflows contribute below e^(-350)
    z, w = z[keep], w[keep] / math.sqrt(_TWO_PI)
    ws = np.exp(np.log(w) + 0.25 * z * z)
    psi = np.empty((K + 1, z.size))
    psi[0] = np.exp(-0.25 * z * z)
    if K >= 1:
        psi[1] = z * psi[0]
    for n in range(1, K):
        psi[n + 1] = (z * psi[n] - math.sqrt(n) * psi[n - 1]) / math.sqrt(n + 1)
    # subnormal numbers make every later product dozens of times slower; they carry nothing here
    psi[np.abs(psi) < 1e-280] = 0.0
    ws[ws < 1e-280] = 0.0
    for a in (z, ws, psi):
        a.setflags(write=False)
    return z, ws, psi


def _series_coefficients(act, K, norms, order):
    """c_n(r), c_n'(r), c_n''(r) (up to ``order``) for each norm, shape (len(norms), K + 1)."""
    z, ws, psi = _series_rule(K)
    X = norms[:, None] * z
    C = [(act.f(X) * ws) @ psi.T]
    if order >= 1:
        C.append((act.df(X) * (ws * z)) @ psi.T)
    if order >= 2:
        C.append((act.d2f(X) * (ws * z * z)) @ psi.T)
    return C


def _series_self(act, K, r, order):
    """h(r) = F(r, r, 1) = sum_n c_n^2 and its derivatives, from the same series as the pairs (so
    that a student unit on top of a teacher unit cancels it to round-off)."""
    C = _series_coefficients(act, K, r, order)
    out = [np.einsum("un,un->u", C[0], C[0])]
    if order >= 1:
        out.append(2.0 * np.einsum("un,un->u", C[0], C[1]))
    if order >= 2:
        out.append(2.0 * (np.einsum("un,un->u", C[1], C[1]) + np.einsum("un,un->u", C[0], C[2])))
    return out


def _series_pair(act, K, r1, r2, u, order):
    """F and its derivatives from the Hermite (Mehler) expansion of the correlated pair:

        F(r1, r2, u) = sum_n c_n(r1) c_n(r2) u^n,    c_n(r) = E[s(r z) He_n(z)] / sqrt(n!),

    with c_n' = E[z s'(r z) He_n] / sqrt(n!) and c_n'' = E[z^2 s''(r z) He_n] / sqrt(n!) from 1-D
    Gauss–Hermite quadrature, once per distinct norm. A pair then costs O(K) instead of a 2-D grid.
    """
    norms, inv = np.unique(np.concatenate([r1, r2]), return_inverse=True)
    C = _series_coefficients(act, K, norms, order)
    i1, i2 = inv[: r1.size], inv[r1.size:]
    n = np.arange(K + 1, dtype=np.float64)
    Un = np.empty((u.size, K + 1))  # u^n by running products (a float power is ~50x slower)
    Un[:, 0] = 1.0
    Un[:, 1:] = u[:, None]
    with np.errstate(under="ignore"):
        np.cumprod(Un, axis=1, out=Un)
    Un[np.abs(Un) < 1e-280] = 0.0  # no subnormals (slow, and below any term that matters)
    S = lambda a, b, w: np.einsum("pn,pn,pn->p", a, b, w)
    A0, B0 = C[0][i1], C[0][i2]
    F = S(A0, B0, Un)
    if order == 0:
        return _Moments(F)
    A1, B1 = C[1][i1], C[1][i2]
    Un1 = np.zeros_like(Un)
    Un1[:, 1:] = n[1:] * Un[:, :-1]  # n u^(n-1)
    moments = [F, S(A1, B0, Un), S(A0, B1, Un), S(A0, B0, Un1)]
    if order == 1:
        return _Moments(*moments)
    A2, B2 = C[2][i1], C[2][i2]
    Un2 = np.zeros_like(Un)
    Un2[:, 2:] = n[2:] * (n[2:] - 1.0) * Un[:, :-2]  # n (n - 1) u^(n-2)
    moments += [S(A2, B0, Un), S(A0, B2, Un), S(A1, B1, Un), S(A1, B0, Un1), S(A0, B1, Un1), S(A0, B0, Un2)]
    return _Moments(*moments)


# ----------------------------------------------------------------------------- kernel engine
_BLAS_CONTROLLER = []


def _serial_blas():
    """A context that keeps BLAS on one thread for the quadrature's small matrix products.

    They are a few million flops each; extra BLAS threads only add synchronisation, which on a busy
    machine costs far more than the work (measured: 32 ms instead of 0.15 ms for an 8 x 473 x 448
    product on a loaded 2-core machine). Without threadpoolctl it does nothing.
    """
    if not _BLAS_CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER.append(ThreadpoolController())
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            _BLAS_CONTROLLER.append(None)
    ctl = _BLAS_CONTROLLER[0]
    return ctl.limit(limits=1, user_api="blas") if ctl is not None else nullcontext()



class _Kernel:
    """E[s(w . x) s(v . x)] and its (r1, r2, u)-derivatives for one activation and method."""

    def __init__(self, activation: str, method: str, nodes: int | None):
        from neuroflow.mlp.activations import get_activation

        self.act = get_activation(activation)
        self.name = self.act.name
        self.nodes = nodes
        if method == "auto":
            method = "closed" if self.name in _CLOSED_PAIR else "quadrature"
        if method == "closed" and self.name not in _CLOSED_PAIR:
            raise ValueError(f"method: no closed form for activation {self.name!r}; closed forms exist for "
                             f"{list(CLOSED_FORM_ACTIVATIONS)} (use method='quadrature' or 'auto')")
        if method in ("quadrature", "series") and self.name not in QUADRATURE_ACTIVATIONS:
            hint = f"; it has a closed form: use method='closed'" if self.name in _CLOSED_PAIR else ""
            raise ValueError(f"activation: {self.name!r} is not smooth enough for Gauss–Hermite quadrature "
                             f"(supported: {sorted(QUADRATURE_ACTIVATIONS)}){hint}")
        self.method = method

    def _sizes(self, norms: np.ndarray) -> np.ndarray:
        """Rule size (nodes, or series terms) for each pair or unit from its (larger) norm.

        Sizes are rounded up to a ladder so that rules are shared, and depend on nothing but the
        norms: the same pair always gets the same rule, so that at a perfect student the student and
        teacher terms cancel to round-off.
        """
        if self.nodes is not None:
            return np.full(norms.shape, int(self.nodes))
        need = np.array([quadrature_nodes(self.name, x) for x in norms], dtype=np.intp)
        return np.asarray(_NODE_LADDER)[np.searchsorted(_NODE_LADDER, need)]

    def pair(self, r1, r2, u, s, order: int) -> _Moments:
        if self.method == "closed":
            return _CLOSED_PAIR[self.name](r1, r2, u, s, order)
        if r1.size == 0:
            return _Moments(*([np.empty(0)] * (1, 4, 10)[order]))
        # each pair gets the rule its larger norm needs (the 2-D grid, and the work, grows like the
        # square of the norm)
        sizes = self._sizes(np.maximum(r1, r2))
        out = [np.empty_like(r1) for _ in range((1, 4, 10)[order])]
        with _serial_blas():
            for n in np.unique(sizes):
                sel = np.flatnonzero(sizes == n)
                if self.method == "series":
                    part = _series_pair(self.act, min(int(n), _SERIES_MAX_TERMS), r1[sel], r2[sel], u[sel], order)
                else:
                    part = _quadrature_pair(self.act, *_rule(int(n)), r1[sel], r2[sel], u[sel], s[sel], order)
                for dst, src in zip(out, part):
                    dst[sel] = src
        return _Moments(*out)

    def self_term(self, r, order: int) -> list[np.ndarray]:
        if self.method == "closed":
            return _CLOSED_SELF[self.name](r, order)
        sizes = self._sizes(r)
        out = [np.empty_like(r) for _ in range(order + 1)]
        with _serial_blas():
            for n in np.unique(sizes):
                sel = np.flatnonzero(sizes == n)
                if self.method == "series":
                    part = _series_self(self.act, min(int(n), _SERIES_MAX_TERMS), r[sel], order)
                else:
                    part = _quadrature_self(self.act, *_rule(int(n)), r[sel], order)
                for dst, src in zip(out, part):
                    dst[sel] = src
        return out


def _directions(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row norms and unit rows (a zero row gets the zero direction)."""
    r = np.sqrt(np.einsum("ij,ij->i", M, M))
    safe = np.where(r > 0.0, r, 1.0)
    return r, M / safe[:, None]


def _geometry(Wh: np.ndarray, Vh: np.ndarray):
    """Cosines u[j, p] = wh_j . vh_p, the components p[j, p] = vh_p - u wh_j of vh_p orthogonal to
    wh_j, and s = |p| = sqrt(1 - u^2) computed without cancellation near u = +-1."""
    u = np.clip(Wh @ Vh.T, -1.0, 1.0)
    perp = Vh[None, :, :] - u[:, :, None] * Wh[:, None, :]
    s = np.sqrt(np.einsum("jpk,jpk->jp", perp, perp))
    return u, perp, s


def pair_expectation(activation: str, w, v, *, method: str = "auto", nodes: int | None = None) -> float:
    """E[s(w . x) s(v . x)] for x ~ N(0, I_d): the kernel the infinite-data loss is built from.

    ``method`` is "auto" (closed form where one exists, else quadrature), "closed", "quadrature" or
    "series";
    ``nodes`` sets the Gauss–Hermite nodes per dimension (default: :func:`quadrature_nodes`).
    """
    check_choice(method, "method", METHODS)
    w = check_array(w, "w", ndim=1)
    v = check_array(v, "v", shape=(w.shape[0],))
    kernel = _Kernel(activation, method, nodes)
    r, dirs = _directions(np.stack([w, v]))
    u, _, s = _geometry(dirs[:1], dirs[1:])
    return float(kernel.pair(r[:1], r[1:], u[0], s[0], 0).F[0])


@njit(cache=True)
def _assemble_hessian(Wh, Th, U, Perp, T, c, a, h1, h2, ir, cD, Kss, perm):  # pragma: no cover (numba)
    """The exact Hessian from the pair moments, block by block, written straight into the flat layout.

    Natural index of w_j[i] is j d + i, of a_j is m d + j; ``perm`` maps it to the flat layout.
    With p_jq = th_q - u_jq wh_j (the part of th_q orthogonal to wh_j), the blocks are

    * d2L/dw_j^2 = 2 a_j sum_q c_q d2K(w_j, th_q)/dw_j^2 + a_j^2 d2h(|w_j|)/dw_j^2, where
      d2K/dw^2 = F11 wh wh' + (F1/r - Fu u/r^2) (I - wh wh') + (F1u/r - Fu/r^2)(wh p' + p wh')
      + Fuu p p'/r^2 and d2h/dw^2 = h'' wh wh' + (h'/r)(I - wh wh');
    * d2L/dw_j dw_l = 2 a_j a_l [F12 wh_j wh_l' + c2 wh_j q' + c3 p wh_l' + c4 p q' + c5 (I - wh_l wh_l')]
      with p = p_jl, q = p_lj, c2 = F1u/r_l - Fu/(r_j r_l), c3 = F2u/r_j, c4 = Fuu/(r_j r_l),
      c5 = Fu/(r_j r_l);
    * d2L/da_j dw_l = 2 a_l dK(w_l, w_j)/dw_l (l != j), 2 sum_q c_q dK(w_j, th_q)/dw_j + 2 a_j h' wh_j
      (l = j), and d2L/da_j da_l = 2 K(w_j, w_l).

    The Fuu terms keep p p' and p q' as products: the relu kernel's Fuu grows like 1/|p| as two
    units align, and only the product (of size |p|) is finite.
    """
    F1, Fu, F11, F12, F1u, F2u, Fuu = T[1], T[3], T[4], T[6], T[7], T[8], T[9]
    m, d = Wh.shape
    P = Th.shape[0]
    nW = m * d
    n = nW + m
    H = np.empty((n, n))
    g = np.empty(d)
    vec = np.empty(d)
    for j in range(m):
        rj = ir[j]
        # ---- diagonal block
        alpha = 0.0
        beta = 0.0
        g[:] = 0.0
        for q in range(P):
            if q == j:
                continue
            alpha += c[q] * (F1[j, q] * rj - Fu[j, q] * U[j, q] * rj * rj)
            beta += c[q] * F11[j, q]
            c2 = c[q] * (F1u[j, q] * rj - Fu[j, q] * rj * rj)
            for i in range(d):
                g[i] += c2 * Perp[j, q, i]
        x = 2.0 * a[j] * alpha + a[j] * a[j] * h1[j] * rj
        y = 2.0 * a[j] * (beta - alpha) + a[j] * a[j] * (h2[j] - h1[j] * rj)
        for i in range(d):
            for k in range(i, d):
                v = y * Wh[j, i] * Wh[j, k] + 2.0 * a[j] * (Wh[j, i] * g[k] + g[i] * Wh[j, k])
                if i == k:
                    v += x
                for q in range(P):
                    if q != j:
                        v += 2.0 * a[j] * c[q] * Fuu[j, q] * rj * rj * Perp[j, q, i] * Perp[j, q, k]
                H[perm[j * d + i], perm[j * d + k]] = v
                H[perm[j * d + k], perm[j * d + i]] = v
        # ---- off-diagonal student blocks
        for l in range(m):
            if l == j:
                continue
            rl = ir[l]
            u = U[j, l]
            Aa = 2.0 * a[j] * a[l]
            rr = rj * rl
            c2 = F1u[j, l] * rl - Fu[j, l] * rr
            c3 = F2u[j, l] * rj
            c4 = Fuu[j, l] * rr
            c5 = Fu[j, l] * rr
            c1 = F12[j, l] - u * (c2 + c3)
            for i in range(d):
                for k in range(d):
                    v = (c1 * Wh[j, i] * Wh[l, k] + c2 * Wh[j, i] * Wh[j, k] + (c3 - c5) * Wh[l, i] * Wh[l, k]
                         + c4 * Perp[j, l, i] * Perp[l, j, k])
                    if i == k:
                        v += c5
                    H[perm[j * d + i], perm[l * d + k]] = Aa * v
        # ---- a_j against every w_l and a_l
        for l in range(m):
            if l == j:
                for i in range(d):
                    vec[i] = 2.0 * cD[j, i] + 2.0 * a[j] * h1[j] * Wh[j, i]
            else:
                rl = ir[l]
                s1 = 2.0 * a[l] * (F1[l, j] - Fu[l, j] * U[l, j] * rl)
                s2 = 2.0 * a[l] * Fu[l, j] * rl
                for i in range(d):
                    vec[i] = s1 * Wh[l, i] + s2 * Wh[j, i]
            for i in range(d):
                H[perm[nW + j], perm[l * d + i]] = vec[i]
                H[perm[l * d + i], perm[nW + j]] = vec[i]
            H[perm[nW + j], perm[nW + l]] = 2.0 * Kss[j, l]
    return H


def random_teacher(input_dim: int, teacher_width: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """A seeded teacher: ``teacher_width`` random unit-norm weight vectors in ``R^input_dim`` (rows of
    W, shape (k, d)) and output weights a = 1 (a soft committee machine)."""
    check_positive(input_dim, "input_dim", integer=True)
    check_positive(teacher_width, "teacher_width", integer=True)
    W = as_rng(seed).standard_normal((int(teacher_width), int(input_dim)))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    return W, np.ones(int(teacher_width))


# ----------------------------------------------------------------------------- the objective
class GaussianTeacherStudent:
    """Infinite-data loss, gradient and Hessian of a two-layer student learning a two-layer teacher.

    Parameters
    ----------
    teacher_W : array (k, d)
        Teacher input weights, one row per hidden unit.
    teacher_a : array (k,)
        Teacher output weights.
    student_width : int
        Hidden units ``m`` of the student ``MLP(d, [(m, activation, False), (1, "identity", False)])``.
    activation : str
        Hidden activation of teacher and student (a name in ``neuroflow.mlp.activations``).
    method : "auto" | "closed" | "quadrature" | "series"
        Closed form (relu, erf, normal_cdf), 2-D Gauss–Hermite quadrature, or the Hermite series of the
        correlated pair (1-D quadrature for its coefficients; same accuracy, several times faster for
        tanh, softplus, g, ...); "auto" picks the closed form where one exists, else "quadrature".
    nodes : int, optional
        Quadrature nodes per dimension (for "series": terms of the expansion); default: chosen from
        the weight norms for ~1e-12 accuracy (:func:`quadrature_nodes`).
    backend : str
        Backend of :attr:`student_net` / :attr:`teacher_net` (used for finite-data comparisons).

    Notes
    -----
    ``loss(theta) = E_x[(f(x) - f*(x))**2]`` for ``x ~ N(0, I_d)``: the limit of the finite-data loss
    (mean squared error) as the number of samples grows. The object follows the Objective protocol
    (``n_params``, ``loss``, ``gradient``, ``hessian``, ``loss_and_gradient``), so
    ``neuroflow.train(obj, theta0)`` integrates the infinite-data gradient flow. Gradient and Hessian
    need every student weight vector to be non-zero (the norm/cosine chart is singular at 0). The loss
    is clamped at 0, its true lower bound, which round-off could otherwise undercut near a perfect
    fit. The last evaluation is kept: loss or gradient at the point of the last Hessian come free.
    The Hessian blocks are assembled by a small numba kernel (compiled on first
    use and cached on disk). Biases are not supported: with them the pre-activations are no longer centred and the relu/erf
    closed forms no longer apply.
    """

    def __init__(self, teacher_W, teacher_a, student_width: int, activation: str = "relu", *,
                 method: str = "auto", nodes: int | None = None,
                 backend: str = "numpy"):
        V = check_array(teacher_W, "teacher_W", ndim=2)
        k, d = V.shape
        if d < 1:
            raise ValueError(f"teacher_W: expected input dimension d >= 1, got shape {V.shape}")
        if k < 1:
            raise ValueError(f"teacher_W: expected at least one teacher unit (row), got shape {V.shape}")
        b = np.asarray(teacher_a, dtype=np.float64) if not isinstance(teacher_a, np.ndarray) else teacher_a
        if b.ndim == 2 and b.shape[0] == 1:  # accept the (1, k) output-layer matrix as well
            b = b[0]
        b = check_array(b, "teacher_a", shape=(k,))
        check_positive(student_width, "student_width", integer=True)
        check_choice(method, "method", METHODS)
        if nodes is not None:
            check_positive(nodes, "nodes", integer=True)
            if nodes < 2:
                raise ValueError(f"nodes: expected at least 2 quadrature nodes, got {nodes}")
        from neuroflow.mlp import MLP

        self._kernel = _Kernel(activation, method, nodes)
        self.activation = self._kernel.name
        self.method = self._kernel.method
        self.nodes = nodes
        self.input_dim, self.teacher_width, self.student_width = int(d), int(k), int(student_width)
        self.teacher_W, self.teacher_a = V.copy(), b.copy()
        self.student_net = MLP(d, [(self.student_width, self.activation, False), (1, "identity", False)],
                               backend=backend)
        self.teacher_net = MLP(d, [(k, self.activation, False), (1, "identity", False)], backend=backend)
        self.teacher_params = self.teacher_net.pack([V, b[None, :]])
        self.n_params = self.student_net.n_params
        m = self.student_width
        # where each (unit j, input i) weight and each output weight a_j sits in the flat vector
        idx = self.student_net.unpack(np.arange(self.n_params, dtype=np.float64))
        self._idx_W = idx[0].astype(np.intp)  # (m, d)
        self._idx_a = idx[1][0].astype(np.intp)  # (m,)
        # natural order used internally: w_1, ..., w_m, then a -> position in the flat layout
        self._perm = np.concatenate([self._idx_W.ravel(), self._idx_a])
        self._rV, self._Vh = _directions(V)
        # the teacher-teacher part of the loss is a constant
        u, _, s = _geometry(self._Vh, self._Vh)
        iu = np.triu_indices(k, 1)
        K = np.zeros((k, k))
        if iu[0].size:
            K[iu] = self._kernel.pair(self._rV[iu[0]], self._rV[iu[1]], u[iu], s[iu], 0).F
        K = K + K.T
        K[np.diag_indices(k)] = self._kernel.self_term(self._rV, 0)[0]
        self.teacher_norm2 = float(b @ K @ b)  # E[f*(x)^2]
        self._m = m
        ju, lu = np.triu_indices(m, 1)
        jt, it = np.divmod(np.arange(m * k), k)
        # pair list for the kernel: student pairs j < l, then (student j, teacher i) as unit m + i
        self._pairs = (np.concatenate([ju, jt]), np.concatenate([lu, m + it]), ju.size)
        self._last = None  # (theta bytes, order, (loss, gradient, Hessian)) of the last evaluation

    # ------------------------------------------------------------------ description
    def __repr__(self) -> str:
        return (f"GaussianTeacherStudent(d={self.input_dim}, teacher_width={self.teacher_width}, "
                f"student_width={self.student_width}, activation={self.activation!r}, method={self.method!r})")

    def to_dict(self) -> dict:
        return {"input_dim": self.input_dim, "teacher_width": self.teacher_width,
                "student_width": self.student_width, "activation": self.activation, "method": self.method,
                "nodes": self.nodes, "teacher_W": self.teacher_W.tolist(),
                "teacher_a": self.teacher_a.tolist(), "n_params": self.n_params}

    # ------------------------------------------------------------------ helpers for users
    def random_student(self, seed=None) -> np.ndarray:
        """Glorot-normal student parameters (the student net's ``init_params``)."""
        return self.student_net.init_params(seed)

    def teacher_output(self, X) -> np.ndarray:
        """f*(X) as an (N, 1) array."""
        return self.teacher_net.forward(self.teacher_params, X)

    def sample(self, n_samples: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
        """``n_samples`` standard Gaussian inputs X (N, d) and teacher outputs Y (N, 1), for finite-data runs."""
        check_positive(n_samples, "n_samples", integer=True)
        X = as_rng(seed).standard_normal((int(n_samples), self.input_dim))
        return X, self.teacher_output(X)

    def split(self, theta) -> tuple[np.ndarray, np.ndarray]:
        """Student input weights W (m, d) and output weights a (m,) from flat parameters."""
        theta = self._theta(theta)
        return theta[self._idx_W], theta[self._idx_a]

    # ------------------------------------------------------------------ Objective protocol
    def _theta(self, theta) -> np.ndarray:
        # only the length is checked: an ODE that wanders into NaN gets NaN back, not an exception
        return self.student_net.check_theta(theta, finite=False)

    def loss(self, theta) -> float:
        """E_x[(f(x) - f*(x))^2] for x ~ N(0, I_d)."""
        return self._evaluate(self._theta(theta), 0)[0]

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        loss, grad, _ = self._evaluate(self._theta(theta), 1)
        return loss, grad

    def gradient(self, theta) -> np.ndarray:
        return self._evaluate(self._theta(theta), 1)[1]

    def hessian(self, theta) -> np.ndarray:
        """Exact Hessian of :meth:`loss` (n_params x n_params, symmetric)."""
        return self._evaluate(self._theta(theta), 2)[2]

    def loss_gradient_hessian(self, theta) -> tuple[float, np.ndarray, np.ndarray]:
        """All three at the cost of one Hessian evaluation."""
        return self._evaluate(self._theta(theta), 2)

    # ------------------------------------------------------------------ the computation
    def _evaluate(self, theta: np.ndarray, order: int):
        # optimisers often ask for the Hessian at the point whose gradient they just took (or the
        # other way round): keep the last evaluation and reuse it when it went far enough
        key = theta.tobytes()
        cached = self._last
        if cached is not None and cached[0] == key and cached[1] >= order:
            L, g, H = cached[2]
            return L, (None if g is None else g.copy()), (None if H is None else H.copy())
        result = self._compute(theta, order)
        self._last = (key, order, result)
        L, g, H = result
        return L, (None if g is None else g.copy()), (None if H is None else H.copy())

    def _compute(self, theta: np.ndarray, order: int):
        m, d, k = self._m, self.input_dim, self.teacher_width
        if not np.all(np.isfinite(theta)):
            n = self.n_params
            return (math.nan, np.full(n, math.nan) if order >= 1 else None,
                    np.full((n, n), math.nan) if order == 2 else None)
        W, a = theta[self._idx_W], theta[self._idx_a]
        b = self.teacher_a
        rW, Wh = _directions(W)
        if order > 0 and not np.all(rW > 0.0):
            j = int(np.flatnonzero(rW == 0.0)[0])
            raise ValueError(f"theta: student unit {j} has a zero weight vector; gradient and Hessian are "
                             "taken in norm/cosine coordinates and need every |w_j| > 0")
        # units p = students, then teachers; pair (j, p) always has a student j first
        Th = np.concatenate([Wh, self._Vh])  # unit vectors (m + k, d)
        rP = np.concatenate([rW, self._rV])
        U, Perp, S = _geometry(Wh, Th)  # cosines, perp[j, p] = th_p - u wh_j, s = |perp|
        # one kernel call for the pairs j < l of students and all (student, teacher) pairs
        J, P, n_ss = self._pairs
        mom = self._kernel.pair(rW[J], rP[P], U[J, P], S[J, P], order)
        selfs = self._kernel.self_term(rW, order)
        # moments for every ordered pair (student j, unit p), (m, m + k) each; a student pair seen
        # from its second unit gets the swapped moments (F1 <-> F2, ...), the diagonal stays 0
        M = np.stack(mom[: (1, 4, 10)[order]])
        T = np.zeros((M.shape[0], m, m + k))
        T[:, J, P] = M
        T[:, P[:n_ss], J[:n_ss]] = M[_SWAP[: M.shape[0]], :n_ss]
        c = np.concatenate([a, -b])  # f - f* = sum_p c_p s(th_p . x)
        F = T[0]
        Kss = F[:, :m].copy()
        Kss.flat[:: m + 1] = selfs[0]
        # a difference of O(1) terms: near a perfect fit round-off could make it negative, so it is
        # clamped at its true lower bound 0
        loss = max(float(a @ Kss @ a - 2.0 * a @ (F[:, m:] @ b) + self.teacher_norm2), 0.0)
        if order == 0:
            return loss, None, None

        F1, Fu = T[1], T[3]
        ir = (1.0 / rW)[:, None]
        # dK(w_j, th_p)/dw_j = F1 wh_j + (Fu / r_j) perp_jp; its c-weighted sum over p is
        # cD_j = (sum_p c_p F1) wh_j + sum_p G_jp (th_p - u_jp wh_j) with G = c Fu / r
        G = c * Fu * ir
        cD = ((F1 @ c) - np.einsum("jp,jp->j", G, U))[:, None] * Wh + G @ Th
        h1 = selfs[1]
        gW = 2.0 * a[:, None] * cD + (a * a * h1)[:, None] * Wh
        ga = 2.0 * (Kss @ a - F[:, m:] @ b)
        grad = np.empty(self.n_params)
        grad[self._perm] = np.concatenate([gW.ravel(), ga])
        if order == 1:
            return loss, grad, None

        H = _assemble_hessian(Wh, Th, U, Perp, T, c, a, selfs[1], selfs[2], ir[:, 0], cD, Kss, self._perm)
        return loss, grad, H
