"""Device fitting from measured pulse sequences, device files, and bad measurement input."""
import json
import re

import numpy as np
import pytest

from neuroflow.memristor import (VCMDevice, compare_fits, fit_device, get_device, load_devices, read_measurement,
                                 save_devices, simulate_measurement, write_measurement_csv)
from neuroflow.memristor.device import _g4


def _raw(shared_dir, k=2):
    files = sorted((shared_dir / "data" / "vcm_raw").glob("*.json"))
    if not files:
        pytest.skip("no measured curves in ../shared/data/vcm_raw")
    return files[:k]


def test_refits_of_shipped_measurements_reproduce_the_shipped_fits(shared_dir):
    """Tolerances (README): mean response curves within 1e-5 of the range, per-cycle curves within 0.03 RMS,
    noise within 1 %, G0/G1 within 1e-5; every per-cycle fit at least as good (least squares) as the shipped one."""
    preset = {d.name: d for d in get_device("portner2025")}
    for path in _raw(shared_dir, 3):
        fit = fit_device(path)
        ref = preset[fit.device.name]
        c = compare_fits(fit.device, ref)
        assert c["mean"] < 1e-5 and c["cycles_rms"] < 0.03 and c["sigma"] < 0.01 and c["G_rel"] < 1e-5, c
        m = read_measurement(path)
        p = np.arange(m.n_pulses + 1.0)
        span = (fit.device.G1_uS - fit.device.G0_uS) * 1e-6
        for cyc, (a, b) in enumerate(zip(np.asarray(fit.device.cycles), np.asarray(ref.cycles))):
            for sl, reset, g in ((slice(0, 4), False, m.g_set[cyc]), (slice(4, 8), True, m.g_reset[cyc])):
                y = (g - fit.device.G0_uS * 1e-6) / span
                assert np.sum((y - _g4(p, a[sl], reset)) ** 2) <= np.sum((y - _g4(p, b[sl], reset)) ** 2) * (1 + 1e-9)


def test_json_and_csv_layouts_give_the_same_fit(shared_dir, tmp_path):
    path = _raw(shared_dir, 1)[0]
    m = read_measurement(path)
    csv = write_measurement_csv(m, tmp_path / "same.csv")
    a, b = fit_device(m), fit_device(csv, name=m.name)
    assert compare_fits(a.device, b.device)["mean"] < 1e-9
    np.testing.assert_allclose(np.asarray(a.device.cycles), np.asarray(b.device.cycles), rtol=1e-6, atol=1e-9)


def test_fit_recovers_a_simulated_device():
    dev = get_device("portner2025")[7]
    table = np.asarray(dev.cycles)
    table[:, 8:] *= 0.1                                    # quieter reads: G0, G1 are single reads per cycle
    truth = dev.replace(cycles=table, sigma_set=table[:, 8].mean(), sigma_reset=table[:, 9].mean())
    fit = fit_device(simulate_measurement(truth, seed=3))
    c = compare_fits(fit.device, truth)
    # per-cycle curves and noise are what the reads determine; the device's mean response was fitted to the
    # real reads, not to its cycle fits, so it is only close
    assert c["cycles_rms"] < 0.01 and c["sigma"] < 0.1 and c["G_rel"] < 0.005 and c["mean"] < 0.05, c
    one = fit_device(simulate_measurement(truth.replace(cycles=None), n_cycles=1, seed=0))
    assert one.device.cycles is None                       # one cycle: no cycle-to-cycle table


def test_device_files_round_trip_and_refuse_bad_content(tmp_path):
    devs = get_device("portner2025")[:2] + (get_device("ideal"),)
    path = save_devices(devs, tmp_path / "d.json")
    assert load_devices(path) == devs
    bad = {"nothing.json": "[1, 2]", "empty.json": json.dumps({"format": "neuroflow-vcm-devices", "devices": []}),
           "field.json": json.dumps({"format": "neuroflow-vcm-devices", "devices": [{"G0_uS": 1, "color": 2}]}),
           "broken.json": "{"}
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ValueError, match=name):
            load_devices(tmp_path / name)
    with pytest.raises(ValueError, match="color"):
        load_devices(tmp_path / "field.json")
    newer = json.loads(path.read_text())
    newer["version"] = 99
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    with pytest.raises(ValueError, match="newer.json: device file version 99; this neuroflow reads version 1"):
        load_devices(tmp_path / "newer.json")
    newer["version"] = True   # JSON true equals 1 in Python: it was read as version 1
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    with pytest.raises(ValueError, match="newer.json: device file version True; this neuroflow reads version 1"):
        load_devices(tmp_path / "newer.json")


def _json(tmp_path, **changes):
    n, reps = 20, 2
    p = np.arange(n + 1.0)
    data = {"N": n, "repeats": reps, "Gset": np.tile(30e-6 + 1e-6 * p, reps).tolist(),
            "Greset": np.tile(30e-6 + 1e-6 * p, reps).tolist()}
    data.update(changes)
    path = tmp_path / "m.json"
    path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))
    return path


@pytest.mark.parametrize("changes, problem", [
    (dict(Greset=None), "missing Greset"),
    (dict(N=5, Gset=[30e-6] * 12, Greset=[30e-6] * 12), "too few pulses"),
    (dict(Gset=[30e-6] * 7), "Gset: expected repeats x (N + 1) = 42 reads"),
    (dict(N=20.5), "N and repeats"),
    (dict(Gset=np.tile(50e-6 - 1e-6 * np.arange(21.0), 2).tolist()), "non-monotone conductance"),
    (dict(Greset=np.tile(50e-6 - 1e-6 * np.arange(21.0), 2).tolist()), "non-monotone conductance"),
    (dict(pset=list(range(42))), "pset"),
])
def test_bad_json_measurements_are_named(tmp_path, changes, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        fit_device(_json(tmp_path, **changes))


@pytest.mark.parametrize("suffix", [".txt", ".npz"])
def test_measurement_files_need_a_known_layout(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    path.write_text("x")
    with pytest.raises(ValueError, match="expected a .json or .csv"):
        read_measurement(path)


def test_a_fit_is_a_valid_device_for_the_crossbar(tmp_path):
    from neuroflow.memristor import Crossbar

    fit = fit_device(simulate_measurement(get_device("portner2025")[0], seed=0))
    assert isinstance(fit.device, VCMDevice)
    xb = Crossbar(2, 1, fit.device, seed=0, variability="cycle")
    assert np.all(np.abs(xb.program([[0.1], [0.2]])) > 0)


@pytest.mark.parametrize("kwargs, start", [
    ({"step": 0}, "step: expected a number of pulses in [0.0002, 200], got 0"),      # ZeroDivisionError
    ({"step": -1.0}, "step: expected a number of pulses"),                          # numpy's empty-reduction error
    ({"step": float("nan")}, "step: expected a number of pulses"),                  # 'arange: cannot compute length'
    ({"step": 1e-9}, "step: expected a number of pulses"),                          # a 1.5 TiB array
    ({"step": "1"}, "step: expected a number of pulses"),                           # TypeError
    ({"fitted": "portner2025"}, "fitted: expected a VCMDevice, got str"),          # AttributeError
])
def test_compare_fits_names_bad_arguments(kwargs, start):
    from neuroflow.memristor import compare_fits, get_device

    d = get_device("portner2025")[0]
    args = {"fitted": d, "reference": d, **kwargs}
    with pytest.raises(ValueError, match="^" + re.escape(start)):
        compare_fits(args.pop("fitted"), args.pop("reference"), **args)
