"""Training spiking VADs: BPTT on feature sequences, an activity regulariser, lottery-ticket pruning.

:func:`train_vad` runs a :class:`~neuroflow.vad.recipe.Recipe`: the training data
(:func:`training_data`: features of the corpora, split by scene into train / validation, see
:mod:`neuroflow.vad.sequences` and :mod:`neuroflow.vad.augment`), dense training, then prune ->
rewind -> retrain rounds until the target sparsity, a decision threshold chosen on the validation
split (:mod:`neuroflow.vad.scoring`), the activity and power estimate measured, and the model saved.
The loss per frame is binary cross-entropy on the speech probability (against the label, or against its blend
with a teacher model's probability: :func:`frame_targets`) plus ``activity_weight`` times the mean spike count of
the hidden neurons (which keeps spiking sparse).

Long runs are safe to stop: a checkpoint (``<out>.ckpt``) is written after every epoch and a rerun
with the same recipe continues from it. Progress shows as a tqdm bar over epochs (``progress=False``
to hide).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neuroflow._utils import check_memory, exception_reason, lock_beside, read_json, short_repr, write_text_atomic
from neuroflow._utils import progress as progress_bar
from neuroflow.vad import pruning
from neuroflow.vad.detect import model_path
from neuroflow.vad.energy import energy_report, layer_rates
from neuroflow.vad.features import FRAME_RATE
from neuroflow.vad.frontend import feature_width
from neuroflow.vad.recipe import Recipe
from neuroflow.vad.scoring import validation_metrics
from neuroflow.vad.sequences import (SequenceSet, batches, corpus_sequences, n_crop_batches, speech_free_sequences,
                                     split_sequences)
from neuroflow.vad.snn import (atomic_torch_save, build_model, load_model, network_sha256, save_model,
                               torch_load_tensors)

#: how a message about a checkpoint that cannot be resumed ends (the CLI names its own flags instead)
START_OVER = "delete it, or start over with resume=False"


class CheckpointRefused(ValueError):
    """A training checkpoint that cannot be resumed: ``path`` and what is wrong (``reason``); the message names both
    and ends with :data:`START_OVER` (``neuroflow vad train`` says what to do in its own words)."""

    def __init__(self, path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}; {START_OVER}")


# ============================================================================= result
@dataclass
class TrainingReport:
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
def train_vad(corpus, out: str | Path, recipe: Recipe | None = None, *, resume: bool = True,
              progress: bool = True, data: SequenceSet | None = None) -> TrainingReport:
    """Train, prune and save a spiking VAD on ``corpus`` (a folder, a loaded corpus, or a list of them,
    whose scenes are pooled) into ``out`` (.pt).

    Writes ``out`` (final model), ``out`` with ``.dense.pt`` (the model before pruning, when pruning),
    ``out`` with ``.json`` (recipe and results) and, during training, ``out`` + ``.ckpt``. With
    ``resume=True`` a checkpoint of the same recipe, teacher and training data (:func:`data_sha256` of
    ``corpus``) is continued; any other raises :class:`CheckpointRefused` (a ValueError). ``data`` skips feature extraction and the ``restarts`` / ``noise_only`` augmentations
    (a :class:`SequenceSet` of the corpus, made the way the caller wants).
    """
    if recipe is not None and not isinstance(recipe, Recipe):
        raise TypeError(f"recipe: expected a Recipe (Recipe.from_dict makes one of a dict of settings), got "
                        f"{type(recipe).__name__}")
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out: expected a .pt model path, got {type(out).__name__}")
    if not isinstance(resume, (bool, np.bool_)):  # resume="no" is true: it continued the checkpoint there
        raise TypeError(f"resume: expected True or False, got {resume!r:.40}")
    if corpus is None and data is None:
        raise TypeError("corpus: expected a corpus folder, a loaded corpus or a list of them (or data), got None")
    for c in [] if corpus is None else corpus if isinstance(corpus, (list, tuple)) else [corpus]:
        if not isinstance(c, (str, os.PathLike)) and not (hasattr(c, "__iter__") and hasattr(c, "__len__")):
            raise TypeError(f"corpus: expected a corpus folder, a loaded corpus or a list of them, got "
                            f"{type(c).__name__}")
    recipe = Recipe() if recipe is None else recipe
    out = Path(out)
    if out.suffix.lower() != ".pt":  # as the CLI's --out and vad calibrate take it (M.PT was refused only here)
        raise ValueError(f"out: expected a .pt model path, got {str(out)!r}")
    ckpt_path = out.with_name(out.name + ".ckpt")
    dense_path = out.with_name(out.stem + ".dense.pt") if recipe.prune > 0 else None
    _check_outputs(out, ckpt_path, dense_path)  # a folder at any of them would fail the run after its work
    _check_not_teacher(recipe, out, dense_path)
    _check_not_manifest(corpus, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    check_memory(batch_bytes(recipe), "batch_size, seq_frames")  # at once, not after minutes of features
    # two runs into one out would write one checkpoint, the later model replacing the earlier that reported success
    with out_lock(out):
        return _train_locked(corpus, out, recipe, resume, progress, data, ckpt_path, dense_path)


def out_lock(out: Path, name: str = "out"):
    """The lock a run writing the model ``out`` holds (training, calibration): a second run into the same file is
    refused at once (ValueError naming ``name``, ``out`` and the holder's process id)."""
    return lock_beside(out, f"{name}: {out} is being written by another run (pid {{pid}}); wait for it to finish or "
                            f"write to another path")


def _train_locked(corpus, out, recipe, resume, progress, data, ckpt_path, dense_path) -> TrainingReport:
    t0 = time.perf_counter()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        teacher = load_teacher(recipe)  # before the features: a bad teacher fails in a second, not minutes later
        if corpus is not None:  # each manifest read once, for the data's identity and for its features
            from neuroflow.vad.corpus import load_corpus

            corpus = [load_corpus(c) if isinstance(c, (str, os.PathLike)) else c
                      for c in (corpus if isinstance(corpus, (list, tuple)) else [corpus])]
        data_id = (data_sha256(corpus), _corpus_names(corpus))
        if data is None:
            data = training_data(corpus, recipe, progress=progress)
        _check_classes(data, data_id[1])
        width = feature_width(recipe.features())
        if data.feats[0].shape[1] != width:
            raise ValueError(f"data: features have {data.feats[0].shape[1]} values per frame, the recipe's "
                             f"configuration {width}")
        train_set, val_set = split_sequences(data, recipe.val_fraction, recipe.seed)
        _check_validation_classes(val_set, len(data), recipe, data_id[1])
        return _run(recipe, train_set, val_set, out, ckpt_path, dense_path, resume, progress, t0, teacher, data_id)
    finally:
        torch.set_num_threads(old_threads)


def _check_outputs(out: Path, ckpt_path: Path, dense_path: Path | None) -> None:
    """ValueError naming ``out`` unless every file a run writes (the model, its report, and the checkpoint and
    unpruned model beside it) can be written."""
    from neuroflow.cliutil import check_output_file

    for path, what in ((out, "model"), (out.with_suffix(".json"), "report"), (ckpt_path, "checkpoint"),
                       (dense_path, "unpruned model")):
        if path is None:
            continue
        try:
            check_output_file(path, "out")
        except ValueError as exc:
            raise ValueError(f"{exc} (where training writes its {what}{'' if path == out else ' for ' + out.name})"
                             ) from None


def _check_not_teacher(recipe: Recipe, out: Path, dense_path: Path | None) -> None:
    """ValueError naming ``out`` when a model this run writes is the file of the recipe's teacher: the run replaced
    the network it learnt from, and the same command run again learnt from that new model (another result each
    time, none matching the teacher it records)."""
    if recipe.teacher_weight <= 0:
        return
    try:
        teacher = teacher_file(recipe).resolve()
    except (ValueError, OSError):  # a teacher that cannot be read is named when training loads it
        return
    for path, what in ((out, "model"), (dense_path, "unpruned model")):
        if path is not None and path.resolve() == teacher:
            raise ValueError(f"out: {out} would write its {what} over {recipe.teacher}, the recipe's teacher; "
                             f"training would replace the network it learns from (a rerun would learn from "
                             f"another); write to another path")


def _check_not_manifest(corpus, out: Path) -> None:
    """ValueError naming ``out`` when the report a run writes beside the model (``out`` with ``.json``) is the manifest
    of a corpus it trains on: ``--out corpus/corpus.pt`` replaced ``corpus/corpus.json`` with the report, and the
    corpus could no longer be read ("not a valid corpus manifest") nor resumed."""
    from neuroflow.vad.corpus_store import MANIFEST

    report = out.with_suffix(".json")
    if report.name != MANIFEST:
        return
    for c in [] if corpus is None else corpus if isinstance(corpus, (list, tuple)) else [corpus]:
        root = Path(c) if isinstance(c, (str, os.PathLike)) else getattr(c, "root", None)
        if isinstance(root, (str, os.PathLike)) and (Path(root) / MANIFEST).resolve() == report.resolve():
            raise ValueError(f"out: {out} would write its report over {Path(root) / MANIFEST}, the manifest of the "
                             f"corpus it trains on; write the model to another path")
    try:  # another corpus's manifest (a report of an earlier run here is replaced, as always)
        held = read_json(report, "report") if report.is_file() else None
    except ValueError:
        held = None
    if isinstance(held, dict) and "scenes" in held:
        raise ValueError(f"out: {out} would write its report over {report}, a corpus manifest; write the model to "
                         f"another path")


def _check_classes(data: SequenceSet, corpora: str) -> None:
    """ValueError naming the ``corpora`` when the training data holds no speech frames or no non-speech frames: a
    detector learns nothing from one class, and its validation HTER would be the other class's rate alone."""
    n_speech = sum(int(np.count_nonzero(y)) for y in data.labels)
    if n_speech == 0:
        raise ValueError(f"corpus: {corpora} holds no speech frames (every label is 0); training needs speech "
                         f"and non-speech frames")
    if n_speech == data.n_frames:
        raise ValueError(f"corpus: {corpora} holds no non-speech frames (every label is 1, and the recipe adds no "
                         f"speech-free sequences); training needs speech and non-speech frames")


def _check_validation_classes(val_set: SequenceSet, n_sequences: int, recipe: Recipe, corpora: str) -> None:
    """Warn, naming the ``corpora``, when the validation split holds one class only (a small corpus whose split drew
    a speech-free sequence): the decision threshold is chosen there and its HTER reported, and with one class those
    are one rate alone (a "validation HTER" of 0 % for a split without speech)."""
    n_speech = sum(int(np.count_nonzero(y)) for y in val_set.labels)
    missing = "speech" if n_speech == 0 else "non-speech" if n_speech == val_set.n_frames else None
    if missing:
        warnings.warn(f"{corpora}: the validation split ({len(val_set)} of {n_sequences} sequences, val_fraction "
                      f"{recipe.val_fraction:g}) holds no {missing} frames, so the decision threshold chosen there "
                      f"and the validation HTER reported mean little; use more or longer scenes, or a larger "
                      f"val_fraction", stacklevel=3)


def batch_bytes(recipe: Recipe) -> int:
    """About the memory one minibatch of ``recipe`` takes through BPTT (float32): its crops of input frames (bin
    coded for the bin model) and, per frame and crop, the 11 values each hidden unit keeps for the backward pass
    (measured: 1.06 GiB for 32 crops of 3000 frames through 256 SNU units, 1.13 GiB for the bin model)."""
    inputs = feature_width(recipe.features()) * (recipe.n_bins if recipe.kind == "bin" else 1)
    return 4 * recipe.batch_size * recipe.seq_frames * (inputs + 11 * sum(recipe.hidden) + 16)


def training_data(corpus, recipe: Recipe, *, progress: bool = False) -> SequenceSet:
    """The sequences :func:`train_vad` trains and validates on: every scene of ``corpus`` (a folder, a
    loaded corpus or a list of them) with the recipe's gain and ``restarts`` augmentation, plus its
    speech-free sequences (``noise_only``, ``room_tone``, ``music``, ``background_talk``, ``gated``). Scene
    names get a ``<corpus index>:`` prefix when several corpora are pooled (their names repeat, and the
    validation split goes by name)."""
    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.evaluation import warn_unfinished

    corpora = list(corpus) if isinstance(corpus, (list, tuple)) else [corpus]
    if not corpora:
        raise ValueError("corpus: expected a corpus folder or a list of them, got an empty list")
    corpora = [load_corpus(c) if isinstance(c, (str, os.PathLike)) else c for c in corpora]
    for c in corpora:
        warn_unfinished(c, "training on those")
    parts = [corpus_sequences(c, recipe.features(), gain_db=recipe.gain_db, seed=recipe.seed + i,
                              restarts=recipe.restarts, progress=progress)
             for i, c in enumerate(corpora)]
    if len(parts) > 1:
        for i, p in enumerate(parts):
            p.names = [f"{i}:{n}" for n in p.names]
    corpus_seconds = sum(p.n_frames for p in parts) / FRAME_RATE
    for kind, share in (("noise", recipe.noise_only), ("room", recipe.room_tone), ("music", recipe.music),
                        ("talk", recipe.background_talk), ("gated", recipe.gated)):
        if share > 0:
            parts.append(speech_free_sequences(kind, share * corpus_seconds, recipe.features(), seed=recipe.seed))
    return SequenceSet.concatenate(parts)


def data_sha256(corpus) -> str:
    """SHA-256 of what training data ``corpus`` (a folder, a loaded corpus, a list of scenes, or a list of any of
    these, pooled in that order) is: each corpus's place in the list, and its scenes' names and the SHA-256s of
    their audio and labels that its manifest records (a scene without them: its SNR, noise and duration). A
    checkpoint records it, so a run never resumes on other data. None for no corpus (``data`` given alone)."""
    from neuroflow.vad.corpus import Corpus, load_corpus

    if corpus is None:
        return None
    corpora = list(corpus) if isinstance(corpus, (list, tuple)) else [corpus]
    h = hashlib.sha256()
    for i, c in enumerate(corpora):
        if isinstance(c, (str, os.PathLike)):
            c = load_corpus(c)
        if isinstance(c, Corpus):
            entries = [(e["name"], e.get("sha256") or [e.get("snr_db"), e.get("noise"), e.get("duration_s")])
                       for e in c.manifest["scenes"]]
        else:
            entries = [(getattr(s, "name", None), getattr(s, "info", {}).get("sha256")
                        or [getattr(s, k, None) for k in ("snr_db", "noise", "duration_s")]) for s in c]
        h.update(json.dumps([i, entries], sort_keys=True, default=str).encode())
    return h.hexdigest()


def _corpus_names(corpus) -> str:
    """The corpora of ``corpus`` for a message: their folders (or, for scenes in memory, how many)."""
    if corpus is None:
        return "the data given"
    corpora = list(corpus) if isinstance(corpus, (list, tuple)) else [corpus]
    from neuroflow.vad.corpus import Corpus

    return ", ".join(str(c) if isinstance(c, (str, os.PathLike)) else str(c.root) if isinstance(c, Corpus)
                     else f"{len(list(c))} scenes" for c in corpora)


def _recipe_difference(old, new: dict, limit: int = 4) -> str:
    """Which settings of the recipe ``new`` a checkpoint's recorded recipe ``old`` holds otherwise, as "seed 7 in
    the checkpoint, 8 now" (up to ``limit`` of them, then how many more)."""
    if not isinstance(old, dict):
        return f"it records no recipe but {short_repr(old, 40)}"
    missing = object()
    keys = list(new) + sorted((k for k in old if k not in new), key=str)
    diffs = []
    for k in keys:
        a, b = old.get(k, missing), new.get(k, missing)
        if a != b:
            then = "not set" if a is missing else short_repr(a, 40)
            now = "no such setting" if b is missing else short_repr(b, 40)
            diffs.append(f"{k} {then} in the checkpoint, {now} now")
    more = f"; and {len(diffs) - limit} more" if len(diffs) > limit else ""
    return "; ".join(diffs[:limit]) + more


def _run(recipe, train_set, val_set, out, ckpt_path, dense_path, resume, progress, t0, teacher,
         data_id=(None, "the data given")) -> TrainingReport:
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
        ck = _read_checkpoint(ckpt_path)
        if ck.get("recipe") != recipe.to_dict():
            raise CheckpointRefused(ckpt_path, f"checkpoint of another recipe "
                                               f"({_recipe_difference(ck.get('recipe'), recipe.to_dict())})")
        if ck.get("teacher_sha256") != _digest(teacher):
            raise CheckpointRefused(ckpt_path, f"checkpoint trained with another teacher network than "
                                               f"{recipe.teacher!r} is now")
        if ck.get("data_sha256") != data_id[0]:
            raise CheckpointRefused(ckpt_path, f"checkpoint of training on other data than {data_id[1]} (its "
                                               f"corpora's scene names or SHA-256s differ)" if ck.get("data_sha256")
                                    else "checkpoint records no training data (written by an older neuroflow), so "
                                         "it may be of other data")
        try:
            model.load_state_dict(ck["model"])
            rng.bit_generator.state = ck["rng"]
            torch.set_rng_state(ck["torch_rng"])
            state = {k: ck[k] for k in state}
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise CheckpointRefused(ckpt_path, f"checkpoint does not fit this recipe's model "
                                               f"({exception_reason(exc)})") from None
        problem = _checkpoint_problem(state, model, rounds, recipe)
        if problem:
            raise CheckpointRefused(ckpt_path, f"damaged training checkpoint ({problem})")
        resumed = True
        # the dense model is written once, when its round ends; gone since (removed by hand), the run reported it
        # written all the same ("dense model: m.dense.pt", dense_path in the report) though no file was there
        if dense_path is not None and state["dense_val"] is not None and not dense_path.is_file():
            warnings.warn(f"{dense_path}: the unpruned model this checkpoint's run wrote is gone and cannot be made "
                          f"again from the checkpoint (it holds the pruned network); the run goes on without it "
                          f"(--no-resume trains both again)", stacklevel=2)
            dense_path = None
    total_epochs = sum(rounds)
    done_epochs = sum(rounds[:state["round"]]) + state["epoch"]
    bar = progress_bar(total=total_epochs, initial=done_epochs, enabled=progress,
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
                loss, rate = _epoch(model, opt, train_set, recipe, rng, round_position=(e, rounds[r]),
                                    teacher=None if teacher is None else teacher.model)
                val = validation_metrics(model, val_set, median=recipe.median, hangover=recipe.hangover)
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
                        _save(model, dense_path, recipe, val, train_set, state["history"], time.perf_counter() - t0,
                              teacher=teacher)
                atomic_torch_save({"recipe": recipe.to_dict(), "teacher_sha256": _digest(teacher),
                                    "data_sha256": data_id[0], "model": model.state_dict(),
                                    "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), **state},
                                   ckpt_path)
                bar.update(1)
                bar.set_postfix(round=r, loss=f"{loss:.3f}", val_hter=f"{100 * val['hter']:.1f}%",
                                rate=f"{rate:.3f}", sparsity=f"{sp:.2f}")
            state["round"], state["epoch"] = r + 1, 0
    finally:
        bar.close()
    val = validation_metrics(model, val_set, median=recipe.median, hangover=recipe.hangover)
    energy = _save(model, out, recipe, val, train_set, state["history"], time.perf_counter() - t0,
                   dense_val=state["dense_val"], teacher=teacher)
    seconds = time.perf_counter() - t0
    result = TrainingReport(path=out, recipe=recipe.to_dict(), threshold=val["threshold"], val=val,
                         dense_val=state["dense_val"] or val, sparsity=model.sparsity(), energy=energy,
                         history=state["history"], seconds=seconds, resumed=resumed, dense_path=dense_path)
    report = out.with_suffix(".json")
    write_text_atomic(report, json.dumps(result.to_dict(), indent=1))  # whole or not at all, as the model files are
    ckpt_path.unlink(missing_ok=True)
    return result


def _read_checkpoint(path: Path) -> dict:
    """A training checkpoint's contents (tensors and plain types only: nothing in it can run code); ValueError
    naming the file when it is unreadable or lacks what :func:`_run` writes."""
    try:
        ck = torch_load_tensors(path)
        if not isinstance(ck, dict):
            raise ValueError(f"holds a {type(ck).__name__}, not the dict a training run writes")
    except Exception as exc:  # empty, truncated or foreign: EOFError, UnpicklingError, RuntimeError, ...
        raise CheckpointRefused(path, f"not a readable training checkpoint ({exception_reason(exc)})") from None
    return ck


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite_tensors(d) -> bool:
    """Whether ``d`` is a dict of tensors whose floating values are all finite."""
    return isinstance(d, dict) and all(isinstance(v, torch.Tensor) and (not v.is_floating_point()
                                                                        or bool(torch.isfinite(v).all()))
                                       for v in d.values())


def _numbers(d, keys) -> bool:
    """Whether ``d`` is a dict holding a finite number under each of ``keys``."""
    return isinstance(d, dict) and all(isinstance(d.get(k), (int, float)) and not isinstance(d.get(k), bool)
                                       and np.isfinite(d[k]) for k in keys)


#: what every epoch's record in a checkpoint's history holds (numbers), and every validation result
_HISTORY_KEYS = ("round", "epoch", "loss", "train_spike_rate", "sparsity", "val_hter")
_VAL_KEYS = ("hter", "far", "mr", "threshold")


def _checkpoint_problem(state: dict, model, rounds: list[int], recipe: Recipe) -> str | None:
    """What in a checkpoint's training ``state`` (its weights already in ``model``) no run of ``recipe`` writes
    (None: nothing): it holds the round and epoch a run stopped after, one history record per finished epoch,
    the dense model's validation once the first round is done, the rewind weights once they are taken, finite
    weights and an optimiser state of the model's parameters."""
    r, e = state["round"], state["epoch"]
    if not (_is_count(r) and 0 <= r < len(rounds)):
        return f"round {r!r:.40}, expected a whole number in [0, {len(rounds) - 1}]"
    if not (_is_count(e) and 1 <= e <= rounds[r]):
        return f"epoch {e!r:.40} of round {r}, expected a whole number in [1, {rounds[r]}]"
    done = sum(rounds[:r]) + e
    history = state["history"]
    if not (isinstance(history, list) and len(history) == done and all(_numbers(h, _HISTORY_KEYS) for h in history)):
        return f"history is not {done} epoch records"
    if done >= rounds[0] and not _numbers(state["dense_val"], _VAL_KEYS):
        return "the dense model's validation result is missing"
    params = dict(model.named_parameters())
    if not _finite_tensors(model.state_dict()):
        return "NaN or infinite weights"
    rewind = state["rewind"]
    if rewind is not None or recipe.rewind_epoch == 0 or done >= recipe.rewind_epoch:
        if not (_finite_tensors(rewind) and rewind.keys() == params.keys()
                and all(rewind[k].shape == v.shape for k, v in params.items())):
            return "the rewind weights do not fit the model"
    try:
        torch.optim.Adam(model.parameters(), lr=recipe.lr).load_state_dict(state["optim"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as exc:
        return f"optimiser state: {exception_reason(exc)}"
    plist, moments = list(model.parameters()), state["optim"]["state"]
    if not (isinstance(moments, dict) and all(
            _is_count(k) and 0 <= k < len(plist) and _finite_tensors(m)
            and all(v.shape == plist[k].shape for n, v in m.items() if n != "step") for k, m in moments.items())):
        return "optimiser state: its moments are not finite tensors of the model's parameter shapes"
    return None


def _save(model, path, recipe, val, train_set, history, seconds, dense_val=None, teacher=None) -> dict:
    """Save with the measured activity (on up to 20 training sequences) and energy estimate."""
    rates = layer_rates(model, train_set.feats[:20])
    energy = energy_report(model, rates).to_dict()
    info = {"recipe": recipe.to_dict(), "teacher_sha256": _digest(teacher), "val": val, "dense_val": dense_val,
            "rates": rates, "energy": energy, "train_seconds": seconds, "history": history}
    save_model(model, path, threshold=val["threshold"],
               smoothing={"median": recipe.median, "hangover": recipe.hangover}, info=info)
    return energy


def teacher_file(recipe: Recipe) -> Path:
    """The file of ``recipe.teacher``: a shipped model's name ("snu", "bin") or a model path."""
    try:
        return model_path(recipe.teacher)
    except FileNotFoundError as exc:  # the same reason, named after the recipe's field
        raise ValueError(f"teacher: {str(exc).removeprefix('model: ')}") from None


@dataclass
class Teacher:
    """The model a recipe distils, and the SHA-256 of its network (:func:`~neuroflow.vad.snn.network_sha256`,
    recorded with the student): the same network with another decision rule teaches the same."""

    model: torch.nn.Module
    sha256: str


def load_teacher(recipe: Recipe) -> Teacher | None:
    """The model ``recipe.teacher`` names (None without one); its features must be the recipe's."""
    if recipe.teacher_weight <= 0:
        return None
    path = teacher_file(recipe)
    try:
        teacher = load_model(path).model
    except ValueError as exc:
        raise ValueError(f"teacher: {exc}") from None
    sha256 = network_sha256(teacher)
    if teacher.features != recipe.features():
        raise ValueError(f"teacher: {recipe.teacher} was trained on other features ({teacher.features}) than the "
                         f"recipe's ({recipe.features()})")
    teacher.eval()
    return Teacher(teacher, sha256)


def frame_targets(y: torch.Tensor, x: torch.Tensor, teacher, weight: float) -> torch.Tensor:
    """Each frame's training target: the label ``y`` (batch, time), blended with the ``teacher``'s speech
    probability on the features ``x`` by ``weight`` when there is a teacher."""
    if teacher is None:
        return y
    with torch.no_grad():
        p = teacher(x).prob
    return (1.0 - weight) * y + weight * p


def _digest(teacher: Teacher | None) -> str | None:
    return None if teacher is None else teacher.sha256


def offset_weights(y: torch.Tensor, frames: int, weight: float) -> torch.Tensor | None:
    """Loss weights of label crops ``y`` (batch, time): ``1 + weight`` on the non-speech frames that follow a
    speech frame of the same crop by at most ``frames`` frames, 1 elsewhere; None where ``weight`` is 0."""
    if weight <= 0:
        return None
    recent = torch.nn.functional.max_pool1d(torch.nn.functional.pad(y[:, None], (frames, 0)), frames + 1, stride=1)[:, 0]
    return 1.0 + weight * ((y == 0) & (recent > 0)).float()


def round_lr(recipe: Recipe, step: float, steps: float) -> float:
    """Adam's step size ``step`` steps into a round of ``steps`` (``Recipe.lr_schedule``)."""
    if recipe.lr_schedule == "cosine":  # a Python float: checkpoints hold no NumPy scalars (weights_only loading)
        return float(recipe.lr * 0.5 * (1.0 + np.cos(np.pi * step / steps)))
    return recipe.lr


def _epoch(model, opt, data: SequenceSet, recipe: Recipe, rng, round_position=(0, 1),
           teacher=None) -> tuple[float, float]:
    """One pass of BPTT over random crops, epoch ``round_position[0]`` of a round of ``round_position[1]``
    epochs (where ``Recipe.lr_schedule`` stands), towards :func:`frame_targets`; returns (mean loss, mean hidden
    spike rate)."""
    model.train()
    losses, rates = [], []
    n_batches = n_crop_batches(data, recipe.seq_frames, recipe.batch_size)
    for b, (xb, yb) in enumerate(batches(data, recipe.seq_frames, recipe.batch_size, rng)):
        for group in opt.param_groups:
            group["lr"] = round_lr(recipe, round_position[0] * n_batches + b, round_position[1] * n_batches)
        x, y = torch.as_tensor(xb), torch.as_tensor(yb)
        out = model(x)
        p = out.prob[:, recipe.burn_in:].clamp(1e-6, 1 - 1e-6)
        target = frame_targets(y, x, teacher, recipe.teacher_weight)[:, recipe.burn_in:]
        weight = offset_weights(y, recipe.offset_frames, recipe.offset_weight)
        bce = torch.nn.functional.binary_cross_entropy(p, target, weight=None if weight is None
                                                       else weight[:, recipe.burn_in:])
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
