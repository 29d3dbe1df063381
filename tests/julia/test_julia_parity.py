"""Parity of every NeuroFlow.jl kernel with the NumPy/numba reference on random inputs.

Marked ``julia``: skipped (with the reason from ``neuroflow.julia.available()``) where no Julia runtime
is installed. Run them alone (``pytest tests/julia``) so that Julia starts before anything imports torch.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.julia


@pytest.fixture(scope="module")
def nf():
    from neuroflow.julia import bridge

    try:
        return bridge.load()
    except RuntimeError as exc:
        if "torch was imported" in str(exc):
            pytest.skip("torch was imported earlier in this session; run `pytest tests/julia` on its own")
        raise


NETS = [
    (3, [(4, "tanh", True), (2, "identity", True)]),
    (2, [(3, "g", True), (3, "softplus", False), (1, "sigmoid", True)]),
    (3, [(5, "gelu", False), (2, "square", True)]),
    (2, [(3, "erf", True), (2, "silu", True), (2, "cube", False)]),
    (2, [(4, "relu", True), (2, "normal_cdf", True)]),
]


def test_activations_match(nf):
    from neuroflow.julia import bridge
    from neuroflow.mlp.activations import ACTIVATIONS

    x = np.linspace(-6, 6, 241) + 1e-3
    for name, act in ACTIVATIONS.items():
        f, df, d2f = bridge.activations(name, x)
        np.testing.assert_allclose(f, act.f(x), rtol=1e-13, atol=1e-15, err_msg=name)
        np.testing.assert_allclose(df, act.df(x), rtol=1e-13, atol=1e-15, err_msg=name)
        np.testing.assert_allclose(d2f, act.d2f(x), rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("spec", NETS, ids=lambda s: s[1][0][1])
@pytest.mark.parametrize("weighted", [False, True])
def test_mlp_kernels_match(nf, spec, weighted):
    from neuroflow.mlp import MLP

    d, layers = spec
    ref, jl = MLP(d, layers, backend="numpy"), MLP(d, layers, backend="julia")
    rng = np.random.default_rng(len(layers) + weighted)
    theta = ref.init_params(rng) + 0.1 * rng.normal(size=ref.n_params)
    X, Y = rng.normal(size=(31, d)), rng.normal(size=(31, ref.output_dim))
    w = rng.uniform(0.1, 2.0, size=31) if weighted else None
    np.testing.assert_allclose(jl.forward(theta, X), ref.forward(theta, X), rtol=1e-12, atol=1e-14)
    assert jl.loss(theta, X, Y, w) == pytest.approx(ref.loss(theta, X, Y, w), rel=1e-12)
    np.testing.assert_allclose(jl.gradient(theta, X, Y, w), ref.gradient(theta, X, Y, w), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(jl.hessian(theta, X, Y, w), ref.hessian(theta, X, Y, w), rtol=1e-9, atol=1e-12)


def test_train_matches_on_linear_regression(nf):
    """A linear model has one minimum: both backends must reach it, and the result round-trips."""
    from neuroflow.flow import TrainResult, train
    from neuroflow.mlp import MLP

    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3))
    Y = X @ rng.normal(size=(3, 2)) + 0.1 * rng.normal(size=(50, 2))
    net = MLP(3, [(2, "identity", True)], backend="numpy")
    theta0 = net.init_params(0)
    kw = dict(maxtime_ode=20, maxtime_optim=20, min_gnorm=1e-10)
    ref = train(net, theta0, X, Y, method_ode="RK45", method_optim="newton", **kw)
    jl = train(net, theta0, X, Y, method_ode="RK45", method_optim="newton", backend="julia", **kw)
    assert isinstance(jl, TrainResult) and jl.method_ode.endswith("(julia)")
    assert jl.converged and jl.gnorm <= 1e-10
    np.testing.assert_allclose(jl.x, ref.x, rtol=1e-7, atol=1e-9)
    assert jl.loss == pytest.approx(ref.loss, rel=1e-9)
    assert jl.loss == pytest.approx(net.loss(jl.x, X, Y), rel=1e-12)
    assert jl.trajectory.shape[1] == net.n_params and jl.loss_curve.shape[1] == 4
    json.dumps(jl.to_dict())


def test_train_on_a_teacher_student_problem(nf):
    from neuroflow.flow import train
    from neuroflow.mlp import MLP

    rng = np.random.default_rng(4)
    teacher = MLP(2, [(2, "softplus", True), (1, "identity", True)], backend="numpy")
    X = rng.normal(size=(200, 2))
    Y = teacher.forward(teacher.init_params(1) * 2, X)
    net = MLP(2, [(3, "softplus", True), (1, "identity", True)], backend="julia")
    r = train(net, net.init_params(2), X, Y, maxtime_ode=20, maxtime_optim=20, min_gnorm=1e-9)
    assert r.loss < net.loss(net.init_params(2), X, Y)
    assert r.loss == pytest.approx(net.with_backend("numpy").loss(r.x, X, Y), rel=1e-10)
    g = net.with_backend("numpy").gradient(r.x, X, Y)
    assert np.max(np.abs(g)) == pytest.approx(r.gnorm, rel=1e-6, abs=1e-14)


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_crossbar_program_matches_numba(nf, mode):
    from neuroflow.julia import bridge
    from neuroflow.memristor import kernels
    from neuroflow.memristor.device import device_table

    table = device_table("portner2025")
    rng = np.random.default_rng(mode)
    n_seeds, n_cells = 3, 40
    cell_device = rng.integers(0, len(table), size=n_cells).astype(np.int64)
    states = [dict(w=rng.uniform(0, 1, (n_seeds, n_cells)), cstate=np.full((n_seeds, n_cells, 4), -1, np.int64),
                   rng=kernels.seed_states(7, n_seeds))]
    states[0]["cstate"][..., 2] = 1
    states.append({k: v.copy() for k, v in states[0].items()})
    for step in range(25):
        dw = rng.normal(0, 0.05, (n_seeds, n_cells))
        dw[:, ::7] = 0.0
        args = (cell_device, mode, table.n_pulses, table.ab, table.sigma, table.cycles)
        p_ref = kernels.crossbar_program(states[0]["w"], dw, *args, states[0]["cstate"], states[0]["rng"], 0.5 / 200)
        p_jl = bridge.crossbar_program(states[1]["w"], dw, *args, states[1]["cstate"], states[1]["rng"], 0.5 / 200)
        np.testing.assert_array_equal(p_jl, p_ref)
        np.testing.assert_allclose(states[1]["w"], states[0]["w"], rtol=0, atol=1e-10)  # exp/log ulps
        np.testing.assert_array_equal(states[1]["cstate"], states[0]["cstate"])
        np.testing.assert_array_equal(states[1]["rng"], states[0]["rng"])


@pytest.mark.parametrize("task,synapse,min_update", [
    ("tmaze", "ideal", None), ("tmaze", "memristor", None), ("tmaze", "memristor-open-loop", None),
    ("watermaze", "memristor", None),
    # every update written: tiny place-cell activities (< 1e-12) must be skipped as in numba, or Julia writes
    # ~1000 more cells a step and its random streams fall out of step
    ("watermaze", "ideal", 0.0), ("watermaze", "memristor", 0.0), ("watermaze", "memristor-open-loop", 0.0)])
def test_td_step_matches_numba(nf, task, synapse, min_update):
    from neuroflow.rl.agent import ActorCritic

    ref = ActorCritic(task, synapse, backend="numpy", max_steps=60, min_update=min_update)
    jl = ActorCritic(task, synapse, backend="julia", max_steps=60, min_update=min_update)
    st_ref, st_jl = ref.init_state(3, 4, seed=5), jl.init_state(3, 4, seed=5)
    for _ in range(150):
        ref.td_step(st_ref, 4)
        jl.td_step(st_jl, 4)
    for key in st_ref._fields:
        a, b = getattr(st_jl, key), getattr(st_ref, key)
        if np.issubdtype(b.dtype, np.floating):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=key)
        else:
            np.testing.assert_array_equal(a, b, err_msg=key)


def test_place_features_match_numba_far_from_a_cell(nf):
    from neuroflow.rl.kernels import place_features
    from neuroflow.rl.place_cells import PlaceCells

    enc = PlaceCells.grid()
    for x, y in ((5.9, -5.9), (0.3, 2.2), (-6.0, 6.0)):
        ref = np.empty(enc.n_features)
        place_features(x, y, enc.centres, enc.sigma, enc.scale, ref)
        got = np.asarray(nf.place_features_b(np.empty(enc.n_features), x, y, enc.centres, enc.sigma, enc.scale))
        np.testing.assert_array_equal(got == 0.0, ref == 0.0)
        np.testing.assert_allclose(got, ref, rtol=1e-14, atol=0)


# ----------------------------------------------------------------------------- defects the read found
def test_erfc_is_accurate_in_the_tail(nf):
    """erfc was 1 - erf below 2.5, 2e-12 relative off there: normal_cdf(x) = erfc(-x/sqrt 2)/2 shows it."""
    from scipy.special import ndtr

    from neuroflow.julia import bridge

    x = np.linspace(-5.5, -0.8, 301)
    f, _, _ = bridge.activations("normal_cdf", x)
    np.testing.assert_allclose(f, ndtr(x), rtol=2e-14, atol=0)


def _linear_problem():
    from neuroflow.mlp import MLP

    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3))
    Y = X @ rng.normal(size=(3, 2)) + 0.1 * rng.normal(size=(50, 2))
    return MLP(3, [(2, "identity", True)], backend="numpy"), X, Y


def test_norm_barrier_reports_the_plain_loss_in_both_phases(nf):
    """train.jl recorded loss + barrier in the ODE phase and the plain loss in polishing, then compared them."""
    from neuroflow.flow import train

    net, X, Y = _linear_problem()
    theta0 = net.init_params(0) * 3
    kw = dict(method_ode="RK45", method_optim="newton", maxnorm=0.5, maxiterations_ode=50)
    ref = train(net, theta0, X, Y, **kw)
    jl = train(net, theta0, X, Y, backend="julia", **kw)
    assert 0.5 * float(jl.x @ jl.x) > 0.5  # the barrier is active at the end
    assert jl.loss == pytest.approx(net.loss(jl.x, X, Y), rel=1e-12)  # plain, not loss + barrier
    assert jl.ode_loss == pytest.approx(net.loss(jl.ode_x, X, Y), rel=1e-12)
    np.testing.assert_allclose(jl.x, ref.x, rtol=1e-6, atol=1e-8)
    phase1 = jl.loss_curve[jl.loss_curve[:, 3] == 1]
    assert phase1[0, 1] == pytest.approx(net.loss(theta0, X, Y), rel=1e-12)


def test_zero_abstol_is_refused(nf):
    """gradient_flow accepted atol = 0: a zero parameter then gave a NaN first step and an endless loop."""
    from juliacall import Main as jl

    from neuroflow.julia import bridge

    fg = jl.seval("(g, θ) -> (g .= θ; 0.5 * sum(abs2, θ))")
    with pytest.raises(Exception, match="atol"):
        nf.gradient_flow(fg, np.array([0.0, 1.0]), atol=0.0)
    net, X, Y = _linear_problem()
    with pytest.raises(Exception, match="abstol"):
        nf.train(bridge._jl_net(net), net.init_params(0), X.T, Y.T, abstol=0.0)


def test_auto_polisher_is_lbfgs_above_1000_parameters_on_both_sides(nf):
    from neuroflow.flow import train
    from neuroflow.mlp import MLP

    rng = np.random.default_rng(0)
    net = MLP(2, [(400, "tanh", True), (1, "identity", True)], backend="numpy")
    assert net.n_params > 1000
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(40, 1))
    kw = dict(method_ode="none", maxiterations_optim=3, min_gnorm=0.0)
    assert train(net, net.init_params(0), X, Y, **kw).method_optim == "lbfgs"
    assert train(net, net.init_params(0), X, Y, backend="julia", **kw).method_optim == "lbfgs (julia)"


def test_optim_iterations_count_accepted_steps_only(nf):
    """Newton counted rejected trial steps as iterations; every accepted step lowers the loss, so the
    count cannot exceed the number of new lowest losses in the polishing part of the loss curve."""
    from neuroflow.flow import train
    from neuroflow.mlp import MLP

    rng = np.random.default_rng(5)
    net = MLP(2, [(4, "tanh", True), (1, "identity", True)], backend="numpy")
    X, Y = rng.normal(size=(60, 2)), rng.normal(size=(60, 1))
    theta0 = 3.0 * net.init_params(1)  # far from a minimum: trial steps get rejected
    for method in ("newton", "bfgs", "lbfgs"):
        res = train(net, theta0, X, Y, method_ode="none", method_optim=method, maxiterations_optim=40,
                    min_gnorm=0.0, backend="julia")
        polish = res.loss_curve[res.loss_curve[:, 3] == 2, 1]
        new_lows = int(np.sum(polish < np.minimum.accumulate(np.r_[np.inf, polish[:-1]])))
        assert 0 < res.optim_iterations <= new_lows, method


def test_step_budgets_and_best_point_match_python(nf):
    from neuroflow.flow import train
    from neuroflow.mlp import MLP

    rng = np.random.default_rng(0)
    teacher = MLP(2, [(2, "softplus", True), (1, "identity", True)], backend="numpy")
    X = rng.normal(size=(400, 2))
    Y = teacher.forward(teacher.init_params(seed=1), X)
    net = MLP(2, [(4, "softplus", True), (1, "identity", True)], backend="numpy")
    th = net.init_params(seed=2)
    res = train(net, th, X, Y, method_ode="RK45", maxiterations_ode=5, method_optim="newton",
                maxiterations_optim=3, min_gnorm=0.0, backend="julia")
    assert (res.ode_stopped_by, res.ode_iterations) == ("maxiterations", 5)
    assert (res.optim_stopped_by, res.optim_iterations) == ("maxiterations", 3)
    assert res.reproducible and res.options["maxtime_ode"] is None
    # polishing never reports a point worse than where it started (lower loss but larger gradient)
    res = train(net, th, X, Y, method_ode="RK45", maxiterations_ode=300, maxiterations_optim=3, min_gnorm=0.0,
                backend="julia")
    assert res.gnorm <= res.ode_gnorm * (1 + 1e-12) or res.loss < res.ode_loss * (1 - 1e-9)
    assert res.gnorm == pytest.approx(np.max(np.abs(net.gradient(res.x, X, Y))), rel=1e-9)
