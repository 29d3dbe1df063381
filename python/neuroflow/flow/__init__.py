"""Gradient flow for MLPs: integrate d(theta)/dt = -grad L(theta) with an ODE solver, then polish
with Newton trust region / BFGS, as MLPGradientFlow.jl does.

Public API: :func:`train` and :class:`TrainResult`, :func:`levenberg_marquardt` and
:func:`mlp_least_squares`, :func:`hessian_spectrum` / :func:`is_minimum`, the :func:`adam` /
:func:`gradient_descent` baselines, the :class:`Objective` protocol, ``GaussianTeacherStudent`` /
``random_teacher`` (the infinite-data teacher-student objective, from :mod:`neuroflow.flow.gaussian`), the
finite-data teacher-student problem (``teacher_student_problem``, ``teacher_student_run``) and ``plot_train``.

Modules: :mod:`~neuroflow.flow.engine` (``train`` and its ODE phase), :mod:`~neuroflow.flow.polish`
(Newton / BFGS), :mod:`~neuroflow.flow.lm` (Levenberg-Marquardt on an MLP's squared error),
:mod:`~neuroflow.flow.result` (``TrainResult``), :mod:`~neuroflow.flow.objective` (the protocol),
:mod:`~neuroflow.flow.baselines`, :mod:`~neuroflow.flow.spectrum`, :mod:`~neuroflow.flow.teacher_student`,
:mod:`~neuroflow.flow.plots`, :mod:`~neuroflow.flow.bench`, the subpackage :mod:`~neuroflow.flow.gaussian`,
and the CLI (:mod:`~neuroflow.flow.cli`).
"""
from __future__ import annotations

from neuroflow._lazy import lazy_exports
from neuroflow.flow.objective import Objective

from neuroflow.flow.engine import train
from neuroflow.flow.result import TrainResult

# public name -> module that defines it, imported on first access
_LAZY = {
    "hessian_spectrum": "neuroflow.flow.spectrum",
    "is_minimum": "neuroflow.flow.spectrum",
    "adam": "neuroflow.flow.baselines",
    "gradient_descent": "neuroflow.flow.baselines",
    "AdamResult": "neuroflow.flow.baselines",
    "GaussianTeacherStudent": "neuroflow.flow.gaussian",
    "random_teacher": "neuroflow.flow.gaussian",
    "teacher_student_problem": "neuroflow.flow.teacher_student",
    "teacher_student_run": "neuroflow.flow.teacher_student",
    "plot_train": "neuroflow.flow.plots",
    "levenberg_marquardt": "neuroflow.flow.lm",
    "mlp_least_squares": "neuroflow.flow.lm",
}

__all__ = ["Objective", "train", "TrainResult", *_LAZY]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
