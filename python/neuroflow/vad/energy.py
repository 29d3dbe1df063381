"""Synaptic-operation count and power estimate of a spiking VAD on neuromorphic hardware.

Counting rule (per 10 ms frame, then times the frame rate, 100 frames/s):

* a **synaptic operation** (SOP) is one input event delivered over one non-zero synapse: an input
  line that is active in a frame costs its fan-out, the number of non-zero weights leaving it.
  Spiking layers are active when they spike; the log-mel input of :class:`~neuroflow.vad.snn.SNUVAD`
  is graded, so all its ``n_mels`` lines count as active in every frame (an upper bound); the
  bin-encoded input of :class:`~neuroflow.vad.snn.BinSNNVAD` spikes once per band per frame.
  Recurrent synapses count with the layer's own spikes of the previous frame.
* every neuron is **updated** once per frame; each update counts as one operation too.

Power = (SOPs + neuron updates) per second x energy per operation. The default, 23.6 pJ per synaptic
operation, is Intel Loihi's measured minimum energy per synaptic spike operation (Davies et al.,
"Loihi: A Neuromorphic Manycore Processor with On-Chip Learning", IEEE Micro 38(1):82-99, 2018,
Table 2); charging neuron updates the same price keeps the estimate a single, stated figure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuroflow._utils import exception_reason, short_repr

#: energy per synaptic operation, Intel Loihi (Davies et al., IEEE Micro 2018, Table 2), picojoule
LOIHI_PJ_PER_SOP = 23.6
#: the largest energy per operation (pJ) :func:`model_info` takes: a microjoule, far past any chip's (Loihi 23.6 pJ),
#: so that a slip of the keyboard is refused instead of giving an infinite power
MAX_PJ_PER_SOP = 1e6
#: where that figure comes from, repeated in every report
LOIHI_SOURCE = ("Davies et al., 'Loihi: A Neuromorphic Manycore Processor with On-Chip Learning', "
                "IEEE Micro 38(1):82-99, 2018, Table 2: 23.6 pJ per synaptic spike operation")


def fan_out(weight) -> np.ndarray:
    """Non-zero synapses leaving each input line of a (n_out, n_in) weight matrix -> (n_in,)."""
    w = np.asarray(weight)
    return np.count_nonzero(w, axis=0)


def synaptic_ops(events, weight) -> float:
    """SOPs of delivering ``events`` through ``weight`` (n_out, n_in).

    ``events`` is (n_in,) (activity of each input line, per frame or as a rate) or (n_frames, n_in)
    (then the total over frames is returned).
    """
    e = np.asarray(events, dtype=np.float64)
    return float(np.sum(e @ fan_out(weight)))


@dataclass
class EnergyReport:
    """Connections, activity, operations and power of one model at ``frame_rate`` frames per second."""

    synapses: int  # non-zero connections
    synapses_total: int  # connections before pruning
    sparsity: float
    neurons: int
    spikes_per_frame: float  # spikes of all spiking (hidden) neurons in one frame
    spikes_per_neuron_per_frame: float
    input_events_per_frame: float
    synaptic_ops_per_frame: float
    neuron_updates_per_frame: float
    sops_per_frame: float  # synaptic ops + neuron updates
    sops_per_s: float
    power_uW: float
    frame_rate: float
    pj_per_sop: float
    source: str = LOIHI_SOURCE

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def layer_rates(model, feats_list) -> dict:
    """Mean activity per frame of every input line and hidden neuron, measured on log-mel sequences.

    ``feats_list`` is a list of (n_frames, n_mels) arrays. Returns ``{"input": (n_in,), "hidden":
    [(n_h,), ...]}`` as lists, in the form :func:`energy_report` takes (and models store).
    """
    import torch

    model.eval()
    n = 0
    inp = None
    hid = None
    with torch.no_grad():
        for f in feats_list:
            x = torch.as_tensor(np.asarray(f, dtype=np.float32))[None]
            if x.shape[1] == 0:
                continue
            out = model(x)
            code = model.encode(x)[0]
            events = (code != 0).float().sum(0).numpy()
            spikes = [s[0].sum(0).numpy() for s in out.spikes]
            inp = events if inp is None else inp + events
            hid = spikes if hid is None else [a + b for a, b in zip(hid, spikes)]
            n += x.shape[1]
    if n == 0:
        raise ValueError("feats_list: no frames to measure activity on")
    return {"input": (inp / n).tolist(), "hidden": [(h / n).tolist() for h in hid], "frames": n}


def energy_report(model, rates: dict, *, frame_rate: float = 100.0,
                  pj_per_sop: float = LOIHI_PJ_PER_SOP) -> EnergyReport:
    """Count operations and estimate power of ``model`` given its activity ``rates`` (:func:`layer_rates`)."""
    if frame_rate <= 0:
        raise ValueError(f"frame_rate: expected a positive number of frames per second, got {frame_rate!r}")
    if not 0 < pj_per_sop <= MAX_PJ_PER_SOP:  # NaN too
        raise ValueError(f"pj_per_sop: expected an energy per operation in (0, {MAX_PJ_PER_SOP:g}] pJ, "
                         f"got {short_repr(pj_per_sop)}")
    layers = list(model.layers)
    hidden = [np.asarray(h, dtype=np.float64) for h in rates["hidden"]]
    inputs = [np.asarray(rates["input"], dtype=np.float64), *hidden]
    if len(hidden) != len(layers) - 1:
        raise ValueError(f"rates: expected activity of {len(layers) - 1} hidden layers, got {len(hidden)}")
    syn_ops = 0.0
    for i, layer in enumerate(layers):
        w = layer.masked_weight().detach().cpu().numpy()
        if inputs[i].shape != (w.shape[1],):
            raise ValueError(f"rates: layer {i} expects {w.shape[1]} input rates, got {inputs[i].shape}")
        syn_ops += synaptic_ops(inputs[i], w)
        if layer.recurrent:
            syn_ops += synaptic_ops(hidden[i], layer.masked_recurrent_weight().detach().cpu().numpy())
    kept, total = model.n_synapses()
    neurons = model.n_neurons()
    spikes = float(sum(h.sum() for h in hidden))
    n_spiking = sum(h.size for h in hidden)
    ops = syn_ops + neurons
    sops_s = ops * frame_rate
    return EnergyReport(
        synapses=kept, synapses_total=total, sparsity=1.0 - kept / total, neurons=neurons,
        spikes_per_frame=spikes, spikes_per_neuron_per_frame=spikes / max(n_spiking, 1),
        input_events_per_frame=float(inputs[0].sum()), synaptic_ops_per_frame=syn_ops,
        neuron_updates_per_frame=float(neurons), sops_per_frame=ops, sops_per_s=sops_s,
        power_uW=sops_s * pj_per_sop * 1e-12 * 1e6, frame_rate=float(frame_rate), pj_per_sop=float(pj_per_sop))


def model_info(model="snu", audio=None, pj_per_sop: float | None = None) -> dict:
    """Size, sparsity, activity and estimated power of a saved spiking VAD.

    Parameters
    ----------
    model : str or Path
        "snu", "bin" or a model file.
    audio : str or Path, optional
        Measure the activity on this audio file instead of the training data stored with the model.
    pj_per_sop : float, optional
        Energy per operation in pJ (default :data:`LOIHI_PJ_PER_SOP`).

    Returns
    -------
    dict
        :class:`EnergyReport` fields plus the model's configuration, threshold, smoothing, validation
        HTER and recipe.
    """
    from neuroflow.vad.detect import model_path
    from neuroflow.vad.snn import load_model

    if pj_per_sop is not None and not (isinstance(pj_per_sop, (int, float)) and not isinstance(pj_per_sop, bool)
                                       and 0 < pj_per_sop <= MAX_PJ_PER_SOP):
        raise ValueError(f"pj_per_sop: expected an energy per operation in (0, {MAX_PJ_PER_SOP:g}] pJ, "
                         f"got {short_repr(pj_per_sop)}")
    loaded = load_model(model_path(model))
    if audio is not None:
        from neuroflow.vad.audio import load_audio
        from neuroflow.vad.frontend import FeatureExtractor

        wav, sr = load_audio(audio, name="audio")
        feats = FeatureExtractor(loaded.model.features).transform(wav, sr)
        if len(feats) == 0:
            raise ValueError(f"audio: {audio} is shorter than one 10 ms frame")
        rates, source = layer_rates(loaded.model, [feats]), str(audio)
    elif "rates" in loaded.info:
        rates, source = loaded.info["rates"], "training data (stored with the model)"
    else:
        raise ValueError(f"{loaded.path}: holds no measured activity; pass audio to measure it")
    pj = LOIHI_PJ_PER_SOP if pj_per_sop is None else pj_per_sop
    if audio is None:  # the record stored in the file: damage there is the file's, not the caller's
        try:
            report = energy_report(loaded.model, rates, pj_per_sop=pj)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{loaded.path}: its stored activity record is damaged ({exception_reason(exc)}); "
                             f"pass audio to measure the activity instead") from None
    else:
        report = energy_report(loaded.model, rates, pj_per_sop=pj)
    payload = report.to_dict()
    val = loaded.info.get("val") or {}
    dense = loaded.info.get("dense_val") or {}
    payload.update({"model": str(loaded.path), "kind": loaded.model.kind, "config": loaded.model.config(),
                    "threshold": loaded.threshold, "smoothing": loaded.smoothing, "activity_source": source,
                    "val_hter": val.get("hter"), "dense_val_hter": dense.get("hter"),
                    "recipe": loaded.info.get("recipe"), "train_seconds": loaded.info.get("train_seconds"),
                    "teacher_sha256": loaded.info.get("teacher_sha256")})
    return payload
