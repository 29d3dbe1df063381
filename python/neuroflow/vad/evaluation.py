"""Run VAD systems over a corpus and score them: :func:`evaluate_system` for one, :func:`compare_systems` for
many, and :func:`held_out_scene` for a quick look at one scene no model was trained on."""
from __future__ import annotations

import os
import time
import warnings

import numpy as np

from neuroflow._utils import is_number, progress as progress_bar, short_repr
from neuroflow.vad.metrics import EvalResult, check_collar, summarize
from neuroflow.vad.systems import check_threshold


def evaluate_system(system, corpus, *, threshold: float = 0.5, progress: bool = True,
                    collar: float = 0.0) -> EvalResult:
    """Run ``system`` on every scene of ``corpus`` and score it (:func:`neuroflow.vad.metrics.summarize`).

    Parameters
    ----------
    system : VADSystem or str
        A system or a spec such as "webrtc:3" (:func:`neuroflow.vad.registry.get_system`).
    corpus : Corpus, str or Path
        A loaded corpus, its folder, or any sized iterable of scenes with ``wav``, ``sr``, ``labels``,
        ``snr_db``, ``noise`` and ``name``.
    threshold : float
        A frame is speech where its score is at least this, in [0, 1].
    progress : bool
        Show a progress bar over the scenes.
    collar : float
        Seconds either side of each label change left unscored (:func:`neuroflow.vad.metrics.collar_mask`);
        0 scores every frame.

    Returns
    -------
    EvalResult
        ``seconds`` is the time spent inside ``system.score`` only (not reading files).

    A corpus folder without scenes is refused (ValueError naming it); one holding fewer scenes than its settings
    plan (an interrupted ``vad corpus``) is scored with a warning naming it.
    """
    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.registry import get_system

    check_threshold(threshold)
    check_collar(collar)
    system = get_system(system)
    if isinstance(corpus, (str, os.PathLike)):
        corpus = load_corpus(corpus)
    _check_corpus(corpus)
    result = _evaluate(system, corpus, threshold, progress, collar)
    _warn_one_class(corpus, result)
    return result


def _warn_one_class(corpus, result: EvalResult) -> None:
    """Warn, naming the corpus, when its frames are all speech or all non-speech: HTER (and MR or FAR, AUC, EER,
    DCF) is undefined there, and reported as NaN (null in JSON)."""
    o = result.overall
    if 0 < o.n_speech < o.n_frames:
        return
    missing, kept = ("speech", "FAR") if o.n_speech == 0 else ("non-speech", "MR")
    warnings.warn(f"{getattr(corpus, 'root', 'corpus')}: the corpus holds no {missing} frames, so HTER is undefined "
                  f"(reported as n/a); only {kept} means something there", stacklevel=3)


def _check_corpus(corpus) -> None:
    """Refuse a corpus folder without scenes and warn about one whose generation was not finished, naming it."""
    from neuroflow.vad.corpus import Corpus

    if not isinstance(corpus, Corpus):
        if isinstance(corpus, (str, bytes)) or not (hasattr(corpus, "__iter__") and hasattr(corpus, "__len__")):
            raise TypeError(f"corpus: expected a Corpus, a corpus folder or a list of scenes, got "
                            f"{type(corpus).__name__}")
        if len(corpus) == 0:  # was "labels: expected at least one scene", an argument no caller passes
            raise ValueError("corpus: expected at least one scene, got an empty list")
        other = next((item for item in corpus if not (has_field(item, "wav") and has_field(item, "labels"))), None)
        if other is not None:  # a list of corpus folders failed at the first with "'str' object has no attribute 'wav'"
            raise TypeError(f"corpus: expected a Corpus, a corpus folder or a list of scenes, got a list holding "
                            f"{type(other).__name__} {short_repr(other)} (scenes of several folders: "
                            f"[s for f in folders for s in load_corpus(f)])")
        for i, item in enumerate(corpus):  # one without them failed with an AttributeError, after the scenes before it
            missing = [name for name in SCENE_FIELDS if not has_field(item, name)]
            if missing:
                raise TypeError(f"corpus: scene {i} ({type(item).__name__}) has no {', '.join(missing)}; expected "
                                f"scenes with {', '.join(SCENE_FIELDS)} (load_corpus(folder) gives them)")
        return
    if len(corpus) == 0:
        raise ValueError(f"{corpus.root}: the corpus holds no scenes (its manifest lists none)")
    warn_unfinished(corpus, "scoring those", stacklevel=4)


#: what :func:`evaluate_system` reads of each scene of a list
SCENE_FIELDS = ("wav", "sr", "labels", "snr_db", "noise", "name")


def has_field(item, name: str) -> bool:
    """Whether ``item`` has the attribute ``name``, without reading it: ``hasattr`` evaluated a scene's ``wav`` and
    ``labels`` (reading and hashing every file of a list of scenes, and keeping all its audio in memory, before the
    first was scored)."""
    return name in getattr(item, "__dict__", {}) or hasattr(type(item), name) or (
        not hasattr(item, "__dict__") and hasattr(item, name))


