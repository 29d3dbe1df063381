"""A trained spiking VAD run in NumPy for inference: no autograd, float32, chunk by chunk.

:class:`NumpySNN` holds the same network as a :class:`~neuroflow.vad.snn.SpikingVAD` (masked weights,
leaks, biases, the input standardisation or bin edges) and steps it with explicit state, so chunks of
a stream give the frames of one long call bit for bit.
"""
from __future__ import annotations

import numpy as np
import torch


#: frames up to which the bin model's first projection gathers all bands' weight rows at once (a stream's chunks: a
#: Python loop over the 48 bands cost ~100 us a 10 ms chunk) rather than band by band (a file's 1000-frame pieces)
_GATHERED_FRAMES = 64


def _rows_dot(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` with every row summed on its own (``einsum``), so a chunk's rows do not depend on the
    rows beside them (BLAS's blocking does): streamed chunks give a file's numbers bit for bit."""
    return np.einsum("tk,kj->tj", x, w.astype(x.dtype, copy=False))


class NumpySNN:
    """The same network as a :class:`SpikingVAD`, run in NumPy for inference (no autograd, float32).

    Each layer's input projection is done for the whole chunk at once; only the element-wise SNU
    recursion loops over frames. ``run(feats, state)`` continues from ``state`` (a list of per-layer
    ``(s, y)`` vectors), so chunks of a stream give the frames of one long call (up to float32 rounding).
    """

    def __init__(self, model: SpikingVAD):
        model = model.eval()
        self.kind = model.kind
        self.n_features = model.n_features
        with torch.no_grad():
            self.layers = []
            for layer in model.layers:
                rec = layer.masked_recurrent_weight()
                self.layers.append({
                    "w": np.ascontiguousarray(layer.masked_weight().numpy().T, dtype=np.float32),
                    "h": None if rec is None else np.ascontiguousarray(rec.numpy().T, dtype=np.float32),
                    "leak": layer.leak.numpy().astype(np.float32),
                    "bias": layer.bias.detach().numpy().astype(np.float32),
                    "soft": layer.soft, "n": layer.n_out})
            if model.kind == "snu":
                self.mean = model.feature_mean.numpy().astype(np.float32)
                self.std = model.feature_std.numpy().astype(np.float32)
            else:
                self.edges = model.bin_edges.numpy().astype(np.float32)
                self.n_bins = model.n_bins
        # a bin code is one-hot per band: the first projection is a sum of gathered weight rows
        if self.kind == "bin":
            w = self.layers[0]["w"]  # (n_features * n_bins, n_hidden)
            self.bin_rows = w.reshape(self.n_features, self.n_bins, -1)

    @staticmethod
    def _run_readout(drive: np.ndarray, state, L) -> tuple[np.ndarray, tuple]:
        """The single soft output unit, stepped with Python floats (much cheaper than 1-element arrays);
        its state stays in float64."""
        import math

        s, y = float(state[0][0]), float(state[1][0])
        leak, bias = float(L["leak"][0]), float(L["bias"][0])
        out = np.empty(len(drive), np.float64)
        exp = math.exp
        for t, d in enumerate(drive.tolist()):
            s = d + leak * s * (1.0 - y)
            if s < 0.0:
                s = 0.0
            z = s + bias
            y = 1.0 / (1.0 + exp(-z)) if z > -700 else 0.0
            out[t] = y
        return out, (np.array([s]), np.array([y]))  # float64: a chunk boundary must not round the state

    def initial_state(self) -> list:
        return [(np.zeros(L["n"], np.float32), np.zeros(L["n"], np.float32)) for L in self.layers]

    def _first_drive(self, feats: np.ndarray) -> np.ndarray:
        if self.kind == "snu":
            return _rows_dot((feats - self.mean) / self.std, self.layers[0]["w"])
        idx = (feats[:, :, None] > self.edges[None]).sum(axis=2)  # (T, n_features)
        if len(feats) <= _GATHERED_FRAMES:  # a stream's few frames: all rows at once, summed over the bands, an
            # outer axis, which NumPy adds one band at a time in order (pairwise summation is only along the innermost
            # axis), as the loop below: the same floats
            rows = self.bin_rows[np.arange(self.n_features), idx]  # (T, n_features, n_hidden)
            if rows.shape[2] > 1:
                return rows.sum(axis=1, dtype=np.float32)
            # one hidden unit: the bands are then the innermost axis, which sum() adds pairwise (other floats);
            # a running sum adds them in order, as the loop
            return np.cumsum(rows, axis=1, dtype=np.float32)[:, -1]
        drive = self.bin_rows[0, idx[:, 0]].copy()
        for k in range(1, self.n_features):  # one band at a time: the same sum order for any chunk length
            drive += self.bin_rows[k, idx[:, k]]
        return drive

    def run(self, feats: np.ndarray, state: list | None = None, *, record: bool = False):
        """``feats`` (T, n_features) float32 -> ``(prob (T,), new state, spikes per hidden layer or None)``."""
        feats = np.asarray(feats, dtype=np.float32)
        state = self.initial_state() if state is None else state
        new_state, spikes = [], []
        x = None
        for i, L in enumerate(self.layers):
            drive = self._first_drive(feats) if i == 0 else _rows_dot(x, L["w"])
            drive = np.ascontiguousarray(drive, dtype=np.float32)
            if L["soft"] and L["n"] == 1 and L["h"] is None:
                out, st = self._run_readout(drive[:, 0], state[i], L)
                new_state.append(st)
                x = out[:, None]
                continue
            s, y = state[i]
            s, y = s.astype(np.float32, copy=True), y.astype(np.float32, copy=True)
            out = np.empty_like(drive)
            leak, bias, h = L["leak"], L["bias"], L["h"]
            keep = leak * (1.0 - y)  # leak where the neuron did not just spike, 0 where it did (reset)
            for t in range(drive.shape[0]):
                np.multiply(s, keep, out=s)
                np.add(s, drive[t], out=s)
                if h is not None:
                    s += y @ h
                np.maximum(s, 0.0, out=s)
                if L["soft"]:
                    y = (1.0 / (1.0 + np.exp(-(s + bias)))).astype(np.float32)
                    keep = leak * (1.0 - y)
                else:
                    fired = s + bias > 0
                    y = fired.astype(np.float32)
                    keep = np.where(fired, np.float32(0.0), leak)
                out[t] = y
            new_state.append((s, y))
            if not L["soft"] and record:
                spikes.append(out)
            x = out
        return x[:, 0].astype(np.float64), new_state, (spikes if record else None)
