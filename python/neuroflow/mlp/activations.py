"""Activation functions with exact first and second derivatives (vectorised NumPy, float64).

Every activation is a small record ``Activation(name, f, df, d2f)``; the three callables take and
return float64 arrays of the same shape. The names follow MLPGradientFlow.jl where it has them:
``erf`` is ``erf(x / sqrt(2))`` (MLPGradientFlow's ``sigmoid2``), ``square`` is ``x**2 / 2`` and ``g`` is
``sigmoid(4x) + softplus(x)``, an activation without the usual sign or permutation symmetries.

``relu`` is not differentiable at 0; there we use the convention ``relu'(0) = 0`` and ``relu'' = 0``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special

__all__ = ["Activation", "ACTIVATIONS", "get_activation"]

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity ``f`` with its exact derivatives ``df`` and ``d2f``."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray], np.ndarray]
    d2f: Callable[[np.ndarray], np.ndarray]

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


# ----------------------------------------------------------------------------- helpers
def _sigmoid(x):
    return special.expit(x)


def _softplus(x):
    # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)
    return np.logaddexp(0.0, x)


def _phi(x):
    """Standard normal density."""
    return _INV_SQRT_2PI * np.exp(-0.5 * np.square(x))


def _Phi(x):
    """Standard normal cumulative distribution."""
    return special.ndtr(x)


# ----------------------------------------------------------------------------- definitions
def _identity_f(x):
    return np.array(x, dtype=np.float64, copy=True)


def _identity_df(x):
    return np.ones_like(x, dtype=np.float64)


def _zeros(x):
    return np.zeros_like(x, dtype=np.float64)


def _relu_f(x):
    return np.maximum(x, 0.0)


def _relu_df(x):
    return (np.asarray(x) > 0).astype(np.float64)


def _sigmoid_df(x):
    s = _sigmoid(x)
    return s * (1.0 - s)


def _sigmoid_d2f(x):
    s = _sigmoid(x)
    return s * (1.0 - s) * (1.0 - 2.0 * s)


def _tanh_df(x):
    t = np.tanh(x)
    return 1.0 - t * t


def _tanh_d2f(x):
    t = np.tanh(x)
    return -2.0 * t * (1.0 - t * t)


def _gelu_f(x):
    return x * _Phi(x)


def _gelu_df(x):
    return _Phi(x) + x * _phi(x)


def _gelu_d2f(x):
    # d/dx [Phi + x phi] = phi + phi - x^2 phi
    return _phi(x) * (2.0 - np.square(x))


def _silu_f(x):
    return x * _sigmoid(x)


def _silu_df(x):
    s = _sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


def _silu_d2f(x):
    s = _sigmoid(x)
    ds = s * (1.0 - s)
    return ds * (2.0 + x * (1.0 - 2.0 * s))


def _erf_f(x):
    return special.erf(np.asarray(x) / _SQRT2)


def _erf_df(x):
    return 2.0 * _phi(x)


def _erf_d2f(x):
    return -2.0 * np.asarray(x) * _phi(x)


def _ncdf_d2f(x):
    return -np.asarray(x) * _phi(x)


def _square_f(x):
    return 0.5 * np.square(x)


def _ones(x):
    return np.ones_like(x, dtype=np.float64)


def _cube_f(x):
    return np.asarray(x) ** 3


def _cube_df(x):
    return 3.0 * np.square(x)


def _cube_d2f(x):
    return 6.0 * np.asarray(x, dtype=np.float64)


def _g_f(x):
    return _sigmoid(4.0 * np.asarray(x)) + _softplus(x)


def _g_df(x):
    s4 = _sigmoid(4.0 * np.asarray(x))
    return 4.0 * s4 * (1.0 - s4) + _sigmoid(x)


def _g_d2f(x):
    s4 = _sigmoid(4.0 * np.asarray(x))
    return 16.0 * s4 * (1.0 - s4) * (1.0 - 2.0 * s4) + _sigmoid_df(x)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("identity", _identity_f, _identity_df, _zeros),
        Activation("relu", _relu_f, _relu_df, _zeros),
        Activation("softplus", _softplus, _sigmoid, _sigmoid_df),
        Activation("sigmoid", _sigmoid, _sigmoid_df, _sigmoid_d2f),
        Activation("tanh", np.tanh, _tanh_df, _tanh_d2f),
        Activation("gelu", _gelu_f, _gelu_df, _gelu_d2f),
        Activation("silu", _silu_f, _silu_df, _silu_d2f),
        Activation("erf", _erf_f, _erf_df, _erf_d2f),
        Activation("normal_cdf", _Phi, _phi, _ncdf_d2f),
        Activation("square", _square_f, lambda x: np.array(x, dtype=np.float64, copy=True), _ones),
        Activation("cube", _cube_f, _cube_df, _cube_d2f),
        Activation("g", _g_f, _g_df, _g_d2f),
    )
}


def get_activation(name: str | Activation) -> Activation:
    """The :class:`Activation` called ``name`` (an Activation is returned as is).

    Raises ValueError listing the known names when ``name`` is unknown.
    """
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {name!r}") from None
