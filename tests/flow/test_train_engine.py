"""train(): gradient-flow ODE + polishing, TrainResult, objectives, bad input, baselines, spectrum, CLI."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from neuroflow.flow import TrainResult, adam, hessian_spectrum, is_minimum, train
from neuroflow.flow.baselines import gradient_descent
from neuroflow.flow.objective import Objective
from neuroflow.mlp import MLP


def _problem(n=200, seed=0, teacher_width=2, student_width=2, act="softplus", scale=1.0):
    rng = np.random.default_rng(seed)
    teacher = MLP(2, [(teacher_width, act, True), (1, "identity", True)], backend="numpy")
    tt = teacher.init_params(seed=1000 + seed) * scale
    X = rng.normal(size=(n, 2))
    Y = teacher.forward(tt, X)
    student = MLP(2, [(student_width, act, True), (1, "identity", True)], backend="numpy")
    return student, X, Y, tt


class Quadratic:
    """L = 0.5 (x - c)^T A (x - c): an Objective with a known minimiser."""

    def __init__(self, A, c):
        self.A, self.c = np.asarray(A, float), np.asarray(c, float)
        self.n_params = len(c)

    def loss(self, x):
        d = x - self.c
        return 0.5 * float(d @ self.A @ d)

    def gradient(self, x):
        return self.A @ (x - self.c)

    def hessian(self, x):
        return self.A.copy()


@pytest.mark.parametrize("method_ode", ["RK45", "DOP853", "Radau", "BDF", "LSODA"])
def test_every_ode_method_reaches_the_minimum_of_a_quadratic(method_ode):
    obj = Quadratic(np.diag([1.0, 10.0, 100.0]), [1.0, -2.0, 0.5])
    assert isinstance(obj, Objective)
    res = train(obj, np.zeros(3), method_ode=method_ode, maxiterations_ode=100, method_optim="newton")
    assert res.converged and res.gnorm <= 1e-10
    assert np.allclose(res.x, obj.c, atol=1e-9)
    assert res.method_ode == method_ode and res.ode_iterations > 0


def test_teacher_student_recovers_zero_loss_fixed_point():
    # a student of the teacher's own size reaches the teacher's function: loss ~ 0, a true fixed point
    student, X, Y, tt = _problem(n=300, seed=2, scale=2.0)
    res = train(student, student.init_params(seed=2), X, Y, min_gnorm=1e-12)
    assert res.loss < 1e-14
    assert res.gnorm <= 1e-10
    assert res.converged
    # the reported numbers are those of x
    assert res.loss == pytest.approx(student.loss(res.x, X, Y), rel=1e-6, abs=1e-24)
    assert np.max(np.abs(student.gradient(res.x, X, Y))) == pytest.approx(res.gnorm, rel=1e-3, abs=1e-15)
    assert is_minimum(student.hessian(res.x, X, Y), rtol=1e-6)


def test_result_fields_trajectory_and_round_trip(tmp_path):
    student, X, Y, _ = _problem()
    theta0 = student.init_params(seed=0)
    res = train(student, theta0, X, Y, method_ode="RK45", maxiterations_ode=300, n_trajectory=10)
    assert np.array_equal(res.init, theta0)
    assert res.trajectory.shape[1] == student.n_params
    assert 1 <= len(res.trajectory) <= 20 and len(res.trajectory_t) == len(res.trajectory)
    assert np.array_equal(res.trajectory[0], theta0)
    assert np.all(np.diff(res.trajectory_t) > 0)
    assert res.loss_curve.shape[1] == 4 and set(np.unique(res.loss_curve[:, 3])) <= {1.0, 2.0}
    assert res.loss <= res.ode_loss + 1e-15
    assert res.time_s == pytest.approx(res.ode_time_s + res.optim_time_s)
    d = res.to_dict()
    json.dumps(d)  # JSON-serialisable
    for key in ("loss", "gnorm", "converged", "x", "ode_stopped_by", "optim_stopped_by", "time_s"):
        assert key in d
    back = TrainResult.load(res.save(tmp_path / "r.json"))
    assert np.array_equal(back.x, res.x) and back.loss == res.loss and back.ode_stopped_by == res.ode_stopped_by
    assert np.array_equal(back.trajectory, res.trajectory)
    assert np.array_equal(back.loss_curve, res.loss_curve)


def test_budgets_stop_each_phase_with_a_reason():
    student, X, Y, _ = _problem(n=100)
    th = student.init_params(seed=2)
    res = train(student, th, X, Y, method_ode="RK45", maxiterations_ode=5, method_optim="bfgs",
                maxiterations_optim=3, min_gnorm=0.0)
    assert res.ode_stopped_by == "maxiterations" and res.ode_iterations == 5
    assert res.optim_stopped_by == "maxiterations" and res.optim_iterations == 3
    assert res.reproducible
    res = train(student, th, X, Y, method_ode="none", method_optim="lbfgs", maxiterations_optim=4, min_gnorm=0.0)
    assert res.ode_stopped_by == "skipped" and res.optim_stopped_by == "maxiterations"
    assert res.optim_iterations == 4
    res = train(student, th, X, Y, method_ode="RK45", maxT=1e-3, method_optim="none")
    assert res.ode_stopped_by == "maxT" and res.ode_t == pytest.approx(1e-3)
    assert res.optim_stopped_by == "skipped"
    # a wall-clock cap is optional, and a phase it ends says so (1 ns expires at the first check)
    res = train(student, th, X, Y, method_ode="RK45", maxtime_ode=1e-9, method_optim="bfgs", maxtime_optim=1e-9)
    assert res.ode_stopped_by == "maxtime" and res.ode_iterations == 1
    assert res.optim_stopped_by == "maxtime" and not res.reproducible
    assert res.options["maxtime_ode"] == 1e-9 and train.__kwdefaults__["maxtime_ode"] is None


def test_results_do_not_depend_on_the_clock(monkeypatch):
    """A machine a thousand times slower (every clock reading 1000 s later) gives the same bits."""
    import time as _time

    from neuroflow.flow import _tracking, engine, polish

    student, X, Y, _ = _problem(n=300, seed=3, student_width=3)
    th = student.init_params(seed=3)
    quiet = train(student, th, X, Y, method_ode="RK45", maxiterations_ode=100, maxiterations_optim=20)
    ticks = iter(range(10**9))
    slow = type("SlowClock", (), {"perf_counter": staticmethod(lambda: 1000.0 * next(ticks))})
    for module in (_tracking, engine, polish):
        monkeypatch.setattr(module, "time", slow)
    busy = train(student, th, X, Y, method_ode="RK45", maxiterations_ode=100, maxiterations_optim=20)
    assert busy.ode_time_s > 1000 > quiet.ode_time_s
    assert np.array_equal(busy.x, quiet.x) and busy.loss == quiet.loss and busy.gnorm == quiet.gnorm
    for key in ("ode_stopped_by", "optim_stopped_by", "ode_iterations", "optim_iterations"):
        assert getattr(busy, key) == getattr(quiet, key)
    assert np.array_equal(busy.loss_curve[:, 1:], quiet.loss_curve[:, 1:])
    assert _time.perf_counter() < 1e8  # the real clock was never touched


def test_results_do_not_depend_on_the_number_of_blas_threads():
    """A problem whose products BLAS splits over threads (20 000 x 64 inputs): train holds BLAS to one thread, so
    the caller's thread count changes no bit (with two threads the products' sums run in another order, and 300
    L-BFGS steps end at relative loss 0.77 instead of 0.86)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 64))
    student = MLP(64, [(40, "g", True), (20, "g", True), (10, "identity", True)], backend="numpy")
    teacher = MLP(64, [(20, "g", True), (20, "g", True), (10, "identity", True)], backend="numpy")
    Y = teacher.forward(teacher.init_params(seed=1), X)
    th = student.init_params(seed=2)
    with threadpool_limits(limits=1, user_api="blas"):
        one = train(student, th, X, Y, maxiterations_ode=0, maxiterations_optim=15, method_optim="lbfgs")
    with threadpool_limits(limits=2, user_api="blas"):
        two = train(student, th, X, Y, maxiterations_ode=0, maxiterations_optim=15, method_optim="lbfgs")
    assert np.array_equal(one.x, two.x) and one.loss == two.loss and one.gnorm == two.gnorm


