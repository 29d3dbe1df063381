"""The spiking VADs against energy, WebRTC mode 3 and Silero on held-out real speech and on synthetic speech; prints JSON.

Measures, for the targets of issue 15:

* **real speech of held-out speakers** (``neuroflow vad corpus --benchmark``,
  :func:`neuroflow.vad.realspeech.benchmark_set`: the two test speakers, never trained on, taking turns
  over test-family room tone or digital silence), clean and mixed with the eight generated noises and
  held-out music at 20 / 10 / 5 / 0 / -5 dB SNR: MR, FAR and HTER per condition (frames pooled over the
  condition's scenes) and the mean HTER over the 46 conditions; whether each spiking model beats
  WebRTC-3 in every condition (and, for each condition lost, in how many resamplings of its scenes it still
  loses) and how far its mean is from Silero's (Silero itself scored against the same bars); the clean
  false-alarm rate; and the same rates with a 0.25 s collar either side of each label change unscored
  (``collar``: detection rather than where exactly each utterance is said to start and end);
* **speech-free files**: the fraction of frames called speech on held-out music (asc-music, never the
  training music) and on test-family room tone;
* **steady noise after digital silence** (a file that opens with zeros, then a fan): the fraction of
  frames called speech in 4 s of white, pink, brown or car noise at -60, -40 and -20 dBFS that start
  after 1.5 s of zeros (the earlier models called it speech for up to 1.5 s);
* **Debian's alsa-utils clips** (/usr/share/sounds/alsa): the spoken clips labelled from their clean
  signal, Noise.wav (all non-speech), and the spoken clips strung into one track mixed with every
  generated noise at 20 / 10 / 5 / 0 dB SNR;
* **synthetic group B** (eSpeak voices and sentences never trained on; 30 min): HTER per noise level
  (low 15/10, medium 5/0, high -5/-10 dB SNR) and their mean, with the unpruned models beside;
* **the models**: sparsity, spikes per neuron per frame, synaptic operations and power at 100 frames/s
  and 23.6 pJ per operation (Loihi), CPU seconds per audio second on one thread (real-time factor),
  and the training wall time recorded with each model.

torch and BLAS use one thread. Usage::

    python benchmarks/vad.py [--quick] [--real DIR | --real-seed S --real-scenes N] [--synthetic DIR]
                             [--extra SPEC ...] [--out result.json [--fresh]]

``--real`` / ``--synthetic`` reuse corpus folders; without them the script builds them (in $TMPDIR)
with the same seeds every time (``--real-seed`` / ``--real-scenes``: another draw of held-out scenes).
``--extra`` adds systems (e.g. ``snu:old.pt``) to every comparison.

Ctrl-C and crashes lose nothing finished: with ``--out FILE``, every finished part (a section's result for one
system: real speech, speech-free files, noise after silence, the alsa clips and tracks, group B, CPU speed) is
saved as it finishes to ``FILE.progress`` beside it (atomically), and the same command run again resumes from
there (Ctrl-C: exit status 130 and one line saying what is kept); the file is removed once ``FILE`` is written.
A rerun with other settings (flags, the corpora's contents, the systems and their model files, the alsa clips, the
code of this script and of neuroflow.vad) is refused in one line naming them; ``--fresh`` starts afresh instead.
One run at a time per ``--out``. The resumed result equals an uninterrupted run's but for the timings
(``realtime_factor_one_core``, and each model's ``realtime_factor_one_core`` and ``targets.speed_ok``), which are
those measured when each part ran.
The corpora built in $TMPDIR resume scene by scene by themselves. Without ``--out`` nothing is kept.
"""
from __future__ import annotations

from neuroflow.__main__ import ctrl_c_ends_in_one_line  # first: 1.5 ms (sys and the lazy package)

# Ctrl-C while the modules load (half a second: numpy, the library) ended in an import traceback: one line
# and exit status 130 now, as for `neuroflow` (neuroflow/__main__.py)
with ctrl_c_ends_in_one_line():
    import contextlib
    import hashlib
    import json
    import os
    import sys
    import time
    from pathlib import Path

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

    import numpy as np

    from neuroflow._utils import describe_differences, print_json, read_json, write_text_atomic
    from neuroflow.cliutil import fail, note

ALSA = Path("/usr/share/sounds/alsa")
BASELINES = ("energy", "webrtc:3", "silero")
SPIKING = ("snu", "bin")
#: seconds either side of each label change left unscored in the real-speech results' second view ("collar"), as
#: NIST's md-eval does: what is lost there is boundary placement (reverberant tails, breaths), not detection
COLLAR_S = 0.25
#: real-speech benchmark settings (full, quick)
REAL_SETTINGS = {False: {"scenes_per_condition": 2, "duration_s": 30.0, "nonspeech_files": 6},
                 True: {"scenes_per_condition": 1, "duration_s": 10.0, "nonspeech_files": 2}}
