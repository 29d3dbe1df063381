"""Energy and latency per TD update: operation counts of the maze kernels and the per-operation model."""
import numpy as np
import pytest

from neuroflow.memristor import EnergyModel, update_cost
from neuroflow.rl import ActorCritic


def test_tmaze_operation_counts_follow_the_steps():
    """T-maze, one-hot inputs: a move reads 2 actor weights and V(s), V(s') (eq. 3) and updates 3 weights; the
    goal's own update reads and updates one weight. Ideal synapses apply no pulses."""
    res = ActorCritic("tmaze", synapse="ideal").fit(30, 4, seed=0, progress=False).result_
    ops = res.ops_per_episode()
    reached = (res.steps < 300).mean(0)
    np.testing.assert_allclose(ops["weight_reads"], 4 * res.steps_mean + reached)
    np.testing.assert_allclose(ops["weight_updates"], 3 * res.steps_mean + reached)
    assert np.all(ops["set_pulses"] == 0) and np.all(ops["reset_pulses"] == 0)
    mem = ActorCritic("tmaze", synapse="memristor").fit(30, 4, seed=0, progress=False).result_.ops_per_episode()
    assert mem["set_pulses"].sum() > 0 and mem["reset_pulses"].sum() > 0


def test_energy_report_is_the_counts_times_the_model():
    res = ActorCritic("tmaze", synapse="memristor").fit(20, 3, seed=1, progress=False).result_
    m = EnergyModel(read_time_s=2e-6)
    rep = update_cost(res, m)
    ops = res.ops_per_episode()
    want = ops["set_pulses"] * 2.5 ** 2 * 43.7e-6 * 1.5e-6 + ops["reset_pulses"] * 2.7 ** 2 * 43.7e-6 * 10e-6 \
        + ops["weight_reads"] * 0.2 ** 2 * 43.7e-6 * 2e-6
    np.testing.assert_allclose(rep.crossbar_energy_J, want)
    np.testing.assert_allclose(rep.crossbar_time_s, ops["set_pulses"] * 1.5e-6 + ops["reset_pulses"] * 1e-5
                               + 2 * res.steps_mean * 2e-6)
    d = rep.to_dict()
    assert d["total_per_seed"]["crossbar_energy_J"] == pytest.approx(want.sum())
    assert d["per_update"]["crossbar_energy_J"] == pytest.approx(want.sum() / res.steps_mean.sum())
    ideal = update_cost(ActorCritic("tmaze", synapse="ideal").fit(5, 2, progress=False).result_).to_dict()
    assert "crossbar_energy_J" not in ideal["per_update"] and ideal["per_update"]["digital_energy_J"] > 0


@pytest.mark.parametrize("field", ["set_voltage_V", "read_time_s", "digital_mult_J", "conductance_uS"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan")])
def test_energy_model_refuses_non_positive_constants(field, value):
    with pytest.raises(ValueError, match=field):
        EnergyModel(**{field: value})
