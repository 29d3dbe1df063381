"""Real speech and real music for the VAD corpus, from Debian packages the project installs itself.

Nothing is downloaded at run time: ``neuroflow vad sources --install`` (:func:`install_sources`) runs
``apt-get install`` for the packages below, once, and :func:`scan_sources` indexes what is installed
(files, minutes, package versions from ``dpkg-query``). The corpus manifest records that index, so a
corpus says which recordings (and which versions of them) it was built from.

Speakers and the split by speaker
---------------------------------
Every real speaker is one professional voice talent reading telephone prompts (one word to a few
sentences each; trimmed to start on the first word at about -15 dBFS). Sex is given by the Asterisk
folder name (``<lang>_<COUNTRY>_<f|m>_<Name>``) or the package's credits, and agrees with a pitch
estimate (median F0 of 190-235 Hz for the women; the male speaker is the only one below 180 Hz).

========================  ==============================  ======  ===  =====  ===================
speaker                   package                         lang    sex  split  format
========================  ==============================  ======  ===  =====  ===================
Allison (en_US_f_Allison) asterisk-core-sounds-en-g722    en-US   f    train  G.722, 16 kHz
Allison (es_MX_f_Allison) asterisk-core-sounds-es-g722    es-MX   f    train  G.722, 16 kHz
June (fr_CA_f_June)       asterisk-core-sounds-fr-g722    fr-CA   f    train  G.722, 16 kHz
Menardi (it_IT_f_Menardi) asterisk-prompt-it-menardi-wav  it-IT   f    train  WAV, 8 kHz
July (es-co)              asterisk-prompt-es-co           es-CO   f    train  raw GSM 6.10, 8 kHz
Armelle (fr-armelle)      asterisk-prompt-fr-armelle      fr-FR   f    train  raw GSM 6.10, 8 kHz
Carlo (it_IT_m_Carlo)     asterisk-core-sounds-it-g722    it-IT   m    test   G.722, 16 kHz
Ivrvoice (ru_RU_f_...)    asterisk-core-sounds-ru-g722    ru-RU   f    test   G.722, 16 kHz
========================  ==============================  ======  ===  =====  ===================

The test split holds the only male speaker (so it has both sexes) and the only Russian speaker (a
language no model is trained on); Allison's English and Mexican-Spanish sets are one person and stay
together in the training split. Non-speech files among the prompts (``beep``, the monkey screeches of
``tt-monkeys``, two-tone signals and the ``silence/`` folder) are left out.

Festival voices (synthetic, English, driven by ``text2wave`` from the ``festival`` package) add
speakers beside eSpeak: ``kal_diphone`` (m) and ``cmu_us_slt_arctic_hts`` (f) train, ``ked_diphone`` (m)
test. Music: Asterisk's music on hold (``asterisk-moh-opsound-wav``, five pieces) is training
non-speech only; the three tracks of ``asc-music`` (the soundtrack of the strategy game ASC) are held out for
testing.

A missing package raises :class:`SourceMissing` (a ValueError) whose one-line message names the package
and the install command; a file that cannot be read is skipped with a warning naming it, and callers
record it (see :func:`load_recording`).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from neuroflow._utils import check_choice
from neuroflow.vad.audio import SAMPLE_RATE, AudioError, prepare

SPLITS = ("train", "test")
INSTALL_HINT = "neuroflow vad sources --install"
#: prompt lengths used in scenes (s): one word at least, and no minute-long demo monologues
MIN_PROMPT_S, MAX_PROMPT_S = 0.3, 12.0
#: prompt files that are not speech (beeps, tones, monkeys), and folders of silence
NOT_SPEECH = frozenset({"beep", "beeperr", "tt-monkeys", "ascending-2tone", "descending-2tone"})
NOT_SPEECH_FOLDERS = frozenset({"silence"})


class SourceMissing(ValueError):
    """A Debian package with speech or music that the request needs is not installed."""


@dataclass(frozen=True)
class Speaker:
    """One recorded (or Festival-synthesised) speaker: where the files are and which split it belongs to."""

    name: str
    person: str
    package: str
    language: str
    sex: str
    split: str
    folder: str
    codec: str  # "g722" | "gsm" | "wav" | "festival"

    @property
    def real(self) -> bool:
        return self.codec != "festival"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class MusicSource:
    """A package of recorded music used as non-speech."""

    name: str
    package: str
    split: str
    folder: str
    pattern: str

    def to_dict(self) -> dict:
        return asdict(self)


_SOUNDS = "/usr/share/asterisk/sounds"
SPEAKERS: tuple[Speaker, ...] = (
    Speaker("en_US_f_Allison", "Allison", "asterisk-core-sounds-en-g722", "en-US", "f", "train",
            f"{_SOUNDS}/en_US_f_Allison", "g722"),
    Speaker("es_MX_f_Allison", "Allison", "asterisk-core-sounds-es-g722", "es-MX", "f", "train",
            f"{_SOUNDS}/es_MX_f_Allison", "g722"),
    Speaker("fr_CA_f_June", "June", "asterisk-core-sounds-fr-g722", "fr-CA", "f", "train",
            f"{_SOUNDS}/fr_CA_f_June", "g722"),
    Speaker("it_IT_f_Menardi", "Menardi", "asterisk-prompt-it-menardi-wav", "it-IT", "f", "train",
            f"{_SOUNDS}/it_IT_f_Menardi", "wav"),
    Speaker("es_CO_f_July", "July", "asterisk-prompt-es-co", "es-CO", "f", "train", f"{_SOUNDS}/es", "gsm"),
    Speaker("fr_FR_f_Armelle", "Armelle", "asterisk-prompt-fr-armelle", "fr-FR", "f", "train", f"{_SOUNDS}/fr",
            "gsm"),
    Speaker("it_IT_m_Carlo", "Carlo", "asterisk-core-sounds-it-g722", "it-IT", "m", "test",
            f"{_SOUNDS}/it_IT_m_Carlo", "g722"),
    Speaker("ru_RU_f_IvrvoiceRU", "IvrvoiceRU", "asterisk-core-sounds-ru-g722", "ru-RU", "f", "test",
            f"{_SOUNDS}/ru_RU_f_IvrvoiceRU", "g722"),
)
FESTIVAL_VOICES: tuple[Speaker, ...] = (
    Speaker("kal_diphone", "festival-kal", "festvox-kallpc16k", "en-US", "m", "train",
            "/usr/share/festival/voices/english/kal_diphone", "festival"),
    Speaker("cmu_us_slt_arctic_hts", "festival-slt", "festvox-us-slt-hts", "en-US", "f", "train",
            "/usr/share/festival/voices/us/cmu_us_slt_arctic_hts", "festival"),
    Speaker("ked_diphone", "festival-ked", "festvox-kdlpc16k", "en-US", "m", "test",
            "/usr/share/festival/voices/english/ked_diphone", "festival"),
)
MUSIC: tuple[MusicSource, ...] = (
    MusicSource("asterisk-moh", "asterisk-moh-opsound-wav", "train", "/usr/share/asterisk/moh", "*.wav"),
    MusicSource("asc-music", "asc-music", "test", "/usr/share/games/asc/music", "*.mp3"),
)
#: the synthesiser Festival voices need besides their own package
FESTIVAL_PACKAGE = "festival"


def all_packages() -> list[str]:
    """Every Debian package :func:`install_sources` installs, in a fixed order."""
    names = [s.package for s in SPEAKERS] + [FESTIVAL_PACKAGE] + [v.package for v in FESTIVAL_VOICES]
    names += [m.package for m in MUSIC]
    return list(dict.fromkeys(names))


# ----------------------------------------------------------------------------- where files are
def _root() -> Path:
    """Prefix of every source path: ``/``, or ``$NEUROFLOW_VAD_SOURCES`` (a test tree built like it)."""
    return Path(os.environ.get("NEUROFLOW_VAD_SOURCES", "/"))


def under_root(folder: str) -> Path:
    """``folder`` (an absolute source path) under the source root."""
    return _root() / folder.lstrip("/")


def prompt_files(speaker: Speaker) -> list[Path]:
    """The speaker's prompt files (sorted), without the non-speech ones; [] when the package is absent."""
    folder = under_root(speaker.folder)
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.rglob(f"*.{speaker.codec}")):
        rel = p.relative_to(folder)
        if p.stem in NOT_SPEECH or NOT_SPEECH_FOLDERS & set(rel.parts[:-1]):
            continue
        out.append(p)
    return out


