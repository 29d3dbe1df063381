"""Objective wrappers used during reconstruction (they follow neuroflow.flow's Objective protocol).

* :class:`FixedParamsObjective` -- loss, gradient and Hessian restricted to the free parameters of a
  network whose other parameters (e.g. a reconstructed layer) are held fixed.
* :class:`SkipObjective` -- a network plus a linear skip path ``x -> S x`` from input to output, the
  home of the covert linear term of even+linear activations (softplus, gelu, silu, relu).
"""
from __future__ import annotations

import numpy as np


class FixedParamsObjective:
    """Restrict an objective to ``theta[free]``; the rest stays at ``theta_full``'s values."""

    def __init__(self, objective, theta_full, free):
        self.objective = objective
        self.theta_full = np.array(theta_full, dtype=float, copy=True)
        free = np.asarray(free)
        self.free = np.flatnonzero(free) if free.dtype == bool else free.astype(int)
        self.n_params = int(self.free.size)

    def full(self, theta_free) -> np.ndarray:
        th = self.theta_full.copy()
        th[self.free] = theta_free
        return th

    def loss(self, theta):
        return self.objective.loss(self.full(theta))

    def gradient(self, theta):
        return np.asarray(self.objective.gradient(self.full(theta)))[self.free]

    def loss_and_gradient(self, theta):
        th = self.full(theta)
        if hasattr(self.objective, "loss_and_gradient"):
            loss, g = self.objective.loss_and_gradient(th)
        else:
            loss, g = self.objective.loss(th), self.objective.gradient(th)
        return loss, np.asarray(g)[self.free]

    def hessian(self, theta):
        H = np.asarray(self.objective.hessian(self.full(theta)))
        return H[np.ix_(self.free, self.free)]


class SkipObjective:
    """Loss of ``net(theta, X) + X @ S.T`` against Y, over parameters ``[theta, vec(S)]`` (S row-major,
    shape (d_out, d_in)). Same loss convention as the MLP: mean over samples of the summed squared error.

    The network's loss is evaluated against the shifted targets ``Y - X S^T``; its gradient is affine
    in the targets, which gives the exact cross block of the Hessian without per-sample Jacobians.
    """

    def __init__(self, net, X, Y, weights=None):
        self.net = net
        self.X = np.asarray(X, dtype=float)
        self.Y = np.asarray(Y, dtype=float)
        self.weights = None if weights is None else np.asarray(weights, dtype=float)
        self.n_net = int(net.n_params)
        self.d_in, self.d_out = self.X.shape[1], self.Y.shape[1]
        self.n_params = self.n_net + self.d_in * self.d_out
        w = np.ones(len(self.X)) if self.weights is None else self.weights
        w = w * (len(w) / w.sum())  # the MLP's convention: sum_n w_n (...) / sum_n w_n
        self._w = w
        self._gram = (self.X * w[:, None]).T @ self.X / len(self.X)  # (1/N) sum w x x^T

    def split(self, params):
        params = np.asarray(params, dtype=float)
        return params[: self.n_net], params[self.n_net:].reshape(self.d_out, self.d_in)

    def predict(self, params, X):
        theta, S = self.split(params)
        return self.net.forward(theta, X) + np.asarray(X) @ S.T

    def _residual(self, theta, S):
        return self.net.forward(theta, self.X) + self.X @ S.T - self.Y

    def loss(self, params):
        theta, S = self.split(params)
        r = self._residual(theta, S)
        return float(np.mean(self._w * np.sum(r * r, axis=1)))

    def gradient(self, params):
        return self.loss_and_gradient(params)[1]

    def loss_and_gradient(self, params):
        theta, S = self.split(params)
        target = self.Y - self.X @ S.T
        g_net = np.asarray(self.net.gradient(theta, self.X, target, weights=self.weights))
        r = self.net.forward(theta, self.X) - target
        loss = float(np.mean(self._w * np.sum(r * r, axis=1)))
        g_S = 2.0 * (r * self._w[:, None]).T @ self.X / len(self.X)
        return loss, np.concatenate([g_net, g_S.ravel()])

    def hessian(self, params):
        theta, S = self.split(params)
        target = self.Y - self.X @ S.T
        n, m = self.n_net, self.n_params
        H = np.zeros((m, m))
        H[:n, :n] = self.net.hessian(theta, self.X, target, weights=self.weights)
        g0 = np.asarray(self.net.gradient(theta, self.X, target, weights=self.weights))
        # d/dS_oi of the net gradient: shifting the targets by -x_i in output o (exact: affine in Y)
        col = n
        for o in range(self.d_out):
            for i in range(self.d_in):
                shifted = target.copy()
                shifted[:, o] -= self.X[:, i]
                H[:n, col] = np.asarray(self.net.gradient(theta, self.X, shifted, weights=self.weights)) - g0
                col += 1
        H[n:, :n] = H[:n, n:].T
        # d2L/dS_oi dS_o'i' = 2 delta_oo' (1/N) sum w x_i x_i'
        H[n:, n:] = np.kron(np.eye(self.d_out), 2.0 * self._gram)
        return H
