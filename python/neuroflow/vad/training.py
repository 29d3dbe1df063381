"""Training spiking VADs: BPTT on log-mel sequences, an activity regulariser, lottery-ticket pruning.

:func:`train_vad` is the whole recipe (:class:`Recipe`): features of a corpus (split by scene into
train / validation), dense training, then prune -> rewind -> retrain rounds until the target sparsity,
a decision threshold chosen on the validation split, the activity and power estimate measured, and
the model saved. The loss per frame is binary cross-entropy on the speech probability plus
``activity_weight`` times the mean spike count of the hidden neurons (which keeps spiking sparse).

Long runs are safe to stop: a checkpoint (``<out>.ckpt``) is written after every epoch and a rerun
with the same recipe continues from it. Progress shows as a tqdm bar (``progress=False`` to hide).
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from neuroflow._utils import check_choice, check_positive, progress
from neuroflow.vad import pruning
from neuroflow.vad.audio import SAMPLE_RATE
from neuroflow.vad.energy import energy_report, layer_rates
from neuroflow.vad.features import FRAME_RATE, NORMS, check_floor_settings, logmel
from neuroflow.vad.snn import MODEL_KINDS, NumpySNN, build_model, save_model


# ============================================================================= recipe
@dataclass
class Recipe:
    """Every setting of a training run; saved beside the model so it can be made again.

    ``epochs`` trains the dense model, ``prune_epochs`` retrains after each pruning round; ``prune``
    is the target fraction of connections removed (0 = no pruning), ``prune_rate`` the fraction of
    the remaining ones removed per round, ``prune_scope`` ranks weights per matrix ("layer") or over
    all of them ("global"; the shipped models use it: per-matrix pruning cut the bin model's 64-weight
    readout to 9 weights and cost it 3.3 HTER points on held-out data, global ranking 0.2).
    ``rewind_epoch`` is the epoch whose weights the surviving connections are reset to
    (0 = initialisation); ``prune_epochs = epochs - rewind_epoch`` (the default) gives each pruned
    ticket as much training as the dense network had (with fewer, the pruned model lost 2-4 HTER
    points on held-out data; the shipped SNU retrains 10 epochs per round, which cut its held-out
    pruning loss from 0.9 to 0.3 points). Sequences are random crops of ``seq_frames``
    frames; the first ``burn_in`` frames of a crop carry no loss (the network's state settles).

    ``norm`` is the feature normalisation (:func:`neuroflow.vad.features.normalize`): "floor" (the
    default and the shipped models': log energy over a minimum-statistics noise floor of
    ``floor_window`` frames, averaged with ``floor_smooth``) or "running" (per-band EMA z-scores with
    factor ``alpha``, the earlier models'; it maps stationary noise of any level onto speech-like
    unit-variance fluctuations, and real noise recordings came out as speech).

    Two augmentations teach what real recordings start with: ``restarts`` excerpts of 3-8 s per
    scene whose features start afresh at the excerpt (the start of a stream, where a causal
    normalisation has seen little), and speech-free sequences (white, pink, brown, car and street
    noise of group A at -80 to -10 dBFS, 2-10 s each, labelled 0) adding ``noise_only`` times the
    corpus's length, which the corpus lacks (every scene holds 5-95% speech).
    """

    kind: str = "snu"
    hidden: tuple[int, ...] = (48,)
    n_bins: int = 8
    recurrent: bool = False
    tau: float = 4.0
    slope: float = 5.0
    n_mels: int = 40
    norm: str = "floor"
    alpha: float = 0.995
    floor_window: int = 150
    floor_smooth: float = 0.8
    epochs: int = 6
    prune: float = 0.85
    prune_rate: float = 0.62
    prune_epochs: int = 5
    prune_scope: str = "layer"
    rewind_epoch: int = 1
    batch_size: int = 32
    seq_frames: int = 300
    burn_in: int = 20
    lr: float = 3e-3
    activity_weight: float = 0.05
    val_fraction: float = 0.15
    median: int = 5
    hangover: int = 10
    gain_db: float = 12.0
    restarts: int = 0
    noise_only: float = 0.0
    seed: int = 0
    threads: int = 1

    def __post_init__(self):
        self.hidden = tuple(int(h) for h in self.hidden)
        check_choice(self.kind, "kind", MODEL_KINDS)
        check_choice(self.norm, "norm", NORMS)
        check_choice(self.prune_scope, "prune_scope", ("layer", "global"))
        for name in ("epochs", "batch_size", "seq_frames", "n_mels", "n_bins", "threads", "median"):
            check_positive(getattr(self, name), name, integer=True)
        for name in ("prune_epochs", "rewind_epoch", "burn_in", "hangover", "restarts"):
            check_positive(getattr(self, name), name, integer=True, allow_zero=True)
        for name in ("lr", "tau", "slope"):
            check_positive(getattr(self, name), name)
        for name in ("activity_weight", "gain_db", "noise_only"):
            check_positive(getattr(self, name), name, allow_zero=True)
        if not 0.0 <= self.prune < 1.0:
            raise ValueError(f"prune: expected a fraction of connections in [0, 1), got {self.prune!r}")
        if not 0.0 < self.prune_rate < 1.0:
            raise ValueError(f"prune_rate: expected a fraction in (0, 1), got {self.prune_rate!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction: expected a fraction in (0, 1), got {self.val_fraction!r}")
        if self.burn_in >= self.seq_frames:
            raise ValueError(f"burn_in: expected fewer than seq_frames={self.seq_frames} frames, got {self.burn_in}")
        if self.rewind_epoch > self.epochs:
            raise ValueError(f"rewind_epoch: expected at most epochs={self.epochs}, got {self.rewind_epoch}")
        check_floor_settings(self.floor_window, self.floor_smooth)
        if self.median % 2 == 0:
            raise ValueError(f"median: expected an odd window length in frames, got {self.median}")

    def features(self) -> dict:
        if self.norm == "floor":
            return {"n_mels": self.n_mels, "n_fft": 512, "norm": "floor", "floor_window": self.floor_window,
                    "floor_smooth": self.floor_smooth}
        return {"n_mels": self.n_mels, "n_fft": 512, "norm": self.norm, "alpha": self.alpha}

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Recipe":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"recipe: unknown settings {unknown}")
        return cls(**d)


#: the settings of the shipped models (neuroflow/vad/models/*.json) that differ from Recipe's defaults
DEFAULT_RECIPES = {
    "snu": {"kind": "snu", "hidden": (64,), "tau": 10.0, "recurrent": True, "prune_scope": "global",
            "prune_epochs": 10, "restarts": 2, "noise_only": 0.15},
    "bin": {"kind": "bin", "hidden": (64,), "n_bins": 8, "tau": 10.0, "prune_scope": "global", "restarts": 2,
            "noise_only": 0.15},
}


def default_recipe(kind: str = "snu", **overrides) -> Recipe:
    """The recipe that made the shipped model of ``kind`` ("snu" or "bin"), with ``overrides`` applied."""
    check_choice(kind, "kind", MODEL_KINDS)
    return Recipe(**{**DEFAULT_RECIPES[kind], **overrides})


# ============================================================================= data
def compute_features(wav, sr: int, features: dict) -> np.ndarray:
    """Log-mel frames of ``wav`` under a model's feature configuration (see :mod:`neuroflow.vad.features`)."""
    raw = logmel(wav, sr, n_mels=int(features["n_mels"]), n_fft=int(features.get("n_fft", 512)))
    return normalize_features(raw, features)


def normalize_features(raw: np.ndarray, features: dict) -> np.ndarray:
    """Apply a model's feature normalisation (``features["norm"]`` and its settings) to raw log-mel frames."""
    from neuroflow.vad.features import FLOOR_SMOOTH, FLOOR_WINDOW, normalize

    norm = features.get("norm", "none")
    if norm == "running":
        return normalize(raw, "running", alpha=float(features.get("alpha", 0.995)))
    if norm == "floor":
        return normalize(raw, "floor", floor_window=int(features.get("floor_window", FLOOR_WINDOW)),
                         floor_smooth=float(features.get("floor_smooth", FLOOR_SMOOTH)))
    return normalize(raw, norm)


@dataclass
class SequenceSet:
    """Feature sequences with frame labels: ``feats[i]`` (T_i, n_mels) float32, ``labels[i]`` (T_i,) 0/1."""

    feats: list[np.ndarray]
    labels: list[np.ndarray]
    names: list[str] = field(default_factory=list)
    snr_db: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.feats)

    @property
    def n_frames(self) -> int:
        return int(sum(len(f) for f in self.feats))

    def subset(self, idx) -> "SequenceSet":
        pick = lambda seq: [seq[i] for i in idx] if seq else []  # noqa: E731
        return SequenceSet(pick(self.feats), pick(self.labels), pick(self.names), pick(self.snr_db))


