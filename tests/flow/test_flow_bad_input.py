"""Hostile input to the flow area: every bad flag ends in one line naming it, before any work; every
bad API argument raises a ValueError naming it."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from neuroflow import cli
from neuroflow.flow import GaussianTeacherStudent, train
from neuroflow.flow.gaussian import random_teacher
from neuroflow.mlp import MLP


@pytest.fixture(scope="module")
def regular_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad") / "a_file.txt"
    path.write_text("x")
    return path


# (verb, flag, value, text the one-line error must contain); values "{file}" / "{dir}" are filled in
BAD_FLAGS = [
    *[(verb, flag, value, flag) for verb in ("train", "gaussian")
      for flag, value in [("--input-dim", "0"), ("--input-dim", "2.5"), ("--teacher-width", "-1"),
                          ("--student-width", "nan"), ("--max-iterations-ode", "-1"),
                          ("--max-iterations-ode", "1e400"), ("--max-iterations-optim", "x"),
                          ("--max-time", "0"), ("--max-time", "nan"), ("--max-time", "inf"), ("--max-time", "-3"),
                          ("--min-gnorm", "-1e-10"), ("--min-gnorm", "nan"), ("--min-gnorm", "0"), ("--seed", "-1"),
                          ("--activation", "swish"), ("--out", "{dir}"), ("--out", "{file}/r.json"),
                          ("--out", "result.txt"), ("--plot", "{dir}"), ("--plot", "{file}/x.png"),
                          ("--plot", "plot.bmpx")]],
    ("train", "--n-samples", "0", "--n-samples"),
    ("train", "--n-samples", "inf", "--n-samples"),
    ("train", "--method-ode", "Euler", "--method-ode"),
    ("train", "--method-optim", "sgd", "--method-optim"),
    ("train", "--backend", "cuda", "--backend"),
    ("gaussian", "--method", "monte-carlo", "--method"),
    ("bench", "--repeats", "0", "--repeats"),
    ("bench", "--repeats", "-2", "--repeats"),
    ("bench", "--out", "{dir}", "--out"),
    ("bench", "--seed", "1", "unrecognized arguments: --seed"),  # bench uses no randomness
    ("gaussian", "--maxtime", "5", "unrecognized arguments: --maxtime"),  # the old spelling is gone
    ("train", "--save", "r.json", "unrecognized arguments: --save"),
]


@pytest.mark.parametrize("verb, flag, value, expected", BAD_FLAGS,
                         ids=[f"{v}{f}={x}" for v, f, x, _ in BAD_FLAGS])
def test_bad_flag_is_one_line_naming_it(capsys, tmp_path, regular_file, verb, flag, value, expected):
    value = value.format(dir=tmp_path, file=regular_file)
    with pytest.raises(SystemExit) as exc:
        cli.main(["flow", verb, flag, value, "--quiet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err
    assert "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing was written


@pytest.mark.parametrize("argv, expected", [
    (["flow", "train", "--n-samples", "10000000000000"], "--student-width, --n-samples: this run needs"),
    (["flow", "train", "--n-samples", "50", "--student-width", "10000000000"], "--student-width, --n-samples"),
    (["flow", "gaussian", "--input-dim", "10000000", "--student-width", "100"],
     "--input-dim, --teacher-width, --student-width"),
    (["flow", "gaussian", "--student-width", "99999999999"],
     "--input-dim, --teacher-width, --student-width: this run needs"),
    # the constant teacher-teacher term: k^2 pairs (a run like this was killed by the kernel at 24 GB before)
    (["flow", "gaussian", "--input-dim", "4", "--teacher-width", "50000", "--student-width", "2"],
     "--input-dim, --teacher-width, --student-width: this run needs"),
    (["flow", "train", "--backend", "julia"], "--backend"),
])
def test_requests_refused_up_front_name_the_flag(capsys, argv, expected):
    from neuroflow.backend import available_backends

    if "julia" in argv and available_backends()["julia"]:
        pytest.skip("Julia is usable here")
    assert cli.main(argv + ["--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err


# ----------------------------------------------------------------------------- API
class Stub:
    """An Objective whose returned shapes are set by the test."""

    def __init__(self, n_params=2, grad_len=2, hess_shape=(2, 2), loss_shape=()):
        self.n_params, self.grad_len, self.hess_shape, self.loss_shape = n_params, grad_len, hess_shape, loss_shape

    def loss(self, x):
        return np.full(self.loss_shape, float(x @ x)) if self.loss_shape else float(x @ x)

    def gradient(self, x):
        return np.resize(2 * x, self.grad_len)

    def hessian(self, x):
        return 2 * np.eye(*self.hess_shape) if len(self.hess_shape) == 2 else np.ones(self.hess_shape)


@pytest.mark.parametrize("stub, kwargs, match", [
    (Stub(grad_len=5), {}, r"gradient must have shape \(2,\).*got \(5,\)"),
    (Stub(grad_len=1), {}, r"gradient must have shape \(2,\)"),
    (Stub(loss_shape=(3,)), {}, r"loss must be a scalar"),
    (Stub(hess_shape=(3, 3)), {"method_ode": "LSODA"}, r"Hessian must have shape \(2, 2\)"),
    (Stub(hess_shape=(2,)), {"method_ode": "none", "method_optim": "newton"}, r"Hessian must have shape"),
    (Stub(n_params=0), {}, r"n_params must be a positive integer"),
    (Stub(n_params=2.0), {}, r"n_params must be a positive integer"),
])
def test_objective_returning_wrong_shapes_is_refused(stub, kwargs, match):
    theta0 = np.ones(2)
    with pytest.raises(ValueError, match="net_or_objective: (the )?" + match):
        train(stub, theta0, **kwargs)


class ComplexStub(Stub):
    """An Objective answering complex numbers (a gradient or Hessian through a complex step, say)."""

    def __init__(self, part):
        super().__init__()
        self.part = part

    def gradient(self, x):
        return 2 * x + (1e-3j if self.part == "gradient" else 0)

    def hessian(self, x):
        return 2 * np.eye(2) + (1e-3j if self.part == "hessian" else 0)


@pytest.mark.parametrize("part, kwargs", [("gradient", {}), ("hessian", {"method_ode": "LSODA"}),
                                          ("hessian", {"method_ode": "none", "method_optim": "newton"})])
def test_an_objective_answering_complex_numbers_is_refused(part, kwargs, recwarn):
    """Complex gradients and Hessians were cast to their real parts with numpy's ComplexWarning, and the run went
    on as if nothing had been said."""
    with pytest.raises(ValueError, match=f"^net_or_objective: (the Hessian|loss and gradient) must be real numbers"):
        train(ComplexStub(part), np.ones(2), **kwargs)
    from neuroflow.flow import adam

    if part == "gradient":
        with pytest.raises(ValueError, match="^net_or_objective: loss and gradient must be real numbers"):
            adam(ComplexStub(part), np.ones(2), maxiterations=3)
    assert not [w for w in recwarn if "Complex" in w.category.__name__]


@pytest.mark.parametrize("kwargs, name", [
    *[({k: v}, k) for k in ("reltol", "abstol") for v in (0.0, -1e-3, math.nan, math.inf, "1e-3", None)],
    ({"maxtime_ode": -1.0}, "maxtime_ode"), ({"maxtime_optim": math.nan}, "maxtime_optim"),
    ({"maxtime_ode": "10"}, "maxtime_ode"), ({"maxiterations_ode": -1}, "maxiterations_ode"),
    ({"maxiterations_optim": 2.5}, "maxiterations_optim"), ({"maxiterations_ode": True}, "maxiterations_ode"),
    ({"patience": 0}, "patience"), ({"n_trajectory": 0}, "n_trajectory"), ({"maxT": 0.0}, "maxT"),
    ({"min_gnorm": -1.0}, "min_gnorm"), ({"min_gnorm": math.nan}, "min_gnorm"), ({"min_loss": math.nan}, "min_loss"),
    ({"min_loss": math.inf}, "min_loss"), ({"maxnorm": -1.0}, "maxnorm"), ({"maxnorm": math.nan}, "maxnorm"),
    ({"method_ode": "Euler"}, "method_ode"), ({"method_optim": "sgd"}, "method_optim"),
    ({"progress": "yes"}, "progress"), ({"backend": "cuda"}, "backend"),
])
def test_bad_train_options_name_the_argument(kwargs, name):
    net = MLP(2, [(2, "tanh", True), (1, "identity", True)], backend="numpy")
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=f"^{name}: "):
        train(net, net.init_params(0), X, X[:, :1], **kwargs)


def test_options_are_checked_before_a_native_backend_sees_them(monkeypatch):
    """``abstol=0`` once reached Julia, where a zero parameter then gave a NaN step and an endless loop."""
    from neuroflow.backend import JuliaBackend

    seen = []
    monkeypatch.setattr(JuliaBackend, "native_train", lambda self, *a: seen.append(a) or {})
    net = MLP(2, [(2, "tanh", True), (1, "identity", True)], backend="numpy")
    net.backend = JuliaBackend()
    X = np.random.default_rng(0).normal(size=(10, 2))
    for bad in ({"abstol": 0.0}, {"reltol": -1.0}, {"maxtime_ode": math.nan}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            train(net, net.init_params(0), X, X[:, :1], **bad)
    assert not seen


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_gaussian_objective_refuses_non_finite_theta(bad):
    W, a = random_teacher(3, 2, seed=0)
    obj = GaussianTeacherStudent(W, a, 2, "erf")
    theta = obj.random_student(seed=1)
    theta[1] = bad
    for method in (obj.loss, obj.gradient, obj.hessian, obj.loss_and_gradient, obj.loss_gradient_hessian):
        with pytest.raises(ValueError, match="^theta: expected finite values"):
            method(theta)


def test_a_flow_that_runs_off_still_ends_with_a_reason_on_a_strict_objective():
    """train answers NaN itself at a non-finite trial point, so an objective that refuses NaN (the
    Gaussian one) never sees one and a diverging flow ends with a reason, not an exception."""
    W, a = random_teacher(3, 2, seed=0)
    obj = GaussianTeacherStudent(W, a, 2, "relu")
    res = train(obj, obj.random_student(seed=1) * 1e3, method_ode="RK23", maxiterations_ode=50, reltol=10.0,
                method_optim="none")
    assert res.ode_stopped_by in ("maxiterations", "min_gnorm") or res.ode_stopped_by.startswith(
        ("diverged", "solver"))
    assert np.all(np.isfinite(res.x))


@pytest.mark.parametrize("call, match", [
    (lambda: __import__("neuroflow.flow.bench", fromlist=["x"]).gradient_benchmark(quick=True, repeats=0), "repeats"),
    (lambda: __import__("neuroflow.flow", fromlist=["x"]).adam(
        Stub(), np.ones(2), maxiterations=0), "maxiterations"),
    (lambda: __import__("neuroflow.flow", fromlist=["x"]).adam(Stub(grad_len=3), np.ones(2)), "gradient must"),
    (lambda: __import__("neuroflow.flow", fromlist=["x"]).adam(Stub(), np.ones(2), maxtime=-1.0), "maxtime"),
    (lambda: random_teacher(0, 2), "input_dim"),
    (lambda: GaussianTeacherStudent(np.ones((2, 3)), np.ones(2), 0), "student_width"),
])
def test_other_flow_functions_name_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("seed", ["x", -1, 1.5, True, [1, 2]])
@pytest.mark.parametrize("call", ["random_teacher", "init_params", "teacher_student_problem", "sample", "adam"])
def test_bad_seed_names_seed(call, seed):
    from neuroflow.flow import adam, teacher_student_problem

    W, a = random_teacher(3, 2, seed=0)
    obj = GaussianTeacherStudent(W, a, 2, "erf")
    net = MLP(2, [(2, "tanh", True), (1, "identity", True)], backend="numpy")
    X = np.random.default_rng(0).normal(size=(20, 2))
    calls = {"random_teacher": lambda: random_teacher(3, 2, seed=seed),
             "init_params": lambda: net.init_params(seed=seed),
             "teacher_student_problem": lambda: teacher_student_problem(2, 2, 10, seed=seed),
             "sample": lambda: obj.sample(5, seed=seed),
             "adam": lambda: adam(net, net.init_params(0), X, X[:, :1], batch_size=4, maxiterations=2, seed=seed)}
    with pytest.raises(ValueError, match="^seed: expected a non-negative integer"):
        calls[call]()


@pytest.mark.parametrize("name", ["plot.foo", "plot", "plot.json"])
def test_plot_train_names_a_path_without_a_figure_suffix(tmp_path, name):
    """matplotlib's own error ("Format 'foo' is not supported") named neither the path nor the argument, and a
    name without a suffix was written as PNG under it."""
    from neuroflow.flow import plot_train

    net = MLP(2, [(2, "tanh", True), (1, "identity", True)], backend="numpy")
    X = np.random.default_rng(0).normal(size=(10, 2))
    res = train(net, net.init_params(0), X, X[:, :1], maxiterations_ode=3, maxiterations_optim=0)
    with pytest.raises(ValueError, match=rf"^path: .*{name}: expected a file name ending in one of \.png"):
        plot_train(res, tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_only_the_ratios_of_sample_weights_count_even_near_the_float_limit():
    """Weights of 1e308 summed to inf, so every normalised weight was 0 and the loss 0 (and the gradient 0: a
    'converged' train at the start)."""
    net = MLP(2, [(3, "tanh", True), (1, "identity", True)], backend="numpy")
    X = np.random.default_rng(0).normal(size=(10, 2))
    theta = net.init_params(0)
    plain = net.loss_and_gradient(theta, X, X[:, :1])
    for scale in (1e308, 1e-310):
        L, g = net.loss_and_gradient(theta, X, X[:, :1], weights=np.full(10, scale))
        assert L == pytest.approx(plain[0], rel=1e-12) and np.allclose(g, plain[1], rtol=1e-12, atol=0)


@pytest.mark.parametrize("theta", ["abc", ["a", "b"], [[1, 2], [3]]])
def test_parameters_that_are_no_numbers_are_named_as_theta(theta):
    net = MLP(2, [(3, "tanh", True), (1, "identity", True)], backend="numpy")
    X = np.random.default_rng(0).normal(size=(10, 2))
    for call in (lambda: net.loss(theta, X, X[:, :1]), lambda: net.forward(theta, X)):
        with pytest.raises(ValueError, match="^theta: expected an array of numbers"):
            call()
    with pytest.raises(ValueError, match="^theta0: expected an array of numbers"):
        train(net, theta, X, X[:, :1], maxiterations_ode=2)


@pytest.mark.parametrize("Y, start", [(None, "Y: expected targets of shape (N, 1), got None"),
                                      ("abc", "Y: expected an array of numbers, got str"),
                                      ([["a"]] * 10, "Y: expected an array of numbers, got list")])
def test_targets_that_are_no_numbers_are_named_as_y(Y, start):
    """net.loss(theta, X, None) ended in "'NoneType' object is not subscriptable" (net.hessian in an
    AttributeError), and text targets in numpy's "could not convert string to float", neither naming Y."""
    net = MLP(2, [(3, "tanh", True), (1, "identity", True)], backend="numpy")
    theta, X = net.init_params(0), np.random.default_rng(0).normal(size=(10, 2))
    for call in (net.loss, net.gradient, net.loss_and_gradient, net.hessian):
        with pytest.raises(ValueError, match="^" + re.escape(start)):
            call(theta, X, Y)


