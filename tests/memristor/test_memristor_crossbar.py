"""Crossbar pulse programming and the in-memory TD error."""
import numpy as np
import pytest

from neuroflow.memristor import Crossbar, VCMDevice, get_device, td_error_current


def test_ideal_device_programs_whole_pulses_and_drops_half_pulses():
    xb = Crossbar(3, 1, "ideal", seed=0)
    pulses = xb.program([[0.1], [0.002], [-0.3]])
    assert pulses.ravel().tolist() == [20.0, 0.0, 0.0]           # 0.002 < half a pulse; RESET at 0 is a no-op
    assert xb.weights.ravel() == pytest.approx([0.1, 0.0, 0.0])
    xb.program([[0.0123], [0.0], [0.0]])                          # 2.46 pulses -> 2 pulses
    assert xb.weights[0, 0] == pytest.approx(0.11)
    for _ in range(20):
        xb.program([[0.3], [0.0], [0.0]])
    assert xb.weights[0, 0] == 1.0                                # clipped at the high state
    assert xb.program([[0.3], [0.0], [0.0]])[0, 0] == 0.0         # SET on a saturated device: nothing


def test_nonlinear_device_follows_its_pulse_response():
    dev = get_device("portner2025")[3].replace(sigma_set=0.0, sigma_reset=0.0)
    xb = Crossbar(1, 1, dev, seed=0)
    xb.program([[0.05]])                                          # 10 pulses from the low state
    assert xb.weights[0, 0] == pytest.approx(float(dev.set_response(10)), abs=1e-9)
    xb.program([[0.05]])                                          # 10 more
    assert xb.weights[0, 0] == pytest.approx(float(dev.set_response(20)), abs=1e-9)
    w = xb.weights[0, 0]
    xb.program([[-0.1]])                                          # 20 RESET pulses along the RESET branch
    p0 = np.interp(w, dev.reset_response(np.linspace(0, 200, 20001)), np.linspace(0, 200, 20001))
    assert xb.weights[0, 0] == pytest.approx(float(dev.reset_response(p0 - 20)), abs=1e-4)
    assert xb.conductance_uS[0, 0] == pytest.approx(dev.G0_uS + (dev.G1_uS - dev.G0_uS) * xb.weights[0, 0])


def test_write_noise_statistics_and_reproducibility():
    xb = Crossbar(4000, 1, VCMDevice(sigma_set=0.05, sigma_reset=0.05), seed=1)
    xb.set_weights(np.full((4000, 1), 0.5))
    xb.program(np.full((4000, 1), 0.1))
    w = xb.weights.ravel()
    assert w.mean() == pytest.approx(0.6, abs=0.005) and w.std() == pytest.approx(0.05, rel=0.06)
    again = Crossbar(4000, 1, VCMDevice(sigma_set=0.05, sigma_reset=0.05), seed=1)
    again.set_weights(np.full((4000, 1), 0.5))
    again.program(np.full((4000, 1), 0.1))
    assert np.array_equal(again.weights, xb.weights)


def test_cycle_mode_walks_through_cycles_after_two_sign_changes():
    devs = get_device("portner2025")
    xb = Crossbar(1, 1, devs[:1], seed=3, variability="cycle")
    xb.program([[0.1]])
    c0 = int(xb._cstate[0, 0, 0])
    assert 0 <= c0 <= 8 and xb._cstate[0, 0, 1] == 1
    xb.program([[-0.05]])                                         # first sign change: counter 2, same cycle
    assert xb._cstate[0, 0, 0] == c0 and xb._cstate[0, 0, 1] == 2
    xb.program([[0.05]])                                          # second: next cycle
    assert abs(int(xb._cstate[0, 0, 0]) - c0) == 1 and xb._cstate[0, 0, 1] == 1
    with pytest.raises(ValueError, match="variability"):
        Crossbar(1, 1, "ideal", variability="cycle")