def corpus_sequences(corpus, features: dict, *, gain_db: float = 0.0, seed: int = 0, restarts: int = 0,
                     progress_bar: bool = False) -> SequenceSet:
    """Features and labels of every scene of ``corpus`` (a folder or a loaded corpus).

    ``gain_db`` > 0 scales each scene by a random gain in [-gain_db, +gain_db] dB first (level
    augmentation; the log floor makes features not quite gain invariant). ``restarts`` > 0 adds that
    many random 3-8 s excerpts of each scene, named ``<scene>@<k>``, whose features are computed from
    the excerpt alone (so a causal normalisation starts at its first frame, as on a new recording).
    """
    from neuroflow.vad.corpus import load_corpus

    if isinstance(corpus, (str, Path)):
        corpus = load_corpus(corpus)
    rng = np.random.default_rng([int(seed), 0x6A1])
    feats, labels, names, snrs = [], [], [], []
    for scene in progress(list(corpus), enabled=progress_bar, desc="features", unit="scene"):
        wav = scene.wav
        if gain_db > 0:
            wav = wav * np.float32(10 ** (rng.uniform(-gain_db, gain_db) / 20))
        raw = logmel(wav, scene.sr, n_mels=int(features["n_mels"]), n_fft=int(features.get("n_fft", 512)))
        lab = scene.labels.astype(np.float32)
        n = min(len(raw), len(lab))
        feats.append(normalize_features(raw[:n], features))
        labels.append(lab[:n])
        names.append(scene.name)
        snrs.append(float(scene.snr_db))
        for k in range(int(restarts)):  # log-mel frames are local, so an excerpt's are a slice of the scene's
            length = min(n, int(rng.uniform(3.0, 8.0) * FRAME_RATE))
            start = int(rng.integers(0, n - length + 1))
            feats.append(normalize_features(raw[start:start + length], features))
            labels.append(lab[start:start + length])
            names.append(f"{scene.name}@{k}")
            snrs.append(float(scene.snr_db))
    if not feats:
        raise ValueError("corpus: holds no scenes")
    return SequenceSet(feats, labels, names, snrs)


