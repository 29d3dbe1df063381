"""Choosing a spiking VAD's decision rule on real speech: its threshold, median, hangover(s) and release.

Training picks a threshold on held-back training sequences (:mod:`neuroflow.vad.scoring`): their
speech is mostly eSpeak and Festival, the error rates are pooled over all frames, and the silence gate of
detection is missing. :func:`calibrate` chooses the rule instead on a corpus of *real* speech of the
training speakers (``neuroflow vad corpus --speech real --split train``, never the held-out speakers), through
exactly the path detection takes — features, network, :class:`~neuroflow.vad.postprocess.PostProcessor` with
its silence gate — and minimises the benchmark's figure of merit: the mean over conditions of each condition's
HTER, so a condition counts the same whatever its length. A condition is a corpus folder and a noise at an SNR
(:attr:`neuroflow.vad.corpus.Scene.condition`), e.g. ``real-dev/white@5``: with an eSpeak corpus beside the
real one, each kind of speech keeps its own conditions.

The search is exhaustive over :data:`MEDIANS` x :data:`HANGOVERS` x :data:`RELEASES` x
:data:`~neuroflow.vad.scoring.THRESHOLDS`. Thresholds cost nothing extra: the release step
(:func:`~neuroflow.vad.postprocess.release_peak`) does not depend on the threshold, and
:func:`~neuroflow.vad.postprocess.rescale` is increasing and keeps 0, so it commutes with the hangover's running
maximum, and a frame's score reaches 0.5 under threshold ``t`` exactly when the rule's output at threshold 0.5 (no
rescaling) reaches ``t``. The post-processor's steps before the hangover
(:meth:`~neuroflow.vad.postprocess.PostProcessor.front`) run once per (median, release), the hangover
(:func:`~neuroflow.vad.postprocess.hold_scores`) and a sort once per rule, and give every threshold's error counts.
A threshold below the release decides as if there were no release.

Then, with the chosen median and release, an SNR-dependent hangover
(:class:`~neuroflow.vad.postprocess.PostProcessor`'s ``low_snr_db`` and ``low_snr_hangover``): every pair of
different hangovers from the grid, the second held where the estimated SNR lies below each of :data:`LOW_SNR_DBS`.

Ties go to the first best in the order of the grids (shorter median, shorter hangover, no release before a
lower one, lower threshold, one hangover before two), so a release or a second hangover is only kept where it
lowers the error.
:func:`calibrated_copy` writes a model file with the chosen rule and the search's record in its ``info``.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from neuroflow._utils import as_list, is_integer, is_number, short_repr
from neuroflow._utils import progress as progress_bar
from neuroflow.vad.postprocess import MAX_SMOOTHING_FRAMES, PostProcessor, hold_scores, release_problem
from neuroflow.vad.scoring import THRESHOLDS

#: causal median lengths (frames) the search tries
MEDIANS = (1, 3, 5, 7)
#: hangovers (frames) the search tries
HANGOVERS = (0, 3, 5, 7, 10, 15, 20, 25, 30)
#: release thresholds (hysteresis; None: none) the search tries
RELEASES = (None, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
#: estimated SNRs (dB) below which an SNR-dependent hangover may switch to its low-SNR length
LOW_SNR_DBS = (5.0, 10.0, 15.0, 20.0, 25.0)


@dataclass(frozen=True)
class Calibration:
    """The chosen rule and how it was chosen. Rates are fractions; ``hter`` is the mean over ``conditions``;
    ``release`` is the hysteresis threshold (None: none, :class:`~neuroflow.vad.postprocess.PostProcessor`)."""

    threshold: float
    median: int
    hangover: int
    hter: float
    mr: float
    far: float
    before: dict
    conditions: list
    scenes: int
    left_out: list = field(default_factory=list)
    corpus: list = field(default_factory=list)
    release: float | None = None
    low_snr_db: float | None = None
    low_snr_hangover: int | None = None

    @property
    def smoothing(self) -> dict:
        """The model file's post-processing settings (``release`` and the SNR-dependent hangover only where set)."""
        return PostProcessor(self.threshold, self.median, self.hangover, self.release, low_snr_db=self.low_snr_db,
                             low_snr_hangover=self.low_snr_hangover).smoothing

    def to_dict(self) -> dict:
        return asdict(self)


