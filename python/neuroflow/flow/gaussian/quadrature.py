"""Gauss–Hermite quadrature of the pair moments: 1-D for the self terms ``E[s(r z)**2]``, a 2-D product
rule over ``(z1, z3)`` for pairs, with ``z2 = u z1 + sqrt(1 - u**2) z3``. Derivatives in ``u`` use Price's
theorem, ``dF/du = r1 r2 E[s'(r1 z1) s'(r2 z2)]``, so no ``1/sqrt(1 - u**2)`` appears.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from neuroflow._utils import is_number
from neuroflow.flow.gaussian.moments import TWO_PI, Moments

__all__ = ["QUADRATURE_ACTIVATIONS", "NODE_LADDER", "gauss_hermite_rule", "quadrature_nodes", "quadrature_pair",
           "quadrature_self"]

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
NODE_LADDER = tuple(sorted({n for n in (round(_MIN_NODES * 1.25 ** i) for i in range(19)) if n < _MAX_NODES}
                            | {_MAX_NODES}))
# a 2-D quadrature block holds at most this many grid values per array (memory bound)
_BLOCK_VALUES = 1_000_000


# ----------------------------------------------------------------------------- quadrature rule
@lru_cache(maxsize=32)
def gauss_hermite_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n``-point Gauss–Hermite rule for E[g(z)], z ~ N(0, 1) (weights sum to 1).

    Nodes with weight below 1e-32 are dropped: for the polynomially bounded integrands here they
    change no sum, and they are most of the nodes of a large rule (an n-point rule reaches out to
    |z| ~ 2 sqrt(n), but only |z| < 12 matters), so the work grows like sqrt(n), not n.
    """
    from scipy.special import roots_hermitenorm  # stable for large n, unlike numpy's hermegauss

    z, w = roots_hermitenorm(n)
    w = w / math.sqrt(TWO_PI)
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
    if not is_number(max_norm) or math.isnan(max_norm) or max_norm < 0:
        raise ValueError(f"max_norm: expected a weight norm >= 0, got {max_norm!r}")
    tau = QUADRATURE_ACTIVATIONS.get(activation, math.pi / 4.0)
    r = max(float(max_norm), 1e-3)
    if r > 1e100:  # past every count below (the square of a norm of 1e155 overflowed: a student unit that a Newton
        return _MAX_NODES  # step sent that far ended the loss and train in "cannot convert float infinity to integer")
    if math.isinf(tau):
        n = 40.0 + 40.0 * r * r
    else:
        n = (36.0 * r / (1.65 * tau)) ** 2
    n = int(math.ceil(n))
    return int(min(max(n, _MIN_NODES), _MAX_NODES))



def quadrature_pair(act, z, w, r1, r2, u, s, order):
    """F and its derivatives by the product rule over (z1, z3), z2 = u z1 + s z3.

    With X = r1 z1, Y = r2 z2 at fixed correlation u:
      F_1 = E[z1 s'(X) s(Y)],  F_11 = E[z1^2 s''(X) s(Y)],  F_12 = E[z1 z2 s'(X) s'(Y)],
      F_u = r1 r2 E[s'(X) s'(Y)] (Price's theorem),  F_uu = (r1 r2)^2 E[s''(X) s''(Y)],
      F_1u = r2 E[s'(X) s'(Y)] + r1 r2 E[z1 s''(X) s'(Y)]   (and symmetrically for 2).
    """
    P, n = r1.shape[0], z.shape[0]
    out = {name: np.empty(P) for name in Moments._fields[: (1, 4, 10)[order]]}
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
    return Moments(**out)


def quadrature_self(act, z, w, r, order):
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
