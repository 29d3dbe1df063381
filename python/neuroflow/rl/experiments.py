"""Experiments built on :class:`~neuroflow.rl.ActorCritic`: the self-correction ablation and the write-noise
sweep (T-maze or water maze), the random-walker baseline, and the water-maze floor
(:func:`watermaze_optimal_steps`, from :mod:`neuroflow.rl.optimal`)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from neuroflow._utils import (as_rng, check_array, check_choice, check_memory, check_positive, check_seed, is_integer,
                              is_number)
from neuroflow.memristor import _portner2025
from neuroflow.memristor.device import VCMDevice
from neuroflow.memristor.kernels import rng_uniform, seed_states
from neuroflow.parallel import parallel_map
from neuroflow.rl.agent import ActorCritic, MazeResult, check_max_steps
from neuroflow.rl.envs import TMAZE_TRANSITIONS, TMaze, WATERMAZE_MOVES, WaterMaze
from neuroflow.rl.kernels import wm_blocked, wm_in_platform, wm_move
from neuroflow.rl.optimal import WaterMazeFloor, watermaze_optimal_steps, watermaze_optimal_values
from neuroflow.rl.place_cells import PlaceCells

__all__ = ["tmaze_optimal_values", "value_map_error", "self_correction", "noise_sweep", "random_walker",
           "AblationResult", "NoiseSweepResult", "bootstrap_ci", "watermaze_optimal_steps", "WaterMazeFloor",
           "ABLATION_DEFAULTS", "ABLATION_ARMS", "ablation_checkpoints", "check_noise_sweep_checkpoint"]

#: per task: episodes of one ablation run and the tail (last episodes) its final steps average over
ABLATION_DEFAULTS = {"tmaze": dict(n_episodes=200, tail=20), "watermaze": dict(n_episodes=3000, tail=500)}


def tmaze_optimal_values(gamma: float = 0.9) -> np.ndarray:
    """Values of the optimal policy on the rewarded path 0..6 under the reference convention (the reward is
    credited in the terminal state's own update, so V(6) = 1 and V(s) = gamma^(6 - s))."""
    check_positive(gamma, "gamma", allow_zero=True)
    if gamma > 1:   # 2 or NaN gave values above 1 or NaN, -1 alternating signs
        raise ValueError(f"gamma: expected a discount factor in [0, 1], got {gamma!r}")
    return gamma ** (TMaze.reward_state - np.arange(TMaze.reward_state + 1, dtype=float))


def value_map_error(critic_weights, gamma: float | None = None, task: str = "tmaze", *,
                    resolution: int = 25, target=None) -> np.ndarray:
    """Per-seed RMS error of the stored values against the optimal policy's values.

    T-maze (``gamma`` default 0.9): the states 0..6 of the rewarded path against :func:`tmaze_optimal_values`.
    Water maze (``gamma`` default 0.975): the value map ``V(s) = w . x(s)`` on the ``resolution`` x
    ``resolution`` grid of :meth:`ActorCritic.value_map`, free points off the platform only, against the exact
    optimal values ``gamma^(n*(s) - 1)`` (:func:`neuroflow.rl.optimal.watermaze_optimal_values`; ``n*`` is the
    fewest steps onto the platform). Even a perfect learner of its own softmax policy keeps an error here (its
    policy is not the optimal one and 121 place cells cannot draw the map exactly): compare arms, not zero.
    The optimal values lie above those of any softmax policy, so values raised by storage errors can score
    better than exact ones; ``target`` (a ``resolution`` x ``resolution`` map, e.g. the ideal learner's
    :attr:`MazeResult.value_map`) replaces the optimal values as the reference."""
    check_choice(task, "task", ["tmaze", "watermaze"])
    w = check_array(critic_weights, "critic_weights")
    w = w.reshape(-1, w.shape[-1]) if w.ndim else w.reshape(1, 1)
    if task == "tmaze":
        v = tmaze_optimal_values(0.9 if gamma is None else gamma)
        if w.shape[1] != TMaze.n_states:   # 5 weights ended in "operands could not be broadcast together"
            raise ValueError(f"critic_weights: expected {TMaze.n_states} T-maze weights per seed, got {w.shape[1]}")
        return np.sqrt(np.mean((w[:, : v.size] - v) ** 2, axis=1))
    v, mask = watermaze_optimal_values(0.975 if gamma is None else gamma, resolution)
    if target is not None:
        v = check_array(target, "target")
        if v.shape != mask.shape:
            raise ValueError(f"target: expected a {resolution} x {resolution} value map, got shape {v.shape}")
    enc = PlaceCells.grid()
    if w.shape[1] != enc.n_features:
        raise ValueError(f"critic_weights: expected {enc.n_features} water-maze weights per seed, got {w.shape[1]}")
    x = enc(WaterMaze.grid(resolution)[mask])                     # (n_points, n_features)
    return np.sqrt(np.mean((w @ x.T - v[mask]) ** 2, axis=1))


def _noisy_device(sigma: float) -> VCMDevice:
    return VCMDevice(sigma_set=sigma, sigma_reset=sigma, name=f"linear sigma={sigma:g}")


def bootstrap_ci(values, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``values`` (one value per seed; NaN values, seeds
    an interruption left unfinished, are left out: none left gives ``(nan, nan)``)."""
    v = check_array(values, "values", ndim=1, finite=False)   # a matrix was flattened, text was numpy's message
    if not is_number(level, finite=True) or not 0 < level < 1:   # 1 gave the range, NaN numpy's "Percentiles must"
        raise ValueError(f"level: expected a confidence level in (0, 1), got {level!r}")
    check_positive(n_boot, "n_boot", integer=True)   # 0 ended in IndexError
    rng = as_rng(seed)   # -1 was numpy's "expected non-negative integer", naming no argument
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    check_memory(16 * int(n_boot) * v.size, "n_boot")   # 1e12 ended in numpy's MemoryError
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(1)
    lo, hi = np.percentile(means, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


@dataclass
class AblationResult:
    """Closed loop (self-correcting) against open loop at the same device noise, on the same seeds.

    ``summary()`` gives, per arm, the mean over seeds of each seed's mean steps over the last ``tail`` episodes
    with a 95 % bootstrap interval over seeds, the median seed, the share of capped episodes in the tail, and
    the value-map error (:func:`value_map_error` of the task); ``difference`` is closed minus open, paired by
    seed (negative: the closed loop is better), with its interval; :meth:`window` compares earlier episodes."""

    closed: MazeResult
    open: MazeResult
    sigma: float | None
    tail: int

    def _tail_steps(self, r: MazeResult) -> np.ndarray:
        return np.nanmean(r.steps[:, -self.tail:], axis=1)

    def summary(self) -> dict:
        out = {}
        per = {}
        for name, r in (("closed_loop", self.closed), ("open_loop", self.open)):
            err = value_map_error(r.seed_critic_weights, r.params["gamma"], r.task)
            steps = self._tail_steps(r)
            per[name] = (steps, err)
            capped = r.steps[:, -self.tail:] >= r.params["max_steps"]
            out[name] = {"final_steps_mean": float(np.nanmean(steps)), "final_steps_ci95": bootstrap_ci(steps),
                         "final_steps_median_seed": float(np.nanmedian(steps)),
                         "capped_fraction_tail": float(np.mean(capped)),
                         "value_map_error_mean": float(err.mean()), "value_map_error_std": float(err.std()),
                         "value_map_error_ci95": bootstrap_ci(err), "steps_at_episode": r.at_episodes()}
        d_steps = per["closed_loop"][0] - per["open_loop"][0]
        d_err = per["closed_loop"][1] - per["open_loop"][1]
        out["difference"] = {"final_steps_mean": float(np.nanmean(d_steps)),
                             "final_steps_ci95": bootstrap_ci(d_steps), "value_map_error_mean": float(d_err.mean()),
                             "value_map_error_ci95": bootstrap_ci(d_err)}
        return out

    def window(self, start: int, stop: int) -> dict:
        """Mean steps over episodes ``start`` .. ``stop - 1`` (0-based) per arm, each with a 95 % bootstrap
        interval over seeds, and closed minus open paired by seed: how the arms compare earlier in learning."""
        n = self.closed.n_episodes
        # 0.5 ended in "slice indices must be integers", "0" in a TypeError of '<='
        if not is_integer(start) or not is_integer(stop) or not 0 <= start < stop <= n:
            raise ValueError(f"start, stop: expected 0 <= start < stop <= {n}, got {start}, {stop}")
        c = np.nanmean(self.closed.steps[:, start:stop], axis=1)
        o = np.nanmean(self.open.steps[:, start:stop], axis=1)
        return {"episodes": [int(start), int(stop)], "closed_loop": float(np.nanmean(c)),
                "closed_loop_ci95": bootstrap_ci(c), "open_loop": float(np.nanmean(o)),
                "open_loop_ci95": bootstrap_ci(o), "closed_minus_open": float(np.nanmean(c - o)),
                "closed_minus_open_ci95": bootstrap_ci(c - o)}

    @property
    def task(self) -> str:
        return self.closed.task

    @property
    def noise_label(self) -> str:
        """What the devices were: "write noise 5 %", "27 measured devices" or the device names."""
        if self.sigma is not None:
            return f"write noise {100 * self.sigma:g} %"
        dev = self.closed.params.get("device")
        if dev == "portner2025" or (isinstance(dev, list) and sorted(dev) == sorted(r[0] for r in _portner2025.DEVICES)):
            return "27 measured devices"
        return str(dev) if isinstance(dev, str) else f"{len(dev)} device(s) {', '.join(dev[:2])}" + \
            (", ..." if len(dev) > 2 else "")

    def to_dict(self) -> dict:
        return {"task": self.task, "sigma": self.sigma, "tail_episodes": self.tail, **self.summary(),
                "closed_steps_mean": self.closed.steps_mean, "open_steps_mean": self.open.steps_mean}


#: the arms of :func:`self_correction`: name (as in its summary) and synapse kind
ABLATION_ARMS = {"closed_loop": "memristor", "open_loop": "memristor-open-loop"}


def ablation_checkpoints(folder, task: str = "tmaze") -> dict:
    """The checkpoint file of each arm of :func:`self_correction` ``task`` in ``folder``, by arm name: where its
    finished seed batches are kept (``ablation_<task>_<arm>.npz``)."""
    return {arm: Path(folder) / f"ablation_{task}_{arm}.npz" for arm in ABLATION_ARMS}


def self_correction(sigma: float | None = 0.05, *, task: str = "tmaze", n_seeds: int = 200,
                    n_episodes: int | None = None, seed: int = 0, tail: int | None = None, progress: bool = False,
                    device=None, seed_batch: int | None = None, checkpoint=None, **agent_kwargs) -> AblationResult:
    """Memristive synapses with the TD error from the stored conductances (closed loop) against an ideal shadow
    copy (open loop, "no self-correction") in the T-maze or the water maze (``task``). ``sigma`` sets a linear
    device with that write noise; ``None`` uses ``device`` (default: the 27 measured devices, "portner2025"; a
    preset name, a :class:`VCMDevice` or a sequence of them). Both arms use the same seeds.
    ``n_episodes`` / ``tail`` default to :data:`ABLATION_DEFAULTS` of the task (T-maze 200 / 20, water maze
    3000 / 500). Ctrl-C in either arm raises KeyboardInterrupt (a half-run comparison means nothing).
    ``checkpoint`` (a folder): each arm keeps its finished seed batches there (``seed_batch`` seeds each, see
    :meth:`ActorCritic.fit`; :func:`ablation_checkpoints`) as they finish, so a rerun with the same settings resumes
    and gives the numbers of an uninterrupted run; a file there of other settings is refused (ValueError naming
    them). (An interrupted ablation lost both arms' work: the first arm's, however long, with the second's.)"""
    check_choice(task, "task", list(ABLATION_DEFAULTS))
    d = ABLATION_DEFAULTS[task]
    n_episodes = d["n_episodes"] if n_episodes is None else n_episodes
    tail = d["tail"] if tail is None else tail
    check_positive(n_episodes, "n_episodes", integer=True)
    check_positive(tail, "tail", integer=True)
    if sigma is not None and device is not None:
        raise ValueError("sigma, device: give a write noise for a linear device or a device, not both")
    if "synapse" in agent_kwargs:  # was ActorCritic's TypeError "got multiple values for keyword argument"
        raise ValueError(f"agent_kwargs synapse: the ablation runs both arms itself (memristor, memristor-open-loop); drop "
                         f"synapse={agent_kwargs['synapse']!r}")
    if sigma is None:
        device = "portner2025" if device is None else device
    else:
        check_positive(sigma, "sigma", allow_zero=True)
        if sigma > 1:   # was refused as "sigma_set: ..." by the device
            raise ValueError(f"sigma: expected a write noise of at most the whole range (1.0), got {sigma!r}")
        device = _noisy_device(float(sigma))
    files = {arm: None for arm in ABLATION_ARMS} if checkpoint is None else ablation_checkpoints(checkpoint, task)
    agents = {arm: ActorCritic(task, synapse=synapse, device=device, **agent_kwargs)
              for arm, synapse in ABLATION_ARMS.items()}
    for arm, agent in agents.items():   # every arm's file before any work: the open loop's was read only after the
        if files[arm] is not None:      # closed loop had run, and a file of other settings refused then
            agent.check_checkpoint(files[arm], n_episodes, n_seeds, seed, seed_batch=seed_batch)
    res = {}
    for arm, agent in agents.items():
        res[arm] = agent.fit(n_episodes, n_seeds, seed, progress=progress, seed_batch=seed_batch,
                             checkpoint=files[arm]).result_
        if res[arm].interrupted:   # a comparison needs both arms whole: stop here (the checkpoint keeps the batches)
            raise KeyboardInterrupt
    return AblationResult(closed=res["closed_loop"], open=res["open_loop"], sigma=sigma, tail=min(tail, n_episodes))


@dataclass
class NoiseSweepResult:
    """Self-correction ablation per write-noise level. Steps are the mean over seeds of the last ``tail``
    episodes; ``*_ci`` are 95 % bootstrap intervals over seeds, (n_sigmas, 2); ``steps_diff`` / ``error_diff``
    are closed minus open, paired by seed."""

    sigmas: np.ndarray
    closed_steps: np.ndarray      # mean steps over the last `tail` episodes, per sigma
    open_steps: np.ndarray
    closed_error: np.ndarray      # mean value-map error, per sigma
    open_error: np.ndarray
    time_s: float
    params: dict = field(default_factory=dict)
    closed_steps_ci: np.ndarray | None = None
    open_steps_ci: np.ndarray | None = None
    steps_diff: np.ndarray | None = None
    steps_diff_ci: np.ndarray | None = None
    error_diff: np.ndarray | None = None
    error_diff_ci: np.ndarray | None = None

    def to_dict(self) -> dict:
        return {"sigmas": self.sigmas, "closed_loop_final_steps": self.closed_steps,
                "open_loop_final_steps": self.open_steps, "closed_loop_value_error": self.closed_error,
                "open_loop_value_error": self.open_error, "closed_loop_final_steps_ci95": self.closed_steps_ci,
                "open_loop_final_steps_ci95": self.open_steps_ci, "steps_closed_minus_open": self.steps_diff,
                "steps_closed_minus_open_ci95": self.steps_diff_ci, "value_error_closed_minus_open": self.error_diff,
                "value_error_closed_minus_open_ci95": self.error_diff_ci, "time_s": self.time_s,
                "params": self.params}


_SWEEP_COLUMNS = 14


def _sweep_point(sigma, n_seeds, n_episodes, seed, tail, kwargs, task="tmaze"):
    ab = self_correction(sigma, task=task, n_seeds=n_seeds, n_episodes=n_episodes, seed=seed, tail=tail, **kwargs)
    s = ab.summary()
    c, o, d = s["closed_loop"], s["open_loop"], s["difference"]
    return (c["final_steps_mean"], o["final_steps_mean"], c["value_map_error_mean"], o["value_map_error_mean"],
            *c["final_steps_ci95"], *o["final_steps_ci95"], d["final_steps_mean"], *d["final_steps_ci95"],
            d["value_map_error_mean"], *d["value_map_error_ci95"])


def noise_sweep(sigmas=(0.0, 0.02, 0.04, 0.06, 0.08, 0.10), *, task: str = "tmaze", n_seeds: int = 200,
                n_episodes: int | None = None, seed: int = 0, tail: int | None = None, n_jobs: int = 1,
                scheduler: str | None = None, seed_batch: int | None = None, checkpoint=None,
                **agent_kwargs) -> NoiseSweepResult:
    """Self-correction ablation (:func:`self_correction`) for each write-noise level (fraction of the range),
    through :func:`neuroflow.parallel.parallel_map` (``n_jobs`` local processes, or a Dask ``scheduler``
    address); ``n_episodes`` / ``tail`` default to :data:`ABLATION_DEFAULTS` of the task. ``checkpoint`` (a folder
    the workers can reach): each level's arms keep their finished seed batches in ``sigma_<level>`` there, so a
    rerun with the same settings resumes them (:func:`self_correction`)."""
    check_choice(task, "task", list(ABLATION_DEFAULTS))
    n_episodes = ABLATION_DEFAULTS[task]["n_episodes"] if n_episodes is None else n_episodes
    tail = ABLATION_DEFAULTS[task]["tail"] if tail is None else tail
    sig = check_array(sigmas, "sigmas", ndim=1)
    if sig.size == 0:   # returned an empty result
        raise ValueError("sigmas: expected at least one noise level, got none")
    if np.any(sig < 0) or np.any(sig > 1):   # 2.0 failed inside its job, after the levels before it had run
        raise ValueError(f"sigmas: expected non-negative noise levels of at most the whole range (1.0), got "
                         f"{sig.tolist()}")
    check_noise_sweep_checkpoint(checkpoint, sig, task=task, n_seeds=n_seeds, n_episodes=n_episodes, seed=seed,
                                 seed_batch=seed_batch, **agent_kwargs)
    t0 = time.perf_counter()
    rows, interrupted = [], False

    def point_kwargs(s):   # where a level keeps its batches and how many seeds run together: not in params
        return {**agent_kwargs, "seed_batch": seed_batch, "checkpoint": _sweep_level_folder(checkpoint, s)}

    jobs = [(float(s), n_seeds, n_episodes, seed, tail, point_kwargs(float(s)), task) for s in sig]
    try:   # results are kept as they arrive, so an interruption keeps the finished levels
        parallel_map(_sweep_point, jobs, n_jobs=n_jobs, scheduler=scheduler, on_result=lambda i, r: rows.append(r))
    except KeyboardInterrupt:
        interrupted = True
    rows = np.array(rows, dtype=float).reshape(-1, _SWEEP_COLUMNS)
    return NoiseSweepResult(sigmas=sig[: len(rows)], closed_steps=rows[:, 0], open_steps=rows[:, 1],
                            closed_error=rows[:, 2], open_error=rows[:, 3], time_s=time.perf_counter() - t0,
                            params={"task": task, "n_seeds": n_seeds, "n_episodes": n_episodes, "seed": seed,
                                    "tail": tail, "n_jobs": n_jobs, "interrupted": interrupted, **agent_kwargs},
                            closed_steps_ci=rows[:, 4:6], open_steps_ci=rows[:, 6:8], steps_diff=rows[:, 8],
                            steps_diff_ci=rows[:, 9:11], error_diff=rows[:, 11], error_diff_ci=rows[:, 12:14])


def _sweep_level_folder(checkpoint, sigma: float):
    """Where :func:`noise_sweep` keeps the seed batches of noise level ``sigma`` (None: nowhere)."""
    return None if checkpoint is None else Path(checkpoint) / f"sigma_{float(sigma)!r}"


def check_noise_sweep_checkpoint(checkpoint, sigmas, *, task: str = "tmaze", n_seeds: int = 200,
                                 n_episodes: int | None = None, seed: int = 0, seed_batch: int | None = None,
                                 **agent_kwargs) -> None:
    """Raise the ValueError :func:`noise_sweep` with these arguments would raise on a file in ``checkpoint`` (each
    level's arms, :func:`ablation_checkpoints` in ``sigma_<level>``), running nothing: a level's files were read only
    when its turn came, so a file of other settings in the last level was refused after every level before it (and,
    in ``maze ablation --sweep``, the ablation itself) had run."""
    if checkpoint is None:
        return
    check_choice(task, "task", list(ABLATION_DEFAULTS))
    n_episodes = ABLATION_DEFAULTS[task]["n_episodes"] if n_episodes is None else n_episodes
    for s in check_array(sigmas, "sigmas", ndim=1):
        files = ablation_checkpoints(_sweep_level_folder(checkpoint, s), task)
        for arm, synapse in ABLATION_ARMS.items():
            agent = ActorCritic(task, synapse=synapse, device=_noisy_device(float(s)), **agent_kwargs)
            agent.check_checkpoint(files[arm], n_episodes, n_seeds, seed, seed_batch=seed_batch)


# ----------------------------------------------------------------------------- random walker
@njit(cache=True)
def _walk_watermaze(rng, n_episodes, max_steps, moves, step_len, half, radius, out):
    for s in range(rng.shape[0]):
        for e in range(n_episodes):
            while True:
                x = -half + 2.0 * half * rng_uniform(rng, s)
                y = -half + 2.0 * half * rng_uniform(rng, s)
                if not wm_blocked(x, y, half) and not wm_in_platform(x, y, radius):
                    break
            k = 0
            while k < max_steps:
                a = int(rng_uniform(rng, s) * moves.shape[0])
                x, y, r, done = wm_move(x, y, step_len * moves[a, 0], step_len * moves[a, 1], half, radius, 10)
                k += 1
                if done:
                    break
            out[s, e] = k


@njit(cache=True)
def _walk_tmaze(rng, n_episodes, max_steps, tmap, goal, out):
    for s in range(rng.shape[0]):
        for e in range(n_episodes):
            st, k = 0, 0
            while st != goal and k < max_steps:
                st = tmap[st, int(rng_uniform(rng, s) * tmap.shape[1])]
                k += 1
            out[s, e] = k


def random_walker(task: str = "watermaze", *, n_seeds: int = 100, n_episodes: int = 100, seed: int = 0,
                  max_steps: int = 100_000) -> dict:
    """Steps to the goal of an agent choosing actions uniformly at random (no step cap unless ``max_steps``)."""
    check_choice(task, "task", ["tmaze", "watermaze"])
    check_positive(n_seeds, "n_seeds", integer=True)
    check_positive(n_episodes, "n_episodes", integer=True)
    # max_steps 0 or -1 gave 0 steps (every episode "capped"), NaN and 1e30 int()'s errors; seed -1 numpy's
    # "expected non-negative integer"; 1e12 seeds numpy's MemoryError
    max_steps = check_max_steps(max_steps)
    seed = check_seed(seed)
    check_memory(8 * int(n_seeds) * (int(n_episodes) + 2), "n_seeds, n_episodes")
    out = np.zeros((n_seeds, n_episodes), np.int64)
    rng = seed_states(seed, n_seeds)
    if task == "watermaze":
        _walk_watermaze(rng, n_episodes, int(max_steps), WATERMAZE_MOVES, WaterMaze.step_length, WaterMaze.half_size,
                        WaterMaze.platform_radius, out)
    else:
        _walk_tmaze(rng, n_episodes, int(max_steps), TMAZE_TRANSITIONS, TMaze.reward_state, out)
    return {"task": task, "steps_mean": float(out.mean()), "steps_std": float(out.std()),
            "steps_median": float(np.median(out)), "capped_fraction": float((out >= max_steps).mean()),
            "n_seeds": n_seeds, "n_episodes": n_episodes, "max_steps": int(max_steps)}
