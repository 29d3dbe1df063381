"""Frame-level VAD metrics: MR, FAR, HTER, accuracy, F1, ROC-AUC, EER and DCF, overall and per noise level.

Definitions (frames of 10 ms; speech = positive class):

- MR (miss rate) = speech frames called non-speech / speech frames
- FAR (false-alarm rate) = non-speech frames called speech / non-speech frames
- HTER = (MR + FAR) / 2
- DCF = 0.75 MR + 0.25 FAR (the detection cost used by the spiking-VAD papers, weighting misses more)
- AUC = area under the ROC curve of the scores; EER = the error rate where MR equals FAR as the
  threshold moves. Both need graded scores; for hard 0/1 decisions they are still defined (a ROC
  with one corner).

Decisions are ``score >= threshold`` (0.5 by default). Per-level results pool the frames of all
scenes at SNRs 15/10 dB ("low" noise), 5/0 dB ("medium") and -5/-10 dB ("high").

A *collar* (:func:`collar_mask`) leaves the frames within ``collar`` seconds either side of every label change
unscored, as NIST's md-eval does: where exactly an utterance starts and ends (a breath, a reverberant tail) is a
matter of labelling convention, and a collar scores detection rather than boundary placement. 0 scores every frame.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from neuroflow._utils import as_list, check_array, is_number, short_repr

#: weights of the detection cost function (miss, false alarm)
DCF_WEIGHTS = (0.75, 0.25)
#: seconds per frame
FRAME_SECONDS = 0.01


@dataclass
class FrameMetrics:
    """Frame-level scores of one set of frames."""

    MR: float
    FAR: float
    HTER: float
    accuracy: float
    F1: float
    AUC: float
    EER: float
    DCF: float
    n_frames: int
    n_speech: int

    def to_dict(self) -> dict:
        return asdict(self)


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false-alarm rates, hit rates, thresholds), thresholds decreasing, starting at (0, 0)."""
    order = np.argsort(-scores, kind="mergesort")
    s = scores[order]
    y = labels[order].astype(np.float64)
    distinct = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[distinct]
    fp = (distinct + 1) - tp
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    tpr = np.r_[0.0, tp / n_pos] if n_pos else np.r_[0.0, np.zeros(len(tp))]
    fpr = np.r_[0.0, fp / n_neg] if n_neg else np.r_[0.0, np.zeros(len(fp))]
    return fpr, tpr, np.r_[np.inf, s[distinct]]


