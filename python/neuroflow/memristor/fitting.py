"""Fit the VCM device model to a measured SET/RESET pulse sequence, compare fits, and write and read device files.

The measurement (:mod:`neuroflow.memristor.measurement`: JSON as the shipped raw measurements, or CSV) holds
cycles of a SET and a RESET sweep on the pulse coordinate p. The fit, step by step (the procedure the shipped
fits of the 27 measured devices follow; see ``../shared/data/vcm_devices.csv``):

1. ``G0`` / ``G1``: the mean over cycles of the SET sweep's reads at p = 0 and p = N (where a SET sweep has no
   read at p = 0 or N, the RESET sweeps' reads there); the data are normalised, ``g = (G - G0) / (G1 - G0)``.
2. Mean response: the two-parameter model of :class:`~neuroflow.memristor.VCMDevice` fitted to all normalised
   points of all SET sweeps, and separately of all RESET sweeps, by :func:`scipy.optimize.curve_fit` from
   ``(a, b) = (-0.005, 0.05)``. Should that curve not increase over [0, N] (noisy, nearly linear data can do
   this), it is refitted with ``a <= 0``, which keeps the model increasing (an addition to the shipped
   procedure; none of the 27 measured devices needs it).
3. Per-cycle response (cycle-to-cycle variability): ``SET alpha + beta p - gamma exp(-zeta p)`` and
   ``RESET alpha + beta p + gamma exp(zeta p)`` fitted to each sweep with ``beta, gamma >= 0``, which keeps every
   fit non-decreasing in p, and ``0 <= zeta <= 0.5`` (SET) or ``0.1`` (RESET), the ranges of the shipped fits.
   For fixed zeta the model is linear in (alpha, beta, gamma), so zeta is first chosen on a grid (a bounded linear least-squares solve per grid
   point, by enumerating the active sets of the two bounds), then all four parameters are refined with
   :func:`scipy.optimize.least_squares` (the RESET exponential is written ``gamma' exp(zeta (p - N))`` so the
   problem stays well scaled).
4. Write noise: per sweep, the standard deviation (ddof = 1) of the normalised reads about that sweep's
   four-parameter fit; the device's ``sigma_set`` / ``sigma_reset`` are their means over cycles.

The parameters of these models trade off against each other (a slightly different (a, b) or (gamma, zeta) gives
nearly the same curve), so refits are compared by their response curves (:func:`compare_fits`), not only by
their parameters.

Device files (:func:`save_devices`, :func:`load_devices`) hold one or more devices as JSON and are what
``neuroflow maze ... --device dev.json`` reads.
"""
from __future__ import annotations

import math
from os import PathLike
from dataclasses import dataclass, field, fields as dataclass_fields
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from neuroflow._utils import check_bool, is_number, read_json, short_repr
from neuroflow.memristor.device import VCMDevice, _g2, _g4
from neuroflow.memristor.measurement import (MAX_CONDUCTANCE_S, MIN_CONDUCTANCE_S, PulseMeasurement, check_measurement,
                                             read_measurement)

__all__ = ["DeviceFit", "fit_device", "save_devices", "load_devices", "compare_fits", "DEVICE_FILE_FORMAT"]

#: the ``format`` tag of a device file
DEVICE_FILE_FORMAT = "neuroflow-vcm-devices"
#: largest zeta of the SET and RESET exponentials: the range of the shipped fits (their zeta values lie on grids of
#: step 1/9990 up to 0.5 for SET and 0.0971 for RESET); a steeper RESET term would chase the first few reads
_ZETA_MAX = {False: 0.5, True: 0.1}
_ZETA_GRID = {r: np.linspace(z / 1000, z, 1000) for r, z in _ZETA_MAX.items()}
_MEAN_P0 = (-0.005, 0.05)


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
    cycles = check_bool(cycles, "cycles")
    if name not in (None, ""):   # checked before the fit (name=5 was refused by VCMDevice once the fit had run)
        VCMDevice(name=name)
    if not isinstance(measurement, (PulseMeasurement, str, PathLike)):   # None: "expected str, bytes or os.PathLike"
        raise ValueError(f"measurement: expected a PulseMeasurement or a .json / .csv file, got "
                         f"{type(measurement).__name__}")
    m = measurement if isinstance(measurement, PulseMeasurement) else read_measurement(measurement, name=name)
    check_measurement(m)
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
#: compare_fits: the most points on p = 0 .. N its curves are compared at
MAX_COMPARE_POINTS = 10**6


