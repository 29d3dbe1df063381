"""Resumable student training: each finished student is saved at once, under a key of everything that
determines it.

A stage's file (``students_layer<l>_<key prefix>.npz`` in the checkpoint folder; one per configuration, so
the stages of a width search keep theirs side by side) holds the key and each student's record as JSON
(``meta``) and each student's parameters as an array (``theta_<index>``): plain data, read without pickle, so a
file put in the folder by someone else can be wrong but never runs code. A student is written only after it
finished its whole budget: one cut short by Ctrl-C raises ``KeyboardInterrupt`` before it reaches
:meth:`StudentCheckpoint.add`, so a resumed run retrains it from the start. The file is replaced atomically
(write, then rename), so a crash mid-write leaves the previous version. A file saved under another key (other
data, settings or starting points) is ignored. A run holds its stage's file with :meth:`StudentCheckpoint.locked`
(a lock beside it, ``.<file name>.lock``) from reading it to its last student: a second run writing the same file
meanwhile is refused in one line naming it and the first run's pid (two such runs each rewrote the file with only
their own students, so the finished students of the other were lost). The system lets go of the lock when its
holder ends, even by ``kill -9``, and the next run takes the lock file over.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np

from neuroflow._utils import atomic_output, lock_beside_if_writable
from neuroflow.identify.students import StudentFit

__all__ = ["CheckpointBusy", "StudentCheckpoint", "checkpoint_key"]


class CheckpointBusy(ValueError):
    """Another run is writing this stage's checkpoint file (:meth:`StudentCheckpoint.locked`): the run's failure, not
    its problem's, so a suite ends rather than keeping a failed row for it (which a rerun would skip)."""


def checkpoint_key(arrays, settings) -> str:
    """A digest of the arrays (probes, targets, seeds, starting points) and the settings' ``repr``."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    h.update(repr(settings).encode())
    return h.hexdigest()


class StudentCheckpoint:
    """The finished students of one stage (hidden layer ``layer``, settings digest ``key``) in ``folder``
    (None: keep nothing); ``fits`` maps a student's index to its StudentFit. ``n_params``: the students' parameter
    count, which a saved student's parameters must have (a file cut or edited by hand ended the run with "theta:
    expected a flat vector of length n_params=61", naming no file)."""

    def __init__(self, folder, layer: int, key: str, n_params: int | None = None):
        self.path = _stage_file(folder, layer, key)
        self.key = key
        self.fits: dict = {}
        if self.path is not None and self.path.exists() and not self.path.is_file():
            raise ValueError(f"checkpoint: {self.path} is a folder (or another non-file); expected this stage's "
                             "checkpoint file there: move it away or use another checkpoint folder")
        if self.path is not None and self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as data:
                    meta = json.loads(str(data["meta"][()]))
                    thetas = {name: np.array(data[name]) for name in data.files if name.startswith("theta_")}
            except (OSError, ValueError, KeyError, EOFError, RecursionError, zipfile.BadZipFile) as exc:
                # empty, truncated, not an npz, or an array only pickle could read: retrained, not fatal
                warnings.warn(f"{self.path}: unreadable checkpoint ({type(exc).__name__}); its students are "
                              f"trained again", stacklevel=2)
                return
            if isinstance(meta, dict) and meta.get("key") == key:
                fits = _fits(meta.get("fits"), thetas, n_params)
                if fits is None:
                    warnings.warn(f"{self.path}: checkpoint holds what no run writes; its students are trained "
                                  f"again", stacklevel=2)
                else:
                    self.fits = fits

    @classmethod
    @contextlib.contextmanager
    def locked(cls, folder, layer: int, key: str, n_params: int | None = None):
        """The stage's checkpoint (as the constructor), read and written only by this run for the with-block: a
        run entering it while another holds it gets :class:`CheckpointBusy` (a ValueError) at once, naming the file
        and the other run's pid (``folder`` None: nothing kept, nothing locked). The folder is made if missing; one
        that cannot be written (a finished run's, on a read-only share) is read without a lock, as it was before
        the lock came (the lock's OSError failed such a fit): a student still to train fails when it is written."""
        path = _stage_file(folder, layer, key)
        if path is None:
            yield cls(folder, layer, key, n_params)
            return
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(lock_beside_if_writable(path, f"checkpoint: {path} is being written by another "
                                                                  "run (pid {pid}); wait for it to end or use another "
                                                                  "checkpoint folder"))
            except ValueError as exc:
                raise CheckpointBusy(str(exc)) from None
            yield cls(folder, layer, key, n_params)

    def add(self, fit) -> None:
        """Record one finished student (and rewrite the file): in ``fits`` once the file holds it (Ctrl-C mid-write
        left it counted as kept, which the file did not hold)."""
        fits = {**self.fits, int(fit.index): fit}
        if self.path is not None:
            # the shared atomic write: an interrupted one never leaves a half file under the real name, nor a
            # temporary, and two runs writing one checkpoint at once never take each other's temporary
            meta = json.dumps({"key": self.key, "fits": [_record(fit) for fit in fits.values()]})
            thetas = {f"theta_{i}": np.asarray(fit.theta, dtype=np.float64) for i, fit in fits.items()}
            with atomic_output(self.path, "wb") as fh:
                np.savez(fh, meta=np.array(meta), **thetas)
        self.fits = fits


def _stage_file(folder, layer: int, key: str) -> Path | None:
    return None if folder is None else Path(folder) / f"students_layer{int(layer)}_{key[:12]}.npz"


def _record(fit) -> dict:
    """A StudentFit's fields but ``theta`` as plain JSON values (floats exactly, NaN and infinities included)."""
    return {"index": int(fit.index), "seed": int(fit.seed), "loss": float(fit.loss), "gnorm": float(fit.gnorm),
            "converged": bool(fit.converged), "engine": str(fit.engine), "stopped_by": str(fit.stopped_by),
            "steps": [int(s) for s in fit.steps], "time_s": float(fit.time_s)}


def _fits(records, thetas: dict, n_params: int | None = None) -> dict | None:
    """The StudentFits of a checkpoint's records and parameter arrays, or None if they are not what
    :meth:`StudentCheckpoint.add` writes."""
    if not isinstance(records, list):
        return None
    fits = {}
    for r in records:
        if not isinstance(r, dict) or set(r) != _FIELDS:
            return None
        index, theta = r["index"], thetas.get(f"theta_{r['index']}")
        if not (isinstance(index, int) and isinstance(r["seed"], int) and isinstance(r["loss"], float)
                and isinstance(r["gnorm"], float) and isinstance(r["converged"], bool)
                and isinstance(r["engine"], str) and isinstance(r["stopped_by"], str)
                and isinstance(r["steps"], list) and all(isinstance(s, int) for s in r["steps"])
                and isinstance(r["time_s"], float)
                and isinstance(theta, np.ndarray) and theta.dtype == np.float64 and theta.ndim == 1
                and (n_params is None or theta.size == n_params)):
            return None
        fits[index] = StudentFit(index=index, seed=r["seed"], theta=theta, loss=r["loss"], gnorm=r["gnorm"],
                                 converged=r["converged"], engine=r["engine"], time_s=r["time_s"],
                                 stopped_by=r["stopped_by"], steps=tuple(r["steps"]))
    return fits


_FIELDS = {"index", "seed", "loss", "gnorm", "converged", "engine", "stopped_by", "steps", "time_s"}
