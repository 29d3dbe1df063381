"""SNU cell, surrogate gradient, the two VAD models, the bin encoder, NumPy inference and model files."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neuroflow.vad.encoding import BinEncoder
from neuroflow.vad.inference import NumpySNN
from neuroflow.vad.snn import BinSNNVAD, SNUCell, SNUVAD, build_model, load_model, save_model, spike


def test_spike_is_a_step_with_sigmoid_surrogate_gradient():
    x = torch.tensor([-1.0, -0.1, 0.0, 0.2, 3.0], requires_grad=True)
    y = spike(x, 4.0)
    assert y.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    y.sum().backward()
    sig = torch.sigmoid(4.0 * x.detach())
    assert torch.allclose(x.grad, 4.0 * sig * (1 - sig))


def test_snu_cell_follows_its_equations_by_hand():
    cell = SNUCell(2, 1, tau=2.0, bias=-1.0)
    with torch.no_grad():
        cell.weight.copy_(torch.tensor([[1.0, 0.5]]))
    leak = math.exp(-0.5)
    x = torch.tensor([[[0.6, 0.0], [0.6, 0.0], [0.0, 0.0], [0.0, 0.0]]])
    y, (s, _) = cell(x)
    # s1 = 0.6 (no spike: 0.6 - 1 < 0); s2 = 0.6 + leak*0.6 = 0.964 (no spike);
    # s3 = leak*0.964 = 0.585; s4 = leak*0.585
    s_expected = [0.6, 0.6 + leak * 0.6]
    s_expected += [leak * s_expected[-1], leak * leak * s_expected[-1]]
    assert y[0, :, 0].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert s.item() == pytest.approx(s_expected[-1], rel=1e-6)
    # a strong input spikes, and the spike resets the next step's leak term
    x = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])
    y, (s, _) = cell(x)
    assert y[0, :, 0].tolist() == [1.0, 0.0]
    assert s.item() == pytest.approx(0.0)
    soft = SNUCell(2, 1, soft=True, bias=0.0)
    with torch.no_grad():
        soft.weight.copy_(torch.tensor([[1.0, 0.0]]))
    y, _ = soft(torch.tensor([[[0.5, 0.0]]]))
    assert y.item() == pytest.approx(1 / (1 + math.exp(-0.5)))


def test_recurrent_cell_uses_previous_spikes():
    cell = SNUCell(1, 2, recurrent=True, bias=-0.5, tau=1.0)
    with torch.no_grad():
        cell.weight.copy_(torch.tensor([[1.0], [0.0]]))
        cell.recurrent_weight.copy_(torch.tensor([[0.0, 0.0], [2.0, 0.0]]))
    y, _ = cell(torch.tensor([[[1.0], [0.0]]]))
    assert y[0].tolist() == [[1.0, 0.0], [0.0, 1.0]]  # neuron 1 fires a step after neuron 0


def test_bin_first_projection_of_a_stream_s_few_frames_sums_the_bands_as_a_file_s():
    """A stream's chunks (up to 64 frames) gather all bands' weight rows at once (the loop over the 48 bands cost
    ~100 us a 10 ms chunk); their sum over the bands is the loop's, in the same order, bit for bit."""
    from neuroflow.vad import inference
    from neuroflow.vad.detect import SpikingVADSystem

    runner = SpikingVADSystem("bin").runner
    rng = np.random.default_rng(4)
    feats = (rng.standard_normal((3000, runner.n_features)) * 2).astype(np.float32)
    whole = runner._first_drive(feats)  # band by band (3000 frames)
    parts, i = [], 0
    while i < len(feats):
        n = int(rng.integers(1, inference._GATHERED_FRAMES + 1))
        parts.append(runner._first_drive(feats[i:i + n]))
        i += n
    assert np.array_equal(np.concatenate(parts), whole)


