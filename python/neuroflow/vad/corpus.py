"""A reproducible noisy-speech corpus for VAD, built the way QUT-NOISE-TIMIT was, from eSpeak speech.

Recipe for one scene (60 s or 120 s by default):

1. A speech proportion is drawn from three strata with probabilities 25% / 50% / 25%: below 25%
   (U(5%, 25%)), 25-75% (U(25%, 75%)) and above 75% (U(75%, 95%)).
2. Utterances (built-in sentences, 2-4 speakers of the scene's group) are synthesised until their total
   length reaches that proportion. Each utterance is merged with the previous one with probability
   0.5, overlapping it by U(0, 1) s; otherwise it starts a new segment.
3. Gaps U(0, 1) s are drawn before, between and after the segments and scaled so the segments and
   gaps fill the scene exactly.
4. The speech is set to an active level of -26 dBov (RMS over speech frames, full scale = 1.0) and the
   noise (one of :data:`neuroflow.vad.noise.NOISE_TYPES`) is scaled to the scene's SNR in
   {-10, -5, 0, 5, 10, 15} dB relative to that active level. In the "reverb" condition the speech too
   passes through a synthetic room response. The mixture is written as 16-bit WAV at 16 kHz (scaled
   down as a whole if it would clip; the SNR is unchanged).
5. Frame labels (10 ms, aligned as :mod:`neuroflow.vad.features` documents) come from the clean,
   dry speech track: a frame is speech when its energy is within 40 dB of the active level; silent
   gaps shorter than 150 ms inside speech are filled, and each speech run is extended by a 50 ms
   hangover.

SNRs and noise types are balanced over the scenes of a corpus (shuffled in turn), the strata are
drawn per scene. Groups A and B use disjoint voice variants, disjoint sentences (see
:mod:`neuroflow.vad.speech`) and different noise seeds: train on A, test on B.

Layout of a corpus folder::

    corpus.json              manifest: settings and one entry per finished scene
    A_0000.wav               mixture, 16-bit PCM, 16 kHz
    A_0000.labels.npy        int8 0/1 per 10 ms frame, len == wav samples // 160

Generation is deterministic for a seed (each scene draws from its own child seed) and resumable: the
manifest is rewritten after every finished scene, and a rerun with the same settings skips them.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from neuroflow._utils import check_choice, check_positive, progress
from neuroflow.vad.audio import SAMPLE_RATE, load_audio, write_audio
from neuroflow.vad.features import HOP, frame_energy_db
from neuroflow.vad.noise import NOISE_TYPES, make_noise, reverberate, room_impulse_response
from neuroflow.vad.speech import GROUPS, SentenceGenerator, random_voice, synthesize

MANIFEST = "corpus.json"
FORMAT_VERSION = 1
SNRS_DB = (-10, -5, 0, 5, 10, 15)
#: noise level name -> SNRs (dB) it covers
LEVELS = {"low": (15, 10), "medium": (5, 0), "high": (-5, -10)}
#: (probability, low, high) of the speech-proportion strata
STRATA = ((0.25, 0.05, 0.25), (0.50, 0.25, 0.75), (0.25, 0.75, 0.95))
ACTIVE_LEVEL_DBOV = -26.0


def noise_level(snr_db: float) -> str:
    """"low" (15/10 dB), "medium" (5/0 dB) or "high" (-5/-10 dB) noise for an SNR; nearest level otherwise."""
    if snr_db >= 7.5:
        return "low"
    if snr_db >= -2.5:
        return "medium"
    return "high"


# ----------------------------------------------------------------------------- labels
def speech_labels(clean: np.ndarray, *, threshold_db: float = 40.0, min_gap_s: float = 0.15,
                  hangover_s: float = 0.05, reference_db: float | None = None) -> np.ndarray:
    """0/1 per 10 ms frame of a clean speech track (int8, ``len(clean) // 160`` frames).

    A frame is speech when its 25 ms energy lies within ``threshold_db`` of ``reference_db`` (default:
    the 95th percentile of the energies of audible frames, a robust stand-in for the speech peak level). Non-speech
    runs shorter than ``min_gap_s`` between speech are filled, then every speech run is extended by
    ``hangover_s``.
    """
    energy = frame_energy_db(np.asarray(clean, dtype=np.float64))
    if len(energy) == 0:
        return np.zeros(0, np.int8)
    if reference_db is None:
        # digital silence between utterances is excluded, so a scene with little speech still finds its level
        audible = energy[energy > energy.max() - 80.0]
        reference_db = float(np.percentile(audible, 95))
    active = energy > max(reference_db - threshold_db, -100.0)
    labels = active.copy()
    frame_s = HOP / SAMPLE_RATE
    idx = np.flatnonzero(active)
    if len(idx):
        gaps = np.flatnonzero(np.diff(idx) > 1)
        for g in gaps:  # fill short pauses between speech frames
            a, b = idx[g] + 1, idx[g + 1]
            if (b - a) * frame_s < min_gap_s:
                labels[a:b] = True
        hang = int(round(hangover_s / frame_s))
        if hang > 0:
            ends = np.flatnonzero(labels[:-1] & ~labels[1:])
            for e in ends:
                labels[e + 1:e + 1 + hang] = True
    return labels.astype(np.int8)


def _trim_silence(wav: np.ndarray, threshold_db: float = 50.0) -> np.ndarray:
    """Cut leading and trailing near-silence (eSpeak pads its output)."""
    env = np.abs(wav)
    peak = float(env.max()) if len(env) else 0.0
    if peak == 0:
        return wav
    idx = np.flatnonzero(env > peak * 10 ** (-threshold_db / 20))
    return wav[idx[0]: idx[-1] + 1]


# ----------------------------------------------------------------------------- scene plan
@dataclass
class ScenePlan:
    """What a scene will be, fixed before any audio is made (so resuming reproduces it)."""

    index: int
    name: str
    group: str
    duration_s: float
    snr_db: float
    noise: str
    stratum: int
    target_fraction: float
    seed: list[int]

    def to_dict(self) -> dict:
        return asdict(self)


def plan_corpus(minutes: float, group: str, seed: int, *, durations=(60.0, 120.0), snrs=SNRS_DB,
                noises=NOISE_TYPES) -> list[ScenePlan]:
    """Scene plans adding up to at least ``minutes`` of audio (the last scene may overshoot)."""
    check_positive(minutes, "minutes")
    check_choice(group, "group", GROUPS)
    durations = [float(check_positive(d, "durations")) for d in durations]
    if not durations:
        raise ValueError("durations: expected at least one scene length in seconds, got none")
    if not snrs:
        raise ValueError("snrs: expected at least one SNR, got none")
    for kind in noises:
        check_choice(kind, "noises", NOISE_TYPES)
    if not noises:
        raise ValueError(f"noises: expected at least one of {list(NOISE_TYPES)}, got none")
    group_id = GROUPS.index(group)
    rng = np.random.default_rng([int(seed), group_id, 0x5CE7E])
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
        plans.append(ScenePlan(index=i, name=f"{group}_{i:04d}", group=group, duration_s=duration,
                               snr_db=float(snr_bag.pop()), noise=str(noise_bag.pop()), stratum=stratum,
                               target_fraction=frac, seed=[int(seed), group_id, i]))
        total += duration
        i += 1
    return plans


# ----------------------------------------------------------------------------- one scene
def _speech_track(plan: ScenePlan, rng, used_sentences: set[str]):
    """Clean speech of the scene (float64), its utterance list, and the merge/gap layout."""
    n = int(round(plan.duration_s * SAMPLE_RATE))
    target = plan.target_fraction * n
    speakers = [random_voice(plan.group, rng) for _ in range(int(rng.integers(2, 5)))]
    sentences = SentenceGenerator(plan.group, rng, exclude=used_sentences)
    segments: list[np.ndarray] = []
    utterances = []
    speech_len = 0
    while speech_len < target:
        voice = speakers[int(rng.integers(len(speakers)))]
        text = sentences.sentence()
        wav = _trim_silence(synthesize(text, voice)).astype(np.float64)
        utterances.append({"text": text, "voice": voice.name, "pitch": voice.pitch, "rate": voice.rate})
        if segments and rng.random() < 0.5:
            prev = segments[-1]
            overlap = min(int(rng.uniform(0.0, 1.0) * SAMPLE_RATE), len(prev) // 2, len(wav) // 2)
            merged = np.zeros(len(prev) + len(wav) - overlap)
            merged[: len(prev)] += prev
            merged[len(prev) - overlap:] += wav
            speech_len += len(merged) - len(prev)
            segments[-1] = merged
        else:
            segments.append(wav)
            speech_len += len(wav)
    # never more speech than the scene holds: shorten the last segment if needed
    excess = sum(len(s) for s in segments) - n
    if excess > 0:
        segments[-1] = segments[-1][: max(len(segments[-1]) - excess, 0)]
    gaps = rng.uniform(0.0, 1.0, size=len(segments) + 1)
    room = n - sum(len(s) for s in segments)
    gaps = np.floor(gaps / gaps.sum() * room).astype(int)
    track = np.zeros(n)
    pos = 0
    for gap, seg in zip(gaps[:-1], segments):
        pos += int(gap)
        track[pos:pos + len(seg)] = seg
        pos += len(seg)
    return track, utterances, len(segments)


def make_scene(plan: ScenePlan, used_sentences: set[str] | None = None):
    """Synthesise one scene: returns ``(mixture float32, labels int8, info dict)``."""
    from neuroflow.vad.speech import engine

    engine().reset()  # eSpeak's output depends on its history; a fresh engine makes a scene a function of its seed
    rng = np.random.default_rng(plan.seed)
    used = set() if used_sentences is None else used_sentences
    clean, utterances, n_segments = _speech_track(plan, rng, used)
    labels = speech_labels(clean)
    active = np.repeat(labels.astype(bool), HOP)
    active = np.concatenate([active, np.zeros(len(clean) - len(active), bool)])
    active_rms = float(np.sqrt(np.mean(clean[active] ** 2))) if active.any() else 1.0
    gain = 10 ** (ACTIVE_LEVEL_DBOV / 20) / active_rms
    speech = clean * gain
    noise_rng = np.random.default_rng(plan.seed + [0xD15E])
    if plan.noise == "reverb":
        speech = reverberate(speech, room_impulse_response(noise_rng)).astype(np.float64)
    noise = make_noise(plan.noise, len(clean), noise_rng, plan.group).astype(np.float64)
    noise *= 10 ** ((ACTIVE_LEVEL_DBOV - plan.snr_db) / 20)
    mix = speech + noise
    peak = float(np.max(np.abs(mix)))
    out_gain = min(1.0, 0.99 / peak) if peak > 0 else 1.0
    info = {"speech_fraction": float(labels.mean()) if len(labels) else 0.0, "n_utterances": len(utterances),
            "n_segments": n_segments, "output_gain_db": float(20 * np.log10(out_gain)),
            "voices": sorted({u["voice"] for u in utterances}), "utterances": utterances}
    return (mix * out_gain).astype(np.float32), labels, info


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
    def level(self) -> str:
        return noise_level(self.snr_db)

    @cached_property
    def wav(self) -> np.ndarray:
        wav, _ = load_audio(self.path)
        return wav

    @cached_property
    def labels(self) -> np.ndarray:
        try:
            labels = np.load(self.labels_path, allow_pickle=False)
        except FileNotFoundError:
            raise FileNotFoundError(f"labels file missing: {self.labels_path}") from None
        except Exception as exc:
            raise ValueError(f"{self.labels_path}: cannot read labels ({exc})") from None
        if labels.ndim != 1 or not np.isin(labels, (0, 1)).all():
            raise ValueError(f"{self.labels_path}: expected a 1-d array of 0/1 labels, got shape {labels.shape}")
        return labels.astype(np.int8)

    @property
    def sr(self) -> int:
        return SAMPLE_RATE

    def to_dict(self) -> dict:
        return {"name": self.name, "wav": self.path.name, "labels": self.labels_path.name, "snr_db": self.snr_db,
                "noise": self.noise, "level": self.level, "group": self.group,
                "speech_fraction": self.speech_fraction, "duration_s": self.duration_s, **self.info}


class Corpus:
    """A corpus folder read through its manifest; iterate for :class:`Scene` objects (loaded lazily)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        path = self.root / MANIFEST
        if not self.root.is_dir():
            raise FileNotFoundError(f"corpus folder not found: {self.root}")
        if not path.exists():
            raise FileNotFoundError(f"corpus manifest missing: {path} (generate with `neuroflow vad corpus`)")
        try:
            self.manifest = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a valid corpus manifest ({exc})") from None
        if not isinstance(self.manifest, dict) or not isinstance(self.manifest.get("scenes"), list):
            raise ValueError(f"{path}: not a valid corpus manifest (no 'scenes' list)")
        missing = []
        for entry in self.manifest["scenes"]:
            for key in ("wav", "labels"):
                if not (self.root / entry[key]).exists():
                    missing.append(str(self.root / entry[key]))
        if missing:
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            raise FileNotFoundError(f"corpus {self.root}: missing files {', '.join(missing[:3])}{more}")

    def __len__(self) -> int:
        return len(self.manifest["scenes"])

    def __iter__(self):
        for entry in self.manifest["scenes"]:
            yield self._scene(entry)

    def __getitem__(self, i: int) -> Scene:
        return self._scene(self.manifest["scenes"][i])

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


@dataclass
class CorpusResult:
    """What :func:`generate_corpus` did."""

    root: Path
    n_scenes: int
    n_generated: int
    n_resumed: int
    minutes: float
    seconds: float
    realtime_factor: float  # audio seconds made per wall-clock second (generated scenes only)

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def _write_manifest(path: Path, manifest: dict) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(manifest, indent=1))
    tmp.replace(path)


