"""The kernel engine: ``E[s(w . x) s(v . x)]`` and its derivatives for one activation and method
(closed form, 2-D quadrature or Hermite series), vectorised over pairs, plus the weight geometry
(norms, directions, cosines) the objective is written in.
"""
from __future__ import annotations

import numpy as np

from neuroflow._utils import check_array, check_choice, is_integer, serial_blas
from neuroflow.flow.gaussian.moments import CLOSED_FORM_ACTIVATIONS, CLOSED_PAIR, CLOSED_SELF, Moments
from neuroflow.flow.gaussian.quadrature import (NODE_LADDER, QUADRATURE_ACTIVATIONS, gauss_hermite_rule,
                                                quadrature_nodes, quadrature_pair, quadrature_self)
from neuroflow.flow.gaussian.series import SERIES_MAX_TERMS, series_pair, series_self

__all__ = ["METHODS", "Kernel", "method_problem", "directions", "geometry", "pair_expectation"]

#: ways to compute the expectations: closed form, 2-D Gauss–Hermite quadrature, or the Hermite
#: series of the correlated pair with 1-D Gauss–Hermite coefficients ("auto": closed, else quadrature)
METHODS = ("auto", "closed", "quadrature", "series")
#: the most Gauss-Hermite nodes a caller may ask for (25 times the automatic rule's largest; a rule of 1e5 takes
#: about a second to compute, one of 1e9 hours)
MAX_NODES = 100_000

def method_problem(activation: str, method: str) -> tuple[str, str, str | None] | None:
    """Why ``method`` cannot compute the expectations of ``activation`` (a name; ``method`` not "auto"), or None:
    ``(argument at fault, reason, the method to use instead or None)``, for messages in any spelling (the API's
    ``method='closed'``, the CLI's ``--method closed``)."""
    if method == "closed" and activation not in CLOSED_PAIR:
        return ("method", f"no closed form for activation {activation!r}; closed forms exist for "
                          f"{list(CLOSED_FORM_ACTIVATIONS)}", "quadrature")
    if method in ("quadrature", "series") and activation not in QUADRATURE_ACTIVATIONS:
        what = ("Gauss–Hermite quadrature" if method == "quadrature" else
                "the Hermite series, whose coefficients are Gauss–Hermite integrals")
        return ("activation", f"{activation!r} is not smooth enough for {what} (supported: "
                              f"{sorted(QUADRATURE_ACTIVATIONS)})", "closed" if activation in CLOSED_PAIR else None)
    return None