def test_bin_first_projection_of_one_hidden_unit_sums_a_stream_s_bands_as_a_file_s():
    """With one first-layer unit the gathered rows' band axis is the innermost one, which NumPy sums pairwise (eight
    partial sums): a stream of a bin model trained with --hidden 1 scored other floats than the file (up to 1e-3
    here). Its few frames now add the bands in order too."""
    from neuroflow.vad import inference

    runner = NumpySNN(build_model("bin", n_mels=40, hidden=(1,), seed=3))
    rng = np.random.default_rng(5)
    runner.bin_rows = (rng.standard_normal(runner.bin_rows.shape) * 100).astype(np.float32)
    feats = (rng.standard_normal((500, runner.n_features)) * 2).astype(np.float32)
    whole = runner._first_drive(feats)  # band by band (500 frames)
    for n in (1, 2, 17, inference._GATHERED_FRAMES):
        parts = [runner._first_drive(feats[i:i + n]) for i in range(0, len(feats), n)]
        assert np.array_equal(np.concatenate(parts), whole), n


@pytest.mark.parametrize("kind", ["snu", "bin"])
def test_models_run_learnable_and_numpy_matches_torch(kind):
    model = build_model(kind, n_mels=12, hidden=(10,), seed=3, recurrent=(kind == "snu"))
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(80, 12)).astype(np.float32)
    model.fit_input(feats)
    out = model(torch.as_tensor(feats)[None])
    assert out.prob.shape == (1, 80) and len(out.spikes) == 1
    assert set(torch.unique(out.spikes[0]).tolist()) <= {0.0, 1.0}
    out.prob.mean().backward()
    assert model.layers[0].weight.grad.abs().sum() > 0  # gradient reaches the first layer through spikes
    runner = NumpySNN(model)
    p, state, spikes = runner.run(feats, record=True)
    assert np.allclose(p, out.prob[0].detach().numpy(), atol=1e-5)
    assert np.array_equal(spikes[0], out.spikes[0][0].detach().numpy())
    p1, st, _ = runner.run(feats[:33])
    p2, st, _ = runner.run(feats[33:34], st)
    p3, _, _ = runner.run(feats[34:], st)
    assert np.array_equal(np.concatenate([p1, p2, p3]), p)  # chunks give one call's numbers bit for bit
    # same seed, same network
    again = build_model(kind, n_mels=12, hidden=(10,), seed=3, recurrent=(kind == "snu"))
    assert torch.equal(again.layers[0].weight, build_model(kind, n_mels=12, hidden=(10,), seed=3,
                                                           recurrent=(kind == "snu")).layers[0].weight)


def test_bin_encoder_one_spike_per_band_and_quantile_edges():
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(4000, 5)) * np.arange(1, 6)
    enc = BinEncoder(4).fit(feats)
    code = enc.transform(feats)
    assert code.shape == (4000, 20)
    assert np.all(code.reshape(4000, 5, 4).sum(axis=2) == 1)  # one-hot per band
    occupancy = code.mean(axis=0)
    assert np.allclose(occupancy, 0.25, atol=0.01)  # quantile edges: equally used bins
    model = BinSNNVAD(n_mels=5, n_bins=4, hidden=(3,))
    model.fit_input(feats)
    torch_code = model.encode(torch.as_tensor(feats, dtype=torch.float32)[None])[0].numpy()
    assert np.array_equal(torch_code, code)
    with pytest.raises(ValueError, match="n_bins"):
        BinEncoder(1)
    with pytest.raises(ValueError, match="mel bands"):
        enc.transform(np.zeros((3, 6)))
    with pytest.raises(ValueError, match="fit"):
        BinEncoder(3).transform(feats)


def test_save_load_roundtrip_and_bad_files(tmp_path):
    model = SNUVAD(n_mels=8, hidden=(6,), seed=1)
    model.fit_input(np.random.default_rng(0).normal(size=(50, 8)))
    with torch.no_grad():
        model.layers[0].weight_mask[0, :4] = 0
    path = save_model(model, tmp_path / "m.pt", threshold=0.37, smoothing={"median": 3, "hangover": 2},
                      info={"note": "x"})
    loaded = load_model(path)
    x = torch.randn(1, 20, 8)
    assert torch.allclose(loaded.model(x).prob, model(x).prob)
    assert loaded.threshold == pytest.approx(0.37) and loaded.smoothing["median"] == 3
    assert loaded.model.layers[0].weight_mask[0, :4].sum() == 0
    with pytest.raises(ValueError, match=r"\(batch, time, 8\)"):
        loaded.model(torch.randn(1, 5, 40))  # features of another configuration
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable"):
        load_model(tmp_path / "junk.pt")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="kind"):
        build_model("lstm")
    payload = torch.load(path, weights_only=True)
    payload["config"]["n_mels"] = 12  # a feature configuration the weights were not made for
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(ValueError, match="do not fit the stored configuration"):
        load_model(tmp_path / "mismatch.pt")


