"""Voice activity detection with the shipped (or any saved) spiking VAD: files, arrays and streams.

``SpikingVADSystem("snu" | "bin" | PATH)`` is a :class:`~neuroflow.vad.systems.VADSystem`:
``score(wav, sr)`` gives one score in [0, 1] per 10 ms frame, on the frame grid of
:mod:`neuroflow.vad.features`, and a frame is speech where ``score >= 0.5``. The score is the network's
speech probability after the model's post-processing (a causal running median, then a hangover),
rescaled so that the decision threshold chosen on validation data sits at 0.5. Frames of digital
silence (window energy below :data:`SILENCE_DB`) score 0, so silent input gives no segments, and so
do frames more than :data:`GATE_BELOW_PEAK_DB` below the running peak of frame energy (the corpus's
own labelling rule; the training data never holds such quiet pauses, clean real recordings do). The
model's hangover holds a decision into such silent frames for at most :data:`GATED_HANGOVER` frames,
the hangover of the labels themselves.

Known limit: the models see each band over its noise floor, the lowest level of the last 1.5 s, so a
steady noise that starts right after digital silence (a file that opens with zeros, then a fan)
reads as loud and can be called speech until that window has forgotten the silence (at most 1.5 s).
Training with such openings fixed that but cost real speech after silent pauses (the alsa-utils
clips' miss rate rose from 5% to 52%), so the shipped models were not trained with them.

Everything is causal, so :meth:`SpikingVADSystem.stream` returns a :class:`VADStream` that takes audio
in chunks of any size, carries every state across calls (samples not yet framed, the feature
normalisation's noise floor or running statistics, the neurons' membranes, the smoothing windows)
and returns exactly the scores of one call on the concatenated audio (up to float32 rounding).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroflow._utils import check_positive
from neuroflow.vad.audio import SAMPLE_RATE, AudioError, load_audio, prepare
from neuroflow.vad.features import FLOOR_SMOOTH, FLOOR_WINDOW, HOP, NORMS, WIN, check_floor_settings, noise_floor
from neuroflow.vad.systems import VADSystem

MODELS_DIR = Path(__file__).resolve().parent / "models"
#: shipped model names -> files in MODELS_DIR ("snn" is the systems-spec name of the SNU model)
SHIPPED = {"snu": "snu.pt", "snn": "snu.pt", "bin": "bin.pt"}
#: frames whose 25 ms window energy is below this (dB re full scale) are digital silence
SILENCE_DB = -90.0
#: frames this far (dB) below the running speech peak are silence, the rule the corpus labels use
#: (speech = within 40 dB of the speech level); it only acts on clean recordings, never at SNRs <= 40 dB
GATE_BELOW_PEAK_DB = 45.0
#: frames a decision is held into silent (gated) frames: the corpus labels' own hangover (50 ms), so
#: the model's longer hangover, which bridges speech buried in noise, does not fill clean pauses
GATED_HANGOVER = 5
#: how fast the running peak falls (dB per 10 ms frame), so a loud event is forgotten in about 10 s
PEAK_DECAY_DB = 0.05


def model_path(kind_or_path: str | Path) -> Path:
    """The file of a shipped model name ("snu", "snn", "bin") or the given path."""
    if isinstance(kind_or_path, str) and kind_or_path.lower() in SHIPPED:
        path = MODELS_DIR / SHIPPED[kind_or_path.lower()]
        if not path.exists():
            raise FileNotFoundError(f"shipped model {kind_or_path!r} is missing from the package ({path})")
        return path
    path = Path(kind_or_path)
    if not path.is_file():
        raise FileNotFoundError(f"model: expected 'snu', 'bin' or a model file, got {str(kind_or_path)!r} "
                                f"(no such file)")
    return path


# ============================================================================= streaming feature front end
class _FeatureStream:
    """Log-mel frames and their causal normalisation, computed chunk by chunk (same numbers as
    :func:`neuroflow.vad.features.logmel` followed by :func:`~neuroflow.vad.features.normalize`)."""

    _BASES: dict[tuple[int, int], np.ndarray] = {}

    def __init__(self, features: dict):
        self.n_mels = int(features["n_mels"])
        self.n_fft = int(features.get("n_fft", 512))
        self.norm = features.get("norm", "none")
        self.alpha = float(features.get("alpha", 0.995))
        self.floor_window, self.floor_smooth = check_floor_settings(features.get("floor_window", FLOOR_WINDOW),
                                                                    features.get("floor_smooth", FLOOR_SMOOTH))
        if self.norm not in ("none", "running", "floor"):
            raise ValueError(f"model features: norm {self.norm!r} needs the whole input; streaming needs "
                             f"'none', 'running' or 'floor'")
        key = (self.n_fft, self.n_mels)
        if key not in self._BASES:  # the same Slaney mel filters as features.logmel, built once per process
            import librosa

            self._BASES[key] = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=self.n_fft, n_mels=self.n_mels, fmin=0.0,
                                                   fmax=SAMPLE_RATE / 2)
        self.basis = self._BASES[key]
        self.window = np.hanning(WIN + 1)[:-1].astype(np.float32)
        self.left = WIN // 2 - HOP // 2  # zeros before the first sample (features.frame_signal)
        self.reset()

    def reset(self):
        self.buf = np.zeros(self.left, np.float32)
        self.n_in = 0  # samples received
        self.n_out = 0  # frames produced
        self.mu = None
        self.m2 = None
        self.floor = None  # state of features.noise_floor

    def push(self, x: np.ndarray, final: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Append samples; return (features, window energy in dB) of every frame now complete."""
        self.buf = np.concatenate([self.buf, x.astype(np.float32, copy=False)])
        self.n_in += len(x)
        if final:
            n = self.n_in // HOP - self.n_out
            need = n * HOP + WIN - HOP
            if len(self.buf) < need:
                self.buf = np.concatenate([self.buf, np.zeros(need - len(self.buf), np.float32)])
        else:
            n = max(0, min((len(self.buf) - WIN) // HOP + 1, self.n_in // HOP - self.n_out))
        if n <= 0:
            return np.zeros((0, self.n_mels), np.float32), np.zeros(0)
        frames = np.lib.stride_tricks.sliding_window_view(self.buf[: (n - 1) * HOP + WIN], WIN)[::HOP]
        self.buf = self.buf[n * HOP:]
        self.n_out += n
        f64 = frames.astype(np.float64)
        energy = 10.0 * np.log10(np.mean(f64 * f64, axis=1) + 1e-12)
        spec = np.fft.rfft(frames * self.window, n=self.n_fft, axis=1)
        power = spec.real ** 2 + spec.imag ** 2
        feats = np.log(np.maximum(power @ self.basis.T, 1e-10)).astype(np.float32)
        return self._normalise(feats), energy

    def _normalise(self, feats: np.ndarray) -> np.ndarray:
        if self.norm == "none":
            return feats
        if self.norm == "floor":
            floor, self.floor = noise_floor(feats, self.floor_window, self.floor_smooth, self.floor)
            return (feats - floor).astype(np.float32)
        from scipy.signal import lfilter

        x = feats.astype(np.float64)
        a = self.alpha
        if self.mu is None:  # initialised on the first frame, as features.normalize does
            self.mu = a * x[0]
            self.m2 = a * (x[0] * x[0] + 1.0)
        else:
            self.mu, self.m2 = a * self.mu, a * self.m2
        mu, zmu = lfilter([1.0 - a], [1.0, -a], x, axis=0, zi=self.mu[None, :])
        m2, zm2 = lfilter([1.0 - a], [1.0, -a], x * x, axis=0, zi=self.m2[None, :])
        self.mu, self.m2 = mu[-1], m2[-1]
        var = np.maximum(m2 - mu * mu, 0.0)
        return ((x - mu) / (np.sqrt(var) + 1e-5)).astype(np.float32)


# ============================================================================= post-processing
class _PostProcess:
    """Causal median over ``median`` frames, threshold rescaled to 0.5, hangover, silence gate."""

    def __init__(self, threshold: float, median: int, hangover: int):
        self.threshold = min(max(float(threshold), 1e-6), 1 - 1e-6)
        self.median, self.hangover = int(median), int(hangover)
        self.reset()

    def reset(self):
        self.prev_p = None  # last median-1 probabilities
        self.prev_s = None  # last hangover scores
        self.peak = -np.inf  # running peak of frame energy (dB)

    def _gate(self, energy_db: np.ndarray) -> np.ndarray:
        """True where a frame is silence: digital silence, or far below the decaying running peak."""
        if len(energy_db) == 0:
            return np.zeros(0, bool)
        # peak_t = max(e_t, peak_{t-1} - d), unrolled: max(max_{k<=t}(e_k + d k) - d t, peak_{-1} - d (t + 1))
        d = PEAK_DECAY_DB
        k = np.arange(len(energy_db))
        peak = np.maximum(np.maximum.accumulate(energy_db + d * k) - d * k, self.peak - d * (k + 1))
        self.peak = float(peak[-1])
        return (energy_db < SILENCE_DB) | (energy_db < peak - GATE_BELOW_PEAK_DB)

    def __call__(self, prob: np.ndarray, energy_db: np.ndarray) -> np.ndarray:
        if len(prob) == 0:
            return np.zeros(0)
        k = self.median
        if k > 1:
            head = np.full(k - 1, prob[0]) if self.prev_p is None else self.prev_p
            ext = np.concatenate([head, prob])
            self.prev_p = ext[-(k - 1):]
            p = np.median(np.lib.stride_tricks.sliding_window_view(ext, k), axis=1)
        else:
            p = prob
        thr = self.threshold
        score = np.where(p < thr, 0.5 * p / thr, 0.5 + 0.5 * (p - thr) / (1.0 - thr))
        silent = self._gate(energy_db)
        score[silent] = 0.0
        h = self.hangover
        if h > 0:  # causal max over the last h frames = the decision held h frames after speech
            head = np.zeros(h) if self.prev_s is None else self.prev_s
            ext = np.concatenate([head, score])
            self.prev_s = ext[-h:]
            held = np.max(np.lib.stride_tricks.sliding_window_view(ext, h + 1), axis=1)
            g = min(h, GATED_HANGOVER)
            if g < h:  # silent frames: held no longer than the labels hold speech into silence
                short = np.max(np.lib.stride_tricks.sliding_window_view(ext[h - g:], g + 1), axis=1)
                held = np.where(silent, short, held)
            score = held
        return np.clip(score, 0.0, 1.0)


# ============================================================================= results
@dataclass
class Detection:
    """Scores and segments of one input."""

    speech_prob: np.ndarray  # score per 10 ms frame, speech where >= 0.5
    segments: list[list[float]]  # [start_s, end_s] of each speech run
    duration_s: float
    model: str
    hop_s: float = HOP / SAMPLE_RATE

    def to_dict(self) -> dict:
        return {"hop_s": self.hop_s, "speech_prob": [round(float(p), 4) for p in self.speech_prob],
                "segments": [[round(a, 3), round(b, 3)] for a, b in self.segments],
                "duration_s": self.duration_s, "speech_fraction": float(np.mean(self.speech_prob >= 0.5))
                if len(self.speech_prob) else 0.0, "model": self.model}


def segments_from_scores(scores: np.ndarray, hop_s: float = HOP / SAMPLE_RATE, threshold: float = 0.5,
                         min_speech_s: float = 0.0) -> list[list[float]]:
    """[start_s, end_s] of each run of frames with ``score >= threshold`` (runs shorter than
    ``min_speech_s`` are dropped)."""
    d = np.asarray(scores) >= threshold
    if not d.any():
        return []
    edges = np.diff(np.concatenate([[0], d.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [[float(a * hop_s), float(b * hop_s)] for a, b in zip(starts, ends) if (b - a) * hop_s >= min_speech_s]


# ============================================================================= the system
class SpikingVADSystem(VADSystem):
    """A trained spiking VAD (shipped name "snu" / "snn" / "bin", or a path written by
    :func:`neuroflow.vad.snn.save_model`) behind the common :class:`VADSystem` interface."""

    def __init__(self, kind_or_path: str | Path = "snu"):
        from neuroflow.vad.snn import NumpySNN, load_model

        self.path = model_path(kind_or_path)
        loaded = load_model(self.path)
        self.loaded = loaded
        self.model = loaded.model
        self.features = dict(self.model.features)
        if self.features.get("norm") not in NORMS or int(self.features.get("n_fft", 512)) < WIN:
            raise ValueError(f"{self.path}: model has an unusable feature configuration {self.features}")
        self.runner = NumpySNN(self.model)
        self.threshold = loaded.threshold
        self.smoothing = dict(loaded.smoothing)
        shipped = isinstance(kind_or_path, str) and kind_or_path.lower() in SHIPPED
        tag = {"snu": "snn", "bin": "bin"}[self.model.kind]
        self.name = tag if shipped else f"{tag}:{self.path.stem}"

    def stream(self) -> "VADStream":
        """A fresh stream (16 kHz mono chunks in, scores of completed frames out)."""
        return VADStream(self)

    def _score16k(self, wav: np.ndarray) -> np.ndarray:
        s = self.stream()
        return np.concatenate([s.process(wav), s.flush()])

    def score_features(self, feats: np.ndarray) -> np.ndarray:
        """Raw network speech probability for precomputed (n_frames, n_mels) features of this model."""
        feats = np.asarray(feats, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[1] != self.model.n_mels:
            raise ValueError(f"feats: expected (n_frames, {self.model.n_mels}) features (the model's n_mels), "
                             f"got shape {feats.shape}")
        return self.runner.run(feats)[0]

    def segments(self, wav, sr: int = SAMPLE_RATE, min_speech_s: float = 0.0) -> list[list[float]]:
        """Speech segments [start_s, end_s] of an in-memory signal."""
        return segments_from_scores(self.score(wav, sr), min_speech_s=min_speech_s)

    def detect_array(self, wav, sr: int) -> Detection:
        x = prepare(wav, sr)
        if len(x) < HOP:
            raise AudioError(f"wav: {len(x)} samples at 16 kHz is shorter than one 10 ms frame ({HOP} samples)")
        score = self.score(x, SAMPLE_RATE)
        return Detection(speech_prob=score, segments=segments_from_scores(score), duration_s=len(x) / SAMPLE_RATE,
                         model=self.name)

    def detect_file(self, path: str | Path) -> Detection:
        """Read any audio file (any sample rate, mono or not) and detect speech in it."""
        wav, sr = load_audio(path)
        if len(wav) < HOP:
            raise AudioError(f"{path}: {len(wav) / SAMPLE_RATE * 1000:.1f} ms of audio is shorter than one "
                             f"10 ms frame")
        return self.detect_array(wav, sr)


class VADStream:
    """Chunked, real-time use of a :class:`SpikingVADSystem`: ``process(chunk)`` then ``flush()`` at the end.

    Chunks are mono float audio at 16 kHz (resample upstream). Each call returns the scores of the
    frames completed so far (a frame is complete 17.5 ms after its start, when its window is full);
    ``frames_done`` counts them.
    """

    def __init__(self, system: SpikingVADSystem, sr: int = SAMPLE_RATE):
        if sr != SAMPLE_RATE:
            raise ValueError(f"sr: streams take {SAMPLE_RATE} Hz audio (resample upstream), got {sr!r}")
        self.system = system
        self._front = _FeatureStream(system.features)
        self._post = _PostProcess(system.threshold, int(system.smoothing.get("median", 1)),
                                  int(system.smoothing.get("hangover", 0)))
        self.reset()

    def reset(self) -> None:
        """Forget everything (start of a new recording)."""
        self._front.reset()
        self._post.reset()
        self._state = None
        self.frames_done = 0
        self._closed = False

    def _advance(self, chunk: np.ndarray, final: bool) -> np.ndarray:
        if self._closed:
            raise ValueError("stream: already flushed; call reset() to start a new recording")
        feats, energy = self._front.push(chunk, final=final)
        if len(feats) == 0:
            return np.zeros(0)
        prob, self._state, _ = self.system.runner.run(feats, self._state)
        out = self._post(prob, energy)
        self.frames_done += len(out)
        return out

    def process(self, chunk) -> np.ndarray:
        """Feed a chunk (any length, even 0); returns scores of the frames it completed."""
        x = np.asarray(chunk)
        if x.ndim != 1 or x.dtype.kind not in "fiu":
            raise ValueError(f"chunk: expected 1-d numeric mono audio at 16 kHz, got shape {x.shape} dtype {x.dtype}")
        if x.size and not np.all(np.isfinite(x)):
            raise ValueError("chunk: contains NaN or inf samples")
        if x.dtype.kind in "iu":
            x = prepare(x, SAMPLE_RATE) if x.size else np.zeros(0, np.float32)
        return self._advance(x.astype(np.float32, copy=False), final=False)

    def flush(self) -> np.ndarray:
        """End of input: scores of the remaining frames (``n_samples // 160`` frames in all)."""
        out = self._advance(np.zeros(0, np.float32), final=True)
        self._closed = True
        return out


def detect(path_or_wav, sr: int | None = None, model: str | Path = "snu") -> Detection:
    """One-call detection on a file path or an array (then ``sr`` is required)."""
    system = SpikingVADSystem(model)
    if isinstance(path_or_wav, (str, Path)):
        return system.detect_file(path_or_wav)
    if sr is None:
        raise ValueError("sr: required when detecting on an array")
    check_positive(sr, "sr", integer=True)
    return system.detect_array(path_or_wav, sr)
