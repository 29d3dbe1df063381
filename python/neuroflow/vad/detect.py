"""Voice activity detection with the shipped (or any saved) spiking VAD: files, arrays and streams.

``SpikingVADSystem("snu" | "bin" | PATH)`` is a :class:`~neuroflow.vad.systems.VADSystem`:
``score(wav, sr)`` gives one score in [0, 1] per 10 ms frame, on the frame grid of
:mod:`neuroflow.vad.features`, and a frame is speech where ``score >= threshold`` (0.5 by default).
The score is the network's speech probability after the model's post-processing
(:class:`~neuroflow.vad.postprocess.PostProcessor`: a causal running median, a silence gate, a release threshold
below which a stretch of speech ends, the model's decision threshold mapped to 0.5, a hangover whose length may
depend on an SNR estimate; the shipped models' threshold, release, median and hangovers were chosen on real speech of
the training speakers by :mod:`neuroflow.vad.calibration`). Speech segments follow the rules of
:class:`~neuroflow.vad.postprocess.SegmentRules` (threshold, minimum speech and silence durations,
padding).

There is one path: :meth:`SpikingVADSystem.stream` returns a :class:`VADStream` that takes audio in
chunks of any size and carries every state across calls (samples not yet framed, the noise floors,
the neurons' membranes, the smoothing windows, the open segment); scoring a file is that stream fed
the whole file as one chunk. So chunked streaming gives exactly the scores and segments of one call
(up to float32 rounding in the network's input projection).
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuroflow._utils import expanded, file_problem
from neuroflow.vad.audio import MAX_SAMPLE, SAMPLE_RATE, AudioError, load_audio, prepare
from neuroflow.vad.features import HOP
from neuroflow.vad.frontend import FEED_CHUNK, FeatureExtractor
from neuroflow.vad.postprocess import HOP_S, PostProcessor, SegmentRules, SegmentTracker, to_seconds
from neuroflow.vad.systems import VADSystem

MODELS_DIR = Path(__file__).resolve().parent / "models"
#: shipped model names -> files in MODELS_DIR
SHIPPED = {"snu": "snu.pt", "bin": "bin.pt"}


def model_path(kind_or_path: str | Path) -> Path:
    """The file of a shipped model name ("snu", "bin") or the given path."""
    if isinstance(kind_or_path, str) and kind_or_path.lower() in SHIPPED:
        path = MODELS_DIR / SHIPPED[kind_or_path.lower()]
        if not path.exists():
            raise FileNotFoundError(f"shipped model {kind_or_path!r} is missing from the package ({path})")
        return path
    if not isinstance(kind_or_path, (str, os.PathLike)):
        raise TypeError(f"model: expected 'snu', 'bin' or a model file path, got {type(kind_or_path).__name__}")
    if str(kind_or_path) == "":  # Path("") is the current folder
        raise ValueError("model: expected 'snu', 'bin' or a model file path, got ''")
    path = expanded(kind_or_path)  # as file_problem and the CLI's checks read it: "~/m.pt" is found
    problem = file_problem(path)
    if problem:
        raise FileNotFoundError(f"model: expected 'snu', 'bin' or a model file, got {str(kind_or_path)!r} ({problem})")
    return path


# ============================================================================= results
@dataclass
class Detection:
    """Scores and segments of one input."""

    speech_prob: np.ndarray  # score per 10 ms frame, speech where >= rules.threshold
    segments: list[list[float]]  # [start_s, end_s] of each speech segment
    duration_s: float
    model: str
    rules: SegmentRules = field(default_factory=SegmentRules)
    hop_s: float = HOP_S

    def to_dict(self) -> dict:
        fraction = float(np.mean(self.speech_prob >= self.rules.threshold)) if len(self.speech_prob) else 0.0
        return {"hop_s": self.hop_s, "speech_prob": [round(float(p), 4) for p in self.speech_prob],
                "segments": [[round(a, 3), round(b, 3)] for a, b in self.segments],
                "duration_s": self.duration_s, "speech_fraction": fraction, "model": self.model,
                "rules": self.rules.to_dict()}


# ============================================================================= the system
class SpikingVADSystem(VADSystem):
    """A trained spiking VAD (shipped name "snu" / "bin", or a path written by
    :func:`neuroflow.vad.snn.save_model`) behind the common :class:`VADSystem` interface."""

    def __init__(self, kind_or_path: str | Path = "snu"):
        from neuroflow.vad.inference import NumpySNN
        from neuroflow.vad.snn import load_model

        self.path = model_path(kind_or_path)
        self.loaded = load_model(self.path)
        self.model = self.loaded.model
        self.features = dict(self.model.features)
        try:
            self.extractor = FeatureExtractor(self.features)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{self.path}: model has an unusable feature configuration {self.features} "
                             f"({exc})") from None
        self.runner = NumpySNN(self.model)
        self.threshold = self.loaded.threshold
        self.smoothing = dict(self.loaded.smoothing)
        self.post = PostProcessor(self.threshold, int(self.smoothing.get("median", 1)),
                                  int(self.smoothing.get("hangover", 0)), self.smoothing.get("release"),
                                  low_snr_db=self.smoothing.get("low_snr_db"),
                                  low_snr_hangover=self.smoothing.get("low_snr_hangover"))
        shipped = isinstance(kind_or_path, str) and kind_or_path.lower() in SHIPPED
        self.name = self.model.kind if shipped else f"{self.model.kind}:{self.path.stem}"

    def stream(self, *, threshold: float = 0.5, min_speech_s: float = 0.0, min_silence_s: float = 0.0,
               pad_s: float = 0.0) -> "VADStream":
        """A fresh stream (16 kHz mono chunks in, scores of completed frames out, segments as they finish).

        Parameters
        ----------
        threshold : float
            A frame is speech where its score is at least this (0.5: the model's own decision threshold).
        min_speech_s, min_silence_s, pad_s : float
            Segments shorter than ``min_speech_s`` are dropped, pauses shorter than ``min_silence_s``
            bridged, and each segment widened by ``pad_s`` on both sides (see
            :class:`~neuroflow.vad.postprocess.SegmentRules`).
        """
        return VADStream(self, SegmentRules(threshold, min_speech_s, min_silence_s, pad_s))

    def _score16k(self, wav: np.ndarray) -> np.ndarray:
        return _feed(self.stream(), wav)

    def score_features(self, feats: np.ndarray) -> np.ndarray:
        """Raw network speech probability for precomputed (n_frames, n_features) features of this model."""
        width = self.extractor.n_features
        try:
            feats = np.asarray(feats, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"feats: expected (n_frames, {width}) numeric features, got {type(feats).__name__} "
                             f"({exc})") from None
        if feats.ndim != 2 or feats.shape[1] != width:
            raise ValueError(f"feats: expected (n_frames, {width}) features (the model's feature width), "
                             f"got shape {feats.shape}")
        if not np.all(np.isfinite(feats)):  # the network would turn them into ordinary-looking probabilities
            raise ValueError(f"feats: {int(np.sum(~np.isfinite(feats)))} NaN or infinite values; expected finite "
                             f"features")
        return self.runner.run(feats)[0]

    def segments(self, wav, sr: int = SAMPLE_RATE, **rules) -> list[list[float]]:
        """Speech segments [start_s, end_s] of an in-memory signal (``rules``: as :meth:`stream` takes)."""
        return self.detect_array(wav, sr, **rules).segments

    def detect_array(self, wav, sr: int, *, threshold: float = 0.5, min_speech_s: float = 0.0,
                     min_silence_s: float = 0.0, pad_s: float = 0.0) -> Detection:
        """Scores and segments of an in-memory signal (any rate, mono or not); options as :meth:`stream`."""
        return self._detect_array(wav, sr, "wav", threshold=threshold, min_speech_s=min_speech_s,
                                  min_silence_s=min_silence_s, pad_s=pad_s)

    def _detect_array(self, wav, sr: int, name: str, **rules) -> Detection:
        """:meth:`detect_array`, its errors naming the samples ``name`` (the caller's argument)."""
        stream = self.stream(**rules)
        x = prepare(wav, sr, name)
        if len(x) < HOP:
            raise AudioError(f"{name}: {len(x)} samples at 16 kHz is shorter than one 10 ms frame ({HOP} samples)")
        score = _feed(stream, x)
        return Detection(speech_prob=score, segments=stream.segments, duration_s=len(x) / SAMPLE_RATE,
                         model=self.name, rules=stream.rules)

    def detect_file(self, path: str | Path, *, threshold: float = 0.5, min_speech_s: float = 0.0,
                    min_silence_s: float = 0.0, pad_s: float = 0.0) -> Detection:
        """Read any audio file (any sample rate, mono or not) and detect speech in it; options as :meth:`stream`.

        The options are checked before the file is read (a bad one was met after decoding it), and the file's
        sample rate comes from its header (``sr=`` was "detect_array() got multiple values for argument 'sr'").
        """
        rules = dict(threshold=threshold, min_speech_s=min_speech_s, min_silence_s=min_silence_s, pad_s=pad_s)
        SegmentRules(**rules)
        wav, sr = load_audio(path)
        if len(wav) < HOP:
            raise AudioError(f"{path}: {len(wav) / SAMPLE_RATE * 1000:.1f} ms of audio is shorter than one "
                             f"10 ms frame")
        return self.detect_array(wav, sr, **rules)


def _feed(stream: "VADStream", x: np.ndarray) -> np.ndarray:
    """The scores of the whole of ``x`` (16 kHz), fed to ``stream`` in chunks of
    :data:`~neuroflow.vad.frontend.FEED_CHUNK` samples (the memory of one chunk, the same scores), then flushed."""
    return np.concatenate([stream.process(x[i:i + FEED_CHUNK]) for i in range(0, len(x), FEED_CHUNK)]
                          + [stream.flush()])


class VADStream:
    """Chunked, real-time use of a :class:`SpikingVADSystem`: ``process(chunk)`` then ``flush()`` at the end.

    Chunks are mono audio at 16 kHz (resample upstream). Each call returns the scores of the frames
    completed so far (a frame is complete 17.5 ms after its start, when its window is full);
    ``frames_done`` counts them. ``segments`` lists the speech segments (seconds) that no later audio
    can change, and :meth:`pop_segments` returns those finished since its last call. A chunk goes through whole
    or not at all: after Ctrl-C or an error inside ``process``, the stream stands where it stood before that chunk.
    """

    def __init__(self, system: SpikingVADSystem, rules: SegmentRules | None = None, sr: int = SAMPLE_RATE):
        if sr != SAMPLE_RATE:
            raise ValueError(f"sr: streams take {SAMPLE_RATE} Hz audio (resample upstream), got {sr!r}")
        if not isinstance(system, SpikingVADSystem):  # "bin" failed at the first chunk with an AttributeError
            raise TypeError(f"system: expected a SpikingVADSystem (SpikingVADSystem({system!r:.40}).stream() makes "
                            f"a stream), got {type(system).__name__}")
        if rules is not None and not isinstance(rules, SegmentRules):
            raise TypeError(f"rules: expected a SegmentRules (or None), got {type(rules).__name__}")
        self.system = system
        self.rules = SegmentRules() if rules is None else rules
        self._tracker = SegmentTracker(self.rules)
        self.reset()

    def reset(self) -> None:
        """Forget everything (start of a new recording)."""
        self._front = self._net = self._post = self._seg = None
        self.frames_done = 0
        self.segments: list[list[float]] = []
        self._popped = 0
        self._closed = False

    def _advance(self, chunk: np.ndarray, final: bool) -> np.ndarray:
        if self._closed:
            raise ValueError("stream: already flushed; call reset() to start a new recording")
        system = self.system
        feats, energy, self._front = system.extractor.step(chunk, self._front, final=final)
        out = np.zeros(0)
        if len(feats):
            prob, self._net, _ = system.runner.run(feats, self._net)
            # the network's probabilities and the front end's energies: checked by no one (the public steps check a
            # caller's values, ~15 us a chunk)
            out, self._post = system.post._step(prob, energy, self._post)
            done, self._seg = self._tracker._step(out, self._seg)
            self.segments += to_seconds(done)
            self.frames_done += len(out)
        if final:
            self.segments += to_seconds(self._tracker.finish(self._seg))
        return out

    def process(self, chunk) -> np.ndarray:
        """Feed a chunk (any length, even 0); returns scores of the frames it completed."""
        x = np.asarray(chunk)
        if x.ndim != 1 or x.dtype.kind not in "fiu":
            raise ValueError(f"chunk: expected 1-d numeric mono audio at 16 kHz, got shape {x.shape} dtype {x.dtype}")
        if x.size and not np.all(np.isfinite(x)):
            raise ValueError("chunk: contains NaN or inf samples")
        if x.size and x.dtype.kind == "f" and float(np.max(np.abs(x))) > MAX_SAMPLE:  # as prepare() refuses
            raise ValueError(f"chunk: samples reach {float(np.max(np.abs(x))):.3g}; expected audio in [-1, 1]")
        if x.dtype.kind in "iu":
            x = prepare(x, SAMPLE_RATE, name="chunk") if x.size else np.zeros(0, np.float32)
        x = x.astype(np.float32, copy=False)
        with self._whole_or_nothing():
            if len(x) <= FEED_CHUNK:
                return self._advance(x, final=False)
            # a long chunk (a whole file) in FEED_CHUNK pieces: the same scores, in the memory of one piece (at once,
            # ~2.7 MB per second of audio: 10 GB for an hour)
            return np.concatenate([self._advance(x[i:i + FEED_CHUNK], final=False)
                                   for i in range(0, len(x), FEED_CHUNK)])

    def flush(self) -> np.ndarray:
        """End of input: scores of the remaining frames (``n_samples // 160`` frames in all); closes the
        last segment."""
        with self._whole_or_nothing():
            out = self._advance(np.zeros(0, np.float32), final=True)
        self._closed = True
        return out

    @contextlib.contextmanager
    def _whole_or_nothing(self):
        """A chunk goes through whole or not at all: Ctrl-C (or an error) inside it puts the stream back where it
        stood before it (every step returns a new state and leaves the old one as it was), so feeding the same
        chunk again gives the scores and segments of an uninterrupted stream (it had half-advanced the stream)."""
        saved = self._front, self._net, self._post, self._seg, self.frames_done, len(self.segments)
        try:
            yield
        except BaseException:
            self._front, self._net, self._post, self._seg, self.frames_done, n_segments = saved
            del self.segments[n_segments:]
            raise

    def pop_segments(self) -> list[list[float]]:
        """Segments finished since the last call."""
        new = self.segments[self._popped:]
        self._popped = len(self.segments)
        return new


def detect(path_or_wav, sr: int | None = None, model: str | Path = "snu", *, threshold: float = 0.5,
           min_speech_s: float = 0.0, min_silence_s: float = 0.0, pad_s: float = 0.0) -> Detection:
    """One-call detection on a file path or an array (then ``sr`` is required).

    Parameters
    ----------
    path_or_wav : str, Path or array
        An audio file, or samples (1-d mono or 2-d multichannel) at ``sr``.
    sr : int, optional
        Sample rate of an array.
    model : str or Path
        "snu", "bin" or a saved model file.
    threshold, min_speech_s, min_silence_s, pad_s : float
        Segment rules, as :meth:`SpikingVADSystem.stream` takes them.

    Returns
    -------
    Detection
    """
    rules = dict(threshold=threshold, min_speech_s=min_speech_s, min_silence_s=min_silence_s, pad_s=pad_s)
    SegmentRules(**rules)  # bad options are refused before the model loads
    if path_or_wav is None:
        raise TypeError("path_or_wav: expected an audio file path or an array of samples, got None")
    if isinstance(path_or_wav, bytes):  # as an array it was one "sample" of dtype S, "sr: required"
        raise TypeError("path_or_wav: expected an audio file path (str or path object) or an array of samples, "
                        "got bytes")
    is_path = isinstance(path_or_wav, (str, os.PathLike))  # a PurePath or DirEntry was taken for an array of samples
    if is_path and sr is not None:  # was ignored: the file's header gives its rate, and the file is resampled from it
        raise ValueError(f"sr: is the sample rate of an array of samples; a file's rate comes from its header, got "
                         f"sr={sr!r} with the file {path_or_wav}")
    system = SpikingVADSystem(model)
    if is_path:
        return system.detect_file(path_or_wav, **rules)
    if sr is None:
        raise ValueError("sr: required when detecting on an array")
    return system._detect_array(path_or_wav, sr, "path_or_wav", **rules)
