"""Training data of a spiking VAD: feature sequences with frame labels, their split and their batches.

:func:`corpus_sequences` turns every scene of a corpus into the features of the model's
configuration (with the gains and excerpts of :mod:`neuroflow.vad.augment`), :func:`speech_free_sequences`
adds speech-free ones, :func:`split_sequences` splits by whole scene, and :func:`batches` cuts one
epoch of random crops.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuroflow._utils import progress as progress_bar
from neuroflow.vad.audio import prepare
from neuroflow.vad.augment import excerpt_bounds, random_gain
from neuroflow.vad.features import frame_signal, log_mel, window_energy_db
from neuroflow.vad.frontend import FeatureExtractor, own_energy_db
from neuroflow.vad.tonality import tonality_step


@dataclass
class SequenceSet:
    """Feature sequences with frame labels: ``feats[i]`` (T_i, n_features) float32, ``labels[i]`` (T_i,) 0/1."""

    feats: list[np.ndarray]
    labels: list[np.ndarray]
    names: list[str] = field(default_factory=list)
    snr_db: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.feats)

    @property
    def n_frames(self) -> int:
        return int(sum(len(f) for f in self.feats))

    def append(self, feats: np.ndarray, labels: np.ndarray, name: str, snr_db: float) -> None:
        self.feats.append(feats)
        self.labels.append(labels)
        self.names.append(name)
        self.snr_db.append(float(snr_db))

    def subset(self, idx) -> "SequenceSet":
        pick = lambda seq: [seq[i] for i in idx] if seq else []  # noqa: E731
        return SequenceSet(pick(self.feats), pick(self.labels), pick(self.names), pick(self.snr_db))

    @classmethod
    def concatenate(cls, parts: list["SequenceSet"]) -> "SequenceSet":
        return cls(*[sum((getattr(p, f) for p in parts), []) for f in ("feats", "labels", "names", "snr_db")])


def raw_frames(wav, sr: int,
               extractor: FeatureExtractor) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Raw log-mel frames, window energies, the frames' own 10 ms energies (dB) and, if the extractor has
    the tonality input, the frames' values it averages (detail similarities or the partials' persistence; else
    None) of a whole signal, before any normalisation; slices of them are what
    :meth:`FeatureExtractor.normalize_raw` takes."""
    long = frame_signal(prepare(wav, sr), history=extractor.history)  # the windows FeatureExtractor.step takes
    frames = long[:, extractor.history:]
    sim = tonality_step(long, None, extractor.tonality_measure)[0] if extractor.tonality else None
    return log_mel(frames, extractor.basis), window_energy_db(frames), own_energy_db(frames), sim


def corpus_sequences(corpus, features: dict, *, gain_db: float = 0.0, seed: int = 0, restarts: int = 0,
                     progress: bool = False) -> SequenceSet:
    """Features and labels of every scene of ``corpus`` (a folder or a loaded corpus).

    Parameters
    ----------
    corpus : str, Path or Corpus
    features : dict
        The model's feature configuration (``Recipe.features()``).
    gain_db : float
        > 0 scales each scene by a random gain in [-gain_db, +gain_db] dB first.
    seed : int
        Seeds the gains and excerpts.
    restarts : int
        Adds that many random 3-8 s excerpts of each scene, named ``<scene>@<k>``, whose features are
        computed from the excerpt alone (so a causal normalisation starts at its first frame).
    progress : bool
        Show a progress bar.

    Returns
    -------
    SequenceSet
    """
    from neuroflow.vad.corpus import load_corpus

    if isinstance(corpus, (str, Path)):
        corpus = load_corpus(corpus)
    extractor = FeatureExtractor(features)
    rng = np.random.default_rng([int(seed), 0x6A1])
    out = SequenceSet([], [], [], [])
    for scene in progress_bar(list(corpus), enabled=progress, desc="features", unit="scene"):
        wav = random_gain(scene.wav, gain_db, rng)
        raw, energy, own, sim = raw_frames(wav, scene.sr, extractor)
        lab = scene.labels.astype(np.float32)
        if len(lab) != len(raw):  # a damaged scene (a truncated WAV): refused as eval and calibrate refuse it
            raise ValueError(f"{scene.labels_path}: {len(lab)} labels, but {scene.path} has {len(raw)} frames")
        n = len(raw)
        cut = lambda a, b: None if sim is None else sim[a:b]  # noqa: E731
        out.append(extractor.normalize_raw(raw[:n], energy[:n], own[:n], cut(0, n)), lab[:n], scene.name, scene.snr_db)
        for k in range(int(restarts)):  # log-mel frames are local, so an excerpt's are a slice of the scene's
            a, b = excerpt_bounds(n, rng)
            out.append(extractor.normalize_raw(raw[a:b], energy[a:b], own[a:b], cut(a, b)), lab[a:b],
                       f"{scene.name}@{k}", scene.snr_db)
    if not len(out):
        raise ValueError(f"corpus: {getattr(corpus, 'root', corpus)} holds no scenes")
    return out


