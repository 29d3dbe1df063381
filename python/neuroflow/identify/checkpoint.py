"""Resumable student training: each finished student is saved at once, under a key of everything that
determines it.

A stage's file (``students_layer<l>_<key prefix>.pkl`` in the checkpoint folder; one per configuration, so
the stages of a width search keep theirs side by side) holds ``{"key": ..., "fits": {index:
StudentFit}}``. A student is written only after it finished its whole budget: one cut short by Ctrl-C
raises ``KeyboardInterrupt`` before it reaches :meth:`StudentCheckpoint.add`, so a resumed run retrains it
from the start. The file is replaced atomically (write, then rename), so a crash mid-write leaves the
previous version. A file saved under another key (other data, settings or starting points) is ignored.
"""
from __future__ import annotations

import hashlib
import pickle
import warnings
from pathlib import Path

import numpy as np

from neuroflow._utils import atomic_output

__all__ = ["StudentCheckpoint", "checkpoint_key"]


def checkpoint_key(arrays, settings) -> str:
    """A digest of the arrays (probes, targets, seeds, starting points) and the settings' ``repr``."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    h.update(repr(settings).encode())
    return h.hexdigest()


class StudentCheckpoint:
    """The finished students of one stage (hidden layer ``layer``, settings digest ``key``) in ``folder``
    (None: keep nothing); ``fits`` maps a student's index to its StudentFit."""

    def __init__(self, folder, layer: int, key: str):
        self.path = None if folder is None else Path(folder) / f"students_layer{int(layer)}_{key[:12]}.pkl"
        self.key = key
        self.fits: dict = {}
        if self.path is not None and self.path.exists() and not self.path.is_file():
            raise ValueError(f"checkpoint: {self.path} is a folder (or another non-file); expected this stage's "
                             "checkpoint file there: move it away or use another checkpoint folder")
        if self.path is not None and self.path.is_file():
            try:
                with open(self.path, "rb") as fh:
                    saved = pickle.load(fh)
            except Exception as exc:  # empty or truncated (EOFError, UnpicklingError, ...): retrained, not fatal
                warnings.warn(f"{self.path}: unreadable checkpoint ({type(exc).__name__}); its students are "
                              f"trained again", stacklevel=2)
                return
            if isinstance(saved, dict) and saved.get("key") == key and isinstance(saved.get("fits"), dict):
                fits = saved["fits"]
                if all(isinstance(i, int) and getattr(f, "index", None) == i
                       and isinstance(getattr(f, "loss", None), (float, np.floating))
                       and isinstance(getattr(f, "theta", None), np.ndarray) for i, f in fits.items()):
                    self.fits = dict(fits)
                else:
                    warnings.warn(f"{self.path}: checkpoint holds what no run writes; its students are trained "
                                  f"again", stacklevel=2)

    def add(self, fit) -> None:
        """Record one finished student (and rewrite the file)."""
        self.fits[int(fit.index)] = fit
        if self.path is None:
            return
        # the shared atomic write: an interrupted one never leaves a half file under the real name, nor a temporary,
        # and two runs writing one checkpoint at once never take each other's temporary
        with atomic_output(self.path, "wb") as fh:
            pickle.dump({"key": self.key, "fits": self.fits}, fh)
