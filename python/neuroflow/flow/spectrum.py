"""Hessian spectrum at a fixed point: a fixed point is a minimum when no eigenvalue is negative."""
from __future__ import annotations

import numpy as np

from neuroflow._utils import check_array, is_number

__all__ = ["hessian_spectrum", "is_minimum"]


def hessian_spectrum(H) -> np.ndarray:
    """Eigenvalues of the symmetric matrix ``H``, ascending.

    ``H`` is symmetrised first (``(H + H.T) / 2``) so that round-off asymmetry does not produce
    complex eigenvalues; an asymmetry beyond round-off (``sqrt(eps)`` of the largest entry) is refused:
    a matrix that is no Hessian had its asymmetric part dropped, and its "spectrum" returned.
    """
    H = check_array(H, "H", ndim=2)
    if H.shape[0] != H.shape[1]:
        raise ValueError(f"H: expected a square matrix, got shape {H.shape}")
    skew = float(np.max(np.abs(H - H.T), initial=0.0))
    scale = float(np.max(np.abs(H), initial=0.0))
    if skew > np.sqrt(np.finfo(float).eps) * scale:
        raise ValueError(f"H: expected a symmetric matrix (a Hessian), got |H - H.T| up to {skew:.3g} with entries up "
                         f"to {scale:.3g}")
    return np.linalg.eigvalsh(0.5 * (H + H.T))


def is_minimum(H_or_eigenvalues, *, rtol: float = 1e-8, atol: float = 0.0) -> bool:
    """True when the Hessian (or its eigenvalues, a 1-d array) has no eigenvalue below
    ``-(atol + rtol * max|eigenvalue|)``.

    Minima of over-parameterised networks have flat directions (zero eigenvalues up to round-off),
    hence the tolerance; a saddle has a clearly negative eigenvalue.
    """
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not is_number(value, finite=True) or value < 0:
            raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    arr = check_array(H_or_eigenvalues, "H_or_eigenvalues", finite=False)
    ev = hessian_spectrum(arr) if arr.ndim == 2 else check_array(arr, "H_or_eigenvalues", ndim=1)
    if ev.size == 0:
        raise ValueError("H_or_eigenvalues: expected a non-empty matrix or eigenvalue list, got size 0")
    tol = atol + rtol * float(np.max(np.abs(ev)))
    return bool(ev.min() >= -tol)