def music_files(source: MusicSource) -> list[Path]:
    folder = under_root(source.folder)
    return sorted(folder.glob(source.pattern)) if folder.is_dir() else []


def nominal_seconds(path: Path, codec: str) -> float:
    """A prompt's length from its size (G.722: 8000 bytes/s; GSM 6.10: 33 bytes per 20 ms) or header."""
    if codec == "g722":
        return path.stat().st_size / 8000.0
    if codec == "gsm":
        return path.stat().st_size // 33 * 0.02
    import soundfile as sf

    return float(sf.info(str(path)).duration)


def festival_available(voice: Speaker) -> bool:
    return under_root(voice.folder).is_dir() and shutil.which("text2wave") is not None


# ----------------------------------------------------------------------------- decoding
def _decode(path: Path, codec: str) -> tuple[np.ndarray, int]:
    if codec == "g722":
        try:
            import G722
        except ImportError:
            raise SourceMissing('decoding G.722 prompts needs the g722 package (pip install "neuroflow[vad]")') \
                from None
        data = path.read_bytes()
        if not data:
            raise AudioError(f"{path}: file is empty (0 bytes)")
        pcm = np.frombuffer(G722.G722(SAMPLE_RATE, 64000).decode(data), dtype=np.int16)
        return pcm, SAMPLE_RATE
    import soundfile as sf

    if codec == "gsm":
        size = path.stat().st_size
        if size < 33 or size % 33:
            raise AudioError(f"{path}: {size} bytes is not a whole number of 33-byte GSM 6.10 frames")
        data, sr = sf.read(str(path), format="RAW", subtype="GSM610", samplerate=8000, channels=1, dtype="int16")
        return data, sr
    info = sf.info(str(path))
    data, sr = sf.read(str(path), dtype="int16" if info.subtype.startswith("PCM") else "float32")
    expected = info.frames
    if len(data) < expected:
        raise AudioError(f"{path}: header promises {expected} samples but the file holds {len(data)}")
    return data, sr