def warn_unfinished(corpus, doing: str, *, stacklevel: int = 3) -> None:
    """Warn, naming the corpus, when a loaded corpus holds fewer scenes than its settings plan (its ``vad corpus``
    run was interrupted), saying what is ``doing`` with them ("scoring those", "training on those", ...)."""
    from neuroflow.vad.corpus import Corpus
    from neuroflow.vad.realspeech import planned_scenes

    if not isinstance(corpus, Corpus):
        return
    planned = planned_scenes(corpus)
    if planned is not None and len(corpus) < planned:
        warnings.warn(f"{corpus.root}: the corpus holds {len(corpus)} of its {planned} planned scenes (its "
                      f"generation was interrupted; rerun `neuroflow vad corpus` with the same arguments to finish "
                      f"it); {doing}", stacklevel=stacklevel)


def _evaluate(system, corpus, threshold: float, progress: bool, collar: float = 0.0) -> EvalResult:
    labels, scores, snrs, noises, names = [], [], [], [], []
    spent = 0.0
    for scene in progress_bar(corpus, enabled=progress, desc=f"eval {system.name}", unit="scene", total=len(corpus)):
        wav, y = scene.wav, scene.labels
        t0 = time.perf_counter()
        s = np.asarray(system.score(wav, scene.sr), dtype=np.float64)
        spent += time.perf_counter() - t0
        if len(s) != len(y):  # a scene of one's own may have no files: named then (it was an AttributeError)
            where = getattr(scene, "labels_path", None) or f"scene {scene.name}"
            audio = f" for {scene.path}" if getattr(scene, "path", None) else ""
            raise ValueError(f"{where}: {len(y)} labels, but system {system.name} gave {len(s)} frames{audio}")
        labels.append(y)
        scores.append(s)
        snrs.append(scene.snr_db)
        noises.append(scene.noise)
        names.append(scene.name)
    return summarize(labels, scores, snrs, noises, system=system.name, threshold=threshold, seconds=spent,
                     names=names, collar=collar)


def compare_systems(corpus, specs=None, *, threshold: float = 0.5, progress: bool = True,
                    collar: float = 0.0) -> tuple[list[EvalResult], list[str]]:
    """Evaluate every system of ``specs`` that can run here (default: all of
    :data:`neuroflow.vad.registry.DEFAULT_SPECS`) on ``corpus``: ``(results, skipped lines)``; ``threshold``,
    ``progress`` and ``collar`` as for :func:`evaluate_system`."""
    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.registry import DEFAULT_SPECS, available_systems, distinct_systems

    if specs is not None:
        if not isinstance(specs, (str, bytes)) and hasattr(specs, "__iter__"):
            specs = list(specs)  # once: a generator read by the check below came to the evaluation empty
        distinct_systems(specs)  # before the corpus is read
        if not specs:  # None is every system; an empty list is none, not all
            raise ValueError("specs: expected at least one system spec, got none (None: every system)")
    specs = DEFAULT_SPECS if specs is None else specs
    if isinstance(corpus, (str, os.PathLike)):
        corpus = load_corpus(corpus)
    check_threshold(threshold)
    check_collar(collar)
    _check_corpus(corpus)  # once, not per system
    systems, skipped = available_systems(specs)
    results = [_evaluate(s, corpus, threshold, progress, collar) for s in systems]
    if results:  # once, not per system
        _warn_one_class(corpus, results[0])
    return results, skipped


def held_out_scene(seed: int = 0, duration_s: float = 30.0, noise: str = "street", snr_db: float = 5.0):
    """One scene of held-out speakers (the test split's recorded prompts, :mod:`neuroflow.vad.sources`) or,
    where those packages are not installed, of held-out eSpeak voices.

    Returns
    -------
    tuple
        ``(plan, wav, labels, info, note)``: the scene's plan, its mixture and 0/1 labels per frame, what it
        holds (speakers, utterances) and ``None``, or a line saying what was skipped and how to install it.
    """
    from neuroflow.vad.corpus import CORPUS_NOISES, MAX_DURATION_S, MIN_DURATION_S, plan_corpus
    from neuroflow.vad.corpus_store import check_sources
    from neuroflow.vad.scenes import make_scene

    # named as given here: a bad one was "minutes: ...", "durations: ..." or "snrs: ..." of plan_corpus (5 s was
    # refused as durations, an unknown noise or a NaN SNR too), and a duration given as text a TypeError
    low, high = MIN_DURATION_S["real"], MAX_DURATION_S
    if not (is_number(duration_s, finite=True) and low <= duration_s <= high):
        raise ValueError(f"duration_s: expected seconds in [{low:g}, {high:g}], got {short_repr(duration_s)}")
    if not (is_number(snr_db, finite=True) and -30.0 <= snr_db <= 60.0):
        raise ValueError(f"snr_db: expected an SNR in [-30, 60] dB, got {short_repr(snr_db)}")
    if not isinstance(noise, str) or noise not in CORPUS_NOISES:
        raise ValueError(f"noise: expected one of {', '.join(CORPUS_NOISES)}, got {short_repr(noise)}")
    # a clean scene has no SNR ("none" with the default 5 dB was "snrs: ... would do nothing")
    kw = dict(durations=(float(duration_s),), snrs=None if noise == "none" else (float(snr_db),), noises=(noise,))
    plan = plan_corpus(duration_s / 60, "test", seed, speech="real", **kw)[0]
    note = None
    try:
        check_sources([plan])
    except ValueError as exc:  # sources.SourceMissing names the packages and the install command
        plan = plan_corpus(duration_s / 60, "test", seed, **kw)[0]
        note = f"skipped real speech ({exc}); showing held-out eSpeak speech instead"
    wav, labels, info = make_scene(plan)
    return plan, wav, labels, info, note
