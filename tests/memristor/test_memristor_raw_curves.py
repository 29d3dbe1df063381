"""Validate the device model against the measured curves in ../shared/data/vcm_raw (skips without ../shared)."""
import json

import numpy as np
import pytest

from neuroflow.memristor import get_device


def _raw(shared_dir):
    files = sorted((shared_dir / "data" / "vcm_raw").glob("*.json"))
    if not files:
        pytest.skip("no measured curves in ../shared/data/vcm_raw")
    return files


def test_preset_matches_measured_curves(shared_dir):
    devices = {d.name: d for d in get_device("portner2025")}
    files = _raw(shared_dir)
    assert len(files) == 27
    for f in files:
        data = json.loads(f.read_text())
        name = "D" + f.name.split("_D", 1)[1].split("__")[0]
        dev = devices[name]
        assert dev.G0_uS == pytest.approx(data["G0"] * 1e6, rel=1e-4)
        assert dev.G1_uS == pytest.approx(data["G1"] * 1e6, rel=1e-4)
        assert dev.a_set == pytest.approx(data["alpha_set"], rel=1e-4)
        assert dev.b_reset == pytest.approx(data["beta_reset"], rel=1e-4)
        n, reps = data["N"], data["repeats"]
        p = np.arange(n + 1)
        g_set = np.asarray(data["Gset_norm"]).reshape(reps, n + 1)
        g_reset = np.asarray(data["Greset_norm"]).reshape(reps, n + 1)
        # the mean model follows the cycle-averaged curve
        assert np.sqrt(np.mean((g_set.mean(0) - dev.set_response(p)) ** 2)) < 0.06
        assert np.sqrt(np.mean((g_reset.mean(0) - dev.reset_response(p)) ** 2)) < 0.06
        # each cycle's four-parameter fit leaves residuals with exactly that cycle's noise level
        for c, row in enumerate(np.asarray(dev.cycles)):
            a, b, g, z = row[:4]
            res_s = g_set[c] - (a + b * p - g * np.exp(-z * p))
            a, b, g, z = row[4:8]
            res_r = g_reset[c] - (a + b * p + g * np.exp(z * p))
            assert np.std(res_s, ddof=1) == pytest.approx(row[8], rel=0.01)
            assert np.std(res_r, ddof=1) == pytest.approx(row[9], rel=0.01)
        # the device-level write noise is the mean of the cycle noises
        assert dev.sigma_set == pytest.approx(np.mean(np.asarray(dev.cycles)[:, 8]), rel=1e-3)