class Kernel:
    """E[s(w . x) s(v . x)] and its (r1, r2, u)-derivatives for one activation and method."""

    def __init__(self, activation: str, method: str, nodes: int | None):
        from neuroflow.mlp.activations import get_activation

        self.act = get_activation(activation)
        self.name = self.act.name
        if nodes is not None:   # pair_expectation(nodes=-1) went on unchecked, 1e9 computed a rule for hours
            if not is_integer(nodes) or not 2 <= nodes <= MAX_NODES:
                raise ValueError(f"nodes: expected an integer from 2 to {MAX_NODES} Gauss-Hermite nodes (the automatic "
                                 f"rule takes at most {NODE_LADDER[-1]}), got {nodes!r}")
            nodes = int(nodes)
        self.nodes = nodes
        if method == "auto":
            method = "closed" if self.name in CLOSED_PAIR else "quadrature"
        if nodes is not None and method == "closed":   # was ignored
            raise ValueError(f"nodes: the closed form of {self.name!r} uses no quadrature nodes; drop nodes or use "
                             "method='quadrature' or 'series'")
        problem = method_problem(self.name, method)
        if problem is not None:
            arg, reason, instead = problem
            if instead == "quadrature":
                raise ValueError(f"{arg}: {reason} (use method={instead!r} or 'auto')")
            raise ValueError(f"{arg}: {reason}" + (f"; it has a closed form: use method={instead!r}" if instead else ""))
        self.method = method

    def _sizes(self, norms: np.ndarray) -> np.ndarray:
        """Rule size (nodes, or series terms) for each pair or unit from its (larger) norm.

        Sizes are rounded up to a ladder so that rules are shared, and depend on nothing but the
        norms: the same pair always gets the same rule, so that at a perfect student the student and
        teacher terms cancel to round-off.
        """
        if self.nodes is not None:
            return np.full(norms.shape, int(self.nodes))
        need = np.array([quadrature_nodes(self.name, x) for x in norms], dtype=np.intp)
        return np.asarray(NODE_LADDER)[np.searchsorted(NODE_LADDER, need)]

    def pair(self, r1, r2, u, s, order: int) -> Moments:
        if self.method == "closed":
            return CLOSED_PAIR[self.name](r1, r2, u, s, order)
        if r1.size == 0:
            return Moments(*([np.empty(0)] * (1, 4, 10)[order]))
        # each pair gets the rule its larger norm needs (the 2-D grid, and the work, grows like the
        # square of the norm)
        sizes = self._sizes(np.maximum(r1, r2))
        out = [np.empty_like(r1) for _ in range((1, 4, 10)[order])]
        with serial_blas():
            for n in np.unique(sizes):
                sel = np.flatnonzero(sizes == n)
                if self.method == "series":
                    part = series_pair(self.act, min(int(n), SERIES_MAX_TERMS), r1[sel], r2[sel], u[sel], order)
                else:
                    part = quadrature_pair(self.act, *gauss_hermite_rule(int(n)), r1[sel], r2[sel], u[sel], s[sel], order)
                for dst, src in zip(out, part):
                    dst[sel] = src
        return Moments(*out)

    def self_term(self, r, order: int) -> list[np.ndarray]:
        if self.method == "closed":
            return CLOSED_SELF[self.name](r, order)
        sizes = self._sizes(r)
        out = [np.empty_like(r) for _ in range(order + 1)]
        with serial_blas():
            for n in np.unique(sizes):
                sel = np.flatnonzero(sizes == n)
                if self.method == "series":
                    part = series_self(self.act, min(int(n), SERIES_MAX_TERMS), r[sel], order)
                else:
                    part = quadrature_self(self.act, *gauss_hermite_rule(int(n)), r[sel], order)
                for dst, src in zip(out, part):
                    dst[sel] = src
        return out


def directions(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row norms and unit rows (a zero row gets the zero direction)."""
    r = np.sqrt(np.einsum("ij,ij->i", M, M))
    safe = np.where(r > 0.0, r, 1.0)
    return r, M / safe[:, None]


def geometry(Wh: np.ndarray, Vh: np.ndarray):
    """Cosines u[j, p] = wh_j . vh_p, the components p[j, p] = vh_p - u wh_j of vh_p orthogonal to
    wh_j, and s = |p| = sqrt(1 - u^2) computed without cancellation near u = +-1."""
    u = np.clip(Wh @ Vh.T, -1.0, 1.0)
    perp = Vh[None, :, :] - u[:, :, None] * Wh[:, None, :]
    s = np.sqrt(np.einsum("jpk,jpk->jp", perp, perp))
    return u, perp, s


def pair_expectation(activation: str, w, v, *, method: str = "auto", nodes: int | None = None) -> float:
    """E[s(w . x) s(v . x)] for x ~ N(0, I_d): the kernel the infinite-data loss is built from.

    ``method`` is "auto" (closed form where one exists, else quadrature), "closed", "quadrature" or
    "series";
    ``nodes`` sets the Gauss–Hermite nodes per dimension (default: :func:`quadrature_nodes`).
    """
    check_choice(method, "method", METHODS)
    w = check_array(w, "w", ndim=1)
    v = check_array(v, "v", shape=(w.shape[0],))
    kernel = Kernel(activation, method, nodes)
    r, dirs = directions(np.stack([w, v]))
    u, _, s = geometry(dirs[:1], dirs[1:])
    return float(kernel.pair(r[:1], r[1:], u[0], s[0], 0).F[0])
