"""What both phases of ``train`` share: the objective with its norm barrier and evaluation cache, the
best point seen, the loss curve, and the progress bar.

The best point
--------------
Every evaluation is a candidate. The two phases have different goals and judge candidates by them:

* **Gradient flow** (phase 1) descends: a lower loss wins, unless the two losses are a tie within the
  loss's resolution, in which case the smaller gradient wins. Two losses are a tie when they differ by
  at most ``LOSS_RTOL`` (1e-9) relative, the resolution by which the Newton polisher decides that the
  loss can no longer judge a step, or when both lie below the round-off floor ``sqrt(eps) * |L0|``
  (``L0``: the loss at the first finite point). There the fit is near-perfect and the loss, quadratic in
  residuals already ~1e-8 of their initial size or a difference of O(L0) terms (the infinite-data
  Gaussian loss), no longer tells which point is nearer a fixed point.
* **Polishing** (phase 2) exists to bring the gradient down to ``min_gnorm``: a candidate wins when its
  gradient is smaller and its loss is not higher than the best's beyond that same resolution.

So polishing never reports a point worse than the one it started from. The case that motivated this:
near a zero-loss fit, a Newton step lowered the loss from 2.6e-8 to 2.4e-8 while raising the gradient
from 1e-7 to 3e-5 (on the way to a better fixed point, but the budget ended first); the old rule, loss
first, reported the second point.
"""
from __future__ import annotations

import math
import time

import numpy as np

from neuroflow._utils import progress as _progress_bar
from neuroflow.flow.objective import check_hessian, checked_loss_and_gradient, loss_and_gradient

__all__ = ["LOSS_RTOL", "ROUNDOFF", "Stop", "Thinned", "Problem", "PhaseProgress", "better"]

#: relative loss resolution: losses closer than this are a tie and the gradient decides
LOSS_RTOL = 1e-9
#: below ROUNDOFF * |L0| losses are a tie and the gradient decides
ROUNDOFF = math.sqrt(np.finfo(float).eps)


def better(L: float, g: float, best_L: float, best_g: float, floor: float, polishing: bool = False) -> bool:
    """Whether the point (loss ``L``, gradient norm ``g``) beats the best so far (see the module docstring).

    Parameters
    ----------
    L, g : float
        The candidate's loss and gradient inf-norm.
    best_L, best_g : float
        The best point's (inf when there is none yet).
    floor : float
        The round-off floor: losses below it, in absolute value, are all a tie.
    polishing : bool
        Phase 2's rule (a smaller gradient at a loss no higher) instead of phase 1's (loss first).

    Returns
    -------
    bool
    """
    if not (math.isfinite(L) and math.isfinite(g)):
        return False
    if not math.isfinite(best_L):
        return True
    if polishing:
        return g < best_g and L <= best_L + max(LOSS_RTOL * abs(best_L), floor)
    if max(abs(L), abs(best_L)) <= floor:
        return g < best_g
    tol = LOSS_RTOL * abs(best_L)
    if L < best_L - tol:
        return True
    return L <= best_L + tol and g < best_g