def _check_frames(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """0/1 ``labels`` as bool and ``scores`` as float64, one per frame, or ValueError naming the argument."""
    y = check_array(labels, "labels", ndim=1)
    s = check_array(scores, "scores", ndim=1)
    if len(y) != len(s):
        raise ValueError(f"scores: expected {len(y)} frames (as many as labels), got {len(s)}")
    if len(y) == 0:
        raise ValueError("labels: expected at least one frame, got none")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels: expected only 0 and 1")
    return y.astype(bool), s


def auc_eer(labels, scores) -> tuple[float, float]:
    """ROC-AUC (trapezoidal; ties count half) and equal error rate of ``scores`` against 0/1 ``labels``.

    Raises ValueError naming the argument when the lengths differ, a label is not 0/1, or only one
    class is present (neither number is defined then).
    """
    y, scores = _check_frames(labels, scores)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        raise ValueError(f"labels: AUC and EER need both classes, got only {'speech' if n_pos else 'non-speech'} "
                         f"({len(y)} frames)")
    fpr, tpr, _ = roc_curve(y, scores)
    auc = float(np.trapezoid(tpr, fpr)) if hasattr(np, "trapezoid") else float(np.trapz(tpr, fpr))
    fnr = 1.0 - tpr
    # EER: where the (piecewise linear) curves FAR(t) and MR(t) cross
    d = fpr - fnr
    k = int(np.flatnonzero(d >= 0)[0])
    if k == 0 or d[k] == 0:
        eer = float((fpr[k] + fnr[k]) / 2)
    else:
        w = d[k] / (d[k] - d[k - 1])  # linear interpolation between points k-1 and k
        eer = float(fpr[k] + w * (fpr[k - 1] - fpr[k]))
    return auc, eer


def error_rates(decision, labels) -> tuple[float, float, float]:
    """``(MR, FAR, HTER)`` of 0/1 (or bool) frame decisions against 0/1 labels.

    MR is NaN without speech frames and FAR without non-speech frames; HTER is then the other rate.
    Inputs are trusted (one array per argument, same length): the public functions validate them.
    """
    d = np.asarray(decision, dtype=bool)
    y = np.asarray(labels, dtype=bool)
    n_speech = int(y.sum())
    n_non = len(y) - n_speech
    mr = float(np.sum(~d & y) / n_speech) if n_speech else float("nan")
    far = float(np.sum(d & ~y) / n_non) if n_non else float("nan")
    hter = (mr + far) / 2 if n_speech and n_non else (far if n_non else mr)
    return mr, far, float(hter)


def check_collar(collar) -> float:
    """``collar`` as a float number of seconds (0 to an hour), or ValueError naming it."""
    if not is_number(collar, finite=True) or not 0 <= collar <= 3600:  # also keeps 10**400 from float()
        raise ValueError(f"collar: expected a number of seconds from 0 to 3600, got {short_repr(collar)}")
    return float(collar)


def collar_mask(labels, collar: float) -> np.ndarray:
    """True for the frames scored with a collar of ``collar`` seconds: False within ``collar`` seconds (rounded to
    whole 10 ms frames) either side of every change of the 0/1 ``labels``; all True for a collar of 0."""
    y = check_array(labels, "labels", ndim=1) != 0
    frames = int(round(check_collar(collar) / FRAME_SECONDS))
    keep = np.ones(len(y), dtype=bool)
    if frames == 0:
        return keep
    changes = np.flatnonzero(y[1:] != y[:-1]) + 1  # first frame of each new run
    cover = np.zeros(len(y) + 1, dtype=np.int64)  # +1 at each collar's start, -1 past its end
    np.add.at(cover, np.maximum(changes - frames, 0), 1)
    np.add.at(cover, np.minimum(changes + frames, len(y)), -1)
    keep[np.cumsum(cover[:-1]) > 0] = False
    return keep


def _no_frames() -> FrameMetrics:
    """The metrics of an empty set of frames (a group of scenes a collar covered whole): every rate undefined."""
    nan = float("nan")
    return FrameMetrics(MR=nan, FAR=nan, HTER=nan, accuracy=nan, F1=nan, AUC=nan, EER=nan, DCF=nan, n_frames=0,
                        n_speech=0)


def frame_metrics(labels, scores, threshold: float = 0.5) -> FrameMetrics:
    """All metrics for one set of frames. ``labels`` 0/1, ``scores`` speech probabilities (same length).

    With one class only, the rate of the missing class, HTER, DCF, AUC and EER are NaN (undefined: an HTER of
    the one rate there is would read as a detector's overall error, 0 for a speech-free corpus without false
    alarms); the other rate is kept.
    """
    y, s = _check_frames(labels, scores)
    try:  # np.isfinite of None or "0.5" was numpy's TypeError, and 10**400 an OverflowError in the comparison
        finite = is_number(threshold) and math.isfinite(float(threshold))
    except OverflowError:
        finite = False
    if not finite:
        raise ValueError(f"threshold: expected a finite number, got {short_repr(threshold)}")
    decision = s >= threshold
    n_speech = int(y.sum())
    n_non = len(y) - n_speech
    tp = int(np.sum(decision & y))
    fp = int(np.sum(decision & ~y))
    fn = n_speech - tp
    mr, far, hter = error_rates(decision, y)
    hter = hter if n_speech and n_non else float("nan")
    dcf = DCF_WEIGHTS[0] * mr + DCF_WEIGHTS[1] * far if n_speech and n_non else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else float("nan")
    auc, eer = auc_eer(y, s) if n_speech and n_non else (float("nan"), float("nan"))
    return FrameMetrics(MR=float(mr), FAR=float(far), HTER=float(hter), accuracy=float(np.mean(decision == y)),
                        F1=float(f1), AUC=auc, EER=eer, DCF=float(dcf), n_frames=len(y), n_speech=n_speech)


@dataclass
class EvalResult:
    """Metrics of one system on a corpus: overall, per SNR, per noise level and per noise type."""

    system: str
    overall: FrameMetrics
    per_snr: dict[str, FrameMetrics]
    per_level: dict[str, FrameMetrics]
    per_noise: dict[str, FrameMetrics]
    n_scenes: int
    audio_seconds: float
    seconds: float
    threshold: float = 0.5
    per_scene: list[dict] = field(default_factory=list)
    collar: float = 0.0

    @property
    def realtime_factor(self) -> float:
        return self.audio_seconds / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> dict:
        o = self.overall
        return {"system": self.system, "HTER": o.HTER, "MR": o.MR, "FAR": o.FAR, "AUC": o.AUC, "EER": o.EER,
                "DCF": o.DCF, "F1": o.F1, "accuracy": o.accuracy, "overall": o.to_dict(),
                "per_level": {k: v.to_dict() for k, v in self.per_level.items()},
                "per_snr": {k: v.to_dict() for k, v in self.per_snr.items()},
                "per_noise": {k: v.to_dict() for k, v in self.per_noise.items()},
                "n_scenes": self.n_scenes, "audio_seconds": self.audio_seconds, "seconds": self.seconds,
                "realtime_factor": self.realtime_factor, "threshold": self.threshold, "collar_s": self.collar,
                "per_scene": self.per_scene}


def _snr_key(snr: float) -> str:
    return f"{snr:g}"


def summarize(labels: list[np.ndarray], scores: list[np.ndarray], snrs: list[float], noises: list[str],
              *, system: str = "", threshold: float = 0.5, seconds: float = 0.0,
              names: list[str] | None = None, collar: float = 0.0) -> EvalResult:
    """Pool per-scene frame labels and scores into overall, per-SNR, per-level and per-noise metrics.

    With ``collar`` > 0 (seconds), the frames within it of each scene's label changes are left out
    (:func:`collar_mask`); ``audio_seconds`` still counts every frame.
    """
    from neuroflow.vad.corpus import LEVELS, noise_level

    collar = check_collar(collar)
    # each list read once (a generator had "no len()"); a NaN SNR matched no scene of its own and failed with
    # "need at least one array to concatenate", a text SNR with "Unknown format code 'g'", names of fewer scenes
    # with an IndexError, seconds given as text with a comparison's TypeError
    labels, scores = as_list(labels, "labels", "0/1 label arrays"), as_list(scores, "scores", "score arrays")
    snrs, noises = as_list(snrs, "snrs", "SNRs in dB"), as_list(noises, "noises", "noise names")
    if not (len(labels) == len(scores) == len(snrs) == len(noises)):
        raise ValueError(f"labels, scores, snrs, noises: expected one entry per scene in each, got "
                         f"{len(labels)}, {len(scores)}, {len(snrs)} and {len(noises)}")
    if not labels:
        raise ValueError("labels: expected at least one scene, got none")
    for i, snr in enumerate(snrs):
        if not is_number(snr) or math.isnan(snr):
            raise ValueError(f"snrs: expected SNRs in dB (inf: clean, -inf: no speech), got {short_repr(snr)} "
                             f"for scene {i}")
    for i, noise in enumerate(noises):
        if not isinstance(noise, str):
            raise ValueError(f"noises: expected noise names, got {short_repr(noise)} for scene {i}")
    if names is not None:
        names = as_list(names, "names", "scene names")
        if len(names) != len(labels) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"names: expected one name (a string) per scene, {len(labels)} in all, got "
                             f"{short_repr(names)}")
    if not (is_number(seconds, finite=True) and seconds >= 0):
        raise ValueError(f"seconds: expected a non-negative number of seconds, got {short_repr(seconds)}")
    if not isinstance(system, str):
        raise ValueError(f"system: expected a system name, got {short_repr(system)}")
    for i, (y, s) in enumerate(zip(labels, scores)):
        who = names[i] if names else f"scene {i}"
        for what, value in (("labels", y), ("scores", s)):
            if np.ndim(value) != 1:  # None had "no len()", a dict was read as one frame
                raise ValueError(f"{what} of {who}: expected a 1-d array of frames, got {short_repr(value)}")
        if len(y) != len(s):
            raise ValueError(f"scores of {who}: expected {len(y)} frames (as many as labels), got {len(s)}")

    audio_seconds = sum(len(y) for y in labels) * FRAME_SECONDS
    if collar:
        masks = [collar_mask(y, collar) for y in labels]
        labels = [np.asarray(y)[m] for y, m in zip(labels, masks)]
        scores = [np.asarray(s)[m] for s, m in zip(scores, masks)]
        if not any(len(y) for y in labels):
            raise ValueError(f"collar: {collar:g} s leaves no frame of any scene to score")

    def pooled(idx):
        y = np.concatenate([labels[i] for i in idx])
        return frame_metrics(y, np.concatenate([scores[i] for i in idx]), threshold) if len(y) else _no_frames()

    everything = list(range(len(labels)))
    per_snr = {_snr_key(v): pooled([i for i in everything if snrs[i] == v]) for v in sorted(set(snrs))}
    per_level = {}
    for level in LEVELS:
        idx = [i for i in everything if noise_level(snrs[i]) == level]
        if idx:
            per_level[level] = pooled(idx)
    per_noise = {k: pooled([i for i in everything if noises[i] == k]) for k in sorted(set(noises))}
    per_scene = []
    for i in everything:
        m = frame_metrics(labels[i], scores[i], threshold) if len(labels[i]) else _no_frames()
        per_scene.append({"name": names[i] if names else str(i), "snr_db": snrs[i], "noise": noises[i],
                          "HTER": m.HTER, "MR": m.MR, "FAR": m.FAR})
    return EvalResult(system=system, overall=pooled(everything), per_snr=per_snr, per_level=per_level,
                      per_noise=per_noise, n_scenes=len(labels), audio_seconds=audio_seconds, seconds=seconds,
                      threshold=threshold, per_scene=per_scene, collar=collar)