@pytest.mark.parametrize("content", [None, "", "garbage", "[1, 2]", "{}", '{"x": "abc"}', "damaged-x", "cut"])
def test_a_result_file_that_is_not_one_is_named_by_train_result_load(tmp_path, content):
    """TrainResult.load raised FileNotFoundError, IsADirectoryError, JSONDecodeError, KeyError 'x' or numpy's
    'could not convert string to float', none naming the file."""
    import json

    from neuroflow.flow import TrainResult

    net = MLP(2, [(2, "tanh", True), (1, "identity", True)], backend="numpy")
    X = np.random.default_rng(0).normal(size=(10, 2))
    good = train(net, net.init_params(0), X, X[:, :1], maxiterations_ode=3, maxiterations_optim=0).to_dict()
    path = tmp_path / "r.json"
    if content == "damaged-x":
        path.write_text(json.dumps({**good, "x": [[1, 2], [3]]}))
    elif content == "cut":
        path.write_text(json.dumps(good)[:200])
    elif content is not None:
        path.write_text(content)
    for p in (path, tmp_path):  # the file, and a folder where the file should be
        with pytest.raises(ValueError, match=f"^{p}: "):
            TrainResult.load(p)
    path.write_text(json.dumps(good))
    assert TrainResult.load(path).loss == good["loss"]


