"""A model's feature front end: samples in, the features its network was trained on out, file-wise or chunk-wise.

:class:`FeatureExtractor` chains the steps of :mod:`neuroflow.vad.features` (framing, log-mel, the
causal normalisation) and, where the configuration asks for them, the absolute-level inputs of
:mod:`neuroflow.vad.level` and the modulation inputs of :mod:`neuroflow.vad.modulation` (in that
order after the bands), then the tonality input of :mod:`neuroflow.vad.tonality` and the rhythm input of
:mod:`neuroflow.vad.rhythm`. Each step is
``(input, state) -> (output, state)``, so :meth:`FeatureExtractor.transform` (a whole file) is
:meth:`FeatureExtractor.step` over one chunk.
"""
from __future__ import annotations

import numpy as np

from neuroflow._utils import check_positive, is_number
from neuroflow.vad.audio import SAMPLE_RATE, prepare
from neuroflow.vad.features import (ALPHA, CAUSAL_NORMS, FLOOR_SMOOTH, FLOOR_WINDOW, FRAME_RATE, HOP, SILENCE_DB,
                                    WIN, check_floor_fall, check_floor_settings, frame_step, log_mel, mel_basis,
                                    noise_floor, running_zscore, window_energy_db)
from neuroflow.vad.level import DB_TO_LOG, LEVEL_CEILING_DB, MIN_LEVEL_DB, N_LEVEL, level_inputs
from neuroflow.vad.modulation import MOD_WINDOW, N_MOD, check_window, modulation_inputs
from neuroflow.vad.rhythm import N_RHYTHM, rhythm_inputs
from neuroflow.vad.tonality import (N_TONAL, TONAL_HISTORY, TONAL_WINDOW, check_measure, excerpt_similarity,
                                    tonality_inputs, tonality_step)
from neuroflow.vad.tonality import check_window as check_tonality_window

#: samples processed at a time when a whole signal is featurised or scored (10 s): a chunk's spectra and
#: intermediate arrays take a few tens of MB, where the whole of an hour-long file at once took ~10 GB (the state
#: carried from chunk to chunk makes the result the same bit for bit)
FEED_CHUNK = 10 * SAMPLE_RATE
#: the on/off settings of a feature configuration
SWITCHES = ("skip_silence", "level", "modulation", "tonality", "rhythm")


