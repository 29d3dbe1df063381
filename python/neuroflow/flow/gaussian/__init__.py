"""Teacher–student gradient flow in the limit of infinite data, for standard Gaussian input.

A bias-free two-layer student ``f(x) = sum_j a_j s(w_j . x)`` learns a teacher
``f*(x) = sum_i b_i s(v_i . x)`` from ``x ~ N(0, I_d)``. The expected loss

    L = E_x[(f(x) - f*(x))**2]
      = a' K(W, W) a - 2 a' K(W, V) b + b' K(V, V) b,     K(w, v) = E[s(w . x) s(v . x)],

depends on the weights only through norms and pairwise cosines, because ``(w . x, v . x)`` is a
centred Gaussian pair with variances ``|w|**2``, ``|v|**2`` and correlation ``u = cos(w, v)``. So
``K(w, v) = F(|w|, |v|, u)`` with ``F(r1, r2, u) = E[s(r1 z1) s(r2 z2)]``, ``z2 = u z1 + sqrt(1 - u**2) z3``
and ``z1, z3`` independent standard normals. The loss is the same functional as the finite-data loss
of :class:`neuroflow.MLP` (mean squared error), so both agree as the number of samples grows.

``F`` and its derivatives with respect to ``(r1, r2, u)`` up to second order come from

* closed forms for ``relu`` (the arc-cosine kernel, ``r1 r2 (sin t + (pi - t) cos t) / (2 pi)``
  with ``t = arccos u``), ``erf`` (``(2/pi) asin(c / sqrt((1 + r1**2)(1 + r2**2)))`` with
  ``c = r1 r2 u``) and ``normal_cdf`` (``1/4 + asin(...) / (2 pi)``, the same argument);
* Gauss–Hermite quadrature (1-D for the self terms ``E[s(r z)**2]``, a 2-D product rule over
  ``(z1, z3)`` for pairs) for every other smooth activation. Derivatives in ``u`` use Price's theorem,
  ``dF/du = r1 r2 E[s'(r1 z1) s'(r2 z2)]``, so no ``1/sqrt(1 - u**2)`` appears.
* optionally (``method="series"``) the Hermite expansion of the correlated pair,
  ``F = sum_n c_n(r1) c_n(r2) u**n`` with ``c_n(r) = E[s(r z) He_n(z)] / sqrt(n!)`` from 1-D
  Gauss–Hermite quadrature: the same values to ~1e-13, several times faster, because a pair costs
  O(terms) instead of a 2-D grid.

Gradient and Hessian with respect to the student's flat parameters follow by the chain rule through
norms and cosines (no finite differences), vectorised over all (student, student) and (student,
teacher) pairs at once. Parameters use the layout of
``MLP(d, [(m, activation, False), (1, "identity", False)])``.
"""
from __future__ import annotations

from neuroflow.flow.gaussian.kernel import METHODS, pair_expectation
from neuroflow.flow.gaussian.moments import CLOSED_FORM_ACTIVATIONS
from neuroflow.flow.gaussian.objective import GaussianTeacherStudent, random_teacher
from neuroflow.flow.gaussian.quadrature import QUADRATURE_ACTIVATIONS, quadrature_nodes

__all__ = [
    "GaussianTeacherStudent",
    "random_teacher",
    "CLOSED_FORM_ACTIVATIONS",
    "QUADRATURE_ACTIVATIONS",
    "METHODS",
    "pair_expectation",
    "quadrature_nodes",
]