#: the corpora of a held-out set (``vad corpus --benchmark``), each in its folder
REAL_PARTS = ("speech", "music", "roomtone")
#: scene resamplings behind each lost condition's bootstrap share (:func:`loss_share`)
BOOTSTRAPS = 2000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ============================================================================= keeping finished parts
#: what a progress file says it is: a file without it is not this script's (refused, not overwritten)
PROGRESS_FORMAT = "benchmarks/vad.py progress"
#: the settings given by flags, known before any corpus is built: a progress file of others is refused at once
FLAG_SETTINGS = ("quick", "real", "real_seed", "real_scenes", "synthetic", "extra")
#: the other settings known before any corpus is built, and how a refusal names them
EARLY_SETTINGS = {"code": "the code (benchmarks/vad.py and neuroflow.vad)"}


def code_identity() -> str:
    """This script's and :mod:`neuroflow.vad`'s sources (``*.py``, and ``*.json`` such as the shipped recipe), in 16 hex
    digits: parts scored by another version of the sections, of the post-processing or of a baseline are not this
    run's (a resumed run took them, e.g. after a ``git pull``, and printed one result of two versions)."""
    import neuroflow.vad

    package = Path(neuroflow.vad.__file__).resolve().parent
    files = sorted(p for ext in ("*.py", "*.json") for p in package.rglob(ext))
    h = hashlib.sha256(Path(__file__).read_bytes())
    for path in files:
        h.update(b"\0" + str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _now(section: str, name: str, compute):
    """A section's ``keep`` where nothing is kept: score now."""
    return compute()


def _checksum(settings: dict, parts: dict) -> str:
    """The SHA-256 a progress file is written with, of its settings and parts: a file edited since (a result changed,
    a part of another shape, which failed at the end with a traceback) is refused."""
    return hashlib.sha256(json.dumps({"settings": settings, "parts": parts}, sort_keys=True).encode()).hexdigest()


def progress_path(out: Path) -> Path:
    """Where a run with ``--out FILE`` keeps its finished parts: ``FILE.progress`` beside it."""
    return out.with_name(out.name + ".progress")


def _plain(value):
    """``value`` as it reads back from a progress file (NumPy numbers as Python's, tuples as lists, NaN kept), so a
    part scored now and one taken from the file give the same result."""
    def default(obj):
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON")

    return json.loads(json.dumps(value, default=default))


def corpus_identity(root: Path) -> str:
    """What a corpus folder holds, in 16 hex digits: the SHA-256 of its manifests (``corpus.json`` there and one
    level down, as a ``vad corpus --benchmark`` folder has three), which record every scene's settings and the source
    packages they were made with, and of the scene files they list as they are now. Labels may be corrected by hand
    (the corpus reads them as they are), so a resumed run's parts scored before such a change are not taken; a WAV
    that differs from its recorded SHA-256, or a listed file that is missing, is a ValueError naming it, before any
    part is scored (it failed in the middle of a section, with a traceback)."""
    from neuroflow.vad.corpus_store import file_hash

    h = hashlib.sha256()
    manifests = sorted([*root.glob("corpus.json"), *root.glob("*/corpus.json")])
    if not manifests:  # --real or --synthetic at a folder of something else: a traceback from the section loading it
        raise ValueError(f"{root}: no corpus manifest (corpus.json) in it or its folders; expected a corpus folder "
                         f"(neuroflow vad corpus)")
    for manifest in manifests:
        info = read_json(manifest, "corpus manifest")
        h.update(str(manifest.relative_to(root)).encode())
        h.update(json.dumps(info, sort_keys=True).encode())
        scenes = info.get("scenes") if isinstance(info, dict) else None
        for entry in scenes if isinstance(scenes, list) else []:
            recorded = entry.get("sha256") if isinstance(entry, dict) else None
            for key in ("wav", "labels"):
                name = entry.get(key) if isinstance(entry, dict) else None
                if not isinstance(name, str):  # loading the corpus names a manifest of another shape
                    continue
                path = manifest.parent / name
                again = f"make the corpus again (a set this script built in $TMPDIR: delete {root})"
                if not path.is_file():  # was a traceback from the section that loaded the corpus, after other parts
                    state = "not a file" if path.exists() else "missing"
                    raise ValueError(f"{path}: listed in its corpus manifest but {state}; {again}")
                digest = file_hash(path)
                if key == "wav" and isinstance(recorded, dict) and recorded.get("wav") not in (None, digest):
                    raise ValueError(f"{path}: differs from its corpus manifest (SHA-256), changed or cut short after "
                                     f"it was written; {again}")
                h.update(f"{path.relative_to(root)}\0{digest}".encode())
    return h.hexdigest()[:16]


def files_identity(paths) -> str:
    """The names and bytes of ``paths``, in 16 hex digits (model files, the alsa clips)."""
    h = hashlib.sha256()
    for path in paths:
        h.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes())
    return h.hexdigest()[:16]


#: the distributions a baseline system's model comes from: a new release of one is another system
SYSTEM_PACKAGES = {"WebRTCVAD": "webrtcvad-wheels", "SileroVAD": "silero-vad"}


def system_identity(system) -> str:
    """A system's class and, for a trained model, its file's identity, or for a baseline, its package's version: a
    retrained model or an upgraded webrtcvad or silero-vad is another system."""
    from importlib.metadata import PackageNotFoundError, version

    path = getattr(system, "path", None)
    kind = type(system).__name__
    if isinstance(path, Path) and path.is_file():
        return f"{kind} {files_identity([path])}"
    package = SYSTEM_PACKAGES.get(kind)
    if package is None:
        return kind
    try:
        return f"{kind} {package} {version(package)}"
    except PackageNotFoundError:
        return kind