class FeatureExtractor:
    """The features of a model's configuration (``model.features``), computed file-wise or chunk-wise.

    ``features`` holds ``n_mels``, ``n_fft`` (512), ``norm`` (one of :data:`CAUSAL_NORMS`) and its
    settings (``floor_window``, ``floor_smooth``, ``floor_fall_db`` or ``alpha``), and optionally ``skip_silence``,
    ``level``, ``modulation`` (with ``modulation_window``, seconds), ``tonality`` (with
    ``tonality_window``, seconds, and ``tonality_measure``, "detail" by default) and ``rhythm`` (see the
    module docstring).
    :meth:`step` is the stream's step over 16 kHz float32 samples; :meth:`transform` is that step over one chunk.
    """

    def __init__(self, features: dict):
        f = dict(features)
        for name in SWITCHES:  # bool("false") is True: a model file's "false" would switch an input on
            if not isinstance(f.get(name, False), (bool, np.bool_)):
                raise ValueError(f"{name}: expected true or false, got {f[name]!r:.40}")
        for name in ("alpha", "floor_smooth", "level_ceiling_db"):  # float("0.8") would read a string as a number
            if name in f and not is_number(f[name], finite=True):
                raise ValueError(f"{name}: expected a finite number, got {f[name]!r:.40}")
        self.n_mels = int(check_positive(int(f["n_mels"]), "n_mels", integer=True))
        self.n_fft = int(f.get("n_fft", 512))
        if self.n_fft < WIN:
            raise ValueError(f"n_fft: expected at least the window length {WIN}, got {self.n_fft}")
        self.norm = f.get("norm", "none")
        if self.norm not in CAUSAL_NORMS:
            raise ValueError(f"norm: a model's features must be causal ({', '.join(CAUSAL_NORMS)}), "
                             f"got {self.norm!r}")
        self.alpha = float(f.get("alpha", ALPHA))
        if not 0.0 < self.alpha < 1.0:  # running_zscore refuses it, but only once the first frames come
            raise ValueError(f"alpha: expected a number in (0, 1), got {self.alpha!r}")
        self.floor_window, self.floor_smooth = check_floor_settings(f.get("floor_window", FLOOR_WINDOW),
                                                                    f.get("floor_smooth", FLOOR_SMOOTH))
        self.floor_fall_db = check_floor_fall(f.get("floor_fall_db"))
        self.skip_silence = bool(f.get("skip_silence", False))
        self.level = bool(f.get("level", False))
        self.level_ceiling_db = float(f.get("level_ceiling_db", LEVEL_CEILING_DB))
        if not MIN_LEVEL_DB < self.level_ceiling_db <= 0.0:
            raise ValueError(f"level_ceiling_db: expected a level in ({MIN_LEVEL_DB:g}, 0] dBFS, "
                             f"got {self.level_ceiling_db!r}")
        self.modulation = bool(f.get("modulation", False))
        self.modulation_window = check_window(f.get("modulation_window", MOD_WINDOW))
        self.tonality = bool(f.get("tonality", False))
        self.tonality_window = check_tonality_window(f.get("tonality_window", TONAL_WINDOW))
        self.tonality_measure = check_measure(f.get("tonality_measure", "detail"))
        self.rhythm = bool(f.get("rhythm", False))
        self._basis = None

    @property
    def basis(self) -> np.ndarray:
        """The mel filters (n_mels, n_fft // 2 + 1), built on first use: checking a configuration (a model file's,
        :func:`neuroflow.vad.snn.load_model`) imports no signal library."""
        if self._basis is None:
            self._basis = mel_basis(self.n_fft, self.n_mels)
        return self._basis

    @property
    def fall(self) -> float | None:
        """The bands' floors' largest fall per frame in natural-log units (``floor_fall_db`` dB per second), or
        None (no limit)."""
        return None if self.floor_fall_db is None else DB_TO_LOG * self.floor_fall_db / FRAME_RATE

    def reference(self, energy_db) -> np.ndarray | None:
        """The whole signal's log level (window energy, natural-log units) whose floor the bands' floors may follow
        down at any speed (with ``floor_fall_db``; None without)."""
        if self.fall is None:
            return None
        return DB_TO_LOG * np.clip(np.asarray(energy_db, dtype=np.float64), MIN_LEVEL_DB, 0.0)

    @property
    def history(self) -> int:
        """Samples of the past each frame's window reaches back beyond the 25 ms one (the tonality input's)."""
        return TONAL_HISTORY if self.tonality else 0

    @property
    def n_features(self) -> int:
        """Values per frame: the mel bands, plus the absolute-level, modulation, tonality and rhythm inputs where
        configured."""
        return feature_width({"n_mels": self.n_mels, "level": self.level, "modulation": self.modulation,
                              "tonality": self.tonality, "rhythm": self.rhythm})

    def step(self, x: np.ndarray, state: dict | None = None, *, final: bool = False):
        """Feed 16 kHz float32 samples: ``(features (n, n_features), window energy dB (n,), state)`` of
        the frames now complete (all of them once ``final``)."""
        state = {"frames": None, "norm": None, "level": None, "modulation": None} if state is None else state
        long, fstate = frame_step(np.asarray(x, np.float32), state["frames"], final=final, history=self.history)
        frames = long[:, self.history:]
        energy = window_energy_db(frames)
        raw = log_mel(frames, self.basis) if len(frames) else np.zeros((0, self.n_mels), np.float32)
        silent = own_energy_db(frames) < SILENCE_DB if self.skip_silence else None
        new = {"frames": fstate}
        if self.norm == "floor":
            floor, new["norm"] = noise_floor(raw, self.floor_window, self.floor_smooth, state["norm"], skip=silent,
                                             fall=self.fall, reference=self.reference(energy))
            feats = (raw - floor).astype(np.float32)
        elif self.norm == "running":
            feats, new["norm"] = running_zscore(raw, self.alpha, state["norm"])
        else:
            feats, new["norm"] = raw, None
        new["level"] = state["level"]
        if self.level:
            extra, new["level"] = level_inputs(energy, state["level"], window=self.floor_window,
                                               smooth=self.floor_smooth, silent=silent,
                                               ceiling_db=self.level_ceiling_db)
            feats = np.concatenate([feats, extra], axis=1)
        new["modulation"] = state.get("modulation")
        if self.modulation:
            extra, new["modulation"] = modulation_inputs(raw, energy, new["modulation"], silent=silent,
                                                        window=self.modulation_window)
            feats = np.concatenate([feats, extra], axis=1)
        new["similarity"], new["tonality"] = state.get("similarity"), state.get("tonality")
        if self.tonality:
            sim, new["similarity"] = tonality_step(long, new["similarity"], self.tonality_measure)
            extra, new["tonality"] = tonality_inputs(sim, new["tonality"], silent=silent, window=self.tonality_window)
            feats = np.concatenate([feats, extra], axis=1)
        new["rhythm"] = state.get("rhythm")
        if self.rhythm:
            extra, new["rhythm"] = rhythm_inputs(raw, new["rhythm"], silent=silent)
            feats = np.concatenate([feats, extra], axis=1)
        return feats, energy, new

    def transform(self, wav, sr: int = SAMPLE_RATE) -> np.ndarray:
        """Features (n_frames, n_features) of a whole signal (any rate, mono or not), computed :data:`FEED_CHUNK`
        samples at a time (the same features bit for bit, in the memory of one chunk)."""
        return self.features_and_energy(wav, sr)[0]

    def features_and_energy(self, wav, sr: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`transform`'s features and each frame's window energy (dB), which the post-processor takes, of a
        whole signal, :data:`FEED_CHUNK` samples at a time."""
        x = prepare(wav, sr)
        feats, energy, state = [], [], None
        for i in range(0, len(x), FEED_CHUNK):
            f, e, state = self.step(x[i:i + FEED_CHUNK], state)
            feats.append(f)
            energy.append(e)
        f, e, _ = self.step(np.zeros(0, np.float32), state, final=True)
        return np.concatenate(feats + [f]), np.concatenate(energy + [e])

    def normalize_raw(self, raw: np.ndarray, energy_db: np.ndarray | None = None,
                      own_db: np.ndarray | None = None, similarity: np.ndarray | None = None) -> np.ndarray:
        """The configured normalisation (and level inputs) of precomputed raw log-mel frames of one
        excerpt; ``energy_db`` (the windows' energies, :func:`~neuroflow.vad.features.window_energy_db`)
        and ``own_db`` (the frames' own 10 ms, :func:`own_energy_db`) are needed for ``level``,
        ``modulation`` and ``skip_silence``, ``similarity`` (the frames' detail similarities, sliced like
        ``raw`` from the whole signal's, :func:`neuroflow.vad.sequences.raw_frames`) for ``tonality``."""
        raw = np.asarray(raw, dtype=np.float32)
        if (((self.level or self.modulation or self.fall is not None) and energy_db is None)
                or (self.skip_silence and own_db is None)):
            raise ValueError("energy_db, own_db: this configuration needs the frames' energies")
        if self.tonality and (similarity is None or len(similarity) != len(raw)):
            raise ValueError("similarity: this configuration (tonality) needs one detail similarity per frame")
        silent = np.asarray(own_db) < SILENCE_DB if self.skip_silence else None
        if self.norm == "floor":
            floor = noise_floor(raw, self.floor_window, self.floor_smooth, skip=silent, fall=self.fall,
                                reference=self.reference(energy_db))[0]
            feats = (raw - floor).astype(np.float32)
        elif self.norm == "running":
            feats = running_zscore(raw, self.alpha)[0]
        else:
            feats = raw
        if self.level:
            extra, _ = level_inputs(np.asarray(energy_db, np.float64), None, window=self.floor_window,
                                    smooth=self.floor_smooth, silent=silent, ceiling_db=self.level_ceiling_db)
            feats = np.concatenate([feats, extra], axis=1)
        if self.modulation:
            feats = np.concatenate([feats, modulation_inputs(raw, energy_db, silent=silent,
                                                                     window=self.modulation_window)[0]], axis=1)
        if self.tonality:
            values = excerpt_similarity(similarity, self.tonality_measure)
            extra = tonality_inputs(values, silent=silent, window=self.tonality_window)[0]
            feats = np.concatenate([feats, extra], axis=1)
        if self.rhythm:
            feats = np.concatenate([feats, rhythm_inputs(raw, silent=silent)[0]], axis=1)
        return feats


def own_energy_db(frames: np.ndarray) -> np.ndarray:
    """Energy (dB re full scale) of the 10 ms each (400-sample) window is centred on: what decides
    whether a frame is digital silence, so a frame whose window only reaches into a silent stretch is
    not counted as silence, nor one whose window only reaches into sound as sound."""
    left = WIN // 2 - HOP // 2
    return window_energy_db(np.asarray(frames)[:, left:left + HOP])


def feature_width(features: dict) -> int:
    """Values per frame of a feature configuration (its mel bands, plus the level, modulation, tonality and rhythm
    inputs if it has them)."""
    return (int(features["n_mels"]) + (N_LEVEL if features.get("level", False) else 0)
            + (N_MOD if features.get("modulation", False) else 0) + (N_TONAL if features.get("tonality", False) else 0)
            + (N_RHYTHM if features.get("rhythm", False) else 0))
