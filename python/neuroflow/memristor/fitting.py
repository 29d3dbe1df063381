"""Fit the VCM device model to a measured SET/RESET pulse sequence, and read and write device files.

A measurement is a sequence of cycles; each cycle is a SET sweep (N SET pulses from the low state, a read after
each) followed by a RESET sweep (N RESET pulses back down). Reads are placed on the pulse coordinate p of
:mod:`neuroflow.memristor.device`: p = number of SET pulses applied in a SET sweep, p = N - number of RESET pulses
applied in a RESET sweep (p = N is the high state). The fit, step by step (the procedure the shipped fits of the
27 measured devices follow; see ``../shared/data/vcm_devices.csv``):

1. ``G0`` / ``G1``: the mean over cycles of the SET sweep's reads at p = 0 and p = N (where a SET sweep has no
   read at p = 0 or N, the RESET sweeps' reads there); the data are normalised, ``g = (G - G0) / (G1 - G0)``.
2. Mean response: the two-parameter model of :class:`~neuroflow.memristor.VCMDevice` fitted to all normalised
   points of all SET sweeps, and separately of all RESET sweeps, by :func:`scipy.optimize.curve_fit` from
   ``(a, b) = (-0.005, 0.05)``. Should that curve not increase over [0, N] (noisy, nearly linear data can do
   this), it is refitted with ``a <= 0``, which keeps the model increasing (an addition to the shipped
   procedure; none of the 27 measured devices needs it).
3. Per-cycle response (cycle-to-cycle variability): ``SET alpha + beta p - gamma exp(-zeta p)`` and
   ``RESET alpha + beta p + gamma exp(zeta p)`` fitted to each sweep with ``beta, gamma >= 0``, which keeps every
   fit non-decreasing in p, and ``0 <= zeta <= 0.5`` (SET) or ``0.1`` (RESET), the ranges of the shipped fits. For fixed zeta the model is linear in
   (alpha, beta, gamma), so zeta is first chosen on a grid (a bounded linear least-squares solve per grid
   point, by enumerating the active sets of the two bounds), then all four parameters are refined with
   :func:`scipy.optimize.least_squares` (the RESET exponential is written ``gamma' exp(zeta (p - N))`` so the
   problem stays well scaled).
4. Write noise: per sweep, the standard deviation (ddof = 1) of the normalised reads about that sweep's
   four-parameter fit; the device's ``sigma_set`` / ``sigma_reset`` are their means over cycles.

The parameters of these models trade off against each other (a slightly different (a, b) or (gamma, zeta) gives
nearly the same curve), so refits are compared by their response curves (:func:`compare_fits`), not only by
their parameters.

Input layouts (:func:`read_measurement`):

* **JSON** as the shipped raw measurements: ``N`` (pulses per sweep), ``repeats`` (cycles), ``Gset`` and
  ``Greset`` (siemens, ``repeats * (N + 1)`` reads, cycle after cycle, each on p = 0 .. N as ``pset`` /
  ``preset`` say; the RESET reads are stored in p order, i.e. from the end of the sweep back to its start).
* **CSV** with a header and one read per row: ``pulse`` (pulses of the current sweep applied before the read,
  0 .. N; 0 is the optional read before the sweep's first pulse), ``conductance`` in siemens (or
  ``conductance_uS`` in microsiemens) and ``direction`` (``set``/``reset``, or ``+1``/``-1``). A sweep is a run of
  rows with one direction; pulse numbers restart in every sweep.

Device files (:func:`save_devices`, :func:`load_devices`) hold one or more devices as JSON and are what
``neuroflow maze ... --device dev.json`` reads.
"""
from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from neuroflow.memristor.device import VCMDevice, _g2, _g4

__all__ = ["PulseMeasurement", "DeviceFit", "read_measurement", "write_measurement_csv", "simulate_measurement",
           "fit_device", "save_devices", "load_devices", "compare_fits", "MIN_PULSES", "DEVICE_FILE_FORMAT"]