def load_recording(path: str | Path, codec: str) -> np.ndarray:
    """Decode one source file (``codec`` "g722", "gsm", "wav" or "mp3") to mono float32 at 16 kHz.

    Raises :class:`~neuroflow.vad.audio.AudioError` (a ValueError) naming the file when it cannot be
    read, is empty or holds non-finite samples; scene builders catch it, warn, and skip the file.
    """
    path = Path(path)
    try:
        data, sr = _decode(path, codec)
        return prepare(data, int(sr), name=str(path))
    except SourceMissing:
        raise
    except AudioError as exc:
        raise AudioError(str(exc) if str(path) in str(exc) else f"{path}: {exc}") from None
    except Exception as exc:  # soundfile's and the decoder's own error types, permission errors
        raise AudioError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None


def try_load(path: Path, codec: str, skipped: list[str]) -> np.ndarray | None:
    """:func:`load_recording`, or None after a warning naming the file (which is appended to ``skipped``)."""
    try:
        return load_recording(path, codec)
    except AudioError as exc:
        warnings.warn(f"skipping unreadable source file: {exc}", stacklevel=2)
        skipped.append(str(path))
        return None


# ----------------------------------------------------------------------------- index
def package_version(package: str) -> str | None:
    """The installed version of a Debian package (``dpkg-query``), or None."""
    return _package_versions().get(package)


