"""Writing a corpus folder: one writer at a time, files that match the manifest, resumption, scenes in parallel.

:func:`write_corpus` makes the scenes of a list of plans into a folder (used by
:func:`neuroflow.vad.corpus.generate_corpus` and :func:`neuroflow.vad.realspeech.benchmark_set`):

* *Sources.* Every Debian package the plans need is checked before any work (one line naming the
  missing ones), and the manifest records the packages' versions.
* *Parallel.* Scenes are independent (each draws from its own seed), so they run through
  :func:`neuroflow.parallel.parallel_map` on local processes or a Dask cluster; results are written in
  plan order as they arrive, so the files are the same however they were made.
* *Lock.* A writer holds an exclusive ``flock`` on ``.corpus.lock`` in the folder for its whole run, so a
  second run into the same folder is refused at once (naming the first one's pid). The kernel drops the
  lock when the process dies, even by SIGKILL, so a killed run never blocks the next.
* *Atomic files.* Scene audio and labels are written under temporary names and renamed; the manifest is
  rewritten (also by rename) after every finished scene, in plan order, and lists the SHA-256 of each
  scene's two files. Nothing about a run's timing is stored, so an interrupted and resumed run leaves
  the same bytes as an uninterrupted one.
* *Resume.* A rerun with the same settings keeps a finished scene only if both its files exist and match
  the hashes in the manifest; anything else is made again. Files of a killed run that never reached the
  manifest are overwritten, and temporary ``*.part`` files are removed.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from neuroflow._utils import NOT_A_REGULAR_FILE, JSONContentError, loads_json
from neuroflow._utils import progress as progress_bar_of
from neuroflow.vad.scenes import LEVELS, ScenePlan, make_scene, noise_level, snr_field

MANIFEST = "corpus.json"
LOCK = ".corpus.lock"
#: bytes per second of 16-bit PCM at 16 kHz plus one int8 label per 10 ms
BYTES_PER_SECOND = 16000 * 2 + 100


class CorpusLocked(ValueError):
    """Another run is writing into the corpus folder."""


@contextlib.contextmanager
def locked(root: Path, name: str = "out_dir"):
    """Hold the folder's writer lock, or raise :class:`CorpusLocked` naming ``name``, the folder and the holder."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # a folder under the lock's name, say
        raise ValueError(f"{name}: {root / LOCK}, the corpus's lock file, cannot be opened ({exc.strerror or exc}); "
                         f"remove it or use another folder") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise CorpusLocked(f"{name}: {root} is being written by another corpus run (pid {holder}); "
                               f"wait for it to finish or use another folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def check_disk(root: Path, seconds: float, name: str = "minutes") -> None:
    """Refuse (ValueError naming ``name``) a corpus whose audio would not fit on the disk holding ``root``."""
    anchor = root
    while not anchor.exists() and anchor != anchor.parent:
        anchor = anchor.parent
    need = seconds * BYTES_PER_SECOND
    free = shutil.disk_usage(anchor).free
    if need > free:
        if free == 0:  # nothing can be written there at all (a full disk, or a read-only or virtual file system)
            raise ValueError(f"out_dir: {anchor} has no free space to write a corpus into")
        raise ValueError(f"{name}: {seconds / 60:g} minutes of audio need about {_size(need)}, but only "
                         f"{_size(free)} are free at {anchor}")


def _size(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.1f} MB"


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(path: Path, manifest: dict) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(manifest, indent=1, allow_nan=False))
    tmp.replace(path)