@pytest.mark.parametrize("run", ["train", "train an objective", "adam", "gradient_descent"])
def test_a_torch_net_computes_on_one_torch_thread_whatever_the_callers(run, monkeypatch):
    """torch's intra-op threads (one per core by default) were left as the caller had them: BLAS limits do not
    reach them, and `flow train --backend torch` on 50 000 probes ended 200 LSODA steps at loss
    1.6011043460e-09 with OMP_NUM_THREADS=1 and 1.6011041735e-09 with 2. train, adam and gradient_descent now hold
    torch to one thread while they run (as BLAS), and give the caller's count back."""
    torch = pytest.importorskip("torch")
    from neuroflow.mlp import _torch_kernels

    seen = []
    real = _torch_kernels.loss_and_gradient

    def recording(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(_torch_kernels, "loss_and_gradient", recording)
    net = MLP(2, [(3, "tanh", True), (1, "identity", True)], backend="torch", device="cpu")
    X = np.random.default_rng(0).normal(size=(30, 2))
    th = net.init_params(seed=1)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        calls = {"train": lambda: train(net, th, X, X[:, :1], maxiterations_ode=3, maxiterations_optim=0),
                 "train an objective": lambda: train(net.objective(X, X[:, :1]), th, maxiterations_ode=3,
                                                     maxiterations_optim=0),
                 "adam": lambda: adam(net, th, X, X[:, :1], maxiterations=3),
                 "gradient_descent": lambda: gradient_descent(net, th, X, X[:, :1], maxiterations=3)}
        calls[run]()
        assert torch.get_num_threads() == 2   # the caller's count, back
    finally:
        torch.set_num_threads(before)
    assert seen and set(seen) == {1}


class Exploding:
    """Gradient flow of L = -x^4 / 4 blows up in finite time: the ODE must stop, not crash."""

    n_params = 1

    def loss(self, x):
        return -0.25 * float(x[0]) ** 4

    def gradient(self, x):
        return np.array([-float(x[0]) ** 3])

    def hessian(self, x):
        return np.array([[-3.0 * float(x[0]) ** 2]])


def test_diverging_flow_ends_with_a_reason():
    res = train(Exploding(), np.array([1.0]), method_ode="RK45", maxT=10.0, method_optim="none")
    assert not res.converged
    assert res.ode_stopped_by.startswith(("diverged", "solver failed"))
    assert np.all(np.isfinite(res.x))


def test_norm_barrier_keeps_parameters_bounded():
    # L = |x - (10, 0)|^2 / 2 with the barrier (|x|^2/2 - 2)^2: the minimum of L + R solves
    # x - 10 + 2 (x^2/2 - 2) x = 0, i.e. x^3 - 3x - 10 = 0, far inside L's own minimiser at 10
    obj = Quadratic(np.eye(2), [10.0, 0.0])
    res = train(obj, np.zeros(2), maxnorm=2.0)
    root = max(r.real for r in np.roots([1.0, 0.0, -3.0, -10.0]) if abs(r.imag) < 1e-12)
    assert res.x[0] == pytest.approx(root, rel=1e-8) and abs(res.x[1]) < 1e-8
    assert res.loss == pytest.approx(0.5 * (10.0 - root) ** 2)  # the reported loss is L alone
    free = train(obj, np.zeros(2))
    assert free.x[0] == pytest.approx(10.0)


def test_fixed_parameters_wrapper_objective():
    # an Objective that trains only the output layer of an MLP (the rest fixed)
    student, X, Y, _ = _problem(n=150)
    theta = student.init_params(seed=4)
    obj_full = student.objective(X, Y)
    free = np.arange(student.n_params - 3, student.n_params)

    class OutputOnly:
        n_params = len(free)

        def _full(self, v):
            t = theta.copy()
            t[free] = v
            return t

        def loss(self, v):
            return obj_full.loss(self._full(v))

        def gradient(self, v):
            return obj_full.gradient(self._full(v))[free]

        def hessian(self, v):
            return obj_full.hessian(self._full(v))[np.ix_(free, free)]

    res = train(OutputOnly(), theta[free])
    assert res.converged  # a linear least-squares problem: exact minimum
    assert is_minimum(OutputOnly().hessian(res.x))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(method_ode="Euler"), "method_ode"),
        (dict(method_optim="sgd"), "method_optim"),
        (dict(maxtime_ode=-1.0), "maxtime_ode"),
        (dict(patience=0), "patience"),
        (dict(maxnorm=0.0), "maxnorm"),
        (dict(reltol=float("nan")), "reltol"),
    ],
)
def test_bad_options(kwargs, match):
    student, X, Y, _ = _problem(n=20)
    with pytest.raises(ValueError, match=match):
        train(student, student.init_params(0), X, Y, **kwargs)


