"""VCM memristor device model: configuration dataclass, presets and device tables for the kernels.

A device maps a pulse coordinate ``p`` in ``[0, N]`` to a normalised conductance ``g = (G - G0)/(G1 - G0)``.
``p = N`` is the high state; SET pulses walk ``p`` up, RESET pulses walk it down. The mean response is the
two-parameter model of Portner et al. (2025)::

    SET   g(p) = [1 - (a p + exp(-b p))] / [1 - (a N + exp(-b N))]
    RESET g(p) = 1 - [1 - (a q + exp(-b q))] / [1 - (a N + exp(-b N))],   q = N - p

(``b = 0`` is the linear device ``g = p/N``). Every write adds Gaussian noise with standard deviation
``sigma_set`` / ``sigma_reset`` (fractions of ``G1 - G0``). Cycle-to-cycle variability is the optional table
``cycles``: one row per measured SET/RESET cycle with the four-parameter fits
``SET alpha + beta p - gamma exp(-zeta p)`` and ``RESET alpha + beta p + gamma exp(zeta p)`` and that cycle's
noise; a device in "cycle" mode programs through the current cycle's fit and moves to the neighbouring cycle
after every second change of the update sign (one SET plus one RESET sweep).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from neuroflow._utils import check_choice, check_positive, short_repr

__all__ = ["VCMDevice", "DeviceTable", "PRESETS", "get_device", "device_table", "portner2025_roles", "device_digest"]


def _g2(p, a, b, n, reset):
    """Mean two-parameter response (vectorised NumPy; the kernels have a scalar twin)."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, n)
    if abs(b) < 1e-12:
        return p / n
    denom = 1.0 - (a * n + np.exp(-b * n))
    if not reset:
        return (1.0 - (a * p + np.exp(-b * p))) / denom
    q = n - p
    return 1.0 - (1.0 - (a * q + np.exp(-b * q))) / denom


def _g4(p, coeffs, reset):
    alpha, beta, gamma, zeta = coeffs
    p = np.asarray(p, dtype=float)
    if reset:
        return alpha + beta * p + gamma * np.exp(zeta * p)
    return alpha + beta * p - gamma * np.exp(-zeta * p)


#: most pulses a device may take for its full range (the memory of its response tables grows with it)
MAX_PULSES = 100_000


