"""Energy and latency of the TD updates of a maze run: on a memristor crossbar and on a digital processor.

The estimate works from the operations a run counted (:meth:`neuroflow.rl.MazeResult.ops_per_episode`: SET and
RESET pulses, weight reads, weight updates, steps) and per-operation constants (:class:`EnergyModel`).

Crossbar (the in-memory scheme of Portner et al. 2025: the weights are read where they are stored, the TD error
is one summed read current, eq. 3, and the update is a train of programming pulses):

* a programming pulse of voltage V and width t through a device of conductance G dissipates ``V^2 G t``;
* a device read at the read voltage dissipates ``V_read^2 G t_read``;
* latency per TD step: two read phases (the actor row that picks the action, then the TD-error read of the
  critic column) plus the programming pulses applied one after another (an upper bound: a crossbar can program
  some devices in parallel).

Only the devices are counted: drivers, sense amplifiers and converters of a real chip add to both energy and
time, so the crossbar numbers are lower bounds of the device-level cost.

Digital processor (the same update in 32-bit floating point, weights in an on-chip SRAM cache): every weight
read is a load, a multiply and an add (the dot products of the critic and the actor); every weight update a
load, a multiply, an add and a store; each step adds the TD error itself (two multiplies, two adds). Latency:
every operation in series at one operation per clock cycle.

Where the constants come from (defaults of :class:`EnergyModel`):

* SET +2.5 V for 1.5 us, RESET -2.7 V for 10 us, reads at 0.2 V: the pulse settings of the 27 measured devices
  (fields ``V``, ``W`` and ``read_V`` of every raw measurement file published with Portner, Zellweger,
  Martinelli et al., Nat. Mach. Intell. 2025; ``../shared/data/vcm_raw``).
* Device conductance 43.7 uS: the mean of (G0 + G1) / 2 over those 27 devices (:mod:`neuroflow.memristor`
  preset "portner2025"). The conductance at the programming voltage differs from the read conductance (the I-V
  curve is non-linear), so the pulse energy is a first-order estimate.
* Read time 1 us: an assumption (the measurement files do not state the read duration); the read energy scales
  with it.
* 32-bit float multiply 3.7 pJ, add 0.9 pJ, and 5 pJ per 32-bit load or store (half the 10 pJ of a 64-bit access
  to an 8 kB cache): Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm,
  0.9 V.
* Digital clock 1 ns per operation: an assumption (one operation per cycle at 1 GHz, no parallelism).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from neuroflow._utils import check_positive

__all__ = ["EnergyModel", "EnergyReport", "update_cost"]


@dataclass(frozen=True)
class EnergyModel:
    """Per-operation constants (SI units); the module text says where each default comes from."""

    set_voltage_V: float = 2.5
    set_width_s: float = 1.5e-6
    reset_voltage_V: float = 2.7
    reset_width_s: float = 10e-6
    read_voltage_V: float = 0.2
    read_time_s: float = 1e-6
    conductance_uS: float = 43.7
    digital_mult_J: float = 3.7e-12
    digital_add_J: float = 0.9e-12
    digital_load_J: float = 5e-12
    digital_store_J: float = 5e-12
    digital_op_time_s: float = 1e-9

    def __post_init__(self):
        for key, value in asdict(self).items():
            check_positive(value, key)

    @property
    def set_pulse_J(self) -> float:
        return self.set_voltage_V ** 2 * self.conductance_uS * 1e-6 * self.set_width_s

    @property
    def reset_pulse_J(self) -> float:
        return self.reset_voltage_V ** 2 * self.conductance_uS * 1e-6 * self.reset_width_s

    @property
    def read_J(self) -> float:
        return self.read_voltage_V ** 2 * self.conductance_uS * 1e-6 * self.read_time_s


@dataclass
class EnergyReport:
    """Energy (J) and latency (s) per episode (mean over seeds) and in total (sum over the episodes, mean over
    seeds), on the crossbar (``None`` for ideal synapses, which have no devices) and on a digital processor;
    ``per_update`` holds the means per TD update (per step)."""

    episode_steps: np.ndarray
    digital_energy_J: np.ndarray
    digital_time_s: np.ndarray
    crossbar_energy_J: np.ndarray | None
    crossbar_time_s: np.ndarray | None
    model: EnergyModel = field(default_factory=EnergyModel)

    def _total(self, a):
        return None if a is None else float(np.nansum(a))

    def per_update(self) -> dict:
        """Means per TD update (per step); NaN where the run took no step (interrupted before any episode
        finished: this was a ZeroDivisionError, a traceback after Ctrl-C instead of the interrupted run's JSON)."""
        steps = float(np.nansum(self.episode_steps))
        if steps == 0:
            keys = ["digital_energy_J", "digital_time_s"] + (["crossbar_energy_J", "crossbar_time_s",
                                                              "energy_ratio_digital_over_crossbar"]
                                                             if self.crossbar_energy_J is not None else [])
            return dict.fromkeys(keys, float("nan"))
        out = {"digital_energy_J": self._total(self.digital_energy_J) / steps,
               "digital_time_s": self._total(self.digital_time_s) / steps}
        if self.crossbar_energy_J is not None:
            out["crossbar_energy_J"] = self._total(self.crossbar_energy_J) / steps
            out["crossbar_time_s"] = self._total(self.crossbar_time_s) / steps
            out["energy_ratio_digital_over_crossbar"] = out["digital_energy_J"] / out["crossbar_energy_J"]
        return out

    def to_dict(self) -> dict:
        total = {"digital_energy_J": self._total(self.digital_energy_J),
                 "digital_time_s": self._total(self.digital_time_s)}
        per_episode = {"digital_energy_J": self.digital_energy_J, "digital_time_s": self.digital_time_s}
        if self.crossbar_energy_J is not None:
            total.update(crossbar_energy_J=self._total(self.crossbar_energy_J),
                         crossbar_time_s=self._total(self.crossbar_time_s))
            per_episode.update(crossbar_energy_J=self.crossbar_energy_J, crossbar_time_s=self.crossbar_time_s)
        return {"per_update": self.per_update(), "total_per_seed": total, "per_episode": per_episode,
                "model": asdict(self.model),
                "note": "devices only for the crossbar (no peripheral circuits); see neuroflow.memristor.energy"}


def update_cost(result, model: EnergyModel | None = None) -> EnergyReport:
    """Energy and latency of the TD updates of a maze run (a :class:`neuroflow.rl.MazeResult`).

    Parameters
    ----------
    result : MazeResult
        A finished (or interrupted) run; its operation counts per episode are used.
    model : EnergyModel, optional
        Per-operation constants (default: the cited defaults, see the module text).

    Returns
    -------
    EnergyReport
    """
    m = EnergyModel() if model is None else model
    if not isinstance(m, EnergyModel):
        raise ValueError(f"model: expected an EnergyModel, got {type(model).__name__}")
    if not callable(getattr(result, "ops_per_episode", None)):
        raise ValueError(f"result: expected a maze run (neuroflow.rl.MazeResult), got {type(result).__name__}")
    ops = result.ops_per_episode()
    steps = ops["steps"]
    reads, updates = ops["weight_reads"], ops["weight_updates"]
    d_ops = reads * 3 + updates * 4 + steps * 4
    d_energy = (reads * (m.digital_load_J + m.digital_mult_J + m.digital_add_J)
                + updates * (m.digital_load_J + m.digital_mult_J + m.digital_add_J + m.digital_store_J)
                + steps * 2 * (m.digital_mult_J + m.digital_add_J))
    report = EnergyReport(episode_steps=steps, digital_energy_J=d_energy, digital_time_s=d_ops * m.digital_op_time_s,
                          crossbar_energy_J=None, crossbar_time_s=None, model=m)
    if result.synapse != "ideal":
        sets, resets = ops["set_pulses"], ops["reset_pulses"]
        report.crossbar_energy_J = sets * m.set_pulse_J + resets * m.reset_pulse_J + reads * m.read_J
        report.crossbar_time_s = sets * m.set_width_s + resets * m.reset_width_s + 2 * steps * m.read_time_s
    return report
