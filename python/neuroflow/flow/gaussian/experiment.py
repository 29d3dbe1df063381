"""One seeded infinite-data teacher-student run (what ``neuroflow flow gaussian`` and the demo do)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from neuroflow._utils import check_memory, check_positive, is_integer, to_jsonable
from neuroflow.flow.gaussian.objective import GaussianTeacherStudent, gaussian_memory, random_teacher

__all__ = ["GaussianRun", "run_gaussian", "gaussian_run_memory"]


#: the sizes a memory refusal of :func:`run_gaussian` names (the student's Hessian has (width (d + 1))^2 entries, the
#: constant teacher-teacher term k^2 pairs)
GAUSSIAN_SIZES = "input_dim, teacher_width, student_width"


def gaussian_run_memory(input_dim: int, teacher_width: int, student_width: int, *, method_ode: str = "auto",
                        method_optim: str = "auto") -> int:
    """Peak memory of :func:`run_gaussian`, in bytes (an upper estimate): one loss + gradient evaluation
    (:func:`~neuroflow.flow.gaussian.objective.gaussian_memory`), and the Hessian and its copies where the
    methods of ``train`` keep a P x P matrix (:func:`neuroflow.flow.engine.square_matrix_methods`; a student of
    100100 parameters, which "auto" trains with DOP853 and L-BFGS, was refused as needing 299 GiB)."""
    from neuroflow.flow.engine import exact_hessian_methods, square_matrix_methods

    P = int(student_width) * (int(input_dim) + 1)
    square = square_matrix_methods(P, method_ode, method_optim)
    exact = exact_hessian_methods(P, method_ode, method_optim)  # BFGS keeps its estimate of the inverse, no Hessian
    return (gaussian_memory(input_dim, teacher_width, student_width, hessian=bool(exact))
            + 8 * (250 * P + (3 * P * P if square and not exact else 0)))


@dataclass
class GaussianRun:
    """A student trained on the infinite-data loss of a seeded teacher.

    Attributes
    ----------
    objective : GaussianTeacherStudent
    result : TrainResult
    evaluation_ms : float
        Wall time of one loss + gradient + Hessian evaluation at a fresh point (informative only); of one loss +
        gradient evaluation where the run's methods take no Hessian (``evaluation`` says which).
    settings : dict
        The arguments of :func:`run_gaussian`.
    """

    objective: GaussianTeacherStudent
    result: object
    evaluation_ms: float
    settings: dict
    evaluation: str = "loss+gradient+Hessian"

    @property
    def teacher_cosines(self) -> np.ndarray:
        """cos(teacher unit, student unit) at the result, (teacher_width, student_width)."""
        return self.objective.teacher_cosines(self.result.x)

    def to_dict(self) -> dict:
        """Settings, the result's scalar fields and how well each teacher unit is matched."""
        obj = self.objective
        d = dict(self.settings, activation=obj.activation, method=obj.method, n_params=obj.n_params)
        d.update(self.result.summary())
        d.update(evaluation_ms=self.evaluation_ms, evaluation=self.evaluation, teacher_loss=obj.teacher_norm2,
                 # the best-aligned student unit per teacher unit, up to sign (odd activations such as
                 # tanh and erf absorb the sign into the output weight)
                 teacher_best_cosines=np.abs(self.teacher_cosines).max(axis=1).tolist())
        return to_jsonable(d)


def run_gaussian(input_dim: int, teacher_width: int, student_width: int, activation: str = "relu", *,
                 seed: int = 0, method: str = "auto", progress: bool = False, **train_options) -> GaussianRun:
    """Train a seeded student on the infinite-data loss of a seeded teacher.

    Parameters
    ----------
    input_dim, teacher_width, student_width : int
        d, k, m.
    activation : str
        Hidden activation of teacher and student.
    seed : int
        The teacher is drawn with ``seed``, the student's start with ``seed + 1``.
    method : "auto" | "closed" | "quadrature" | "series"
        How expectations are computed (see :class:`GaussianTeacherStudent`).
    progress : bool
        Progress bars.
    **train_options
        Passed to :func:`neuroflow.flow.train` (``maxiterations_ode``, ``maxtime_ode``, ``min_gnorm``, ...);
        ``min_loss`` defaults to -inf: convergence means ``gnorm <= min_gnorm`` (a loss of 0 up to
        round-off does not count).

    Returns
    -------
    GaussianRun
    """
    from neuroflow.flow.engine import exact_hessian_methods, train

    for name, value in (("input_dim", input_dim), ("teacher_width", teacher_width),
                        ("student_width", student_width)):
        check_positive(value, name, integer=True)
    if not (is_integer(seed) and seed >= 0):  # None or a Generator ended in a TypeError from seed + 1
        raise ValueError(f"seed: expected a non-negative integer (the student starts from seed + 1), got {seed!r}")
    methods = dict(method_ode=train_options.get("method_ode", "auto"),
                   method_optim=train_options.get("method_optim", "auto"))
    check_memory(gaussian_run_memory(input_dim, teacher_width, student_width, **methods), GAUSSIAN_SIZES)
    W, a = random_teacher(input_dim, teacher_width, seed=seed)
    obj = GaussianTeacherStudent(W, a, student_width, activation, method=method)
    theta0 = obj.random_student(seed=seed + 1)
    # the Hessian is timed where train takes it: a run without one is not refused for its memory
    hessian = bool(exact_hessian_methods(obj.n_params, **methods))
    evaluate = obj.loss_gradient_hessian if hessian else obj.loss_and_gradient
    evaluate(theta0)  # warm-up: quadrature rules and the numba kernel are built on first use
    t0 = time.perf_counter()
    evaluate(theta0 * (1.0 + 1e-12))  # a new point: the evaluation cache cannot answer
    eval_ms = (time.perf_counter() - t0) * 1e3
    train_options.setdefault("min_loss", -np.inf)
    res = train(obj, theta0, progress=progress, **train_options)
    settings = dict(input_dim=input_dim, teacher_width=teacher_width, student_width=student_width, seed=seed)
    return GaussianRun(objective=obj, result=res, evaluation_ms=eval_ms, settings=settings,
                       evaluation="loss+gradient+Hessian" if hessian else "loss+gradient")