def _damaged(tmp_path, name, change, kind="snu"):
    """The shipped ``kind`` model with ``change(payload)`` applied, saved as ``name``."""
    from neuroflow.vad.detect import MODELS_DIR

    payload = torch.load(MODELS_DIR / f"{kind}.pt", weights_only=True)
    change(payload)
    torch.save(payload, tmp_path / name)
    return tmp_path / name


def _set(where: str, key: str, value):
    def change(payload):
        d = payload
        for part in where.split("."):
            d = d[part] if part else d
        d[key] = value(d[key]) if callable(value) else value
    return change


@pytest.mark.parametrize("kind, where, key, value, field", [
    ("snu", "state_dict", "feature_std", torch.zeros_like, "state_dict feature_std holds 48 values <= 0"),
    ("snu", "state_dict", "feature_std", lambda v: -v, "state_dict feature_std holds 48 values <= 0"),
    ("snu", "state_dict", "feature_mean", lambda v: v * float("inf"), "NaN or infinite values in feature_mean"),
    ("snu", "state_dict", "layers.0.weight_mask", lambda v: 0.5 * v.float(),
     "state_dict layers.0.weight_mask holds values other than 0 and 1"),
    ("bin", "state_dict", "bin_edges", lambda v: v.flip(1), "state_dict bin_edges are not in increasing order"),
    ("snu", "state_dict", "layers.1.weight", lambda v: v * float("nan"), "NaN or infinite values in layers.1.weight"),
])
def test_a_damaged_model_file_is_refused_naming_the_field(tmp_path, kind, where, key, value, field):
    path = _damaged(tmp_path, "d.pt", _set(where, key, value), kind)
    with pytest.raises(ValueError) as err:
        load_model(path)
    assert str(err.value).startswith(f"{path}: damaged spiking-VAD model ({field}"), str(err.value)


@pytest.mark.parametrize("where, key, value, field", [  # the recipe's own checks (recipe.setting_problem)
    ("config.features", "tonality_window", 1e9,
     "config features tonality_window: expected a number <= 10, got 1000000000.0"),
    ("config.features", "modulation_window", 1e9, "config features modulation_window: expected a number <= 10, got"),
    ("config.features", "modulation_window", -1.0, "config features modulation_window: expected seconds spanning"),
    ("config.features", "floor_window", 10**9, "config features floor_window: expected an integer in [1, 6000], got"),
    ("config.features", "n_fft", 10**9, "config features n_fft: expected a whole number of samples in [400, 4096]"),
    ("config.features", "n_mels", 10**6, "config features n_mels: expected an integer in [1, 128], got 1000000"),
    ("config", "hidden", [10**7], "config hidden: expected layers of 1 to 4096 units, got [10000000]"),
    ("config", "hidden", [64] * 100, "config hidden: expected at most 8 layers, got 100"),
    ("config", "n_mels", 10**6, "config n_mels: expected an integer in [1, 128], got 1000000"),
    ("config", "tau", float("nan"), "config tau: expected a number >= 0.01, got nan"),
    ("config", "slope", 0.0, "config slope: expected a number in (0, 100], got 0.0"),
    ("config", "features", "x", "config features is a str, expected a dict"),
])
def test_sizes_and_windows_of_a_model_file_are_range_checked_naming_the_field(tmp_path, where, key, value, field):
    path = _damaged(tmp_path, "d.pt", _set(where, key, value))
    with pytest.raises(ValueError) as err:
        load_model(path)
    assert str(err.value).startswith(f"{path}: damaged spiking-VAD model ({field}"), str(err.value)


def test_a_plain_pickle_is_one_error_without_torchs_protocol_warning(tmp_path):
    import pickle
    import warnings

    path = tmp_path / "p.pt"
    path.write_bytes(pickle.dumps({"format": "not ours", "x": [1, 2, 3]}, protocol=4))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="not a readable neuroflow spiking-VAD model"):
            load_model(path)
    assert not seen, [str(w.message) for w in seen]
