"""VCM device model and presets."""
import numpy as np
import pytest

from neuroflow.memristor import PRESETS, VCMDevice, device_table, get_device, portner2025_roles
from neuroflow.memristor.kernels import _inverse, _resp


def test_portner2025_preset_has_27_devices_with_roles():
    devs = get_device("portner2025")
    assert len(devs) == 27 and len({d.name for d in devs}) == 27
    assert all(d.n_pulses == 200 and d.G1_uS > d.G0_uS > 20 and len(d.cycles) == 10 for d in devs)
    t = portner2025_roles("tmaze")
    assert sorted(t) == sorted([f"C{s}" for s in range(9)] + [f"A{s}_{a}" for s in range(9) for a in range(2)])
    assert sorted(portner2025_roles("watermaze")) == sorted(f"C{k}" for k in range(27))
    # first row of the source table (D600_R6_B12, critic of T-maze state 4)
    d = devs[0]
    assert d.name == "D600_R6_B12" and t[0] == "C4"
    assert (d.G0_uS, d.G1_uS, d.a_set, d.b_set, d.sigma_set) == (32.432, 50.5805, -0.00307711, 0.0319342, 0.0648056)


def test_responses_span_the_range_and_linear_limit():
    for d in get_device("portner2025"):
        assert d.set_response(0) == pytest.approx(0, abs=1e-12) and d.set_response(200) == pytest.approx(1)
        assert d.reset_response(0) == pytest.approx(0, abs=1e-12) and d.reset_response(200) == pytest.approx(1)
        assert np.all(np.diff(d.set_response(np.arange(201))) > 0)
        # SET is steep at the low end, RESET at the high end (the VCM asymmetry)
        assert d.set_response(100) > 0.5 > d.reset_response(100)
    lin = get_device("ideal")
    assert lin.linear and lin.set_response(50) == pytest.approx(0.25) and lin.reset_response(150) == pytest.approx(0.75)


def test_inverse_round_trips_every_measured_curve():
    tab = device_table("portner2025")
    p = np.linspace(0, 200, 41)
    worst = 0.0
    for d in range(len(tab)):
        for kind, (a, b) in ((0, tab.ab[d, :2]), (1, tab.ab[d, 2:])):
            for q in p:
                worst = max(worst, abs(_inverse(kind, _resp(kind, q, a, b, 0.0, 0.0, 200.0), a, b, 0.0, 0.0, 200.0) - q))
        for c in range(tab.cycles.shape[1]):
            for kind, coeffs in ((2, tab.cycles[d, c, :4]), (3, tab.cycles[d, c, 4:8])):
                for q in p:
                    y = _resp(kind, q, *coeffs, 200.0)
                    worst = max(worst, abs(_inverse(kind, y, *coeffs, 200.0) - q))
    assert worst < 1e-6


@pytest.mark.parametrize("kwargs, word", [
    (dict(a_set=0.005, b_set=0.05), "a_set"),           # rises then falls: not monotonic
    (dict(a_reset=0.004, b_reset=0.04), "a_reset"),
    (dict(G0_uS=50.0, G1_uS=40.0), "G1_uS"),
    (dict(sigma_set=-0.1), "sigma_set"),
    (dict(n_pulses=0), "n_pulses"),
    (dict(n_pulses=10**12), "n_pulses: expected at most"),  # its response tables would need terabytes
    (dict(read_noise=1e300), "read_noise"),                  # a read noise past the whole range
    (dict(cycles=[[0.0] * 10]), "cycles"),
    (dict(G0_uS=float("nan")), "G0_uS"),
    (dict(name=""), "^name: expected a non-empty name"),    # reports, plots and device files are labelled by it
    (dict(name="a\nb"), "^name: expected a non-empty name"),
    (dict(name=5), "^name: expected a non-empty name"),
])
def test_bad_device_parameters_are_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        VCMDevice(**kwargs)


def test_presets_and_unknown_names():
    assert set(PRESETS) == {"ideal", "linear-noisy", "portner2025"}
    assert get_device("linear-noisy").sigma_set == 0.05
    assert get_device("linear-noisy", sigma_set=0.1).sigma_set == 0.1
    with pytest.raises(ValueError, match="device"):
        get_device("hfo2")
    with pytest.raises(ValueError, match="n_pulses"):
        device_table([VCMDevice(), VCMDevice(n_pulses=100)])
