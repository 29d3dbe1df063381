"""Validation of a spiking VAD during training: its decision threshold and error rates on held-back sequences.

The decisions are those of detection (:mod:`neuroflow.vad.postprocess`): the causal median of the
network's probability, ``>= threshold``, then the hangover; only the silence gate is missing, as
precomputed features carry no window energies. :func:`pick_threshold` chooses the threshold with the
lowest pooled HTER on a grid of 99 values. The shipped models' rule is chosen afterwards on real speech,
through detection's own path, by :mod:`neuroflow.vad.calibration`.
"""
from __future__ import annotations

import numpy as np

from neuroflow.vad.metrics import error_rates
from neuroflow.vad.postprocess import causal_max, causal_median

#: thresholds :func:`pick_threshold` tries
THRESHOLDS = np.linspace(0.01, 0.99, 99)


def decisions(smoothed: list[np.ndarray], threshold: float, hangover: int) -> np.ndarray:
    """Pooled 0/1 decisions of median-smoothed probabilities (one array per sequence) with the hangover."""
    return np.concatenate([causal_max(q >= threshold, hangover)[0] > 0 for q in smoothed])


def pick_threshold(smoothed: list[np.ndarray], labels: list[np.ndarray], hangover: int = 0) -> tuple[float, float]:
    """The threshold (of :data:`THRESHOLDS`) with the lowest pooled HTER; returns ``(threshold, HTER)``."""
    y = np.concatenate(labels)
    best = (0.5, np.inf)
    for thr in THRESHOLDS:
        h = error_rates(decisions(smoothed, thr, hangover), y)[2]
        if h < best[1]:
            best = (float(thr), float(h))
    return best


def validation_metrics(model, data, *, median: int, hangover: int, threshold: float | None = None) -> dict:
    """HTER, FAR, MR at ``threshold`` (or the best one), mean BCE and spike rate of ``model`` on ``data``
    (a :class:`~neuroflow.vad.sequences.SequenceSet`)."""
    from neuroflow.vad.inference import NumpySNN

    runner = NumpySNN(model)
    smoothed, spikes, frames, bce = [], 0.0, 0, 0.0
    n_hidden = sum(h for h in model.hidden)
    for f, y in zip(data.feats, data.labels):
        p, _, sp = runner.run(f, record=True)
        spikes += sum(float(s.sum()) for s in sp)
        frames += len(f)
        q = np.clip(p, 1e-6, 1 - 1e-6)
        bce += float(-(y * np.log(q) + (1 - y) * np.log(1 - q)).sum())
        smoothed.append(causal_median(p, median)[0])
    if threshold is None:
        threshold, _ = pick_threshold(smoothed, data.labels, hangover)
    mr, far, hter = error_rates(decisions(smoothed, threshold, hangover), np.concatenate(data.labels))
    return {"hter": hter, "far": far, "mr": mr, "threshold": float(threshold), "bce": bce / max(frames, 1),
            "spikes_per_neuron_per_frame": spikes / max(frames * n_hidden, 1)}