@pytest.mark.parametrize("kwargs, start", [
    ({"max_iter": 1.5}, "max_iter: expected a non-negative integer"),     # ran int(1.5) = 1 iteration
    ({"max_iter": "3"}, "max_iter: expected a non-negative integer"),     # ran 3
    ({"min_loss": math.nan}, "min_loss: expected a number"),              # never stopped on it, silently
])
def test_mlp_least_squares_names_bad_arguments(kwargs, start):
    from neuroflow.flow import mlp_least_squares

    net = MLP(2, [(2, "tanh", True), (1, "identity", True)], backend="numpy")
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="^" + start):
        mlp_least_squares(net, net.init_params(0), X, X[:, :1], **{"max_iter": 3, **kwargs})


@pytest.mark.parametrize("kwargs, start", [
    ({"mu0": 0.0}, "mu0: expected a finite number > 0"),        # no damping: a singular system, 'stalled'
    ({"xtol": -1.0}, "xtol: expected a finite number >= 0"),
    ({"min_value": math.nan}, "min_value: expected a number"),
    ({"x0": "abc"}, "x0: expected an array of numbers"),
])
def test_levenberg_marquardt_names_bad_arguments(kwargs, start):
    from neuroflow.flow import levenberg_marquardt

    args = {"x0": np.ones(2), "max_iter": 3, **kwargs}
    with pytest.raises(ValueError, match="^" + start):
        levenberg_marquardt(lambda x: (float(x @ x), np.eye(2), x), lambda x: float(x @ x), args.pop("x0"), **args)