def read_manifest(path: Path) -> dict:
    if path.exists() and not path.is_file() and not path.is_dir():  # a pipe: the read would wait forever
        raise ValueError(f"{path}: {NOT_A_REGULAR_FILE}; expected a corpus manifest (a JSON file)")
    try:
        data = loads_json(path.read_text())
    except JSONContentError as exc:  # a key twice: json kept the last (a hand-edited scene under a key it overrode)
        raise ValueError(f"{path}: not a valid corpus manifest (it {exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a valid corpus manifest ({exc})") from None
    except OSError as exc:  # a folder (or another non-file) under the manifest's name
        problem = "is a folder" if path.is_dir() else f"cannot be read ({exc.strerror or exc})"
        raise ValueError(f"{path}: {problem}; expected a corpus manifest (a JSON file)") from None
    if not isinstance(data, dict) or not isinstance(data.get("scenes"), list):
        raise ValueError(f"{path}: not a valid corpus manifest (no 'scenes' list)")
    seen: dict[tuple[str, str], int] = {}  # (field, value) -> first scene with it
    for i, entry in enumerate(data["scenes"]):
        problem = entry_problem(entry)
        name = entry.get("name") if isinstance(entry, dict) else None
        for key in ("name", "wav", "labels") if problem is None else ():  # a scene listed twice would count twice
            first = seen.setdefault((key, entry[key] if key == "name" else os.path.normpath(entry[key])), i)
            if first != i:
                problem = f"{key} {entry[key]!r} is already that of scene {first}; expected each scene once"
                break
        if problem:
            raise ValueError(f"{path}: scene {i}{f' ({name})' if isinstance(name, str) else ''}: {problem}")
    return data


