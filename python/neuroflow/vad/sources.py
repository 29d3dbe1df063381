"""Real speech and real music for the VAD corpus, from Debian packages the project installs itself.

Nothing is downloaded at run time: ``neuroflow vad sources --install``
(:func:`neuroflow.vad.packages.install_sources`) runs ``apt-get install`` for the packages below, once,
and :func:`neuroflow.vad.packages.scan_sources` indexes what is installed (files, minutes, package
versions from ``dpkg-query``). The corpus manifest records that index, so a
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
test.

Music
-----
Training non-speech only: Asterisk's music on hold (``asterisk-moh-opsound-wav``, five pieces, 18 min,
8 kHz) and the instrumental soundtracks of four games, recorded at 44.1-48 kHz (``drascula-music``,
``hyperrogue-music``, ``singularity-music``, ``planetblupi-music-ogg``: 26 + 17 + 13 + 10 tracks,
about 290 min). Held out for testing: the three tracks of ``asc-music`` (the soundtrack of the strategy
game ASC, 18 min, 22 kHz). Music on hold alone taught the models that music has no energy above 4 kHz:
they called 30-97 % of every wideband soundtrack speech. Tracks with singing are left out
(``MusicSource.exclude``): five Drascula tracks on which Silero VAD marks 17-92 % of the first two minutes
as speech; every kept track is under 3 %. :func:`music_excerpt` draws a source at random, then a track.

Paths are the packages' own (``/usr/share/asterisk/sounds/...``); ``NEUROFLOW_VAD_SOURCES=DIR`` puts
them under ``DIR`` instead (a tree laid out the same way: the tests build one). A missing package raises
:class:`SourceMissing` (a ValueError) whose one-line message names the package and the install command; a file that cannot be read is skipped with a warning naming it, and callers
record it (see :func:`load_recording`).
"""
from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from neuroflow._utils import NOT_A_REGULAR_FILE, check_choice
from neuroflow.vad.audio import SAMPLE_RATE, AudioError, c_stderr_silenced, prepare

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
    #: the recordings' noise floor (dBFS): 1st percentile of the 25 ms frame energies over all usable prompts,
    #: digital silence (below -90 dBFS) left out; measured with :func:`measure_noise_floor` on the packages'
    #: versions named in the module docstring
    noise_floor_db: float = -100.0

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
    #: file stems left out (tracks with singing)
    exclude: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


_SOUNDS = "/usr/share/asterisk/sounds"
SPEAKERS: tuple[Speaker, ...] = (
    Speaker("en_US_f_Allison", "Allison", "asterisk-core-sounds-en-g722", "en-US", "f", "train",
            f"{_SOUNDS}/en_US_f_Allison", "g722", -80.6),
    Speaker("es_MX_f_Allison", "Allison", "asterisk-core-sounds-es-g722", "es-MX", "f", "train",
            f"{_SOUNDS}/es_MX_f_Allison", "g722", -74.5),
    Speaker("fr_CA_f_June", "June", "asterisk-core-sounds-fr-g722", "fr-CA", "f", "train",
            f"{_SOUNDS}/fr_CA_f_June", "g722", -80.1),
    Speaker("it_IT_f_Menardi", "Menardi", "asterisk-prompt-it-menardi-wav", "it-IT", "f", "train",
            f"{_SOUNDS}/it_IT_f_Menardi", "wav", -63.7),
    Speaker("es_CO_f_July", "July", "asterisk-prompt-es-co", "es-CO", "f", "train", f"{_SOUNDS}/es", "gsm", -53.9),
    Speaker("fr_FR_f_Armelle", "Armelle", "asterisk-prompt-fr-armelle", "fr-FR", "f", "train", f"{_SOUNDS}/fr",
            "gsm", -52.7),
    Speaker("it_IT_m_Carlo", "Carlo", "asterisk-core-sounds-it-g722", "it-IT", "m", "test",
            f"{_SOUNDS}/it_IT_m_Carlo", "g722", -69.8),
    Speaker("ru_RU_f_IvrvoiceRU", "IvrvoiceRU", "asterisk-core-sounds-ru-g722", "ru-RU", "f", "test",
            f"{_SOUNDS}/ru_RU_f_IvrvoiceRU", "g722", -80.1),
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
    MusicSource("drascula", "drascula-music", "train", "/usr/share/scummvm/drascula/audio", "*.ogg",
                exclude=("track1", "track2", "track29", "track30", "track31")),
    MusicSource("hyperrogue", "hyperrogue-music", "train", "/usr/share/hyperrogue/music", "*.ogg"),
    MusicSource("singularity", "singularity-music", "train", "/usr/share/games/singularity/music", "*.ogg"),
    MusicSource("planetblupi", "planetblupi-music-ogg", "train", "/usr/share/planetblupi/music", "*.ogg"),
    MusicSource("asc-music", "asc-music", "test", "/usr/share/games/asc/music", "*.mp3"),
)
#: the synthesiser Festival voices need besides their own package
FESTIVAL_PACKAGE = "festival"