class Progress:
    """The finished parts of a run (section -> system name -> result), saved to ``path`` (None: kept in memory only)
    after each one, atomically; ``settings`` (JSON values) say what the parts were scored with. ``interrupts``
    (:func:`neuroflow.cliutil.record_interrupts`): a part that ran on after a Ctrl-C some library caught is not
    kept. ``keep`` is what the section functions take."""

    def __init__(self, path: Path | None, settings: dict, interrupts=()):
        self.path, self.settings, self.interrupts = path, dict(settings), interrupts
        self.parts: dict = {}
        self._saved: dict | None = None

    def read(self, fresh: bool = False) -> None:
        """Read the progress file, if any (``fresh``: delete it), and compare the flag settings: ValueError naming the
        file when it is unreadable or not this script's, or was scored with other settings."""
        if self.path is not None and self.path.is_symlink():  # the parts went where it pointed (a dangling link: a
            # new file there, left behind; a read-only place: a traceback after the first part), --fresh cut the link
            raise ValueError(f"{self.path}: is a symbolic link, where this run keeps its finished parts in a file of "
                             f"its own; remove it or give another --out")
        if self.path is None or not self.path.exists():
            return
        if self.path.is_dir():  # --fresh's unlink said only "[Errno 21] Is a directory", and the read "cannot read"
            raise ValueError(f"{self.path}: is a folder, where this run keeps its finished parts; remove it or give "
                             f"another --out")
        if fresh:  # dropped now: a fresh run stopped before its first part left another run's parts to resume
            self.path.unlink()
            return
        what = "progress file of benchmarks/vad.py"
        try:
            saved = read_json(self.path, what)
        except ValueError as exc:
            raise ValueError(f"{exc}; delete it or give --fresh") from None
        parts = saved.get("parts") if isinstance(saved, dict) else None
        if not (isinstance(saved, dict) and saved.get("format") == PROGRESS_FORMAT
                and isinstance(saved.get("settings"), dict) and isinstance(parts, dict)
                and all(isinstance(v, dict) for v in parts.values())):
            raise ValueError(f"{self.path}: not a {what} (another program's file?); delete it or give --fresh")
        if saved.get("sha256") != _checksum(saved["settings"], parts):
            raise ValueError(f"{self.path}: its contents do not match the checksum they were written with (edited, or "
                             f"written by an earlier version of benchmarks/vad.py); delete it or give --fresh")
        self._saved = saved
        self._compare((*FLAG_SETTINGS, *EARLY_SETTINGS))
        self.parts = parts  # (taken once :meth:`settle` finds the rest of the settings the same)

    def settle(self, settings: dict) -> None:
        """Add the settings known once the corpora and systems are there (their identities) and compare all of them
        with the file's: its finished parts are then this run's."""
        self.settings.update(settings)
        if self._saved is not None:
            self._compare(None)
            note(f"resuming from {self.path}: {self.summary()} finished")

    def _compare(self, keys) -> None:
        then, now = self._saved["settings"], self.settings
        if keys is not None:
            then, now = ({k: v for k, v in d.items() if k in keys} for d in (then, now))

        def entries(d):  # a table of settings (the systems) by entry: its repr, cut to 40 characters, hid which
            out = {}
            for k, v in d.items():
                if isinstance(v, dict) and v:
                    out.update({f"{k}[{e}]": w for e, w in v.items()})
                else:
                    out[k] = v
            return out

        then, now = entries(then), entries(now)
        diff = describe_differences(then, now, label=lambda k: "--" + k.replace("_", "-") if k in FLAG_SETTINGS
                                    else EARLY_SETTINGS.get(k, k))
        if diff:
            raise ValueError(f"{self.path}: its finished parts were scored with other settings than this run's "
                             f"({diff}); rerun with its settings to resume, or give --fresh to start afresh")

    def __call__(self, section: str, name: str, compute):
        """``section``'s result for the system ``name``: the kept one, or ``compute()`` kept as it finishes."""
        done = self.parts.get(section, {})
        if name in done:
            return done[name]
        value = _plain(compute())
        if self.interrupts:  # the part ran on after a Ctrl-C that some library caught: it may be cut short
            raise KeyboardInterrupt
        parts = {**self.parts, section: {**done, name: value}}
        if self.path is not None:  # counted as kept once written: Ctrl-C in the write said it was kept, unwritten
            write_text_atomic(self.path, json.dumps({"format": PROGRESS_FORMAT, "settings": self.settings,
                                                     "parts": parts,
                                                     "sha256": _checksum(self.settings, parts)}) + "\n")
        self.parts = parts
        return value

    def summary(self) -> str:
        """``section (system, ...), ...``: the finished parts, for one line."""
        return ", ".join(f"{section} ({', '.join(done)})" for section, done in self.parts.items() if done) \
            or "no part"

    def interrupted(self) -> str:
        """The line an interrupted run ends with: what is kept, and how to resume."""
        if self.path is None:
            return f"interrupted: {self.summary()} had finished, not kept (no --out); give --out FILE to keep " \
                   "finished parts and resume"
        if not self.parts:
            return f"interrupted: no part had finished, nothing kept in {self.path}; rerun the same command"
        return f"interrupted: kept in {self.path}: {self.summary()}; the same command resumes from there"

    def finish(self) -> None:
        """The result is written: the finished parts are no longer needed."""
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def cpu_speed(system, wav: np.ndarray, repeats: int = 3) -> float:
    """Audio seconds processed per CPU second (process time, one thread; the best of ``repeats`` runs, as
    other jobs on a shared machine only ever slow a run down)."""
    system.score(wav[:16000], 16000)  # warm up (imports, caches)
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        system.score(wav, 16000)
        best = min(best, time.process_time() - t0)
    return len(wav) / 16000 / max(best, 1e-9)