def test_bad_data_and_theta():
    student, X, Y, _ = _problem(n=20)
    th = student.init_params(0)
    with pytest.raises(ValueError, match="theta0.*n_params"):
        train(student, th[:3], X, Y)
    with pytest.raises(ValueError, match="theta0.*finite"):
        train(student, np.full_like(th, np.nan), X, Y)
    with pytest.raises(ValueError, match="X"):
        train(student, th, X[:, :1], Y)
    with pytest.raises(ValueError, match="X, Y"):
        train(student, th)
    with pytest.raises(ValueError, match="Objective"):
        train(Quadratic(np.eye(2), [0, 0]), np.zeros(2), X, Y)
    with pytest.raises(ValueError, match="net_or_objective"):
        train(object(), np.zeros(2))


def test_adam_and_gradient_descent_baselines():
    student, X, Y, _ = _problem(n=200)
    th = student.init_params(seed=0)
    L0 = student.loss(th, X, Y)
    ad = adam(student, th, X, Y, lr=1e-2, maxiterations=300)
    assert ad.iterations == 300 and ad.stopped_by == "maxiterations"
    assert ad.loss < 0.5 * L0
    assert ad.loss == pytest.approx(student.loss(ad.x, X, Y), rel=1e-9)
    gd = gradient_descent(student, th, X, Y, lr=1e-2, maxiterations=50)
    assert gd.loss < L0
    mb = adam(student, th, X, Y, lr=1e-2, maxiterations=50, batch_size=32, seed=1)
    mb2 = adam(student, th, X, Y, lr=1e-2, maxiterations=50, batch_size=32, seed=1)
    assert np.array_equal(mb.x, mb2.x)  # seeded minibatches
    json.dumps(ad.to_dict())
    with pytest.raises(ValueError, match="lr"):
        adam(student, th, X, Y, lr=-1.0)


