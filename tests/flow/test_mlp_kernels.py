"""MLP kernels: loss, gradient and exact Hessian against torch autograd (float64), layout, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from neuroflow.mlp import ACTIVATIONS, MLP, get_activation
from neuroflow.mlp import _numpy_kernels as npk

torch = pytest.importorskip("torch")

NAMES = sorted(ACTIVATIONS)


def _rel(a, b):
    scale = max(float(np.max(np.abs(b))), 1e-12)
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) / scale


def _torch_reference(net: MLP, theta, X, Y, w):
    """Loss, gradient and Hessian by torch autograd on an independent torch forward pass."""
    from neuroflow.mlp._torch_kernels import torch_loss

    wbar = torch.tensor(w / w.sum())
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    th = torch.tensor(theta, requires_grad=True)
    f = lambda p: torch_loss(net.spec, p, Xt, Yt, wbar)
    L = f(th)
    (g,) = torch.autograd.grad(L, th)
    H = torch.func.hessian(f)(th.detach())
    return float(L.detach()), g.numpy(), H.numpy()


def _random_case(act, depth, seed, out_act="identity", n=40, d_in=3, d_out=2):
    rng = np.random.default_rng(seed)
    layers = [(3 + (i % 2), act, i % 2 == 0) for i in range(depth)] + [(d_out, out_act, True)]
    net = MLP(d_in, layers, backend="numpy")
    theta = net.init_params(seed=seed) + 0.3 * rng.normal(size=net.n_params)
    X = rng.normal(size=(n, d_in))
    Y = rng.normal(size=(n, d_out))
    w = rng.uniform(0.5, 2.0, size=n)
    return net, theta, X, Y, w


@pytest.mark.parametrize("act", NAMES)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_gradient_and_hessian_match_torch_autograd(act, depth):
    net, theta, X, Y, w = _random_case(act, depth, seed=depth * 100 + NAMES.index(act))
    L_ref, g_ref, H_ref = _torch_reference(net, theta, X, Y, w)
    L, g = net.loss_and_gradient(theta, X, Y, weights=w)
    H = net.hessian(theta, X, Y, weights=w)
    assert abs(L - L_ref) <= 1e-12 * abs(L_ref)
    assert _rel(g, g_ref) < 1e-10
    assert _rel(H, H_ref) < 1e-10
    # the bound objective (cached augmented inputs) gives the same numbers
    obj = net.objective(X, Y, weights=w)
    assert _rel(obj.gradient(theta), g_ref) < 1e-10
    assert _rel(obj.hessian(theta), H_ref) < 1e-10
    assert np.allclose(H, H.T, rtol=0, atol=1e-13 * np.max(np.abs(H)))


@pytest.mark.parametrize("out_act", ["tanh", "sigmoid", "g", "softplus", "cube"])
@pytest.mark.parametrize("depth", [1, 2])
def test_nonlinear_outputs_and_general_hessian(out_act, depth):
    net, theta, X, Y, w = _random_case("gelu", depth, seed=7, out_act=out_act)
    _, g_ref, H_ref = _torch_reference(net, theta, X, Y, w)
    assert _rel(net.gradient(theta, X, Y, weights=w), g_ref) < 1e-10
    assert _rel(net.hessian(theta, X, Y, weights=w), H_ref) < 1e-10
    # the any-depth forward-over-reverse Hessian agrees with the closed form, also in small chunks
    Xc, Yc, wbar = net.check_data(X, Y, w)
    H_for = npk.hessian_forward_over_reverse(net.spec, theta, Xc, Yc, wbar, max_chunk=3)
    assert _rel(H_for, H_ref) < 1e-10


def test_softplus_overflow_branch_and_large_preactivations():
    net = MLP(2, [(5, "softplus", True), (1, "identity", True)], backend="numpy")
    theta = net.init_params(seed=1) * 300.0  # pre-activations far beyond exp's range
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(30, 1))
    w = np.ones(30)
    L_ref, g_ref, H_ref = _torch_reference(net, theta, X, Y, w)
    L, g = net.loss_and_gradient(theta, X, Y)
    assert np.isfinite(L) and abs(L - L_ref) <= 1e-12 * L_ref
    assert _rel(g, g_ref) < 1e-10
    assert _rel(net.hessian(theta, X, Y), H_ref) < 1e-10


def test_many_samples_cross_row_blocks():
    # more rows than one block of the fused kernel
    net = MLP(2, [(30, "tanh", True), (20, "softplus", False), (1, "identity", True)], backend="numpy")
    rng = np.random.default_rng(3)
    theta = net.init_params(seed=3)
    X, Y = rng.normal(size=(5000, 2)), rng.normal(size=(5000, 1))
    wbar = np.full(5000, 1 / 5000)
    L_ref, g_ref = npk.loss_and_gradient(net.spec, theta, X, Y, wbar)
    L, g = net.objective(X, Y).loss_and_gradient(theta)
    assert abs(L - L_ref) < 1e-12 * L_ref
    assert _rel(g, g_ref) < 1e-12


def test_torch_backend_matches_numpy():
    net, theta, X, Y, w = _random_case("g", 2, seed=5)
    tnet = net.with_backend("torch")
    assert tnet.backend.name == "torch"
    assert _rel(tnet.forward(theta, X), net.forward(theta, X)) < 1e-13
    assert abs(tnet.loss(theta, X, Y, w) - net.loss(theta, X, Y, w)) < 1e-13
    assert _rel(tnet.gradient(theta, X, Y, w), net.gradient(theta, X, Y, w)) < 1e-10
    assert _rel(tnet.hessian(theta, X, Y, w), net.hessian(theta, X, Y, w)) < 1e-10


@pytest.mark.parametrize("name", NAMES)
def test_activation_derivatives_are_exact(name):
    act = get_activation(name)
    x = np.linspace(-3.0, 3.0, 13) + 0.01  # away from relu's kink
    xt = torch.tensor(x, requires_grad=True)
    from neuroflow.mlp._torch_kernels import _act

    y = _act(name, xt)
    (d1,) = torch.autograd.grad(y.sum(), xt, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), xt) if d1.requires_grad else (torch.zeros_like(xt),)
    assert np.allclose(act.f(x), y.detach().numpy(), rtol=1e-13, atol=1e-14)
    assert np.allclose(act.df(x), d1.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert np.allclose(act.d2f(x), d2.numpy(), rtol=1e-12, atol=1e-14)


def test_activation_definitions():
    x = np.array([-1.0, 0.0, 2.0])
    assert np.allclose(get_activation("square").f(x), x**2 / 2)
    assert np.allclose(get_activation("cube").f(x), x**3)
    from scipy.special import erf, expit

    assert np.allclose(get_activation("erf").f(x), erf(x / np.sqrt(2)))
    assert np.allclose(get_activation("g").f(x), expit(4 * x) + np.log1p(np.exp(x)))
    assert np.allclose(get_activation("normal_cdf").f(x), 0.5 * (1 + erf(x / np.sqrt(2))))
    with pytest.raises(ValueError, match="activation.*softplus"):
        get_activation("swish")


def test_pack_unpack_round_trip_and_layout():
    net = MLP(3, [(4, "tanh", True), (2, "relu", False), (1, "identity", True)], backend="numpy")
    assert net.shapes == [(4, 4), (2, 4), (1, 3)]
    assert net.n_params == 16 + 8 + 3
    assert net.output_dim == 1
    theta = np.arange(net.n_params, dtype=float)
    mats = net.unpack(theta)
    assert [m.shape for m in mats] == net.shapes
    # column-major within a layer: the first column of layer 1 holds theta[0:4]
    assert np.array_equal(mats[0][:, 0], theta[0:4])
    assert np.array_equal(mats[0][:, 3], theta[12:16])  # the bias column is last
    assert np.array_equal(net.pack(mats), theta)
    rng = np.random.default_rng(0)
    other = [rng.normal(size=s) for s in net.shapes]
    assert all(np.array_equal(a, b) for a, b in zip(net.unpack(net.pack(other)), other))


def test_init_params_glorot_and_seeded():
    net = MLP(50, [(60, "tanh", True), (1, "identity", True)], backend="numpy")
    a, b = net.init_params(seed=1), net.init_params(seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, net.init_params(seed=2))
    W1 = net.unpack(a)[0]
    assert np.all(W1[:, -1] == 0.0)
    assert abs(W1[:, :-1].std() - np.sqrt(2 / 110)) < 0.01


def test_hand_built_net_loss():
    # y = 2 * relu(x1 - x2 + 0.5) - 1, targets 0; two samples
    net = MLP(2, [(1, "relu", True), (1, "identity", True)], backend="numpy")
    theta = net.pack([np.array([[1.0, -1.0, 0.5]]), np.array([[2.0, -1.0]])])
    X = np.array([[1.0, 0.0], [0.0, 2.0]])
    Y = np.zeros((2, 1))
    # sample 1: relu(1.5) = 1.5 -> 2.0; sample 2: relu(-1.5) = 0 -> -1.0
    assert np.allclose(net.forward(theta, X), [[2.0], [-1.0]])
    assert net.loss(theta, X, Y) == pytest.approx((4.0 + 1.0) / 2)
    assert net.loss(theta, X, Y, weights=[3.0, 1.0]) == pytest.approx((3 * 4.0 + 1.0) / 4)
    # gradient w.r.t. the output bias: mean of 2 * residual = (4 - 2) / 2
    g = net.gradient(theta, X, Y)
    assert g[-1] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda net, th, X, Y: net.loss(th[:-1], X, Y), "theta.*n_params=13"),
        (lambda net, th, X, Y: net.loss(th, X[:, :1], Y), "X.*shape"),
        (lambda net, th, X, Y: net.loss(th, X, Y[:-1]), "Y.*shape"),
        (lambda net, th, X, Y: net.loss(th, np.where(X > 1, np.nan, X), Y), "X.*finite"),
        (lambda net, th, X, Y: net.gradient(np.full_like(th, np.inf), X, Y), "theta.*finite"),
        (lambda net, th, X, Y: net.hessian(th, X, Y, weights=-np.ones(len(X))), "weights"),
        (lambda net, th, X, Y: net.loss(th, X, Y, weights=np.ones(3)), "weights.*shape"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    net = MLP(2, [(3, "softplus", True), (1, "identity", True)], backend="numpy")
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 2)) * 2, rng.normal(size=(10, 1))
    with pytest.raises(ValueError, match=match):
        call(net, net.init_params(0), X, Y)


@pytest.mark.parametrize(
    "args, match",
    [
        ((0, [(3, "tanh", True)]), "input_dim"),
        ((2, [(0, "tanh", True)]), r"layers\[0\] width"),
        ((2, [(3, "tanhh", True)]), r"layers\[0\] activation.*tanh"),
        ((2, [(3, "tanh")]), r"layers\[0\]"),
        ((2, []), "layers"),
        ((2, [(3, "tanh", "yes")]), "has_bias"),
    ],
)
def test_bad_architecture(args, match):
    with pytest.raises(ValueError, match=match):
        MLP(*args, backend="numpy")


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        MLP(2, [(1, "identity", True)], backend="cuda")


@pytest.mark.parametrize("hidden", [[40], [12, 12]])
def test_hessian_memory_is_order_n_times_p(hidden):
    import tracemalloc

    net = MLP(2, [(k, "softplus", True) for k in hidden] + [(1, "identity", True)], backend="numpy")
    rng = np.random.default_rng(0)
    N = 4000
    X, Y = rng.normal(size=(N, 2)), rng.normal(size=(N, 1))
    obj = net.objective(X, Y)
    theta = net.init_params(seed=0)
    obj.hessian(theta)  # warm-up
    tracemalloc.start()
    obj.hessian(theta)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    P = net.n_params
    # a bounded number of (N, P)-sized buffers besides the P x P result (an O(N P^2) intermediate
    # would be ~P / 12 times larger than this bound)
    assert peak <= 8 * (12 * N * P + 3 * P * P)


def test_integer_weights_equal_repeated_samples():
    net, theta, X, Y, _ = _random_case("tanh", 2, seed=11)
    counts = np.arange(len(X)) % 3 + 1
    Xr, Yr = np.repeat(X, counts, axis=0), np.repeat(Y, counts, axis=0)
    w = counts.astype(float)
    assert net.loss(theta, X, Y, w) == pytest.approx(net.loss(theta, Xr, Yr), rel=1e-13)
    assert _rel(net.gradient(theta, X, Y, w), net.gradient(theta, Xr, Yr)) < 1e-12
    assert _rel(net.hessian(theta, X, Y, w), net.hessian(theta, Xr, Yr)) < 1e-12
    # weights are normalised: scaling them changes nothing
    assert net.loss(theta, X, Y, 5 * w) == pytest.approx(net.loss(theta, X, Y, w), rel=1e-14)
