"""Numba kernels of the batched actor-critic (the reference mirrored by Julia ``td_step!``).

Every seed is an independent agent with its own SplitMix64 stream (see :mod:`neuroflow.memristor.kernels`).
``*_td_step`` advances every seed whose episode counter is below ``e_end`` by exactly one environment step;
``*_run`` repeats that per seed until all seeds have finished episode ``e_end - 1`` (seeds in parallel). Both
call the same per-seed step, so they give identical numbers.

Arguments are grouped into three records (NamedTuples, which numba compiles to structs; the Julia mirror has
structs of the same names and fields in the same order):

* :class:`TDParams`, the scalar settings. ``actor_rule`` 0 = reference rule
  ``dtheta_ij = alpha delta x_i (1[j=a] - h_j)`` with the raw activation ``h``; 1 = textbook softmax rule with
  ``pi_j`` instead of ``h_j``. ``synapse`` 0 = ideal, 1 = memristor closed loop, 2 = memristor open loop (the
  learning rule reads an ideal shadow copy while the devices are programmed from their own state and drive the
  actions). ``mode`` is the device mode of :func:`neuroflow.memristor.kernels.program_cell` (1 mean model,
  2 cycle-to-cycle). ``terminal``, ``reward_state``, ``start`` are used by the T-maze only, ``step_len``,
  ``pc_sigma``, ``pc_scale``, ``platform_r``, ``half`` by the water maze only.
* :class:`MazeDevices`: the device table (``ab``, ``sigma``, ``cycles`` as in
  :class:`neuroflow.memristor.DeviceTable`) and the device of every critic weight ``dev_c`` (n_features,) and
  actor weight ``dev_a`` (n_features, n_actions).
* :class:`MazeState`, per seed: ``ep`` episode index, ``t`` step within the episode, position ``pos`` (T-maze:
  state index (n_seeds,); water maze: (n_seeds, 2)), carried reward ``rew`` (T-maze), current place-cell
  activities ``feat`` (water maze; (n_seeds, 0) in the T-maze), critic weights ``wc`` (n_seeds, n_features),
  actor weights ``wa`` (n_seeds, n_features, n_actions), shadows ``wc_sh``/``wa_sh``, cycle state ``cstate``
  (n_seeds, n_features * (1 + n_actions), 4) with critic cells first then actor cells row-major, the episode
  lengths ``steps_out`` (n_seeds, n_episodes) and the operation counts ``counts_out`` (n_seeds, n_episodes, 4).

Operation counts, summed per episode (for the energy estimate of :mod:`neuroflow.memristor.energy`):
``[SET pulses, RESET pulses, weight reads, weight updates]``. Pulses are those applied to devices (0 on ideal
synapses). Weight reads count what the in-memory scheme reads per step: the actor weights of the active inputs
(to choose the action) and, for the TD error of eq. 3, the critic weights of the active inputs of s and s'
(only those of s on the terminal update); weight updates count the weight changes the learning rule computes
(critic and actor weights of the active inputs), written or not. An input is active when its activity is
non-zero.

Water-maze place-cell activities below 1e-12 are set to exactly 0 and such features are skipped in the
updates. Draw order within one step of one seed: [water maze, first step of an episode: start position, two uniforms
per attempt] -> read noise of V(s) and of each action activation (normals, only if read_noise > 0) -> one
uniform for the action -> read noise of V(s') -> writes: critic cells ascending, then actor cells (feature,
action) row-major, each write drawing as described in ``program_cell``.

A ``prange`` body only calls a compiled function with the records: numba's parallel loops can lose writes made
to a record's arrays directly in the loop body.

(Over 400 lines on purpose: the T-maze and water-maze kernels share the records, the write and the sampling
helpers, and the file mirrors ``td.jl`` part for part, which keeps the two implementations comparable.)
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from neuroflow.memristor.kernels import program_cell, rng_normal, rng_uniform

__all__ = ["TDParams", "MazeDevices", "MazeState", "N_COUNTS", "tmaze_run", "tmaze_td_step", "watermaze_run",
           "watermaze_td_step", "wm_blocked", "wm_in_platform", "wm_move", "place_features"]

#: operation counters per episode: SET pulses, RESET pulses, weight reads, weight updates
N_COUNTS = 4


class TDParams(NamedTuple):
    """Scalar settings of one batched run (see the module docstring)."""

    alpha: float
    gamma: float
    temperature: float
    min_update: float
    read_noise: float
    actor_rule: int
    synapse: int
    mode: int
    n_pulses: int
    max_steps: int
    terminal: int
    reward_state: int
    start: int
    step_len: float
    pc_sigma: float
    pc_scale: float
    platform_r: float
    half: float


class MazeDevices(NamedTuple):
    """Device table and the device of every critic and actor weight."""

    ab: np.ndarray
    sigma: np.ndarray
    cycles: np.ndarray
    dev_c: np.ndarray
    dev_a: np.ndarray


class MazeState(NamedTuple):
    """Per-seed simulation state, updated in place by the kernels."""

    ep: np.ndarray
    t: np.ndarray
    pos: np.ndarray
    rew: np.ndarray
    feat: np.ndarray
    wc: np.ndarray
    wa: np.ndarray
    wc_sh: np.ndarray
    wa_sh: np.ndarray
    cstate: np.ndarray
    rng: np.ndarray
    steps_out: np.ndarray
    counts_out: np.ndarray


@njit(cache=True, inline="always")
def _write(s, k, w, w_sh, dw, p, dev, d, cstate, rng, counts):
    """Program cell k (flat index into w[s] / w_sh[s]) following the synapse kind; pulses go to ``counts``.
    Inlined: called once per weight, and passing the records to a separate function made the water maze
    1.8x slower."""
    if dw == 0.0 or abs(dw) < p.min_update:  # dropped before touching the cell (same as program_cell's rule 1)
        return
    if p.synapse == 0:  # ideal write (program_cell's mode 0), inlined
        v = w[s, k] + dw
        w[s, k] = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)
        return
    w[s, k], dp = program_cell(w[s, k], dw, p.mode, d, p.n_pulses, dev.ab, dev.sigma, dev.cycles, cstate[s, k], rng,
                               s, p.min_update)
    if dp > 0.0:
        counts[0] += np.int64(dp)
    elif dp < 0.0:
        counts[1] += np.int64(-dp)
    if p.synapse == 2:
        v = w_sh[s, k] + dw
        w_sh[s, k] = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)


@njit(cache=True)
def _sample(h, temperature, u):
    m = h[0]
    for j in range(1, h.shape[0]):
        if h[j] > m:
            m = h[j]
    tot = 0.0
    p = np.empty(h.shape[0])
    for j in range(h.shape[0]):
        p[j] = math.exp((h[j] - m) / temperature)
        tot += p[j]
    x = u * tot
    acc = 0.0
    for j in range(h.shape[0]):
        acc += p[j]
        if x < acc:
            return j, p / tot
    return h.shape[0] - 1, p / tot


@njit(cache=True)
def _softmax(h, temperature):
    m = h.max()
    p = np.exp((h - m) / temperature)
    return p / p.sum()


# ----------------------------------------------------------------------------- T-maze
@njit(cache=True)
def _tm_step(s, p, tmap, dev, st):
    n_states = st.wc.shape[1]
    n_act = tmap.shape[1]
    wa2 = st.wa.reshape(st.wa.shape[0], n_states * n_act)
    wa2_sh = st.wa_sh.reshape(st.wa.shape[0], n_states * n_act)
    pos, wc, wc_sh, rng = st.pos, st.wc, st.wc_sh, st.rng
    s_, r, k, e = pos[s], st.rew[s], st.t[s], st.ep[s]
    counts = st.counts_out[s, e]
    v_s = wc_sh[s, s_] if p.synapse == 2 else wc[s, s_]
    if p.read_noise > 0.0 and p.synapse != 2:
        v_s += p.read_noise * rng_normal(rng, s)
    if s_ == p.terminal or k >= p.max_steps:
        if s_ == p.terminal:
            # reference convention: the reward is credited in the terminal state's own update, V(after) = 0
            counts[2] += 1
            counts[3] += 1
            _write(s, s_, wc, wc_sh, p.alpha * (r - v_s), p, dev, dev.dev_c[s_], st.cstate, rng, counts)
        st.steps_out[s, e] = k
        st.ep[s] = e + 1
        st.t[s] = 0
        pos[s] = p.start
        st.rew[s] = 0.0
        return
    h = np.empty(n_act)
    for j in range(n_act):
        h[j] = st.wa[s, s_, j]
        if p.read_noise > 0.0:
            h[j] += p.read_noise * rng_normal(rng, s)
    a, pi = _sample(h, p.temperature, rng_uniform(rng, s))
    if p.synapse == 2:  # open loop: the learning rule sees the shadow copy
        for j in range(n_act):
            h[j] = st.wa_sh[s, s_, j]
        pi = _softmax(h, p.temperature)
    sp = tmap[s_, a]
    rp = 1.0 if sp == p.reward_state else 0.0
    v_sp = wc_sh[s, sp] if p.synapse == 2 else wc[s, sp]
    if p.read_noise > 0.0 and p.synapse != 2:
        v_sp += p.read_noise * rng_normal(rng, s)
    delta = r + p.gamma * v_sp - v_s
    counts[2] += n_act + 2
    counts[3] += 1 + n_act
    _write(s, s_, wc, wc_sh, p.alpha * delta, p, dev, dev.dev_c[s_], st.cstate, rng, counts)
    cst_a = st.cstate[:, n_states:]
    for j in range(n_act):
        hebb = (1.0 if j == a else 0.0) - (h[j] if p.actor_rule == 0 else pi[j])
        _write(s, s_ * n_act + j, wa2, wa2_sh, p.alpha * delta * hebb, p, dev, dev.dev_a[s_, j], cst_a, rng, counts)
    pos[s] = sp
    st.rew[s] = rp
    st.t[s] = k + 1


@njit(cache=True)
def _tm_seed(s, e_end, p, tmap, dev, st):
    while st.ep[s] < e_end:
        _tm_step(s, p, tmap, dev, st)


@njit(cache=True, parallel=True)
def tmaze_run(e_end, p, tmap, dev, st):
    """Step every seed until it has finished ``e_end`` episodes (seeds in parallel)."""
    for s in prange(st.wc.shape[0]):
        _tm_seed(s, e_end, p, tmap, dev, st)


@njit(cache=True)
def tmaze_td_step(e_end, p, tmap, dev, st):
    """One T-maze step of every seed whose episode index is below ``e_end``."""
    for s in range(st.wc.shape[0]):
        if st.ep[s] < e_end:
            _tm_step(s, p, tmap, dev, st)


# ----------------------------------------------------------------------------- water maze geometry
@njit(cache=True)
def wm_blocked(x, y, half):
    """Outside the square arena or inside the U-shaped obstacle (opening upwards, around the platform)."""
    if abs(x) > half or abs(y) > half:
        return True
    if 1.5 <= abs(x) <= 2.5 and -2.5 < y < 2.0:
        return True
    if abs(x) <= 1.5 and -2.5 <= y <= -1.5:
        return True
    return False


@njit(cache=True)
def wm_in_platform(x, y, radius):
    return x * x + y * y <= radius * radius


@njit(cache=True)
def wm_move(x, y, dx, dy, half, radius, n_check):
    """One move checked at ``n_check`` points along the path: cut at the last free point before a wall;
    reaching the platform ends the episode (the full move is taken). Returns (x', y', reward, done)."""
    for i in range(n_check):
        f = i / (n_check - 1)
        px, py = x + f * dx, y + f * dy
        if wm_blocked(px, py, half):
            g = (i - 1) / (n_check - 1) if i > 0 else 0.0
            return x + g * dx, y + g * dy, 0.0, False
        if wm_in_platform(px, py, radius):
            return x + dx, y + dy, 1.0, True
    return x + dx, y + dy, 0.0, False


@njit(cache=True)
def place_features(x, y, centres, pc_sigma, pc_scale, out):
    """Gaussian place-cell activities; activities below 1e-12 are set to exactly 0 (they change nothing
    measurable and would otherwise drive weights into subnormal numbers, which are very slow)."""
    inv = 1.0 / (2.0 * pc_sigma * pc_sigma)
    for i in range(centres.shape[0]):
        dx = centres[i, 0] - x
        dy = centres[i, 1] - y
        v = pc_scale * math.exp(-(dx * dx + dy * dy) * inv)
        out[i] = v if v >= 1e-12 else 0.0


@njit(cache=True)
def _wm_start(s, rng, half, radius):
    while True:
        x = -half + 2.0 * half * rng_uniform(rng, s)
        y = -half + 2.0 * half * rng_uniform(rng, s)
        if not wm_blocked(x, y, half) and not wm_in_platform(x, y, radius):
            return x, y


@njit(cache=True)
def _wm_ideal_update(s, x, ad, a, h, pi, p, wc, wa):
    """Critic then actor updates of one water-maze step on ideal synapses: ``w <- clip(w + dw, 0, 1)`` for every
    ``dw`` that is non-zero and not below ``min_update`` (exactly what :func:`_write` does for synapse 0)."""
    n_feat = x.shape[0]
    n_act = h.shape[0]
    min_update = p.min_update
    for i in range(n_feat):
        if x[i] == 0.0:
            continue
        dw = ad * x[i]
        if dw != 0.0 and abs(dw) >= min_update:
            v = wc[s, i] + dw
            wc[s, i] = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)
    for i in range(n_feat):
        if x[i] == 0.0:
            continue
        axi = ad * x[i]
        for j in range(n_act):
            hebb = (1.0 if j == a else 0.0) - (h[j] if p.actor_rule == 0 else pi[j])
            dw = axi * hebb
            if dw != 0.0 and abs(dw) >= min_update:
                v = wa[s, i, j] + dw
                wa[s, i, j] = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)


@njit(cache=True)
def _wm_device_update(s, x, ad, a, h, pi, p, dev, st, counts):
    """Critic then actor writes of one water-maze step on devices (closed or open loop), through :func:`_write`."""
    n_feat = x.shape[0]
    n_act = h.shape[0]
    wa2 = st.wa.reshape(st.wa.shape[0], n_feat * n_act)
    wa2_sh = st.wa_sh.reshape(st.wa.shape[0], n_feat * n_act)
    for i in range(n_feat):
        if x[i] == 0.0:
            continue
        _write(s, i, st.wc, st.wc_sh, ad * x[i], p, dev, dev.dev_c[i], st.cstate, st.rng, counts)
    hmax = 0.0
    for j in range(n_act):
        hj = h[j] if p.actor_rule == 0 else pi[j]
        if abs(hj) > hmax:
            hmax = abs(hj)
    cst_a = st.cstate[:, n_feat:]
    for i in range(n_feat):
        if x[i] == 0.0 or abs(ad * x[i]) * (1.0 + hmax) < p.min_update:
            continue  # no actor update of this feature can pass the threshold
        for j in range(n_act):
            hebb = (1.0 if j == a else 0.0) - (h[j] if p.actor_rule == 0 else pi[j])
            _write(s, i * n_act + j, wa2, wa2_sh, ad * x[i] * hebb, p, dev, dev.dev_a[i, j], cst_a, st.rng, counts)


@njit(cache=True)
def _wm_step(s, p, centres, moves, dev, st):
    n_feat = centres.shape[0]
    n_act = moves.shape[0]
    rng, wc, wa = st.rng, st.wc, st.wa
    k = st.t[s]
    if k == 0:
        x0, y0 = _wm_start(s, rng, p.half, p.platform_r)
        st.pos[s, 0] = x0
        st.pos[s, 1] = y0
        place_features(x0, y0, centres, p.pc_sigma, p.pc_scale, st.feat[s])
    counts = st.counts_out[s, st.ep[s]]
    x = st.feat[s]
    norm_x = 0.0
    if p.read_noise > 0.0:
        for i in range(n_feat):
            norm_x += x[i] * x[i]
        norm_x = math.sqrt(norm_x)
    learn_c = st.wc_sh if p.synapse == 2 else wc
    v_s = 0.0
    for i in range(n_feat):
        v_s += x[i] * learn_c[s, i]
    if p.read_noise > 0.0 and p.synapse != 2:
        v_s += p.read_noise * norm_x * rng_normal(rng, s)
    h = np.zeros(n_act)
    active = 0
    for i in range(n_feat):
        xi = x[i]
        if xi > 1e-12:
            active += 1
            for j in range(n_act):
                h[j] += xi * wa[s, i, j]
    if p.read_noise > 0.0:
        for j in range(n_act):
            h[j] += p.read_noise * norm_x * rng_normal(rng, s)
    a, pi = _sample(h, p.temperature, rng_uniform(rng, s))
    if p.synapse == 2:
        h[:] = 0.0
        for i in range(n_feat):
            for j in range(n_act):
                h[j] += x[i] * st.wa_sh[s, i, j]
        pi = _softmax(h, p.temperature)
    nx, ny, reward, done = wm_move(st.pos[s, 0], st.pos[s, 1], p.step_len * moves[a, 0], p.step_len * moves[a, 1],
                                   p.half, p.platform_r, 10)
    x_new = np.empty(n_feat)
    place_features(nx, ny, centres, p.pc_sigma, p.pc_scale, x_new)
    v_sp = 0.0
    active_new = 0
    if not done:
        for i in range(n_feat):
            v_sp += x_new[i] * learn_c[s, i]
            if x_new[i] > 0.0:
                active_new += 1
        if p.read_noise > 0.0 and p.synapse != 2:
            nn = 0.0
            for i in range(n_feat):
                nn += x_new[i] * x_new[i]
            v_sp += p.read_noise * math.sqrt(nn) * rng_normal(rng, s)
    delta = reward + p.gamma * v_sp - v_s
    ad = p.alpha * delta
    counts[2] += active * (n_act + 1) + active_new
    counts[3] += active * (n_act + 1)
    if p.synapse == 0:  # ideal synapses: the same rule as _write's ideal branch, inlined (no per-weight calls)
        _wm_ideal_update(s, x, ad, a, h, pi, p, wc, wa)
    else:
        _wm_device_update(s, x, ad, a, h, pi, p, dev, st, counts)
    st.pos[s, 0] = nx
    st.pos[s, 1] = ny
    for i in range(n_feat):
        x[i] = x_new[i]
    k += 1
    st.t[s] = k
    if done or k >= p.max_steps:
        st.steps_out[s, st.ep[s]] = k
        st.ep[s] += 1
        st.t[s] = 0


@njit(cache=True)
def _wm_seed(s, e_end, p, centres, moves, dev, st):
    while st.ep[s] < e_end:
        _wm_step(s, p, centres, moves, dev, st)


@njit(cache=True, parallel=True)
def watermaze_run(e_end, p, centres, moves, dev, st):
    """Step every seed until it has finished ``e_end`` episodes (seeds in parallel)."""
    for s in prange(st.wc.shape[0]):
        _wm_seed(s, e_end, p, centres, moves, dev, st)


@njit(cache=True)
def watermaze_td_step(e_end, p, centres, moves, dev, st):
    """One water-maze step of every seed whose episode index is below ``e_end``."""
    for s in range(st.wc.shape[0]):
        if st.ep[s] < e_end:
            _wm_step(s, p, centres, moves, dev, st)
