"""Fused CPU loss-and-gradient kernels (dispatch point; falls back to the NumPy reference)."""
from __future__ import annotations

from neuroflow.mlp import _numpy_kernels as npk


def loss_and_gradient(spec, theta, X, Y, wbar):
    return npk.loss_and_gradient(spec, theta, X, Y, wbar)