def noise_sequences(seconds: float, features: dict, seed: int = 0, group: str = "A") -> SequenceSet:
    """About ``seconds`` of speech-free sequences (label 0), 2-10 s each: white, pink, brown, car or
    street noise of ``group`` at a random level in [-80, -10] dBFS, each with its own fresh features."""
    from neuroflow.vad.noise import make_noise

    rng = np.random.default_rng([int(seed), 0x0015E])
    kinds = ("white", "pink", "brown", "car", "street")
    feats, labels, names, snrs = [], [], [], []
    total, k = 0.0, 0
    while total < seconds:
        length = float(rng.uniform(2.0, 10.0))
        kind = kinds[int(rng.integers(len(kinds)))]
        wav = make_noise(kind, int(length * SAMPLE_RATE), seed=rng, group=group)
        wav = wav * np.float32(10 ** (rng.uniform(-80.0, -10.0) / 20))
        f = compute_features(wav, SAMPLE_RATE, features)
        feats.append(f)
        labels.append(np.zeros(len(f), np.float32))
        names.append(f"noise_{kind}_{k}")
        snrs.append(float("-inf"))
        total += length
        k += 1
    return SequenceSet(feats, labels, names, snrs)


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


def _batches(data: SequenceSet, recipe: Recipe, rng: np.random.Generator):
    """One epoch of random crops: as many crops as it takes to cover the training frames once."""
    L = recipe.seq_frames
    lengths = np.array([len(f) for f in data.feats])
    weights = np.maximum(lengths - L, 1).astype(float)
    n_crops = max(recipe.batch_size, int(np.ceil(lengths.sum() / L)))
    n_batches = int(np.ceil(n_crops / recipe.batch_size))
    for _ in range(n_batches):
        seqs = rng.choice(len(data), size=recipe.batch_size, p=weights / weights.sum())
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
        yield torch.as_tensor(np.stack(xs)), torch.as_tensor(np.stack(ys))


