"""Numba kernels for pulse programming (the reference the Julia ``crossbar_program!`` mirrors).

Random numbers come from one SplitMix64 stream per seed (``rng_state[s]``, uint64): each draw adds the
golden-ratio increment 0x9E3779B97F4A7C15 to the state and returns the SplitMix64 finaliser of it; a uniform is
``(z >> 11) * 2**-53``; a normal is Box-Muller from two consecutive uniforms ``u1, u2``:
``sqrt(-2 log(1 - u1)) * cos(2 pi u2)``. Streams of different seeds never interact, so results do not depend on
thread scheduling, and any implementation that draws in the documented order reproduces them bit for bit.

Programming one cell (:func:`program_cell`), weight ``w`` in [0, 1], requested change ``dw``:

1. ``dw == 0`` or ``|dw| < min_update``: nothing happens (no write, no noise draw).
2. mode 0 (ideal synapse): ``w <- clip(w + dw, 0, 1)``; no noise.
3. a SET request (``dw > 0``) on ``w >= 1`` or a RESET request on ``w <= 0``: nothing happens.
4. pulse count ``dp = rint(N dw)`` (round half to even); SET for ``dw > 0``, RESET otherwise.
5. mode 1 (mean device model): ``p0 = g^-1(w)``, ``w' = g(clip(p0 + dp, 0, N))`` with the branch's two-parameter
   response; noise sigma = the device's sigma_set / sigma_reset.
   mode 2 (cycle-to-cycle): first the cycle state is advanced (below), then ``p0 = f^-1(clip(w, f(0), f(N)))``,
   ``w' = f(p0 + dp)`` with the current cycle's four-parameter fit (p not clipped), sigma = that cycle's noise.
6. if sigma > 0: ``w' += sigma * normal()`` (one draw per write, even when ``dp == 0``); then ``w' = clip(w', 0, 1)``.

Cycle state per cell (int64[4]): current cycle (-1 = not yet drawn), sign-change counter, walking direction
(+1/-1), sign of the last write. On the first write the cycle is drawn as ``floor(u * (n_cycles - 1))`` and the
counter set to 1. Later, when ``last_sign * dp < 0``: if the counter is 2 it is reset to 1 and the cycle moves
one step in its direction (reversing first when that step would leave [0, n_cycles - 1]); otherwise the counter
is incremented. The last sign is then set to the sign of ``dw``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["program_cell", "crossbar_program", "rng_uniform", "rng_normal", "seed_states",
           "MODE_IDEAL", "MODE_MEAN", "MODE_CYCLE"]

MODE_IDEAL, MODE_MEAN, MODE_CYCLE = 0, 1, 2

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0
_TWO_PI = 2.0 * math.pi


def seed_states(seed: int, n: int) -> np.ndarray:
    """Initial SplitMix64 states of ``n`` per-seed streams derived from one integer seed."""
    ss = np.random.SeedSequence(int(seed))
    return ss.generate_state(n, dtype=np.uint64).astype(np.uint64)


@njit(cache=True, inline="always")
def _next(state, s):
    z = state[s] + _GOLDEN
    state[s] = z
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def rng_uniform(state, s):
    """Uniform in [0, 1) from stream ``s`` (advances ``state[s]``)."""
    return float(_next(state, s) >> _S11) * _INV53


@njit(cache=True)
def rng_normal(state, s):
    """Standard normal from stream ``s`` (two uniforms, Box-Muller cosine branch)."""
    u1 = rng_uniform(state, s)
    u2 = rng_uniform(state, s)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(_TWO_PI * u2)


# ----------------------------------------------------------------------------- responses
# kind: 0 two-parameter SET, 1 two-parameter RESET, 2 four-parameter SET, 3 four-parameter RESET, 4 linear
@njit(cache=True)
def _resp(kind, p, c0, c1, c2, c3, n):
    if kind == 4:
        if p < 0.0:
            p = 0.0
        elif p > n:
            p = n
        return p / n
    if kind == 0 or kind == 1:
        if p < 0.0:
            p = 0.0
        elif p > n:
            p = n
        denom = 1.0 - (c0 * n + math.exp(-c1 * n))
        if kind == 0:
            return (1.0 - (c0 * p + math.exp(-c1 * p))) / denom
        q = n - p
        return 1.0 - (1.0 - (c0 * q + math.exp(-c1 * q))) / denom
    if kind == 2:
        return c0 + c1 * p - c2 * math.exp(-c3 * p)
    return c0 + c1 * p + c2 * math.exp(c3 * p)


@njit(cache=True)
def _dresp(kind, p, c0, c1, c2, c3, n):
    if kind == 4:
        return 1.0 / n
    if kind == 0 or kind == 1:
        denom = 1.0 - (c0 * n + math.exp(-c1 * n))
        x = p if kind == 0 else n - p
        return (-c0 + c1 * math.exp(-c1 * x)) / denom
    if kind == 2:
        return c1 + c3 * c2 * math.exp(-c3 * p)
    return c1 + c3 * c2 * math.exp(c3 * p)


@njit(cache=True)
def _solve_h(a, b, target, n):
    """x in [0, n] with h(x) = 1 - a x - exp(-b x) = target (h increasing, h(0) = 0 <= target <= h(n)).
    Safeguarded Newton, one exponential per iteration, started from the pure-exponential inverse."""
    lo, hi = 0.0, n
    x = n * 0.5
    arg = 1.0 - target
    if b > 1e-9 and arg > 0.0:
        x = -math.log(arg) / b
    if not (0.0 < x < n):
        x = n * 0.5
    for _ in range(60):
        e = math.exp(-b * x)
        r = 1.0 - a * x - e - target
        if r > 0.0:
            hi = x
        elif r < 0.0:
            lo = x
        else:
            break
        d = -a + b * e
        xn = x - r / d if d > 0.0 else 0.5 * (lo + hi)
        if not (lo < xn < hi):
            xn = 0.5 * (lo + hi)
        if abs(xn - x) < 1e-9:
            return xn
        x = xn
    return x


@njit(cache=True)
def _inverse(kind, y, c0, c1, c2, c3, n):
    """Pulse coordinate p in [0, n] with response(p) = y (clipped to [response(0), response(n)]).

    Safeguarded Newton (bisection whenever a step leaves the bracket), stopped when a step is below 1e-9
    pulses."""
    if kind == 0 or kind == 1 or kind == 4:  # normalised: response(0) = 0, response(n) = 1
        if y <= 0.0:
            return 0.0
        if y >= 1.0:
            return n
        if kind == 4:
            return y * n
        denom = 1.0 - (c0 * n + math.exp(-c1 * n))
        if kind == 0:
            return _solve_h(c0, c1, y * denom, n)
        return n - _solve_h(c0, c1, (1.0 - y) * denom, n)
    f0 = _resp(kind, 0.0, c0, c1, c2, c3, n)
    fn = _resp(kind, n, c0, c1, c2, c3, n)
    if y <= f0:
        return 0.0
    if y >= fn:
        return n
    lo, hi = 0.0, n
    p = (y - f0) / (fn - f0) * n
    for _ in range(60):
        r = _resp(kind, p, c0, c1, c2, c3, n) - y
        if r > 0.0:
            hi = p
        elif r < 0.0:
            lo = p
        else:
            break
        d = _dresp(kind, p, c0, c1, c2, c3, n)
        pn = p - r / d if d > 0.0 else 0.5 * (lo + hi)
        if not (lo < pn < hi):
            pn = 0.5 * (lo + hi)
        if abs(pn - p) < 1e-9:
            p = pn
            break
        p = pn
    return p


# ----------------------------------------------------------------------------- one cell
@njit(cache=True)
def program_cell(w, dw, mode, dev, n_pulses, ab, sigma, cycles, cstate, rng, s, min_update):
    """Program one cell; returns ``(new_w, pulses)``. See the module docstring for the exact semantics.

    ``cstate`` is the cell's int64[4] cycle state (used in mode 2 only); ``rng``/``s`` the seed's stream."""
    if dw == 0.0 or abs(dw) < min_update:
        return w, 0.0
    if mode == 0:
        v = w + dw
        return (0.0 if v < 0.0 else (1.0 if v > 1.0 else v)), 0.0
    reset = dw < 0.0
    if (not reset and w >= 1.0) or (reset and w <= 0.0):
        return w, 0.0
    n = float(n_pulses)
    dp = np.rint(n * dw)
    if mode == 1:
        j = 2 if reset else 0
        a, b = ab[dev, j], ab[dev, j + 1]
        kind = 4 if abs(b) < 1e-12 else (1 if reset else 0)
        y = 0.0 if w < 0.0 else (1.0 if w > 1.0 else w)
        p0 = _inverse(kind, y, a, b, 0.0, 0.0, n)
        v = _resp(kind, p0 + dp, a, b, 0.0, 0.0, n)
        sd = sigma[dev, 1 if reset else 0]
    else:
        n_cyc = cycles.shape[1]
        if cstate[0] < 0:
            cstate[0] = int(rng_uniform(rng, s) * (n_cyc - 1))
            cstate[1] = 1
            cstate[2] = 1
        elif cstate[3] * dp < 0.0:
            if cstate[1] == 2:
                cstate[1] = 1
                nxt = cstate[0] + cstate[2]
                if nxt < 0 or nxt > n_cyc - 1:
                    cstate[2] = -cstate[2]
                    nxt = cstate[0] + cstate[2]
                cstate[0] = nxt
            else:
                cstate[1] += 1
        cstate[3] = -1 if reset else 1
        row = cycles[dev, cstate[0]]
        j = 4 if reset else 0
        kind = 3 if reset else 2
        c0, c1, c2, c3 = row[j], row[j + 1], row[j + 2], row[j + 3]
        f0 = _resp(kind, 0.0, c0, c1, c2, c3, n)
        fn = _resp(kind, n, c0, c1, c2, c3, n)
        y = f0 if w < f0 else (fn if w > fn else w)
        p0 = _inverse(kind, y, c0, c1, c2, c3, n)
        v = _resp(kind, p0 + dp, c0, c1, c2, c3, n)
        sd = row[9] if reset else row[8]
    if sd > 0.0:
        v += sd * rng_normal(rng, s)
    return (0.0 if v < 0.0 else (1.0 if v > 1.0 else v)), dp


@njit(cache=True)
def crossbar_program(w, dw, cell_device, mode, n_pulses, ab, sigma, cycles, cstate, rng, min_update):
    """Program a batch of crossbars in place: ``w``/``dw`` are (n_seeds, n_cells), ``cstate`` is
    (n_seeds, n_cells, 4), ``rng`` (n_seeds,) uint64. Cells are written in ascending order per seed, seeds in
    ascending order (the order of the noise draws). Returns the signed pulse counts (n_seeds, n_cells)."""
    n_seeds, n_cells = w.shape
    pulses = np.zeros((n_seeds, n_cells))
    for s in range(n_seeds):
        for k in range(n_cells):
            w[s, k], pulses[s, k] = program_cell(w[s, k], dw[s, k], mode, cell_device[k], n_pulses, ab, sigma,
                                                 cycles, cstate[s, k], rng, s, min_update)
    return pulses
