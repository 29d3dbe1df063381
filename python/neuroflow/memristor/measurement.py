"""Measured SET/RESET pulse sequences: reading them (JSON or CSV), writing CSV, and simulating one from a device.

A measurement is a sequence of cycles; each cycle is a SET sweep (N SET pulses from the low state, a read after
each) followed by a RESET sweep (N RESET pulses back down). Reads are placed on the pulse coordinate p of
:mod:`neuroflow.memristor.device`: p = number of SET pulses applied in a SET sweep, p = N - number of RESET pulses
applied in a RESET sweep (p = N is the high state). :mod:`neuroflow.memristor.fitting` fits a device to one.

Input layouts (:func:`read_measurement`):

* **JSON** as the shipped raw measurements: ``N`` (pulses per sweep), ``repeats`` (cycles), ``Gset`` and
  ``Greset`` (siemens, ``repeats * (N + 1)`` reads, cycle after cycle, each on p = 0 .. N as ``pset`` /
  ``preset`` say; the RESET reads are stored in p order, i.e. from the end of the sweep back to its start).
* **CSV** with a header and one read per row: ``pulse`` (pulses of the current sweep applied before the read,
  0 .. N; 0 is the optional read before the sweep's first pulse), ``conductance`` in siemens (or
  ``conductance_uS`` in microsiemens) and ``direction`` (``set``/``reset``, or ``+1``/``-1``). A sweep is a run of
  rows with one direction; pulse numbers restart in every sweep.
"""
from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroflow._utils import JSONContentError, check_regular_file, is_integer, loads_json, write_text_atomic
from neuroflow.memristor.device import MAX_PULSES, VCMDevice, _g4

__all__ = ["PulseMeasurement", "read_measurement", "write_measurement_csv", "simulate_measurement", "check_measurement",
           "MIN_PULSES"]

#: fewest pulses per sweep a fit accepts (the per-cycle model alone has four parameters plus the noise)
MIN_PULSES = 10
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


# ----------------------------------------------------------------------------- reading
def _default_name(path: Path) -> str:
    found = _CHIP_ID.search(path.stem)
    return found.group(0) if found else path.stem


#: conductances above this (siemens) are refused as mislabelled units
MAX_CONDUCTANCE_S = 1.0
#: conductances below this (siemens; 1 nS, a 1 GOhm device) are refused as mislabelled units or noise
MIN_CONDUCTANCE_S = 1e-9


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
    check_regular_file(path, "measurement file")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Excel's "CSV UTF-8") is skipped
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file (expected JSON or CSV)") from None
    n, g_set, g_reset = (_parse_json if path.suffix.lower() == ".json" else _parse_csv)(text, str(path))
    typical = float(np.nanmedian(np.abs(np.concatenate([np.ravel(g_set), np.ravel(g_reset)]))))
    if typical > MAX_CONDUCTANCE_S:  # microsiemens read as siemens: fitted, it gave G0 = 3.8e7 uS
        raise ValueError(f"{path}: conductances around {typical:.3g} S, far above any memristor's (the measured "
                         f"devices: 10-500 uS); if they are microsiemens, name the column conductance_uS")
    if not typical >= MIN_CONDUCTANCE_S:  # siemens read as microsiemens, or a column of zeros and noise
        raise ValueError(f"{path}: conductances around {typical:.3g} S, far below any memristor's (the measured "
                         f"devices: 10-500 uS; expected at least {MIN_CONDUCTANCE_S:g} S)"
                         + ("; if they are siemens, name the column conductance" if path.suffix.lower() == ".csv"
                            else ""))
    meas = PulseMeasurement(n_pulses=n, g_set=g_set, g_reset=g_reset, name=name or _default_name(path),
                            source=str(path))
    check_measurement(meas)
    return meas


