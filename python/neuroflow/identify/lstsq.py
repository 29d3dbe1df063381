"""Least-squares building blocks of the reconstruction: layer features, output layers, residuals and the
backward elimination of unneeded features.

Every fit is on the features ``[H, 1, X_skip]``: a layer's units ``H`` (N, k), a constant, and for
even+linear activations of a shallow net the probes themselves (the linear skip path, see
:mod:`neuroflow.identify.symmetry`).
"""
from __future__ import annotations

import numpy as np

__all__ = ["layer_forward", "hidden_activations", "features", "least_squares_output", "ls_rel_residual",
           "backward_elimination"]


def layer_forward(H, incoming, activation) -> np.ndarray:
    """Units of a layer with incoming vectors ``incoming`` ([W | b], (k, d + 1)) on inputs ``H`` (N, d)."""
    from neuroflow.mlp.activations import get_activation

    return get_activation(activation).f(H @ incoming[:, :-1].T + incoming[:, -1])


def hidden_activations(X, mats, activation) -> list[np.ndarray]:
    """Every hidden layer's units of the network ``mats`` (the last matrix is the linear output layer)."""
    hs, h = [], X
    for m in mats[:-1]:
        h = layer_forward(h, m, activation)
        hs.append(h)
    return hs


def features(H, X_skip=None) -> np.ndarray:
    """``[H, 1, X_skip]``."""
    return np.hstack([H, np.ones((H.shape[0], 1))] + ([X_skip] if X_skip is not None else []))


def least_squares_output(H, X_skip, Y) -> dict:
    """Output layer ``matrix`` [A | c] (and ``skip`` S, or None) by least squares on ``[H, 1, X_skip]``."""
    coef, *_ = np.linalg.lstsq(features(H, X_skip), Y, rcond=None)
    k = H.shape[1]
    return {"matrix": np.hstack([coef[:k].T, coef[k:k + 1].T]),
            "skip": coef[k + 1:].T if X_skip is not None else None}


def output_variance(Y) -> float:
    """Mean over probes of the summed squared deviation of the outputs (what relative losses divide by)."""
    return float(np.mean(np.sum((Y - Y.mean(axis=0)) ** 2, axis=1)))


def constant_outputs(Y) -> bool:
    """Whether targets ``Y`` (N >= 2 rows) are the same on every probe to float precision: their spread within a
    few rounding steps of their size, or a variance that underflows (subnormal targets). Relative losses divide
    by that variance, so such targets give losses of 1e30 and angles of NaN instead of a network."""
    Y = np.asarray(Y, dtype=float)
    if Y.shape[0] < 2:
        return False
    spread = np.sqrt(output_variance(Y.reshape(Y.shape[0], -1)))
    return not spread > 64 * np.finfo(float).eps * float(np.max(np.abs(Y)))


def ls_rel_residual(H, X_skip, T) -> float:
    """Relative residual of the least-squares fit of targets ``T`` (N, m) on ``[H, 1, X_skip]``."""
    F = features(H, X_skip)
    coef, *_ = np.linalg.lstsq(F, T, rcond=None)
    return float(np.sum((F @ coef - T) ** 2) / max(float(np.sum((T - T.mean(axis=0)) ** 2)), 1e-300))


def backward_elimination(H, X_skip, Y, factor: float = 10.0, max_rise: float = 1e-2) -> list[int]:
    """Columns of H to keep: drop, one at a time, the column whose removal raises the least-squares
    residual least, while the residual stays within ``factor`` of the residual with every column and
    rises by at most ``max_rise`` of the targets' variance (the second bound matters when even the full
    fit leaves a sizeable residual; near zero the first one rules). Used for the last hidden layer, whose
    choice is then verified by fine-tuning the reduced network to the loss floor.

    One QR factorisation of all features; each trial is then a small least-squares problem in the
    triangular factor (as accurate as refitting, far cheaper with many rows and many targets).
    """
    k = H.shape[1]
    F = features(H, X_skip)
    Q, R = np.linalg.qr(F)
    QtY = Q.T @ Y
    outside = float(np.sum((Y - Q @ QtY) ** 2))  # the part no subset of columns can fit

    def residual(cols):
        idx = list(cols) + list(range(k, F.shape[1]))
        coef, *_ = np.linalg.lstsq(R[:, idx], QtY, rcond=None)
        return outside + float(np.sum((R[:, idx] @ coef - QtY) ** 2))

    keep = list(range(k))
    scale = float(np.sum((Y - Y.mean(axis=0)) ** 2))
    full = residual(keep)
    limit = max(min(factor * full, full + max_rise * scale), 1e-14 * scale)
    while len(keep) > 1:
        r, j = min((residual([c for c in keep if c != j]), j) for j in keep)
        if r > limit:
            break
        keep.remove(j)
    return keep