def test_hessian_spectrum_and_is_minimum():
    ev = hessian_spectrum(np.array([[2.0, 0.0], [0.0, -1.0]]))
    assert np.allclose(ev, [-1.0, 2.0])
    assert not is_minimum(ev)
    assert is_minimum(np.diag([3.0, 1e-14, 0.0]))  # flat directions allowed
    assert not is_minimum(np.diag([3.0, -1e-3]))
    with pytest.raises(ValueError, match="square"):
        hessian_spectrum(np.zeros((2, 3)))


def test_saddle_is_a_fixed_point_but_not_a_minimum():
    # L = x^2 - y^2 starting on the stable manifold: the flow converges to the saddle at 0
    obj = Quadratic(np.diag([2.0, -2.0]), [0.0, 0.0])
    res = train(obj, np.array([1.0, 0.0]), method_optim="none")
    assert res.gnorm <= 1e-10 and res.converged
    assert not is_minimum(obj.hessian(res.x))


def test_cli_train_json(capsys, tmp_path):
    from neuroflow.cli import main

    argv = ["flow", "train", "--n-samples", "200", "--student-width", "3", "--teacher-width", "2",
            "--json", "--quiet", "--seed", "1", "--plot", str(tmp_path / "f.png"), "--out", str(tmp_path / "r.json")]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("loss", "gnorm", "converged", "time_s", "ode_stopped_by", "reproducible"):
        assert key in out
    assert math.isfinite(out["loss"]) and out["converged"] and out["reproducible"]
    # the same command again (no plot): the same numbers (timings aside)
    assert main(argv[:-4] + argv[-2:]) == 0
    again = json.loads(capsys.readouterr().out)
    timing = {k for k in out if k.endswith("time_s")} | {"plot", "out"}
    assert {k: v for k, v in again.items() if k not in timing} == {k: v for k, v in out.items() if k not in timing}
    assert (tmp_path / "f.png").stat().st_size > 0
    assert TrainResult.load(tmp_path / "r.json").loss == out["loss"]