#: fewest pulses per sweep a fit accepts (the per-cycle model alone has four parameters plus the noise)
MIN_PULSES = 10
#: the ``format`` tag of a device file
DEVICE_FILE_FORMAT = "neuroflow-vcm-devices"
#: largest zeta of the SET and RESET exponentials: the range of the shipped fits (their zeta values lie on grids of
#: step 1/9990 up to 0.5 for SET and 0.0971 for RESET); a steeper RESET term would chase the first few reads
_ZETA_MAX = {False: 0.5, True: 0.1}
_ZETA_GRID = {r: np.linspace(z / 1000, z, 1000) for r, z in _ZETA_MAX.items()}
_MEAN_P0 = (-0.005, 0.05)
_CHIP_ID = re.compile(r"D\d+_R\d+_B\d+")


@dataclass
class PulseMeasurement:
    """Reads of a pulse sequence on the pulse coordinate: ``g_set`` and ``g_reset`` are (n_cycles, N + 1)
    conductances in siemens at p = 0 .. N (NaN where a sweep has no read), ``g_reset`` in p order."""

    n_pulses: int
    g_set: np.ndarray
    g_reset: np.ndarray
    name: str = "measured"
    source: str = ""

    @property
    def n_cycles(self) -> int:
        return self.g_set.shape[0]


@dataclass
class DeviceFit:
    """Outcome of :func:`fit_device`: the fitted :class:`VCMDevice` and how well it follows the reads.

    ``rms_set`` / ``rms_reset``: RMS of the normalised reads about the mean response (all cycles);
    ``cycle_rms`` (n_cycles, 2): the per-sweep noise (SET, RESET) that the device's cycle table holds;
    ``mean_curve`` (2, N + 1): the cycle-mean normalised reads (SET, RESET), for plots."""

    device: VCMDevice
    rms_set: float
    rms_reset: float
    cycle_rms: np.ndarray
    mean_curve: np.ndarray
    source: str = ""
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"device": self.device.to_dict(), "rms_set": self.rms_set, "rms_reset": self.rms_reset,
                "cycle_rms": self.cycle_rms, "source": self.source, "params": self.params}


# ----------------------------------------------------------------------------- reading
def _default_name(path: Path) -> str:
    found = _CHIP_ID.search(path.stem)
    return found.group(0) if found else path.stem


def read_measurement(path, *, name: str | None = None) -> PulseMeasurement:
    """Read a measured pulse sequence from a JSON (the shipped raw layout) or CSV file (see the module text).

    Parameters
    ----------
    path : str or Path
        ``.json`` or ``.csv`` file.
    name : str, optional
        Device name; default: the chip id in the file name (``D600_R6_B12`` style) or the file's stem.

    Returns
    -------
    PulseMeasurement
    """
    path = Path(path)
    if path.suffix.lower() not in (".json", ".csv"):
        raise ValueError(f"{path}: expected a .json or .csv measurement file")
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    n, g_set, g_reset = (_parse_json if path.suffix.lower() == ".json" else _parse_csv)(text, str(path))
    meas = PulseMeasurement(n_pulses=n, g_set=g_set, g_reset=g_reset, name=name or _default_name(path),
                            source=str(path))
    _check_measurement(meas)
    return meas