def _rates(decisions: list[np.ndarray], labels: list[np.ndarray]) -> dict:
    from neuroflow.vad.metrics import error_rates

    mr, far, hter = error_rates(np.concatenate(decisions), np.concatenate(labels))
    return {"MR": mr, "FAR": far, "HTER": hter}


# ============================================================================= real speech
def real_speech(systems: dict, root: Path, keep=_now) -> dict:
    """Per-condition rates of every system on ``root/speech``, speech fractions on ``music`` and ``roomtone``;
    ``collar``: the same rates with the frames within COLLAR_S of each label change unscored. ``keep(section,
    name, compute)`` gives each system's result (:class:`Progress`: kept as it finishes, or taken as kept)."""
    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.metrics import collar_mask

    speech = load_corpus(root / "speech")
    scenes = list(speech)
    conditions = sorted({s.condition for s in scenes}, key=lambda c: (c != "clean", c.split("@")[0],
                                                                          -float(c.split("@")[1]) if "@" in c else 0))
    out: dict = {"root": str(root), "scenes": len(scenes), "minutes": speech.minutes, "conditions": conditions,
                 "speakers": sorted({sp["name"] for s in scenes for sp in s.info.get("speakers", [])}), "systems": {}}
    nonspeech = {name: list(load_corpus(root / name)) for name in ("music", "roomtone")}
    collars = [collar_mask(np.asarray(s.labels), COLLAR_S) for s in scenes]
    def score_system(name, system) -> dict:
        t0 = time.perf_counter()
        dec = {c: [] for c in conditions}
        lab = {c: [] for c in conditions}
        dec_c = {c: [] for c in conditions}  # decisions and labels outside the collars
        lab_c = {c: [] for c in conditions}
        counts = {c: [] for c in conditions}  # per scene: misses, speech frames, false alarms, non-speech frames
        for s, keep in zip(scenes, collars):
            score = system.score(s.wav, s.sr)
            d, lb = score >= 0.5, np.asarray(s.labels[: len(score)], dtype=bool)
            dec[s.condition].append(d)
            lab[s.condition].append(lb)
            counts[s.condition].append([int((~d & lb).sum()), int(lb.sum()), int((d & ~lb).sum()), int((~lb).sum())])
            k = keep[: len(lb)]
            dec_c[s.condition].append(d[k])
            lab_c[s.condition].append(lb[k])
        per = {c: _rates(dec[c], lab[c]) for c in conditions}
        per_collar = {c: _rates(dec_c[c], lab_c[c]) for c in conditions}
        snrs = sorted({c.split("@")[1] for c in conditions if "@" in c}, key=float, reverse=True)
        per_snr = {snr: _rates(sum((dec[c] for c in conditions if c.endswith(f"@{snr}")), []),
                               sum((lab[c] for c in conditions if c.endswith(f"@{snr}")), [])) for snr in snrs}
        noises = sorted({c.split("@")[0] for c in conditions if "@" in c})
        per_noise = {k: float(np.mean([per[c]["HTER"] for c in conditions if c.startswith(f"{k}@")])) for k in noises}
        fractions = {part: float(np.mean(np.concatenate([system.score(s.wav, s.sr) >= 0.5 for s in files])))
                     for part, files in nonspeech.items()}
        result = {"mean_HTER": float(np.mean([per[c]["HTER"] for c in conditions])),
                  "clean": per["clean"], "per_condition": per, "per_snr_pooled": per_snr,
                  "per_noise_mean_HTER": per_noise, "music_speech_fraction": fractions["music"],
                  "roomtone_speech_fraction": fractions["roomtone"], "scene_counts": counts,
                  "collar": {"collar_s": COLLAR_S, "per_condition": per_collar,
                             "mean_HTER": float(np.mean([per_collar[c]["HTER"] for c in conditions]))}}
        log(f"real {name}: mean HTER {100 * result['mean_HTER']:.1f}%, clean FAR "
            f"{100 * per['clean']['FAR']:.1f}%, music {100 * fractions['music']:.1f}%, room tone "
            f"{100 * fractions['roomtone']:.1f}% ({time.perf_counter() - t0:.0f} s)")
        return result

    for name, system in systems.items():
        out["systems"][name] = keep("real_speech", name, lambda: score_system(name, system))
    return out


