"""Speech synthesis with eSpeak NG, called through ctypes on the library the ``espeakng-loader`` wheel ships.

No system package and no download: ``espeakng_loader.get_library_path()`` gives ``libespeak-ng`` and
``get_data_path()`` its voice data. eSpeak NG keeps global state, so one process-wide
:class:`ESpeak` engine (behind a lock) does all synthesis; :func:`synthesize` is the entry point.

Voices are English language varieties (``en-us``, ``en-gb-scotland``, ...) combined with eSpeak's
voice *variants* (``m3``, ``f2``, ``klatt4``, ...), each with its own pitch, pitch range and speaking
rate. :func:`voice_pool` splits the variants into two disjoint halves for corpus groups A and B, and
:class:`SentenceGenerator` writes random English sentences from a small built-in grammar; a sentence
belongs to group A or B by a hash of its text, so the groups never share a sentence.
"""
from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import tempfile
import threading
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from neuroflow._utils import as_list, as_rng, check_choice, is_integer
from neuroflow.vad.audio import SAMPLE_RATE, check_sample_rate, resample

#: English varieties eSpeak NG ships (identifiers accepted by ``espeak_SetVoiceByName``)
ENGLISH_LANGUAGES = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                     "en-029", "en-us-nyc")
#: variants left out: whispered voices (almost no voicing) and effects voices that hardly sound like speech
EXCLUDED_VARIANTS = frozenset({"whisper", "whisperf", "Demonic", "UniRobot", "anikaRobot", "croak"})
GROUPS = ("A", "B")