@pytest.mark.parametrize("kwargs, start", [
    ({"rtol": -1.0}, "rtol: expected a finite number >= 0"),    # a saddle called a minimum
    ({"atol": math.nan}, "atol: expected a finite number >= 0"),
    ({"H_or_eigenvalues": "abc"}, "H_or_eigenvalues: expected an array of numbers"),  # numpy's bare error
])
def test_is_minimum_names_bad_arguments(kwargs, start):
    from neuroflow.flow import is_minimum

    args = {"H_or_eigenvalues": np.array([-1.0, 1.0]), **kwargs}
    with pytest.raises(ValueError, match="^" + start):
        is_minimum(args.pop("H_or_eigenvalues"), **args)


@pytest.mark.parametrize("activation", ["relu", "erf", "tanh"])
@pytest.mark.parametrize("W, a, start", [
    (np.full((2, 3), 1e200), np.ones(2), "teacher_W: the norms of its rows overflow"),   # NaN loss / OverflowError
    (np.ones((2, 3)), np.full(2, 1e300), "teacher_W, teacher_a: the teacher's mean squared output"),  # inf loss
])
def test_a_gaussian_teacher_that_overflows_is_refused_naming_it(W, a, start, activation):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no overflow warnings on the way either
        with pytest.raises(ValueError, match="^" + re.escape(start)):
            GaussianTeacherStudent(W, a, 2, activation)