@lru_cache(maxsize=1)
def _package_versions() -> dict[str, str]:
    exe = shutil.which("dpkg-query")
    if exe is None:
        return {}
    try:
        out = subprocess.run([exe, "-W", "-f", "${Package}\t${Version}\t${db:Status-Abbrev}\n"] + all_packages(),
                             capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
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
            index.missing.append(v.package if under_root(v.folder).is_dir() is False else FESTIVAL_PACKAGE)
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


def speakers(split: str, kind: str = "real") -> tuple[Speaker, ...]:
    """The speakers of ``split`` ("train"/"test") of ``kind`` ("real" or "festival")."""
    check_choice(split, "split", SPLITS)
    check_choice(kind, "kind", ("real", "festival"))
    pool = SPEAKERS if kind == "real" else FESTIVAL_VOICES
    return tuple(s for s in pool if s.split == split)


def music_source(split: str) -> MusicSource:
    check_choice(split, "split", SPLITS)
    return next(m for m in MUSIC if m.split == split)


def missing_message(packages) -> str:
    names = " ".join(dict.fromkeys(packages))
    return (f"not installed: {names}; install with `{INSTALL_HINT}` "
            f"(or apt-get install --no-install-recommends {names})")


def require(split: str, *, real: bool = False, festival: bool = False, music: bool = False) -> None:
    """Raise :class:`SourceMissing` (one line naming the packages and the install command) unless every
    source the request needs for ``split`` is installed."""
    missing = []
    if real:
        missing += [s.package for s in speakers(split, "real") if not prompt_files(s)]
    if festival:
        for v in speakers(split, "festival"):
            if not under_root(v.folder).is_dir():
                missing.append(v.package)
            elif shutil.which("text2wave") is None:
                missing.append(FESTIVAL_PACKAGE)
    if music:
        m = music_source(split)
        if not music_files(m):
            missing.append(m.package)
    if missing:
        raise SourceMissing(missing_message(missing))


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
    wanted = list(all_packages() if packages is None else packages)
    for p in wanted:
        check_choice(p, "packages", all_packages())
    before = set(_installed_now(wanted))
    todo = [p for p in wanted if p not in before]
    cmd = install_command(todo)
    if todo:
        if shutil.which("apt-get") is None:
            raise OSError(f"apt-get not found: install {' '.join(todo)} with this system's package manager")
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


# ----------------------------------------------------------------------------- music
def music_excerpt(split: str, n_samples: int, rng, skipped: list[str] | None = None) -> np.ndarray:
    """``n_samples`` (16 kHz, float32, unit RMS) of the split's recorded music, from random places.

    A random track and a random start within it; when the track ends first, another track follows.
    The training split takes Asterisk's music on hold, the test split the held-out ``asc-music``.
    Unreadable tracks are skipped with a warning (and appended to ``skipped``).
    """
    import soundfile as sf

    require(split, music=True)
    skipped = [] if skipped is None else skipped
    files = music_files(music_source(split))
    parts, total, bad = [], 0, set()
    for _ in range(16 * len(files)):
        if total >= n_samples or len(bad) == len(files):
            break
        i = int(rng.integers(len(files)))
        path = files[i]
        if i in bad:
            continue
        need_s = (n_samples - total) / SAMPLE_RATE
        try:
            with sf.SoundFile(str(path)) as f:
                sr = f.samplerate
                length_s = f.frames / sr
                start = int(rng.uniform(0.0, max(length_s - need_s, 0.0)) * sr)
                f.seek(start)
                data = f.read(int(np.ceil(need_s * sr)) + 64, dtype="float32", always_2d=True)
            x = prepare(data, sr, name=str(path)) if len(data) else np.zeros(0, np.float32)
        except Exception as exc:
            warnings.warn(f"skipping unreadable source file: {path}: {exc}", stacklevel=2)
            skipped.append(str(path))
            bad.add(i)
            continue
        parts.append(x)
        total += len(x)
    if total < n_samples:
        raise AudioError(f"no readable music in {music_source(split).package} (see the warnings)")
    x = np.concatenate(parts)[:n_samples].astype(np.float64)
    rms = float(np.sqrt(np.mean(x * x)))
    return (x / rms).astype(np.float32) if rms > 0 else x.astype(np.float32)