# espeak_AUDIO_OUTPUT, espeak_PARAMETER and flag values from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _VOLUME, _PITCH, _RANGE, _WORDGAP = 1, 2, 3, 4, 7
_RAND_SEED = 20260101  # eSpeak's own random generator (noise sources, flutter); fixed for reproducibility
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class SpeechError(RuntimeError):
    """eSpeak NG could not be loaded or failed to speak (a bad text or voice is a ValueError or TypeError)."""


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: language variety, variant, and prosody settings (eSpeak units)."""

    language: str = "en-us"
    variant: str = "m3"
    pitch: int = 50  # 0..100, eSpeak's base pitch
    pitch_range: int = 50  # 0..100, intonation range
    rate: int = 175  # words per minute, 80..450
    word_gap: int = 0  # extra pause between words, units of 10 ms

    @property
    def name(self) -> str:
        return f"{self.language}+{self.variant}"

    def to_dict(self) -> dict:
        return asdict(self)


#: the prosody settings of a :class:`Voice` and the whole numbers eSpeak NG takes for each
VOICE_RANGES = {"pitch": (0, 100), "pitch_range": (0, 100), "rate": (80, 450), "word_gap": (0, 100)}


def check_voice(voice) -> None:
    """TypeError unless ``voice`` is a :class:`Voice`; ValueError naming the setting unless each prosody setting is a
    whole number within :data:`VOICE_RANGES` (eSpeak NG would truncate NaN or 1.5, or clamp -5, without a word)."""
    if not isinstance(voice, Voice):
        raise TypeError(f"voice: expected a Voice, got {type(voice).__name__}")
    for name, (lo, hi) in VOICE_RANGES.items():
        value = getattr(voice, name)
        if not (is_integer(value) and lo <= value <= hi):
            raise ValueError(f"voice: {name} expected a whole number in [{lo}, {hi}], got {value!r}")


class ESpeak:
    """The eSpeak NG library loaded with ctypes; produces 16 kHz float32 speech. Use :func:`engine`."""

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise SpeechError(f"espeakng-loader is not installed ({exc}); pip install espeakng-loader") from None
        lib_path = Path(espeakng_loader.get_library_path())
        self.data_path = Path(espeakng_loader.get_data_path())
        if not lib_path.exists():
            raise SpeechError(f"libespeak-ng not found at {lib_path}")
        # eSpeak NG keeps synthesis state (pitch phase, flutter) in static variables that espeak_Initialize
        # does not reset, so the same call gives different samples depending on what was spoken before,
        # and it seeds its random generator from the clock. We load a private copy of the library, which
        # reset() unloads and reloads, and fix the random seed after every load: a fresh instance makes
        # synthesis a pure function of the calls made since the reset. The copy is deleted as soon as it
        # is loaded (the mapping outlives the file), so no exit, not even SIGKILL, leaves it behind.
        self._lib_path = lib_path
        self._chunks: list[np.ndarray] = []
        self._failure: BaseException | None = None  # what went wrong inside the callback, raised after the call
        self._interrupted = False  # Ctrl-C came while eSpeak was speaking
        self._callback = _CALLBACK(self._collect)  # keep a reference: ctypes must not free it
        self._lock = threading.Lock()
        self._lib = None
        self._load()

    def _load(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="neuroflow-espeak-"))
        try:
            copy = folder / self._lib_path.name
            shutil.copy2(self._lib_path, copy)
            lib = ctypes.CDLL(str(copy), mode=ctypes.RTLD_LOCAL)
        except OSError as exc:
            raise SpeechError(f"{self._lib_path}: cannot load a private copy of libespeak-ng ({exc})") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_Terminate.restype = ctypes.c_int
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
        # the path argument is the folder that contains espeak-ng-data
        native_sr = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data_path.parent).encode(), 0)
        if native_sr <= 0:
            raise SpeechError(f"espeak_Initialize failed with data at {self.data_path} (returned {native_sr})")
        self.native_sr = int(native_sr)
        lib.espeak_SetSynthCallback(self._callback)
        lib.espeak_ng_SetRandSeed(_RAND_SEED)  # initialisation seeds it from the clock
        # the Klatt voices' noise sources (breath, voicing 0: "caleb", ...) draw from the C library's rand(),
        # whose state lives in libc, not in the private copy: seed it too, or a scene depends on what the
        # process synthesised before (a corpus resumed or made on another worker came out different)
        ctypes.CDLL(None).srand(_RAND_SEED)
        self._lib = lib

    def reset(self) -> None:
        """Unload and reload the library, so that what follows does not depend on what was spoken before."""
        import _ctypes

        with self._lock:
            if self._lib is not None:
                self._lib.espeak_Terminate()
                _ctypes.dlclose(self._lib._handle)
                self._lib = None
            self._load()

    def _collect(self, wav, n, events) -> int:
        # eSpeak calls this from inside espeak_Synth. ctypes prints and drops an exception raised here (a Ctrl-C
        # was lost and the utterance came out short), so nothing may escape: a failure is kept for synthesize()
        # to raise, and returning 1 tells eSpeak to stop speaking.
        try:
            if self._failure is not None:
                return 1
            if n > 0 and wav:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        except BaseException as exc:  # KeyboardInterrupt included: it must reach synthesize()
            self._failure = exc
            return 1
        return 0

    def _on_interrupt(self, signum, frame) -> None:
        self._interrupted = True

    @contextlib.contextmanager
    def _interrupts_held(self):
        """Run the body with Ctrl-C held back, then act on it: Python runs a signal handler between any two
        bytecodes, which inside :meth:`_collect` (the first line included) would raise where ctypes drops it. The
        handler only records the interrupt, and the previous handler gets it once eSpeak has returned (with the
        whole utterance, should that handler not raise). Only the main thread receives signals, so elsewhere (and
        where SIGINT is ignored or left to the system) nothing changes."""
        previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
        self._interrupted = False
        if callable(previous):  # not SIG_IGN, SIG_DFL or a handler installed outside Python
            try:
                signal.signal(signal.SIGINT, self._on_interrupt)
            except ValueError:  # a subinterpreter: signals go to the main one
                previous = None
        if not callable(previous):
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
            interrupted, self._interrupted = self._interrupted, False
        if interrupted:
            previous(signal.SIGINT, None)  # the default handler raises KeyboardInterrupt

    def variants(self) -> list[str]:
        """Voice variants shipped in the data folder (sorted), minus :data:`EXCLUDED_VARIANTS`."""
        folder = self.data_path / "voices" / "!v"
        return sorted(p.name for p in folder.iterdir() if p.is_file() and p.name not in EXCLUDED_VARIANTS
                      and " " not in p.name)

    def synthesize(self, text: str, voice: Voice = Voice(), *, sr: int = SAMPLE_RATE) -> np.ndarray:
        """Speak ``text`` with ``voice``; returns float32 mono audio at ``sr`` (peak-normalised to 0.5)."""
        # the caller's arguments: ValueError / TypeError naming them (SpeechError, a RuntimeError, is eSpeak's own)
        if not isinstance(text, str):
            raise TypeError(f"text: expected a non-empty string, got {type(text).__name__}")
        if not text.strip():
            raise ValueError(f"text: expected a non-empty string, got {text!r}")
        if "\0" in text:  # eSpeak reads a C string: it would speak only what comes before the NUL
            raise ValueError(f"text: contains a NUL character (at {text.index(chr(0))}), got {text[:40]!r}")
        check_sample_rate(sr)  # before any work: resampling to 1 GHz asked for more memory than any machine has
        check_voice(voice)
        encoded = text.encode("utf-8")
        with self._lock:
            lib = self._lib
            if lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
                raise ValueError(f"voice: eSpeak NG does not know {voice.name!r}")
            for param, value in ((_RATE, voice.rate), (_PITCH, voice.pitch), (_RANGE, voice.pitch_range),
                                 (_WORDGAP, voice.word_gap), (_VOLUME, 100)):
                lib.espeak_SetParameter(param, int(value), 0)
            self._chunks, self._failure = [], None
            with self._interrupts_held():
                err = lib.espeak_Synth(encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
                lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
            failure, self._failure = self._failure, None
        if failure is not None:  # raised inside the callback (a Ctrl-C there included): the audio is incomplete
            raise failure
        if err != 0:
            raise SpeechError(f"espeak_Synth failed (error {err}) for voice {voice.name!r} and text {text[:40]!r}")
        if not chunks:
            raise SpeechError(f"eSpeak NG produced no audio for voice {voice.name!r} and text {text[:40]!r}")
        wav = np.concatenate(chunks).astype(np.float32) / 32768.0
        wav = resample(wav, self.native_sr, sr)
        peak = float(np.max(np.abs(wav)))
        return (wav * (0.5 / peak)).astype(np.float32) if peak > 0 else wav


_ENGINE: ESpeak | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> ESpeak:
    """The process-wide eSpeak NG engine (loaded on first use)."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = ESpeak()
        return _ENGINE