def loss_share(model_counts, reference_counts, n_boot: int = BOOTSTRAPS, seed: int = 0) -> float | None:
    """In how many of ``n_boot`` resamplings of a condition's scenes (with replacement, the same scenes for both
    systems) the model's HTER is at least the reference's: near 1, a loss the scenes agree on; near 0.5, a loss
    the draw of scenes decides. None with a single scene."""
    a, b = np.asarray(model_counts, dtype=float), np.asarray(reference_counts, dtype=float)
    if len(a) < 2:
        return None
    idx = np.random.default_rng(seed).integers(0, len(a), (n_boot, len(a)))

    def hter(k):
        k = k[idx].sum(axis=1)
        return (k[:, 0] / np.maximum(k[:, 1], 1) + k[:, 2] / np.maximum(k[:, 3], 1)) / 2

    return float(np.mean(hter(a) >= hter(b)))


def real_targets(real: dict) -> dict:
    """Issue 15's targets on held-out real speech, per spiking model, and for Silero as a reference: how a large
    non-spiking VAD fares against the same bars (Silero too loses conditions to WebRTC-3)."""
    systems = real["systems"]
    web, sil = systems.get("webrtc:3"), systems.get("silero")
    out = {}
    for name, r in systems.items():
        if name.split(":")[0] not in SPIKING and name != "silero":
            continue
        t = {"clean_FAR": r["clean"]["FAR"], "clean_FAR_ok": r["clean"]["FAR"] <= 0.05,
             "music_speech_fraction": r["music_speech_fraction"], "music_ok": r["music_speech_fraction"] <= 0.05,
             "roomtone_speech_fraction": r["roomtone_speech_fraction"],
             "roomtone_ok": r["roomtone_speech_fraction"] <= 0.05, "mean_HTER": r["mean_HTER"]}
        if web:
            lost = [c for c in real["conditions"] if r["per_condition"][c]["HTER"] >= web["per_condition"][c]["HTER"]]
            t["beats_webrtc3_every_condition"] = not lost
            t["conditions_not_beating_webrtc3"] = {c: [r["per_condition"][c]["HTER"], web["per_condition"][c]["HTER"]]
                                                   for c in lost}
            if "scene_counts" in r and "scene_counts" in web:
                p = {c: loss_share(r["scene_counts"][c], web["scene_counts"][c]) for c in lost}
                t["lost_conditions_bootstrap_share"] = p
                t["conditions_lost_in_95pct_of_bootstraps"] = [c for c in lost if p[c] is not None and p[c] > 0.95]
            if "collar" in r and "collar" in web:
                mine, theirs = r["collar"]["per_condition"], web["collar"]["per_condition"]
                t["conditions_not_beating_webrtc3_with_collar"] = [c for c in real["conditions"]
                                                                   if mine[c]["HTER"] >= theirs[c]["HTER"]]
        if sil and name != "silero":
            t["mean_HTER_minus_silero_points"] = 100 * (r["mean_HTER"] - sil["mean_HTER"])
            t["within_2_points_of_silero"] = t["mean_HTER_minus_silero_points"] <= 2.0
        out[name] = t
    return out


# ============================================================================= noise after digital silence
def after_silence(systems: dict, keep=_now) -> dict:
    from neuroflow.vad.noise import make_noise

    clips = []
    for kind in ("white", "pink", "brown", "car"):
        for db in (-60, -40, -20):
            noise = make_noise(kind, 4 * 16000, seed=np.random.SeedSequence([5, db + 100]), group="B") * np.float32(10 ** (db / 20))
            clips.append(np.concatenate([np.zeros(24000, np.float32), noise.astype(np.float32)]))
    out: dict = {"clips": "white/pink/brown/car noise at -60/-40/-20 dBFS, 4 s after 1.5 s of zeros"}
    def score_system(system) -> dict:
        scores = [system.score(c, 16000)[150:] for c in clips]
        return {"speech_fraction": float(np.mean(np.concatenate(scores) >= 0.5)),
                "speech_fraction_first_0.5s": float(np.mean(np.concatenate([s[:50] for s in scores]) >= 0.5))}

    for name, system in systems.items():
        out[name] = keep("noise_after_digital_silence", name, lambda: score_system(system))
    return out


# ============================================================================= alsa-utils clips
def alsa_clips(systems: dict, keep=_now) -> dict:
    from neuroflow.vad.audio import load_audio
    from neuroflow.vad.corpus import speech_labels

    if not ALSA.is_dir():
        return {"skipped": f"{ALSA} not found (apt-get install alsa-utils)"}
    files = sorted(ALSA.glob("*.wav"))
    out: dict = {"files": [f.name for f in files], "labels": "speech_labels(clean clip), Noise.wav all non-speech"}
    clips = [(f.stem, *load_audio(f)) for f in files]
    def score_system(system) -> dict:
        per, dec_all, lab_all, noise_far = {}, [], [], None
        for stem, wav, sr in clips:
            score = system.score(wav, sr)
            if stem == "Noise":
                noise_far = float(np.mean(score >= 0.5))
                continue
            lab = speech_labels(wav)[: len(score)]
            per[stem] = round(_rates([score >= 0.5], [lab])["HTER"], 4)
            dec_all.append(score >= 0.5)
            lab_all.append(lab)
        return {**_rates(dec_all, lab_all), "per_clip_HTER": per, "noise_wav_FAR": noise_far}

    for name, system in systems.items():
        out[name] = keep("alsa_clips", name, lambda: score_system(system))
    return out


