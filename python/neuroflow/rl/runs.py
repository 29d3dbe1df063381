"""What a batched maze run needs in memory (refused up front when it cannot fit), the default seed batch, and
the checkpoint of finished seed batches that lets an interrupted run resume with identical numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neuroflow._utils import describe_differences, differing_keys, exception_reason
from neuroflow.rl import kernels
from neuroflow.rl.envs import TMaze, WaterMaze
from neuroflow.rl.place_cells import PlaceCells

__all__ = ["default_seed_batch", "available_memory_bytes", "fit_memory_bytes", "memory_problem", "save_checkpoint",
           "load_checkpoint"]

#: per-batch state a default seed batch may take (bytes)
_BATCH_BYTES = 64 * 2**20


def _per_seed_bytes(task: str, n_episodes: int) -> tuple[int, int]:
    """(bytes kept per seed in the result, bytes of batch state per seed) of :meth:`ActorCritic.fit`."""
    nf, na = (TMaze.n_states, TMaze.n_actions) if task == "tmaze" else (PlaceCells.grid().n_features,
                                                                       WaterMaze.n_actions)
    weights = 8 * nf * (1 + na)
    kept = 8 * n_episodes + weights                                   # steps, final weights
    batch = (8 + 8 * kernels.N_COUNTS) * n_episodes + 2 * weights + 32 * nf * (1 + na) + 64 + 8 * nf
    return kept, batch


def default_seed_batch(task: str, n_seeds: int, n_episodes: int) -> int:
    """Seeds simulated together by default: as many as fit in about 64 MiB of batch state (at least one)."""
    return int(min(n_seeds, max(1, _BATCH_BYTES // _per_seed_bytes(task, n_episodes)[1])))


def available_memory_bytes() -> int | None:
    """Memory the system can give this process now (``MemAvailable``), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def fit_memory_bytes(task: str, n_seeds: int, n_episodes: int, seed_batch: int | None = None) -> int:
    """Estimated peak memory of ``ActorCritic(task).fit(n_episodes, n_seeds)``: the result arrays of every
    seed plus one batch of simulation state."""
    kept, batch = _per_seed_bytes(task, int(n_episodes))
    b = default_seed_batch(task, n_seeds, n_episodes) if seed_batch is None else min(seed_batch, n_seeds)
    return int(n_seeds) * kept + int(b) * batch


def memory_problem(task: str, n_seeds: int, n_episodes: int) -> str | None:
    """Why a run of ``n_seeds`` x ``n_episodes`` cannot fit in the available memory, or None if it can."""
    need = fit_memory_bytes(task, n_seeds, n_episodes)
    have = available_memory_bytes()
    if have is None or need <= have:
        return None
    return f"need about {need / 2**30:.3g} GiB, more than the {have / 2**30:.3g} GiB of memory available"


def _settings(saved: str, key: str) -> tuple[dict, dict] | None:
    """The settings of the JSON keys ``saved`` (a file's) and ``key`` (this run's), or None where one is no JSON
    object."""
    import json

    try:
        a, b = json.loads(saved), json.loads(key)
    except ValueError:
        return None
    return (a, b) if isinstance(a, dict) and isinstance(b, dict) else None


def _same_but_seed_batch(saved: str, key: str) -> bool:
    """The checkpoint keys ``saved`` and ``key`` differ in the seed batch only: the numbers do not depend on it (every
    seed has its own stream), so a run resumed with another --seed-batch takes the finished seeds (it was refused
    as "other settings", the finished batches to be deleted)."""
    pair = _settings(saved, key)
    return pair is not None and set(differing_keys(*pair)) <= {"seed_batch"}


def settings_differences(saved: str, key: str, limit: int = 3) -> str:
    """`` (n_episodes 100 there, 200 now; ...)`` for the settings in which the JSON keys ``saved`` (a file's) and
    ``key`` (this run's) differ, at most ``limit`` of them, or "" where ``saved`` cannot be read: the message that
    refuses a file now says which flag to give back to resume it (a --seed-batch differing was a guess)."""
    pair = _settings(saved, key)
    if pair is None:
        return ""
    a, b = pair
    names = [k for k in differing_keys(a, b) if k != "seed_batch"]  # it does not block a resume: no flag to give back
    text = describe_differences(a, b, names, limit=limit)
    return f" ({text})" if text else ""


def save_checkpoint(path: Path, key: str, steps, wc, wa, counts, done_seeds) -> None:
    """Write the finished seed batches atomically (a crash mid-write leaves the previous file)."""
    from neuroflow._utils import atomic_output

    with atomic_output(path, "wb") as fh:  # Ctrl-C mid-write leaves no temporary behind either
        np.savez(fh, key=np.array(key), steps=steps, critic_weights=wc, actor_weights=wa, op_counts=counts,
                 done_seeds=done_seeds)


def load_checkpoint(path: Path, key: str, steps, wc, wa, counts):
    """The arrays a checkpoint holds, after checking it was written by a run with the settings ``key`` and
    arrays of the shapes given."""
    if path.exists() and not path.is_file():  # a named pipe would be read (and later written) for ever
        raise ValueError(f"checkpoint: {path} is not a regular file; move it away or use another path")
    try:  # an empty, truncated or foreign file raises whatever its reader meets first (EOFError, BadZipFile, ...)
        with np.load(path) as z:
            saved = str(z["key"])
            arrays = [z[k] for k in ("steps", "critic_weights", "actor_weights", "op_counts", "done_seeds")]
    except Exception as exc:
        raise ValueError(f"checkpoint: {path} is not a maze checkpoint ({exception_reason(exc)}); delete it") \
            from None
    if saved != key and not _same_but_seed_batch(saved, key):
        raise ValueError(f"checkpoint: {path} was written by a run with other settings"
                         f"{settings_differences(saved, key)}; use another path or delete it")
    if any(a.shape != b.shape for a, b in zip(arrays, (steps, wc, wa, counts))) or arrays[4].shape != (len(steps),):
        raise ValueError(f"checkpoint: {path} holds arrays of other shapes")
    if arrays[4].dtype != bool or any(a.dtype.kind not in "fiu" for a in arrays[:4]) \
            or (arrays[3] < 0).any() or not all(np.isfinite(a[arrays[4]]).all() for a in arrays[:3]):
        raise ValueError(f"checkpoint: {path} holds values no run writes (wrong types, negative counts or "
                         f"non-finite results of finished seeds); delete it")
    return arrays
