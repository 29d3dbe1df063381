"""Per-activation symmetries of a hidden neuron, and canonical forms that remove them before clustering.

A hidden neuron is its incoming vector ``u = [w | b]`` (bias last) and its outgoing weights ``a`` (one
per unit of the next layer). Rewrites that leave the network's function unchanged:

=============  ==========================================  =======================================
class          activations                                 rewrite
=============  ==========================================  =======================================
odd            tanh, erf                                   (u, a) -> (-u, -a)
odd_constant   sigmoid, normal_cdf  (f(-z) = 1 - f(z))     (u, a) -> (-u, -a), output bias += a
even_linear    softplus, gelu, silu (f(z) - f(-z) = z)     (u, a) -> (-u, a), skip path += a u^T
relu           relu (also positively homogeneous)          as even_linear, and (u, a) -> (u/c, c a)
none           g                                           none
=============  ==========================================  =======================================

Clustering therefore compares incoming vectors by their angle, sign-invariant for every class but
``none``; the even+linear "covert" linear term is carried by a linear
skip path (input -> output) in the reduced network.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SYMMETRY_CLASS = {
    "tanh": "odd",
    "erf": "odd",
    "sigmoid": "odd_constant",
    "normal_cdf": "odd_constant",
    "softplus": "even_linear",
    "gelu": "even_linear",
    "silu": "even_linear",
    "relu": "relu",
    "g": "none",
}


def symmetry_class(activation: str) -> str:
    """The symmetry class of an activation ("odd", "odd_constant", "even_linear", "relu" or "none")."""
    try:
        return SYMMETRY_CLASS[activation]
    except KeyError:
        raise ValueError(
            f"activation: no symmetry rule for {activation!r}; expected one of {sorted(SYMMETRY_CLASS)}"
        ) from None


def has_sign_symmetry(activation: str) -> bool:
    return symmetry_class(activation) != "none"


def needs_skip(activation: str) -> bool:
    """Whether flipping a neuron's sign leaves a linear term behind (carried by a skip path)."""
    return symmetry_class(activation) in ("even_linear", "relu")


def sign_mode(depth: int, activation: str):
    """The ``sign`` argument of the angle and clustering functions for a net with ``depth`` hidden layers:
    False (signs kept) where a flipped neuron would leave a linear term that only a skip path could carry --
    a deep net with such an activation has none around its inner layers -- else None (the activation's own
    symmetry)."""
    return False if depth > 1 and needs_skip(activation) else None


def is_scale_free(activation: str) -> bool:
    return symmetry_class(activation) == "relu"


@dataclass
class CanonicalNeurons:
    """Canonical incoming vectors ``u`` (n, d+1), outgoing weights ``a`` (n, d_out), the signs and
    scales that were applied, and what moved downstream: ``constant`` (d_out,) into the output bias,
    ``linear`` (d_out, d+1) into the skip path (its last column is a constant)."""

    u: np.ndarray
    a: np.ndarray
    signs: np.ndarray
    scales: np.ndarray
    constant: np.ndarray
    linear: np.ndarray


def canonical_signs(u: np.ndarray) -> np.ndarray:
    """+1/-1 per row: the sign that makes the row's largest-magnitude entry positive."""
    idx = np.argmax(np.abs(u), axis=1)
    s = np.sign(u[np.arange(u.shape[0]), idx])
    s[s == 0] = 1.0
    return s


def uses_sign(activation: str, sign: bool | None = None) -> bool:
    """Whether sign flips are treated as a symmetry (the activation has one and `sign` is not False)."""
    return has_sign_symmetry(activation) if sign is None else bool(sign) and has_sign_symmetry(activation)


def canonicalize(u, a, activation: str, signs=None, *, sign: bool | None = None) -> CanonicalNeurons:
    """Rewrite neurons (rows of ``u`` with outgoing rows of ``a``) into canonical form without changing
    the function, returning what was moved to the output bias and the skip path.

    ``signs`` overrides the default rule (:func:`canonical_signs`), e.g. to align members of a cluster;
    ``sign=False`` leaves signs alone (deep networks with even+linear units, which have no skip path).
    """
    u = np.array(u, dtype=float, copy=True)
    a = np.array(a, dtype=float, copy=True)
    if a.ndim == 1:
        a = a[:, None]
    cls = symmetry_class(activation)
    n, d_out = u.shape[0], a.shape[1]
    constant = np.zeros(d_out)
    linear = np.zeros((d_out, u.shape[1]))
    scales = np.ones(n)
    if cls == "relu":
        scales = np.linalg.norm(u, axis=1)
        scales[scales == 0] = 1.0
        u /= scales[:, None]
        a *= scales[:, None]
    if not uses_sign(activation, sign):
        return CanonicalNeurons(u, a, np.ones(n), scales, constant, linear)
    s = canonical_signs(u) if signs is None else np.asarray(signs, dtype=float)
    flip = s < 0
    if cls == "odd":
        a[flip] *= -1
    elif cls == "odd_constant":
        constant += a[flip].sum(axis=0)
        a[flip] *= -1
    else:  # even_linear and relu: f(z) = f(-z) + z
        linear += a[flip].T @ u[flip]
    u[flip] *= -1
    return CanonicalNeurons(u, a, s, scales, constant, linear)


def pairwise_distances(u: np.ndarray, activation: str, *, sign: bool | None = None) -> np.ndarray:
    """Symmetry-aware angular distances (radians) between rows of canonical vectors ``u``: the angle
    between u and v, or between u and -v if smaller where the activation has a sign symmetry.

    Angles rather than Euclidean distances: a student often spreads one target neuron over a few
    collinear copies of different norms (near-degenerate directions), and tiny leftover vectors near
    the origin would otherwise look alike whatever their direction.
    """
    d = np.radians(angles_deg(u, u, activation, sign=sign))
    np.fill_diagonal(d, 0.0)
    return 0.5 * (d + d.T)


def angles_deg(u: np.ndarray, v: np.ndarray, activation: str, *, sign: bool | None = None) -> np.ndarray:
    """Symmetry-aware angles (degrees) between every row of ``u`` and every row of ``v``:
    arccos|cos| where the activation has a sign symmetry, arccos(cos) otherwise."""
    u = np.atleast_2d(u)
    v = np.atleast_2d(v)
    if u.ndim != 2 or v.ndim != 2 or u.shape[1] != v.shape[1]:   # a matmul error named neither argument
        raise ValueError(f"u, v: expected rows of one length (vectors [w | b] over the same inputs), got shapes "
                         f"{u.shape} and {v.shape}")
    nu = np.linalg.norm(u, axis=1)
    nv = np.linalg.norm(v, axis=1)
    cos = (u @ v.T) / np.maximum(nu[:, None] * nv[None, :], 1e-300)
    if uses_sign(activation, sign):
        cos = np.abs(cos)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