def generate_corpus(out_dir: str | Path, minutes: float = 10.0, group: str = "A", seed: int = 0, *,
                    durations=(60.0, 120.0), snrs=SNRS_DB, noises=NOISE_TYPES, progress_bar: bool = True,
                    overwrite: bool = False) -> CorpusResult:
    """Write a corpus of about ``minutes`` of noisy speech of ``group`` ("A" or "B") into ``out_dir``.

    Scenes last one of ``durations`` seconds (QUT-NOISE-TIMIT uses 60 and 120), the SNRs cycle over
    ``snrs`` and the noise types over ``noises``. Same arguments, same files. If ``out_dir`` already
    holds a manifest with the same settings, finished scenes are kept and generation resumes; with
    other settings it raises ValueError unless ``overwrite=True``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed: expected an integer, got {seed!r}")
    plans = plan_corpus(minutes, group, int(seed), durations=durations, snrs=snrs, noises=noises)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    settings = {"format": FORMAT_VERSION, "minutes": float(minutes), "group": group, "seed": int(seed),
                "durations": [float(d) for d in durations], "snrs": [float(s) for s in snrs],
                "noises": list(noises), "sample_rate": SAMPLE_RATE, "frame_hop_s": HOP / SAMPLE_RATE,
                "active_level_dbov": ACTIVE_LEVEL_DBOV}
    manifest_path = root / MANIFEST
    done: dict[str, dict] = {}
    if manifest_path.exists() and not overwrite:
        try:
            old = json.loads(manifest_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{manifest_path}: unreadable manifest ({exc}); "
                             f"pass overwrite=True to start over") from None
        if old.get("settings") != settings:
            raise ValueError(f"{manifest_path}: holds a corpus with other settings ({old.get('settings')}); "
                             f"use another folder or overwrite=True")
        done = {e["name"]: e for e in old.get("scenes", [])
                if (root / e["wav"]).exists() and (root / e["labels"]).exists()}
    manifest = {"settings": settings, "levels": LEVELS, "scenes": []}
    used: set[str] = set()
    t0 = time.perf_counter()
    made_seconds, n_new = 0.0, 0
    bar = progress(plans, enabled=progress_bar, desc=f"corpus {group}", unit="scene")
    for plan in bar:
        if plan.name in done:
            entry = done[plan.name]
        else:
            mix, labels, info = make_scene(plan, used)
            write_audio(root / f"{plan.name}.wav", mix)
            tmp = root / f"{plan.name}.labels.part.npy"
            np.save(tmp, labels)
            tmp.replace(root / f"{plan.name}.labels.npy")
            entry = {"name": plan.name, "wav": f"{plan.name}.wav", "labels": f"{plan.name}.labels.npy",
                     "snr_db": plan.snr_db, "noise": plan.noise, "level": noise_level(plan.snr_db),
                     "group": plan.group, "duration_s": plan.duration_s, "stratum": plan.stratum,
                     "target_fraction": plan.target_fraction, **info}
            made_seconds += plan.duration_s
            n_new += 1
        used.update(u["text"] for u in entry.get("utterances", []))
        manifest["scenes"].append(entry)
        if plan.name not in done:
            _write_manifest(manifest_path, manifest)
    _write_manifest(manifest_path, manifest)
    elapsed = time.perf_counter() - t0
    return CorpusResult(root=root, n_scenes=len(plans), n_generated=n_new, n_resumed=len(plans) - n_new,
                        minutes=sum(p.duration_s for p in plans) / 60.0, seconds=elapsed,
                        realtime_factor=made_seconds / elapsed if elapsed > 0 and n_new else float("nan"))
