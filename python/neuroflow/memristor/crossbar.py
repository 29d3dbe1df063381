"""A crossbar of VCM devices: conductance state, matrix-vector reads, pulse programming, in-memory TD error."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from neuroflow._utils import as_rng, check_array, check_bool, check_choice, check_memory, check_positive
from neuroflow.backend import get_backend
from neuroflow.memristor import kernels
from neuroflow.memristor.device import DeviceTable, VCMDevice, device_table

__all__ = ["Crossbar", "td_error_current"]

_MODES = {"ideal": kernels.MODE_IDEAL, "device": kernels.MODE_MEAN, "cycle": kernels.MODE_CYCLE}


class Crossbar:
    """``rows x cols`` devices holding weights ``w = (G - G0)/(G1 - G0)`` in [0, 1] (all start at G0).

    Parameters
    ----------
    rows, cols : shape; reads compute ``x @ W`` for ``x`` of length ``rows`` (inputs drive the rows).
    device : a :class:`VCMDevice`, a sequence of them, or a preset name ("ideal", "linear-noisy",
        "portner2025").
    seed : int, ``numpy.random.Generator`` or None (seeds the write-noise and read-noise streams).
    assignment : (rows, cols) integer array choosing a device for every cell; by default cells cycle through
        the devices in row-major order (cell k uses device ``k mod n_devices``).
    variability : "device" (mean response + per-device noise), "cycle" (per-cycle fits and noise; needs
        devices with a ``cycles`` table) or "ideal" (exact, noiseless writes).
    min_update : updates with ``|dw|`` below this are dropped; default half a pulse, ``0.5 / N``.
    backend : "numpy" (numba kernels), "julia" (``NeuroFlow.crossbar_program!``) or a Backend object; see
        :mod:`neuroflow.backend` (torch has no crossbar kernel and uses the numba one).
    """

    def __init__(self, rows: int, cols: int, device: VCMDevice | Sequence[VCMDevice] | str = "ideal", seed=None, *,
                 assignment=None, variability: str = "device", min_update: float | None = None,
                 backend: str = "numpy"):
        check_positive(rows, "rows", integer=True)
        check_positive(cols, "cols", integer=True)
        check_choice(variability, "variability", list(_MODES))
        self.rows, self.cols = int(rows), int(cols)
        check_memory(4 * 8 * self.rows * self.cols, "rows, cols")  # weights, assignment, cycle states, a copy
        self.table: DeviceTable = device_table(device)
        if variability == "cycle" and not self.table.has_cycles:
            raise ValueError("variability: 'cycle' needs devices with a cycles table (e.g. the 'portner2025' preset)")
        self.variability = variability
        self.backend = get_backend(backend)
        n_dev = len(self.table)
        if assignment is None:
            assignment = np.arange(self.rows * self.cols).reshape(self.rows, self.cols) % n_dev
        assignment = check_array(assignment, "assignment", shape=(self.rows, self.cols), dtype=np.int64)
        if assignment.min() < 0 or assignment.max() >= n_dev:
            raise ValueError(f"assignment: expected device indices in [0, {n_dev - 1}], got "
                             f"[{assignment.min()}, {assignment.max()}]")
        self.assignment = assignment
        n = self.table.n_pulses
        self.min_update = 0.5 / n if min_update is None else float(check_positive(min_update, "min_update",
                                                                                      allow_zero=True))
        if self.min_update > 1:  # 5 was taken: every change (at most the whole range, 1) silently dropped
            raise ValueError(f"min_update: expected a cut-off in [0, 1] (weights live in [0, 1]), got {min_update!r}")
        gen = as_rng(seed)
        self._rng_state = np.array([gen.integers(0, 2**63, dtype=np.int64)], dtype=np.uint64)
        self._read_rng = np.random.default_rng(gen.integers(0, 2**63))
        self._w = np.zeros((1, self.rows * self.cols))
        self._cstate = np.zeros((1, self.rows * self.cols, 4), dtype=np.int64)
        self._cstate[..., 0] = -1
        self.pulses_total = 0

    # ------------------------------------------------------------------ state
    @property
    def weights(self) -> np.ndarray:
        """Stored weights (rows, cols) in [0, 1] (a copy)."""
        return self._w.reshape(self.rows, self.cols).copy()

    @property
    def conductance_uS(self) -> np.ndarray:
        a = self.assignment
        g0, g1 = self.table.G0_uS[a], self.table.G1_uS[a]
        return g0 + (g1 - g0) * self.weights

    def set_weights(self, w) -> None:
        """Place the devices at exact weights in [0, 1], the devices' range (initialisation; no noise, no pulses)."""
        w = check_array(w, "w", shape=(self.rows, self.cols))
        if np.any(w < 0.0) or np.any(w > 1.0):  # they were clipped without a word: not the weights asked for
            raise ValueError(f"w: expected weights in [0, 1] (the devices' range from G0 to G1), got values in "
                             f"[{w.min():g}, {w.max():g}]")
        self._w[0] = w.ravel()

    # ------------------------------------------------------------------ reads
    def read(self, x, *, noisy: bool = True) -> np.ndarray:
        """Matrix-vector read ``x @ W`` (read voltages ``x`` on the rows, column currents out), with each
        device's read noise when ``noisy``."""
        x = check_array(x, "x", shape=(self.rows,)) if np.ndim(x) == 1 else check_array(x, "x", shape=(None, self.rows))
        w = self.weights
        if check_bool(noisy, "noisy"):   # noisy="no" was truthy: noisy reads
            sd = self.table.read_noise[self.assignment]
            if np.any(sd > 0):
                w = w + sd * self._read_rng.standard_normal(w.shape)
        return x @ w

    # ------------------------------------------------------------------ writes
    def program(self, dw) -> np.ndarray:
        """Apply the requested weight changes ``dw`` (rows, cols) as pulse trains; returns signed pulse counts.

        Semantics (rounding, dropped half pulses, noise order, clipping): :mod:`neuroflow.memristor.kernels`."""
        dw = check_array(dw, "dw", shape=(self.rows, self.cols))
        mode = _MODES[self.variability]
        t = self.table
        most = float(np.max(np.abs(dw), initial=0.0))
        if mode != kernels.MODE_IDEAL and most * t.n_pulses > 2.0**53:  # rint(N dw) pulses: past 2**53, or inf
            raise ValueError(f"dw: a change of {most:g} asks for more than 2**53 pulses ({t.n_pulses} per full range); "
                             "expected weight changes that can be counted in pulses (any beyond 1 saturates)")
        args = (self._w, np.ascontiguousarray(dw.reshape(1, -1)), self.assignment.ravel().copy(), mode,
                t.n_pulses, t.ab, t.sigma, t.cycles, self._cstate, self._rng_state, self.min_update)
        pulses = self.backend.crossbar_program(*args)
        pulses = np.asarray(pulses).reshape(self.rows, self.cols)
        self.pulses_total += int(np.abs(pulses).sum())
        return pulses

    def __repr__(self):
        return (f"Crossbar({self.rows}x{self.cols}, {len(self.table)} device(s), variability={self.variability!r}, "
                f"min_update={self.min_update:g})")