def alsa_track(seed: int = 0):
    """The alsa-utils speech clips in one track with pauses: (speech at -26 dBov active level, labels)."""
    from neuroflow.vad.audio import load_audio, prepare
    from neuroflow.vad.corpus import ACTIVE_LEVEL_DBOV, speech_labels

    rng = np.random.default_rng([seed, 0xA15A])
    parts = [np.zeros(16000, np.float32)]
    for f in sorted(ALSA.glob("*.wav")):
        if f.stem == "Noise":
            continue
        wav, sr = load_audio(f)
        parts += [prepare(wav, sr), np.zeros(int(rng.uniform(0.5, 1.5) * 16000), np.float32)]
    track = np.concatenate(parts).astype(np.float64)
    labels = speech_labels(track)
    active = np.repeat(labels.astype(bool), 160)
    rms = float(np.sqrt(np.mean(track[: len(active)][active] ** 2)))
    return track * (10 ** (ACTIVE_LEVEL_DBOV / 20) / rms), labels


def alsa_in_noise(systems: dict, snrs=(20, 10, 5, 0), seed: int = 0, keep=_now) -> dict:
    """HTER of each system on the alsa speech track mixed with every generated test-split noise, per SNR."""
    from neuroflow.vad.corpus import ACTIVE_LEVEL_DBOV
    from neuroflow.vad.noise import NOISE_TYPES, make_noise

    if not ALSA.is_dir():
        return {"skipped": f"{ALSA} not found (apt-get install alsa-utils)"}
    speech, labels = alsa_track(seed)
    mixes = {}
    for snr in snrs:
        for i, kind in enumerate(NOISE_TYPES):
            noise = make_noise(kind, len(speech), seed=np.random.SeedSequence([seed, int(snr) + 100, i]), group="B").astype(np.float64)
            mixes[(snr, kind)] = (speech + noise * 10 ** ((ACTIVE_LEVEL_DBOV - snr) / 20)).astype(np.float32)
    out: dict = {"track_s": len(speech) / 16000, "speech_fraction": float(labels.mean()), "snrs_db": list(snrs),
                 "noises": list(NOISE_TYPES), "seed": seed}
    def score_system(system) -> dict:
        per_snr = {}
        for snr in snrs:
            dec = [system.score(mixes[(snr, kind)], 16000) >= 0.5 for kind in NOISE_TYPES]
            per_snr[str(snr)] = _rates(dec, [labels[: len(d)] for d in dec])["HTER"]
        return {"HTER_per_snr": per_snr, "HTER_mean": float(np.mean(list(per_snr.values())))}

    for name, system in systems.items():
        out[name] = keep("alsa_in_noise", name, lambda: score_system(system))
    return out


# ============================================================================= synthetic group B
def synthetic(systems: dict, root: Path, keep=_now) -> dict:
    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.evaluation import evaluate_system

    corpus = load_corpus(root)
    out: dict = {"root": str(root), "minutes": corpus.minutes, "scenes": len(corpus), "systems": {}}
    def score_system(name, system) -> dict:
        r = evaluate_system(system, corpus, progress=False)
        levels = {k: v.HTER for k, v in r.per_level.items()}
        result = {"HTER_mean_over_levels": float(np.mean(list(levels.values()))),
                  "HTER_pooled": r.overall.HTER, "HTER_per_level": levels,
                  "HTER_per_snr": {k: v.HTER for k, v in r.per_snr.items()},
                  "MR": r.overall.MR, "FAR": r.overall.FAR, "AUC": r.overall.AUC}
        log(f"synthetic {name}: mean over levels {100 * result['HTER_mean_over_levels']:.1f}%")
        return result

    for name, system in systems.items():
        out["systems"][name] = keep("synthetic_group_B", name, lambda: score_system(name, system))
    return out


# ============================================================================= main
def _scenes_in(folder: Path) -> int | None:
    """How many finished scenes the corpus manifest in ``folder`` lists (None: no readable manifest)."""
    try:
        scenes = read_json(folder / "corpus.json", "corpus manifest").get("scenes")
    except (ValueError, AttributeError):
        return None
    return len(scenes) if isinstance(scenes, list) else None


def _build_real(root: Path, quick: bool, seed: int = 0, scenes: int | None = None) -> Path | str:
    """The held-out set ``root`` (built, or finished where a build was cut short), or why it was skipped."""
    from neuroflow.vad.realspeech import benchmark_plans, benchmark_set
    from neuroflow.vad.sources import SourceMissing

    settings = {**REAL_SETTINGS[quick], **({} if scenes is None else {"scenes_per_condition": scenes})}
    # whole only with every planned scene: the manifest is written from the first scene on, so a build cut short
    # (Ctrl-C) was taken as the set, and the next run benchmarked a part of it without a word
    if all(_scenes_in(root / name) == len(plans) for name, plans in benchmark_plans(seed, **settings).items()):
        return root
    try:
        benchmark_set(root, seed=seed, progress=False, **settings)
    except SourceMissing as exc:  # one line naming the package and the install command
        return f"skipped: {exc}"
    # any other ValueError is raised: another run building the set now (CorpusLocked), a set of other settings left
    # there by an earlier version, too little disk were each taken for a missing package, and the result was printed
    # without real speech
    return root