# ============================================================================= post-processing and scoring
def smooth(prob: np.ndarray, median: int = 1) -> np.ndarray:
    """Causal running median over the last ``median`` frames (the first frames use what exists)."""
    p = np.asarray(prob, dtype=np.float64)
    if median <= 1 or len(p) == 0:
        return p
    padded = np.concatenate([np.full(median - 1, p[0]), p])
    win = np.lib.stride_tricks.sliding_window_view(padded, median)
    return np.median(win, axis=1)


def apply_hangover(decision: np.ndarray, hangover: int) -> np.ndarray:
    """Keep a decision on for ``hangover`` frames after each speech run ends."""
    d = np.asarray(decision, dtype=bool)
    if hangover <= 0 or len(d) == 0:
        return d
    idx = np.arange(len(d))
    last_on = np.where(d, idx, -10**9)
    last_on = np.maximum.accumulate(last_on)
    return (idx - last_on) <= hangover


def hter(decision: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """(HTER, false-alarm rate, miss rate) of 0/1 frame decisions against 0/1 labels, in [0, 1]."""
    d = np.asarray(decision, dtype=bool)
    y = np.asarray(labels, dtype=bool)
    far = float((d & ~y).sum() / max((~y).sum(), 1))
    frr = float((~d & y).sum() / max(y.sum(), 1))
    return 0.5 * (far + frr), far, frr


def pick_threshold(probs: list[np.ndarray], labels: list[np.ndarray], hangover: int = 0) -> tuple[float, float]:
    """The threshold (on a grid of 99 values) with the lowest pooled HTER; returns (threshold, HTER)."""
    grid = np.linspace(0.01, 0.99, 99)
    p = np.concatenate(probs)
    y = np.concatenate(labels).astype(bool)
    best = (0.5, np.inf)
    for thr in grid:
        dec = np.concatenate([apply_hangover(q > thr, hangover) for q in probs]) if hangover else p > thr
        h = hter(dec, y)[0]
        if h < best[1]:
            best = (float(thr), float(h))
    return best


def evaluate(model, data: SequenceSet, *, median: int, hangover: int, threshold: float | None = None) -> dict:
    """Validation metrics: HTER at ``threshold`` (or the best one), spike rate, BCE."""
    runner = NumpySNN(model)
    probs, spikes, frames = [], 0.0, 0
    n_hidden = sum(h for h in model.hidden)
    bce = 0.0
    for f, y in zip(data.feats, data.labels):
        p, _, sp = runner.run(f, record=True)
        spikes += sum(float(s.sum()) for s in sp)
        frames += len(f)
        q = np.clip(p, 1e-6, 1 - 1e-6)
        bce += float(-(y * np.log(q) + (1 - y) * np.log(1 - q)).sum())
        probs.append(smooth(p, median))
    if threshold is None:
        threshold, _ = pick_threshold(probs, data.labels, hangover)
    dec = np.concatenate([apply_hangover(q > threshold, hangover) for q in probs])
    h, far, frr = hter(dec, np.concatenate(data.labels))
    return {"hter": h, "far": far, "frr": frr, "threshold": float(threshold), "bce": bce / max(frames, 1),
            "spikes_per_neuron_per_frame": spikes / max(frames * n_hidden, 1)}


# ============================================================================= result
@dataclass
class TrainResult:
    """What :func:`train_vad` made and measured (validation split of the training corpus)."""

    path: Path
    recipe: dict
    threshold: float
    val: dict  # final model's validation metrics
    dense_val: dict  # the unpruned model's, same split
    sparsity: float
    energy: dict
    history: list[dict]
    seconds: float
    resumed: bool
    stopped: str = "completed"
    dense_path: Path | None = None

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["path"] = str(self.path)
        d["dense_path"] = None if self.dense_path is None else str(self.dense_path)
        return d


# ============================================================================= training
def _atomic_torch_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".part")
    torch.save(obj, tmp)
    tmp.replace(path)