def rule_text(threshold: float, smoothing: dict) -> str:
    """A decision rule in words: ``threshold 0.84, release 0.50, median 1, hangover 10 frames (25 below an estimated
    SNR of 10 dB)``."""
    release = "" if smoothing.get("release") is None else f", release {smoothing['release']:.2f}"
    low = "" if smoothing.get("low_snr_db") is None else \
        f" ({smoothing['low_snr_hangover']} below an estimated SNR of {smoothing['low_snr_db']:g} dB)"
    return (f"threshold {threshold:.2f}{release}, median {smoothing.get('median', 1)}, "
            f"hangover {smoothing.get('hangover', 0)} frames{low}")


def network_outputs(system, scenes, *, progress: bool = False) -> list[tuple]:
    """``(probability, window energy dB, labels, condition)`` per scene: the network's output and what the
    post-processor needs, computed once for the whole search."""
    out = []
    scenes = list(scenes)
    names = corpus_names(scenes)
    for scene in progress_bar(scenes, enabled=progress, desc="calibrate: scenes", unit="scene"):
        feats, energy = system.extractor.features_and_energy(scene.wav, scene.sr)  # a chunk's memory at a time
        prob = system.runner.run(feats)[0]
        if len(scene.labels) != len(prob):  # a damaged scene: its audio and labels disagree (as eval says)
            raise ValueError(f"{scene.labels_path}: {len(scene.labels)} labels, but {scene.path} has {len(prob)} "
                             f"frames")
        out.append((prob, energy, np.asarray(scene.labels, dtype=bool),
                    condition_of(scene, names[Path(scene.path).parent.resolve()])))
    return out


def corpus_names(scenes) -> dict[Path, str]:
    """The name of each corpus folder of ``scenes`` (resolved path -> name) in their conditions: the folder's name, or
    its whole path where two folders share a name (their conditions were pooled as one, so that the chosen rule
    changed when a folder was renamed)."""
    folders = {Path(scene.path).parent.resolve() for scene in scenes}
    count: dict[str, int] = {}
    for folder in folders:
        count[folder.name] = count.get(folder.name, 0) + 1
    return {folder: folder.name if count[folder.name] == 1 else str(folder) for folder in folders}


def condition_of(scene, corpus: str | None = None) -> str:
    """``"<corpus>/<condition>"`` of a corpus scene; ``corpus`` is the name of its folder unless given
    (:func:`corpus_names`)."""
    return f"{Path(scene.path).parent.name if corpus is None else corpus}/{scene.condition}"


def _fronts(outputs, median: int, release: float | None, snr: bool = False) -> list:
    """Per scene of ``outputs``, the post-processor's work before the hangover (``PostProcessor.front`` at threshold
    0.5: score, silent frames, SNR estimate), which a search over hangovers shares."""
    post = PostProcessor(0.5, median, 0, release)
    return [post.front(prob, energy, snr=snr)[:3] for prob, energy, _, _ in outputs]


def _counts(outputs, fronts, thresholds: np.ndarray, hangover: int, low_snr: tuple | None = None) -> dict:
    """Per condition: (misses, speech frames, false alarms, non-speech frames), the first and third per threshold.
    ``low_snr``: None or ``(low_snr_db, low_snr_hangover)``."""
    counts: dict = {}
    for (score, silent, snr), (_, _, labels, condition) in zip(fronts, outputs):
        low = None if low_snr is None else snr < low_snr[0]
        score = np.clip(hold_scores(score, silent, low, hangover, None if low_snr is None else low_snr[1]), 0.0, 1.0)
        speech, other = np.sort(score[labels]), np.sort(score[~labels])
        c = counts.setdefault(condition, [np.zeros(len(thresholds)), 0, np.zeros(len(thresholds)), 0])
        c[0] += np.searchsorted(speech, thresholds, side="left")  # speech frames below the threshold
        c[1] += len(speech)
        c[2] += len(other) - np.searchsorted(other, thresholds, side="left")  # others at or above it
        c[3] += len(other)
    return counts


