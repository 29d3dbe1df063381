"""Lottery-ticket pruning masks and the synaptic-operation / power count on a hand-counted toy net."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroflow.vad import pruning
from neuroflow.vad.energy import LOIHI_PJ_PER_SOP, energy_report, fan_out, layer_rates, synaptic_ops
from neuroflow.vad.snn import SNUVAD, BinSNNVAD


def test_prune_schedule_reaches_target():
    assert pruning.prune_schedule(0.85, 0.5) == pytest.approx([0.5, 0.75, 0.85])
    assert pruning.prune_schedule(0.85, 0.9) == pytest.approx([0.85])
    with pytest.raises(ValueError, match="target"):
        pruning.prune_schedule(1.0, 0.5)
    with pytest.raises(ValueError, match="rate"):
        pruning.prune_schedule(0.5, 0.0)


def test_magnitude_pruning_masks_smallest_and_never_revives():
    model = SNUVAD(n_mels=10, hidden=(8,), recurrent=True, seed=0)
    w0 = model.layers[0].weight.detach().clone()
    kept = pruning.prune_to(model, 0.5)
    report = pruning.mask_report(model)
    assert report["sparsity"] == pytest.approx(0.5, abs=0.02)
    m = model.layers[0].weight_mask
    assert kept["layers.0.weight"] == 40
    # the removed ones are the smallest in magnitude
    assert w0.abs()[m == 0].max() <= w0.abs()[m == 1].min()
    assert torch.all(model.layers[0].weight[m == 0] == 0)
    snap = {k: v + 1.0 for k, v in pruning.snapshot(model).items()}  # a rewind point with no zeros
    pruning.rewind(model, snap)
    assert torch.all(model.layers[0].weight[m == 0] == 0)  # rewinding keeps the mask
    before = m.clone()
    pruning.prune_to(model, 0.8)
    assert torch.all(model.layers[0].weight_mask <= before)  # pruned connections stay pruned
    assert pruning.mask_report(model)["sparsity"] == pytest.approx(0.8, abs=0.02)
    pruning.prune_to(model, 0.9, scope="global")
    assert pruning.mask_report(model)["sparsity"] == pytest.approx(0.9, abs=0.02)


def test_masked_weights_do_not_matter_in_forward():
    model = SNUVAD(n_mels=6, hidden=(5,), seed=2)
    pruning.prune_to(model, 0.6)
    x = torch.randn(2, 15, 6)
    p = model(x).prob
    with torch.no_grad():  # garbage where the mask is 0 changes nothing
        model.layers[0].weight.add_(100.0 * (1 - model.layers[0].weight_mask))
    assert torch.equal(model(x).prob, p)


def test_lottery_ticket_loop_prunes_rewinds_and_retrains():
    model = SNUVAD(n_mels=20, hidden=(10,), seed=2)
    start = pruning.snapshot(model)
    calls = []

    def train(round_):
        calls.append((round_, pruning.mask_report(model)["sparsity"]))
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.01)
        return {"round": round_}

    res = pruning.lottery_ticket(model, train, start, target=0.85, rate=0.5)
    assert [c[0] for c in calls] == [1, 2, 3]
    assert [r.sparsity for r in res.rounds] == pytest.approx([0.5, 0.75, 0.85], abs=0.02)
    assert all(r.sparsity >= s for r, s in zip(res.rounds, [0.5, 0.75, 0.85]))  # kept counts round down
    assert res.final_sparsity >= 0.85


def test_energy_counts_by_hand_on_a_toy_net():
    # 3 inputs -> 2 spiking hidden -> 1 soft output; weights chosen so the fan-outs are easy to count
    model = SNUVAD(n_mels=3, hidden=(2,), seed=0)
    with torch.no_grad():
        model.layers[0].weight.copy_(torch.tensor([[1.0, 0.0, 2.0], [0.5, 0.0, 0.0]]))
        model.layers[1].weight.copy_(torch.tensor([[0.3, 0.0]]))
        model.layers[0].weight_mask.copy_((model.layers[0].weight != 0).float())
        model.layers[1].weight_mask.copy_((model.layers[1].weight != 0).float())
    w = model.layers[0].masked_weight().detach().numpy()
    assert fan_out(w).tolist() == [2, 0, 1]
    assert synaptic_ops(np.array([[1, 1, 1], [0, 0, 1]]), w) == 4.0  # 3 + 1
    # graded inputs: all 3 lines active each frame -> 2 + 0 + 1 = 3 SOPs; hidden neuron 0 spikes in
    # half the frames and has fan-out 1, neuron 1 has fan-out 0 -> 0.5 SOPs; 3 neuron updates
    rates = {"input": [1.0, 1.0, 1.0], "hidden": [[0.5, 0.25]]}
    rep = energy_report(model, rates)
    assert rep.synaptic_ops_per_frame == pytest.approx(3.5)
    assert rep.neuron_updates_per_frame == 3
    assert rep.sops_per_s == pytest.approx(650.0)
    assert rep.power_uW == pytest.approx(650.0 * 23.6e-12 * 1e6)
    assert rep.synapses == 4 and rep.synapses_total == 8 and rep.sparsity == pytest.approx(0.5)
    assert rep.spikes_per_frame == pytest.approx(0.75)
    assert rep.spikes_per_neuron_per_frame == pytest.approx(0.375)
    assert LOIHI_PJ_PER_SOP == 23.6 and "Loihi" in rep.source
    with pytest.raises(ValueError, match="frame_rate"):
        energy_report(model, rates, frame_rate=0)


def test_measured_rates_of_bin_model_have_one_event_per_band():
    model = BinSNNVAD(n_mels=4, n_bins=3, hidden=(6,), seed=0)
    feats = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    model.fit_input(feats)
    rates = layer_rates(model, [feats[:120], feats[120:]])
    assert rates["frames"] == 200
    assert sum(rates["input"]) == pytest.approx(4.0)  # one spike per band per frame
    rep = energy_report(model, rates)
    assert rep.input_events_per_frame == pytest.approx(4.0)
    assert rep.synaptic_ops_per_frame >= 4.0 * 6 * (1 - rep.sparsity) - 1e-9
