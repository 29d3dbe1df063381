"""Grid sweeps of the maze learners over learning rate, temperature and device, on local processes or Dask.

:func:`maze_sweep` runs one :class:`~neuroflow.rl.ActorCritic` per grid point (alpha x temperature x device) and
splits each point's seeds into batches; every (point, batch) pair is one job of
:func:`neuroflow.parallel.parallel_map`, so the jobs spread over ``n_jobs`` local processes or the workers of a
Dask scheduler. A batch of seeds ``j .. j + k - 1`` runs agents ``j .. j + k - 1`` of the point's seed family
(``ActorCritic.fit(..., first_seed=j)``), so a point's numbers do not depend on the batch size, the number of
workers or where the jobs ran, and equal those of one ``fit`` over all its seeds.

With ``out``, every grid point is written to ``out/point_<k>.npz`` as soon as its last batch arrives, and a
later run with the same settings skips the points already there: an interrupted or failed sweep (Ctrl-C, a lost
scheduler) keeps every finished point. A point file written by a sweep with other settings is refused before any
work (ValueError naming ``out``), never overwritten.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from neuroflow._utils import (atomic_output, check_array, check_choice, check_positive, check_seed, exception_reason,
                              lock_if_writable, short_repr)
from neuroflow._utils import progress as _progress
from neuroflow.memristor.device import VCMDevice, device_digest
from neuroflow.parallel import DEFAULT_TIMEOUT_S, parallel_map
from neuroflow.rl.agent import ActorCritic
from neuroflow.rl.experiments import bootstrap_ci
from neuroflow.rl.runs import settings_differences

__all__ = ["maze_sweep", "SweepResult"]


def _batch_job(task, synapse, device, alpha, temperature, min_update, n_episodes, seed, first_seed, n_seeds):
    """One batch of seeds of one grid point (runs in a worker); returns the steps and the final critic weights."""
    agent = ActorCritic(task, synapse=synapse, device=device, alpha=alpha, temperature=temperature,
                        min_update=min_update)
    res = agent.fit(n_episodes, n_seeds, seed, first_seed=first_seed, progress=False).result_
    if res.interrupted:   # Ctrl-C inside fit: the batch is unfinished (NaN steps), never a result
        raise KeyboardInterrupt
    return res.steps.astype(np.int32), agent.critic_weights_


@dataclass
class SweepResult:
    """Per grid point (rows of ``points``: alpha, temperature, device label): the mean steps per episode
    ``curves`` (n_points, n_episodes), the final steps (mean over seeds of each seed's mean over the last
    ``tail`` episodes) with 95 % bootstrap intervals, and which points were computed in this run."""

    points: list
    curves: np.ndarray
    final_steps: np.ndarray
    final_steps_ci95: np.ndarray
    time_s: float
    params: dict = field(default_factory=dict)
    computed: list = field(default_factory=list)
    interrupted: bool = False

    def best(self) -> dict:
        """The grid point with the fewest final steps (of those that finished)."""
        if not np.isfinite(self.final_steps).any():  # an interrupted sweep: was numpy's "All-NaN slice encountered"
            raise ValueError("best: no grid point finished (the sweep was interrupted before any point's last batch)")
        k = int(np.nanargmin(self.final_steps))
        a, t, d = self.points[k]
        return {"alpha": a, "temperature": t, "device": d, "final_steps": float(self.final_steps[k])}

    def to_dict(self) -> dict:
        return {"points": [{"alpha": a, "temperature": t, "device": d, "final_steps": float(f),
                            "final_steps_ci95": [float(x) for x in ci], "steps_mean": c}
                           for (a, t, d), f, ci, c in zip(self.points, self.final_steps, self.final_steps_ci95,
                                                          self.curves)],
                "best": self.best() if np.isfinite(self.final_steps).any() else None, "time_s": self.time_s,
                "computed_points": self.computed, "interrupted": self.interrupted, "params": self.params}


def _device_label(device) -> str:
    if isinstance(device, str):
        return device
    from neuroflow.memristor.device import VCMDevice

    devs = (device,) if isinstance(device, VCMDevice) else tuple(device)
    return devs[0].name if len(devs) == 1 else f"{len(devs)} devices ({devs[0].name}, ...)"


def _saved_point(path: Path, key: str, shape) -> np.ndarray | None:
    """The steps a finished point's file holds; a file that is unreadable or holds what no sweep writes is
    recomputed (None), after a warning naming it. A point written by a sweep with other settings is refused
    (ValueError naming ``out``): computing it again would overwrite that sweep's result."""
    if not path.is_file():  # a named pipe (or a folder) there would be read, or written, for ever
        raise ValueError(f"out: {path} is not a regular file; move it away or use another path")
    try:
        with np.load(path) as z:
            saved = str(z["key"])
            steps = np.asarray(z["steps"], dtype=float) if saved == key else None
    except Exception as exc:  # empty, truncated or foreign: EOFError, BadZipFile, KeyError, ...
        problem = exception_reason(exc)
    else:
        if saved != key:
            raise ValueError(f"out: {path} was written by a sweep with other settings"
                             f"{settings_differences(saved, key)}; use another path or delete it")
        bad = int(np.count_nonzero(~np.isfinite(steps) | (steps < 0))) if steps.shape == shape else 0
        if steps.shape != shape:
            problem = f"ValueError: steps of shape {steps.shape}, expected {shape}"
        elif bad:
            problem = f"ValueError: {bad} of its {steps.size} step counts are negative or not finite"
        else:
            return steps
    warnings.warn(f"{path}: not a finished sweep point ({problem}); computing it again", stacklevel=3)
    return None