def test_td_error_current_is_eq3_on_stored_conductances():
    devs = get_device("portner2025")
    xb = Crossbar(9, 1, [d.replace(sigma_set=0, sigma_reset=0) for d in devs[:9]], seed=0)
    xb.program(np.linspace(0.05, 0.45, 9)[:, None])
    w = xb.weights.ravel()
    x_t, x_n = np.eye(9)[2], np.eye(9)[3]
    got = td_error_current(xb, x_t, x_n, reward=0.0, alpha=0.2, gamma=0.9)
    assert got == pytest.approx(0.2 * (0.9 * w[3] - w[2]), abs=1e-12)
    assert td_error_current(xb, x_t, None, 1.0, 0.2, 0.9, terminal=True) == pytest.approx(0.2 * (1 - w[2]))
    with pytest.raises(ValueError, match="alpha"):
        td_error_current(xb, x_t, x_n, 0.0, 0.0, 0.9)


def test_crossbar_input_validation():
    with pytest.raises(ValueError, match="rows"):
        Crossbar(0, 1)
    with pytest.raises(ValueError, match="assignment"):
        Crossbar(2, 2, get_device("portner2025"), assignment=[[0, 1], [2, 99]])
    xb = Crossbar(2, 2, "linear-noisy", seed=0)
    with pytest.raises(ValueError, match="dw"):
        xb.program(np.zeros((3, 2)))
    assert xb.read([1.0, 0.0], noisy=False).shape == (2,)


def test_julia_backend_routes_through_the_bridge(monkeypatch):
    import sys
    import types

    calls = []
    fake = types.ModuleType("neuroflow.julia.bridge")
    fake.crossbar_program = lambda *args: calls.append(len(args)) or np.zeros((1, 2))
    monkeypatch.setitem(sys.modules, "neuroflow.julia.bridge", fake)
    import neuroflow.julia

    monkeypatch.setattr(neuroflow.julia, "bridge", fake, raising=False)
    from neuroflow.backend import JuliaBackend

    Crossbar(1, 2, "ideal", backend=JuliaBackend()).program([[0.1, 0.2]])
    assert calls == [11]


@pytest.mark.parametrize("kwargs, word", [
    (dict(column=5), "column"),
    (dict(column=-1), "column"),
    (dict(column=0.5), "column"),
    (dict(gamma=float("nan")), "gamma"),
    (dict(gamma=1.5), "gamma"),
    (dict(reward=float("inf")), "reward"),
    (dict(reward=float("nan")), "reward"),
    (dict(reward="1"), "reward"),
    (dict(alpha=2.0), "alpha"),
    (dict(alpha=float("nan")), "alpha"),
    (dict(x_t=np.ones(3)), "x_t"),
    (dict(x_next=[np.nan] * 9), "x_next"),
])
def test_td_error_current_names_bad_arguments(kwargs, word):
    xb = Crossbar(9, 2, "ideal", seed=0)
    args = dict(x_t=np.eye(9)[2], x_next=np.eye(9)[3], reward=0.0, alpha=0.2, gamma=0.9)
    args.update(kwargs)
    column = args.pop("column", 0)
    with pytest.raises(ValueError, match=word):
        td_error_current(xb, args["x_t"], args["x_next"], args["reward"], args["alpha"], args["gamma"], column=column)


@pytest.mark.parametrize("name, kwargs, word", [
    ("ideal", dict(bogus=1), "bogus"),
    ("portner2025", dict(sigma=0.1), "sigma"),
    ("linear-noisy", dict(sigma_set=float("nan")), "sigma_set"),
    ("ideal", dict(G1_uS=1.0), "G1_uS"),
])
def test_get_device_names_bad_overrides(name, kwargs, word):
    with pytest.raises(ValueError, match=word):
        get_device(name, **kwargs)


@pytest.mark.parametrize("w", [5.0, -0.1, 1.0 + 1e-9])
def test_set_weights_outside_the_device_range_is_refused(w):
    """set_weights promises exact weights; values outside [0, 1] were clipped to the range without a word."""
    xb = Crossbar(3, 2, "ideal", seed=0)
    with pytest.raises(ValueError, match=r"^w: expected weights in \[0, 1\]"):
        xb.set_weights(np.full((3, 2), w))
    xb.set_weights(np.array([[0.0, 1.0], [0.25, 0.5], [0.75, 1.0]]))
    assert xb.weights[2, 0] == 0.75