def test_bench_point_measures_both_sides_on_the_same_numbers():
    from neuroflow.flow.bench import bench_point

    p = bench_point([3], 50, hessian=True, repeats=1, budget_s=0.1)
    assert p["n_params"] == 13
    assert p["gradient_max_rel_diff"] < 1e-12 and p["hessian_max_rel_diff"] < 1e-12
    assert p["gradient_neuroflow_s"] > 0 and p["hessian_torch_autograd_s"] > 0


def _without_timings(report):
    timing = set(report["timing_fields"])
    return {**report, "runs": [{k: v for k, v in r.items() if k not in timing} for r in report["runs"]]}


def test_flow_vs_adam_gives_adam_trains_work_in_steps_and_repeats_itself():
    """Adam got 60 s of wall time per seed, so its loss, and the ratio the benchmark reports, moved with the
    machine's load; now it gets train's work in steps (or a given number of steps) and a second run gives the same
    report, its timings apart."""
    from neuroflow.flow.bench import flow_vs_adam

    first = flow_vs_adam(seeds=(0,), n_samples=200)
    assert _without_timings(flow_vs_adam(seeds=(0,), n_samples=200)) == _without_timings(first)
    (run,) = first["runs"]
    assert first["adam_budget"] == "same_work" and first["reproducible"] and "interrupted" not in first
    assert run["adam_steps"] == run["train_gradient_equivalents"] > 0
    n_grad, n_hess = run["train_n_gradients"], run["train_n_hessians"]
    assert run["train_gradient_equivalents"] == n_grad + run["train_n_params"] * n_hess
    assert run["train_n_hessians"] > 0 and run["adam_stopped_by"] == "maxiterations"
    assert run["loss_ratio_adam_over_train"] == run["adam_loss"] / run["train_loss"]
    fixed = flow_vs_adam(seeds=(0,), n_samples=200, adam_steps=30)
    assert fixed["adam_budget"] == "steps" and fixed["runs"][0]["adam_steps"] == 30 and fixed["reproducible"]
    assert fixed["runs"][0]["train_loss"] == run["train_loss"]
    with pytest.raises(ValueError, match="adam_steps, budget_s"):
        flow_vs_adam(seeds=(0,), adam_steps=30, budget_s=1.0)


def test_flow_vs_adam_keeps_the_finished_seeds_at_ctrl_c_and_gives_adam_no_half_run(monkeypatch):
    """train returns what it had at Ctrl-C: the seed went on to Adam with the half run's work and was reported
    as finished; now the finished seeds come back, marked interrupted, and the half-run seed is dropped."""
    import dataclasses

    import neuroflow.flow.baselines
    import neuroflow.flow.engine
    from neuroflow.flow.bench import flow_vs_adam

    real_train, real_adam, adams, seen = neuroflow.flow.engine.train, neuroflow.flow.baselines.adam, [], []

    def train(*args, **kwargs):
        r = real_train(*args, **kwargs)
        return r if len(adams) == 0 else dataclasses.replace(r, ode_stopped_by="interrupted")

    def adam(*args, **kwargs):
        adams.append(1)
        return real_adam(*args, **kwargs)

    monkeypatch.setattr(neuroflow.flow.engine, "train", train)
    monkeypatch.setattr(neuroflow.flow.baselines, "adam", adam)
    report = flow_vs_adam(seeds=(0, 1, 2), n_samples=200, adam_steps=20, on_run=seen.append)
    assert report["interrupted"] and not report["reproducible"] and len(adams) == 1
    assert [r["seed"] for r in report["runs"]] == [0] and seen == report["runs"]
    assert report["summary"]["n_seeds"] == 1


