"""Real speech for VAD: the held-out real-speech evaluation set, and plots that show how real scenes are labelled.

The sources (Debian packages, the speakers of each split) are described in :mod:`neuroflow.vad.sources`;
a conversation scene's layout in :mod:`neuroflow.vad.conversation`; the labelling rule in
:mod:`neuroflow.vad.labels`. Install once, then build corpora::

    neuroflow vad sources --install           # apt-get, about 370 MB installed, a minute or two
    neuroflow vad corpus --speech real --split train --minutes 60 --out corpora/real-train     # ~20 s
    neuroflow vad corpus --speech mixed --split train --minutes 120 --out corpora/mixed-train  # ~3 min
    neuroflow vad corpus --speech none --split train --noises music none --minutes 20 \
        --durations 10 30 --out corpora/nonspeech-train     # training music, room tone, digital silence
    neuroflow vad corpus --benchmark --out corpora/real-test  # the held-out set below, ~80 s

(times measured on this project's 2-core machine; ``--n-jobs`` or ``--scheduler`` spread the scenes).

:func:`benchmark_set` builds the held-out evaluation set deterministically (same seed, same bytes),
into three corpus folders that ``neuroflow vad eval --corpus`` reads unchanged:

``speech/``
    Conversations of the two test speakers (Carlo, Italian, male; Ivrvoice, Russian, female), over
    room tone of the test recipe (3 scenes in 4) or digital silence, in 46 conditions: clean, and each
    of the eight generated noises and held-out music (``asc-music``) at 20, 10, 5, 0 and -5 dB SNR;
    ``scenes_per_condition`` scenes of ``duration_s`` each (default 2 x 30 s: 46 minutes).
``music/``
    Music-only files: excerpts of the held-out music (never the training music on hold) at -40 to -20
    dBFS over test-recipe room tone; every frame is non-speech.
``roomtone/``
    Room-tone-only files of the test recipe family (another recipe and another seed than training)
    at -80 to -55 dBFS; every frame is non-speech.

Targets for a detector (issue 15): on ``speech/`` beat WebRTC-3 in every condition; on ``music/`` and
``roomtone/`` call at most 5 % of frames speech.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroflow._utils import check_seed, short_repr
from neuroflow.vad.corpus import (FORMAT_VERSION, GROUPS, MAX_DURATION_S, MAX_SCENES, REAL_SNRS_DB, _check_list,
                                  as_split, plan_corpus)
from neuroflow.vad.corpus_store import CorpusResult, write_corpus
from neuroflow.vad.scenes import ScenePlan
from neuroflow.vad.noise import NOISE_TYPES, RECORDED_NOISES

#: noises of the benchmark's speech conditions (each at every SNR of REAL_SNRS_DB), plus the clean condition
BENCHMARK_NOISES = NOISE_TYPES + RECORDED_NOISES
#: seed offset of the benchmark plans, so they never coincide with a test-split corpus made with the same seed
_BENCHMARK_TAG = 0xBE4C


@dataclass
class BenchmarkSet:
    """The three corpus folders of the held-out real-speech evaluation set and what building them did."""

    root: Path
    speech: Path
    music: Path
    roomtone: Path
    results: dict

    def to_dict(self) -> dict:
        return {"root": str(self.root), "speech": str(self.speech), "music": str(self.music),
                "roomtone": str(self.roomtone), "results": {k: v.to_dict() for k, v in self.results.items()}}


def benchmark_plans(seed: int = 0, *, scenes_per_condition: int = 2, duration_s: float = 30.0,
                    nonspeech_files: int = 6, noises=BENCHMARK_NOISES, snrs=REAL_SNRS_DB) -> dict[str, list[ScenePlan]]:
    """The scene plans of :func:`benchmark_set`: ``{"speech": [...], "music": [...], "roomtone": [...]}``.

    The speech conditions are clean plus every noise of ``noises`` at every SNR of ``snrs``; a scene's seed
    depends on its condition, not on its position, so a smaller set (fewer noises or SNRs) holds exactly
    the same scenes as the full one for the conditions it keeps.
    """
    from neuroflow._utils import as_list, check_choice, check_positive

    check_positive(scenes_per_condition, "scenes_per_condition", integer=True)
    check_positive(nonspeech_files, "nonspeech_files", integer=True)
    check_positive(duration_s, "duration_s")
    if duration_s < 10.0:
        raise ValueError(f"duration_s: expected at least 10 s (a lead-in and a few prompts), got {duration_s!r}")
    if duration_s > MAX_DURATION_S:  # as a corpus's scenes: an hour at most
        raise ValueError(f"duration_s: expected at most {MAX_DURATION_S:g} s, got {duration_s!r}")
    check_seed(seed)
    noises = as_list(noises, "noises", f"noise names from {list(BENCHMARK_NOISES)}")  # "music": not letter by letter
    for kind in noises:
        check_choice(kind, "noises", BENCHMARK_NOISES)
    snrs = as_list(snrs, "snrs", "numbers")
    snrs = _check_list(snrs, "snrs", -30.0, 60.0, "dB") if snrs else ()  # none: clean speech only
    conditions = [("none", math.inf)] + [(k, float(s)) for k in noises for s in snrs]
    n_scenes = len(conditions) * scenes_per_condition + 2 * nonspeech_files
    if n_scenes > MAX_SCENES:  # each a plan in memory and a file on disk: 10**9 hung while planning
        raise ValueError(f"scenes_per_condition, nonspeech_files: {len(conditions)} conditions x "
                         f"{scenes_per_condition} + 2 x {nonspeech_files} would be {n_scenes} scenes, more than "
                         f"{MAX_SCENES}")
    group = GROUPS["test"]
    speech, i = [], 0
    strata = ((1, 0.25, 0.5), (1, 0.5, 0.75))  # moderate speech proportions: every scene has both classes
    for noise, snr in conditions:
        tag = [BENCHMARK_NOISES.index(noise) + 1, int(round(snr * 10)) + 1000] if noise != "none" else [0, 0]
        for k in range(int(scenes_per_condition)):
            rng = np.random.default_rng([int(seed), _BENCHMARK_TAG, 1] + tag + [k])
            stratum, lo, hi = strata[k % 2]
            speech.append(ScenePlan(index=i, name=f"{group}_{i:04d}", group=group, duration_s=float(duration_s),
                                    snr_db=snr, noise=noise, stratum=stratum,
                                    target_fraction=float(rng.uniform(lo, hi)),
                                    seed=[int(seed), _BENCHMARK_TAG, 1] + tag + [k], speech="real", split="test",
                                    background="silence" if rng.random() < 0.25 else "roomtone"))
            i += 1
    nonspeech = {}
    for j, (name, noise) in enumerate((("music", "music"), ("roomtone", "none"))):
        nonspeech[name] = [ScenePlan(index=m, name=f"{name}_{m:04d}", group=group, duration_s=float(duration_s),
                                     snr_db=-math.inf, noise=noise, stratum=0, target_fraction=0.0,
                                     seed=[int(seed), _BENCHMARK_TAG, 2 + j, m], speech="none", split="test",
                                     background="roomtone")
                           for m in range(int(nonspeech_files))]
    return {"speech": speech, **nonspeech}


def benchmark_set(out_dir: str | Path, seed: int = 0, *, scenes_per_condition: int = 2, duration_s: float = 30.0,
                  nonspeech_files: int = 6, noises=BENCHMARK_NOISES, snrs=REAL_SNRS_DB, progress: bool = True,
                  overwrite: bool = False, n_jobs: int = 1, scheduler: str | None = None) -> BenchmarkSet:
    """Build the held-out real-speech evaluation set (module docstring) into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder that receives ``speech/``, ``music/`` and ``roomtone/`` (each a corpus folder).
    seed : int
        Same seed, same bytes.
    scenes_per_condition : int
        Scenes per speech condition (46 conditions).
    duration_s : float
        Length of every scene and file (s, at least 10).
    nonspeech_files : int
        Files in each of ``music/`` and ``roomtone/``.
    noises, snrs : sequence
        The speech conditions besides clean (default: all nine noises at 20/10/5/0/-5 dB).
    progress, overwrite, n_jobs, scheduler
        As in :func:`neuroflow.vad.corpus.generate_corpus`; resumable the same way.

    Returns
    -------
    BenchmarkSet
        The folders and a :class:`~neuroflow.vad.corpus.CorpusResult` per folder.
    """
    from neuroflow.cliutil import check_output_dir

    root = check_output_dir(out_dir, "out_dir")
    plans = benchmark_plans(seed, scenes_per_condition=scenes_per_condition, duration_s=duration_s,
                            nonspeech_files=nonspeech_files, noises=noises, snrs=snrs)
    results: dict[str, CorpusResult] = {}
    for name, part in plans.items():
        settings = {"format": FORMAT_VERSION, "benchmark": name, "split": "test", "group": GROUPS["test"],
                    "seed": int(seed), "scenes_per_condition": int(scenes_per_condition),
                    "duration_s": float(duration_s), "nonspeech_files": int(nonspeech_files),
                    "noises": list(noises), "snrs": [float(x) for x in snrs]}
        results[name] = write_corpus(root / name, part, settings, progress=progress, overwrite=overwrite,
                                     n_jobs=n_jobs, scheduler=scheduler, desc=f"benchmark {name}",
                                     size_name="out_dir")  # its size is fixed: the disk at out_dir is too small
    return BenchmarkSet(root=root, speech=root / "speech", music=root / "music", roomtone=root / "roomtone",
                        results=results)


# ----------------------------------------------------------------------------- plots
def plot_prompt_labels(path: str | Path, *, per_speaker: int = 2, seed: int = 0, split: str | None = None) -> Path:
    """Plot ``per_speaker`` random prompts of every installed real speaker: waveform envelope, frame energy,
    the activity threshold and the labels the corpus gives them (a check by eye of the labelling rule)."""
    from neuroflow._utils import pyplot, save_figure
    from neuroflow.vad.features import frame_energy_db, frame_times
    from neuroflow.vad.labels import FLOOR_MARGIN_DB, PROMPT_THRESHOLD_DB, frame_activity, smooth_activity
    from neuroflow.vad.sources import SPEAKERS, SourceMissing, load_recording, root_note, usable_prompts

    # seed "x" was int()'s error and 1.5 drawn as seed 1; per_speaker -1 numpy's "negative dimensions"; a split "B" or
    # "dev" picked no speaker and was called "no real speaker is installed"
    check_seed(seed)
    if isinstance(per_speaker, bool) or not isinstance(per_speaker, (int, np.integer)) or not 1 <= per_speaker <= 100:
        raise ValueError(f"per_speaker: expected a whole number of prompts in [1, 100], got {short_repr(per_speaker)}")
    split = None if split is None else as_split(split)
    rng = np.random.default_rng([int(seed), 0x91A7])
    pool = [s for s in SPEAKERS if split is None or s.split == split]
    picks = []
    for s in pool:
        files = usable_prompts(s)
        for i in rng.choice(len(files), size=min(per_speaker, len(files)), replace=False) if files else []:
            picks.append((s, files[int(i)]))
    if not picks:
        raise SourceMissing(f"no real speaker is installed; install with `neuroflow vad sources --install`"
                            f"{root_note()}")
    plt = pyplot()
    cols = 2
    rows = -(-len(picks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.1 * rows), squeeze=False)
    for ax, (speaker, file) in zip(axes.ravel(), picks):
        wav = load_recording(file, speaker.codec)
        energy = frame_energy_db(wav)
        audible = energy[energy > energy.max() - 80.0]
        ref = float(np.percentile(audible, 95))
        labels = smooth_activity(frame_activity(wav, PROMPT_THRESHOLD_DB, floor_db=speaker.noise_floor_db))
        limit = max(ref - PROMPT_THRESHOLD_DB, speaker.noise_floor_db + FLOOR_MARGIN_DB)
        t = frame_times(len(energy))
        ts = np.arange(len(wav)) / 16000
        ax.plot(ts, 20 * np.log10(np.abs(wav) + 1e-5), color="0.8", lw=0.3, label="|sample| (dBFS)")
        ax.plot(t + 0.005, energy, lw=1.0, label="frame energy (dBFS)")
        ax.axhline(limit, color="tab:red", lw=0.8, ls="--", label="threshold")
        ax.fill_between(t, -100, -100 + 90 * labels, step="post", color="tab:green", alpha=0.25, label="speech label")
        ax.set(ylim=(-100, 0), xlim=(0, len(wav) / 16000), title=f"{speaker.name}: {file.name}")
        ax.title.set_fontsize(8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(picks):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize=8)
    axes[0][0].legend(fontsize=6, loc="lower right", ncol=2)
    fig.suptitle(f"Prompt labels: frames within {PROMPT_THRESHOLD_DB:g} dB of the prompt's 95th-percentile energy "
                 f"and {FLOOR_MARGIN_DB:g} dB above the speaker's noise floor; gaps < 150 ms filled, 50 ms hangover",
                 fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_scene(scene, path: str | Path) -> Path:
    """A corpus scene: spectrogram (log-mel), waveform level, and its labels, with speakers and conditions."""
    from neuroflow._utils import pyplot, save_figure
    from neuroflow.vad.features import frame_energy_db, frame_times, logmel

    if not all(hasattr(scene, a) for a in ("wav", "labels", "info")):  # a corpus folder: "no attribute 'wav'"
        raise TypeError(f"scene: expected a corpus scene (load_corpus(folder)[i]), got {type(scene).__name__} "
                        f"{short_repr(scene)}")
    wav, labels = scene.wav, scene.labels
    feats = logmel(wav)
    t = frame_times(len(feats))
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 4.5), sharex=True, height_ratios=(1.3, 1))
    top.imshow(feats.T, origin="lower", aspect="auto", extent=(0, len(wav) / 16000, 0, feats.shape[1]))
    top.set_ylabel("mel band")
    speech = scene.info.get("speech", "espeak")
    who = (", ".join(f"{s['name']} ({s['sex']})" for s in scene.info.get("speakers", []))
           or ("no speech" if speech == "none" else f"eSpeak voices {', '.join(scene.info.get('voices', []))}"))
    if scene.noise == "none":
        condition = "no added noise"
    elif scene.snr_db == -math.inf:
        condition = f"{scene.noise} only"
    else:
        condition = f"{scene.noise} at {scene.snr_db:g} dB SNR"
    top.set_title(f"{scene.name}: {who}; {condition}; background {scene.info.get('background', 'none')}", fontsize=9)
    bottom.plot(t + 0.005, frame_energy_db(wav), lw=0.7, label="frame energy (dBFS)")
    bottom.fill_between(t, -100, -100 + 100 * labels, step="post", color="tab:green", alpha=0.25, label="speech label")
    bottom.set(ylim=(-100, 0), xlabel="time (s)", ylabel="dBFS")
    bottom.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path)


def planned_scenes(corpus) -> int | None:
    """Scenes the settings in a corpus's manifest plan: more than ``len(corpus)`` when the run that wrote it was
    interrupted. None for a manifest whose settings no corpus run of this format wrote."""
    settings = corpus.manifest.get("settings")
    try:
        if settings["format"] != FORMAT_VERSION:  # another version may have planned otherwise
            return None
        if "benchmark" in settings:
            plans = benchmark_plans(settings["seed"], scenes_per_condition=settings["scenes_per_condition"],
                                    duration_s=settings["duration_s"], nonspeech_files=settings["nonspeech_files"],
                                    noises=tuple(settings["noises"]), snrs=tuple(settings["snrs"]))
            return len(plans[settings["benchmark"]])
        return len(plan_corpus(settings["minutes"], settings["split"], settings["seed"], speech=settings["speech"],
                               durations=settings["durations"], snrs=settings["snrs"], noises=settings["noises"]))
    except (TypeError, KeyError, ValueError, OverflowError):
        return None
