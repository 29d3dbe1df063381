"""First-order baselines for comparisons with gradient flow: Adam and plain gradient descent.

Both run full-batch by default (``batch_size=None``) on the same exact gradients as ``train`` and stop
at an iteration budget; an optional wall-clock cap (``maxtime``) makes comparisons at equal wall time
(which then depend on the machine's load, unlike the iteration budget).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroflow._utils import as_rng, check_array, check_positive, to_jsonable, write_text_atomic
from neuroflow._utils import progress as _progress_bar
from neuroflow.backend import serial
from neuroflow.flow.objective import check_objective, checked_loss_and_gradient, loss_and_gradient

__all__ = ["AdamResult", "adam", "gradient_descent"]


@dataclass
class AdamResult:
    """Outcome of :func:`adam` / :func:`gradient_descent`.

    ``loss`` and ``gnorm`` (infinity norm) are full-data values at ``x``, the best iterate by loss.
    ``loss_curve`` has rows ``(time_s, loss)``.
    """

    loss: float
    gnorm: float
    x: np.ndarray
    init: np.ndarray
    iterations: int
    time_s: float
    stopped_by: str
    loss_curve: np.ndarray
    method: str = "adam"
    lr: float = 1e-3

    def to_dict(self) -> dict:
        return to_jsonable({f: getattr(self, f) for f in self.__dataclass_fields__})

    def save(self, path) -> Path:
        path = Path(path)
        write_text_atomic(path, json.dumps(self.to_dict()))
        return path


def _setup(net_or_objective, theta0, X, Y, weights):
    from neuroflow.mlp import MLP

    if isinstance(net_or_objective, MLP):
        if X is None or Y is None:
            raise ValueError("X, Y: an MLP needs data; got None")
        net = net_or_objective
        theta0 = net.check_theta(theta0, name="theta0")
        Xc, Yc, wbar = net.check_data(X, Y, weights)
        return net.objective(Xc, Yc, weights), theta0, (net, Xc, Yc, wbar)
    if X is not None or Y is not None:
        raise ValueError("X, Y: an Objective carries its own data; pass X=Y=None")
    obj = check_objective(net_or_objective)
    return obj, check_array(theta0, "theta0", shape=(int(obj.n_params),)), None


def _run(update, net_or_objective, theta0, X, Y, weights, *, maxtime, maxiterations, batch_size, seed,
         progress, record_every, method, lr):
    if maxtime is not None:
        check_positive(maxtime, "maxtime")
    check_positive(maxiterations, "maxiterations", integer=True)
    check_positive(record_every, "record_every", integer=True)
    objective, theta, data = _setup(net_or_objective, theta0, X, Y, weights)
    if batch_size is not None:
        check_positive(batch_size, "batch_size", integer=True)
        if data is None:
            raise ValueError("batch_size: minibatches need an MLP with data, got an Objective")
    with serial(objective):  # as train: the same numbers whatever the machine's thread count
        return _steps(update, objective, theta, data, maxtime=maxtime, maxiterations=maxiterations,
                      batch_size=batch_size, seed=seed, progress=progress, record_every=record_every, method=method,
                      lr=lr)


def _steps(update, objective, theta, data, *, maxtime, maxiterations, batch_size, seed, progress, record_every,
           method, lr):
    rng = as_rng(seed)
    x = np.array(theta, dtype=np.float64, copy=True)
    init = x.copy()
    state: dict = {}
    curve = []
    best = (math.inf, math.inf, x.copy())
    start = time.perf_counter()
    stopped_by = "maxiterations"
    # with a wall-clock cap the step budget is usually not what ends the run: count steps, claim no total
    bar = _progress_bar(total=maxiterations if maxtime is None else None, enabled=progress, desc=method, unit="it",
                        leave=False)
    it = 0
    try:
        for it in range(1, maxiterations + 1):
            if not np.all(np.isfinite(x)):
                stopped_by = "diverged (NaN/inf)"
                break
            if batch_size is None:
                L, g = (checked_loss_and_gradient if it == 1 else loss_and_gradient)(objective, x)
                full = True
            else:
                net, Xc, Yc, wbar = data
                idx = rng.choice(Xc.shape[0], size=min(batch_size, Xc.shape[0]), replace=False)
                w = wbar[idx] / wbar[idx].sum()
                L, g = net._loss_and_gradient(x, Xc[idx], Yc[idx], w)
                full = False
            if not (math.isfinite(L) and np.all(np.isfinite(g))):
                stopped_by = "diverged (NaN/inf)"
                break
            if full and (it % record_every == 0 or it == 1):
                gn = float(np.max(np.abs(g)))
                curve.append((time.perf_counter() - start, L))
                if L < best[0]:
                    best = (L, gn, x.copy())
            x = update(x, g, it, state)
            if it % 100 == 0:
                bar.update(100)
                if progress:
                    bar.set_postfix(loss=f"{L:.3e}")
            if maxtime is not None and time.perf_counter() - start >= maxtime:
                stopped_by = "maxtime"
                break
    except KeyboardInterrupt:
        stopped_by = "interrupted"
    finally:
        bar.close()
    elapsed = time.perf_counter() - start
    L, g = loss_and_gradient(objective, x) if np.all(np.isfinite(x)) else (math.nan, None)
    if math.isfinite(L) and L <= best[0]:
        best = (L, float(np.max(np.abs(g))), x.copy())
    curve.append((elapsed, L))
    return AdamResult(loss=float(best[0]), gnorm=float(best[1]), x=best[2], init=init, iterations=it,
                      time_s=elapsed, stopped_by=stopped_by, loss_curve=np.array(curve).reshape(-1, 2),
                      method=method, lr=float(lr))


def adam(net_or_objective, theta0, X=None, Y=None, *, weights=None, lr: float = 1e-3, beta1: float = 0.9,
         beta2: float = 0.999, eps: float = 1e-8, maxiterations: int = 10_000, maxtime: float | None = None,
         batch_size: int | None = None, seed=None, progress: bool = False, record_every: int = 10) -> AdamResult:
    """Adam (Kingma & Ba) on the same loss as :func:`neuroflow.flow.train`.

    Parameters
    ----------
    net_or_objective, theta0, X, Y, weights
        As for :func:`neuroflow.flow.train`.
    lr, beta1, beta2, eps : float
        Adam's step size and moment constants.
    maxiterations : int
        Step budget.
    maxtime : float or None
        Optional wall-clock cap, seconds (for comparisons at equal wall time; None: no cap).
    batch_size : int or None
        Minibatch size (None: full batch); minibatches are drawn with ``seed``.
    seed : int, None or numpy.random.Generator
    progress : bool
        A progress bar over the step budget.
    record_every : int
        Record the loss every this many steps.

    Returns
    -------
    AdamResult
        The best iterate by full-data loss.
    """
    check_positive(lr, "lr")
    for name, b in (("beta1", beta1), ("beta2", beta2)):
        if not (isinstance(b, (int, float)) and 0 <= b < 1):
            raise ValueError(f"{name}: expected a number in [0, 1), got {b!r}")
    check_positive(eps, "eps")

    def update(x, g, t, s):
        if not s:
            s["m"] = np.zeros_like(x)
            s["v"] = np.zeros_like(x)
        m, v = s["m"], s["v"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        mhat = m / (1 - beta1 ** t)
        vhat = v / (1 - beta2 ** t)
        return x - lr * mhat / (np.sqrt(vhat) + eps)

    return _run(update, net_or_objective, theta0, X, Y, weights, maxtime=maxtime, maxiterations=maxiterations,
                batch_size=batch_size, seed=seed, progress=progress, record_every=record_every, method="adam",
                lr=lr)


def gradient_descent(net_or_objective, theta0, X=None, Y=None, *, weights=None, lr: float = 1e-2,
                     maxiterations: int = 10_000, maxtime: float | None = None, batch_size: int | None = None,
                     seed=None, progress: bool = False, record_every: int = 10) -> AdamResult:
    """Plain (full-batch or minibatch) gradient descent ``x <- x - lr * grad``.

    Parameters and result as for :func:`adam` (``lr`` is the step size).

    Returns
    -------
    AdamResult
    """
    check_positive(lr, "lr")
    return _run(lambda x, g, t, s: x - lr * g, net_or_objective, theta0, X, Y, weights, maxtime=maxtime,
                maxiterations=maxiterations, batch_size=batch_size, seed=seed, progress=progress,
                record_every=record_every, method="gd", lr=lr)
