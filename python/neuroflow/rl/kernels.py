"""Batched actor-critic TD kernels for the T-maze and the water maze (numba; mirrored by Julia ``td_step!``).

Every seed is an independent agent with its own SplitMix64 stream (see :mod:`neuroflow.memristor.kernels`).
``*_td_step`` advances every seed whose episode counter is below ``e_end`` by exactly one environment step;
``*_run`` repeats that per seed until all seeds have finished episode ``e_end - 1`` (seeds in parallel). Both
call the same per-seed step, so they give identical numbers.

Parameter packing (float64 ``fp`` / int64 ``ip``):

* ``fp = [alpha, gamma, temperature, min_update, read_noise, step_len, pc_sigma, pc_scale, platform_r, half]``
  (the last five are used by the water maze only)
* ``ip = [actor_rule, synapse, mode, n_pulses, max_steps, terminal, reward_state, start]`` (the last three for
  the T-maze only). ``actor_rule`` 0 = reference rule ``dtheta_ij = alpha delta x_i (1[j=a] - h_j)`` with the
  raw activation ``h``; 1 = textbook softmax rule with ``pi_j`` instead of ``h_j``. ``synapse`` 0 = ideal,
  1 = memristor closed loop, 2 = memristor open loop (learning rule reads an ideal shadow copy while the devices
  are programmed from their own state and drive the actions). ``mode`` is the device mode of
  :func:`neuroflow.memristor.kernels.program_cell` (1 mean model, 2 cycle-to-cycle).

Per-seed state: ``ep`` episode index, ``t`` step within the episode, position (``pos``), carried reward
(T-maze), critic weights ``wc`` (n_seeds, n_features), actor weights ``wa`` (n_seeds, n_features, n_actions),
shadows ``wc_sh``/``wa_sh``, cycle state ``cstate`` (n_seeds, n_features * (1 + n_actions), 4) with critic
cells first then actor cells row-major, and ``steps_out`` (n_seeds, n_episodes).

Water-maze place-cell activities below 1e-12 are set to exactly 0 and such features are skipped in the
updates. Draw order within one step of one seed: [water maze, first step of an episode: start position, two uniforms
per attempt] -> read noise of V(s) and of each action activation (normals, only if read_noise > 0) -> one
uniform for the action -> read noise of V(s') -> writes: critic cells ascending, then actor cells (feature,
action) row-major, each write drawing as described in ``program_cell``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from neuroflow.memristor.kernels import program_cell, rng_normal, rng_uniform

__all__ = ["tmaze_run", "tmaze_td_step", "watermaze_run", "watermaze_td_step", "wm_blocked", "wm_in_platform",
           "wm_move", "place_features"]


@njit(cache=True)
def _write(s, k, w, w_sh, dw, synapse, mode, dev, n_pulses, ab, sigma, cycles, cstate, rng, min_update):
    """Program cell k (flat index into w[s] / w_sh[s]) following the synapse kind."""
    if dw == 0.0 or abs(dw) < min_update:  # dropped before touching the cell (same as program_cell's rule 1)
        return
    if synapse == 0:  # ideal write (program_cell's mode 0), inlined
        v = w[s, k] + dw
        w[s, k] = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)
        return
    w[s, k], _ = program_cell(w[s, k], dw, mode, dev, n_pulses, ab, sigma, cycles, cstate[s, k], rng, s, min_update)
    if synapse == 2:
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
def _tm_step(s, fp, ip, tmap, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, rew, wc, wa, wc_sh, wa_sh, cstate, rng,
             steps_out):
    alpha, gamma, temp, min_update, read_noise = fp[0], fp[1], fp[2], fp[3], fp[4]
    rule, synapse, mode, n_pulses, max_steps = ip[0], ip[1], ip[2], ip[3], ip[4]
    terminal, reward_state, start = ip[5], ip[6], ip[7]
    n_states = wc.shape[1]
    n_act = tmap.shape[1]
    wa2 = wa.reshape(wa.shape[0], n_states * n_act)
    wa2_sh = wa_sh.reshape(wa.shape[0], n_states * n_act)
    st, r, k, e = pos[s], rew[s], t[s], ep[s]
    v_s = wc_sh[s, st] if synapse == 2 else wc[s, st]
    if read_noise > 0.0 and synapse != 2:
        v_s += read_noise * rng_normal(rng, s)
    if st == terminal or k >= max_steps:
        if st == terminal:
            # reference convention: the reward is credited in the terminal state's own update, V(after) = 0
            _write(s, st, wc, wc_sh, alpha * (r - v_s), synapse, mode, dev_c[st], n_pulses, ab, sigma, cycles,
                   cstate, rng, min_update)
        steps_out[s, e] = k
        ep[s] = e + 1
        t[s] = 0
        pos[s] = start
        rew[s] = 0.0
        return
    h = np.empty(n_act)
    for j in range(n_act):
        h[j] = wa[s, st, j]
        if read_noise > 0.0:
            h[j] += read_noise * rng_normal(rng, s)
    a, pi = _sample(h, temp, rng_uniform(rng, s))
    if synapse == 2:  # open loop: the learning rule sees the shadow copy
        for j in range(n_act):
            h[j] = wa_sh[s, st, j]
        pi = _softmax(h, temp)
    sp = tmap[st, a]
    rp = 1.0 if sp == reward_state else 0.0
    v_sp = wc_sh[s, sp] if synapse == 2 else wc[s, sp]
    if read_noise > 0.0 and synapse != 2:
        v_sp += read_noise * rng_normal(rng, s)
    delta = r + gamma * v_sp - v_s
    _write(s, st, wc, wc_sh, alpha * delta, synapse, mode, dev_c[st], n_pulses, ab, sigma, cycles, cstate, rng,
           min_update)
    cst_a = cstate[:, n_states:]
    for j in range(n_act):
        hebb = (1.0 if j == a else 0.0) - (h[j] if rule == 0 else pi[j])
        _write(s, st * n_act + j, wa2, wa2_sh, alpha * delta * hebb, synapse, mode, dev_a[st, j], n_pulses, ab,
               sigma, cycles, cst_a, rng, min_update)
    pos[s] = sp
    rew[s] = rp
    t[s] = k + 1


@njit(cache=True, parallel=True)
def tmaze_run(e_end, fp, ip, tmap, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, rew, wc, wa, wc_sh, wa_sh, cstate,
              rng, steps_out):
    for s in prange(wc.shape[0]):
        while ep[s] < e_end:
            _tm_step(s, fp, ip, tmap, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, rew, wc, wa, wc_sh, wa_sh, cstate,
                     rng, steps_out)


@njit(cache=True)
def tmaze_td_step(e_end, fp, ip, tmap, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, rew, wc, wa, wc_sh, wa_sh,
                  cstate, rng, steps_out):
    for s in range(wc.shape[0]):
        if ep[s] < e_end:
            _tm_step(s, fp, ip, tmap, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, rew, wc, wa, wc_sh, wa_sh, cstate,
                     rng, steps_out)


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
def _wm_ideal_update(s, x, ad, a, h, pi, rule, min_update, wc, wa):
    """Critic then actor updates of one water-maze step on ideal synapses: ``w <- clip(w + dw, 0, 1)`` for every
    ``dw`` that is non-zero and not below ``min_update`` (exactly what :func:`_write` does for synapse 0)."""
    n_feat = x.shape[0]
    n_act = h.shape[0]
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
            hebb = (1.0 if j == a else 0.0) - (h[j] if rule == 0 else pi[j])
            dw = axi * hebb
            if dw != 0.0 and abs(dw) >= min_update:
                v = wa[s, i, j] + dw
                wa[s, i, j] = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)


@njit(cache=True)
def _wm_device_update(s, x, ad, a, h, pi, rule, synapse, mode, n_pulses, ab, sigma, cycles, dev_c, dev_a,
                      min_update, wc, wa, wc_sh, wa_sh, cstate, rng):
    """Critic then actor writes of one water-maze step on devices (closed or open loop), through :func:`_write`."""
    n_feat = x.shape[0]
    n_act = h.shape[0]
    wa2 = wa.reshape(wa.shape[0], n_feat * n_act)
    wa2_sh = wa_sh.reshape(wa.shape[0], n_feat * n_act)
    for i in range(n_feat):
        if x[i] == 0.0:
            continue
        _write(s, i, wc, wc_sh, ad * x[i], synapse, mode, dev_c[i], n_pulses, ab, sigma, cycles, cstate, rng,
               min_update)
    hmax = 0.0
    for j in range(n_act):
        hj = h[j] if rule == 0 else pi[j]
        if abs(hj) > hmax:
            hmax = abs(hj)
    cst_a = cstate[:, n_feat:]
    for i in range(n_feat):
        if x[i] == 0.0 or abs(ad * x[i]) * (1.0 + hmax) < min_update:
            continue  # no actor update of this feature can pass the threshold
        for j in range(n_act):
            hebb = (1.0 if j == a else 0.0) - (h[j] if rule == 0 else pi[j])
            _write(s, i * n_act + j, wa2, wa2_sh, ad * x[i] * hebb, synapse, mode, dev_a[i, j], n_pulses, ab,
                   sigma, cycles, cst_a, rng, min_update)


@njit(cache=True)
def _wm_step(s, fp, ip, centres, moves, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, feat, wc, wa, wc_sh, wa_sh,
             cstate, rng, steps_out):
    alpha, gamma, temp, min_update, read_noise = fp[0], fp[1], fp[2], fp[3], fp[4]
    step_len, pc_sigma, pc_scale, radius, half = fp[5], fp[6], fp[7], fp[8], fp[9]
    rule, synapse, mode, n_pulses, max_steps = ip[0], ip[1], ip[2], ip[3], ip[4]
    n_feat = centres.shape[0]
    n_act = moves.shape[0]
    k = t[s]
    if k == 0:
        x0, y0 = _wm_start(s, rng, half, radius)
        pos[s, 0] = x0
        pos[s, 1] = y0
        place_features(x0, y0, centres, pc_sigma, pc_scale, feat[s])
    x = feat[s]
    norm_x = 0.0
    if read_noise > 0.0:
        for i in range(n_feat):
            norm_x += x[i] * x[i]
        norm_x = math.sqrt(norm_x)
    learn_c = wc_sh if synapse == 2 else wc
    v_s = 0.0
    for i in range(n_feat):
        v_s += x[i] * learn_c[s, i]
    if read_noise > 0.0 and synapse != 2:
        v_s += read_noise * norm_x * rng_normal(rng, s)
    h = np.zeros(n_act)
    for i in range(n_feat):
        xi = x[i]
        if xi > 1e-12:
            for j in range(n_act):
                h[j] += xi * wa[s, i, j]
    if read_noise > 0.0:
        for j in range(n_act):
            h[j] += read_noise * norm_x * rng_normal(rng, s)
    a, pi = _sample(h, temp, rng_uniform(rng, s))
    if synapse == 2:
        h[:] = 0.0
        for i in range(n_feat):
            for j in range(n_act):
                h[j] += x[i] * wa_sh[s, i, j]
        pi = _softmax(h, temp)
    nx, ny, reward, done = wm_move(pos[s, 0], pos[s, 1], step_len * moves[a, 0], step_len * moves[a, 1], half,
                                   radius, 10)
    x_new = np.empty(n_feat)
    place_features(nx, ny, centres, pc_sigma, pc_scale, x_new)
    v_sp = 0.0
    if not done:
        for i in range(n_feat):
            v_sp += x_new[i] * learn_c[s, i]
        if read_noise > 0.0 and synapse != 2:
            nn = 0.0
            for i in range(n_feat):
                nn += x_new[i] * x_new[i]
            v_sp += read_noise * math.sqrt(nn) * rng_normal(rng, s)
    delta = reward + gamma * v_sp - v_s
    ad = alpha * delta
    if synapse == 0:  # ideal synapses: the same rule as _write's ideal branch, inlined (no per-weight calls)
        _wm_ideal_update(s, x, ad, a, h, pi, rule, min_update, wc, wa)
    else:
        _wm_device_update(s, x, ad, a, h, pi, rule, synapse, mode, n_pulses, ab, sigma, cycles, dev_c, dev_a,
                          min_update, wc, wa, wc_sh, wa_sh, cstate, rng)
    pos[s, 0] = nx
    pos[s, 1] = ny
    for i in range(n_feat):
        feat[s, i] = x_new[i]
    k += 1
    t[s] = k
    if done or k >= max_steps:
        steps_out[s, ep[s]] = k
        ep[s] += 1
        t[s] = 0


@njit(cache=True, parallel=True)
def watermaze_run(e_end, fp, ip, centres, moves, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, feat, wc, wa, wc_sh,
                  wa_sh, cstate, rng, steps_out):
    for s in prange(wc.shape[0]):
        while ep[s] < e_end:
            _wm_step(s, fp, ip, centres, moves, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, feat, wc, wa, wc_sh,
                     wa_sh, cstate, rng, steps_out)


@njit(cache=True)
def watermaze_td_step(e_end, fp, ip, centres, moves, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, feat, wc, wa,
                      wc_sh, wa_sh, cstate, rng, steps_out):
    for s in range(wc.shape[0]):
        if ep[s] < e_end:
            _wm_step(s, fp, ip, centres, moves, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, feat, wc, wa, wc_sh,
                     wa_sh, cstate, rng, steps_out)