def _parse_json(text: str, where: str):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object with N, repeats, Gset and Greset")
    missing = [k for k in ("N", "repeats", "Gset", "Greset") if k not in data]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)} (expected the layout of the shipped raw "
                         "measurements: N, repeats, Gset, Greset)")
    n, reps = data["N"], data["repeats"]
    if isinstance(n, bool) or not isinstance(n, int) or isinstance(reps, bool) or not isinstance(reps, int) \
            or n < 1 or reps < 1:
        raise ValueError(f"{where}: N and repeats: expected positive integers, got {n!r}, {reps!r}")
    out = []
    for key, pkey, reverse in (("Gset", "pset", False), ("Greset", "preset", True)):
        try:
            g = np.asarray(data[key], dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {key}: expected a list of conductances in siemens") from None
        if g.ndim != 1 or g.size != reps * (n + 1):
            raise ValueError(f"{where}: {key}: expected repeats x (N + 1) = {reps * (n + 1)} reads, got {g.size}")
        g = g.reshape(reps, n + 1)
        if pkey in data:
            p = np.asarray(data[pkey], dtype=float)
            if p.size != g.size or not np.array_equal(p.reshape(reps, n + 1), np.tile(np.arange(n + 1.0), (reps, 1))):
                raise ValueError(f"{where}: {pkey}: expected the pulse coordinates 0 .. N in every cycle")
        out.append(g)
    return n, out[0], out[1]


_DIRECTIONS = {"set": 1, "+1": 1, "1": 1, "reset": -1, "-1": -1}


def _parse_csv(text: str, where: str):
    rows = list(csv.reader(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")))
    if not rows:
        raise ValueError(f"{where}: empty file (expected a header pulse, conductance, direction and one row per read)")
    header = [h.strip().lower() for h in rows[0]]
    scale = 1.0
    if "conductance_us" in header:
        gcol, scale = header.index("conductance_us"), 1e-6
    elif "conductance" in header or "conductance_s" in header:
        gcol = header.index("conductance" if "conductance" in header else "conductance_s")
    else:
        gcol = None
    missing = [name for name, col in (("pulse", "pulse" in header), ("conductance", gcol is not None),
                                      ("direction", "direction" in header)) if not col]
    if missing:
        raise ValueError(f"{where}: missing column(s) {', '.join(missing)} (expected a header with pulse, "
                         f"conductance (siemens) or conductance_uS, and direction); found {rows[0]}")
    pcol, dcol = header.index("pulse"), header.index("direction")
    sweeps: list[tuple[int, list, list]] = []     # (direction, pulses, conductances)
    for i, row in enumerate(rows[1:], start=2):
        if len(row) < len(header):
            raise ValueError(f"{where}: line {i}: expected {len(header)} fields, got {len(row)}")
        d = _DIRECTIONS.get(row[dcol].strip().lower())
        if d is None:
            raise ValueError(f"{where}: line {i}: direction {row[dcol]!r} is missing or not one of set, reset, "
                             "+1, -1")
        try:
            pulse = float(row[pcol])
            g = float(row[gcol]) * scale
        except ValueError:
            raise ValueError(f"{where}: line {i}: pulse and conductance must be numbers, got {row[pcol]!r}, "
                             f"{row[gcol]!r}") from None
        if not (math.isfinite(pulse) and pulse >= 0 and pulse == int(pulse)):
            raise ValueError(f"{where}: line {i}: pulse must be a count 0, 1, 2, ..., got {row[pcol]!r}")
        if not (math.isfinite(g) and g > 0):
            raise ValueError(f"{where}: line {i}: conductance must be a positive number, got {row[gcol]!r}")
        if sweeps and sweeps[-1][0] == d and pulse > sweeps[-1][1][-1]:
            sweeps[-1][1].append(int(pulse))
            sweeps[-1][2].append(g)
        elif sweeps and sweeps[-1][0] == d:
            raise ValueError(f"{where}: line {i}: pulse numbers must increase within a sweep and restart in the "
                             f"next one (a sweep is a run of rows with one direction); got {int(pulse)} after "
                             f"{sweeps[-1][1][-1]}")
        else:
            sweeps.append((d, [int(pulse)], [g]))
    if not sweeps:
        raise ValueError(f"{where}: no reads (expected one row per read after the header)")
    for d, name in ((1, "SET"), (-1, "RESET")):
        if not any(s[0] == d for s in sweeps):
            raise ValueError(f"{where}: no {name} sweep (rows with direction {name.lower()}): a fit needs both "
                             "directions")
    n = max(s[1][-1] for s in sweeps)
    lengths = sorted({s[1][-1] for s in sweeps})
    if len(lengths) > 1:
        raise ValueError(f"{where}: sweeps of different lengths ({', '.join(map(str, lengths))} pulses); every "
                         "SET and RESET sweep must span the same number of pulses N")
    if sweeps[0][0] == -1:      # a leading RESET sweep (from an unknown state) has no SET partner: drop it
        sweeps = sweeps[1:]
    set_rows, reset_rows = [], []
    for d, pulses, gs in sweeps:
        row = np.full(n + 1, np.nan)
        p = np.asarray(pulses)
        row[p if d == 1 else n - p] = gs
        (set_rows if d == 1 else reset_rows).append(row)
    k = min(len(set_rows), len(reset_rows))
    if k == 0:
        raise ValueError(f"{where}: no SET sweep followed by a RESET sweep (a cycle needs both)")
    return n, np.array(set_rows[:k]), np.array(reset_rows[:k])


def _check_measurement(m: PulseMeasurement) -> None:
    where = m.source or m.name
    if m.n_pulses < MIN_PULSES:
        raise ValueError(f"{where}: too few pulses: sweeps of {m.n_pulses} pulses; a fit needs at least "
                         f"{MIN_PULSES} per sweep")
    for g, kind in ((m.g_set, "SET"), (m.g_reset, "RESET")):
        if np.any(np.isfinite(g) & (g <= 0)) or np.any(np.isinf(g)):
            raise ValueError(f"{where}: {kind} conductances must be positive and finite")
        for c, row in enumerate(g):
            reads = np.isfinite(row).sum()
            if reads < MIN_PULSES:
                raise ValueError(f"{where}: too few pulses: {kind} sweep {c + 1} has {reads} reads; a fit needs at "
                                 f"least {MIN_PULSES} per sweep")
            # trend over the sweep in p order (RESET reads are stored in p order too): the last fifth of the
            # reads must lie above the first fifth, whatever the noise between neighbouring pulses
            v = row[np.isfinite(row)]
            k = max(2, v.size // 5)
            lo, hi = v[:k].mean(), v[-k:].mean()
            if not hi > lo:
                verb = "rise with SET pulses" if kind == "SET" else "fall with RESET pulses"
                raise ValueError(f"{where}: non-monotone conductance: {kind} sweep {c + 1} does not {verb} "
                                 f"(low state {1e6 * lo:.4g} uS, high state {1e6 * hi:.4g} uS over the first and "
                                 "last fifth of its reads)")


def write_measurement_csv(measurement: PulseMeasurement, path) -> Path:
    """Write a measurement in the CSV layout :func:`read_measurement` reads (``pulse, conductance_uS,
    direction``; each cycle's SET sweep, then its RESET sweep in the order of the pulses)."""
    path = Path(path)
    n = measurement.n_pulses
    lines = ["pulse,conductance_uS,direction"]
    for gs, gr in zip(measurement.g_set, measurement.g_reset):
        lines += [f"{k},{1e6 * gs[k]:.9g},set" for k in range(n + 1) if np.isfinite(gs[k])]
        lines += [f"{k},{1e6 * gr[n - k]:.9g},reset" for k in range(n + 1) if np.isfinite(gr[n - k])]
    path.write_text("\n".join(lines) + "\n")
    return path


def simulate_measurement(device: VCMDevice, *, n_cycles: int | None = None, seed=None) -> PulseMeasurement:
    """Reads a measurement of ``device`` would give: each cycle's SET and RESET sweep on p = 0 .. N follow that
    cycle's four-parameter fit (or the mean response, for a device without a cycle table) plus Gaussian noise
    of the cycle's (device's) write-noise level. For checking a fit against a known device.

    Parameters
    ----------
    device : VCMDevice
    n_cycles : int, optional
        Cycles to simulate (default: the device's cycle table, or 10).
    seed : int, numpy Generator or None

    Returns
    -------
    PulseMeasurement
    """
    from neuroflow._utils import as_rng, check_positive

    if not isinstance(device, VCMDevice):
        raise ValueError(f"device: expected a VCMDevice, got {type(device).__name__}")
    rng = as_rng(seed)
    n = device.n_pulses
    p = np.arange(n + 1.0)
    table = None if device.cycles is None else np.asarray(device.cycles)
    k = (len(table) if table is not None else 10) if n_cycles is None else int(check_positive(n_cycles, "n_cycles",
                                                                                                integer=True))
    g_set, g_reset = np.empty((k, n + 1)), np.empty((k, n + 1))
    for c in range(k):
        if table is not None:
            row = table[c % len(table)]
            gs, gr, ss, sr = _g4(p, row[0:4], False), _g4(p, row[4:8], True), row[8], row[9]
        else:
            gs, gr = device.set_response(p), device.reset_response(p)
            ss, sr = device.sigma_set, device.sigma_reset
        g_set[c] = gs + ss * rng.standard_normal(n + 1)
        g_reset[c] = gr + sr * rng.standard_normal(n + 1)
    span = device.G1_uS - device.G0_uS
    return PulseMeasurement(n_pulses=n, g_set=1e-6 * (device.G0_uS + span * g_set),
                            g_reset=1e-6 * (device.G0_uS + span * g_reset), name=device.name,
                            source=f"simulated from {device.name}")


# ----------------------------------------------------------------------------- fitting
def _monotone(a, b, n, reset) -> bool:
    g = _g2(np.linspace(0.0, n, 8 * n + 1), a, b, n, reset)
    return bool(np.all(np.isfinite(g)) and np.all(np.diff(g) > 0))


def _fit_mean(p, g, reset: bool, n: int, where: str) -> tuple[float, float]:
    """Least-squares (a, b) of the two-parameter response from ``(-0.005, 0.05)``; if that curve is not increasing
    on [0, N] (possible on noisy, nearly linear data), the fit is repeated with ``a <= 0``, where the model is
    increasing for every ``b > 0``."""
    from scipy.optimize import curve_fit

    def model(x, a, b):
        return _g2(x, a, b, n, reset)

    kind = "RESET" if reset else "SET"
    try:
        (a, b), _ = curve_fit(model, p, g, p0=_MEAN_P0, maxfev=20000)
        if not _monotone(a, b, n, reset):
            (a, b), _ = curve_fit(model, p, g, p0=_MEAN_P0, bounds=([-np.inf, 1e-9], [0.0, np.inf]))
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"{where}: the mean {kind} response could not be fitted ({exc})") from None
    return float(a), float(b)


def _basis(p, zeta, n, reset):
    """(K, n_points) exponential column of the four-parameter model for each zeta (scaled to at most 1)."""
    z = np.asarray(zeta, dtype=float)[:, None]
    return np.exp(z * (p - n)) if reset else -np.exp(-z * p)


def _grid_fit(p, y, n, reset):
    """Best zeta on the grid with (alpha, beta', gamma') from a bounded linear solve (beta', gamma' >= 0).

    For every zeta the normal equations of the columns (1, p / N, e) are built from sums (one pass over the
    exponential column), then each active set of the two bounds is solved; the best feasible one wins."""
    x = p / n
    grid = _ZETA_GRID[reset]
    E = _basis(p, grid, n, reset)                          # (K, m)
    K, m = E.shape
    S = {"11": float(m), "1x": x.sum(), "xx": x @ x, "1e": E.sum(1), "ee": np.einsum("km,km->k", E, E),
         "xe": E @ x, "1y": y.sum(), "xy": x @ y, "ey": E @ y}
    G = np.empty((K, 3, 3))
    G[:, 0, 0], G[:, 0, 1], G[:, 1, 1] = S["11"], S["1x"], S["xx"]
    G[:, 0, 2], G[:, 1, 2], G[:, 2, 2] = S["1e"], S["xe"], S["ee"]
    G[:, 1, 0], G[:, 2, 0], G[:, 2, 1] = G[:, 0, 1], G[:, 0, 2], G[:, 1, 2]
    r = np.stack([np.full(K, S["1y"]), np.full(K, S["xy"]), S["ey"]], axis=1)
    yy = y @ y
    best_sse, best = np.inf, None
    for cols in ((0, 1, 2), (0, 1), (0, 2), (0,)):     # free; gamma = 0; beta = 0; both 0
        idx = np.array(cols)
        Gs = G[:, idx[:, None], idx[None, :]] + 1e-12 * np.eye(idx.size)
        rs = r[:, idx]
        with np.errstate(all="ignore"):
            coef = np.linalg.solve(Gs, rs[..., None])[..., 0]
            sse = yy - np.einsum("ki,ki->k", coef, rs)    # at the normal-equation solution
        ok = np.all(coef[:, 1:] >= 0, axis=1) & np.isfinite(sse)
        if not ok.any():
            continue
        k = int(np.argmin(np.where(ok, sse, np.inf)))
        if sse[k] < best_sse:
            full = np.zeros(3)
            full[idx] = coef[k]
            best_sse, best = sse[k], (full[0], full[1], full[2], grid[k])
    return best


def _fit_cycle(p, y, n, reset):
    """(alpha, beta, gamma, zeta) of one sweep (see the module text); NaN reads are skipped."""
    from scipy.optimize import least_squares

    keep = np.isfinite(y)
    p, y = p[keep], y[keep]
    a0, b0, c0, z0 = _grid_fit(p, y, n, reset)

    def resid(v):
        a, b, c, z = v
        return a + b * p / n + c * _basis(p, [z], n, reset)[0] - y

    sol = least_squares(resid, [a0, b0, c0, z0],
                        bounds=([-np.inf, 0, 0, 0], [np.inf, np.inf, np.inf, _ZETA_MAX[reset]]),
                        x_scale=[1.0, 1.0, 1.0, 0.01], xtol=1e-12, ftol=1e-12, gtol=1e-12)
    a, b, c, z = sol.x if np.sum(sol.fun ** 2) <= np.sum(resid([a0, b0, c0, z0]) ** 2) else (a0, b0, c0, z0)
    beta = b / n
    gamma = c * math.exp(-z * n) if reset else c
    return float(a), float(beta), float(gamma), float(z)


def fit_device(measurement, *, name: str | None = None, cycles: bool = True) -> DeviceFit:
    """Fit the non-linear response, the write noise and the cycle-to-cycle variation of a measured device.

    Parameters
    ----------
    measurement : PulseMeasurement, str or Path
        The reads, or a ``.json`` / ``.csv`` file (:func:`read_measurement`).
    name : str, optional
        Name of the fitted device (default: the measurement's).
    cycles : bool
        Keep the per-cycle fits as the device's ``cycles`` table (needs at least two cycles).

    Returns
    -------
    DeviceFit
        ``.device`` is the fitted :class:`VCMDevice` (``n_pulses`` = N of the sweeps).
    """
    m = measurement if isinstance(measurement, PulseMeasurement) else read_measurement(measurement, name=name)
    _check_measurement(m)
    where = m.source or m.name
    n = m.n_pulses
    p = np.arange(n + 1, dtype=float)
    g0 = np.nanmean(m.g_set[:, 0]) if np.isfinite(m.g_set[:, 0]).any() else np.nanmean(m.g_reset[:, 0])
    g1 = np.nanmean(m.g_set[:, n]) if np.isfinite(m.g_set[:, n]).any() else np.nanmean(m.g_reset[:, n])
    if not (np.isfinite(g0) and np.isfinite(g1) and g1 > g0):
        raise ValueError(f"{where}: non-monotone conductance: the high state ({1e6 * g1:.4g} uS) does not lie above "
                         f"the low state ({1e6 * g0:.4g} uS)")
    gs, gr = (m.g_set - g0) / (g1 - g0), (m.g_reset - g0) / (g1 - g0)
    means = []
    for g, reset in ((gs, False), (gr, True)):
        keep = np.isfinite(g)
        means.append(_fit_mean(np.broadcast_to(p, g.shape)[keep], g[keep], reset, n, where))
    (a_s, b_s), (a_r, b_r) = means
    table, cycle_rms = [], []
    for c in range(m.n_cycles):
        row, rms = [], []
        for g, reset in ((gs[c], False), (gr[c], True)):
            coef = _fit_cycle(p, g, n, reset)
            keep = np.isfinite(g)
            res = g[keep] - _g4(p[keep], coef, reset)
            row += coef
            rms.append(float(np.std(res, ddof=1)))
        table.append(row + rms)
        cycle_rms.append(rms)
    cycle_rms = np.array(cycle_rms)
    use_cycles = cycles and m.n_cycles >= 2
    try:
        dev = VCMDevice(G0_uS=float(1e6 * g0), G1_uS=float(1e6 * g1), n_pulses=n, a_set=a_s, b_set=b_s, a_reset=a_r,
                        b_reset=b_r, sigma_set=float(cycle_rms[:, 0].mean()),
                        sigma_reset=float(cycle_rms[:, 1].mean()), cycles=table if use_cycles else None,
                        name=name or m.name)
    except ValueError as exc:
        raise ValueError(f"{where}: the fitted model is not a valid device: {exc}") from None
    rms = [float(np.sqrt(np.nanmean((g - _g2(p, a, b, n, reset)) ** 2)))
           for g, (a, b), reset in ((gs, means[0], False), (gr, means[1], True))]
    return DeviceFit(device=dev, rms_set=rms[0], rms_reset=rms[1], cycle_rms=cycle_rms,
                     mean_curve=np.vstack([np.nanmean(gs, 0), np.nanmean(gr, 0)]), source=where,
                     params={"n_cycles": m.n_cycles, "n_pulses": n, "zeta_max_set": _ZETA_MAX[False],
                             "zeta_max_reset": _ZETA_MAX[True]})


# ----------------------------------------------------------------------------- comparing
def compare_fits(fitted: VCMDevice, reference: VCMDevice, *, step: float = 0.25) -> dict:
    """How far two devices' response curves lie apart, on p = 0 .. N in steps of ``step`` pulses (fractions of
    the conductance range): ``mean`` (max over SET and RESET of the mean responses), ``cycles`` / ``cycles_rms``
    (max over cycles and both branches of the largest / RMS difference of the per-cycle responses; NaN unless both
    have tables of one length), ``sigma`` (largest relative difference of the device write noises) and ``G_rel``
    (of G0, G1)."""
    if fitted.n_pulses != reference.n_pulses:
        raise ValueError(f"fitted, reference: n_pulses differ ({fitted.n_pulses} vs {reference.n_pulses})")
    p = np.arange(0.0, fitted.n_pulses + step / 2, step)
    mean = max(np.max(np.abs(fitted.set_response(p) - reference.set_response(p))),
               np.max(np.abs(fitted.reset_response(p) - reference.reset_response(p))))
    cyc = cyc_rms = float("nan")
    if fitted.cycles is not None and reference.cycles is not None and len(fitted.cycles) == len(reference.cycles):
        cyc = cyc_rms = 0.0
        for a, b in zip(np.asarray(fitted.cycles), np.asarray(reference.cycles)):
            for sl, reset in ((slice(0, 4), False), (slice(4, 8), True)):
                d = np.abs(_g4(p, a[sl], reset) - _g4(p, b[sl], reset))
                cyc, cyc_rms = max(cyc, float(d.max())), max(cyc_rms, float(np.sqrt(np.mean(d ** 2))))
    sig = max(abs(fitted.sigma_set / reference.sigma_set - 1) if reference.sigma_set else 0.0,
              abs(fitted.sigma_reset / reference.sigma_reset - 1) if reference.sigma_reset else 0.0)
    g_rel = max(abs(fitted.G0_uS / reference.G0_uS - 1) if reference.G0_uS else 0.0,
                abs(fitted.G1_uS / reference.G1_uS - 1))
    return {"mean": float(mean), "cycles": cyc, "cycles_rms": cyc_rms, "sigma": float(sig), "G_rel": float(g_rel)}


# ----------------------------------------------------------------------------- device files
def save_devices(devices: VCMDevice | Sequence[VCMDevice], path, *, fits: Sequence[DeviceFit] | None = None) -> Path:
    """Write one or more devices (and, optionally, their fit diagnostics) as a device file (JSON)."""
    from neuroflow._utils import dumps

    devs = [devices] if isinstance(devices, VCMDevice) else list(devices)
    if not devs or not all(isinstance(d, VCMDevice) for d in devs):
        raise ValueError("devices: expected a VCMDevice or a non-empty sequence of them")
    payload = {"format": DEVICE_FILE_FORMAT, "version": 1, "devices": [d.to_dict() for d in devs]}
    if fits is not None:
        payload["fits"] = [{k: v for k, v in f.to_dict().items() if k != "device"} for f in fits]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(payload, indent=1))
    return path


def load_devices(path) -> tuple[VCMDevice, ...]:
    """The devices of a device file written by :func:`save_devices` (``neuroflow maze fit-device``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != DEVICE_FILE_FORMAT or not isinstance(data.get("devices"),
                                                                                                 list):
        raise ValueError(f"{path}: not a device file (expected a JSON object with format {DEVICE_FILE_FORMAT!r} and "
                         "a list of devices, as `neuroflow maze fit-device` writes)")
    if not data["devices"]:
        raise ValueError(f"{path}: the device file holds no devices")
    out = []
    for i, d in enumerate(data["devices"]):
        try:
            out.append(VCMDevice.from_dict(d))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: device {i + 1}: {exc}") from None
    return tuple(out)
