"""Gradient flow for MLPs: integrate d(theta)/dt = -grad L(theta) with an ODE solver, then polish
with Newton trust region / BFGS, as MLPGradientFlow.jl does.

Public API: :func:`train` and :class:`TrainResult`, :func:`hessian_spectrum` / :func:`is_minimum`,
the :func:`adam` baseline, the :class:`Objective` protocol, and ``GaussianTeacherStudent`` (the
infinite-data teacher-student objective, from :mod:`neuroflow.flow.gaussian`).
"""
from __future__ import annotations

from neuroflow._lazy import lazy_exports
from neuroflow.flow.objective import Objective

# ``train`` is both a submodule and the function it defines; importing the function here makes
# ``neuroflow.flow.train`` the function (``from neuroflow.flow.train import train`` still works).
from neuroflow.flow.train import TrainResult, train  # noqa: E402  (after Objective: no cycle)

# public name -> module that defines it, imported on first access
_LAZY = {
    "hessian_spectrum": "neuroflow.flow.spectrum",
    "is_minimum": "neuroflow.flow.spectrum",
    "adam": "neuroflow.flow.baselines",
    "gradient_descent": "neuroflow.flow.baselines",
    "AdamResult": "neuroflow.flow.baselines",
    "GaussianTeacherStudent": "neuroflow.flow.gaussian",
}

__all__ = ["Objective", "train", "TrainResult", *_LAZY]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