def _error_counts(outputs, median: int, hangover: int, thresholds: np.ndarray, release: float | None = None,
                  low_snr: tuple | None = None) -> dict:
    """:func:`_counts` of one rule."""
    return _counts(outputs, _fronts(outputs, median, release, snr=low_snr is not None), thresholds, hangover, low_snr)


def _mean_rates(counts: dict, conditions: list) -> tuple[np.ndarray, np.ndarray]:
    mr = np.mean([counts[c][0] / counts[c][1] for c in conditions], axis=0)
    far = np.mean([counts[c][2] / counts[c][3] for c in conditions], axis=0)
    return mr, far


def _grid(values, name: str, *, empty: bool = False) -> list:
    """``values`` as a list (non-empty unless ``empty``), or ValueError naming ``name``."""
    values = as_list(values, name, "candidate values")
    if not values and not empty:
        raise ValueError(f"{name}: expected at least one candidate value, got none")
    return values


def _read_grids(medians, hangovers, thresholds, releases, low_snr_dbs, low_snr_hangovers=None) -> tuple:
    """The search grids, each read once into a list (a generator checked first came to the search empty), or
    ValueError naming the first grid holding a value no model may hold (:func:`~neuroflow.vad.snn.load_model` refuses
    it): a NaN or out-of-range threshold, a median or hangover that is no whole number of frames in range; such a
    rule would be written into a model file that no detector can then read. ``low_snr_hangovers`` None stays None
    (the ``hangovers`` serve)."""
    medians, hangovers, thresholds, releases = (_grid(v, n) for v, n in (
        (medians, "medians"), (hangovers, "hangovers"), (thresholds, "thresholds"), (releases, "releases")))
    low_snr_dbs = _grid(low_snr_dbs, "low_snr_dbs", empty=True)  # none: one hangover whatever the SNR
    if low_snr_hangovers is not None:
        low_snr_hangovers = _grid(low_snr_hangovers, "low_snr_hangovers")
    for value in thresholds:
        if not (is_number(value, finite=True) and 0.0 < value < 1.0):
            raise ValueError(f"thresholds: expected numbers in (0, 1), got {value!r}")
    for name, grid, lo in (("medians", medians, 1), ("hangovers", hangovers, 0),
                           ("low_snr_hangovers", hangovers if low_snr_hangovers is None else low_snr_hangovers, 0)):
        for value in grid:
            if not (is_integer(value) and lo <= value <= MAX_SMOOTHING_FRAMES):
                raise ValueError(f"{name}: expected whole numbers of frames in [{lo}, {MAX_SMOOTHING_FRAMES}], "
                                 f"got {value!r}")
    for value in releases:
        problem = release_problem(value)
        if problem:
            raise ValueError(f"releases: {problem}")
    for value in low_snr_dbs:
        if not (is_number(value, finite=True) and -100.0 <= value <= 100.0):
            raise ValueError(f"low_snr_dbs: expected SNRs in [-100, 100] dB, got {value!r}")
    return medians, hangovers, thresholds, releases, low_snr_dbs, low_snr_hangovers