@pytest.mark.parametrize("device, words", [("nonsense", "is not a torch device"), ("cuda:99", "is not available here"),
                                           (5, "expected a torch device string"), ("meta", "expected 'cpu' or a CUDA")])
def test_a_torch_device_that_cannot_compute_is_named_when_the_net_is_made(device, words):
    """A bad device reached torch only at the first loss: a RuntimeError listing torch's device types, an
    AssertionError 'Torch not compiled with CUDA enabled', or 'Cannot access accelerator device'."""
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match=f"^device: .*{words}"):
        MLP(2, [(3, "tanh", True), (1, "identity", True)], backend="torch", device=device)


def test_parameters_that_cannot_fit_in_memory_are_named_by_init_params():
    """init_params of an MLP of 1e12 parameters ended in numpy's MemoryError; the MLP itself, a size
    specification (the width search builds ones it never trains), is still made."""
    net = MLP(10**6, [(10**6, "tanh", True), (1, "identity", True)], backend="numpy")
    with pytest.raises(ValueError, match="^input_dim, layers: this run needs about"):
        net.init_params(0)


@pytest.mark.parametrize("seed", [None, np.random.default_rng(0), -1, 1.5])
@pytest.mark.parametrize("call", ["teacher_student_run", "run_gaussian"])
def test_runs_that_start_the_student_from_seed_plus_something_name_a_seed_that_is_no_integer(call, seed):
    """seed=None or a Generator (which as_rng takes elsewhere) ended in "unsupported operand type(s) for +" from
    the student's start (10_000 + seed, seed + 1)."""
    from neuroflow.flow import teacher_student_run
    from neuroflow.flow.gaussian.experiment import run_gaussian

    calls = {"teacher_student_run": lambda: teacher_student_run(2, 2, 2, n_samples=10, seed=seed, maxiterations_ode=2),
             "run_gaussian": lambda: run_gaussian(3, 2, 2, seed=seed, maxiterations_ode=2)}
    with pytest.raises(ValueError, match="^seed: expected a non-negative integer"):
        calls[call]()


