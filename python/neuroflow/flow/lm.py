"""Levenberg-Marquardt for an MLP's squared error: the polisher for students that stop short of zero loss.

The MLP loss is a sum of squares, ``L = |r|^2 / N`` with residuals ``r = yhat - y``. Near a zero-residual
point the Gauss-Newton matrix ``J^T J`` is the Hessian, so a damped Gauss-Newton step (Levenberg-Marquardt)
converges like Newton's method without the second-derivative term, and with the damping it moves along the
long, flat valleys where first-order methods and L-BFGS crawl (measured on a student of the deep suite's
development teacher d01: from L-BFGS's relative loss 2.6e-6 to 4.6e-20 in 2000 steps, 24 s;
``benchmarks/identify.py lm``, ``benchmarks/results/identify_deep_lm.json``).

Each iteration solves ``(J^T J + mu D) h = -J^T r`` by Cholesky, ``D`` the diagonal of ``J^T J`` floored at
1e-12 of its largest entry (Marquardt's scaling, as MINPACK's ``lmder``), and updates ``mu`` by the gain ratio
(Nielsen's rule: shrink by up to 3x on a good step, double the growth factor on each rejected one). Steps are
counted, never timed, so a run is the same on any machine. ``J^T J`` and ``J^T r`` are accumulated over chunks
of samples, so memory stays at ``P^2`` plus one chunk of the Jacobian (:meth:`neuroflow.MLP.jacobian`).
MINPACK's ``lmder`` (``scipy.optimize.least_squares(method="lm")``) gets as far in as many steps but factorises
the whole ``N x P`` Jacobian by QR at every step: 4.2-4.7x slower in that benchmark.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from neuroflow._utils import check_array, check_memory, is_integer, is_number

__all__ = ["LMResult", "levenberg_marquardt", "mlp_least_squares"]

#: Jacobian entries held at once while accumulating J^T J (8 bytes each: 128 MB)
CHUNK_ENTRIES = 2**24


@dataclass
class LMResult:
    """What :func:`levenberg_marquardt` returns: the point, its half squared residual ``F``, the steps tried
    and accepted, and why it stopped ("min_value", "small_step", "max_iter" or "stalled")."""

    x: np.ndarray
    value: float
    iterations: int
    accepted: int
    stopped_by: str


def levenberg_marquardt(normal, value, x0, *, max_iter: int, min_value: float = 0.0, xtol: float = 1e-15,
                        mu0: float = 1e-3) -> LMResult:
    """Minimise ``F(x) = |r(x)|^2 / 2`` by Levenberg-Marquardt.

    Parameters
    ----------
    normal : callable
        ``normal(x) -> (F, A, g)``: the value, ``A = J^T J`` and ``g = J^T r`` at ``x``.
    value : callable
        ``value(x) -> F`` (trial points; NaN or inf rejects the step).
    x0 : array
        Start.
    max_iter : int
        Steps tried (accepted or not).
    min_value : float
        Stop once ``F <= min_value``.
    xtol : float
        Stop when an accepted step is below ``xtol * (|x| + xtol)``.
    mu0 : float
        Initial damping, relative to Marquardt's scaling.
    """
    for name, f in (("normal", normal), ("value", value)):   # normal=5 ended in "'int' object is not callable"
        if not callable(f):
            raise ValueError(f"{name}: expected a callable, got {type(f).__name__}")
    if not is_integer(max_iter) or max_iter < 0:
        raise ValueError(f"max_iter: expected a non-negative integer, got {max_iter!r}")
    if not is_number(min_value) or math.isnan(min_value):
        raise ValueError(f"min_value: expected a number (or -inf), got {min_value!r}")
    if not is_number(xtol, finite=True) or xtol < 0:
        raise ValueError(f"xtol: expected a finite number >= 0, got {xtol!r}")
    if not is_number(mu0, finite=True) or mu0 <= 0:
        raise ValueError(f"mu0: expected a finite number > 0, got {mu0!r}")
    x = np.array(check_array(x0, "x0", ndim=1), dtype=float)
    F, A, g = normal(x)
    mu, nu, it, accepted, why = float(mu0), 2.0, 0, 0, "max_iter"
    while it < int(max_iter):
        if F <= min_value:
            why = "min_value"
            break
        it += 1
        diag = np.diag(A)
        D = np.maximum(diag, 1e-12 * max(float(diag.max()), 1e-300))
        try:
            h = -cho_solve(cho_factor(A + mu * np.diag(D), check_finite=False), g, check_finite=False)
        except (LinAlgError, ValueError):
            h = None
        if h is not None and np.all(np.isfinite(h)):
            Fn = value(x + h)
            predicted = 0.5 * float(h @ (mu * D * h - g))
            rho = (F - Fn) / predicted if predicted > 0 and np.isfinite(Fn) else -1.0
        else:
            rho = -1.0
        if rho > 0:
            x = x + h
            accepted += 1
            F, A, g = normal(x)
            mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            nu = 2.0
            if float(np.linalg.norm(h)) <= xtol * (float(np.linalg.norm(x)) + xtol):
                why = "small_step"
                break
        else:
            mu *= nu
            nu *= 2.0
            if not np.isfinite(mu) or mu > 1e300:
                why = "stalled"
                break
    if why == "max_iter" and F <= min_value:
        why = "min_value"
    return LMResult(x, float(F), it, accepted, why)


def mlp_least_squares(net, theta, X, Y, *, max_iter: int, min_loss: float = 0.0) -> LMResult:
    """:func:`levenberg_marquardt` on ``net``'s loss on (X, Y) from ``theta``; ``min_loss`` is in the
    loss's own units (mean over samples of the summed squared error), and so is the result's ``value``."""
    from neuroflow.mlp import MLP

    if not isinstance(net, MLP):   # None ended in "'NoneType' object has no attribute 'check_data'"
        raise ValueError(f"net: expected a neuroflow.mlp.MLP, got {type(net).__name__}")
    if not is_number(min_loss) or math.isnan(min_loss):  # checked here: levenberg_marquardt sees it rescaled
        raise ValueError(f"min_loss: expected a number (or -inf), got {min_loss!r}")
    X, Y, _ = net._check_targets(X, Y, None)   # Y=None was "'NoneType' object is not subscriptable"
    N = X.shape[0]
    rows = max(1, CHUNK_ENTRIES // max(1, net.n_params * net.output_dim))
    P = net.n_params  # A, its Cholesky factor and the damped copy: numpy's MemoryError named nothing before
    check_memory(8 * (3 * P * P + 2 * rows * net.output_dim * P), f"net (Levenberg-Marquardt keeps {P} x {P} matrices)")

    def value(th):
        r = net._forward(th, X) - Y
        return 0.5 * float(np.einsum("no,no->", r, r))

    def normal(th):
        P = net.n_params
        A, g, F = np.zeros((P, P)), np.zeros(P), 0.0
        for s in range(0, N, rows):
            J, out = net._jacobian(th, X[s:s + rows])
            J = J.reshape(-1, P)
            r = (out - Y[s:s + rows]).ravel()
            A += J.T @ J
            g += J.T @ r
            F += 0.5 * float(r @ r)
        return F, A, g

    res = levenberg_marquardt(normal, value, net.check_theta(theta), max_iter=max_iter, min_value=0.5 * N * min_loss)
    res.value = 2.0 * res.value / N
    return res