def test_an_interrupted_gradient_benchmark_gives_torch_its_threads_back(monkeypatch):
    """gradient_benchmark sets torch to one thread and set it back only when it finished: Ctrl-C or an error
    left the caller's torch on one thread."""
    torch = pytest.importorskip("torch")
    from neuroflow.flow import bench

    def interrupted(*args, **kwargs):
        assert torch.get_num_threads() == 1
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "bench_point", interrupted)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(KeyboardInterrupt):
            bench.gradient_benchmark(quick=True, repeats=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_cli_bad_activation_is_an_error(capsys):
    from neuroflow.cli import main

    with pytest.raises(SystemExit):
        main(["flow", "train", "--activation", "swish"])


class DoubleWell:
    """L = x^2 - y^2 + y^4: a saddle at 0, minima at (0, +-1/sqrt(2))."""

    n_params = 2

    def loss(self, v):
        x, y = v
        return float(x * x - y * y + y**4)

    def gradient(self, v):
        x, y = v
        return np.array([2 * x, -2 * y + 4 * y**3])

    def hessian(self, v):
        _, y = v
        return np.array([[2.0, 0.0], [0.0, -2.0 + 12 * y * y]])


@pytest.mark.parametrize("method_optim", ["newton", "trust-exact", "bfgs", "lbfgs"])
def test_polishers_escape_a_saddle_and_reach_the_minimum(method_optim):
    res = train(DoubleWell(), np.array([0.5, 1e-3]), method_ode="none", method_optim=method_optim)
    assert res.converged and res.gnorm <= 1e-10
    assert np.allclose(np.abs(res.x), [0.0, 1 / np.sqrt(2)], atol=1e-8)
    assert is_minimum(DoubleWell().hessian(res.x))


def test_newton_polishes_rosenbrock():
    from scipy.optimize import rosen, rosen_der, rosen_hess

    class Rosen:
        n_params = 2
        loss, gradient, hessian = staticmethod(rosen), staticmethod(rosen_der), staticmethod(rosen_hess)

    res = train(Rosen(), np.array([-1.2, 1.0]), method_ode="none", method_optim="newton")
    assert res.converged and np.allclose(res.x, 1.0, atol=1e-9)
    assert res.optim_iterations < 200


def test_julia_backend_routes_through_the_bridge(monkeypatch):
    # no Julia here: replace the bridge functions and force the backend, to check the routing only
    import neuroflow.julia.bridge as bridge

    calls = []
    student, X, Y, _ = _problem(n=30)
    ref = student.objective(X, Y)
    monkeypatch.setattr(bridge, "mlp_forward", lambda net, th, X: calls.append("forward") or np.zeros((len(X), 1)))
    monkeypatch.setattr(bridge, "mlp_loss", lambda net, th, X, Y, w: calls.append("loss") or ref.loss(th))
    monkeypatch.setattr(bridge, "mlp_loss_and_gradient",
                        lambda net, th, X, Y, w: calls.append("loss_and_gradient") or ref.loss_and_gradient(th))
    monkeypatch.setattr(bridge, "mlp_hessian", lambda net, th, X, Y, w: calls.append("hessian") or ref.hessian(th))
    from neuroflow.backend import JuliaBackend

    native = train(student, student.init_params(0), X, Y, maxiterations_ode=70)
    fields = {k: v for k, v in vars(native).items() if k not in ("init", "n_params", "options", "net")}
    monkeypatch.setattr(bridge, "train",
                        lambda net, th, X, Y, w, opts: calls.append(("train", opts["maxiterations_ode"])) or fields)
    jnet = MLP(2, student.layers, backend="numpy")
    jnet.backend = JuliaBackend()  # no Julia here: the object, not the name, which would check for a runtime
    th = jnet.init_params(0)
    jnet.forward(th, X)
    assert jnet.loss(th, X, Y) == ref.loss(th)
    assert np.array_equal(jnet.gradient(th, X, Y), ref.gradient(th))
    assert np.array_equal(jnet.hessian(th, X, Y), ref.hessian(th))
    res = train(jnet, th, X, Y, maxiterations_ode=70)
    assert calls == ["forward", "loss", "loss_and_gradient", "hessian", ("train", 70)]
    assert res.loss == native.loss and res.net == jnet.to_dict() and np.array_equal(res.init, th)


class InterruptAfter(Quadratic):
    """Raises KeyboardInterrupt (Ctrl-C) on the n-th gradient evaluation."""

    def __init__(self, n):
        super().__init__(np.diag([1.0, 1e-3]), [1.0, 1.0])
        self.calls, self.n = 0, n

    def gradient(self, x):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return super().gradient(x)


@pytest.mark.parametrize("n, phase", [(20, "ode"), (3, "optim")])
def test_ctrl_c_keeps_what_was_found(n, phase):
    obj = InterruptAfter(n)
    kwargs = dict(method_ode="RK45") if phase == "ode" else dict(method_ode="none", method_optim="bfgs")
    res = train(obj, np.zeros(2), progress=True, **kwargs)
    stopped = res.ode_stopped_by if phase == "ode" else res.optim_stopped_by
    assert stopped == "interrupted"
    assert np.all(np.isfinite(res.x)) and res.loss <= obj.loss(np.zeros(2))


def test_cli_bench_writes_its_json(capsys, tmp_path, monkeypatch):
    from neuroflow.cli import main
    from neuroflow.flow import bench

    point = {"hidden": [3], "n_samples": 50, "gradient_speedup": 2.0, "hessian_speedup": 30.0}
    fake = {"summary": {"min_gradient_speedup": 2.0, "min_hessian_speedup_one_hidden": 30.0,
                        "min_hessian_speedup_two_hidden": 12.0}, "points": [point]}
    seen = []
    def fake_benchmark(quick, repeats, on_point):
        seen.append((quick, repeats))
        on_point(point)
        return fake

    monkeypatch.setattr(bench, "gradient_benchmark", fake_benchmark)
    out = tmp_path / "sub" / "bench.json"
    assert main(["flow", "bench", "--repeats", "2", "--out", str(out)]) == 0
    assert seen == [(True, 2)] and json.loads(out.read_text()) == fake
    captured = capsys.readouterr()
    assert "min speed-up: gradient 2.0x" in captured.out and "hidden 3, N=50: gradient 2.0x" in captured.err


def test_cli_ctrl_c_exits_130_with_what_was_found(capsys, monkeypatch):
    """Ctrl-C during training: the phase ends, the best point is printed, the JSON says so, exit 130."""
    from neuroflow.cli import main
    from neuroflow.flow import engine

    real = engine._ode_phase

    def interrupted_flow(prob, theta0, **kw):
        out = real(prob, theta0, **dict(kw, maxiterations=3))
        out["reason"] = "interrupted"
        return out

    monkeypatch.setattr(engine, "_ode_phase", interrupted_flow)
    assert main(["flow", "train", "--n-samples", "50", "--json", "--quiet"]) == 130
    out = json.loads(capsys.readouterr().out)
    assert out["interrupted"] is True and out["ode_stopped_by"] == "interrupted" and not out["reproducible"]
    assert out["optim_stopped_by"] == "skipped (interrupted)" and math.isfinite(out["loss"])
    assert main(["flow", "train", "--n-samples", "50", "--quiet"]) == 130  # the text says why, not 'the clock'
    text = capsys.readouterr().out
    assert "(interrupted: not reproducible)" in text and "clock" not in text, text


def test_ctrl_c_after_the_last_iteration_is_still_an_interrupt(monkeypatch):
    """Ctrl-C that lands once the optimiser has used its whole iteration budget (here: in the progress update
    after the last accepted iteration) is reported as "interrupted", never as "maxiterations": callers that
    stop on an interrupt (Expand-and-Cluster's students) must see it."""
    from neuroflow.flow import polish

    def update(self, step, *args):
        if step == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(polish.PhaseProgress, "update", update)
    res = train(Quadratic(np.diag([1.0, 1e-3]), [1.0, 1.0]), np.zeros(2), method_ode="none", method_optim="bfgs",
                maxiterations_optim=2, min_gnorm=0.0)
    assert res.optim_stopped_by == "interrupted"


def test_adam_beside_a_run_gets_its_work_in_steps_and_the_same_numbers_every_time(tmp_path):
    """The demo's Adam ran for train's wall time: its steps and loss changed from run to run (3628 steps, then 3745).
    Now it takes one step per gradient train evaluated, a Hessian counted as n_params gradients."""
    from neuroflow.flow.teacher_student import teacher_student_run

    runs = [teacher_student_run(2, 3, 4, "tanh", 300, seed=1, adam_too=True, maxiterations_ode=200,
                                maxiterations_optim=20) for _ in range(2)]
    r, ad = runs[0].result, runs[0].adam
    assert r.n_gradients > 0 and r.n_hessians >= 0
    assert ad.iterations == r.gradient_equivalents == r.n_gradients + r.n_params * r.n_hessians
    assert r.same_work() == {"maxiterations": r.gradient_equivalents, "maxtime": None}
    assert ad.stopped_by == "maxiterations" and ad.loss == runs[1].adam.loss
    assert np.array_equal(ad.x, runs[1].adam.x)
    d = runs[0].to_dict()
    assert d["n_gradients"] == r.n_gradients and d["adam_iterations"] == ad.iterations
    # saved and loaded with the counts; a file of an older version (no counts) loads with 0 and an Adam budget
    # of train's wall time
    back = TrainResult.load(r.save(tmp_path / "r.json"))
    assert (back.n_gradients, back.n_hessians) == (r.n_gradients, r.n_hessians)
    old = json.loads((tmp_path / "r.json").read_text())
    del old["n_gradients"], old["n_hessians"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    older = TrainResult.load(tmp_path / "old.json")
    assert older.gradient_equivalents == 0 and older.same_work()["maxtime"] > 0
    old["n_hessians"] = -1
    (tmp_path / "bad.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match="n_hessians: expected a non-negative integer"):
        TrainResult.load(tmp_path / "bad.json")


@pytest.mark.parametrize("error", [ZeroDivisionError, OverflowError, ValueError])
def test_an_error_in_polishing_keeps_the_run_so_far_as_in_the_ode_phase(error):
    """An ArithmeticError or ValueError in the ODE phase ends it with a reason and keeps its best point; in the
    polishing phase it went on to the caller, and the ODE phase's result was lost."""

    class FailingHessian(Quadratic):
        def hessian(self, x):
            raise error("the Hessian failed")

    obj = FailingHessian(np.diag([1.0, 10.0]), [1.0, -2.0])
    res = train(obj, np.zeros(2), method_ode="RK45", maxiterations_ode=5, method_optim="newton", min_gnorm=1e-14)
    assert res.optim_stopped_by == f"solver error: {error.__name__}: the Hessian failed"
    assert res.ode_stopped_by == "maxiterations" and res.loss <= res.ode_loss and np.isfinite(res.loss)


def test_a_run_records_where_it_computed():
    """torch computes on a GPU where there is one, which rounds otherwise than a CPU; the JSON named the backend only."""
    from neuroflow.backend import torch_available
    from neuroflow.flow.teacher_student import teacher_student_run

    backends = ["numpy"] + (["torch"] if torch_available() else [])
    for backend in backends:
        d = teacher_student_run(2, 2, 2, "tanh", 50, seed=0, backend=backend, maxiterations_ode=5,
                                maxiterations_optim=2).to_dict()
        assert d["backend"] == backend and d["device"] in ("cpu", "cuda:0", "cuda")
        if backend == "torch":
            import torch

            assert d["device"].startswith("cuda" if torch.cuda.is_available() else "cpu")