class Stop(Exception):
    """Raised inside a phase to end it; carries the reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Thinned:
    """Keeps at most ~2n evenly spaced entries of a stream of unknown length (halving as it grows)."""

    def __init__(self, n: int):
        self.n = max(int(n), 1)
        self.items: list = []
        self.stride = 1
        self.count = 0

    def add(self, item, force: bool = False):
        if force or self.count % self.stride == 0:
            self.items.append(item)
            if len(self.items) >= 2 * self.n:
                self.items = self.items[::2]
                self.stride *= 2
        self.count += 1


class Problem:
    """The objective plus the norm barrier, with a one-entry cache and best-point tracking.

    The first loss/gradient evaluation and the first Hessian check the shapes the objective returns
    (a scalar loss, a gradient of length ``n_params``, an ``(n_params, n_params)`` Hessian), once. A
    non-finite point is answered with NaN without calling the objective (which may refuse it).
    """

    def __init__(self, objective, maxnorm: float, t0: float, curve: Thinned, name: str = "net_or_objective"):
        self.obj = objective
        self.P = int(objective.n_params)
        self.maxnorm = maxnorm
        self.t0 = t0
        self.curve = curve
        self.name = name
        self.phase = 1
        self.cache_x = None
        self.cache = None
        self.best = (math.inf, math.inf, None)  # plain loss, its gradient norm, x
        self.best_total = math.inf  # loss + barrier at the best point, and its gradient norm
        self.best_total_gnorm = math.inf
        self.floor = None  # ROUNDOFF * |loss + barrier| at the first finite point
        self.n_evals = 0  # evaluations of loss and gradient, and of the Hessian (TrainResult.n_gradients, n_hessians)
        self.n_hessians = 0
        self._checked_lg = False
        self._checked_h = False

    # ------------------------------------------------------------------ evaluations
    def evaluate(self, x: np.ndarray):
        """(loss, gradient) of the plain loss at x, cached for the last point."""
        if self.cache_x is not None and np.array_equal(self.cache_x, x):
            return self.cache
        if not np.all(np.isfinite(x)):  # a solver's trial point ran off: undefined, whatever the objective
            return math.nan, np.full(self.P, math.nan)
        if self._checked_lg:
            L, g = loss_and_gradient(self.obj, x)
        else:
            L, g = checked_loss_and_gradient(self.obj, x, self.name)
            self._checked_lg = True
        self.n_evals += 1
        self.cache_x = np.array(x, copy=True)
        self.cache = (L, g)
        return self.cache

    def hessian(self, x: np.ndarray) -> np.ndarray:
        if not np.all(np.isfinite(x)):
            return np.full((self.P, self.P), math.nan)
        H = self.obj.hessian(x)
        self.n_hessians += 1
        if self._checked_h:
            return np.asarray(H, dtype=np.float64)
        self._checked_h = True
        return check_hessian(H, self.P, self.name)

    # barrier R = (|x|^2/2 - c)^2 where |x|^2/2 > c
    def barrier(self, x):
        if not math.isfinite(self.maxnorm):
            return 0.0, None
        s = 0.5 * float(x @ x) - self.maxnorm
        if s <= 0:
            return 0.0, None
        return s * s, 2.0 * s * x

    def total(self, x):
        """(loss + barrier, its gradient): what the solvers see."""
        L, g = self.evaluate(x)
        R, gR = self.barrier(x)
        if gR is not None:
            return L + R, g + gR
        return L, g

    def total_hessian(self, x):
        H = self.hessian(x)
        if math.isfinite(self.maxnorm):
            s = 0.5 * float(x @ x) - self.maxnorm
            if s > 0:
                H = H + 2.0 * s * np.eye(x.size) + 2.0 * np.outer(x, x)
        return H

    # ------------------------------------------------------------------ best point and loss curve
    def record(self, x: np.ndarray, L: float, g: np.ndarray) -> float:
        """Log an evaluation (loss curve, best point); returns the gradient's inf-norm."""
        gn = float(np.max(np.abs(g))) if g.size else 0.0
        R, gR = self.barrier(x)
        total = L + R
        gt = gn if gR is None else float(np.max(np.abs(g + gR)))
        if self.floor is None and math.isfinite(total):
            self.floor = ROUNDOFF * abs(total)
        # compared on what the solvers minimise (loss + barrier); reported as the plain loss
        if better(total, gt, self.best_total, self.best_total_gnorm, self.floor or 0.0, polishing=self.phase == 2):
            self.best = (L, gn, np.array(x, copy=True))
            self.best_total, self.best_total_gnorm = total, gt
        self.curve.add((time.perf_counter() - self.t0, L, gn, self.phase))
        return gn


class PhaseProgress:
    """A phase's progress bar, counted in decades of the gradient norm from the phase's start down to
    ``min_gnorm`` (what convergence means), with the step count beside it; a step-budget bar when
    ``min_gnorm`` is 0. Nothing here reads the clock except tqdm's own display."""

    def __init__(self, enabled: bool, desc: str, g0: float, min_gnorm: float, budget: int, unit: str):
        self.enabled = bool(enabled)
        self.unit = unit
        self.budget = int(budget)
        self.log_g0 = None
        if min_gnorm > 0 and math.isfinite(g0) and g0 > min_gnorm:
            self.log_g0 = math.log10(g0)
            total = round(self.log_g0 - math.log10(min_gnorm), 1)
            fmt = "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} decades of gnorm [{elapsed}<{remaining}{postfix}]"
        else:
            total = self.budget
            fmt = None
        self.bar = _progress_bar(total=total, enabled=self.enabled, desc=desc, unit=unit, leave=False,
                                 bar_format=fmt)

    def update(self, steps: int, L: float, gnorm: float, best_gnorm: float) -> None:
        if not self.enabled:
            return
        if self.log_g0 is not None:
            done = self.log_g0 - math.log10(best_gnorm) if best_gnorm > 0 and math.isfinite(best_gnorm) else 0.0
            self.bar.n = min(max(done, 0.0), self.bar.total)
        else:
            self.bar.n = min(steps, self.budget)
        self.bar.set_postfix_str(f"{self.unit} {steps}/{self.budget}, loss {L:.3e}, gnorm {gnorm:.2e}", refresh=False)
        self.bar.update(0)

    def close(self) -> None:
        self.bar.close()