@dataclass(frozen=True)
class VCMDevice:
    """One analogue VCM memristor (configuration only; state lives in :class:`~neuroflow.memristor.Crossbar`).

    Parameters
    ----------
    G0_uS, G1_uS : low / high conductance bound in microsiemens (weights are ``(G - G0)/(G1 - G0)``).
    n_pulses : pulses for the full range (N, 200 for the measured devices).
    a_set, b_set, a_reset, b_reset : parameters of the non-linear mean response (``b = 0``: linear).
    sigma_set, sigma_reset : write-noise standard deviation as a fraction of the range, drawn once per write.
    cycles : optional ``(n_cycles, 10)`` table for cycle-to-cycle variability: SET alpha, beta, gamma, zeta,
        RESET alpha, beta, gamma, zeta, sigma_set, sigma_reset of each measured cycle.
    read_noise : standard deviation of a read (fraction of the range); 0 = noiseless reads.
    name : label used in reports.
    """

    G0_uS: float = 10.0
    G1_uS: float = 100.0
    n_pulses: int = 200
    a_set: float = 0.0
    b_set: float = 0.0
    a_reset: float = 0.0
    b_reset: float = 0.0
    sigma_set: float = 0.0
    sigma_reset: float = 0.0
    cycles: tuple | None = field(default=None, repr=False)
    read_noise: float = 0.0
    name: str = "custom"

    def __post_init__(self):
        # the name labels reports, plots and device files: one printable line of text
        if not isinstance(self.name, str) or not self.name.strip() or not self.name.isprintable():
            raise ValueError(f"name: expected a non-empty name on one line of printable text, got {self.name!r}")
        for key in ("G0_uS", "G1_uS", "a_set", "b_set", "a_reset", "b_reset"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(value):
                raise ValueError(f"{key}: expected a finite number, got {value!r}")
        check_positive(self.G0_uS, "G0_uS", allow_zero=True)
        if not self.G1_uS > self.G0_uS:
            raise ValueError(f"G1_uS: expected a value above G0_uS={self.G0_uS}, got {self.G1_uS!r}")
        check_positive(self.n_pulses, "n_pulses", integer=True)
        if self.n_pulses > MAX_PULSES:
            raise ValueError(f"n_pulses: expected at most {MAX_PULSES} pulses for the full range (the measured "
                             f"devices take 200), got {self.n_pulses!r}")
        for key in ("sigma_set", "sigma_reset", "read_noise"):
            check_positive(getattr(self, key), key, allow_zero=True)
            if getattr(self, key) > 1.0:
                raise ValueError(f"{key}: expected a standard deviation of at most the whole range (1.0), "
                                 f"got {getattr(self, key)!r}")
        grid = np.linspace(0.0, self.n_pulses, 8 * self.n_pulses + 1)
        for kind, reset, a, b in (("SET", False, self.a_set, self.b_set), ("RESET", True, self.a_reset, self.b_reset)):
            with np.errstate(all="ignore"):   # an overflow is refused below, by name, not warned about
                g = _g2(grid, a, b, self.n_pulses, reset)
            if not np.all(np.isfinite(g)) or np.any(np.diff(g) <= 0.0):
                raise ValueError(
                    f"a_{kind.lower()}, b_{kind.lower()}: the {kind} response with a={a!r}, b={b!r} is not strictly "
                    f"increasing on p in [0, {self.n_pulses}] (expected a monotonic device)")
        if self.cycles is not None:
            try:
                table = np.asarray(self.cycles, dtype=float)
            except (TypeError, ValueError):   # text, a mapping, rows of different lengths
                raise ValueError(f"cycles: expected a table of numbers, n_cycles >= 2 rows of 10, got "
                                 f"{type(self.cycles).__name__} {short_repr(self.cycles, 40)}") from None
            if table.ndim != 2 or table.shape[1] != 10 or table.shape[0] < 2:
                raise ValueError(f"cycles: expected shape (n_cycles >= 2, 10), got {table.shape}")
            if not np.all(np.isfinite(table)) or np.any(table[:, 8:] < 0):
                raise ValueError("cycles: expected finite values and non-negative noise columns")
            for i, row in enumerate(table):
                for kind, reset, coeffs in (("SET", False, row[0:4]), ("RESET", True, row[4:8])):
                    with np.errstate(all="ignore"):   # huge coefficients overflow: refused below, not warned about
                        g = _g4(grid, coeffs, reset)
                    if not np.all(np.isfinite(g)):
                        raise ValueError(f"cycles: the {kind} fit of cycle {i} overflows (conductances beyond the "
                                         f"floating-point range on p in [0, {self.n_pulses}])")
                    if np.any(np.diff(g) <= 0.0):
                        raise ValueError(f"cycles: the {kind} fit of cycle {i} is not strictly increasing in p")
            object.__setattr__(self, "cycles", tuple(map(tuple, table.tolist())))

    # ------------------------------------------------------------------ responses
    @property
    def linear(self) -> bool:
        return abs(self.b_set) < 1e-12 and abs(self.b_reset) < 1e-12

    def set_response(self, p) -> np.ndarray:
        """Normalised conductance after ``p`` SET pulses from the low state (mean model)."""
        return _g2(p, self.a_set, self.b_set, self.n_pulses, False)

    def reset_response(self, p) -> np.ndarray:
        """Normalised conductance at pulse coordinate ``p`` of the RESET branch (``p = N`` high, RESET lowers p)."""
        return _g2(p, self.a_reset, self.b_reset, self.n_pulses, True)

    def conductance_uS(self, w) -> np.ndarray:
        return self.G0_uS + (self.G1_uS - self.G0_uS) * np.asarray(w, dtype=float)

    def replace(self, **changes) -> "VCMDevice":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["cycles"] = None if self.cycles is None else [list(r) for r in self.cycles]
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "VCMDevice":
        """The device :meth:`to_dict` describes (unknown keys are refused by name)."""
        if not isinstance(data, dict):
            raise ValueError(f"device: expected a mapping of VCMDevice fields, got {type(data).__name__}")
        _check_fields(data)
        return cls(**data)


def _check_fields(kwargs: dict) -> None:
    known = [f.name for f in dataclasses.fields(VCMDevice)]
    unknown = [k for k in kwargs if k not in known]
    if unknown:
        raise ValueError(f"{', '.join(map(str, unknown))}: not a VCMDevice field (expected some of {known})")


# ----------------------------------------------------------------------------- presets
def _portner2025() -> tuple[VCMDevice, ...]:
    from neuroflow.memristor import _portner2025 as data

    out = []
    for row in data.DEVICES:
        dev_id, _, _, g0, g1, a_s, b_s, a_r, b_r, s_s, s_r = row
        out.append(VCMDevice(G0_uS=g0, G1_uS=g1, n_pulses=200, a_set=a_s, b_set=b_s, a_reset=a_r, b_reset=b_r,
                             sigma_set=s_s, sigma_reset=s_r, cycles=data.CYCLES[dev_id], name=dev_id))
    return tuple(out)


def portner2025_roles(task: str) -> list[str]:
    """Role of each of the 27 measured devices in the published runs, in preset order.

    T-maze: ``"C<s>"`` is the critic weight of state s, ``"A<s>_<a>"`` the actor weight (s, a). Water maze:
    ``"C<k>"``; critic weight i uses device ``C<i mod 27>``; actor weights use a fixed random mapping.
    """
    from neuroflow.memristor import _portner2025 as data

    check_choice(task, "task", ["tmaze", "watermaze"])
    col = 1 if task == "tmaze" else 2
    return [row[col] for row in data.DEVICES]


PRESETS = ("ideal", "linear-noisy", "portner2025")


def get_device(name: str, /, **overrides):
    """A preset by name: ``"ideal"`` (linear, noiseless), ``"linear-noisy"`` (linear, 5 % write noise) or
    ``"portner2025"`` (tuple of the 27 measured devices). Keyword overrides replace :class:`VCMDevice` fields (of
    every device of the preset), ``name`` among them (it was a TypeError, "got multiple values for argument
    'name'"); any other keyword is refused with a ValueError naming it."""
    check_choice(name, "device", PRESETS)
    _check_fields(overrides)
    if name == "ideal":
        return VCMDevice(**{"name": "ideal", **overrides})
    if name == "linear-noisy":
        kw = dict(sigma_set=0.05, sigma_reset=0.05, name="linear-noisy")
        kw.update(overrides)
        return VCMDevice(**kw)
    devices = _portner2025()
    if overrides:
        devices = tuple(d.replace(**overrides) for d in devices)
    return devices


def device_digest(devices: VCMDevice | Sequence[VCMDevice]) -> str:
    """A short hash of every field of ``devices`` (one device or a sequence of them, in order): what a checkpoint
    or a sweep point records so that a device file refitted under the same device names is told apart."""
    import hashlib
    import json

    devs = (devices,) if isinstance(devices, VCMDevice) else tuple(devices)
    text = json.dumps([d.to_dict() for d in devs], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- tables for the kernels
@dataclass
class DeviceTable:
    """Devices flattened into arrays (what the kernels read). ``cycles`` is (n_devices, n_cycles, 10)."""

    n_pulses: int
    G0_uS: np.ndarray
    G1_uS: np.ndarray
    ab: np.ndarray        # (n, 4): a_set, b_set, a_reset, b_reset
    sigma: np.ndarray     # (n, 2): sigma_set, sigma_reset
    cycles: np.ndarray    # (n, n_cycles, 10) (n_cycles = 0 when no device has a table)
    read_noise: np.ndarray
    names: list

    @property
    def has_cycles(self) -> bool:
        return self.cycles.shape[1] > 0

    def __len__(self):
        return len(self.names)


def device_table(devices: VCMDevice | Sequence[VCMDevice] | str) -> DeviceTable:
    """Flatten one device, a sequence of devices or a preset name into a :class:`DeviceTable`."""
    if isinstance(devices, str):
        devices = get_device(devices)
    if isinstance(devices, VCMDevice):
        devices = (devices,)
    # device=5 ended in "'int' object is not iterable"
    devices = tuple(devices) if isinstance(devices, Iterable) else ()
    if not devices or not all(isinstance(d, VCMDevice) for d in devices):
        raise ValueError(f"device: expected a VCMDevice, a sequence of them or a preset name {list(PRESETS)}")
    ns = {d.n_pulses for d in devices}
    if len(ns) != 1:
        raise ValueError(f"device: all devices of one crossbar need the same n_pulses, got {sorted(ns)}")
    with_cycles = [d.cycles is not None for d in devices]
    if any(with_cycles):
        if not all(with_cycles):
            raise ValueError("device: either every device or none carries a cycles table")
        n_cyc = {len(d.cycles) for d in devices}
        if len(n_cyc) != 1:
            raise ValueError(f"device: cycles tables differ in length: {sorted(n_cyc)}")
        cycles = np.array([d.cycles for d in devices], dtype=float)
    else:
        cycles = np.zeros((len(devices), 0, 10))
    return DeviceTable(
        n_pulses=ns.pop(),
        G0_uS=np.array([d.G0_uS for d in devices], dtype=float),
        G1_uS=np.array([d.G1_uS for d in devices], dtype=float),
        ab=np.array([[d.a_set, d.b_set, d.a_reset, d.b_reset] for d in devices], dtype=float),
        sigma=np.array([[d.sigma_set, d.sigma_reset] for d in devices], dtype=float),
        cycles=np.ascontiguousarray(cycles),
        read_noise=np.array([d.read_noise for d in devices], dtype=float),
        names=[d.name for d in devices],
    )
