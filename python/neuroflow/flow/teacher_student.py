"""The finite-data teacher-student problem behind ``neuroflow flow train``, the demo, the example and
``benchmarks/flow_vs_adam.py``: a seeded random one-hidden-layer teacher labels standard-normal probes,
and a wider student is trained by :func:`neuroflow.flow.train` (optionally against Adam)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroflow._utils import as_rng, check_bool, check_memory, check_positive, is_integer, to_jsonable
from neuroflow.mlp import MLP
from neuroflow.mlp.activations import get_activation

__all__ = ["teacher_student_problem", "teacher_student_run", "TeacherStudentRun", "teacher_student_memory"]


def teacher_student_problem(input_dim: int, teacher_width: int, n_samples: int, activation: str = "softplus",
                            seed=0):
    """A random one-hidden-layer teacher and Gaussian probes.

    Teacher weights are Glorot normal, hidden biases N(0, 0.5^2), the output layer linear; inputs
    are standard normal.

    Parameters
    ----------
    input_dim, teacher_width, n_samples : int
    activation : str
        Hidden activation (a name of :data:`neuroflow.mlp.ACTIVATIONS`).
    seed : int, None or numpy.random.Generator

    Returns
    -------
    (MLP, array, array, array)
        ``(teacher_net, teacher_theta, X, Y)`` with ``X`` (N, input_dim) and ``Y`` (N, 1).
    """
    check_positive(n_samples, "n_samples", integer=True)
    for name, value in (("input_dim", input_dim), ("teacher_width", teacher_width)):
        check_positive(value, name, integer=True)
    get_activation(activation)  # "activation: ..." (the MLP's own check said "layers[0] activation")
    # numpy's MemoryError named no argument (n_samples=10**12: "Unable to allocate 14.6 TiB")
    check_memory(8 * n_samples * (input_dim + 3 * teacher_width + 2), "input_dim, teacher_width, n_samples")
    rng = as_rng(seed)
    teacher = MLP(input_dim, [(teacher_width, activation, True), (1, "identity", True)], backend="numpy")
    mats = teacher.unpack(teacher.init_params(seed=rng))
    mats[0][:, -1] = rng.normal(0.0, 0.5, size=teacher_width)
    theta = teacher.pack(mats)
    X = rng.normal(size=(n_samples, input_dim))
    return teacher, theta, X, teacher.forward(theta, X)


#: the sizes a memory refusal of :func:`teacher_student_run` names (the samples and the student's Hessian dominate)
TEACHER_STUDENT_SIZES = "input_dim, teacher_width, student_width, n_samples"


def teacher_student_memory(input_dim: int, teacher_width: int, student_width: int, n_samples: int, *,
                           method_ode: str = "auto", method_optim: str = "auto") -> int:
    """Peak memory of :func:`teacher_student_run`, in bytes (an upper estimate): the data and one
    (N, width) array per activation, derivative and back-propagated error of both nets, plus, where the
    methods keep a P x P matrix (:func:`neuroflow.flow.engine.square_matrix_methods`), the student's Hessian
    and its working arrays (:func:`neuroflow.mlp._numpy_kernels.hessian_memory`: about 4 numbers per parameter
    and sample, which train's own check counts too)."""
    from neuroflow.flow.engine import exact_hessian_methods, square_matrix_methods

    per_sample = 2 * input_dim + 3 + 4 * (teacher_width + student_width)
    P = student_width * (input_dim + 2) + 1
    # a student of 10^5 parameters, which "auto" trains with DOP853 and L-BFGS, was refused as needing 235 GiB
    square = square_matrix_methods(P, method_ode, method_optim)
    exact = exact_hessian_methods(P, method_ode, method_optim)  # their working arrays; BFGS keeps only its estimate
    # and ~250 vectors of P: the kept trajectory (2 n_trajectory), the solver's stages, L-BFGS's history
    return 8 * (n_samples * (per_sample + (4 * P if exact else 0)) + (3 * P * P if square else 0) + 250 * P)


@dataclass
class TeacherStudentRun:
    """A student trained on a random teacher's labels (and Adam from the same start, if asked).

    Attributes
    ----------
    result : TrainResult
    student : MLP
    X, Y : arrays
        The probes and the teacher's outputs.
    adam : AdamResult or None
    settings : dict
        The arguments of :func:`teacher_student_run`.
    """

    result: object
    student: MLP
    X: np.ndarray
    Y: np.ndarray
    adam: object = None
    settings: dict | None = None

    def to_dict(self) -> dict:
        """The settings, the result's scalar fields, and Adam's loss (what ``flow train --json`` prints)."""
        d = dict(self.settings or {})
        d.update(self.result.summary())
        d["backend"] = self.student.backend.name
        d["device"] = self.student.backend.device(self.student)  # torch computes on a GPU where there is one
        if self.adam is not None:
            d.update(adam_loss=self.adam.loss, adam_iterations=self.adam.iterations,
                     adam_stopped_by=self.adam.stopped_by)
        return to_jsonable(d)


def teacher_student_run(input_dim: int = 2, teacher_width: int = 4, student_width: int = 8,
                        activation: str = "softplus", n_samples: int = 1000, *, seed: int = 0,
                        backend: str = "numpy", adam_too: bool = False, progress: bool = False,
                        **train_options) -> TeacherStudentRun:
    """Draw a seeded random teacher, train a student on its labels; optionally Adam with the same work.

    Parameters
    ----------
    input_dim, teacher_width, student_width, n_samples : int
        Inputs, hidden units of teacher and student, probes.
    activation : str
        Hidden activation of both nets.
    seed : int
        Seeds the teacher and probes (``seed``) and the student's start (``10_000 + seed``).
    backend : str
        Backend of the student ("numpy", "torch", "julia", "auto").
    adam_too : bool
        Also run full-batch Adam (lr 1e-3) from the same start, one step per gradient evaluation that ``train``
        made, a Hessian counted as ``n_params`` of them, so its numbers are the same on any machine
        (:meth:`TrainResult.same_work`).
    progress : bool
        Progress bars.
    **train_options
        Passed to :func:`neuroflow.flow.train` (``maxiterations_ode``, ``maxtime_ode``, ``min_gnorm``, ...).

    Returns
    -------
    TeacherStudentRun
    """
    from neuroflow.flow.baselines import adam
    from neuroflow.flow.engine import train

    for name, value in (("input_dim", input_dim), ("teacher_width", teacher_width),
                        ("student_width", student_width), ("n_samples", n_samples)):
        check_positive(value, name, integer=True)
    check_bool(adam_too, "adam_too")   # "x" was truthy: Adam ran too
    if not (is_integer(seed) and seed >= 0):  # None or a Generator ended in a TypeError from 10_000 + seed
        raise ValueError(f"seed: expected a non-negative integer (the student starts from seed 10000 + seed), "
                         f"got {seed!r}")
    check_memory(teacher_student_memory(input_dim, teacher_width, student_width, n_samples,
                                        method_ode=train_options.get("method_ode", "auto"),
                                        method_optim=train_options.get("method_optim", "auto")),
                 TEACHER_STUDENT_SIZES)
    _, _, X, Y = teacher_student_problem(input_dim, teacher_width, n_samples, activation, seed=seed)
    student = MLP(input_dim, [(student_width, activation, True), (1, "identity", True)], backend=backend)
    theta0 = student.init_params(seed=10_000 + seed)
    result = train(student, theta0, X, Y, progress=progress, **train_options)
    settings = dict(input_dim=input_dim, teacher_width=teacher_width, student_width=student_width,
                    activation=activation, n_samples=n_samples, seed=seed)
    run = TeacherStudentRun(result=result, student=student, X=X, Y=Y, settings=settings)
    if adam_too:
        run.adam = adam(student, theta0, X, Y, lr=1e-3, progress=progress, **result.same_work())
    return run