def _parse_json(text: str, where: str):
    try:
        data = loads_json(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON ({exc})") from None
    except JSONContentError as exc:
        raise ValueError(f"{where}: {exc}") from None
    except RecursionError:
        raise ValueError(f"{where}: JSON nested too deeply to be a measurement") from None
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
    if n > MAX_PULSES:   # as in a CSV file: no device model takes more pulses per sweep
        raise ValueError(f"{where}: N: sweeps of {n} pulses; a device model takes at most {MAX_PULSES} pulses per "
                         "sweep (the measured devices: 200)")
    out = []
    for key, pkey, reverse in (("Gset", "pset", False), ("Greset", "preset", True)):
        try:
            g = np.asarray(data[key], dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {key}: expected a list of conductances in siemens") from None
        if g.ndim != 1:
            raise ValueError(f"{where}: {key}: expected a flat list of repeats x (N + 1) = {reps * (n + 1)} reads, "
                             f"got nested lists of shape {g.shape}")
        if g.size != reps * (n + 1):
            raise ValueError(f"{where}: {key}: expected repeats x (N + 1) = {reps * (n + 1)} reads, got {g.size}")
        g = g.reshape(reps, n + 1)
        if pkey in data:
            try:
                p = np.asarray(data[pkey], dtype=float)
            except (TypeError, ValueError):   # text, a mapping, lists of different lengths
                p = None
            if p is None or p.size != g.size \
                    or not np.array_equal(p.reshape(reps, n + 1), np.tile(np.arange(n + 1.0), (reps, 1))):
                raise ValueError(f"{where}: {pkey}: expected the pulse coordinates 0 .. N in every cycle")
        out.append(g)
    return n, out[0], out[1]


_DIRECTIONS = {"set": 1, "+1": 1, "1": 1, "reset": -1, "-1": -1}


def _parse_csv(text: str, where: str):
    rows = list(csv.reader(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")))
    if not rows:
        raise ValueError(f"{where}: empty file (expected a header pulse, conductance, direction and one row per read)")
    header = [h.strip().lower() for h in rows[0]]
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        raise ValueError(f"{where}: column(s) {', '.join(repeated)} appear more than once in the header {rows[0]}")
    units = [h for h in ("conductance", "conductance_s", "conductance_us") if h in header]
    if len(units) > 1:
        raise ValueError(f"{where}: columns {' and '.join(units)} both give the conductance; keep one")
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
        if len(row) < len(header) or any(f.strip() for f in row[len(header):]):  # empty trailing fields are fine
            extra = " (a decimal comma, or a column without a header?)" if len(row) > len(header) else ""
            raise ValueError(f"{where}: line {i}: expected {len(header)} fields, got {len(row)}{extra}")
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
    if n > MAX_PULSES:  # rows of n + 1 reads are allocated below: pulse 1e12 was numpy's MemoryError, 1e300 its
        # "Maximum allowed dimension exceeded", naming no file
        raise ValueError(f"{where}: sweeps of {n} pulses; a device model takes at most {MAX_PULSES} pulses per sweep "
                         "(the measured devices: 200)")
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


def _check_layout(m: PulseMeasurement, where: str) -> None:
    """The shapes a fit indexes by: a PulseMeasurement built by hand with lists, a wrong N, sweeps one read short or
    cycles of different counts ended in TypeError or IndexError inside the fit, or were cut silently."""
    if not is_integer(m.n_pulses) or m.n_pulses < 1:
        raise ValueError(f"{where}: n_pulses: expected a positive integer, got {m.n_pulses!r}")
    shapes = []
    for key in ("g_set", "g_reset"):
        g = getattr(m, key)
        if not isinstance(g, np.ndarray) or g.dtype != np.float64:
            raise ValueError(f"{where}: {key}: expected a float64 array of conductances in siemens, got "
                             f"{type(g).__name__ if not isinstance(g, np.ndarray) else g.dtype}")
        if g.ndim != 2 or g.shape[0] < 1 or g.shape[1] != m.n_pulses + 1:
            raise ValueError(f"{where}: {key}: expected shape (n_cycles >= 1, n_pulses + 1 = {m.n_pulses + 1}), got "
                             f"{g.shape}")
        shapes.append(g.shape)
    if shapes[0] != shapes[1]:
        raise ValueError(f"{where}: g_set, g_reset: expected one SET and one RESET sweep per cycle, got shapes "
                         f"{shapes[0]} and {shapes[1]}")


def check_measurement(m: PulseMeasurement) -> None:
    """Refuse, naming the problem, a measurement a fit cannot use: too few pulses, or a sweep whose
    conductance does not rise (SET) or fall (RESET)."""
    if not isinstance(m, PulseMeasurement):
        raise ValueError(f"measurement: expected a PulseMeasurement or a .json / .csv file, got {type(m).__name__}")
    where = m.source or m.name
    _check_layout(m, where)
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
    from neuroflow.cliutil import check_output_file

    if not isinstance(measurement, PulseMeasurement):   # "abc" was "'str' object has no attribute 'n_pulses'"
        raise ValueError(f"measurement: expected a PulseMeasurement, got {type(measurement).__name__}")
    _check_layout(measurement, measurement.source or measurement.name)
    # a named pipe there was written into and waited for a reader for ever; a folder was IsADirectoryError, a
    # .json name got CSV text that read_measurement then read as broken JSON
    path = check_output_file(path, "path", (".csv",))
    n = measurement.n_pulses
    lines = ["pulse,conductance_uS,direction"]
    for gs, gr in zip(measurement.g_set, measurement.g_reset):
        lines += [f"{k},{1e6 * gs[k]:.9g},set" for k in range(n + 1) if np.isfinite(gs[k])]
        lines += [f"{k},{1e6 * gr[n - k]:.9g},reset" for k in range(n + 1) if np.isfinite(gr[n - k])]
    return write_text_atomic(path, "\n".join(lines) + "\n")


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
    from neuroflow._utils import as_rng, check_memory, check_positive

    if not isinstance(device, VCMDevice):
        raise ValueError(f"device: expected a VCMDevice, got {type(device).__name__}")
    rng = as_rng(seed)
    n = device.n_pulses
    p = np.arange(n + 1.0)
    table = None if device.cycles is None else np.asarray(device.cycles)
    k = (len(table) if table is not None else 10) if n_cycles is None else int(check_positive(n_cycles, "n_cycles",
                                                                                                integer=True))
    check_memory(4 * 8 * k * (n + 1), "n_cycles")   # both sweeps, and their noise (1e9 cycles: numpy's MemoryError)
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
