"""A reproducible noisy-speech corpus for VAD: eSpeak scenes the way QUT-NOISE-TIMIT built them, and
conversations of real (or Festival) speakers over real-world non-speech.

Recipe of a corpus of ``minutes`` (:func:`plan_corpus`, then :func:`neuroflow.vad.scenes.make_scene` per scene):

1. Scenes last one of ``durations`` seconds (default 60 and 120 s for eSpeak, 30 and 60 s otherwise).
2. A speech proportion is drawn per scene from three strata with probabilities 25% / 50% / 25%: below
   25% (U(5%, 25%)), 25-75% (U(25%, 75%)) and above 75% (U(75%, 95%)).
3. SNRs and noises are balanced over the scenes (each list shuffled in turn). Defaults: eSpeak scenes
   take the eight generated noises (:data:`neuroflow.vad.noise.NOISE_TYPES`) at {-10, -5, 0, 5, 10, 15}
   dB; the other kinds add recorded "music" and "none" (clean) at {-5, 0, 5, 10, 20} dB.
4. ``speech`` chooses the talkers: "espeak" (QUT layout, :mod:`neuroflow.vad.synthetic`), "real"
   (recorded prompts, :mod:`neuroflow.vad.conversation`), "festival" (Festival voices, same layout),
   "mixed" (per scene: real 50 %, eSpeak 25 %, Festival 25 %) or "none" (no speech). Conversation scenes
   lie over room tone (75 %) or digital silence (25 %).
5. Labels (10 ms frames) come from the clean speech (:mod:`neuroflow.vad.labels`).

Splits: ``split="train"`` (group A: eSpeak voice variants and sentences of A, the training speakers
and Festival voices, the training music, the training room-tone recipe) and ``split="test"`` (group B: the
held-out speakers, voices, music and room-tone recipe; see :mod:`neuroflow.vad.sources`). "A" and "B"
are accepted for "train" and "test". :func:`neuroflow.vad.realspeech.benchmark_set` builds the whole
held-out real-speech evaluation set.

Layout of a corpus folder::

    corpus.json              manifest: settings, sources (packages and versions), skipped source files,
                             and one entry per finished scene (with the SHA-256 of its two files)
    A_0000.wav               mixture, 16-bit PCM, 16 kHz
    A_0000.labels.npy        int8 0/1 per 10 ms frame, len == wav samples // 160

A scene's ``snr_db`` is a number, "inf" for a clean scene and "-inf" for a speech-free one.

Generation is deterministic for a seed: each scene draws only from its own child seed, so scenes are
made in any order, by ``n_jobs`` local processes or on a Dask cluster (``scheduler``), with the same
bytes. It is resumable and safe (:mod:`neuroflow.vad.corpus_store`): one writer per folder, the manifest
rewritten after every finished scene, and a rerun with the same settings keeps the scenes whose files
match the manifest. A resumed run leaves exactly the bytes of an uninterrupted one.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from neuroflow._utils import as_list, check_choice, check_positive, check_seed
from neuroflow.vad.audio import SAMPLE_RATE, load_audio
from neuroflow.vad.corpus_store import MANIFEST, CorpusResult, file_hash, read_manifest, write_corpus  # noqa: F401
from neuroflow.vad.features import HOP
from neuroflow.vad.labels import speech_labels  # noqa: F401 (re-exported: the labelling rule's entry point)
from neuroflow.vad.noise import NOISE_TYPES, RECORDED_NOISES
# re-exported here, where callers have always found them
from neuroflow.vad.scenes import (ACTIVE_LEVEL_DBOV, LEVELS, ScenePlan, make_scene, noise_level,  # noqa: F401
                                  snr_field)

FORMAT_VERSION = 2
SNRS_DB = (-10, -5, 0, 5, 10, 15)
#: SNRs of the real-speech benchmark and default of the non-eSpeak kinds
REAL_SNRS_DB = (-5, 0, 5, 10, 20)
#: (probability, low, high) of the speech-proportion strata
STRATA = ((0.25, 0.05, 0.25), (0.50, 0.25, 0.75), (0.25, 0.75, 0.95))
SPEECH_KINDS = ("espeak", "real", "festival", "mixed", "none")
#: probabilities of real, espeak and festival scenes in a "mixed" corpus
MIXED_SHARES = (("real", 0.5), ("espeak", 0.25), ("festival", 0.25))
SPLITS = ("train", "test")
GROUPS = {"train": "A", "test": "B"}
#: every noise a scene may take: generated, recorded, or none (clean)
CORPUS_NOISES = NOISE_TYPES + RECORDED_NOISES + ("none",)
#: shortest scene (s) by speech kind: eSpeak scenes need a frame, conversations a lead-in and a prompt
MIN_DURATION_S = {"espeak": 1.0, "none": 1.0, "real": 10.0, "festival": 10.0, "mixed": 10.0}
MAX_DURATION_S = 3600.0
#: most scenes a corpus may plan
MAX_SCENES = 100_000
#: background of conversation scenes and its probability
BACKGROUND_SHARES = (("roomtone", 0.75), ("silence", 0.25))


def as_split(split: str, name: str = "split") -> str:
    """"train" or "test" (the historical group names "A" and "B" are accepted)."""
    split = {"A": "train", "B": "test"}.get(split, split) if isinstance(split, str) else split
    return check_choice(split, name, SPLITS)


# ----------------------------------------------------------------------------- plan
def _defaults(speech: str, durations, snrs, noises):
    synthetic = speech == "espeak"
    if durations is None:
        durations = (60.0, 120.0) if synthetic else (30.0, 60.0)
    snrs = (SNRS_DB if synthetic else REAL_SNRS_DB) if snrs is None else snrs
    if noises is None:
        noises = NOISE_TYPES if synthetic else ("none",) if speech == "none" else NOISE_TYPES + RECORDED_NOISES + ("none",)
    return durations, snrs, noises  # as given: a scalar or a string is refused by name, not iterated


def _check_list(values, name: str, lo: float, hi: float, unit: str) -> tuple[float, ...]:
    out = []
    for v in as_list(values, name, "numbers"):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v) \
                or not lo <= float(v) <= hi:
            raise ValueError(f"{name}: expected numbers in [{lo:g}, {hi:g}] {unit}, got {v!r}")
        out.append(float(v))
    if not out:
        raise ValueError(f"{name}: expected at least one value, got none")
    _check_distinct(out, name)
    return tuple(out)


def _check_distinct(values, name: str) -> None:
    """ValueError naming ``name`` when a value comes twice: scenes are drawn evenly over the values given, so
    ``white white`` made white noise count twice without a word."""
    seen = set()
    for v in values:
        if v in seen:
            shown = f"{v:g}" if isinstance(v, float) else repr(v)
            raise ValueError(f"{name}: {shown} given twice; give each value once (scenes are spread evenly over them)")
        seen.add(v)


def plan_corpus(minutes: float, split: str = "train", seed: int = 0, *, speech: str = "espeak", durations=None,
                snrs=None, noises=None) -> list[ScenePlan]:
    """Scene plans adding up to at least ``minutes`` of audio (the last scene may overshoot).

    Parameters
    ----------
    minutes : float
        Total audio, > 0; refused when it would take more than :data:`MAX_SCENES` scenes.
    split : str
        "train" or "test" ("A" / "B").
    seed : int
        Seed of the plan; scene ``i`` draws from ``[seed, group, i]`` (plus the speech kind's index for
        the non-eSpeak kinds).
    speech : str
        One of :data:`SPEECH_KINDS`.
    durations, snrs, noises : sequence, optional
        Scene lengths (s, within [:data:`MIN_DURATION_S`, 3600]), SNRs (dB, within [-30, 60]) and noises
        (of :data:`CORPUS_NOISES`); defaults depend on ``speech`` (module docstring). ``snrs`` given for a
        speech-free corpus or one of only clean scenes is refused: they would do nothing.

    Returns
    -------
    list of ScenePlan
    """
    check_positive(minutes, "minutes")
    split = as_split(split)
    check_choice(speech, "speech", SPEECH_KINDS)
    given_snrs = snrs is not None
    check_seed(seed)
    durations, snrs, noises = _defaults(speech, durations, snrs, noises)
    durations = _check_list(durations, "durations", MIN_DURATION_S[speech], MAX_DURATION_S, "seconds")
    snrs = _check_list(snrs, "snrs", -30.0, 60.0, "dB")
    noises = as_list(noises, "noises", f"noise names from {list(CORPUS_NOISES)}")
    if not noises:
        raise ValueError(f"noises: expected a list of noise names from {list(CORPUS_NOISES)}, got none")
    for kind in noises:
        check_choice(kind, "noises", CORPUS_NOISES)
    _check_distinct(noises, "noises")
    if given_snrs and (speech == "none" or set(noises) == {"none"}):  # they were dropped without a word
        why = "a speech-free corpus (speech is 'none') has no SNR" if speech == "none" else \
            "every scene is clean (the only noise is 'none')"
        raise ValueError(f"snrs: {why}, so SNRs would do nothing; leave them out")
    if minutes * 60.0 / min(durations) > MAX_SCENES:
        raise ValueError(f"minutes: {minutes:g} minutes of {min(durations):g} s scenes would be more than "
                         f"{MAX_SCENES} scenes; ask for fewer minutes or longer --durations")
    group = GROUPS[split]
    group_id = ("A", "B").index(group)
    kind_id = SPEECH_KINDS.index(speech)
    tail = [] if speech == "espeak" else [kind_id]
    rng = np.random.default_rng([int(seed), group_id, 0x5CE7E] + tail)
    plans, total, i = [], 0.0, 0
    snr_bag, noise_bag = [], []
    while total < minutes * 60.0 - 1e-9:
        if not snr_bag:
            snr_bag = list(rng.permutation(np.asarray(snrs, dtype=float)))
        if not noise_bag:
            noise_bag = [noises[k] for k in rng.permutation(len(noises))]
        duration = float(durations[int(rng.integers(len(durations)))])
        stratum = int(rng.choice(len(STRATA), p=[s[0] for s in STRATA]))
        frac = float(rng.uniform(STRATA[stratum][1], STRATA[stratum][2]))
        kind, background = speech, "none"
        if speech != "espeak":
            if speech == "mixed":
                kind = MIXED_SHARES[int(rng.choice(len(MIXED_SHARES), p=[p for _, p in MIXED_SHARES]))][0]
            if kind != "espeak":
                background = BACKGROUND_SHARES[int(rng.choice(2, p=[p for _, p in BACKGROUND_SHARES]))][0]
        snr, noise = float(snr_bag.pop()), str(noise_bag.pop())
        if noise == "none":
            snr = math.inf
        if kind == "none":
            snr, frac = -math.inf, 0.0
        plans.append(ScenePlan(index=i, name=f"{group}_{i:04d}", group=group, duration_s=duration, snr_db=snr,
                               noise=noise, stratum=stratum, target_fraction=frac,
                               seed=[int(seed), group_id, i] + tail, speech=kind, split=split,
                               background=background))
        total += duration
        i += 1
    return plans


# ----------------------------------------------------------------------------- corpus
@dataclass
class Scene:
    """One corpus scene; ``wav`` (float32, 16 kHz) and ``labels`` (int8 per 10 ms frame) load on first use."""

    name: str
    path: Path
    labels_path: Path
    snr_db: float
    noise: str
    group: str
    speech_fraction: float
    duration_s: float
    info: dict = field(default_factory=dict, repr=False)

    @property
    def split(self) -> str:
        return self.info.get("split", {"A": "train", "B": "test"}.get(self.group, self.group))

    @property
    def level(self) -> str:
        return noise_level(self.snr_db)

    @property
    def condition(self) -> str:
        """``"clean"`` or ``"<noise>@<snr dB>"``: what the benchmarks average error rates over."""
        return "clean" if self.noise == "none" or not math.isfinite(self.snr_db) else f"{self.noise}@{self.snr_db:g}"

    @cached_property
    def wav(self) -> np.ndarray:
        """The scene's audio. Where the manifest records the WAV's SHA-256 and the file differs (cut short or
        changed after it was written), one-line ValueError: read as far as it goes, it would fail later, far from
        its cause (frame counts that disagree with the labels). Labels are checked by their content instead, so a
        hand-corrected labels file is used as it is."""
        want = self.info.get("sha256")
        want = want.get("wav") if isinstance(want, dict) else None
        if want is not None and self.path.is_file() and file_hash(self.path) != want:
            raise ValueError(f"{self.path}: differs from the corpus manifest (SHA-256), changed or cut short after "
                             f"it was written; run the same `neuroflow vad corpus` command again to remake it")
        wav, _ = load_audio(self.path)
        return wav

    @cached_property
    def labels(self) -> np.ndarray:
        try:
            with open(self.labels_path, "rb") as f:  # np.load calls any other file "pickled (object) data"
                npy = f.read(6) == b"\x93NUMPY"
            labels = np.load(self.labels_path, allow_pickle=False) if npy else None
        except FileNotFoundError:
            raise FileNotFoundError(f"labels file missing: {self.labels_path}") from None
        except Exception as exc:
            raise ValueError(f"{self.labels_path}: cannot read labels ({exc})") from None
        if labels is None:
            raise ValueError(f"{self.labels_path}: expected a NumPy .npy file of 0/1 labels, got a file of another "
                             f"format")
        if labels.ndim != 1:
            raise ValueError(f"{self.labels_path}: expected a 1-d array of 0/1 labels, got shape {labels.shape}")
        if labels.dtype.kind not in "biuf":
            raise ValueError(f"{self.labels_path}: expected 0/1 labels, got an array of {labels.dtype}")
        bad = ~np.isin(labels, (0, 1))
        if bad.any():
            values = np.unique(labels[bad])
            shown = ", ".join(f"{v:g}" for v in values[:5]) + (", ..." if len(values) > 5 else "")
            raise ValueError(f"{self.labels_path}: expected 0/1 labels, got {int(bad.sum())} of {len(labels)} "
                             f"frames with other values ({shown})")
        return labels.astype(np.int8)

    @property
    def sr(self) -> int:
        return SAMPLE_RATE

    def to_dict(self) -> dict:
        return {"name": self.name, "wav": self.path.name, "labels": self.labels_path.name,
                "snr_db": snr_field(self.snr_db),
                "noise": self.noise, "level": self.level, "group": self.group,
                "speech_fraction": self.speech_fraction, "duration_s": self.duration_s, **self.info}


class Corpus:
    """A corpus folder read through its manifest; iterate for :class:`Scene` objects (loaded lazily)."""

    def __init__(self, root: str | Path):
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root: expected a corpus folder path, got {type(root).__name__}")
        if str(root) == "":  # Path("") is the current folder
            raise ValueError("root: expected a corpus folder path, got ''")
        self.root = Path(root)
        path = self.root / MANIFEST
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"{self.root}: is a file; expected a corpus folder")
        if not self.root.is_dir():
            raise FileNotFoundError(f"corpus folder not found: {self.root}")
        if not path.exists():
            # a `vad corpus --benchmark` folder holds three corpora; "generate with `neuroflow vad corpus`" of it
            # sent the user back to the command that had made it
            inner = sorted(p.parent.name for p in self.root.glob(f"*/{MANIFEST}"))
            if inner:
                given = ", ".join(str(self.root / name) for name in inner)
                raise FileNotFoundError(f"{self.root}: holds {len(inner)} corpora (a `neuroflow vad corpus "
                                        f"--benchmark` folder?), not one; give one of {given}")
            raise FileNotFoundError(f"corpus manifest missing: {path} (generate with `neuroflow vad corpus`)")
        self.manifest = read_manifest(path)
        missing, odd = [], []
        for entry in self.manifest["scenes"]:
            for key in ("wav", "labels"):
                path = self.root / entry[key]
                if not path.exists():
                    missing.append(str(path))
                elif not path.is_file():  # a pipe would be waited on forever, a device read without end
                    odd.append(str(path))
        for paths, what, error in ((missing, "missing files", FileNotFoundError),
                                   (odd, "scene files that are not regular files (devices, pipes, folders)",
                                    ValueError)):
            if paths:
                more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
                raise error(f"corpus {self.root}: {what} {', '.join(paths[:3])}{more}")

    def __len__(self) -> int:
        return len(self.manifest["scenes"])

    def __iter__(self):
        for entry in self.manifest["scenes"]:
            yield self._scene(entry)

    def __getitem__(self, i: int | slice) -> Scene | list[Scene]:
        """Scene ``i`` (negative: from the end), or a list of the scenes of a slice."""
        entries = self.manifest["scenes"]
        if isinstance(i, slice):  # was "'list' object has no attribute 'items'"
            return [self._scene(entry) for entry in entries[i]]
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"corpus index: expected a whole number or a slice, got {type(i).__name__}")
        if not -len(entries) <= i < len(entries):
            raise IndexError(f"corpus {self.root}: no scene {i}; it holds {len(entries)}")
        return self._scene(entries[i])

    def _scene(self, entry: dict) -> Scene:
        extra = {k: v for k, v in entry.items() if k not in {"name", "wav", "labels", "snr_db", "noise", "group",
                                                              "speech_fraction", "duration_s", "level"}}
        return Scene(name=entry["name"], path=self.root / entry["wav"], labels_path=self.root / entry["labels"],
                     snr_db=float(entry["snr_db"]), noise=entry["noise"], group=entry["group"],
                     speech_fraction=float(entry["speech_fraction"]), duration_s=float(entry["duration_s"]),
                     info=extra)

    @property
    def minutes(self) -> float:
        return sum(float(e["duration_s"]) for e in self.manifest["scenes"]) / 60.0

    def __repr__(self) -> str:
        return f"Corpus({str(self.root)!r}, scenes={len(self)}, minutes={self.minutes:.1f})"


def load_corpus(root: str | Path) -> Corpus:
    """Open a corpus folder written by :func:`generate_corpus`; iterate it for scenes.

    Raises FileNotFoundError naming the manifest or the scene files that are missing.
    """
    return Corpus(root)


# ----------------------------------------------------------------------------- write
def generate_corpus(out_dir: str | Path, minutes: float = 10.0, split: str = "train", seed: int = 0, *,
                    speech: str = "espeak", durations=None, snrs=None, noises=None, progress: bool = True,
                    overwrite: bool = False, n_jobs: int = 1, scheduler: str | None = None,
                    group: str | None = None, progress_bar: bool | None = None) -> CorpusResult:
    """Write a corpus of about ``minutes`` of noisy speech of ``split`` into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        The corpus folder (created if missing).
    minutes, split, seed, speech, durations, snrs, noises
        The plan (see :func:`plan_corpus`).
    progress : bool
        Show a progress bar over scenes.
    overwrite : bool
        Start over when the folder holds a corpus with other settings (otherwise ValueError).
    n_jobs : int
        Local worker processes (-1: all cores).
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:port``): scenes run on that cluster. Same bytes either way.
    group, progress_bar
        Older names of ``split`` ("A"/"B") and ``progress``, still accepted.

    Returns
    -------
    CorpusResult

    Same arguments, same files. A rerun into a folder with the same settings keeps the finished scenes
    (those whose files match the manifest) and makes the rest; a second run into a folder that a run is
    writing is refused (ValueError). A missing source package raises
    :class:`neuroflow.vad.sources.SourceMissing` naming it, before any work.
    """
    if group is not None:
        split = as_split(group, "group")
    if progress_bar is not None:
        progress = bool(progress_bar)
    # read once: the plan and the manifest's settings both read them (a generator left the settings empty)
    durations, snrs, noises = (None if v is None else as_list(v, n, w) for v, n, w in (
        (durations, "durations", "numbers"), (snrs, "snrs", "numbers"), (noises, "noises", "noise names")))
    plans = plan_corpus(minutes, split, seed, speech=speech, durations=durations, snrs=snrs, noises=noises)
    durations, snrs, noises = _defaults(speech, durations, snrs, noises)
    split = as_split(split)
    settings = {"format": FORMAT_VERSION, "minutes": float(minutes), "group": GROUPS[split], "split": split,
                "seed": int(seed), "speech": speech, "durations": [float(d) for d in durations],
                "snrs": [float(s) for s in snrs], "noises": list(noises), "sample_rate": SAMPLE_RATE,
                "frame_hop_s": HOP / SAMPLE_RATE, "active_level_dbov": ACTIVE_LEVEL_DBOV}
    return write_corpus(out_dir, plans, settings, progress=progress, overwrite=overwrite, n_jobs=n_jobs,
                        scheduler=scheduler, desc=f"corpus {split} ({speech})")
