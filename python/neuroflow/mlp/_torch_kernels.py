"""Torch backend: the same loss, gradient and Hessian in float64 torch (CPU or GPU).

It builds the forward pass with torch operations and differentiates it with autograd, so it is
independent of the hand-written NumPy kernels and serves as their cross-check.
"""
from __future__ import annotations

import math

import numpy as np
import torch

_SQRT2 = math.sqrt(2.0)


def _act(name: str, z: torch.Tensor) -> torch.Tensor:
    if name == "identity":
        return z
    if name == "relu":
        return torch.relu(z)
    if name == "softplus":
        return torch.nn.functional.softplus(z)
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "gelu":
        return torch.nn.functional.gelu(z)
    if name == "silu":
        return torch.nn.functional.silu(z)
    if name == "erf":
        return torch.erf(z / _SQRT2)
    if name == "normal_cdf":
        return 0.5 * (1.0 + torch.erf(z / _SQRT2))
    if name == "square":
        return 0.5 * z * z
    if name == "cube":
        return z * z * z
    if name == "g":
        return torch.sigmoid(4.0 * z) + torch.nn.functional.softplus(z)
    raise ValueError(f"activation: no torch version of {name!r}")


def device_of(net) -> torch.device:
    if net.device is not None:
        return torch.device(net.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def torch_forward(spec, theta: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Differentiable forward pass on torch tensors in the flat layout."""
    a, start = X, 0
    for d_in, d_out, act, bias in spec:
        size = (d_in + bias) * d_out
        Wt = theta[start:start + size].reshape(d_in + bias, d_out)
        z = a @ Wt[:d_in]
        if bias:
            z = z + Wt[d_in]
        a = _act(act, z)
        start += size
    return a


def torch_loss(spec, theta, X, Y, wbar) -> torch.Tensor:
    r = torch_forward(spec, theta, X) - Y
    return wbar @ (r * r).sum(dim=1)


def _tensors(net, theta, X, Y=None, wbar=None):
    dev = device_of(net)
    t = lambda a: None if a is None else torch.as_tensor(np.asarray(a), dtype=torch.float64, device=dev)
    return t(theta), t(X), t(Y), t(wbar)


def forward(net, theta, X):
    th, Xt, _, _ = _tensors(net, theta, X)
    with torch.no_grad():
        return torch_forward(net.spec, th, Xt).cpu().numpy()


def loss(net, theta, X, Y, wbar) -> float:
    th, Xt, Yt, wt = _tensors(net, theta, X, Y, wbar)
    with torch.no_grad():
        return float(torch_loss(net.spec, th, Xt, Yt, wt))


def loss_and_gradient(net, theta, X, Y, wbar):
    th, Xt, Yt, wt = _tensors(net, theta, X, Y, wbar)
    th.requires_grad_(True)
    L = torch_loss(net.spec, th, Xt, Yt, wt)
    L.backward()
    return float(L.detach()), th.grad.detach().cpu().numpy()


def hessian(net, theta, X, Y, wbar):
    th, Xt, Yt, wt = _tensors(net, theta, X, Y, wbar)
    H = torch.func.hessian(lambda p: torch_loss(net.spec, p, Xt, Yt, wt))(th)
    return H.detach().cpu().numpy()
