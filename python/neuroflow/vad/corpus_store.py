"""A corpus folder on disk: one writer at a time, files that match the manifest, and resumption.

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
import warnings
from pathlib import Path

import numpy as np

MANIFEST = "corpus.json"
LOCK = ".corpus.lock"
#: bytes per second of 16-bit PCM at 16 kHz plus one int8 label per 10 ms
BYTES_PER_SECOND = 16000 * 2 + 100


class CorpusLocked(ValueError):
    """Another run is writing into the corpus folder."""


@contextlib.contextmanager
def locked(root: Path, name: str = "out"):
    """Hold the folder's writer lock, or raise :class:`CorpusLocked` naming ``name``, the folder and the holder."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
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
        raise ValueError(f"{name}: {seconds / 60:g} minutes of audio need about {need / 1e9:.1f} GB, but only "
                         f"{free / 1e9:.1f} GB are free at {anchor}")


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
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a valid corpus manifest ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("scenes"), list):
        raise ValueError(f"{path}: not a valid corpus manifest (no 'scenes' list)")
    return data


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


def scene_intact(root: Path, entry: dict) -> bool:
    """Whether a manifest entry's files exist and match its recorded hashes."""
    try:
        want = entry["sha256"]
        return all((root / entry[k]).is_file() and file_hash(root / entry[k]) == want[k] for k in ("wav", "labels"))
    except (KeyError, TypeError, OSError):
        return False


def finished_scenes(root: Path, settings: dict, *, overwrite: bool, name: str = "out") -> dict[str, dict]:
    """Entries of the folder's manifest that can be kept for a run with ``settings`` (name -> entry).

    Raises ValueError when the folder holds a corpus with other settings (or an unreadable manifest)
    and ``overwrite`` is False. Scenes whose files are missing or differ from the manifest are dropped
    with a warning, so they are made again.
    """
    path = root / MANIFEST
    for leftover in root.glob("*.part*"):
        leftover.unlink()
    if not path.exists():
        return {}
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