def synthesize(text: str, voice: Voice | None = None, sr: int = SAMPLE_RATE, *, fresh: bool = False) -> np.ndarray:
    """Speak ``text`` (default voice ``en-us+m3``) and return float32 mono audio at ``sr``.

    eSpeak NG's output depends slightly on what it spoke before (see :meth:`ESpeak.reset`);
    ``fresh=True`` resets the engine first, so the result depends only on the arguments.
    """
    eng = engine()
    if fresh:
        eng.reset()
    return eng.synthesize(text, voice or Voice(), sr=sr)


def _group_of(name: str) -> str:
    return GROUPS[zlib.crc32(name.encode()) % 2]


def voice_pool(group: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(languages, variants) for a corpus group; groups A and B share no variant."""
    check_choice(group, "group", GROUPS)
    variants = tuple(v for v in engine().variants() if _group_of("variant:" + v) == group)
    return ENGLISH_LANGUAGES, variants


def random_voice(group: str, rng) -> Voice:
    """A random speaker of ``group``: variety, variant, pitch 25..75, range 30..80, rate 140..230 wpm."""
    rng = as_rng(rng, "rng")
    languages, variants = voice_pool(group)
    return Voice(language=str(rng.choice(languages)), variant=str(rng.choice(variants)),
                 pitch=int(rng.integers(25, 76)), pitch_range=int(rng.integers(30, 81)),
                 rate=int(rng.integers(140, 231)), word_gap=int(rng.integers(0, 3)))


# ----------------------------------------------------------------------------- sentences
_SUBJECTS = ("the old farmer", "my neighbour", "a young doctor", "the tall woman", "our teacher", "the pilot",
             "a quiet student", "the baker", "his sister", "the new manager", "a tired nurse", "the captain",
             "her brother", "the painter", "a small child", "the engineer", "my grandmother", "the driver",
             "a famous singer", "the gardener", "the librarian", "a local fisherman", "the mayor", "our guide")
_VERBS = ("carried", "painted", "found", "lost", "borrowed", "cleaned", "repaired", "sold", "bought", "moved",
          "opened", "packed", "dropped", "washed", "checked", "collected", "described", "wrapped", "hid",
          "measured", "counted", "delivered", "ordered", "noticed")
_ADJECTIVES = ("red", "heavy", "wooden", "broken", "shiny", "ancient", "empty", "soft", "narrow", "yellow",
               "strange", "warm", "plastic", "tiny", "enormous", "silver", "dusty", "fragile", "green", "round")
_OBJECTS = ("basket", "ladder", "clock", "lamp", "bicycle", "letter", "window", "piano", "kettle", "jacket",
            "umbrella", "suitcase", "map", "candle", "bottle", "carpet", "drum", "mirror", "boat", "chair")
_PLACES = ("near the station", "behind the barn", "at the market", "in the kitchen", "by the river",
           "under the bridge", "in the garden", "at the harbour", "on the hill", "beside the school",
           "in the attic", "across the square", "at the airport", "inside the museum", "along the beach")
_TIMES = ("yesterday", "this morning", "last winter", "after lunch", "on sunday", "before dawn", "every week",
          "late at night", "in april", "during the storm", "two days ago", "at noon")
_QUESTIONS = ("did you see", "who moved", "where is", "why did they sell", "when will we paint", "can you find")
_REASONS = ("because it was raining", "so that nobody would notice", "although it was late",
            "while the others were asleep", "before the shop closed", "as the bells were ringing")
_NUMBERS = ("two", "three", "four", "five", "seven", "nine", "eleven", "twelve", "twenty", "forty", "ninety",
            "a hundred")


class SentenceGenerator:
    """Random English sentences from a small grammar, all of one group and never repeated.

    ``SentenceGenerator(group="A", seed=0).sentence()`` returns a new sentence; a sentence belongs to
    group A or B by a CRC32 hash of its text, so sentences of A and B never coincide. ``exclude`` may
    carry sentences already used (a resumed corpus).
    """

    def __init__(self, group: str = "A", seed=None, exclude=()):
        self.group = check_choice(group, "group", GROUPS)
        self.rng = as_rng(seed)
        self.used: set[str] = set(as_list(exclude, "exclude", "sentences"))  # -1: "'int' object is not iterable"

    def _pick(self, words):
        return words[int(self.rng.integers(len(words)))]

    def _noun_phrase(self) -> str:
        if self.rng.random() < 0.3:
            return f"{self._pick(_NUMBERS)} {self._pick(_ADJECTIVES)} {self._pick(_OBJECTS)}s"
        return f"the {self._pick(_ADJECTIVES)} {self._pick(_OBJECTS)}"

    def _candidate(self) -> str:
        kind = self.rng.random()
        if kind < 0.45:
            text = f"{self._pick(_SUBJECTS)} {self._pick(_VERBS)} {self._noun_phrase()} {self._pick(_PLACES)}"
            if self.rng.random() < 0.5:
                text += f" {self._pick(_TIMES)}"
            text = text[0].upper() + text[1:] + "."
        elif kind < 0.7:
            text = (f"{self._pick(_TIMES)}, {self._pick(_SUBJECTS)} {self._pick(_VERBS)} {self._noun_phrase()} "
                    f"{self._pick(_REASONS)}")
            text = text[0].upper() + text[1:] + "."
        elif kind < 0.85:
            text = f"{self._pick(_QUESTIONS)} {self._noun_phrase()} {self._pick(_PLACES)}"
            text = text[0].upper() + text[1:] + "?"
        else:
            text = (f"{self._pick(_SUBJECTS)} {self._pick(_VERBS)} {self._noun_phrase()}, and then "
                    f"{self._pick(_SUBJECTS)} {self._pick(_VERBS)} {self._noun_phrase()} {self._pick(_PLACES)}")
            text = text[0].upper() + text[1:] + "."
        return text

    def sentence(self) -> str:
        for _ in range(10000):
            text = self._candidate()
            if text not in self.used and _group_of("sentence:" + text) == self.group:
                self.used.add(text)
                return text
        raise SpeechError("SentenceGenerator: ran out of new sentences")  # pragma: no cover - ~10^9 combinations