def speech_free_sequences(kind: str, seconds: float, features: dict, seed: int = 0, group: str = "A") -> SequenceSet:
    """Speech-free sequences (label 0) of :func:`neuroflow.vad.augment.speech_free_pieces` (``kind`` "noise",
    "room", "music", "talk" or "gated"), each with its own fresh features, named ``<kind>_<what>_<k>``."""
    from neuroflow.vad.augment import speech_free_pieces

    extractor = FeatureExtractor(features)
    out = SequenceSet([], [], [], [])
    for k, (wav, name) in enumerate(speech_free_pieces(kind, seconds, seed, group)):
        f = extractor.transform(wav)
        out.append(f, np.zeros(len(f), np.float32), f"{kind}_{name}_{k}", float("-inf"))
    return out


def split_sequences(data: SequenceSet, val_fraction: float, seed: int) -> tuple[SequenceSet, SequenceSet]:
    """Split by whole scene (a scene's ``@k`` excerpts go with it), so no validation frame was trained on."""
    bases = [n.split("@")[0] for n in data.names] if len(data.names) == len(data) else list(range(len(data)))
    unique = list(dict.fromkeys(bases))
    if len(unique) < 2:
        raise ValueError(f"corpus: need at least 2 scenes to split off a validation set, got {len(unique)}")
    rng = np.random.default_rng([int(seed), 0x5B1])
    order = rng.permutation(len(unique))
    n_val = min(len(unique) - 1, max(1, int(round(val_fraction * len(unique)))))
    val_bases = {unique[i] for i in order[:n_val]}
    val = [i for i, b in enumerate(bases) if b in val_bases]
    train = [i for i, b in enumerate(bases) if b not in val_bases]
    return data.subset(train), data.subset(val)


def n_crop_batches(data: SequenceSet, seq_frames: int, batch_size: int) -> int:
    """How many minibatches :func:`batches` yields per epoch."""
    n_crops = max(batch_size, int(np.ceil(sum(len(f) for f in data.feats) / seq_frames)))
    return int(np.ceil(n_crops / batch_size))


def batches(data: SequenceSet, seq_frames: int, batch_size: int, rng: np.random.Generator):
    """One epoch of random crops of ``seq_frames`` frames, ``batch_size`` at a time: as many crops as it
    takes to cover the frames once; sequences are drawn in proportion to their length. Yields
    ``(x (batch, seq_frames, n_features), y (batch, seq_frames))`` as float32 arrays."""
    L = seq_frames
    lengths = np.array([len(f) for f in data.feats])
    weights = np.maximum(lengths - L, 1).astype(float)
    for _ in range(n_crop_batches(data, seq_frames, batch_size)):
        seqs = rng.choice(len(data), size=batch_size, p=weights / weights.sum())
        xs, ys = [], []
        for i in seqs:
            f, y = data.feats[i], data.labels[i]
            if len(f) <= L:
                pad = L - len(f)
                xs.append(np.pad(f, ((0, pad), (0, 0)), mode="edge"))
                ys.append(np.pad(y, (0, pad), mode="edge"))
                continue
            start = int(rng.integers(0, len(f) - L + 1))
            xs.append(f[start:start + L])
            ys.append(y[start:start + L])
        yield np.stack(xs), np.stack(ys)
