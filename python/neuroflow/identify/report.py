"""Comparing an identified network with a known teacher: angles, excess neurons, overhead, function error."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from neuroflow._utils import check_array, is_number, short_repr
from neuroflow.identify.symmetry import angles_deg, symmetry_class


@dataclass
class LayerReport:
    """One hidden layer: sizes, per-teacher-neuron smallest angle, matched pairs and the leftovers."""

    teacher_size: int
    recovered_size: int
    min_angle_deg: list            # per teacher neuron: smallest symmetry-aware angle to any recovered neuron
    matched_angle_deg: list        # per teacher neuron: angle to its one-to-one partner (nan if none)
    matching: list                 # per teacher neuron: index of its recovered partner (-1 if none)
    excess: int                    # recovered neurons with no teacher partner
    missing: int                   # teacher neurons with no recovered partner within the tolerance

    @property
    def overhead_pct(self) -> float:
        """Recovered neurons beyond the teacher's, in % of the teacher's; inf for a layer the teacher lacks."""
        if self.teacher_size == 0:
            return 0.0 if self.recovered_size == 0 else math.inf
        return 100.0 * (self.recovered_size - self.teacher_size) / self.teacher_size

    @property
    def exact_size(self) -> bool:
        return self.recovered_size == self.teacher_size

    def to_dict(self) -> dict:
        return {"teacher_size": self.teacher_size, "recovered_size": self.recovered_size,
                "overhead_pct": self.overhead_pct, "exact_size": self.exact_size, "excess": self.excess,
                "missing": self.missing, "max_min_angle_deg": _nanmax(self.min_angle_deg),
                "max_matched_angle_deg": _nanmax(self.matched_angle_deg),
                "min_angle_deg": self.min_angle_deg, "matching": self.matching}


def _nanmax(values) -> float:
    v = np.asarray(values, dtype=float)
    return float(np.nanmax(v)) if v.size and np.any(np.isfinite(v)) else float("nan")


@dataclass
class IdentificationReport:
    """What :meth:`ExpandAndCluster.report` measures against a known teacher."""

    layers: list[LayerReport]
    functional_rel_mse: float
    n_test: int
    match_tol_deg: float
    student_losses: list = field(default_factory=list)

    @property
    def layer_sizes(self) -> list[int]:
        return [l.recovered_size for l in self.layers]

    @property
    def teacher_sizes(self) -> list[int]:
        return [l.teacher_size for l in self.layers]

    @property
    def overhead_pct(self) -> list[float]:
        return [l.overhead_pct for l in self.layers]

    @property
    def exact_size(self) -> bool:
        return all(l.exact_size for l in self.layers)

    @property
    def max_angle_deg(self) -> float:
        """Largest matched angle over all layers (nan where nothing matched)."""
        return _nanmax([a for l in self.layers for a in l.matched_angle_deg])

    def to_dict(self) -> dict:
        return {"layer_sizes": self.layer_sizes, "teacher_sizes": self.teacher_sizes,
                "overhead_pct": self.overhead_pct, "exact_size": self.exact_size,
                "max_angle_deg": self.max_angle_deg, "functional_rel_mse": self.functional_rel_mse,
                "n_test": self.n_test, "match_tol_deg": self.match_tol_deg,
                "layers": [l.to_dict() for l in self.layers]}


def compare_layer(teacher_u, recovered_u, activation: str, *, match_tol_deg: float = 10.0,
                  sign: bool | None = None) -> LayerReport:
    """Match recovered incoming vectors to the teacher's (Hungarian assignment on symmetry-aware angles)."""
    k, m = teacher_u.shape[0], recovered_u.shape[0]
    if m == 0:
        nan = [float("nan")] * k
        return LayerReport(k, 0, nan, nan, [-1] * k, 0, k)
    A = angles_deg(teacher_u, recovered_u, activation, sign=sign)
    rows, cols = linear_sum_assignment(A)
    matching = [-1] * k
    matched = [float("nan")] * k
    for r, c in zip(rows, cols):
        if A[r, c] <= match_tol_deg:
            matching[r], matched[r] = int(c), float(A[r, c])
    n_matched = sum(1 for c in matching if c >= 0)
    return LayerReport(k, m, A.min(axis=1).tolist(), matched, matching, m - n_matched, k - n_matched)


