"""The Objective protocol: what :func:`neuroflow.flow.train` needs from a loss.

Anything with ``n_params``, ``loss(theta)``, ``gradient(theta)`` and ``hessian(theta)`` (and optionally
``loss_and_gradient(theta)``, used when present to save a forward pass) can be trained: an MLP bound
to data (``net.objective(X, Y)``), the infinite-data Gaussian teacher-student loss, or a wrapper that
keeps some parameters fixed. ``theta`` is a flat float64 vector of length ``n_params``; the gradient
has the same shape and the Hessian is ``(n_params, n_params)``.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Objective", "loss_and_gradient", "check_objective"]


@runtime_checkable
class Objective(Protocol):
    n_params: int

    def loss(self, theta: np.ndarray) -> float: ...

    def gradient(self, theta: np.ndarray) -> np.ndarray: ...

    def hessian(self, theta: np.ndarray) -> np.ndarray: ...


def loss_and_gradient(objective, theta: np.ndarray) -> tuple[float, np.ndarray]:
    """``(loss, gradient)`` through ``objective.loss_and_gradient`` when it exists, else two calls."""
    fn = getattr(objective, "loss_and_gradient", None)
    if fn is not None:
        L, g = fn(theta)
        return float(L), np.asarray(g, dtype=np.float64)
    return float(objective.loss(theta)), np.asarray(objective.gradient(theta), dtype=np.float64)


def check_objective(objective, name: str = "net_or_objective"):
    """Raise ValueError unless ``objective`` follows the :class:`Objective` protocol."""
    missing = [a for a in ("n_params", "loss", "gradient", "hessian") if not hasattr(objective, a)]
    if missing:
        raise ValueError(
            f"{name}: expected an MLP or an Objective (n_params, loss, gradient, hessian), "
            f"got {type(objective).__name__} without {', '.join(missing)}")
    return objective