def _real_set(args, tmp: Path) -> Path | str:
    """The held-out set of a run: ``--real DIR`` as it is, or the draw this script builds (or finishes) in ``tmp``;
    a string says why it was skipped. ``--real`` went through the build's check too: a set of another size (a
    ``--quick`` one without ``--quick``, the larger second draw) was handed to the build, which refused a folder of
    other settings, and the benchmark printed its result without real speech ("skipped")."""
    if args.real is not None:
        return args.real
    draw = f"_seed{args.real_seed}" + ("" if args.real_scenes is None else f"x{args.real_scenes}")
    root = tmp / f"neuroflow_vad_real_benchmark{'_quick' if args.quick else ''}{draw}"
    return _build_real(root, args.quick, args.real_seed, args.real_scenes)


def run_parts(systems: dict, unpruned: dict, real_root: Path | str, syn_root: Path, quick: bool, skipped: list,
              keep=_now) -> dict:
    """Every section on ``systems`` (``unpruned`` too on group B; ``real_root``: the held-out set, or why it was
    skipped): the result printed. ``keep`` gives each system's part of each section (:class:`Progress`)."""
    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.energy import model_info

    payload: dict = {"threads": 1, "skipped": skipped}
    if isinstance(real_root, Path):
        payload["real_speech"] = real_speech(systems, real_root, keep)
        payload["real_targets"] = real_targets(payload["real_speech"])
    else:
        payload["real_speech"] = {"skipped": real_root}
    payload["noise_after_digital_silence"] = after_silence(systems, keep)
    payload["alsa_clips"] = alsa_clips(systems, keep)
    payload["alsa_in_noise"] = alsa_in_noise(systems, snrs=(10, 0) if quick else (20, 10, 5, 0), keep=keep)
    payload["synthetic_group_B"] = synthetic({**systems, **unpruned}, syn_root, keep)
    probe = np.concatenate([s.wav for s in list(load_corpus(syn_root))[:2]])[: 60 * 16000]
    payload["realtime_factor_one_core"] = {name: keep("realtime_factor_one_core", name, lambda: cpu_speed(s, probe))
                                           for name, s in systems.items()}
    models = {}
    for kind in SPIKING:
        if kind not in systems:  # its model is missing (named in "skipped"): a KeyError here lost the whole run
            continue
        info = model_info(kind)
        syn = payload["synthetic_group_B"]["systems"]
        models[kind] = {"sparsity": info["sparsity"], "power_uW": info["power_uW"],
                        "spikes_per_neuron_per_frame": info["spikes_per_neuron_per_frame"],
                        "spikes_per_frame": info["spikes_per_frame"], "sops_per_s": info["sops_per_s"],
                        "realtime_factor_one_core": payload["realtime_factor_one_core"][kind],
                        "train_seconds_recorded": info["train_seconds"],
                        "synthetic_mean_HTER": syn[kind]["HTER_mean_over_levels"],
                        "pruning_HTER_loss_points": 100 * (syn[kind]["HTER_pooled"] - syn[f"{kind}:unpruned"]["HTER_pooled"])
                        if f"{kind}:unpruned" in syn else None,
                        "targets": {"sparsity_ok": info["sparsity"] >= 0.85, "power_ok": info["power_uW"] <= 5.0,
                                    "speed_ok": payload["realtime_factor_one_core"][kind] >= 200.0}}
    payload["models"] = models
    return payload


def finish(progress: Progress, out: Path | None, compute) -> int:
    """Print the result ``compute()`` returns (and write it to ``out``), then drop the kept parts; Ctrl-C: exit status
    130 and one line saying what is kept and how to resume (it lost every finished section)."""
    try:
        payload = compute()
        print_json(payload, out, indent=1)  # Ctrl-C while the result is written (out stays as it was): a traceback
    except KeyboardInterrupt:
        note(progress.interrupted())
        return 130
    except Exception:  # a crash: its traceback follows, and the finished parts are still there
        if progress.path is not None and progress.parts:
            note(f"failed: kept in {progress.path}: {progress.summary()}; the same command resumes from there")
        raise
    progress.finish()
    return 0