def search_rule(outputs, *, medians=MEDIANS, hangovers=HANGOVERS, thresholds=THRESHOLDS, releases=RELEASES,
                low_snr_dbs=LOW_SNR_DBS, low_snr_hangovers=None, source: str | None = None) -> dict:
    """The rule with the lowest mean HTER over the conditions of ``outputs`` (:func:`network_outputs`): a dict of
    ``threshold``, ``median``, ``hangover``, ``release``, ``low_snr_db``, ``low_snr_hangover`` (None: one hangover),
    ``hter``, ``mr``, ``far`` (means over ``conditions``; ``low_snr_hangovers`` None: the ``hangovers``) and the
    ``conditions`` scored and ``left_out`` (those without both speech and non-speech frames, which have no HTER).
    ValueError if no condition is left, naming ``source`` (where the scenes came from: the corpus folders)."""
    if not outputs:
        raise ValueError("outputs: expected at least one scene's outputs, got none")
    medians, hangovers, thresholds, releases, low_snr_dbs, low_snr_hangovers = _read_grids(
        medians, hangovers, thresholds, releases, low_snr_dbs, low_snr_hangovers)
    thresholds = np.round(np.asarray(thresholds, dtype=np.float64), 6)  # the values saved are those scored
    classes: dict = {}  # per condition: (has speech frames, has non-speech frames)
    for _, _, labels, condition in outputs:
        seen = classes.get(condition, (False, False))
        classes[condition] = (seen[0] or bool(labels.any()), seen[1] or bool((~labels).any()))
    conditions = sorted(c for c, (speech, other) in classes.items() if speech and other)
    if not conditions:
        kinds = "no speech" if not any(speech for speech, _ in classes.values()) else \
            "no non-speech" if not any(other for _, other in classes.values()) else "one class per condition"
        where = f" in {source}" if source else ""
        raise ValueError(f"scenes: no condition has both speech and non-speech frames{where} ({kinds}: "
                         f"{', '.join(sorted(classes))}); the rule cannot be chosen")
    best, best_key = None, None

    def consider(key, fronts, median, hangover, release, low_snr=None):
        """Keep the rule if it errs less, or as little and comes first in the grids' order (``key``)."""
        nonlocal best, best_key
        mr, far = _mean_rates(_counts(outputs, fronts, thresholds, int(hangover), low_snr), conditions)
        i = int(np.argmin((mr + far) / 2))  # the lowest threshold among equals
        hter = float((mr[i] + far[i]) / 2)
        if best is None or (hter, key) < (best["hter"], best_key):
            best_key = key
            best = {"threshold": float(thresholds[i]), "median": int(median), "hangover": int(hangover),
                    "release": None if release is None else float(release),
                    "low_snr_db": None if low_snr is None else float(low_snr[0]),
                    "low_snr_hangover": None if low_snr is None else int(low_snr[1]),
                    "hter": hter, "mr": float(mr[i]), "far": float(far[i])}

    for m, median in enumerate(medians):
        for r, release in enumerate(releases):
            fronts = _fronts(outputs, int(median), release)  # once per median and release
            for h, hangover in enumerate(hangovers):
                consider((0, m, h, r), fronts, median, hangover, release)
    median, release = best["median"], best["release"]
    fronts = _fronts(outputs, median, release, snr=True) if len(low_snr_dbs) else None
    for d, db in enumerate(low_snr_dbs):  # then an SNR-dependent hangover, with the chosen median and release
        for h, hangover in enumerate(hangovers):
            for k, low in enumerate(hangovers if low_snr_hangovers is None else low_snr_hangovers):
                if low != hangover:
                    consider((1, d, h, k), fronts, median, hangover, release, (db, low))
    return {**best, "conditions": conditions, "left_out": sorted(set(classes) - set(conditions))}


def condition_hter(outputs, threshold: float, median: int, hangover: int, release: float | None = None,
                   low_snr_db: float | None = None, low_snr_hangover: int | None = None) -> dict:
    """HTER per condition of ``outputs`` (:func:`network_outputs`) under one rule (conditions with both classes)."""
    low_snr = None if low_snr_db is None else (low_snr_db, low_snr_hangover)
    counts = _error_counts(outputs, int(median), int(hangover), np.array([float(threshold)]), release, low_snr)
    return {c: float((k[0][0] / k[1] + k[2][0] / k[3]) / 2) for c, k in sorted(counts.items()) if k[1] and k[3]}


