"""The Hermite (Mehler) series of the correlated pair, ``F = sum_n c_n(r1) c_n(r2) u**n`` with
``c_n(r) = E[s(r z) He_n(z)] / sqrt(n!)`` from 1-D Gauss–Hermite quadrature: the same values as the 2-D
rule to ~1e-13, several times faster, because a pair costs O(terms) instead of a 2-D grid.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from neuroflow.flow.gaussian.moments import TWO_PI, Moments

__all__ = ["SERIES_MAX_TERMS", "series_rule", "series_coefficients", "series_self", "series_pair"]

# the series keeps at most this many terms (its table of Hermite functions is terms x (terms + 60));
# by the node-count rule, enough for norms up to about 2.7 (tanh), 5 (softplus, sigmoid, silu), 1.3 (g)
SERIES_MAX_TERMS = 1500


@lru_cache(maxsize=8)
def series_rule(K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes z, scaled weights w e^(z^2/4) and the Hermite functions
    psi_n(z) = He_n(z) e^(-z^2/4) / sqrt(n!), n = 0..K, at the nodes (K + 1, n_nodes).

    Hermite functions obey a recurrence that stays bounded where He_n itself would overflow; the
    rule has K + 60 nodes, enough to integrate s(r z) He_n(z) for every n <= K.
    """
    from scipy.special import roots_hermitenorm

    z, w = roots_hermitenorm(K + 60)
    keep = w > 0.0  # far nodes whose weight underflows contribute below e^(-350)
    z, w = z[keep], w[keep] / math.sqrt(TWO_PI)
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


def series_coefficients(act, K, norms, order):
    """c_n(r), c_n'(r), c_n''(r) (up to ``order``) for each norm, shape (len(norms), K + 1)."""
    z, ws, psi = series_rule(K)
    X = norms[:, None] * z
    C = [(act.f(X) * ws) @ psi.T]
    if order >= 1:
        C.append((act.df(X) * (ws * z)) @ psi.T)
    if order >= 2:
        C.append((act.d2f(X) * (ws * z * z)) @ psi.T)
    return C


def series_self(act, K, r, order):
    """h(r) = F(r, r, 1) = sum_n c_n^2 and its derivatives, from the same series as the pairs (so
    that a student unit on top of a teacher unit cancels it to round-off)."""
    C = series_coefficients(act, K, r, order)
    out = [np.einsum("un,un->u", C[0], C[0])]
    if order >= 1:
        out.append(2.0 * np.einsum("un,un->u", C[0], C[1]))
    if order >= 2:
        out.append(2.0 * (np.einsum("un,un->u", C[1], C[1]) + np.einsum("un,un->u", C[0], C[2])))
    return out


def series_pair(act, K, r1, r2, u, order):
    """F and its derivatives from the Hermite (Mehler) expansion of the correlated pair:

        F(r1, r2, u) = sum_n c_n(r1) c_n(r2) u^n,    c_n(r) = E[s(r z) He_n(z)] / sqrt(n!),

    with c_n' = E[z s'(r z) He_n] / sqrt(n!) and c_n'' = E[z^2 s''(r z) He_n] / sqrt(n!) from 1-D
    Gauss–Hermite quadrature, once per distinct norm. A pair then costs O(K) instead of a 2-D grid.
    """
    norms, inv = np.unique(np.concatenate([r1, r2]), return_inverse=True)
    C = series_coefficients(act, K, norms, order)
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
        return Moments(F)
    A1, B1 = C[1][i1], C[1][i2]
    Un1 = np.zeros_like(Un)
    Un1[:, 1:] = n[1:] * Un[:, :-1]  # n u^(n-1)
    moments = [F, S(A1, B0, Un), S(A0, B1, Un), S(A0, B0, Un1)]
    if order == 1:
        return Moments(*moments)
    A2, B2 = C[2][i1], C[2][i2]
    Un2 = np.zeros_like(Un)
    Un2[:, 2:] = n[2:] * (n[2:] - 1.0) * Un[:, :-2]  # n (n - 1) u^(n-2)
    moments += [S(A2, B0, Un), S(A0, B2, Un), S(A1, B1, Un), S(A1, B0, Un1), S(A0, B1, Un1), S(A0, B0, Un2)]
    return Moments(*moments)
