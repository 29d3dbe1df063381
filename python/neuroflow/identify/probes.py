"""Probes: Gaussian inputs, and inputs designed from a reconstructed first layer for a deep net's later layers.

Under Gaussian probes every first-layer unit is partly active at once, so a second-layer unit with mostly
positive weights and a positive bias never leaves its near-linear range, where other units can stand in for
it. :func:`designed_probes` gives the first layer *sparse* activity instead: each unit is, independently,
"on" with probability :data:`DESIGN_P_ON`, its pre-activation uniform in :data:`DESIGN_ON`, and otherwise
held at :data:`DESIGN_OFF` (g, softplus, relu, sigmoid: silent; tanh, erf: saturated), which drives the
second layer's units through their nonlinear range. The input is solved for: the least-norm solution of
``W x = z - b`` plus a standard Gaussian component in ``W``'s null space (exact targets when the layer is
no wider than the input, the least-squares best otherwise).

A unit whose incoming weights are under :data:`DESIGN_MIN_NORM` of the layer's largest is not designed for:
it is a constant to the input (students that reach rounding-level loss park spare units there, with weights
~1e-8), and the least-norm input that moved its pre-activation by the design's range would be ~1e9 long (deep
suite d18: probes that overflowed ``exp`` and second-stage students that stopped at relative loss 1e-2).

Nor are directions in which the layer's weights are nearly degenerate: singular values under
:data:`DESIGN_RCOND` of the largest are left out of the pseudo-inverse. Two clusters that split one neuron lie a
few degrees apart, and steering them independently takes inputs along their small difference: the seed-2 digits
teacher's first layer came out with three such pairs (3.5-5.3 deg; smallest singular value 0.005 of the largest,
0.11-0.15 for every digits teacher and 0.05-0.51 for the deep suite's), its designed probes were ~10x as long as
the other teachers' (median norm 196 against 20) and every second-stage student stopped at relative loss
2e-2; not steering those three directions gives probes of the usual length, the pair the least-squares compromise
of its two targets, and students at 1.5e-3.

The three numbers were picked on the seed-0 digits teacher, by comparing, without training, how much
nonlinear signal each of its second-layer neurons carries under a few designs; every other teacher
(digits seeds 1-4, the deep suite) is a test of them.
"""
from __future__ import annotations

import numpy as np

from neuroflow._utils import as_rng, check_array, check_memory, check_positive

__all__ = ["DESIGN_P_ON", "DESIGN_ON", "DESIGN_OFF", "DESIGN_MIN_NORM", "DESIGN_RCOND", "gaussian_probes",
           "designed_probes", "unsteered_directions", "mix_designed_probes", "query_designed_probes"]

DESIGN_P_ON = 0.25
DESIGN_ON = (0.0, 8.0)
DESIGN_OFF = -6.0
#: units with incoming weights below this share of the layer's largest are constants, left out of the design
DESIGN_MIN_NORM = 1e-3
#: directions of the layer's weights with a singular value under this share of the largest are not steered
DESIGN_RCOND = 0.02


def gaussian_probes(n: int, input_dim: int, seed=None, *, scale: float = 1.0) -> np.ndarray:
    """``n`` probes drawn from N(0, scale^2 I) in ``input_dim`` dimensions (ValueError naming a count or scale of no
    use: -1 said "negative dimensions are not allowed", 2.5 was taken as 2, a NaN scale gave NaN probes, 1e13 probes
    asked numpy for 218 TiB)."""
    check_positive(n, "n", integer=True)
    check_positive(input_dim, "input_dim", integer=True)
    check_positive(scale, "scale")
    check_memory(8 * int(n) * int(input_dim), "n")
    return scale * as_rng(seed).standard_normal((int(n), int(input_dim)))


def designed_probes(first, n: int, seed=None, *, p_on: float = DESIGN_P_ON, on=DESIGN_ON,
                    off: float = DESIGN_OFF) -> np.ndarray:
    """``n`` probes that give a first layer ``first`` sparse activity.

    Parameters
    ----------
    first : array (k, d_in + 1)
        The layer's incoming vectors [W | b].
    n : int
        Number of probes.
    seed : int, Generator or None
        Randomness.
    p_on, on, off : float, (float, float), float
        Each unit's pre-activation is, independently, uniform in ``on`` with probability ``p_on`` and
        ``off`` otherwise (units with weights under ``DESIGN_MIN_NORM`` of the largest are left out, and so
        are directions with singular values under ``DESIGN_RCOND`` of the largest).

    Returns
    -------
    array (n, d_in)
    """
    rng = as_rng(seed)
    first = check_array(first, "first", ndim=2)
    check_positive(n, "n", integer=True)
    check_memory(8 * 4 * int(n) * (first.shape[0] + first.shape[1]), "n")   # Z, X, noise and a product
    W, b = first[:, :-1], first[:, -1]
    k = W.shape[0]
    Z = np.where(rng.random((n, k)) < p_on, rng.uniform(on[0], on[1], (n, k)), off)
    steer = _steered(W)
    W, Z, b = W[steer], Z[:, steer], b[steer]
    pinv = np.linalg.pinv(W, rcond=DESIGN_RCOND)
    X = (Z - b) @ pinv.T
    noise = rng.standard_normal((n, W.shape[1]))
    return X + noise - (noise @ W.T) @ pinv.T


def _steered(W) -> np.ndarray:
    """Which units (rows of W) a design steers: those not under ``DESIGN_MIN_NORM`` of the largest norm."""
    norms = np.linalg.norm(W, axis=1)
    return norms >= DESIGN_MIN_NORM * norms.max()


def unsteered_directions(first) -> int:
    """How many directions of a layer ``first`` (k, d_in + 1) a design leaves unsteered: singular values of the
    steered units' weights under ``DESIGN_RCOND`` of the largest (nearly parallel units; 0 for a layer of
    distinct neurons). For a layer wider than its input the count is over its d_in singular values only, which
    need not reveal nearly parallel units."""
    first = check_array(first, "first", ndim=2)
    W = first[:, :-1][_steered(first[:, :-1])]
    sv = np.linalg.svd(W, compute_uv=False)
    return int(np.sum(sv < DESIGN_RCOND * sv[0]))


def mix_designed_probes(X, first, share: float, seed=None) -> tuple[np.ndarray, int]:
    """``X`` with its last ``round(share * len(X))`` rows replaced by :func:`designed_probes` for the first
    layer ``first``; returns the mixed probes and how many rows are designed (the last ones)."""
    n_new = int(round(share * X.shape[0]))
    if n_new == 0:
        return X, 0
    return np.vstack([X[: X.shape[0] - n_new], designed_probes(first, n_new, seed)]), n_new


def query_designed_probes(X, Y, query, first, share: float, seed=None) -> tuple[np.ndarray, np.ndarray, int]:
    """Replace the last ``share`` of the probes by :func:`designed_probes` for the first layer ``first``
    and ask ``query`` (the target, X -> Y) for their outputs; returns the probes, targets and how many
    rows are designed."""
    X, n_new = mix_designed_probes(X, first, share, seed)
    if n_new == 0:
        return X, Y, 0
    Yd = np.asarray(query(X[-n_new:]), dtype=float).reshape(n_new, -1)
    finite = bool(np.all(np.isfinite(Yd)))
    if Yd.shape[1] != Y.shape[1] or not finite:
        raise ValueError(f"query: expected finite outputs of shape ({n_new}, {Y.shape[1]}) on the designed "
                         f"probes, got shape {Yd.shape}" + ("" if finite else " with NaN/inf"))
    return X, np.vstack([Y[:-n_new], Yd]), n_new