def maze_sweep(task: str = "tmaze", *, alphas: Sequence[float] = (0.1, 0.2), temperatures: Sequence[float] = (0.3,),
               devices: Sequence = ("portner2025",), synapse: str = "memristor", n_seeds: int = 100,
               n_episodes: int = 200, seed_batch: int | None = None, seed: int = 0, tail: int | None = None,
               min_update: float | None = None, n_jobs: int = 1, scheduler: str | None = None,
               out: str | Path | None = None, progress: bool = False, timeout: float = DEFAULT_TIMEOUT_S
               ) -> SweepResult:
    """Learning curves over the grid ``alphas x temperatures x devices``, ``n_seeds`` agents per point.

    Parameters
    ----------
    task : "tmaze" or "watermaze"
    alphas, temperatures : sequences of float
        Learning rates in (0, 1] and softmax temperatures (> 0).
    devices : sequence
        Device presets (names), :class:`~neuroflow.memristor.VCMDevice` objects or sequences of them.
    synapse : str
        As :class:`~neuroflow.rl.ActorCritic`.
    n_seeds, n_episodes : int
        Agents per grid point and episodes per agent.
    seed_batch : int, optional
        Seeds per job (default: all seeds of a point in one job).
    seed : int
        Seed family of every grid point (the points share their agents' random streams).
    tail : int, optional
        Final steps = mean of the last ``tail`` episodes (default: a tenth of the episodes).
    min_update : float, optional
        Updates below this are dropped (default: the task's, see :data:`neuroflow.rl.DEFAULTS`).
    n_jobs : int
        Local worker processes (1: in this process).
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); the jobs then run on its workers.
    out : str or Path, optional
        Folder for one file per finished grid point (and resuming from them); a point file of a sweep with
        other settings there is refused (ValueError naming ``out``).
    progress : bool
        Show a progress bar over the jobs.
    timeout : float
        Seconds to wait for the scheduler before failing with its address.

    Returns
    -------
    SweepResult
    """
    check_choice(task, "task", ["tmaze", "watermaze"])
    a = check_array(alphas, "alphas", ndim=1)
    t = check_array(temperatures, "temperatures", ndim=1)
    if isinstance(devices, (str, bytes, VCMDevice)) or not isinstance(devices, Sequence):
        # devices="ideal" was read letter by letter ("got 'i'"), one VCMDevice or a generator ended in len()'s TypeError
        raise ValueError(f"devices: expected a list with one entry per grid point (a preset name, a VCMDevice or a "
                         f"sequence of them), got {type(devices).__name__} {short_repr(devices, 40)}")
    if a.size == 0 or t.size == 0 or len(devices) == 0:
        raise ValueError("alphas, temperatures, devices: expected at least one value each")
    if np.any(a <= 0) or np.any(a > 1):
        raise ValueError(f"alphas: expected learning rates in (0, 1], got {a.tolist()}")
    if np.any(t <= 0):
        raise ValueError(f"temperatures: expected positive temperatures, got {t.tolist()}")
    # before any work or folder: seed=np.int64(3) ended in json's TypeError writing the point key (after out was
    # made), -1 in the first job's ValueError
    seed = check_seed(seed)
    n_seeds = int(check_positive(n_seeds, "n_seeds", integer=True))
    n_episodes = int(check_positive(n_episodes, "n_episodes", integer=True))
    seed_batch = n_seeds if seed_batch is None else min(n_seeds, int(check_positive(seed_batch, "seed_batch",
                                                                                      integer=True)))
    tail = max(1, n_episodes // 10) if tail is None else min(n_episodes, int(check_positive(tail, "tail",
                                                                                            integer=True)))
    points = list(itertools.product(a.tolist(), t.tolist(), range(len(devices))))
    for dev in devices:    # validate each device once, here, not in the workers
        ActorCritic(task, synapse=synapse, device=dev, min_update=min_update)
    labels = [_device_label(d) for d in devices]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:  # the points would be reported (and plotted) under one label, not to be told apart
        raise ValueError(f"devices: {labels.count(twice[0])} devices are labelled {twice[0]!r} (the same "
                         "device file twice, or files of devices with one name); give each device once, under its "
                         "own name (maze fit-device --name)")
    settings = {"task": task, "synapse": synapse, "n_seeds": n_seeds, "n_episodes": n_episodes, "seed": seed,
                "min_update": min_update}
    guard = contextlib.ExitStack()
    if out is not None:
        from neuroflow.cliutil import check_output_dir

        out = check_output_dir(out, "out")  # a file there, '', a path under a file: ValueError naming out
        out.mkdir(parents=True, exist_ok=True)
        # one sweep at a time per folder: a sweep with other settings started beside a running one found no point
        # file yet, computed its own and wrote it over the first one's (both said "saved; a rerun skips them")
        guard.enter_context(lock_if_writable(out / ".neuroflow-sweep.lock", f"out: {out} is being written by "
                                             "another sweep (pid {pid}); wait for it to end or use another folder"))
    with guard:
        t0 = time.perf_counter()
        steps = {k: np.full((n_seeds, n_episodes), np.nan) for k in range(len(points))}
        finished = {}
        computed = []
        jobs, owners = [], []
        for k, (alpha, temp, d) in enumerate(points):
            # a device (not a preset) also by a hash of its fields: a device file refitted under the same name
            # reused the old device's points as finished
            digest = {} if isinstance(devices[d], str) else {"device_digest": device_digest(devices[d])}
            key = json.dumps({**settings, "alpha": alpha, "temperature": temp, "device": labels[d], **digest},
                             sort_keys=True)
            path = None if out is None else out / f"point_{k:03d}.npz"
            saved = None if path is None or not path.exists() else _saved_point(path, key, steps[k].shape)
            if saved is not None:
                steps[k] = saved
                finished[k] = True
                continue
            for lo in range(0, n_seeds, seed_batch):
                hi = min(n_seeds, lo + seed_batch)
                jobs.append((task, synapse, devices[d], alpha, temp, min_update, n_episodes, seed, lo, hi - lo))
                owners.append((k, lo, hi, key, path))
        remaining = {k: sum(1 for o in owners if o[0] == k) for k in range(len(points))}
        bar = _progress(total=len(jobs), enabled=progress, desc=f"{task} sweep", unit="batch")

        def collect(i, res):
            k, lo, hi, key, path = owners[i]
            steps[k][lo:hi] = res[0]
            remaining[k] -= 1
            bar.update(1)
            if remaining[k] == 0:
                finished[k] = True
                computed.append(k)
                if path is not None:
                    with atomic_output(path, "wb") as fh:  # whole or not there, and no temporary left by Ctrl-C
                        np.savez(fh, key=np.array(key), steps=steps[k].astype(np.int32))

        interrupted = False
        try:
            parallel_map(_batch_job, jobs, n_jobs=n_jobs, scheduler=scheduler, on_result=collect, timeout=timeout)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
    curves = np.full((len(points), n_episodes), np.nan)
    final = np.full(len(points), np.nan)
    ci = np.full((len(points), 2), np.nan)
    for k in range(len(points)):
        if k in finished:
            curves[k] = steps[k].mean(0)
            per_seed = steps[k][:, -tail:].mean(1)
            final[k] = per_seed.mean()
            ci[k] = bootstrap_ci(per_seed)
    return SweepResult(points=[(alpha, temp, labels[d]) for alpha, temp, d in points], curves=curves,
                       final_steps=final, final_steps_ci95=ci, time_s=time.perf_counter() - t0,
                       params={**settings, "seed_batch": seed_batch, "tail": tail, "n_jobs": n_jobs,
                               "scheduler": scheduler, "out": None if out is None else str(out)},
                       computed=sorted(computed), interrupted=interrupted)