def calibrate(system, scenes, *, medians=MEDIANS, hangovers=HANGOVERS, thresholds=THRESHOLDS, releases=RELEASES,
              low_snr_dbs=LOW_SNR_DBS, progress: bool = False) -> Calibration:
    """The decision rule of ``system`` (a :class:`~neuroflow.vad.detect.SpikingVADSystem`)
    with the lowest mean HTER over the conditions of ``scenes`` (corpus scenes with labels; :func:`search_rule`).

    Conditions without both speech and non-speech frames have no HTER and are left out (``left_out``);
    ValueError naming the scenes' folders (the corpora) if none is left.
    """
    from neuroflow.vad.detect import SpikingVADSystem

    if not isinstance(system, SpikingVADSystem):
        raise TypeError(f"system: expected a SpikingVADSystem (SpikingVADSystem('bin') or a model path), got "
                        f"{type(system).__name__}")
    # before the network runs; each grid read once (a generator checked here came to the search empty, "got none")
    medians, hangovers, thresholds, releases, low_snr_dbs, _ = _read_grids(medians, hangovers, thresholds, releases,
                                                                           low_snr_dbs)
    # a folder, None or a list of folders failed later with "'str' object has no attribute 'path'" or "not iterable"
    if isinstance(scenes, (str, bytes, os.PathLike)) or not hasattr(scenes, "__iter__"):
        raise TypeError(f"scenes: expected corpus scenes (a Corpus, or a list of its scenes: load_corpus(folder)), "
                        f"got {type(scenes).__name__} {short_repr(scenes)}")
    scenes = list(scenes)
    if not scenes:  # search_rule's own check names its outputs, which the caller of calibrate never saw
        raise ValueError("scenes: expected at least one scene, got none")
    from neuroflow.vad.evaluation import has_field  # hasattr read (and kept) every scene's audio before the first ran

    other = next((s for s in scenes if not all(has_field(s, a) for a in ("path", "wav", "labels"))), None)
    if other is not None:
        raise TypeError(f"scenes: expected corpus scenes (a Corpus, or a list of its scenes: load_corpus(folder)), "
                        f"got a list holding {type(other).__name__} {short_repr(other)}")
    folders = sorted({str(Path(scene.path).parent) for scene in scenes})
    outputs = network_outputs(system, scenes, progress=progress)
    best = search_rule(outputs, medians=medians, hangovers=hangovers, thresholds=thresholds, releases=releases,
                       low_snr_dbs=low_snr_dbs, source=" ".join(folders))
    conditions = best["conditions"]
    post = system.post
    low_snr = None if post.low_snr_db is None else (post.low_snr_db, post.low_snr_hangover)
    mr0, far0 = _mean_rates(_error_counts(outputs, post.median, post.hangover, np.array([post.threshold]),
                                          post.release, low_snr), conditions)
    before = {"threshold": post.threshold, **post.smoothing,
              "hter": float((mr0[0] + far0[0]) / 2), "mr": float(mr0[0]), "far": float(far0[0])}
    return Calibration(threshold=best["threshold"], median=best["median"], hangover=best["hangover"],
                       hter=best["hter"], mr=best["mr"], far=best["far"], before=before, conditions=conditions,
                       scenes=len(outputs), left_out=best["left_out"], release=best["release"],
                       low_snr_db=best["low_snr_db"], low_snr_hangover=best["low_snr_hangover"])


def calibrated_copy(model_path: str | Path, calibration: Calibration, out: str | Path) -> Path:
    """Write the model of ``model_path`` to ``out`` with the rule of ``calibration`` (its record in
    ``info["calibration"]``); weights, masks and every other setting unchanged."""
    from neuroflow.vad.snn import load_model, save_model

    loaded = load_model(model_path)
    info = {**loaded.info, "calibration": calibration.to_dict()}
    return save_model(loaded.model, out, threshold=calibration.threshold, smoothing=calibration.smoothing, info=info)