def all_packages() -> list[str]:
    """Every Debian package ``neuroflow vad sources --install`` installs, in a fixed order."""
    names = [s.package for s in SPEAKERS] + [FESTIVAL_PACKAGE] + [v.package for v in FESTIVAL_VOICES]
    names += [m.package for m in MUSIC]
    return list(dict.fromkeys(names))


# ----------------------------------------------------------------------------- where files are
def _root() -> Path:
    """Prefix of every source path: ``/``, or ``$NEUROFLOW_VAD_SOURCES`` (a test tree built like it). Set empty it is
    unset, as an empty variable is to a shell (``VAR= cmd``): it was the current folder, where no package is."""
    return Path(os.environ.get("NEUROFLOW_VAD_SOURCES") or "/")


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
    """The source's tracks (sorted), without the excluded ones; [] when the package is absent."""
    folder = under_root(source.folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(source.pattern) if p.stem not in source.exclude)


def nominal_seconds(path: Path, codec: str) -> float:
    """A prompt's length from its size (G.722: 8000 bytes/s; GSM 6.10: 33 bytes per 20 ms) or header."""
    _check_regular(path)
    if codec == "g722":
        return path.stat().st_size / 8000.0
    if codec == "gsm":
        return path.stat().st_size // 33 * 0.02
    import soundfile as sf

    return float(sf.info(str(path)).duration)


_USABLE: dict[tuple[str, str], list] = {}


def usable_prompts(speaker: Speaker) -> list[Path]:
    """The speaker's prompt files of 0.3-12 s (by nominal length) that scenes draw from, cached per source root.

    Empty files and files whose length cannot be told are kept, so that loading them warns and records them.
    """
    key = (str(_root()), speaker.name)
    if key not in _USABLE:
        keep = []
        for p in prompt_files(speaker):
            try:
                if MIN_PROMPT_S <= nominal_seconds(p, speaker.codec) <= MAX_PROMPT_S or p.stat().st_size == 0:
                    keep.append(p)
            except Exception:
                keep.append(p)
        _USABLE[key] = keep
    return _USABLE[key]


def measure_noise_floor(speaker: Speaker) -> float:
    """The 1st percentile (dBFS) of the 25 ms frame energies of all the speaker's usable prompts, digital
    silence (below -90 dBFS) left out: the recordings' noise floor (see :attr:`Speaker.noise_floor_db`)."""
    from neuroflow.vad.features import frame_energy_db

    energies = []
    for p in usable_prompts(speaker):
        wav = try_load(p, speaker.codec, [])
        if wav is not None:
            e = frame_energy_db(wav)
            energies.append(e[e > -90.0])
    if not energies:
        raise SourceMissing(missing_message([speaker.package]))
    return float(np.percentile(np.concatenate(energies), 1))


def festival_available(voice: Speaker) -> bool:
    return under_root(voice.folder).is_dir() and shutil.which("text2wave") is not None


# ----------------------------------------------------------------------------- decoding
def _check_regular(path: Path) -> None:
    """AudioError unless ``path`` is a regular file: the decoders wait forever on a pipe's open and read a device
    (/dev/zero) until the memory runs out."""
    if not path.is_file():
        raise AudioError(f"{path}: {NOT_A_REGULAR_FILE}" if path.exists() else
                         f"{path}: no such file")


def _decode(path: Path, codec: str) -> tuple[np.ndarray, int]:
    _check_regular(path)
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
    with c_stderr_silenced():  # an MP3 decoder's notes on a damaged frame: the decode goes on, or fails below
        info = sf.info(str(path))
        pcm = info.subtype.startswith("PCM")
        data, sr = sf.read(str(path), dtype="int16" if pcm else "float32")
    # an uncompressed file's header counts its samples exactly: fewer means it was cut short; an MP3's or an
    # Ogg's count is an estimate (8359 samples more than the decoder yields in one asc-music track)
    if pcm and len(data) < info.frames:
        raise AudioError(f"{path}: header promises {info.frames} samples but the file holds {len(data)}")
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