def main() -> int:
    from neuroflow._utils import lock_beside
    from neuroflow.cliutil import Parser, input_dir, integer, output_file, record_interrupts
    from neuroflow.vad.cli import _system_spec
    from neuroflow.vad.corpus_store import MANIFEST

    # flags checked while parsing: a bad --out, --extra or --real ended the run after minutes of work
    ap = Parser(prog="benchmarks/vad.py", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="a small real set (1 scene of 10 s per condition) and 3 min of group B")
    ap.add_argument("--real", type=input_dir, default=None, help="an existing benchmark set (vad corpus --benchmark)")
    ap.add_argument("--real-seed", type=integer(0), default=0,
                    help="without --real: the seed of the held-out set built (another draw of scenes; default 0)")
    ap.add_argument("--real-scenes", type=integer(1), default=None,
                    help="without --real: scenes per condition of the set built (default 2, --quick 1)")
    ap.add_argument("--synthetic", type=input_dir, default=None, help="an existing test-split eSpeak corpus")
    ap.add_argument("--extra", type=_system_spec, nargs="+", default=[], metavar="SPEC",
                    help="more systems to compare (e.g. snu:old.pt)")
    ap.add_argument("--out", type=output_file((".json",)), default=None,
                    help="also write the JSON here; finished parts are kept in OUT.progress until then, and the same "
                         "command resumes from them")
    ap.add_argument("--fresh", action="store_true",
                    help="with --out: start afresh, discarding the parts OUT.progress kept (of this run or another's)")
    args = ap.parse_args()
    if args.real is not None and (args.real_seed != 0 or args.real_scenes is not None):
        ap.error("argument --real-seed/--real-scenes: not with --real (its folder is already one draw)")
    lacking = [] if args.real is None else [name for name in REAL_PARTS if not (args.real / name / MANIFEST).is_file()]
    if lacking:  # a folder of something else: a traceback at the first section, once the group B set was built
        ap.error(f"argument --real: {args.real}: no {', '.join(f'{name}/{MANIFEST}' for name in lacking)} in it; "
                 f"expected a held-out set (neuroflow vad corpus --benchmark)")
    if args.out is not None and args.out.name == MANIFEST:  # the result replaced the manifest of --synthetic DIR (or
        # of a set this script builds) with --out DIR/corpus.json, after the whole run: the corpus could not be read
        ap.error(f"argument --out: {args.out}: the name of a corpus manifest, which the result would replace if a "
                 f"corpus is there; give the result another name")
    if args.fresh and args.out is None:
        ap.error("argument --fresh: only with --out (without it nothing is kept to start afresh from)")

    interrupts = record_interrupts()
    flags = {"quick": args.quick, "real": None if args.real is None else str(args.real.resolve()),
             "real_seed": args.real_seed, "real_scenes": args.real_scenes,
             "synthetic": None if args.synthetic is None else str(args.synthetic.resolve()), "extra": args.extra,
             "code": code_identity()}
    progress = Progress(None if args.out is None else progress_path(args.out), flags, interrupts)
    with contextlib.ExitStack() as stack:
        try:  # before any work: a second run into the same --out, a corrupt, foreign or other run's progress file
            if args.out is not None:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                stack.enter_context(lock_beside(args.out, f"--out: {args.out} is being written by another run (pid "
                                                          "{pid}); wait for it to end or use another --out"))
            progress.read(fresh=args.fresh)
        except (ValueError, OSError) as exc:
            return fail(str(exc))
        return finish(progress, args.out, lambda: _run(args, progress))


def _run(args, progress: Progress) -> dict:
    """Build (or find) the corpora and systems, check them against the kept parts' settings and run every section."""
    import torch

    torch.set_num_threads(1)
    from neuroflow.vad.corpus import generate_corpus
    from neuroflow.vad.detect import MODELS_DIR, SpikingVADSystem
    from neuroflow.vad.registry import get_system
    from neuroflow.vad.systems import SystemUnavailable

    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    minutes = 3.0 if args.quick else 30.0
    syn_root = args.synthetic or tmp / f"neuroflow_vad_bench_test_{minutes:g}min_seed1"
    try:
        real_root = _real_set(args, tmp)
        if args.synthetic is None:
            generate_corpus(syn_root, minutes=minutes, split="test", seed=1, progress=False)
    except ValueError as exc:  # a second run (another --out) while the first builds them (CorpusLocked), a folder of
        # other settings there, too little disk
        raise SystemExit(fail(f"the benchmark's corpus: {str(exc).removeprefix('out_dir: ')}")) from None

    systems: dict = {}
    skipped = []
    for spec in (*BASELINES, *SPIKING, *args.extra):
        try:
            systems[spec] = get_system(spec)
        except SystemUnavailable as exc:
            skipped.append(str(exc))
    unpruned = {f"{k}:unpruned": SpikingVADSystem(MODELS_DIR / f"{k}.dense.pt") for k in SPIKING
                if (MODELS_DIR / f"{k}.dense.pt").exists()}
    try:
        progress.settle({
            "real_corpus": corpus_identity(real_root) if isinstance(real_root, Path) else real_root,
            "synthetic_corpus": corpus_identity(syn_root),
            "systems": {name: system_identity(s) for name, s in {**systems, **unpruned}.items()},
            "skipped": skipped,
            "alsa_clips": files_identity(sorted(ALSA.glob("*.wav"))) if ALSA.is_dir() else None})
    except ValueError as exc:  # other corpora, systems or model files than the kept parts'
        raise SystemExit(fail(str(exc))) from None
    return run_parts(systems, unpruned, real_root, syn_root, args.quick, skipped, progress)


if __name__ == "__main__":
    with ctrl_c_ends_in_one_line("interrupted"):  # what main() leaves uncaught (while parsing, say)
        sys.exit(main())
