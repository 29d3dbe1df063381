"""Figures of the VAD area: HTER against SNR, a detection over a waveform, a training history, a scene.

Each function draws one figure from results the library computes and writes it to ``path``
(format from the suffix); the CLI, the demo and the examples all call these.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neuroflow._utils import as_list, check_array, plain_text, pyplot, save_figure, short_repr
from neuroflow.vad.audio import SAMPLE_RATE
from neuroflow.vad.features import frame_times


def plot_hter(results, path, title: str = "Frame-level HTER against SNR") -> Path:
    """HTER (%) against SNR (dB), one line per :class:`~neuroflow.vad.metrics.EvalResult`."""
    from neuroflow.vad.metrics import EvalResult

    if isinstance(results, EvalResult):  # was "'EvalResult' object is not iterable"
        raise TypeError("results: expected a list of EvalResult, got one EvalResult (give [result])")
    results = as_list(results, "results", "EvalResult")
    other = next((r for r in results if not (hasattr(r, "system") and isinstance(getattr(r, "per_snr", None), dict))),
                 None)  # an EvalResult, or anything with its system and per_snr
    if other is not None:  # a string was drawn letter by letter into "'str' object has no attribute 'per_snr'"
        raise TypeError(f"results: expected a list of EvalResult, got one holding {short_repr(other)}")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        snrs = sorted(r.per_snr, key=float)
        ax.plot([float(s) for s in snrs], [100 * r.per_snr[s].HTER for s in snrs], marker="o",
                label=plain_text(r.system))
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel("HTER (%)")
    ax.set_title(plain_text(title))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_detection(wav, det, path, title: str = "", labels=None) -> Path:
    """Waveform with the detected segments shaded and the speech score against the threshold;
    ``labels`` (0/1 per 10 ms frame), when known, are drawn under the score as the reference."""
    from neuroflow.vad.detect import Detection

    if not isinstance(det, Detection):  # was "'NoneType' object has no attribute 'segments'" past the drawing
        raise TypeError(f"det: expected a Detection (SpikingVADSystem.detect_array / detect_file), got "
                        f"{type(det).__name__}")
    wav = check_array(wav, "wav", ndim=1)  # 16 kHz mono, as detection read it; a 2-d array was drawn as lines
    if labels is not None:
        labels = check_array(labels, "labels", ndim=1)
    plt = pyplot()
    fig, ax = plt.subplots(2, 1, figsize=(10, 4.2), sharex=True)
    t = np.arange(len(wav)) / SAMPLE_RATE
    step = max(1, len(wav) // 20000)
    ax[0].plot(t[::step], wav[::step], lw=0.5, color="k", label="waveform")
    for i, (a, b) in enumerate(det.segments):
        ax[0].axvspan(a, b, color="tab:green", alpha=0.25, label="detected speech" if i == 0 else None)
        ax[1].axvspan(a, b, color="tab:green", alpha=0.15)
    ax[0].set_ylabel("amplitude")
    ax[0].set_title(plain_text(title or f"{det.model}: {len(det.segments)} speech segment(s)"))
    ax[0].legend(loc="upper right", fontsize=8)
    ft = np.arange(len(det.speech_prob)) * det.hop_s
    if labels is not None:
        lt = np.arange(len(labels)) * det.hop_s
        ax[1].fill_between(lt, 0, np.asarray(labels, float), step="post", color="tab:orange", alpha=0.3,
                           label="true speech")
    ax[1].plot(ft, det.speech_prob, color="tab:blue", lw=0.8, label="speech score")
    ax[1].axhline(det.rules.threshold, color="grey", ls="--", lw=0.8, label=f"threshold {det.rules.threshold:g}")
    ax[1].set_ylim(-0.02, 1.02)
    ax[1].set_ylabel("speech score")
    ax[1].set_xlabel("time (s)")
    ax[1].legend(loc="upper right", fontsize=8, ncol=3)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_history(history: list[dict], path) -> Path:
    """Validation HTER and pruned fraction (left) and hidden spike rate (right) per epoch of a training run."""
    history = as_list(history, "history", "epoch records")
    keys = ("val_hter", "sparsity", "train_spike_rate")
    odd = next((h for h in history if not (isinstance(h, dict) and all(k in h for k in keys))), None)
    if odd is not None:  # was a KeyError of the first missing key
        raise ValueError(f"history: expected epoch records with {', '.join(keys)} (TrainResult.history), got "
                         f"{short_repr(odd)}")
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    x = range(1, len(history) + 1)
    lines = ax[0].plot(x, [100 * h["val_hter"] for h in history], "o-", label="validation HTER")
    ax[0].set_xlabel("epoch (all rounds)")
    ax[0].set_ylabel("HTER (%)")
    ax2 = ax[0].twinx()
    lines += ax2.plot(x, [100 * h["sparsity"] for h in history], "s--", color="grey", label="connections pruned")
    ax2.set_ylabel("connections pruned (%)")
    ax[0].legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="center right")
    ax[1].plot(x, [h["train_spike_rate"] for h in history], "o-")
    ax[1].set_xlabel("epoch (all rounds)")
    ax[1].set_ylabel("spikes / neuron / frame")
    ax[1].set_title("hidden activity (training)", fontsize=9)
    from matplotlib.ticker import MaxNLocator

    for a in ax:
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return save_figure(fig, path)


def plot_scene(wav, labels, scores: dict, path, title: str) -> Path:
    """Log-mel spectrogram of a scene over its labels and the scores of several systems (``{name: scores}``)."""
    from neuroflow.vad.features import logmel

    feats = logmel(wav)
    if len(feats) == 0:  # was "index -1 is out of bounds" at the time axis
        raise ValueError(f"wav: {np.size(wav)} samples is shorter than one 10 ms frame; nothing to draw")
    labels = check_array(labels, "labels", ndim=1)
    if not isinstance(scores, dict):
        raise TypeError(f"scores: expected a dict of system name -> scores, got {type(scores).__name__}")
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    t = frame_times(len(feats))
    a1.imshow(feats.T, origin="lower", aspect="auto", extent=(0, t[-1] + 0.01, 0, feats.shape[1]))
    a1.set_ylabel("mel band")
    a1.set_title(plain_text(title))
    a2.fill_between(t, np.asarray(labels[: len(t)], float), step="post", alpha=0.3, color="tab:orange",
                    label="true speech")
    for name, s in scores.items():
        a2.plot(t[: len(s)], s, lw=0.8, label=plain_text(name))
    a2.set_xlabel("time (s)")
    a2.set_ylabel("speech score")
    a2.legend(fontsize=7, loc="upper right", ncol=2)
    fig.tight_layout()
    return save_figure(fig, path)