def relative_mse(y_true, y_pred) -> float:
    """sum |y_pred - y_true|^2 / sum |y_true - mean(y_true)|^2."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if y_true.shape != y_pred.shape:   # numpy broadcast (3,) against (3, 1) into a (3, 3) "error" without a word
        raise ValueError(f"y_pred: expected the shape of y_true {y_true.shape}, got {y_pred.shape}")
    den = float(np.sum((y_true - y_true.mean(axis=0)) ** 2))
    return float(np.sum((y_pred - y_true) ** 2) / max(den, 1e-300))


#: bin edges of the binned features (a value goes to the bin ``lo <= value < hi``, named "lo-hi")
FEATURE_BINS = {"probes_per_parameter": (0, 10, 20, 50, 100, 200, float("inf")),
                "width_per_input": (0, 0.5, 1, 1.5, 2, 3, float("inf"))}


def _feature_value(row: dict, feature: str):
    if feature in FEATURE_BINS:
        if feature == "probes_per_parameter":
            ratio = row["n_samples"] / row["teacher"]["n_params"]
        else:
            ratio = row["teacher_sizes"][0] / row["input_dim"]
        edges = FEATURE_BINS[feature]
        for lo, hi in zip(edges[:-1], edges[1:]):
            if lo <= ratio < hi:
                return f"{lo:g}-{hi:g}"
    if feature == "width":
        return max(row["teacher_sizes"])
    return row.get(feature)


def recovery_by_feature(rows, features=("input_dim", "width", "width_per_input", "probes_per_parameter",
                                        "activation")) -> dict:
    """Recovery of suite rows (:func:`neuroflow.identify.bench.run_problem`) against each problem feature:
    per value, the number of problems, the share recovered at the exact size, and the share with every neuron
    within 1 deg and functional relative MSE <= 1e-8. The width is the teacher's widest hidden layer; the
    width per input is its first hidden layer's width over the input dimension (an overcomplete first layer,
    more neurons than inputs, is where deep students stall); it and the probes per parameter are binned
    (:data:`FEATURE_BINS`)."""
    if isinstance(rows, (str, bytes, dict)) or not isinstance(rows, (list, tuple)):
        raise ValueError(f"rows: expected a list of suite rows, got {type(rows).__name__}")
    for i, r in enumerate(rows):   # what a feature reads (a KeyError, or AttributeError, named nothing)
        teacher = r.get("teacher") if isinstance(r, dict) else None
        ok = (isinstance(r, dict) and isinstance(teacher, dict) and is_number(teacher.get("n_params"))
              and teacher["n_params"] > 0 and is_number(r.get("n_samples")) and r["n_samples"] > 0
              and is_number(r.get("input_dim")) and r["input_dim"] > 0 and isinstance(r.get("teacher_sizes"), list)
              and bool(r["teacher_sizes"]) and all(is_number(w) for w in r["teacher_sizes"]))
        if not ok:
            raise ValueError(f"rows[{i}]: expected a suite row (run_problem's: n_samples, input_dim, teacher_sizes, "
                             f"teacher n_params), got {short_repr(r)}")
    table = {}
    for feature in features:
        groups: dict = {}
        for r in rows:
            groups.setdefault(_feature_value(r, feature), []).append(r)
        entries = []
        for value, sel in groups.items():
            entries.append({"value": value, "n": len(sel),
                            "exact_size_rate": float(np.mean([bool(r.get("exact_size")) for r in sel])),
                            "exact_within_1deg_mse_1e-8_rate": float(np.mean([
                                bool(r.get("exact_size") and r.get("all_matched_within_1deg")
                                     and (r.get("functional_rel_mse") or 1.0) <= 1e-8) for r in sel]))})
        order = (lambda e: float(str(e["value"]).split("-")[0])) if feature in FEATURE_BINS else \
            (lambda e: (isinstance(e["value"], str), e["value"]))
        table[feature] = sorted(entries, key=order)
    return {"by_feature": table}


def compare_networks(teacher, recovered, activation: str, *, match_tol_deg: float = 10.0,
                     sign: bool | None = None) -> list[LayerReport]:
    """Layer by layer, match a recovered network's incoming vectors (``recovered``: one (m, d + 1) array per
    hidden layer) to a ``teacher``'s. Layer l > 0 is compared over the same units of layer l - 1 (the
    teacher's, in its order, with the matching's sign flips and relu scales), so only when layer l - 1 was
    fully matched (the flips judged in that layer's common basis); otherwise, and for layers one network has
    and the other lacks, every teacher neuron of the layer counts as missing and every recovered one as
    excess."""
    from neuroflow.identify.teacher import Teacher

    if not isinstance(teacher, Teacher):
        raise ValueError(f"teacher: expected a neuroflow.identify.Teacher, got {type(teacher).__name__}")
    if isinstance(recovered, np.ndarray) or not isinstance(recovered, (list, tuple)):
        raise ValueError(f"recovered: expected a list of (m, d + 1) arrays, one per hidden layer, got "
                         f"{type(recovered).__name__}")
    cols = teacher.input_dim + 1
    for l, r_u in enumerate(recovered):   # a matmul error (or AttributeError) named neither argument nor layer
        r_u = check_array(r_u, f"recovered[{l}]", ndim=2)
        if r_u.shape[1] != cols:
            raise ValueError(f"recovered[{l}]: expected {cols} columns ([w | b] over "
                             f"{'the inputs' if l == 0 else f'the {cols - 1} units of recovered[{l - 1}]'}), got "
                             f"shape {r_u.shape}")
        cols = r_u.shape[0] + 1
    layers, prev = [], None
    for l in range(max(len(teacher.hidden_sizes), len(recovered))):
        t_u = teacher.incoming(l) if l < len(teacher.hidden_sizes) else np.zeros((0, 1))
        r_u = recovered[l] if l < len(recovered) else np.zeros((0, 1))
        k, m = t_u.shape[0], r_u.shape[0]
        if m == 0 or k == 0 or (l > 0 and prev is None):  # no common basis
            nan = [float("nan")] * k
            layers.append(LayerReport(k, m, nan, nan, [-1] * k, m if k == 0 or m == 0 else max(0, m - k),
                                      k if k == 0 or m == 0 else max(0, k - m)))
            prev = None
            continue
        if l > 0:
            t_u, r_u = _common_basis(t_u, r_u, prev, activation, sign)
        rep = compare_layer(t_u, r_u, activation, match_tol_deg=match_tol_deg, sign=sign)
        layers.append(rep)
        # the next layer's sign flips are read off this layer's vectors in the common basis: raw vectors of
        # a layer above the first list their inputs in different orders and signs (a 3-hidden-layer tanh
        # teacher recovered exactly, to relative MSE 1e-29, read as 7.4 deg off in its third layer)
        prev = (t_u, r_u, rep.matching) if rep.missing == 0 else None
    return layers


def _common_basis(t_u, r_u, prev, activation, sign):
    """Express layer-l incoming vectors of teacher and recovered net over the same (teacher-ordered)
    units of layer l-1, using that layer's matching and symmetry (sign flips, relu scales)."""
    t_prev, r_prev, matching = prev
    cls = symmetry_class(activation)
    cols = np.array(matching)
    r_cols = r_u[:, cols].copy()
    r_bias = r_u[:, -1].copy()
    for j, m in enumerate(cols):
        tv, rv = t_prev[j], r_prev[m]
        s = 1.0
        if cls != "none" and sign is not False:
            s = 1.0 if float(tv @ rv) >= 0 else -1.0
        if cls == "relu":
            r_cols[:, j] *= np.linalg.norm(rv) / max(np.linalg.norm(tv), 1e-300)
        if s < 0:
            if cls == "odd_constant":  # f(-z) = 1 - f(z): the column's weight moves into the bias
                r_bias += r_cols[:, j]
            r_cols[:, j] *= -1
    return np.hstack([t_u[:, :-1], t_u[:, -1:]]), np.hstack([r_cols, r_bias[:, None]])
