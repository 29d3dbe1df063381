"""The Debian packages behind the VAD sources: installed versions, an index of what is there, and installing.

:func:`scan_sources` indexes every speaker and music set of :mod:`neuroflow.vad.sources` (files, nominal
minutes from file sizes, package version from ``dpkg-query``); ``neuroflow vad sources [--json]`` prints
it. :func:`install_sources` runs ``apt-get update`` once and one ``apt-get install --no-install-recommends``
for the missing packages (``neuroflow vad sources --install``); nothing else is ever fetched.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from neuroflow._utils import as_list, check_choice
from neuroflow.vad.sources import (FESTIVAL_PACKAGE, FESTIVAL_VOICES, MUSIC, SPEAKERS, all_packages,
                                   festival_available, music_files, nominal_seconds, prompt_files, under_root)


def package_version(package: str) -> str | None:
    """The installed version of a Debian package (``dpkg-query``), or None."""
    return _package_versions().get(package)


#: seconds to wait for ``dpkg-query`` (it answers in well under a second)
DPKG_TIMEOUT_S = 30.0


@lru_cache(maxsize=1)
def _package_versions() -> dict[str, str]:
    exe = shutil.which("dpkg-query")
    if exe is None:
        return {}
    try:
        out = subprocess.run([exe, "-W", "-f", "${Package}\t${Version}\t${db:Status-Abbrev}\n"] + all_packages(),
                             capture_output=True, text=True, timeout=DPKG_TIMEOUT_S).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        # was {} (every version None): a slow dpkg-query changed what a corpus manifest records of its sources, so
        # that a resumed run was refused as "a corpus with other settings", and a new one recorded no versions
        why = f"gave no answer within {DPKG_TIMEOUT_S:g} s" if isinstance(exc, subprocess.TimeoutExpired) else \
            f"could not run ({exc})"
        raise ValueError(f"dpkg-query {why}, so the versions of the speech and music packages cannot be read; "
                         f"try again") from None
    versions = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2].startswith("ii"):
            versions[parts[0]] = parts[1]
    return versions


@dataclass
class SourceIndex:
    """What :func:`scan_sources` found: per speaker and music package, files, minutes and version."""

    speakers: list[dict] = field(default_factory=list)
    festival: list[dict] = field(default_factory=list)
    music: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def packages(self) -> dict[str, str | None]:
        """Package -> installed version, for the packages found."""
        rows = self.speakers + self.festival + self.music
        return {r["package"]: r["version"] for r in rows if r["installed"]}


def _row(kind: dict, package: str, files: list[Path], seconds: float, installed: bool) -> dict:
    return {**kind, "installed": installed, "version": package_version(package) if installed else None,
            "n_files": len(files), "minutes": round(seconds / 60.0, 2)}


def scan_sources() -> SourceIndex:
    """Index the installed sources: files, nominal minutes and package version of every speaker and music set."""
    _package_versions.cache_clear()
    index = SourceIndex()
    for s in SPEAKERS:
        files = prompt_files(s)
        seconds = sum(nominal_seconds(p, s.codec) for p in files if p.stat().st_size > 0) if files else 0.0
        index.speakers.append(_row(s.to_dict(), s.package, files, seconds, bool(files)))
        if not files:
            index.missing.append(s.package)
    for v in FESTIVAL_VOICES:
        ok = festival_available(v)
        index.festival.append(_row(v.to_dict(), v.package, [], 0.0, ok))
        if not ok:
            index.missing.append(v.package if not under_root(v.folder).is_dir() else FESTIVAL_PACKAGE)
    for m in MUSIC:
        files = music_files(m)
        seconds = 0.0
        for p in files:
            try:
                seconds += nominal_seconds(p, "wav")
            except Exception:  # an unreadable track is reported when it is used
                pass
        index.music.append(_row(m.to_dict(), m.package, files, seconds, bool(files)))
        if not files:
            index.missing.append(m.package)
    index.missing = list(dict.fromkeys(index.missing))
    return index


# ----------------------------------------------------------------------------- install
@dataclass
class InstallResult:
    packages: list[str]
    installed: list[str]
    command: str
    index: SourceIndex

    def to_dict(self) -> dict:
        return {"packages": self.packages, "installed": self.installed, "command": self.command,
                "index": self.index.to_dict()}


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo", "-n"]


def install_command(packages) -> list[str]:
    """``apt-get install`` for ``packages`` (with ``sudo -n`` when not root)."""
    return _sudo() + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]


def install_sources(packages=None, *, update: bool = True, runner=subprocess.run) -> InstallResult:
    """Install the Debian packages with speech and music (all of :func:`all_packages` by default).

    Runs ``apt-get update`` once (``update=True``) and then one ``apt-get install``; packages already
    installed are left alone. Raises OSError with the command and apt's last message when apt-get is
    missing or fails (not root and no password-less sudo, no network to the Debian mirror, ...).
    """
    wanted = list(all_packages()) if packages is None else as_list(packages, "packages", "package names")
    for p in wanted:
        check_choice(p, "packages", all_packages())
    before = set(_installed_now(wanted))
    todo = [p for p in wanted if p not in before]
    cmd = install_command(todo)
    if todo:
        if shutil.which("apt-get") is None:
            raise OSError(f"apt-get not found: install {' '.join(todo)} with this system's package manager")
        if os.geteuid() != 0 and shutil.which("sudo") is None:
            raise OSError(f"installing needs root (or sudo): as root, run `{' '.join(cmd)}`")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        steps = ([_sudo() + ["apt-get", "update", "-qq"]] if update else []) + [cmd]
        for step in steps:
            proc = runner(step, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or ["no output"]
                raise OSError(f"`{' '.join(step)}` failed (exit {proc.returncode}): {tail[0]}")
    after = set(_installed_now(wanted))
    return InstallResult(packages=wanted, installed=sorted(after - before), command=" ".join(cmd),
                         index=scan_sources())


def _installed_now(packages) -> list[str]:
    _package_versions.cache_clear()
    versions = _package_versions()
    if versions:
        return [p for p in packages if p in versions]
    index_rows = {}  # no dpkg: judge by the files
    for s in SPEAKERS:
        index_rows[s.package] = bool(prompt_files(s))
    for m in MUSIC:
        index_rows[m.package] = bool(music_files(m))
    for v in FESTIVAL_VOICES:
        index_rows[v.package] = under_root(v.folder).is_dir()
    index_rows[FESTIVAL_PACKAGE] = shutil.which("text2wave") is not None
    return [p for p in packages if index_rows.get(p)]