@pytest.mark.parametrize("d, words", [({}, "d: expected a dict with input_dim"), ([1, 2], "d: expected a dict"),
                                      ({"input_dim": 2}, "d: expected a dict with input_dim and a list of layers"),
                                      ({"input_dim": "x", "layers": [[2, "tanh", True]]}, "d: input_dim: expected"),
                                      ({"input_dim": 2, "layers": [[2, "tanh"]]}, "d: layers[0]: expected")])
def test_mlp_from_dict_names_a_description_that_is_not_one(d, words):
    """MLP.from_dict (for TrainResult.net) raised KeyError 'input_dim', "list indices must be integers" or int()'s
    "invalid literal for int() with base 10: 'x'"."""
    with pytest.raises(ValueError, match="^" + re.escape(words)):
        MLP.from_dict(d, backend="numpy")
    net = MLP.from_dict({"input_dim": 2.0, "layers": [[3, "tanh", True], [1, "identity", True]]}, backend="numpy")
    assert net.input_dim == 2 and net.n_params == 13


def test_gaussian_teacher_output_weights_that_are_no_numbers_are_named():
    """teacher_a="ab" was numpy's bare "could not convert string to float: 'ab'"."""
    with pytest.raises(ValueError, match="^teacher_a: expected an array of numbers"):
        GaussianTeacherStudent(np.eye(2), "ab", 2)
    assert np.array_equal(GaussianTeacherStudent(np.eye(2), [[1.0, 2.0]], 2).teacher_a, [1.0, 2.0])


def _gaussian_objective():
    W, a = random_teacher(3, 2, seed=0)
    return GaussianTeacherStudent(W, a, 2, "erf")


@pytest.fixture
def two_gib_machine(monkeypatch):
    """check_memory sees a machine of 2 GiB, so that the sizes below are past it on any machine (and nothing the
    test asks for is large)."""
    import os

    real = os.sysconf
    monkeypatch.setattr(os, "sysconf", lambda name: 2**31 // 4096 if name == "SC_PHYS_PAGES" else
                        4096 if name == "SC_PAGE_SIZE" else real(name))


@pytest.mark.parametrize("call, start", [
    # np.empty of the (N, 1, 4001) result: 10^6 probes filled 16 GB of forward pass for a minute before numpy's
    # MemoryError for its 29.8 GiB
    (lambda: MLP(2, [(1000, "tanh", True), (1, "identity", True)], backend="numpy").jacobian(
        np.zeros(4001), np.zeros((10**5, 2))), "X, layers (the Jacobian has N x outputs x 4001 entries): this run"),
    (lambda: MLP(2, [(40000, "tanh", True), (1, "identity", True)], backend="numpy").hessian(
        np.zeros(160001), np.zeros((10, 2)), np.zeros((10, 1))), "X, layers (the Hessian has 160001 x 160001"),
    (lambda: MLP(2, [(1000, "tanh", True), (1, "identity", True)], backend="numpy").hessian(
        np.zeros(4001), np.zeros((10**5, 2)), np.zeros((10**5, 1))), "X, layers (the Hessian has 4001 x 4001"),
    (lambda: train(MLP(2, [(40000, "tanh", True), (1, "identity", True)], backend="numpy"), np.zeros(160001),
                   np.zeros((10, 2)), np.zeros((10, 1)), method_ode="BDF", method_optim="bfgs"),
     "method_ode, method_optim (BDF and bfgs build a 160001 x 160001 matrix from the 10 samples; RK45, DOP853 and"),
    (lambda: GaussianTeacherStudent(np.ones((2, 3)), np.ones(2), 10**6), "teacher_W, student_width: this run"),
    (lambda: GaussianTeacherStudent(np.ones((10**5, 2)), np.ones(10**5), 2), "teacher_W, student_width: this run"),
    (lambda: _gaussian_objective().sample(10**12), "n_samples: this run needs"),
    (lambda: __import__("neuroflow.flow", fromlist=["x"]).teacher_student_problem(2, 4, 10**12),
     "input_dim, teacher_width, n_samples: this run needs"),
])
def test_sizes_past_this_machines_memory_are_named_before_any_allocation(call, start, two_gib_machine):
    """numpy's MemoryError ("Unable to allocate 191. GiB for an array with shape (160001, 160001)") named no
    argument, and the Jacobian's np.empty let a forward pass fill 16 GB first; each is now refused up front."""
    with pytest.raises(ValueError, match="^" + re.escape(start)):
        call()