def compare_fits(fitted: VCMDevice, reference: VCMDevice, *, step: float = 0.25) -> dict:
    """How far two devices' response curves lie apart, as conductances on p = 0 .. N (steps of ``step`` pulses),
    in fractions of the reference's range ``G1 - G0`` (so a different G0 or G1 counts too): ``mean`` (largest
    difference of the mean SET and RESET responses), ``cycles`` / ``cycles_rms`` (largest / largest RMS difference
    of the per-cycle responses over cycles and both branches; NaN unless both have tables of one length),
    ``sigma`` (largest relative difference of the write noises, each in its own device's range) and ``G_rel``
    (of G0, G1)."""
    for name, dev in (("fitted", fitted), ("reference", reference)):
        if not isinstance(dev, VCMDevice):
            raise ValueError(f"{name}: expected a VCMDevice, got {type(dev).__name__}")
    if fitted.n_pulses != reference.n_pulses:
        raise ValueError(f"fitted, reference: n_pulses differ ({fitted.n_pulses} vs {reference.n_pulses})")
    lo = fitted.n_pulses / MAX_COMPARE_POINTS  # a finer grid only costs memory (step 1e-9: a 1.5 TiB array)
    if not is_number(step, finite=True) or not lo <= step <= fitted.n_pulses:
        raise ValueError(f"step: expected a number of pulses in [{lo:g}, {fitted.n_pulses}], got {step!r}")
    p = np.arange(0.0, fitted.n_pulses + step / 2, step)
    span = reference.G1_uS - reference.G0_uS

    def uS(dev, g):
        return dev.G0_uS + (dev.G1_uS - dev.G0_uS) * g

    mean = max(np.max(np.abs(uS(fitted, fitted.set_response(p)) - uS(reference, reference.set_response(p)))),
               np.max(np.abs(uS(fitted, fitted.reset_response(p)) - uS(reference, reference.reset_response(p))))) / span
    cyc = cyc_rms = float("nan")
    if fitted.cycles is not None and reference.cycles is not None and len(fitted.cycles) == len(reference.cycles):
        cyc = cyc_rms = 0.0
        for a, b in zip(np.asarray(fitted.cycles), np.asarray(reference.cycles)):
            for sl, reset in ((slice(0, 4), False), (slice(4, 8), True)):
                d = np.abs(uS(fitted, _g4(p, a[sl], reset)) - uS(reference, _g4(p, b[sl], reset))) / span
                cyc, cyc_rms = max(cyc, float(d.max())), max(cyc_rms, float(np.sqrt(np.mean(d ** 2))))
    sig = max(abs(fitted.sigma_set / reference.sigma_set - 1) if reference.sigma_set else 0.0,
              abs(fitted.sigma_reset / reference.sigma_reset - 1) if reference.sigma_reset else 0.0)
    g_rel = max(abs(fitted.G0_uS / reference.G0_uS - 1) if reference.G0_uS else 0.0,
                abs(fitted.G1_uS / reference.G1_uS - 1))
    return {"mean": float(mean), "cycles": cyc, "cycles_rms": cyc_rms, "sigma": float(sig), "G_rel": float(g_rel)}


# ----------------------------------------------------------------------------- device files
def save_devices(devices: VCMDevice | Sequence[VCMDevice], path, *, fits: Sequence[DeviceFit] | None = None) -> Path:
    """Write one or more devices (and, optionally, their fit diagnostics) as a device file (JSON)."""
    from neuroflow._utils import dumps, write_text_atomic

    from neuroflow.cliutil import check_output_file

    devs = [devices] if isinstance(devices, VCMDevice) else list(devices) if isinstance(devices, Iterable) else []
    if not devs or not all(isinstance(d, VCMDevice) for d in devs):   # devices=5: "'int' object is not iterable"
        raise ValueError("devices: expected a VCMDevice or a non-empty sequence of them")
    for i, dev in enumerate(devs):   # what load_devices refuses is not written (a file no maze verb would read)
        problem = _conductance_problem(dev)
        if problem:
            raise ValueError(f"devices: device {i + 1} ({dev.name}): {problem}")
    path = check_output_file(path, "path", (".json",))   # a folder ended in IsADirectoryError, .txt was written
    payload = {"format": DEVICE_FILE_FORMAT, "version": 1, "devices": [d.to_dict() for d in devs]}
    if fits is not None:
        payload["fits"] = [{k: v for k, v in f.to_dict().items() if k != "device"} for f in fits]
    return write_text_atomic(path, dumps(payload, indent=1))


def _conductance_problem(dev: VCMDevice) -> str | None:
    """G0 or G1 outside the range read_measurement accepts (so fit-device, device files and --device agree)."""
    lo_uS, hi_uS = 1e6 * MIN_CONDUCTANCE_S, 1e6 * MAX_CONDUCTANCE_S
    for key in ("G0_uS", "G1_uS"):
        value = getattr(dev, key)
        if abs(value) > hi_uS or (key == "G1_uS" and value < lo_uS):
            return (f"{key}: {value:.3g} uS, far {'above' if abs(value) > hi_uS else 'below'} any memristor's "
                    f"conductance (expected {lo_uS:g} to {hi_uS:g} uS)")
    return None


def load_devices(path) -> tuple[VCMDevice, ...]:
    """The devices of a device file written by :func:`save_devices` (``neuroflow maze fit-device``)."""
    path = Path(path)
    data = read_json(path, "device file")
    if not isinstance(data, dict) or data.get("format") != DEVICE_FILE_FORMAT or not isinstance(data.get("devices"),
                                                                                                 list):
        raise ValueError(f"{path}: not a device file (expected a JSON object with format {DEVICE_FILE_FORMAT!r} and "
                         "a list of devices, as `neuroflow maze fit-device` writes)")
    version = data.get("version", 1)
    if isinstance(version, bool) or version != 1:  # a file from a newer neuroflow: its fields may mean other things
        raise ValueError(f"{path}: device file version {data.get('version')!r}; this neuroflow reads version 1")
    if not data["devices"]:
        raise ValueError(f"{path}: the device file holds no devices")
    fields = [f.name for f in dataclass_fields(VCMDevice)]
    out = []
    for i, d in enumerate(data["devices"]):
        try:
            dev = VCMDevice.from_dict(d)
            missing = [k for k in fields if k not in d]   # save_devices writes every field: a default would hide it
            if missing:
                raise ValueError(f"missing {', '.join(missing)}")
            problem = _conductance_problem(dev)
            if problem:
                raise ValueError(problem)
            out.append(dev)
        except (TypeError, ValueError) as exc:
            name = d.get("name") if isinstance(d, dict) else None
            name = "" if not isinstance(name, str) else f" ({name if name.isprintable() else short_repr(name, 40)})"
            raise ValueError(f"{path}: device {i + 1}{name}: {exc}") from None
    return tuple(out)
