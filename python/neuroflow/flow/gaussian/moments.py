"""Pair moments ``F(r1, r2, u) = E[s(r1 z1) s(r2 z2)]`` and their derivatives, and the closed forms.

``(z1, z2)`` are standard normals with correlation ``u``; ``r1, r2`` are the norms of the two weight
vectors (see :mod:`neuroflow.flow.gaussian`). Closed forms exist for ``relu`` (the arc-cosine kernel),
``erf`` and ``normal_cdf`` (an arcsine of the normalised correlation); the other activations go through
:mod:`~neuroflow.flow.gaussian.quadrature` or :mod:`~neuroflow.flow.gaussian.series`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["Moments", "SWAP", "CLOSED_FORM_ACTIVATIONS", "CLOSED_PAIR", "CLOSED_SELF", "TWO_PI", "relu_pair",
           "asin_pair", "relu_self", "asin_self"]

TWO_PI = 2.0 * math.pi

#: activations whose Gaussian expectations have closed forms here
CLOSED_FORM_ACTIVATIONS = ("relu", "erf", "normal_cdf")

# field order of Moments seen from the other unit of the pair: F1 <-> F2, F11 <-> F22, F1u <-> F2u
SWAP = np.array([0, 2, 1, 3, 5, 4, 6, 8, 7, 9])


class Moments(NamedTuple):
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


def relu_pair(r1, r2, u, s, order):
    """Arc-cosine kernel: F = r1 r2 k(u), k = (s + (pi - t) u) / (2 pi), t = atan2(s, u)."""
    t = np.arctan2(s, u)
    k = (s + (math.pi - t) * u) / TWO_PI
    F = r1 * r2 * k
    if order == 0:
        return Moments(F)
    dk = (math.pi - t) / TWO_PI
    F1, F2, Fu = r2 * k, r1 * k, r1 * r2 * dk
    if order == 1:
        return Moments(F, F1, F2, Fu)
    zero = np.zeros_like(F)
    # k'' = 1 / (2 pi s) is singular at u = +-1, but the chain rule only ever multiplies it by the
    # outer product of cosine gradients, whose norm is s**2 / r**2: the product is O(s) and vanishes
    # at s = 0, where we set the (then unused) coefficient to 0.
    with np.errstate(divide="ignore"):
        d2k = np.where(s > 0.0, 1.0 / (TWO_PI * np.where(s > 0.0, s, 1.0)), 0.0)
    return Moments(F, F1, F2, Fu, zero, zero, k, r2 * dk, r1 * dk, r1 * r2 * d2k)


def asin_pair(scale, offset):
    """F = offset + scale * asin(A(r1) A(r2) u), A(r) = r / sqrt(1 + r**2) (erf and normal_cdf)."""

    def pair(r1, r2, u, s, order):
        q1, q2 = 1.0 + r1 * r1, 1.0 + r2 * r2
        A1, A2 = r1 / np.sqrt(q1), r2 / np.sqrt(q2)
        t = A1 * A2 * u  # |t| <= A1 A2 < 1
        F = offset + scale * np.arcsin(t)
        if order == 0:
            return Moments(F)
        g = 1.0 / np.sqrt(1.0 - t * t)
        d1 = scale * g  # dF/dt
        dA1, dA2 = q1 ** -1.5, q2 ** -1.5
        t1, t2, tu = dA1 * A2 * u, A1 * dA2 * u, A1 * A2
        F1, F2, Fu = d1 * t1, d1 * t2, d1 * tu
        if order == 1:
            return Moments(F, F1, F2, Fu)
        d2 = scale * t * g ** 3  # d2F/dt2
        ddA1, ddA2 = -3.0 * r1 * q1 ** -2.5, -3.0 * r2 * q2 ** -2.5
        return Moments(
            F, F1, F2, Fu,
            d2 * t1 * t1 + d1 * ddA1 * A2 * u,
            d2 * t2 * t2 + d1 * A1 * ddA2 * u,
            d2 * t1 * t2 + d1 * dA1 * dA2 * u,
            d2 * t1 * tu + d1 * dA1 * A2,
            d2 * t2 * tu + d1 * A1 * dA2,
            d2 * tu * tu,
        )

    return pair


def relu_self(r, order):
    out = [0.5 * r * r]
    if order >= 1:
        out.append(np.array(r, dtype=np.float64, copy=True))
    if order >= 2:
        out.append(np.ones_like(r))
    return out


def asin_self(scale, offset):
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


CLOSED_PAIR = {
    "relu": relu_pair,
    "erf": asin_pair(2.0 / math.pi, 0.0),
    "normal_cdf": asin_pair(1.0 / TWO_PI, 0.25),
}
CLOSED_SELF = {
    "relu": relu_self,
    "erf": asin_self(2.0 / math.pi, 0.0),
    "normal_cdf": asin_self(1.0 / TWO_PI, 0.25),
}
