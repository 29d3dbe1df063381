"""Phase 2 of ``train``: polishing the best point of the gradient flow to a fixed point.

``newton`` is a trust-region Newton method with the exact Hessian, the subproblem solved exactly in
the Hessian's eigenbasis (small nets: one eigendecomposition per iteration); the other methods are
SciPy's ``minimize`` (BFGS, L-BFGS-B, trust-exact, trust-krylov). Every evaluation is recorded by the
:class:`~neuroflow.flow._tracking.Problem`, which keeps the best point seen, so the phase can never
hand back a worse point than it started from.
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import scipy.optimize

from neuroflow.flow._tracking import LOSS_RTOL, PhaseProgress, Problem, Stop

__all__ = ["OPTIM_METHODS", "optim_phase", "trust_region_step", "newton_eig"]

#: friendly name -> scipy.optimize.minimize method ("newton-eig": our own trust-region Newton)
OPTIM_METHODS = {"newton": "newton-eig", "trust-exact": "trust-exact", "trust-krylov": "trust-krylov",
                 "bfgs": "BFGS", "lbfgs": "L-BFGS-B", "none": None}


def trust_region_step(ev, c, radius):
    """Exact trust-region step in the eigenbasis of the Hessian: minimise ``c.p + p.diag(ev).p / 2``
    over ``|p| <= radius`` (Moré-Sorensen, solved on the secular equation).

    Parameters
    ----------
    ev : array (n,)
        Hessian eigenvalues, ascending.
    c : array (n,)
        The gradient in the eigenbasis.
    radius : float
        Trust radius.

    Returns
    -------
    p : array (n,)
        The step in the eigenbasis.
    lam : float
        The Lagrange multiplier (0 for an interior Newton step).
    """
    lam_min = float(ev[0])
    if lam_min > 0:
        p = -c / ev
        if np.linalg.norm(p) <= radius:
            return p, 0.0
    lo = max(0.0, -lam_min)
    shifted = ev - lam_min
    # hard case: no gradient component along the lowest eigenvector(s)
    small = shifted <= 1e-12 * max(1.0, float(np.abs(ev).max()))
    if lam_min <= 0 and np.all(np.abs(c[small]) <= 1e-300):
        p = np.zeros_like(c)
        big = ~small
        p[big] = -c[big] / (ev[big] - lam_min)
        rest = radius**2 - float(p @ p)
        if rest > 0:
            p[np.argmax(small)] = math.sqrt(rest)
            return p, lo

    # secular equation 1/|p(lam)| = 1/radius, monotone in lam > lo
    def pnorm(lam):
        return float(np.linalg.norm(c / (ev + lam)))

    hi = lo + float(np.linalg.norm(c)) / radius + 1.0
    while pnorm(hi) > radius:
        hi *= 2.0
    a, b = lo, hi
    for _ in range(100):
        lam = 0.5 * (a + b) if b - a > 1e-15 * max(1.0, b) else b
        if pnorm(lam) > radius:
            a = lam
        else:
            b = lam
        if b - a <= 1e-14 * max(1.0, b):
            break
    return -c / (ev + b), b


def newton_eig(fun, hess, x0, *, maxiterations: int, callback) -> np.ndarray:
    """Newton trust region with the exact Hessian, solved in the Hessian's eigenbasis.

    A step is judged by the ratio of actual to predicted loss decrease, except where the loss cannot
    resolve the prediction (a predicted decrease below ``LOSS_RTOL * |L|``): there a step is accepted
    when it shrinks the gradient, so that the last quadratically convergent steps are not rejected as
    noise. Which iterate is reported is decided by the caller's record of every evaluation, not here.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (loss, gradient)``.
    hess : callable
        ``hess(x) -> Hessian``.
    x0 : array
        Start.
    maxiterations : int
        Accepted iterations (one Hessian each); rejected trial steps do not count.
    callback : callable
        Called after every accepted iteration.

    Returns
    -------
    array
        The last accepted point.
    """
    x = np.array(x0, dtype=np.float64, copy=True)
    L, g = fun(x)
    radius = max(1.0, float(np.linalg.norm(x))) * 0.1
    for _ in range(maxiterations):
        H = hess(x)
        ev, V = np.linalg.eigh(0.5 * (H + H.T))
        c = V.T @ g
        while True:
            pt, _ = trust_region_step(ev, c, radius)
            p = V @ pt
            pred = float(c @ pt + 0.5 * (ev * pt) @ pt)  # predicted change (negative)
            Ln, gn = fun(x + p)
            if -pred <= LOSS_RTOL * abs(L) + 1e-300:  # the loss cannot tell: accept if the gradient shrinks
                ok = np.max(np.abs(gn)) < np.max(np.abs(g))
                rho = 1.0 if ok else 0.0
            else:
                rho = (Ln - L) / pred if math.isfinite(Ln) else -1.0
                ok = rho > 1e-4
            step = float(np.linalg.norm(pt))
            if rho < 0.25:
                radius = 0.25 * step
            elif rho > 0.75 and step >= 0.99 * radius:
                radius = 2.0 * radius
            if ok:
                x, L, g = x + p, Ln, gn
                break
            if radius < 1e-300:
                raise Stop("trust region collapsed")
        callback(None)
    return x


def optim_phase(prob: Problem, x0, *, method: str, maxtime: float | None, maxiterations: int, min_gnorm: float,
                min_loss: float, show_progress: bool) -> dict:
    """Polish from ``x0`` with ``method`` (a value of :data:`OPTIM_METHODS`).

    Parameters
    ----------
    prob : Problem
        The objective with its barrier and best-point record (phase 2 from here on).
    x0 : array
        Start (the best point of the gradient flow).
    method : str
        "newton-eig" or a ``scipy.optimize.minimize`` method.
    maxtime : float or None
        Optional wall-clock cap.
    maxiterations : int
        Accepted iterations.
    min_gnorm, min_loss : float
        Convergence thresholds.
    show_progress : bool

    Returns
    -------
    dict
        ``reason`` (why it stopped), ``steps`` (accepted iterations) and ``time`` (seconds).
    """
    start = time.perf_counter()
    prob.phase = 2
    iters = [0]
    bar = PhaseProgress(show_progress, f"polish ({method})", prob.best[1], min_gnorm, maxiterations, "it")

    def over_time() -> bool:
        return maxtime is not None and time.perf_counter() - start >= maxtime

    def fun(x):
        if over_time():
            raise Stop("maxtime")
        L, g = prob.evaluate(x)
        gn = prob.record(x, L, g)
        if not (math.isfinite(L) and math.isfinite(gn)):
            raise Stop("diverged (NaN/inf in loss or gradient)")
        if gn <= min_gnorm:
            raise Stop("min_gnorm")
        if L <= min_loss:
            raise Stop("min_loss")
        return prob.total(x)

    def callback(intermediate_result):
        iters[0] += 1
        bar.update(iters[0], prob.best[0], prob.best[1], prob.best[1])
        if over_time():
            raise StopIteration

    options: dict[str, Any] = {"maxiter": int(maxiterations)}
    kwargs: dict[str, Any] = {}
    if method in ("trust-exact", "trust-krylov", "trust-ncg"):
        kwargs["hess"] = prob.total_hessian
        options["gtol"] = min_gnorm
    elif method == "BFGS":
        options.update(gtol=min_gnorm, norm=np.inf)
    elif method == "L-BFGS-B":
        options.update(gtol=min_gnorm, ftol=0.0, maxfun=10 * int(maxiterations) + 100, maxcor=20)
    reason = None
    try:
        if method == "newton-eig":
            with np.errstate(all="ignore"):
                newton_eig(fun, prob.total_hessian, x0, maxiterations=int(maxiterations), callback=callback)
            raise Stop("maxiterations")
        with np.errstate(all="ignore"):
            res = scipy.optimize.minimize(fun, x0, jac=True, method=method, callback=callback, options=options,
                                          **kwargs)
        if res.status == 99 or "callback" in str(res.message).lower():
            reason = "maxtime"
        elif res.success:
            reason = "converged: " + str(res.message)
        else:
            reason = str(res.message)
    except Stop as stop:
        reason = stop.reason
    except StopIteration:
        reason = "maxtime"
    except KeyboardInterrupt:
        reason = "interrupted"
    except np.linalg.LinAlgError as exc:
        reason = f"linear algebra failure: {exc}"
    except (ArithmeticError, ValueError) as exc:  # as in the ODE phase: the run so far (its best point) is kept
        if isinstance(exc, ValueError) and str(exc).startswith(prob.name):
            raise  # the objective returned wrongly shaped values: the user's error, not the solver's
        reason = f"solver error: {type(exc).__name__}: {exc}"
    finally:
        bar.close()
    if iters[0] >= maxiterations and reason and not reason.startswith(("min_", "converged", "maxtime", "interrupted")):
        reason = "maxiterations"
    return dict(reason=reason, steps=iters[0], time=time.perf_counter() - start)