def td_error_current(critic: Crossbar, x_t, x_next, reward: float, alpha: float, gamma: float, *,
                     terminal: bool = False, column: int = 0, noisy: bool = True) -> float:
    """The paper's eq. 3: ``alpha * delta = alpha r + alpha gamma V(s') - alpha V(s)`` as one summed current.

    Read voltages ``-alpha x_t / (G1 - G0)`` drive the devices holding ``w_t`` and ``+alpha gamma x_{t+1} /
    (G1 - G0)`` those holding ``w_{t+1}``; a fixed resistor ``G_R`` carries ``alpha r`` plus the compensation of
    the ``G0`` offsets. The summed current, in weight units, is returned. It is computed from the *stored*
    conductances (plus read noise), so write errors re-enter the next update: the closed loop.

    Parameters
    ----------
    critic : Crossbar
        The crossbar holding the critic weights.
    x_t, x_next : array of shape (critic.rows,)
        Input activities at s and s' (``x_next`` is ignored when ``terminal``).
    reward : float
        Finite reward r.
    alpha : float
        Learning rate in (0, 1].
    gamma : float
        Discount factor in [0, 1].
    terminal : bool
        s' is terminal (V(s') = 0).
    column : int
        Column of the crossbar that holds the critic, in [0, critic.cols).
    noisy : bool
        Add each device's read noise.

    Returns
    -------
    float
        ``alpha * delta`` in weight units.
    """
    if not isinstance(critic, Crossbar):
        raise ValueError(f"critic: expected a Crossbar, got {type(critic).__name__}")
    check_positive(alpha, "alpha")
    if alpha > 1:
        raise ValueError(f"alpha: expected a learning rate in (0, 1], got {alpha!r}")
    check_positive(gamma, "gamma", allow_zero=True)
    if gamma > 1:
        raise ValueError(f"gamma: expected a discount factor in [0, 1], got {gamma!r}")
    if isinstance(reward, bool) or not isinstance(reward, (int, float, np.integer, np.floating)) \
            or not np.isfinite(reward):
        raise ValueError(f"reward: expected a finite number, got {reward!r}")
    if isinstance(column, bool) or not isinstance(column, (int, np.integer)) or not 0 <= column < critic.cols:
        raise ValueError(f"column: expected an integer in [0, {critic.cols - 1}], got {column!r}")
    # terminal="no" and noisy="no" were truthy: V(s') dropped and noise added, the opposite of what was asked
    terminal, noisy = check_bool(terminal, "terminal"), check_bool(noisy, "noisy")
    x_t = check_array(x_t, "x_t", shape=(critic.rows,))
    x_next = np.zeros(critic.rows) if terminal else check_array(x_next, "x_next", shape=(critic.rows,))
    a = critic.assignment[:, column]
    g0, g1 = critic.table.G0_uS[a], critic.table.G1_uS[a]
    G = critic.conductance_uS[:, column]
    if noisy:
        sd = critic.table.read_noise[a] * (g1 - g0)
        if np.any(sd > 0):
            G = G + sd * critic._read_rng.standard_normal(G.shape)
    v_dev = (-alpha * x_t + alpha * gamma * x_next) / (g1 - g0)   # voltage on each device row
    g_r = 1.0                                                      # fixed resistor (uS)
    v_r = (alpha * reward - float(np.sum(v_dev * g0))) / g_r      # reward + offset compensation
    return float(np.sum(v_dev * G) + v_r * g_r)