def speakers(split: str, kind: str = "real") -> tuple[Speaker, ...]:
    """The speakers of ``split`` ("train"/"test") of ``kind`` ("real" or "festival")."""
    check_choice(split, "split", SPLITS)
    check_choice(kind, "kind", ("real", "festival"))
    pool = SPEAKERS if kind == "real" else FESTIVAL_VOICES
    return tuple(s for s in pool if s.split == split)


def music_sources(split: str) -> tuple[MusicSource, ...]:
    """The music sets of ``split`` ("train"/"test")."""
    check_choice(split, "split", SPLITS)
    return tuple(m for m in MUSIC if m.split == split)


def missing_message(packages) -> str:
    names = " ".join(dict.fromkeys(packages))
    return (f"not installed: {names}; install with `{INSTALL_HINT}` "
            f"(or apt-get install --no-install-recommends {names}){root_note()}")


def root_note() -> str:
    """What a message about missing sources adds while ``NEUROFLOW_VAD_SOURCES`` is set ("" otherwise): installed
    packages are not seen while the files are looked for elsewhere."""
    root = os.environ.get("NEUROFLOW_VAD_SOURCES")
    if not root:
        return ""
    where = "" if Path(root).is_dir() else ", which is no folder"
    return f"; looked for under environment variable NEUROFLOW_VAD_SOURCES={root!r}{where}"


def require(split: str, *, real: bool = False, festival: bool = False, music: bool = False) -> None:
    """Raise :class:`SourceMissing` (one line naming the packages and the install command) unless every
    source the request needs for ``split`` is installed."""
    missing = []
    if real:
        missing += [s.package for s in speakers(split, "real") if not prompt_files(s)]
        if any(s.codec == "g722" for s in speakers(split, "real")):
            try:
                import G722  # noqa: F401
            except ImportError:
                raise SourceMissing('decoding the G.722 prompts needs the g722 package: pip install g722 '
                                    '(or pip install "neuroflow[vad]")') from None
    if festival:
        for v in speakers(split, "festival"):
            if not under_root(v.folder).is_dir():
                missing.append(v.package)
            elif shutil.which("text2wave") is None:
                missing.append(FESTIVAL_PACKAGE)
    if music:
        missing += [m.package for m in music_sources(split) if not music_files(m)]
    if missing:
        raise SourceMissing(missing_message(missing))


# ----------------------------------------------------------------------------- music
def music_excerpt(split: str, n_samples: int, rng, skipped: list[str] | None = None) -> np.ndarray:
    """``n_samples`` (16 kHz, float32, unit RMS) of the split's recorded music, from random places.

    A random source of the split (:func:`music_sources`), a random track of it and a random start within
    it; when the track ends first, another draw follows. Training music is the music on hold and the four
    game soundtracks, test music the held-out ``asc-music``. Unreadable tracks are skipped with a warning
    (and appended to ``skipped``).
    """
    import soundfile as sf

    require(split, music=True)
    skipped = [] if skipped is None else skipped
    pools = [music_files(m) for m in music_sources(split)]
    n_files = sum(len(f) for f in pools)
    parts, total, bad = [], 0, set()
    for _ in range(16 * n_files):
        if total >= n_samples or len(bad) == n_files:
            break
        files = pools[int(rng.integers(len(pools)))]
        path = files[int(rng.integers(len(files)))]
        if path in bad:
            continue
        need_s = (n_samples - total) / SAMPLE_RATE
        try:
            with c_stderr_silenced(), sf.SoundFile(str(path)) as f:  # libmpg123's notes on a damaged frame
                sr = f.samplerate
                length_s = f.frames / sr
                start = int(rng.uniform(0.0, max(length_s - need_s, 0.0)) * sr)
                f.seek(start)
                data = f.read(int(np.ceil(need_s * sr)) + 64, dtype="float32", always_2d=True)
            x = prepare(data, sr, name=str(path)) if len(data) else np.zeros(0, np.float32)
        except Exception as exc:
            warnings.warn(f"skipping unreadable source file: {path}: {exc}", stacklevel=2)
            skipped.append(str(path))
            bad.add(path)
            continue
        parts.append(x)
        total += len(x)
    if total < n_samples:
        names = " ".join(m.package for m in music_sources(split))
        raise AudioError(f"no readable music in {names} (see the warnings)")
    x = np.concatenate(parts)[:n_samples].astype(np.float64)
    rms = float(np.sqrt(np.mean(x * x)))
    return (x / rms).astype(np.float32) if rms > 0 else x.astype(np.float32)