def entry_problem(entry) -> str | None:
    """What in a manifest's scene entry no corpus run writes (None: nothing)."""
    if not isinstance(entry, dict):
        return f"expected an object, got {type(entry).__name__}"
    for key in ("name", "wav", "labels", "noise", "group"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            return f"{key} {entry.get(key)!r}, expected a name"
    for key in ("wav", "labels"):
        if Path(entry[key]).is_absolute() or ".." in Path(entry[key]).parts:
            return f"{key} {entry[key]!r}, expected a file inside the corpus folder"
    try:
        snr = float(entry.get("snr_db"))  # "inf" for clean speech, "-inf" for no speech
        fraction, duration = float(entry.get("speech_fraction")), float(entry.get("duration_s"))
    except (TypeError, ValueError):
        return "snr_db, speech_fraction and duration_s must be numbers"
    if np.isnan(snr) or not 0.0 <= fraction <= 1.0 or not (0.0 < duration < np.inf):
        return f"snr_db {snr}, speech_fraction {fraction}, duration_s {duration} out of range"
    if "level" in entry and entry["level"] not in LEVELS:
        return f"level {entry['level']!r}, expected one of {sorted(LEVELS)}"
    return None


#: the temporary names this module writes before renaming (audio, labels, manifest): the only files a run removes
PART_PATTERNS = ("*.wav.part", "*.labels.part.npy", f"{MANIFEST}.part")


def leftover_parts(root: Path) -> list[Path]:
    """Temporary files a killed run left in ``root``: regular files under :data:`PART_PATTERNS` only, so a folder's
    other files (``notes.part1.txt``, a folder ``old.parts``) are never touched."""
    return sorted({p for pattern in PART_PATTERNS for p in root.glob(pattern) if p.is_file() or p.is_symlink()})


def write_scene_files(root: Path, name: str, wav: np.ndarray, labels: np.ndarray) -> dict:
    """Write ``<name>.wav`` and ``<name>.labels.npy`` atomically; the manifest fields naming them, with hashes."""
    from neuroflow.vad.audio import write_audio

    wav_path = write_audio(root / f"{name}.wav", wav)
    tmp = root / f"{name}.labels.part.npy"
    np.save(tmp, np.asarray(labels, dtype=np.int8))
    labels_path = root / f"{name}.labels.npy"
    tmp.replace(labels_path)
    return {"wav": wav_path.name, "labels": labels_path.name,
            "sha256": {"wav": file_hash(wav_path), "labels": file_hash(labels_path)}}


def _check_scene_paths(root: Path, plans) -> None:
    """ValueError naming ``out_dir`` when something other than a file (a folder) sits where a scene of ``plans``,
    its temporary files or the manifest's temporary file will be written."""
    names = [(f"{MANIFEST}.part", "its manifest")] + [
        (f"{plan.name}{suffix}", f"scene {plan.name}") for plan in plans
        for suffix in (".wav", ".labels.npy", ".wav.part", ".labels.part.npy")]
    for name, what in names:
        path = root / name
        if path.exists() and not path.is_file():
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise ValueError(f"out_dir: {path} is {kind}, where the corpus writes {what}; remove it or use another "
                             f"folder")


def scene_intact(root: Path, entry: dict) -> bool:
    """Whether a manifest entry's files exist and match its recorded hashes."""
    try:
        want = entry["sha256"]
        return all((root / entry[k]).is_file() and file_hash(root / entry[k]) == want[k] for k in ("wav", "labels"))
    except (KeyError, TypeError, OSError):
        return False


def finished_scenes(root: Path, settings: dict, *, overwrite: bool, name: str = "out_dir") -> dict[str, dict]:
    """Entries of the folder's manifest that can be kept for a run with ``settings`` (name -> entry).

    Raises ValueError when the folder holds a corpus with other settings (or an unreadable manifest)
    and ``overwrite`` is False. Scenes whose files are missing or differ from the manifest are dropped
    with a warning, so they are made again.
    """
    path = root / MANIFEST
    for leftover in leftover_parts(root):
        leftover.unlink()
    if not path.exists():
        return {}
    if not path.is_file():  # --overwrite could not replace it either
        raise ValueError(f"{name}: {path} is {'a folder' if path.is_dir() else 'not a regular file'}, where the "
                         f"corpus manifest goes; remove it or use another folder")
    try:
        old = read_manifest(path)
    except ValueError as exc:
        if overwrite:
            return {}
        raise ValueError(f"{name}: {exc}; pass --overwrite (overwrite=True) to start over") from None
    if old.get("settings") != settings:
        if overwrite:
            return {}
        raise ValueError(f"{name}: {path} holds a corpus with other settings ({old.get('settings')}); "
                         f"use another folder or --overwrite (overwrite=True)")
    done = {}
    for entry in old["scenes"]:
        if scene_intact(root, entry):
            done[entry["name"]] = entry
        else:
            warnings.warn(f"{root / entry.get('wav', entry.get('name', '?'))}: missing or different from the "
                          f"manifest; making the scene again", stacklevel=3)
    return done


# ----------------------------------------------------------------------------- writing a corpus
def sources_needed(plans) -> dict:
    """Which installed sources ``plans`` use, as ``require`` keywords per split."""
    need: dict[str, dict] = {}
    for p in plans:
        want = need.setdefault(p.split, {"real": False, "festival": False, "music": False})
        want["real"] |= p.speech == "real"
        want["festival"] |= p.speech == "festival"
        want["music"] |= p.noise == "music"
    return {s: w for s, w in need.items() if any(w.values())}


def check_sources(plans) -> dict[str, str | None]:
    """Raise :class:`neuroflow.vad.sources.SourceMissing` unless every source ``plans`` use is installed;
    return the packages used with their versions (recorded in the manifest)."""
    need = sources_needed(plans)
    if not need:
        return {}
    from neuroflow.vad import sources
    from neuroflow.vad.packages import package_version

    packages = []
    for split, want in need.items():
        sources.require(split, **want)
        if want["real"]:
            packages += [s.package for s in sources.speakers(split, "real")]
        if want["festival"]:
            packages += [sources.FESTIVAL_PACKAGE] + [v.package for v in sources.speakers(split, "festival")]
        if want["music"]:
            packages += [m.package for m in sources.music_sources(split)]
    return {p: package_version(p) for p in sorted(set(packages))}


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
    skipped_files: list[str] = field(default_factory=list)
    interrupted: bool = False

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def _scene_job(plan: dict):
    """One scene from its plan (module level, so local processes and Dask workers can run it)."""
    return make_scene(ScenePlan(**plan))


def _entry(plan: ScenePlan, files: dict, info: dict) -> dict:
    entry = {"name": plan.name, **files, "snr_db": snr_field(plan.snr_db), "noise": plan.noise,
             "level": noise_level(plan.snr_db), "group": plan.group, "split": plan.split, "speech": plan.speech,
             "duration_s": plan.duration_s, "stratum": plan.stratum, "target_fraction": plan.target_fraction}
    if plan.background != "none":
        entry["background"] = plan.background
    return {**entry, **info}


def write_corpus(out_dir, plans: list[ScenePlan], settings: dict, *, progress: bool = True,
                 overwrite: bool = False, n_jobs: int = 1, scheduler: str | None = None,
                 desc: str = "corpus", size_name: str = "minutes") -> CorpusResult:
    """Make the scenes of ``plans`` into ``out_dir`` (locked, resumable, checksummed; see the module docstring).

    ``settings`` identify the corpus: a folder holding another corpus is refused unless ``overwrite``. A corpus
    too large for the disk is refused naming ``size_name`` (the argument that sets its size).
    Used by :func:`generate_corpus` and :func:`neuroflow.vad.realspeech.benchmark_set`.
    """
    from neuroflow.cliutil import check_output_dir
    from neuroflow.parallel import parallel_map

    root = check_output_dir(out_dir, "out_dir")
    if not isinstance(overwrite, (bool, np.bool_)):  # overwrite="no" is true: it started over on the corpus there
        raise TypeError(f"overwrite: expected True or False, got {overwrite!r:.40}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs: expected a positive integer or -1 (all cores), got {n_jobs!r}")
    check_disk(root, sum(p.duration_s for p in plans), size_name)
    sources = check_sources(plans)
    settings = {**settings, "sources": sources} if sources else dict(settings)
    if scheduler is not None:  # an unreachable scheduler is refused before the folder or its manifest is made
        from neuroflow.parallel import connect

        connect(scheduler).close()
    with locked(root):
        done = finished_scenes(root, settings, overwrite=overwrite)
        entries: dict[int, dict] = {p.index: done[p.name] for p in plans if p.name in done}
        todo = [p for p in plans if p.name not in done]
        _check_scene_paths(root, todo)  # a folder under a scene's name would fail the run after that scene's work
        manifest_path = root / MANIFEST

        def save() -> None:
            scenes = [entries[i] for i in sorted(entries)]
            skipped = sorted({f for e in scenes for f in e.get("skipped_files", [])})
            write_manifest(manifest_path, {"settings": settings, "levels": LEVELS, "skipped_files": skipped,
                                           "scenes": scenes})

        save()
        t0 = time.perf_counter()
        bar = progress_bar_of(total=len(plans), initial=len(plans) - len(todo), enabled=progress, desc=desc,
                              unit="scene")
        made_seconds = 0.0

        def on_result(i: int, result) -> None:
            nonlocal made_seconds
            plan = todo[i]
            mix, labels, info = result
            files = write_scene_files(root, plan.name, mix, labels)
            entries[plan.index] = _entry(plan, files, info)
            save()
            made_seconds += plan.duration_s
            bar.update(1)

        try:
            parallel_map(_scene_job, [(p.to_dict(),) for p in todo], n_jobs=int(n_jobs), scheduler=scheduler,
                         on_result=on_result)
        finally:
            bar.close()
        elapsed = time.perf_counter() - t0
    skipped = sorted({f for e in entries.values() for f in e.get("skipped_files", [])})
    return CorpusResult(root=root, n_scenes=len(plans), n_generated=len(todo), n_resumed=len(plans) - len(todo),
                        minutes=sum(p.duration_s for p in plans) / 60.0, seconds=elapsed,
                        realtime_factor=made_seconds / elapsed if elapsed > 0 and todo else float("nan"),
                        skipped_files=skipped)
