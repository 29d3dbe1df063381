"""Bin encoding: one log-mel frame becomes one spike pattern.

Each mel band's log energy is compared with ``n_bins - 1`` edges and fires exactly one of ``n_bins``
input neurons (a one-hot code per band), so a frame of ``n_mels`` bands becomes ``n_mels`` spikes on
``n_mels * n_bins`` input lines. The edges are per-band quantiles of the training set, so every input
neuron fires about equally often over training data. This is the front end of the bin-encoding
spiking VAD (Dellaferrera, Martinelli & Cernak, "A bin encoding training of a spiking neural network
based voice activity detection", ICASSP 2020).

The encoder works on NumPy arrays (``fit`` / ``transform``, scikit-learn style); the torch model
:class:`neuroflow.vad.snn.BinSNNVAD` holds the same edges as a buffer and encodes on the fly.
"""
from __future__ import annotations

import numpy as np

from neuroflow._utils import check_array, check_positive


class BinEncoder:
    """Per-band one-hot bin code of log-mel frames.

    Parameters
    ----------
    n_bins : int
        Bins per band (input neurons per band), at least 2.

    Attributes (after :meth:`fit`)
    ------------------------------
    edges_ : ndarray, shape (n_mels, n_bins - 1)
        Increasing interior bin edges of each band.
    n_mels_ : int
    """

    def __init__(self, n_bins: int = 8):
        check_positive(n_bins, "n_bins", integer=True)
        if n_bins < 2:
            raise ValueError(f"n_bins: expected at least 2 bins, got {n_bins}")
        self.n_bins = int(n_bins)

    # ------------------------------------------------------------------ fit
    def fit(self, feats) -> "BinEncoder":
        """Set the edges to the per-band quantiles ``k / n_bins`` (k = 1 .. n_bins - 1) of ``feats``.

        ``feats`` is (n_frames, n_mels) (frames in rows), at least ``n_bins`` frames.
        """
        x = check_array(feats, "feats", ndim=2)
        if x.shape[0] < self.n_bins:
            raise ValueError(f"feats: need at least n_bins={self.n_bins} frames to place bin edges, got {x.shape[0]}")
        q = np.arange(1, self.n_bins) / self.n_bins
        edges = np.quantile(x, q, axis=0).T  # (n_mels, n_bins - 1)
        # ties (e.g. a band that is often at the log floor) would leave empty bins; nudge edges apart
        edges = np.maximum.accumulate(edges + 1e-6 * np.arange(self.n_bins - 1)[None, :], axis=1)
        self.edges_ = edges.astype(np.float32)
        self.n_mels_ = int(x.shape[1])
        return self

    @classmethod
    def from_edges(cls, edges) -> "BinEncoder":
        """An encoder with given (n_mels, n_bins - 1) edges, each row increasing."""
        e = check_array(edges, "edges", ndim=2)
        if e.shape[1] < 1:
            raise ValueError(f"edges: expected at least one edge per band, got shape {e.shape}")
        if np.any(np.diff(e, axis=1) < 0):
            raise ValueError("edges: each band's edges must be non-decreasing")
        enc = cls(e.shape[1] + 1)
        enc.edges_ = e.astype(np.float32)
        enc.n_mels_ = int(e.shape[0])
        return enc

    def _check_fitted(self):
        if not hasattr(self, "edges_"):
            raise ValueError("BinEncoder: call fit(feats) (or from_edges) before encoding")

    # ------------------------------------------------------------------ encode
    def bin_index(self, feats) -> np.ndarray:
        """(n_frames, n_mels) integer bin of each band in each frame, in ``0 .. n_bins - 1``."""
        self._check_fitted()
        x = check_array(feats, "feats", ndim=2)
        if x.shape[1] != self.n_mels_:
            raise ValueError(f"feats: expected {self.n_mels_} mel bands (the encoder's), got {x.shape[1]}")
        # count of edges below each value = its bin; vectorised over bands
        return (x[:, :, None] > self.edges_[None, :, :]).sum(axis=2).astype(np.int64)

    def transform(self, feats) -> np.ndarray:
        """(n_frames, n_mels * n_bins) float32 spike pattern: one spike per band per frame.

        Input line ``band * n_bins + bin`` fires when that band's energy falls in that bin.
        """
        idx = self.bin_index(feats)
        n, m = idx.shape
        out = np.zeros((n, m * self.n_bins), dtype=np.float32)
        cols = np.arange(m)[None, :] * self.n_bins + idx
        out[np.arange(n)[:, None], cols] = 1.0
        return out

    def fit_transform(self, feats) -> np.ndarray:
        return self.fit(feats).transform(feats)

    @property
    def n_inputs(self) -> int:
        self._check_fitted()
        return self.n_mels_ * self.n_bins

    def __repr__(self) -> str:
        fitted = f", n_mels={self.n_mels_}" if hasattr(self, "edges_") else ""
        return f"BinEncoder(n_bins={self.n_bins}{fitted})"
