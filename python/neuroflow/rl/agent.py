"""Actor-critic TD(0) agent with ideal or memristive synapses, simulated for many seeds at once."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from neuroflow._utils import (as_rng, check_choice, check_memory, check_positive, check_seed, is_integer,
                              lock_beside_if_writable)
from neuroflow._utils import progress as _progress
from neuroflow.backend import get_backend
from neuroflow.memristor import _portner2025
from neuroflow.memristor.device import VCMDevice, device_digest, device_table, get_device, portner2025_roles
from neuroflow.memristor.kernels import MODE_CYCLE, MODE_IDEAL, MODE_MEAN, seed_states
from neuroflow.rl import kernels
from neuroflow.rl.envs import TMAZE_TRANSITIONS, WATERMAZE_MOVES, TMaze, WaterMaze
from neuroflow.rl.place_cells import PlaceCells
from neuroflow.rl.result import CAPPED_SCORING, CHECKPOINT_EPISODES, MazeResult
from neuroflow.rl.runs import default_seed_batch, load_checkpoint, memory_problem, save_checkpoint

__all__ = ["ActorCritic", "MazeResult", "SYNAPSES", "DEFAULTS", "CHECKPOINT_EPISODES", "CAPPED_SCORING"]

SYNAPSES = ("ideal", "memristor", "memristor-open-loop")

#: published settings (Portner et al. 2025 simulation code). T-maze: every non-zero update is written
#: (min_update 0) through the per-cycle device fits; water maze: on memristors |update| < 0.0025 (half a pulse)
#: is dropped, mean device model with per-device noise (ideal synapses take every update).
DEFAULTS = {
    "tmaze": dict(alpha=0.2, temperature=0.3, gamma=0.9, min_update=0.0, variability="cycle"),
    "watermaze": dict(alpha=0.04, temperature=0.15, gamma=0.975, min_update=0.0025, variability="device"),
}
_RULES = {"reference": 0, "softmax": 1}
_MODES = {"ideal": MODE_IDEAL, "device": MODE_MEAN, "cycle": MODE_CYCLE}


def _checkpoint_path(checkpoint) -> Path:
    """:meth:`ActorCritic.fit`'s ``checkpoint`` as a Path: a folder, '' (the current folder) or a path under a file is
    refused here, before it is read as a damaged checkpoint ("...; delete it") or written after the first batch."""
    from neuroflow.cliutil import check_output_file

    return check_output_file(checkpoint, "checkpoint")


def _task_of(env) -> str:
    if isinstance(env, str):
        return check_choice(env, "env", ["tmaze", "watermaze"])
    if isinstance(env, TMaze):
        return "tmaze"
    if isinstance(env, WaterMaze):
        return "watermaze"
    raise ValueError(f"env: expected 'tmaze', 'watermaze', a TMaze or a WaterMaze, got {env!r}")


#: the most steps an episode may be capped at (the kernels count steps in 64-bit integers; 1e9 takes hours)
MAX_EPISODE_STEPS = 10**9


def check_max_steps(max_steps) -> int:
    """An episode's step cap as an int in [1, :data:`MAX_EPISODE_STEPS`], else ValueError naming ``max_steps`` (0 gave
    every episode 0 steps, 1e20 numba's TypingError or int()'s OverflowError inside a kernel call)."""
    check_positive(max_steps, "max_steps", integer=True)
    if max_steps > MAX_EPISODE_STEPS:
        raise ValueError(f"max_steps: expected at most {MAX_EPISODE_STEPS:.0e} steps per episode (the published "
                         f"tasks cap at 300; one capped episode of more runs for hours), got {max_steps!r}")
    return int(max_steps)


class ActorCritic:
    """Actor-critic TD(0) learner: critic ``V = w . x``, actor ``h = theta^T x``, softmax policy with temperature T.

    ``synapse`` is "ideal" (exact weights), "memristor" (weights stored on emulated VCM devices; the TD error
    is computed from the stored conductances: closed loop, self-correcting) or "memristor-open-loop" (the
    learning rule works on an ideal shadow copy while the devices drift: no self-correction). Weights start at
    0 and stay in [0, 1]. Critic update ``dw = alpha delta x``; actor update on the taken action a:
    ``dtheta_ij = alpha delta x_i (1[j = a] - h_j)`` with the raw activation h (``actor_rule="reference"``, the
    rule of the published code and of all reference numbers) or with the policy pi_j (``"softmax"``, textbook).

    Defaults (``None``) are the published ones for the task: T-maze alpha 0.2, T 0.3, gamma 0.9, every update
    written, per-cycle device fits; water maze alpha 0.04, T 0.15, gamma 0.975, updates below 0.0025 (half a
    pulse) dropped on memristors, mean device model. ``device`` defaults to the 27 measured devices
    ("portner2025") with the published device-to-weight assignment. ``max_steps`` (the step cap of an episode)
    defaults to the cap of ``env`` when it is a :class:`TMaze` / :class:`WaterMaze` object, else 300.

    Open loop follows the published ``update_emulated_no_self_correction``: the shadow weight becomes
    ``clip(w_shadow + dw, 0, 1)`` and the device is programmed with the same ``dw`` from its own state (a SET
    request on a device at 1, or a RESET request at 0, does nothing); actions are read from the devices.
    """

    def __init__(self, env="tmaze", synapse: str = "ideal", device=None, *, alpha: float | None = None,
                 temperature: float | None = None, gamma: float | None = None, actor_rule: str = "reference",
                 min_update: float | None = None, variability: str | None = None, max_steps: int | None = None,
                 backend: str = "numpy"):
        self.task = _task_of(env)
        # an environment object's own cap was ignored: ActorCritic(TMaze(5)) ran episodes of up to 300 steps
        if max_steps is None:
            max_steps = 300 if isinstance(env, str) else env.max_steps
        elif not isinstance(env, str) and max_steps != env.max_steps:
            raise ValueError(f"max_steps, env: the environment caps episodes at {env.max_steps} steps, max_steps "
                             f"asks for {max_steps!r}; give one of them")
        self.env = env if not isinstance(env, str) else (TMaze(max_steps) if self.task == "tmaze"
                                                          else WaterMaze(max_steps))
        check_choice(synapse, "synapse", SYNAPSES)
        check_choice(actor_rule, "actor_rule", list(_RULES))
        d = DEFAULTS[self.task]
        self.synapse, self.actor_rule, self.backend = synapse, actor_rule, get_backend(backend)
        self.alpha = float(check_positive(d["alpha"] if alpha is None else alpha, "alpha"))
        if self.alpha > 1:   # a step size beyond 1 overshoots every TD target (and large ones overflow to NaN)
            raise ValueError(f"alpha: expected a learning rate in (0, 1], got {alpha!r}")
        self.temperature = float(check_positive(d["temperature"] if temperature is None else temperature,
                                                "temperature"))
        self.gamma = float(check_positive(d["gamma"] if gamma is None else gamma, "gamma", allow_zero=True))
        if self.gamma > 1:
            raise ValueError(f"gamma: expected a value in [0, 1], got {gamma!r}")
        if min_update is None:   # the half-pulse cut-off is a device constraint: ideal synapses take every update
            min_update = d["min_update"] if synapse != "ideal" else 0.0
        self.min_update = float(check_positive(min_update, "min_update", allow_zero=True))
        if self.min_update > 1:
            raise ValueError(f"min_update: expected a cut-off in [0, 1] (weights live in [0, 1]), got {min_update!r}")
        self.max_steps = check_max_steps(max_steps)
        self.encoder = PlaceCells.one_hot(TMaze.n_states) if self.task == "tmaze" else PlaceCells.grid()
        self.n_features = self.encoder.n_features
        self.n_actions = self.env.action_space.n
        if device is None:
            device = "portner2025" if synapse != "ideal" else "ideal"
        if isinstance(device, str):
            self._preset = device
            device = get_device(device)
        else:
            self._preset = None
        # device_table names a device that is no device (device=5 ended in "'int' object is not iterable")
        self.devices = (device,) if isinstance(device, VCMDevice) else tuple(device) \
            if isinstance(device, Iterable) else device
        self.table = device_table(self.devices)
        if variability is None:
            variability = d["variability"] if self.table.has_cycles else "device"
        check_choice(variability, "variability", list(_MODES))
        if variability == "cycle" and not self.table.has_cycles:
            raise ValueError("variability: 'cycle' needs devices with a cycles table (e.g. 'portner2025')")
        self.variability = variability
        self.read_noise = float(self.table.read_noise.max())
        self.dev_c, self.dev_a = self._assignment()

    # ------------------------------------------------------------------ device assignment
    def _assignment(self):
        n_dev = len(self.table)
        nf, na = self.n_features, self.n_actions
        measured = [row[0] for row in _portner2025.DEVICES]
        names = [d.name for d in self.devices]
        if sorted(names) == sorted(measured):   # the 27 measured devices (the preset or refits of their data)
            roles = portner2025_roles(self.task)
            index = {r: names.index(measured[i]) for i, r in enumerate(roles)}
            if self.task == "tmaze":
                dev_c = np.array([index[f"C{s}"] for s in range(nf)])
                dev_a = np.array([[index[f"A{s}_{a}"] for a in range(na)] for s in range(nf)])
            else:
                dev_c = np.array([index[f"C{i % 27}"] for i in range(nf)])
                # the published runs map actor weights to devices with a fixed random draw (seed 15)
                draw = np.random.RandomState(15).randint(0, 27, size=(nf, na))
                dev_a = np.vectorize(lambda k: index[f"C{k}"])(draw)
            return dev_c.astype(np.int64), dev_a.astype(np.int64)
        dev_c = np.arange(nf) % n_dev
        dev_a = (nf + np.arange(nf * na)).reshape(nf, na) % n_dev
        return dev_c.astype(np.int64), dev_a.astype(np.int64)

    # ------------------------------------------------------------------ kernel plumbing
    def _params(self) -> kernels.TDParams:
        synapse = SYNAPSES.index(self.synapse)
        mode = _MODES[self.variability] if synapse else MODE_IDEAL
        wm = self.task == "watermaze"
        return kernels.TDParams(
            alpha=self.alpha, gamma=self.gamma, temperature=self.temperature, min_update=self.min_update,
            read_noise=self.read_noise, actor_rule=_RULES[self.actor_rule], synapse=synapse, mode=mode,
            n_pulses=int(self.table.n_pulses), max_steps=self.max_steps, terminal=TMaze.reward_state,
            reward_state=TMaze.reward_state, start=TMaze.start_state, step_len=WaterMaze.step_length,
            pc_sigma=float(self.encoder.sigma) if wm else 0.75,
            pc_scale=float(self.encoder.scale) if wm else 1.0 / (0.75 * np.sqrt(2 * np.pi)),
            platform_r=WaterMaze.platform_radius, half=WaterMaze.half_size)

    def _devices(self) -> kernels.MazeDevices:
        t = self.table
        return kernels.MazeDevices(t.ab, t.sigma, t.cycles, self.dev_c, self.dev_a)

    def _new_state(self, rng_states, n_episodes) -> kernels.MazeState:
        n = rng_states.shape[0]
        nf, na = self.n_features, self.n_actions
        tmaze = self.task == "tmaze"
        st = kernels.MazeState(
            ep=np.zeros(n, np.int64), t=np.zeros(n, np.int64),
            pos=np.full(n, TMaze.start_state, np.int64) if tmaze else np.zeros((n, 2)), rew=np.zeros(n),
            feat=np.zeros((n, 0 if tmaze else nf)), wc=np.zeros((n, nf)), wa=np.zeros((n, nf, na)),
            wc_sh=np.zeros((n, nf)), wa_sh=np.zeros((n, nf, na)),
            cstate=np.zeros((n, nf * (1 + na), 4), np.int64), rng=rng_states.copy(),
            steps_out=np.zeros((n, n_episodes), np.int64), counts_out=np.zeros((n, n_episodes, kernels.N_COUNTS),
                                                                                np.int64))
        st.cstate[..., 0] = -1
        st.cstate[..., 2] = 1
        return st

    def _args(self, e_end, st):
        env = (TMAZE_TRANSITIONS,) if self.task == "tmaze" else (self.encoder.centres, WATERMAZE_MOVES)
        return (int(e_end), self._params(), *env, self._devices(), st)

    def _advance(self, e_end, st):
        # one call steps every seed to e_end (inside Julia with the Julia backend)
        self.backend.td_run(self.task, *self._args(e_end, st))

    def _check_state(self, st, e_end) -> int:
        """``st`` as :meth:`init_state` of this agent makes it, and ``e_end`` within its episodes: an ``e_end``
        beyond them let the kernels write episode lengths and counts past the state's arrays (memory not
        theirs, silently), a water-maze state (or none) in a T-maze agent ended in numba's many-line TypingError."""
        if not isinstance(st, kernels.MazeState):
            raise ValueError(f"st: expected the MazeState of this agent's init_state(), got {type(st).__name__}")
        n = st.ep.shape[0] if isinstance(st.ep, np.ndarray) and st.ep.ndim == 1 else -1
        nf, na = self.n_features, self.n_actions
        tmaze = self.task == "tmaze"
        want = {"ep": ((n,), np.int64), "t": ((n,), np.int64), "pos": ((n,) if tmaze else (n, 2), np.int64 if tmaze
                                                                       else np.float64),
                "rew": ((n,), np.float64), "feat": ((n, 0 if tmaze else nf), np.float64),
                "wc": ((n, nf), np.float64), "wa": ((n, nf, na), np.float64), "wc_sh": ((n, nf), np.float64),
                "wa_sh": ((n, nf, na), np.float64), "cstate": ((n, nf * (1 + na), 4), np.int64),
                "rng": ((n,), np.uint64)}
        for field_name, (shape, dtype) in want.items():
            a = getattr(st, field_name)
            if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype != dtype:
                got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                raise ValueError(f"st: {field_name}: expected {np.dtype(dtype)} {shape} (the state of this "
                                 f"{self.task} agent's init_state()), got {got}")
        out = st.steps_out
        if not isinstance(out, np.ndarray) or out.dtype != np.int64 or out.ndim != 2 or out.shape[0] != n:
            raise ValueError(f"st: steps_out: expected int64 ({n}, n_episodes), the state of init_state()")
        n_ep = out.shape[1]
        c = st.counts_out
        if not isinstance(c, np.ndarray) or c.dtype != np.int64 or c.shape != (n, n_ep, kernels.N_COUNTS):
            raise ValueError(f"st: counts_out: expected int64 {(n, n_ep, kernels.N_COUNTS)}, the state of init_state()")
        if not is_integer(e_end) or not 0 <= e_end <= n_ep:
            raise ValueError(f"e_end: expected an integer in [0, {n_ep}] (the state holds {n_ep} episodes), got "
                             f"{e_end!r}")
        return int(e_end)

    def td_step(self, st, e_end):
        """One batched TD step of every seed whose episode index is below ``e_end`` (state from
        :meth:`init_state`, ``e_end`` at most its episodes); the unit the Julia ``td_step!`` mirrors."""
        e_end = self._check_state(st, e_end)
        self.backend.td_step(self.task, *self._args(e_end, st))

    def init_state(self, n_seeds: int, n_episodes: int, seed: int = 0) -> kernels.MazeState:
        """Fresh per-seed simulation state (weights at 0, devices at G0, cycle not drawn yet), a
        :class:`neuroflow.rl.kernels.MazeState` of arrays updated in place by :meth:`td_step`."""
        # as fit checks them: 0 seeds gave an empty state, seed=-1 numpy's "expected non-negative integer"
        n_seeds = int(check_positive(n_seeds, "n_seeds", integer=True))
        n_episodes = int(check_positive(n_episodes, "n_episodes", integer=True))
        seed = check_seed(seed)
        problem = memory_problem(self.task, n_seeds, n_episodes)
        if problem:
            raise ValueError(f"n_seeds, n_episodes: {n_seeds} seeds x {n_episodes} episodes {problem}")
        return self._new_state(seed_states(seed, n_seeds), n_episodes)

    # ------------------------------------------------------------------ learning
    def fit(self, n_episodes: int, n_seeds: int = 1, seed: int = 0, *, progress: bool = True,
            seed_batch: int | None = None, chunk: int | None = None, checkpoint: str | Path | None = None,
            first_seed: int = 0) -> "ActorCritic":
        """Train ``n_seeds`` independent agents for ``n_episodes`` each (all seeds of a batch step together);
        the outcome is :attr:`result_` (a :class:`MazeResult`), the weights ``critic_weights_`` /
        ``actor_weights_``. Returns ``self``.

        Seed ``i`` always uses the i-th stream derived from ``seed``, so results do not depend on
        ``seed_batch``/``chunk`` or on threads; ``first_seed`` starts at agent ``first_seed`` of that family
        (a slice of a larger run: the agents of ``fit(.., n_seeds=k, first_seed=j)`` are rows ``j .. j + k - 1`` of
        ``fit(.., n_seeds=j + k)``). ``seed_batch`` defaults to as many seeds as fit in about
        64 MiB of per-batch state. A request whose arrays cannot fit in the available memory is refused before
        any work. Ctrl-C keeps what finished (``interrupted=True``; unfinished entries are NaN). ``checkpoint``
        (an ``.npz`` path) saves the finished seed batches after each one; a run with the same settings resumes
        from it and gives the numbers of an uninterrupted run."""
        n_episodes, n_seeds, seed, seed_batch, first_seed = self._fit_args(n_episodes, n_seeds, seed, seed_batch,
                                                                           first_seed)
        chunk = max(1, n_episodes // 50) if chunk is None else int(check_positive(chunk, "chunk", integer=True))
        streams = seed_states(seed, first_seed + n_seeds)[first_seed:]
        steps = np.full((n_seeds, n_episodes), np.nan)
        wc = np.zeros((n_seeds, self.n_features))
        wa = np.zeros((n_seeds, self.n_features, self.n_actions))
        counts = np.zeros((n_episodes, kernels.N_COUNTS), np.int64)   # summed over the seeds that finished
        done_seeds = np.zeros(n_seeds, bool)
        key = self._checkpoint_key(n_episodes, n_seeds, seed, seed_batch, first_seed)
        guard = contextlib.nullcontext()
        if checkpoint is not None:
            checkpoint = _checkpoint_path(checkpoint)
            # one run at a time per checkpoint: two runs with other settings saved over each other's batches (each
            # then refused to resume the other's file), the promise of a checkpoint broken without a word
            guard = lock_beside_if_writable(checkpoint, f"checkpoint: {checkpoint} is being written by another run "
                                                        "(pid {pid}); wait for it to end or use another path")
        with guard:
            if checkpoint is not None and checkpoint.exists():
                steps, wc, wa, counts, done_seeds = load_checkpoint(checkpoint, key, steps, wc, wa, counts)
            interrupted = False
            t0 = time.perf_counter()
            bar = _progress(total=n_seeds * n_episodes, enabled=progress, desc=f"{self.task} {self.synapse}",
                            unit="seed-ep", initial=int(done_seeds.sum()) * n_episodes)
            try:
                for lo in range(0, n_seeds, seed_batch):
                    # the seeds of this batch a checkpoint has not finished (all of them, unless it was written with
                    # another seed batch: seeds are independent streams, so a resume may batch them otherwise)
                    todo = lo + np.flatnonzero(~done_seeds[lo:min(n_seeds, lo + seed_batch)])
                    if todo.size == 0:
                        continue
                    st = self._new_state(streams[todo], n_episodes)
                    done = 0
                    try:
                        while done < n_episodes:
                            e_end = min(n_episodes, done + chunk)
                            self._advance(e_end, st)
                            bar.update(todo.size * (e_end - done))
                            done = e_end
                    finally:
                        finished = int(st.ep.min())
                        steps[todo, :finished] = st.steps_out[:, :finished]
                        counts[:finished] += st.counts_out[:, :finished].sum(0)
                        wc[todo], wa[todo] = st.wc, st.wa
                    done_seeds[todo] = True
                    if checkpoint is not None:
                        save_checkpoint(checkpoint, key, steps, wc, wa, counts, done_seeds)
            except KeyboardInterrupt:
                interrupted = True
            finally:
                bar.close()
        elapsed = time.perf_counter() - t0
        self.critic_weights_, self.actor_weights_, self.steps_ = wc, wa, steps
        ran = self._ran()
        self.result_ = MazeResult(task=self.task, synapse=self.synapse, steps=steps, value_map=self.value_map(),
                                  critic_weights=wc[ran].mean(0), actor_weights=wa[ran].mean(0), time_s=elapsed,
                                  seed=seed, params=self.get_params(), interrupted=interrupted,
                                  seed_critic_weights=wc, op_counts=counts)
        return self

    def _fit_args(self, n_episodes, n_seeds, seed, seed_batch, first_seed) -> tuple:
        """:meth:`fit`'s counts checked (n_episodes, n_seeds, seed, seed_batch, first_seed), the seed batch's
        default filled in."""
        # numpy integers as Python ints: an np.int64 count ended in json's TypeError writing the checkpoint key
        n_episodes = int(check_positive(n_episodes, "n_episodes", integer=True))
        n_seeds = int(check_positive(n_seeds, "n_seeds", integer=True))
        seed = check_seed(seed)
        first_seed = int(check_positive(first_seed, "first_seed", integer=True, allow_zero=True))
        # the streams of agents 0 .. first_seed + n_seeds - 1 are drawn to keep the agents of a slice those of the
        # whole family (16 bytes each while drawn): 1e20 ended in numpy's 'Maximum allowed dimension exceeded'
        check_memory(16 * (first_seed + int(n_seeds)), "first_seed, n_seeds")
        problem = memory_problem(self.task, n_seeds, n_episodes)
        if problem:
            raise ValueError(f"n_seeds, n_episodes: {n_seeds} seeds x {n_episodes} episodes {problem}")
        seed_batch = default_seed_batch(self.task, n_seeds, n_episodes) if seed_batch is None else \
            int(check_positive(seed_batch, "seed_batch", integer=True))
        return n_episodes, n_seeds, seed, seed_batch, first_seed

    def check_checkpoint(self, checkpoint: str | Path, n_episodes: int, n_seeds: int = 1, seed: int = 0, *,
                         seed_batch: int | None = None, first_seed: int = 0) -> None:
        """Raise the ValueError :meth:`fit` with these arguments would raise on ``checkpoint`` (a folder there, a
        damaged file, one of other settings), without running anything or writing: a caller that runs several fits
        checks each one's checkpoint before the first starts (a refusal after hours of another fit's work)."""
        n_episodes, n_seeds, seed, seed_batch, first_seed = self._fit_args(n_episodes, n_seeds, seed, seed_batch,
                                                                           first_seed)
        path = _checkpoint_path(checkpoint)
        if path.exists():
            key = self._checkpoint_key(n_episodes, n_seeds, seed, seed_batch, first_seed)
            nf, na = self.n_features, self.n_actions
            load_checkpoint(path, key, np.empty((n_seeds, n_episodes)), np.empty((n_seeds, nf)),
                            np.empty((n_seeds, nf, na)), np.empty((n_episodes, kernels.N_COUNTS), np.int64))

    def _checkpoint_key(self, n_episodes, n_seeds, seed, seed_batch, first_seed) -> str:
        import json

        # devices other than a preset are named by their names and by a hash of their fields: a device file
        # refitted under the same names resumed the batches of the old devices as if they were its own
        digest = {} if self._preset is not None else {"device_digest": device_digest(self.devices)}
        return json.dumps({"task": self.task, "synapse": self.synapse, **self.get_params(), "n_episodes": n_episodes,
                           "n_seeds": n_seeds, "seed": seed, "seed_batch": seed_batch, "first_seed": first_seed,
                           **digest}, sort_keys=True)

    def get_params(self) -> dict:
        return {"alpha": self.alpha, "temperature": self.temperature, "gamma": self.gamma,
                "actor_rule": self.actor_rule, "min_update": self.min_update, "variability": self.variability,
                "device": self._preset or [d.name for d in self.devices], "max_steps": self.max_steps}

    # ------------------------------------------------------------------ after fit
    def _fitted(self):
        if not hasattr(self, "critic_weights_"):
            raise ValueError("this ActorCritic is not fitted yet: call fit() first")

    def _ran(self) -> np.ndarray:
        """Seeds that learned (finished an episode); all seeds when none did. An interrupted run's seeds that never
        started keep their initial weights (0): averaged in, they pulled its value map towards 0 (a third of the
        seeds run: V of the goal 0.33 instead of 1), while its step curves leave them out."""
        ran = np.isfinite(self.steps_).any(1)
        return ran if ran.any() else np.ones_like(ran)

    def value_map(self, resolution: int = 25) -> np.ndarray:
        """Mean over seeds (those that finished an episode, where a run was interrupted) of the learned value: per
        state (T-maze) or on a resolution^2 grid over the arena (water maze, rows = y from -6 to 6, columns = x)."""
        self._fitted()
        w = self.critic_weights_[self._ran()].mean(0)
        if self.task == "tmaze":
            return w.copy()
        resolution = int(check_positive(resolution, "resolution", integer=True))   # 0 gave an empty map
        check_memory(8 * resolution ** 2 * (4 + self.n_features), "resolution")   # 1e6: numpy's MemoryError
        return (self.encoder(WaterMaze.grid(resolution)) @ w).reshape(resolution, resolution)

    def _seed_index(self, seed_index) -> int:
        """``seed_index`` checked against the fitted seeds: 5 of 3 ended in IndexError, -1 took the last seed."""
        n = self.actor_weights_.shape[0]
        if not is_integer(seed_index) or not 0 <= seed_index < n:
            raise ValueError(f"seed_index: expected an integer in [0, {n - 1}] (one of the {n} fitted seeds), got "
                             f"{seed_index!r}")
        return int(seed_index)

    def policy(self, obs, seed_index: int = 0) -> np.ndarray:
        """Action probabilities of the stored actor weights of one seed."""
        self._fitted()
        h = self.encoder(obs) @ self.actor_weights_[self._seed_index(seed_index)]
        z = np.exp((h - h.max(-1, keepdims=True)) / self.temperature)
        return z / z.sum(-1, keepdims=True)

    def rollout(self, n_episodes: int = 1, seed=None, seed_index: int = 0) -> list[np.ndarray]:
        """Trajectories of the learned policy (no learning) in a fresh environment, via the Gym API."""
        self._fitted()
        n_episodes = int(check_positive(n_episodes, "n_episodes", integer=True, allow_zero=True))
        check_memory(16 * n_episodes * (self.max_steps + 1), "n_episodes")   # each path: up to max_steps + 1 states
        self._seed_index(seed_index)
        rng = as_rng(seed)   # seed=-1 was numpy's "expected non-negative integer"
        env = TMaze(self.max_steps) if self.task == "tmaze" else WaterMaze(self.max_steps)
        out = []
        for _ in range(n_episodes):
            obs, _ = env.reset(seed=int(rng.integers(2**31)))
            path = [obs]
            done = False
            while not done:
                a = int(rng.choice(self.n_actions, p=self.policy(obs, seed_index)))
                obs, _, term, trunc, _ = env.step(a)
                path.append(obs)
                done = term or trunc
            out.append(np.array(path))
        return out