def train_vad(corpus, out: str | Path, recipe: Recipe | None = None, *, resume: bool = True,
              progress_bar: bool = True, data: SequenceSet | None = None) -> TrainResult:
    """Train, prune and save a spiking VAD on ``corpus`` (a folder, a loaded corpus, or a list of them,
    whose scenes are pooled) into ``out`` (.pt).

    Writes ``out`` (final model), ``out`` with ``.dense.pt`` (the model before pruning, when pruning),
    ``out`` with ``.json`` (recipe and results) and, during training, ``out`` + ``.ckpt``. With
    ``resume=True`` a checkpoint of the same recipe is continued; a different recipe raises
    ValueError. ``data`` skips feature extraction and the ``restarts`` / ``noise_only`` augmentations
    (a :class:`SequenceSet` of the corpus, made the way the caller wants).
    """
    recipe = Recipe() if recipe is None else recipe
    out = Path(out)
    if out.suffix != ".pt":
        raise ValueError(f"out: expected a .pt model path, got {str(out)!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    ckpt_path = out.with_name(out.name + ".ckpt")
    dense_path = out.with_name(out.stem + ".dense.pt") if recipe.prune > 0 else None
    t0 = time.perf_counter()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        if data is None:
            data = training_data(corpus, recipe, progress_bar=progress_bar)
        if data.feats[0].shape[1] != recipe.n_mels:
            raise ValueError(f"data: features have {data.feats[0].shape[1]} bands, recipe.n_mels is {recipe.n_mels}")
        train_set, val_set = split_sequences(data, recipe.val_fraction, recipe.seed)
        return _run(recipe, train_set, val_set, out, ckpt_path, dense_path, resume, progress_bar, t0)
    finally:
        torch.set_num_threads(old_threads)


def training_data(corpus, recipe: Recipe, *, progress_bar: bool = False) -> SequenceSet:
    """The sequences :func:`train_vad` trains and validates on: every scene of ``corpus`` (a folder, a
    loaded corpus or a list of them) with the recipe's gain and ``restarts`` augmentation, plus its
    ``noise_only`` speech-free sequences. Scene names get a ``<corpus index>:`` prefix when several
    corpora are pooled (their names repeat, and the validation split goes by name)."""
    corpora = list(corpus) if isinstance(corpus, (list, tuple)) else [corpus]
    if not corpora:
        raise ValueError("corpus: expected a corpus folder or a list of them, got an empty list")
    parts = [corpus_sequences(c, recipe.features(), gain_db=recipe.gain_db, seed=recipe.seed + i,
                              restarts=recipe.restarts, progress_bar=progress_bar)
             for i, c in enumerate(corpora)]
    if len(parts) > 1:
        for i, p in enumerate(parts):
            p.names = [f"{i}:{n}" for n in p.names]
    if recipe.noise_only > 0:
        seconds = recipe.noise_only * sum(p.n_frames for p in parts) / FRAME_RATE
        parts.append(noise_sequences(seconds, recipe.features(), seed=recipe.seed))
    return SequenceSet(*[sum((getattr(p, f) for p in parts), []) for f in ("feats", "labels", "names", "snr_db")])


def _run(recipe, train_set, val_set, out, ckpt_path, dense_path, resume, progress_bar, t0) -> TrainResult:
    torch.manual_seed(recipe.seed)
    kwargs = dict(n_mels=recipe.n_mels, hidden=recipe.hidden, recurrent=recipe.recurrent, tau=recipe.tau,
                  slope=recipe.slope, seed=recipe.seed, features=recipe.features())
    if recipe.kind == "bin":
        kwargs["n_bins"] = recipe.n_bins
    model = build_model(recipe.kind, **kwargs)
    model.fit_input(np.concatenate(train_set.feats))
    schedule = pruning.prune_schedule(recipe.prune, recipe.prune_rate) if recipe.prune > 0 else []
    rounds = [recipe.epochs] + [recipe.prune_epochs] * len(schedule)
    rng = np.random.default_rng([recipe.seed, 0x7A1])
    state = {"round": 0, "epoch": 0, "history": [], "rewind": None, "dense_val": None, "optim": None}
    resumed = False
    if resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if ck.get("recipe") != recipe.to_dict():
            raise ValueError(f"{ckpt_path}: checkpoint of another recipe ({ck.get('recipe')}); delete it or "
                             f"train with resume=False")
        model.load_state_dict(ck["model"])
        rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        state = {k: ck[k] for k in state}
        resumed = True
    total_epochs = sum(rounds)
    done_epochs = sum(rounds[:state["round"]]) + state["epoch"]
    bar = progress(total=total_epochs, initial=done_epochs, enabled=progress_bar,
                   desc=f"train {recipe.kind}", unit="epoch")
    try:
        for r in range(state["round"], len(rounds)):
            if state["epoch"] == 0 and r > 0:  # start of a pruning round: prune, rewind, new optimiser
                pruning.prune_to(model, schedule[r - 1], scope=recipe.prune_scope)
                pruning.rewind(model, state["rewind"])
                state["optim"] = None
            opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
            if state["optim"] is not None:
                opt.load_state_dict(state["optim"])
            if r == 0 and recipe.rewind_epoch == 0 and state["rewind"] is None:
                state["rewind"] = pruning.snapshot(model)
            for e in range(state["epoch"], rounds[r]):
                loss, rate = _epoch(model, opt, train_set, recipe, rng)
                val = evaluate(model, val_set, median=recipe.median, hangover=recipe.hangover)
                sp = model.sparsity()
                state["history"].append({"round": r, "epoch": e + 1, "loss": loss, "train_spike_rate": rate,
                                         "sparsity": sp, **{f"val_{k}": v for k, v in val.items()}})
                if r == 0 and e + 1 == recipe.rewind_epoch:
                    state["rewind"] = pruning.snapshot(model)
                state["epoch"] = e + 1
                state["optim"] = opt.state_dict()
                if r == 0 and e + 1 == rounds[0]:
                    state["dense_val"] = val
                    if dense_path is not None:
                        _save(model, dense_path, recipe, val, train_set, state["history"], time.perf_counter() - t0)
                _atomic_torch_save({"recipe": recipe.to_dict(), "model": model.state_dict(),
                                    "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), **state},
                                   ckpt_path)
                bar.update(1)
                bar.set_postfix(round=r, loss=f"{loss:.3f}", val_hter=f"{100 * val['hter']:.1f}%",
                                rate=f"{rate:.3f}", sparsity=f"{sp:.2f}")
            state["round"], state["epoch"] = r + 1, 0
    finally:
        bar.close()
    val = evaluate(model, val_set, median=recipe.median, hangover=recipe.hangover)
    energy = _save(model, out, recipe, val, train_set, state["history"], time.perf_counter() - t0,
                   dense_val=state["dense_val"])
    seconds = time.perf_counter() - t0
    result = TrainResult(path=out, recipe=recipe.to_dict(), threshold=val["threshold"], val=val,
                         dense_val=state["dense_val"] or val, sparsity=model.sparsity(), energy=energy,
                         history=state["history"], seconds=seconds, resumed=resumed, dense_path=dense_path)
    out.with_suffix(".json").write_text(json.dumps(result.to_dict(), indent=1))
    ckpt_path.unlink(missing_ok=True)
    return result


def _save(model, path, recipe, val, train_set, history, seconds, dense_val=None) -> dict:
    """Save with the measured activity (on up to 20 training sequences) and energy estimate."""
    rates = layer_rates(model, train_set.feats[:20])
    energy = energy_report(model, rates).to_dict()
    info = {"recipe": recipe.to_dict(), "val": val, "dense_val": dense_val, "rates": rates, "energy": energy,
            "train_seconds": seconds, "history": history}
    save_model(model, path, threshold=val["threshold"],
               smoothing={"median": recipe.median, "hangover": recipe.hangover}, info=info)
    return energy


def _epoch(model, opt, data: SequenceSet, recipe: Recipe, rng) -> tuple[float, float]:
    """One pass of BPTT over random crops; returns (mean loss, mean hidden spike rate)."""
    model.train()
    losses, rates = [], []
    for x, y in _batches(data, recipe, rng):
        out = model(x)
        p = out.prob[:, recipe.burn_in:].clamp(1e-6, 1 - 1e-6)
        target = y[:, recipe.burn_in:]
        bce = torch.nn.functional.binary_cross_entropy(p, target)
        rate = torch.stack([s[:, recipe.burn_in:].mean() for s in out.spikes]).mean()
        loss = bce + recipe.activity_weight * rate
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():  # pruned weights stay at zero (Adam momentum would revive them)
            pruning.apply_masks(model)
        losses.append(bce.item())
        rates.append(rate.item())
    model.eval()
    return float(np.mean(losses)), float(np.mean(rates))
