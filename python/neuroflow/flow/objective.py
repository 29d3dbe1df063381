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

__all__ = ["Objective", "loss_and_gradient", "checked_loss_and_gradient", "check_hessian", "check_objective"]


@runtime_checkable
class Objective(Protocol):
    n_params: int

    def loss(self, theta: np.ndarray) -> float: ...

    def gradient(self, theta: np.ndarray) -> np.ndarray: ...

    def hessian(self, theta: np.ndarray) -> np.ndarray: ...


def loss_and_gradient(objective, theta: np.ndarray) -> tuple[float, np.ndarray]:
    """``(loss, gradient)`` through ``objective.loss_and_gradient`` when it exists, else two calls.

    Parameters
    ----------
    objective : Objective
    theta : array (n_params,)

    Returns
    -------
    (float, array)
    """
    fn = getattr(objective, "loss_and_gradient", None)
    if fn is not None:
        L, g = fn(theta)
        return float(L), np.asarray(g, dtype=np.float64)
    return float(objective.loss(theta)), np.asarray(objective.gradient(theta), dtype=np.float64)


def checked_loss_and_gradient(objective, theta: np.ndarray, name: str = "net_or_objective"):
    """:func:`loss_and_gradient`, checking what a user's objective returns: a scalar loss and a gradient of
    shape ``(n_params,)``; anything else raises ValueError naming ``name``. Call it once, on the first
    evaluation (the shapes cannot change later).

    Parameters
    ----------
    objective : Objective
    theta : array (n_params,)
    name : str
        The argument named in errors.

    Returns
    -------
    (float, array)
    """
    fn = getattr(objective, "loss_and_gradient", None)
    L, g = fn(theta) if fn is not None else (objective.loss(theta), objective.gradient(theta))
    P = int(objective.n_params)
    if any(np.iscomplexobj(v) for v in (L, g)):  # a complex gradient was cast to its real part with a ComplexWarning
        raise ValueError(f"{name}: loss and gradient must be real numbers, got {type(L).__name__} and "
                         f"{type(g).__name__} of complex values")
    try:
        L_arr, g = np.asarray(L, dtype=np.float64), np.asarray(g, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: loss and gradient must be numbers, got {type(L).__name__} and "
                         f"{type(g).__name__} ({exc})") from None
    if L_arr.ndim != 0:
        raise ValueError(f"{name}: the loss must be a scalar, got an array of shape {L_arr.shape}")
    if g.shape != (P,):
        raise ValueError(f"{name}: the gradient must have shape ({P},) (n_params), got {g.shape}")
    return float(L_arr), g


def check_hessian(H, n_params: int, name: str = "net_or_objective") -> np.ndarray:
    """``H`` as a float64 array, or ValueError naming ``name`` unless its shape is ``(n_params, n_params)``.

    Parameters
    ----------
    H : array-like
    n_params : int
    name : str

    Returns
    -------
    array (n_params, n_params)
    """
    if np.iscomplexobj(H):
        raise ValueError(f"{name}: the Hessian must be real numbers, got complex values")
    H = np.asarray(H, dtype=np.float64)
    if H.shape != (n_params, n_params):
        raise ValueError(f"{name}: the Hessian must have shape ({n_params}, {n_params}) (n_params), got {H.shape}")
    return H


def check_objective(objective, name: str = "net_or_objective"):
    """Raise ValueError unless ``objective`` follows the :class:`Objective` protocol (and ``n_params`` is
    a positive integer).

    Parameters
    ----------
    objective : object
    name : str
        The argument named in errors.

    Returns
    -------
    Objective
        ``objective`` itself.
    """
    missing = [a for a in ("n_params", "loss", "gradient", "hessian") if not hasattr(objective, a)]
    if missing:
        raise ValueError(
            f"{name}: expected an MLP or an Objective (n_params, loss, gradient, hessian), "
            f"got {type(objective).__name__} without {', '.join(missing)}")
    P = objective.n_params
    if isinstance(P, bool) or not isinstance(P, (int, np.integer)) or P < 1:
        raise ValueError(f"{name}: n_params must be a positive integer, got {P!r}")
    return objective
