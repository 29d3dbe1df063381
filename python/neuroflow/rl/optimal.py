"""Exact shortest paths in the water maze, the optimal value map and the floor of a softmax policy.

The water-maze moves are deterministic, so the fewest steps from a position to the platform is found exactly by
breadth-first search over move sequences: level k holds every position reachable in k moves, and positions
reached by several sequences are kept once (they are merged when they agree to 1e-7, far above the rounding of
the different summation orders (1e-14); merging identical positions is exact because the future from a position does
not depend on how it was reached). The first level at which a move touches the platform (the same 10-point
check as the environment, the step onto the platform counted) is the optimal number of steps ``n*(s)``.

From ``n*`` follow

* the optimal value map under the learning convention of the agent (reward 1 credited on the step onto the
  platform, V = 0 after it): ``V*(s) = gamma^(n*(s) - 1)``, used as the target of the water-maze value-map
  error in the self-correction ablation;
* the best action of every place cell: the move with the lowest mean ``1 + n*(s')`` over positions drawn from
  that cell's Gaussian field (free positions only), i.e. the greedy action of the field it covers;
* an estimate of the floor of the agent's policy class, softmax(h / T) with ``h = theta^T x(s)`` and actor
  weights in [0, 1]: starting from weight 1 on every cell's greedy move (which alone gets trapped at walls), a
  coordinate search over each cell's row of weights (first in {0, 1}, then in multiples of 0.25) scored on
  fresh starts. The search is local, so the result bounds the true floor from above.

(Over 400 lines on purpose: the exact search and the softmax-policy search share the geometry, the rollouts and
the start sampling, and together they are one result, the floor.)
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numba import njit, prange

from neuroflow._utils import check_array, check_choice, check_memory, check_positive, check_seed
from neuroflow._utils import progress as _progress
from neuroflow.memristor.kernels import rng_uniform, seed_states
from neuroflow.rl.agent import check_max_steps
from neuroflow.rl.envs import WATERMAZE_MOVES, WaterMaze
from neuroflow.rl.kernels import place_features, wm_blocked, wm_in_platform, wm_move
from neuroflow.rl.place_cells import PlaceCells

__all__ = ["watermaze_steps_to_goal", "watermaze_optimal_values", "watermaze_greedy_actions",
           "softmax_policy_steps", "search_softmax_policy", "sample_starts", "watermaze_optimal_steps",
           "WaterMazeFloor"]

_QUANT = 1e7   # positions that agree to 1e-7 are one search node


@njit(cache=True)
def _lower_bound(x, y, step_len, radius):
    """Admissible bound on the moves left: every move advances at most ``step_len`` and the platform counts as
    reached within ``radius``."""
    v = (math.sqrt(x * x + y * y) - radius) / step_len
    return max(0, int(math.ceil(v - 1e-9)))


@njit(cache=True)
def _bfs_bounded(x0, y0, moves, step_len, half, radius, bound, prune):
    """Breadth-first search to depth ``bound``; with ``prune``, positions from which the platform cannot be
    reached within ``bound`` moves (:func:`_lower_bound`) are skipped. Returns the fewest moves, or -1 if more
    than ``bound``."""
    seen = {np.int64(0)}
    seen.clear()
    fx = np.empty(1)
    fy = np.empty(1)
    fx[0], fy[0] = x0, y0
    for depth in range(1, bound + 1):
        nxs = np.empty(fx.size * moves.shape[0])
        nys = np.empty(fx.size * moves.shape[0])
        m = 0
        for i in range(fx.size):
            for a in range(moves.shape[0]):
                nx, ny, _, done = wm_move(fx[i], fy[i], step_len * moves[a, 0], step_len * moves[a, 1], half,
                                          radius, 10)
                if done:
                    return depth
                if prune and depth + _lower_bound(nx, ny, step_len, radius) > bound:
                    continue
                key = np.int64(round((nx + half) * _QUANT)) * np.int64(200_000_000) + \
                    np.int64(round((ny + half) * _QUANT))
                if key not in seen:
                    seen.add(key)
                    nxs[m] = nx
                    nys[m] = ny
                    m += 1
        if m == 0:
            return -1
        fx = nxs[:m].copy()
        fy = nys[:m].copy()
    return -1


@njit(cache=True)
def _bfs_steps(x0, y0, moves, step_len, half, radius, max_depth):
    """Fewest moves from (x0, y0) onto the platform (exact); -1 if more than ``max_depth`` are needed. Iterative
    deepening of the bounded search: the first bound at which it finds the platform is the optimum, because
    every path of at most ``bound`` moves passes the bound test at each of its positions."""
    for bound in range(max(1, _lower_bound(x0, y0, step_len, radius)), max_depth + 1):
        n = _bfs_bounded(x0, y0, moves, step_len, half, radius, bound, True)
        if n > 0:
            return n
    return -1


@njit(cache=True)
def _bfs_plain(x0, y0, moves, step_len, half, radius, max_depth):
    """The same search without the bound (for checks): every position reachable in k moves, level by level."""
    return _bfs_bounded(x0, y0, moves, step_len, half, radius, max_depth, False)


@njit(cache=True, parallel=True)
def _bfs_many(points, moves, step_len, half, radius, max_depth, out):
    for i in prange(points.shape[0]):
        out[i] = _bfs_steps(points[i, 0], points[i, 1], moves, step_len, half, radius, max_depth)


def _positions(points, name: str) -> np.ndarray:
    """``points`` as a C-contiguous (n, 2) array of finite positions (one (2,) position too), or ValueError naming
    ``name``: a (3,) array was "cannot reshape array of size 3 into shape (2)", a NaN position counted as a wall."""
    pts = check_array(points, name)
    if pts.ndim not in (1, 2) or pts.shape[-1] != 2:
        raise ValueError(f"{name}: expected (x, y) positions, shape (n, 2) or (2,), got shape {pts.shape}")
    return np.ascontiguousarray(pts.reshape(-1, 2))


def _free_starts(starts, name: str = "starts") -> np.ndarray:
    """``_positions`` of starts, each free (not in a wall, outside the arena or on the platform)."""
    st = _positions(starts, name)
    for i, (x, y) in enumerate(st):   # a start in a wall (or NaN) was walked for max_steps steps, counted as capped
        if wm_blocked(x, y, WaterMaze.half_size) or wm_in_platform(x, y, WaterMaze.platform_radius):
            raise ValueError(f"{name}[{i}]: {[float(x), float(y)]} lies inside a wall, outside the arena or on the "
                             "platform; expected a free start (see sample_starts)")
    return st


def _grid_encoder(encoder) -> PlaceCells:
    """The place cells of a policy (default the agent's 11 x 11 grid): 5 or a one-hot encoder ended in
    AttributeError ('int' object has no attribute 'n_features', no attribute 'sigma')."""
    if encoder is None:
        return PlaceCells.grid()
    if not isinstance(encoder, PlaceCells) or encoder.kind != "grid":
        raise ValueError(f"encoder: expected grid place cells (PlaceCells.grid(...)) or None, got {encoder!r}")
    return encoder


def _theta(theta, enc: PlaceCells, name: str) -> np.ndarray:
    """Actor weights (n_features, 8), finite: a (3, 8) array in the search corrupted the heap (the kernels index
    ``theta`` by place cell without bounds checks: "corrupted size vs. prev_size", an abort); NaN weights gave
    every start the cap."""
    want = (enc.n_features, WATERMAZE_MOVES.shape[0])
    th = check_array(theta, name)
    if th.shape != want:
        raise ValueError(f"{name}: expected shape {want}, got {th.shape}")
    return np.ascontiguousarray(th)


def watermaze_steps_to_goal(points, *, max_depth: int = 40) -> np.ndarray:
    """Exact fewest steps from each free position (rows of ``points``, (n, 2)) onto the platform; 0 for a
    position on the platform, -1 for one inside a wall or needing more than ``max_depth`` steps."""
    pts = _positions(points, "points")
    check_positive(max_depth, "max_depth", integer=True)
    out = np.full(pts.shape[0], -1, np.int64)
    free = np.array([not wm_blocked(x, y, WaterMaze.half_size) for x, y in pts], dtype=bool)
    on = np.array([wm_in_platform(x, y, WaterMaze.platform_radius) for x, y in pts], dtype=bool)
    idx = np.flatnonzero(free & ~on)
    res = np.empty(idx.size, np.int64)
    _bfs_many(pts[idx], WATERMAZE_MOVES, WaterMaze.step_length, WaterMaze.half_size, WaterMaze.platform_radius,
              int(min(max_depth, 2**31)), res)   # 1e308 was int64's OverflowError; no start needs 2**31 moves
    out[idx] = res
    out[free & on] = 0
    return out


@lru_cache(maxsize=8)
def _optimal_grid(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    pts = WaterMaze.grid(resolution).reshape(-1, 2)
    return pts, watermaze_steps_to_goal(pts)


def watermaze_optimal_values(gamma: float = 0.975, resolution: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Optimal values ``gamma^(n*(s) - 1)`` on the ``resolution`` x ``resolution`` grid of the value map (rows = y
    from -6 to 6, columns = x) and the mask of grid points that count (free, off the platform). The agent's
    convention credits the reward on the step onto the platform, so one step away V* = 1."""
    check_positive(gamma, "gamma")
    if gamma > 1:   # values would grow with the distance to the platform
        raise ValueError(f"gamma: expected a discount factor in (0, 1], got {gamma!r}")
    check_positive(resolution, "resolution", integer=True)
    check_memory(64 * int(resolution) ** 2, "resolution")   # 1e6 ended in numpy's MemoryError (7.3 TiB)
    pts, n = _optimal_grid(int(resolution))
    mask = n > 0
    v = np.where(mask, float(gamma) ** (np.maximum(n, 1) - 1.0), np.nan)
    return v.reshape(resolution, resolution), mask.reshape(resolution, resolution)


def _field_samples(centre, sigma, n, rng):
    out = []
    while len(out) < n:
        p = centre + sigma * rng.standard_normal(2)
        if not wm_blocked(p[0], p[1], WaterMaze.half_size) and not wm_in_platform(p[0], p[1],
                                                                                   WaterMaze.platform_radius):
            out.append(p)
    return np.array(out)


def watermaze_greedy_actions(n_samples: int = 16, seed: int = 0, encoder: PlaceCells | None = None
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Best move of each place cell: the action with the lowest mean ``1 + n*(s')`` over ``n_samples`` free
    positions drawn from the cell's Gaussian field (``n*(s') = 0`` when the move reaches the platform).
    Returns the actions (n_cells,) and the mean action costs (n_cells, 8)."""
    check_positive(n_samples, "n_samples", integer=True)
    enc = _grid_encoder(encoder)
    # samples and their eight moves: 1e12 drew positions one by one for ever
    check_memory(16 * 10 * enc.n_features * int(n_samples), "n_samples")
    rng = np.random.default_rng(check_seed(seed))
    samples = np.concatenate([_field_samples(c, enc.sigma, n_samples, rng) for c in enc.centres])
    nxt, done = [], []
    for a in range(WATERMAZE_MOVES.shape[0]):
        d = WaterMaze.step_length * WATERMAZE_MOVES[a]
        moved = [wm_move(x, y, d[0], d[1], WaterMaze.half_size, WaterMaze.platform_radius, 10) for x, y in samples]
        nxt.append([(m[0], m[1]) for m in moved])
        done.append([m[3] for m in moved])
    nxt = np.array(nxt).reshape(-1, 2)
    done = np.array(done).reshape(-1)
    rest = np.zeros(nxt.shape[0])
    rest[~done] = watermaze_steps_to_goal(nxt[~done])
    cost = (1.0 + rest).reshape(WATERMAZE_MOVES.shape[0], enc.n_features, n_samples).mean(-1).T
    return np.argmin(cost, axis=1), cost


@njit(cache=True)
def _rollout(i, x, y, theta, temperature, centres, pc_sigma, pc_scale, moves, step_len, half, radius, max_steps,
             rng):
    """Steps of one softmax episode from (x, y) on stream ``i`` (each start has its own stream, so results do
    not depend on the order or the threads the starts run on)."""
    n_feat, n_act = theta.shape
    feat = np.empty(n_feat)
    h = np.empty(n_act)
    k = 0
    while k < max_steps:
        place_features(x, y, centres, pc_sigma, pc_scale, feat)
        for j in range(n_act):
            h[j] = 0.0
        for f in range(n_feat):
            if feat[f] > 0.0:
                for j in range(n_act):
                    h[j] += feat[f] * theta[f, j]
        hm = h.max()
        tot = 0.0
        for j in range(n_act):
            h[j] = math.exp((h[j] - hm) / temperature)
            tot += h[j]
        u = rng_uniform(rng, i) * tot
        a, acc = n_act - 1, 0.0
        for j in range(n_act):
            acc += h[j]
            if u < acc:
                a = j
                break
        x, y, _, done = wm_move(x, y, step_len * moves[a, 0], step_len * moves[a, 1], half, radius, 10)
        k += 1
        if done:
            break
    return k


@njit(cache=True)
def _rollouts_serial(starts, theta, temperature, centres, pc_sigma, pc_scale, moves, step_len, half, radius,
                     max_steps, rng, out):
    for i in range(starts.shape[0]):
        out[i] = _rollout(i, starts[i, 0], starts[i, 1], theta, temperature, centres, pc_sigma, pc_scale, moves,
                          step_len, half, radius, max_steps, rng)


@njit(cache=True, parallel=True)
def _rollouts_parallel(starts, theta, temperature, centres, pc_sigma, pc_scale, moves, step_len, half, radius,
                       max_steps, rng, out):
    for i in prange(starts.shape[0]):
        out[i] = _rollout(i, starts[i, 0], starts[i, 1], theta, temperature, centres, pc_sigma, pc_scale, moves,
                          step_len, half, radius, max_steps, rng)


#: from this many starts on, rollouts run on numba's threads (fewer: thread start-up costs more than it saves)
_PARALLEL_STARTS = 512


def _softmax_rollouts(starts, *args):
    (_rollouts_parallel if starts.shape[0] >= _PARALLEL_STARTS else _rollouts_serial)(starts, *args)


def softmax_policy_steps(theta, starts, *, temperature: float = 0.15, seed: int = 0, max_steps: int = 300,
                         encoder: PlaceCells | None = None) -> np.ndarray:
    """Steps to the platform of the fixed softmax policy ``softmax(theta^T x(s) / T)`` from each start (rows),
    one episode per start, no learning; capped episodes count as ``max_steps``."""
    enc = _grid_encoder(encoder)
    th = _theta(theta, enc, "theta")
    check_positive(temperature, "temperature")
    max_steps = check_max_steps(max_steps)
    seed = check_seed(seed)
    st = _free_starts(starts)
    out = np.zeros(st.shape[0], np.int64)
    _softmax_rollouts(st, th, float(temperature), enc.centres, enc.sigma, enc.scale, WATERMAZE_MOVES,
                      WaterMaze.step_length, WaterMaze.half_size, WaterMaze.platform_radius, int(max_steps),
                      seed_states(seed, st.shape[0]), out)
    return out


def sample_starts(n: int, seed: int = 0) -> np.ndarray:
    """``n`` start positions drawn like the environment's: uniform over the arena, outside walls and platform."""
    check_positive(n, "n", integer=True)
    check_memory(32 * int(n), "n")   # 1e12 drew starts one by one for hours
    rng = np.random.default_rng(check_seed(seed))
    env = WaterMaze()
    return np.array([env.sample_start(rng) for _ in range(int(n))])


def _candidate_rows(n_act: int) -> np.ndarray:
    """Actor-weight rows a place cell may take in the floor search: all zero, or weight 1 on an arc of 1, 2 or 3
    neighbouring moves (0 elsewhere)."""
    rows = [np.zeros(n_act)]
    for width in (1, 2, 3):
        for a in range(n_act):
            r = np.zeros(n_act)
            r[[(a + k) % n_act for k in range(width)]] = 1.0
            rows.append(r)
    return np.array(rows)


def _graded_rows(row: np.ndarray) -> list:
    """Rows that differ from ``row`` in one weight, set to 0, 0.25, 0.5, 0.75 or 1."""
    out = []
    for j in range(row.size):
        for v in (0.0, 0.25, 0.5, 0.75, 1.0):
            if row[j] != v:
                r = row.copy()
                r[j] = v
                out.append(r)
    return out


def search_softmax_policy(theta0, starts, *, temperature: float = 0.15, sweeps: int = 4, seed: int = 0,
                          max_steps: int = 300, rows: str = "binary", encoder: PlaceCells | None = None,
                          progress: bool = False) -> tuple[np.ndarray, list[float]]:
    """Coordinate descent on the actor weights of a fixed softmax policy: each place cell in turn takes the
    candidate row with the lowest mean steps from ``starts`` (the same random numbers for every candidate, so
    comparisons are paired), for ``sweeps`` passes or until a pass changes nothing. Candidates: ``"binary"``,
    the rows of :func:`_candidate_rows` (weights in {0, 1}); ``"graded"``, the current row with one weight
    changed to a multiple of 0.25. Returns the weights and the mean steps after each pass (on ``starts``:
    optimistic, evaluate on fresh starts)."""
    check_choice(rows, "rows", ["binary", "graded"])
    enc = _grid_encoder(encoder)
    theta0 = _theta(theta0, enc, "theta0")
    starts = _free_starts(starts)
    check_positive(temperature, "temperature")
    check_positive(sweeps, "sweeps", integer=True, allow_zero=True)   # -1 ran no pass, 1.5 one and a half bars
    seed, max_steps = check_seed(seed), check_max_steps(max_steps)
    bar = _progress(total=int(sweeps) * enc.n_features, enabled=progress, desc="floor search", unit="cell")
    try:
        theta, history, stopped_by = _search(theta0, starts, temperature, sweeps, seed, max_steps, rows, enc, bar,
                                             None)
    finally:
        bar.close()
    if stopped_by == "interrupted":  # this function's result has no field to say so: Ctrl-C goes on to the caller
        raise KeyboardInterrupt
    return theta, history


def _search(theta0, starts, temperature, sweeps, seed, max_steps, rows, enc, bar, deadline):
    """The search of :func:`search_softmax_policy`; ``bar`` advances by one per cell, ``deadline`` (a
    ``time.perf_counter()`` value or None) stops it between cells, and so does Ctrl-C, keeping the best policy found
    (stopped_by "interrupted"). Returns (theta, history, stopped_by)."""
    theta = np.array(theta0, dtype=float, copy=True)
    st = np.ascontiguousarray(np.asarray(starts, dtype=float).reshape(-1, 2))
    rng0 = seed_states(seed, st.shape[0])
    out = np.zeros(st.shape[0], np.int64)
    cands = _candidate_rows(theta.shape[1])

    def cost():
        _softmax_rollouts(st, theta, float(temperature), enc.centres, enc.sigma, enc.scale, WATERMAZE_MOVES,
                          WaterMaze.step_length, WaterMaze.half_size, WaterMaze.platform_radius, int(max_steps),
                          rng0.copy(), out)
        return float(out.mean())

    best = cost()
    history = [best]
    order_rng = np.random.default_rng(seed)
    stopped_by = "sweeps"
    for _ in range(int(sweeps)):
        changed = 0
        for i in order_rng.permutation(theta.shape[0]):
            if deadline is not None and time.perf_counter() > deadline:
                return theta, history + [best], "max_time"
            keep = theta[i].copy()
            try:
                for row in (cands if rows == "binary" else _graded_rows(keep)):
                    if np.array_equal(row, keep):
                        continue
                    theta[i] = row
                    c = cost()
                    if c < best - 1e-12:
                        best, keep, changed = c, row.copy(), changed + 1
            except KeyboardInterrupt:  # minutes of search kept: the best rows so far (this cell's trial row undone)
                theta[i] = keep
                return theta, history + [best], "interrupted"
            theta[i] = keep
            bar.update(1)
        history.append(best)
        if changed == 0:
            stopped_by = "converged"
            break
    return theta, history, stopped_by


@dataclass
class WaterMazeFloor:
    """Mean steps of the optimal deterministic policy and of the best softmax policy found (see
    :func:`watermaze_optimal_steps`) from the uniform start distribution. ``*_sem`` are standard errors over
    starts; ``softmax_greedy_mean`` is the policy before the search (each cell's greedy move only),
    ``softmax_binary_mean`` the policy after the search over weights in {0, 1} (before any graded refinement);
    ``stopped_by`` says what ended the search: ``"sweeps"`` (the budget of passes), ``"converged"`` (a pass changed
    nothing), ``"max_time"`` (the optional wall-clock cap) or ``"interrupted"`` (Ctrl-C during the search: the best
    policy found until then, scored as usual)."""

    n_starts: int
    optimal_mean: float
    optimal_std: float
    optimal_sem: float
    optimal_histogram: dict
    softmax_mean: float
    softmax_std: float
    softmax_sem: float
    softmax_greedy_mean: float
    softmax_binary_mean: float
    softmax_rollouts: int
    temperature: float
    search_history: list
    theta: np.ndarray
    time_s: float
    params: dict = field(default_factory=dict)
    stopped_by: str = "sweeps"

    def to_dict(self) -> dict:
        return {"n_starts": self.n_starts, "optimal_mean": self.optimal_mean, "optimal_std": self.optimal_std,
                "optimal_sem": self.optimal_sem, "optimal_histogram": self.optimal_histogram,
                "softmax_mean": self.softmax_mean, "softmax_std": self.softmax_std,
                "softmax_sem": self.softmax_sem, "softmax_greedy_mean": self.softmax_greedy_mean,
                "softmax_binary_mean": self.softmax_binary_mean,
                "softmax_rollouts": self.softmax_rollouts, "temperature": self.temperature,
                "search_history": self.search_history, "time_s": self.time_s, "stopped_by": self.stopped_by,
                "params": self.params}


def watermaze_optimal_steps(n_starts: int = 4000, *, temperature: float = 0.15, rollouts: int = 5,
                            n_samples: int = 16, search_starts: int = 2000, sweeps: int = 4,
                            graded_sweeps: int = 0, seed: int = 0, progress: bool = False,
                            max_time_s: float | None = None) -> WaterMazeFloor:
    """The floor of the water-maze learning curves, from ``n_starts`` starts drawn like the environment's.

    (a) Optimal deterministic policy: the exact fewest steps of every start (breadth-first search, see the module
    text). (b) Softmax policy with temperature ``temperature`` and actor weights in {0, 1}: it starts from weight 1
    on each cell's greedy move (:func:`watermaze_greedy_actions`), then :func:`search_softmax_policy` improves the
    rows (zero, or weight 1 on an arc of 1-3 neighbouring moves) on ``search_starts`` separate starts, and
    ``graded_sweeps`` further passes allow any weight in {0, 0.25, 0.5, 0.75, 1}; the result is run ``rollouts``
    times from each of the ``n_starts`` starts (not used in the search). From every start no
    policy needs fewer steps than the optimum, so (b) >= (a) start by start; (b) is an upper bound on the best
    softmax policy of the agent's form (the search is local), (a) a lower bound on any.

    The passes (``sweeps``, ``graded_sweeps``) are the budget; one progress bar counts the cells of all passes
    (each cell tries up to 24 candidate rows on ``search_starts`` starts). ``max_time_s`` optionally caps the
    search's wall-clock time (``None``: no cap); Ctrl-C during the search ends it too, keeping the policy found so
    far; ``stopped_by`` in the result says what ended it."""
    check_positive(n_starts, "n_starts", integer=True)
    check_positive(rollouts, "rollouts", integer=True)
    check_positive(search_starts, "search_starts", integer=True)
    check_positive(n_samples, "n_samples", integer=True)
    seed = check_seed(seed)   # -1 failed in numpy once the exact search had run
    check_memory(48 * int(n_starts) * int(rollouts), "n_starts, rollouts")   # repeated starts, steps, scores
    check_positive(temperature, "temperature")
    check_positive(sweeps, "sweeps", integer=True, allow_zero=True)
    check_positive(graded_sweeps, "graded_sweeps", integer=True, allow_zero=True)
    if max_time_s is not None:
        check_positive(max_time_s, "max_time_s")
    t0 = time.perf_counter()
    deadline = None if max_time_s is None else t0 + float(max_time_s)
    enc = PlaceCells.grid()
    bar = _progress(total=(int(sweeps) + int(graded_sweeps)) * enc.n_features, enabled=progress,
                    desc="floor search", unit="cell")
    try:
        starts = sample_starts(n_starts, seed)
        opt = watermaze_steps_to_goal(starts).astype(float)
        greedy, _ = watermaze_greedy_actions(n_samples, seed, enc)
        theta = np.zeros((enc.n_features, WATERMAZE_MOVES.shape[0]))
        theta[np.arange(enc.n_features), greedy] = 1.0
        many = np.repeat(starts, rollouts, axis=0)
        greedy_steps = softmax_policy_steps(theta, many, temperature=temperature, seed=seed + 1)
        history = []
        stopped_by = "sweeps"
        search = sample_starts(search_starts, seed + 2)
        if sweeps > 0:
            theta, history, stopped_by = _search(theta, search, temperature, sweeps, seed + 3, 300, "binary", enc,
                                                 bar, deadline)
        binary = softmax_policy_steps(theta, many, temperature=temperature, seed=seed + 1)
        if graded_sweeps > 0 and stopped_by not in ("max_time", "interrupted"):
            theta, more, stopped_by = _search(theta, search, temperature, graded_sweeps, seed + 3, 300, "graded",
                                              enc, bar, deadline)
            history += more[1:]
    finally:
        bar.close()
    soft = softmax_policy_steps(theta, many, temperature=temperature, seed=seed + 1).astype(float)
    per_start = soft.reshape(n_starts, rollouts).mean(1)   # rollouts of one start are not independent draws
    values, counts = np.unique(opt, return_counts=True)
    return WaterMazeFloor(
        n_starts=int(n_starts), optimal_mean=float(opt.mean()), optimal_std=float(opt.std()),
        optimal_sem=float(opt.std() / np.sqrt(n_starts)),
        optimal_histogram={int(v): int(c) for v, c in zip(values, counts)}, softmax_mean=float(soft.mean()),
        softmax_std=float(soft.std()), softmax_sem=float(per_start.std() / np.sqrt(n_starts)),
        softmax_greedy_mean=float(greedy_steps.mean()), softmax_binary_mean=float(binary.mean()),
        softmax_rollouts=int(rollouts),
        temperature=float(temperature), search_history=[float(h) for h in history], theta=theta,
        time_s=time.perf_counter() - t0,
        params={"seed": seed, "n_samples": n_samples, "search_starts": search_starts, "sweeps": sweeps,
                "graded_sweeps": graded_sweeps, "max_time_s": max_time_s}, stopped_by=stopped_by)
