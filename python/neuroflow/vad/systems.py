"""VAD systems under one interface: ``system.score(wav, sr) -> speech probability per 10 ms frame``.

Every system returns ``n_frames(len(wav), sr)`` scores in [0, 1] on the frame grid that
:mod:`neuroflow.vad.features` defines, so scores line up with corpus labels and log-mel frames.

- :class:`EnergyVAD` — frame energy against an estimated noise floor (no dependencies).
- :class:`WebRTCVAD` — Google's WebRTC GMM detector, ``webrtcvad-wheels`` (aggressiveness modes 0-3);
  hard 0/1 decisions.
- :class:`SileroVAD` — the Silero VAD network; its TorchScript model ships inside the ``silero-vad``
  wheel and is loaded from there (never from a hub).
- :class:`~neuroflow.vad.detect.SpikingVADSystem` — the spiking detectors (``snu[:PATH]`` / ``bin[:PATH]``).

:mod:`neuroflow.vad.registry` parses specs such as ``"webrtc:3"`` into these systems. Both webrtc and
silero are in the ``vad`` extra: ``pip install 'neuroflow[vad]'``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from neuroflow._utils import check_positive, is_integer, is_number, short_repr
from neuroflow.vad.audio import SAMPLE_RATE, prepare
from neuroflow.vad.features import HOP, frame_energy_db
from neuroflow.vad.postprocess import MAX_SMOOTHING_FRAMES, causal_max

#: most intra-op threads a Silero system may ask torch for (as a training recipe's ``threads``)
MAX_THREADS = 256


def check_threshold(threshold) -> None:
    """ValueError unless ``threshold`` is a score threshold: a number in [0, 1] (NaN would call nothing speech)."""
    if not (is_number(threshold, finite=True) and 0.0 <= threshold <= 1.0):
        raise ValueError(f"threshold: expected a score threshold in [0, 1], got {threshold!r}")


class SystemUnavailable(ImportError):
    """A system whose optional dependency (extra) or model file is missing here."""


class VADSystem(ABC):
    """Base class: subclasses set ``name`` and implement ``_score16k(wav)`` on 16 kHz float32 audio."""

    name = "vad"

    def score(self, wav, sr: int = SAMPLE_RATE) -> np.ndarray:
        """Speech probability (float64 in [0, 1]) for each 10 ms frame: ``len(wav at 16 kHz) // 160`` values."""
        x = prepare(wav, sr)
        n = len(x) // HOP
        if n == 0:
            return np.zeros(0)
        raw = self._score16k(x)
        try:
            out = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            out = None
        # guards subclasses: NaN scores went on through np.clip (and were met by the metrics as "scores: expected
        # finite values", without the system), text scores failed in numpy, one column of scores passed as frames
        if out is None or out.ndim != 1:
            got = f"an array of shape {raw.shape} and dtype {raw.dtype}" if isinstance(raw, np.ndarray) else \
                type(raw).__name__
            raise RuntimeError(f"{self.name}: produced {got}, expected {n} scores (a 1-d array of numbers)")
        if len(out) != n:
            raise RuntimeError(f"{self.name}: produced {len(out)} frames, expected {n}")
        if np.isnan(out).any():
            raise RuntimeError(f"{self.name}: produced {int(np.isnan(out).sum())} NaN scores of {n} frames")
        return np.clip(out, 0.0, 1.0)

    def detect(self, wav, sr: int = SAMPLE_RATE, threshold: float = 0.5) -> np.ndarray:
        """0/1 decision per 10 ms frame (``score >= threshold``)."""
        check_threshold(threshold)
        return (self.score(wav, sr) >= threshold).astype(np.int8)

    @abstractmethod
    def _score16k(self, wav: np.ndarray) -> np.ndarray:
        """Scores for ``len(wav) // 160`` frames of 16 kHz float32 audio."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class EnergyVAD(VADSystem):
    """Energy threshold: speech where the frame energy exceeds the noise floor by ``margin_db``.

    The noise floor is the ``floor_percentile``-th percentile of the frame energies of the whole input
    (an offline estimate); the score is a logistic function of the excess over floor + margin with
    slope ``slope_db``, held for ``hangover_frames`` frames after it falls.
    """

    def __init__(self, margin_db: float = 9.0, floor_percentile: float = 10.0, slope_db: float = 2.0,
                 hangover_frames: int = 8):
        if not is_number(margin_db, finite=True):  # NaN made every score NaN
            raise ValueError(f"margin_db: expected a finite number of dB, got {margin_db!r}")
        self.margin_db = float(margin_db)
        if not (is_number(floor_percentile) and 0.0 <= floor_percentile <= 100.0):
            raise ValueError(f"floor_percentile: expected a number in [0, 100], got {floor_percentile!r}")
        self.floor_percentile = float(floor_percentile)
        self.slope_db = float(check_positive(slope_db, "slope_db"))
        # bounded as a model file's hangover: 10**9 frames allocated 7.5 GiB of history before the first frame
        if not (is_integer(hangover_frames) and 0 <= hangover_frames <= MAX_SMOOTHING_FRAMES):
            raise ValueError(f"hangover_frames: expected a whole number of frames in [0, {MAX_SMOOTHING_FRAMES}], got "
                             f"{short_repr(hangover_frames)}")
        self.hangover_frames = int(hangover_frames)
        self.name = "energy"

    def _score16k(self, wav):
        energy = frame_energy_db(wav)
        floor = np.percentile(energy, self.floor_percentile)
        z = np.clip((energy - floor - self.margin_db) / self.slope_db, -50, 50)
        score = 1.0 / (1.0 + np.exp(-z))
        if self.hangover_frames:  # the score stays up for hangover_frames after speech ends
            score = causal_max(score, self.hangover_frames)[0]
        return score


class WebRTCVAD(VADSystem):
    """WebRTC VAD (``webrtcvad-wheels``) on 10 ms frames; ``mode`` 0 (least) to 3 (most aggressive).

    Each :meth:`score` call starts a fresh detector: WebRTC adapts its noise model as it goes, so a
    shared one would carry what it heard in one recording into the next.
    """

    def __init__(self, mode: int = 3):
        if isinstance(mode, bool) or mode not in (0, 1, 2, 3):
            raise ValueError(f"mode: expected 0, 1, 2 or 3, got {mode!r}")
        try:
            import webrtcvad
        except ImportError:
            raise SystemUnavailable("webrtc: needs webrtcvad-wheels (pip install 'neuroflow[vad]')") from None
        self.mode = int(mode)
        self._make = lambda: webrtcvad.Vad(self.mode)
        self.name = f"webrtc:{self.mode}"

    def _score16k(self, wav):
        pcm = (np.clip(wav, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        step = 2 * HOP
        is_speech = self._make().is_speech
        n = len(wav) // HOP
        return np.fromiter((is_speech(pcm[i * step:(i + 1) * step], SAMPLE_RATE) for i in range(n)),
                           dtype=np.float64, count=n)


class SileroVAD(VADSystem):
    """Silero VAD: its TorchScript model from the ``silero-vad`` wheel, run on 32 ms chunks, mapped to 10 ms frames.

    Frame t gets the probability of the 512-sample chunk that holds the centre of the frame.
    ``threads`` limits torch's intra-op threads while scoring (None leaves torch's setting alone).
    """

    CHUNK = 512

    def __init__(self, threads: int | None = None):
        # torch.set_num_threads met -1 or "x" only when scoring (its own RuntimeError, or int()'s), took 2.5 as 2, and
        # 10**6 crashed the process
        if threads is not None and not (is_integer(threads) and 1 <= threads <= MAX_THREADS):
            raise ValueError(f"threads: expected None or a whole number of threads in [1, {MAX_THREADS}], got "
                             f"{short_repr(threads)}")
        try:
            import silero_vad
            import torch  # noqa: F401
        except ImportError:
            raise SystemUnavailable("silero: needs silero-vad and torch (pip install 'neuroflow[vad]')") from None
        import warnings

        try:
            with warnings.catch_warnings():  # torch warns that TorchScript loading is deprecated
                warnings.simplefilter("ignore", DeprecationWarning)
                self._model = silero_vad.load_silero_vad(onnx=False)
        except Exception as exc:
            raise SystemUnavailable(f"silero: the model shipped with silero-vad could not be loaded ({exc})") from None
        self.threads = threads
        self.name = "silero"

    def _score16k(self, wav):
        import torch

        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(int(self.threads))
        try:
            with torch.no_grad():
                probs = self._model.audio_forward(torch.from_numpy(np.ascontiguousarray(wav)), SAMPLE_RATE)
        finally:
            if self.threads:
                torch.set_num_threads(previous)
        probs = probs.reshape(-1).numpy().astype(np.float64)
        n = len(wav) // HOP
        chunk_of_frame = (np.arange(n) * HOP + HOP // 2) // self.CHUNK
        return probs[np.minimum(chunk_of_frame, len(probs) - 1)]