def test_a_large_net_trains_without_the_hessian_it_would_not_fit():
    """The memory check of train counts a P x P matrix only for the methods that keep one."""
    net = MLP(2, [(40000, "tanh", True), (1, "identity", True)], backend="numpy")
    res = train(net, net.init_params(seed=0), np.ones((4, 2)), np.ones((4, 1)), maxiterations_ode=1,
                maxiterations_optim=1)   # auto: DOP853 and lbfgs
    assert (res.method_ode, res.method_optim) == ("DOP853", "lbfgs")


def test_flow_gaussian_counts_the_teacher_teacher_term_in_its_memory_check(capsys, two_gib_machine):
    """The k x k x d components orthogonal to each teacher unit were left out of the estimate: --input-dim 1200
    --teacher-width 1500 --student-width 1 passed the check on 23.5 GiB and was killed by the kernel filling 21 GB
    (here: 1.3 GiB of them on a 2 GiB machine, where the estimate without them said 0.06 GiB)."""
    assert cli.main(["flow", "gaussian", "--input-dim", "300", "--teacher-width", "750", "--student-width", "1",
                     "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--input-dim, --teacher-width, --student-width: this run needs" in err and len(err.splitlines()) == 1


def test_flow_train_counts_the_hessians_working_arrays_under_the_size_flags(capsys, two_gib_machine):
    """The Hessian of a one-hidden-layer net works on about 4 numbers per parameter and sample, which flow train's
    estimate left out: 3 million probes passed it on a 2 GiB machine (1.3 GiB said) and train itself refused them
    after drawing the data, naming --method-ode, --method-optim; the size flags are named before any work."""
    assert cli.main(["flow", "train", "--n-samples", "3000000", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--input-dim, --teacher-width, --student-width, --n-samples: this run needs" in err, err


@pytest.mark.parametrize("matrices", [None, 5, "ab"])
def test_mlp_pack_names_matrices_that_are_no_list(matrices):
    """net.pack(None) or pack(5) said "object of type 'NoneType' has no len()"."""
    net = MLP(2, [(3, "tanh", True), (1, "identity", True)], backend="numpy")
    with pytest.raises(ValueError, match="^matrices: expected a list of 2 layer matrices"):
        net.pack(matrices)


@pytest.mark.parametrize("Y, start", [(None, "Y: expected targets of shape (N, 1), got None"),
                                      ("big", "net (Levenberg-Marquardt keeps 160001 x 160001 matrices): this run")])
def test_mlp_least_squares_names_targets_and_sizes(Y, start, two_gib_machine):
    """mlp_least_squares(net, theta, X, None) ended in "'NoneType' object is not subscriptable", and a net of
    160001 parameters in numpy's "Unable to allocate 191. GiB"."""
    from neuroflow.flow import mlp_least_squares

    X = np.random.default_rng(0).normal(size=(10, 2))
    if Y == "big":
        net, Y = MLP(2, [(40000, "tanh", True), (1, "identity", True)], backend="numpy"), X[:, :1]
    else:
        net = MLP(2, [(3, "tanh", True), (1, "identity", True)], backend="numpy")
    with pytest.raises(ValueError, match="^" + re.escape(start)):
        mlp_least_squares(net, np.zeros(net.n_params), X, Y, max_iter=2)


def test_a_large_student_trained_without_a_square_matrix_is_not_refused_for_one(capsys):
    """flow train (and teacher_student_run) counted the student's P x P Hessian in every run, so a student of
    102001 parameters, which "auto" trains with DOP853 and L-BFGS, was refused as needing 235.6 GiB; the matrix
    now counts only for methods that keep one."""
    from neuroflow.flow.teacher_student import teacher_student_memory

    assert teacher_student_memory(100, 4, 1000, 1000) < 2**30
    assert teacher_student_memory(100, 4, 1000, 1000, method_optim="newton") > 200 * 2**30
    assert teacher_student_memory(100, 4, 1000, 1000, method_ode="LSODA", method_optim="lbfgs") > 200 * 2**30
    assert cli.main(["flow", "train", "--input-dim", "100", "--student-width", "1000", "--n-samples", "100",
                     "--max-iterations-ode", "1", "--max-iterations-optim", "1", "--quiet", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert (payload["n_params"], payload["method_ode"], payload["method_optim"]) == (102001, "DOP853", "lbfgs")


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf x 0 in the gradient: train stops
def test_a_student_unit_of_huge_norm_is_no_overflow_error():
    """A Gaussian student whose unit went to a norm past 1e152 (a caller's start, or a step that far) ended loss,
    gradient and train in OverflowError "cannot convert float infinity to integer" from the node count (the
    square of the norm); the count stops at its largest rule, and train ends with a reason."""
    from neuroflow.flow.gaussian import quadrature_nodes

    obj = GaussianTeacherStudent(np.array([[1.0, 0.0]]), [1.0], 1, "tanh")
    assert math.isfinite(obj.loss(np.array([1e200, 0.0, 1.0])))
    res = train(obj, np.array([1e200, 0.0, 1.0]), method_ode="none", method_optim="newton")
    assert res.optim_stopped_by.startswith("skipped")
    assert quadrature_nodes("tanh", 1e300) == quadrature_nodes("tanh", math.inf) == 4000
    for bad in (math.nan, -1.0, "a", None):
        with pytest.raises(ValueError, match="^max_norm: expected a weight norm >= 0"):
            quadrature_nodes("tanh", bad)


def test_bfgs_is_checked_for_its_matrix_only(two_gib_machine):
    """BFGS keeps a P x P estimate but forms no exact Hessian: its memory check counts that matrix, not the
    Hessian's working arrays over the samples (which refused 300 000 probes of a 401-parameter net here)."""
    net = MLP(2, [(100, "tanh", True), (1, "identity", True)], backend="numpy")
    X = np.random.default_rng(0).normal(size=(300_000, 2))
    res = train(net, net.init_params(seed=0), X, X[:, :1], method_ode="RK45", method_optim="bfgs",
                maxiterations_ode=1, maxiterations_optim=1)
    assert res.method_optim == "bfgs" and res.optim_iterations <= 1
    with pytest.raises(ValueError, match=r"^method_ode, method_optim \(LSODA builds a 401 x 401 matrix"):
        train(net, net.init_params(seed=0), X, X[:, :1], method_ode="LSODA", method_optim="lbfgs")


@pytest.mark.parametrize("call, name", [
    # each was met inside the first run under another function's name, or as a bare Python error
    (lambda: __import__("neuroflow.flow.bench", fromlist=["x"]).flow_vs_adam(seeds=-1), "seeds"),
    (lambda: __import__("neuroflow.flow.bench", fromlist=["x"]).flow_vs_adam(student_width=-1), "student_width"),
    (lambda: __import__("neuroflow.flow.bench", fromlist=["x"]).flow_vs_adam(activation=-1), "activation"),
    (lambda: __import__("neuroflow.flow.bench", fromlist=["x"]).flow_vs_adam(budget_s=-1), "budget_s"),
    (lambda: __import__("neuroflow.flow.bench", fromlist=["x"]).flow_vs_adam(on_run=3), "on_run"),
    (lambda: __import__("neuroflow.flow.bench", fromlist=["x"]).gradient_benchmark(on_point=-1), "on_point"),
    (lambda: __import__("neuroflow.flow.teacher_student", fromlist=["x"]).teacher_student_run(activation=-1),
     "activation"),
    (lambda: __import__("neuroflow.flow.teacher_student", fromlist=["x"]).teacher_student_problem(2, 3, 10, "bogus"),
     "activation"),
])
def test_api_errors_name_the_argument_the_caller_passed(call, name):
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        call()
