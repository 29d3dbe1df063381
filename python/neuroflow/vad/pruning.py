"""Iterative magnitude pruning in the lottery-ticket style, with the masks kept inside the model.

The loop (Frankle & Carbin, "The lottery ticket hypothesis", ICLR 2019), as used for the SNU VAD:
train -> remove a fraction of the remaining connections with the smallest |w| -> rewind the surviving
weights to their values early in training -> retrain, until the target sparsity (e.g. 85%) is
reached. Each weight matrix of a :class:`~neuroflow.vad.snn.SpikingVAD` has a 0/1 mask buffer that
the forward pass multiplies in; pruning edits only the masks (and zeroes the pruned weights so the
saved file says the same thing twice). :func:`lottery_ticket` runs the loop around any training
function; :mod:`neuroflow.vad.training` passes its own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from neuroflow._utils import check_choice


def prune_schedule(target: float, rate: float) -> list[float]:
    """Cumulative sparsities after each round: ``1 - (1 - rate)^k``, the last one clipped to ``target``.

    >>> [round(p, 3) for p in prune_schedule(0.85, 0.5)]
    [0.5, 0.75, 0.85]
    """
    if not 0.0 < float(target) < 1.0:
        raise ValueError(f"target: expected a sparsity in (0, 1), got {target!r}")
    if not 0.0 < float(rate) < 1.0:
        raise ValueError(f"rate: expected a per-round pruning fraction in (0, 1), got {rate!r}")
    rounds = max(1, math.ceil(math.log(1.0 - target) / math.log(1.0 - rate) - 1e-9))
    sched = [1.0 - (1.0 - rate) ** k for k in range(1, rounds + 1)]
    sched[-1] = float(target)
    return [min(p, float(target)) for p in sched]


@torch.no_grad()
def apply_masks(model) -> None:
    """Zero every masked weight (the forward pass masks anyway; this keeps parameters honest)."""
    for _, weight, mask in model.connections():
        weight.mul_(mask)


@torch.no_grad()
def prune_to(model, sparsity: float, *, scope: str = "layer") -> dict:
    """Mask the smallest-|w| connections until ``sparsity`` of them are removed; never revive a pruned one.

    Kept counts round down, so at least ``sparsity`` is removed (each matrix keeps one connection).
    ``scope="layer"`` prunes each weight matrix to that sparsity (no layer is starved);
    ``scope="global"`` ranks all connections together. Returns per-matrix kept counts.
    """
    check_choice(scope, "scope", ("layer", "global"))
    if not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"sparsity: expected a fraction in [0, 1), got {sparsity!r}")
    conns = model.connections()
    if scope == "global":
        scores = torch.cat([(w.abs() * m + (m - 1) * 1e30).flatten() for _, w, m in conns])
        n_keep = max(1, math.floor((1.0 - sparsity) * scores.numel() + 1e-9))
        cut = torch.topk(scores, n_keep).values[-1]
        for _, w, m in conns:
            score = w.abs() * m + (m - 1) * 1e30
            m.copy_((score >= cut).float() * m)
    else:
        for _, w, m in conns:
            score = (w.abs() * m + (m - 1) * 1e30).flatten()
            n_keep = max(1, math.floor((1.0 - sparsity) * score.numel() + 1e-9))
            keep = torch.zeros_like(score)
            keep[torch.topk(score, n_keep).indices] = 1.0
            m.copy_(keep.view_as(m) * m)
    apply_masks(model)
    return {name: int(m.sum().item()) for name, _, m in conns}


def snapshot(model) -> dict[str, torch.Tensor]:
    """A copy of the trainable parameters, to rewind to later."""
    return {k: v.detach().clone() for k, v in model.named_parameters()}


@torch.no_grad()
def rewind(model, saved: dict[str, torch.Tensor]) -> None:
    """Reset parameters to ``saved`` (from :func:`snapshot`), keeping the current masks."""
    params = dict(model.named_parameters())
    for k, v in saved.items():
        params[k].copy_(v)
    apply_masks(model)


def mask_report(model) -> dict:
    """Per-matrix and total kept / all connections and the resulting sparsity."""
    rows = {name: {"kept": int(m.sum().item()), "total": m.numel()} for name, _, m in model.connections()}
    kept = sum(r["kept"] for r in rows.values())
    total = sum(r["total"] for r in rows.values())
    return {"layers": rows, "kept": kept, "total": total, "sparsity": 1.0 - kept / total}


@dataclass
class PruningRound:
    round: int
    sparsity: float
    metrics: dict

    def to_dict(self) -> dict:
        return {"round": self.round, "sparsity": self.sparsity, "metrics": self.metrics}


@dataclass
class LotteryResult:
    rounds: list[PruningRound] = field(default_factory=list)
    final_sparsity: float = 0.0

    def to_dict(self) -> dict:
        return {"rounds": [r.to_dict() for r in self.rounds], "final_sparsity": self.final_sparsity}


def lottery_ticket(model, train: Callable[[int], dict], rewind_to: dict[str, torch.Tensor], *,
                   target: float = 0.85, rate: float = 0.5, scope: str = "layer",
                   start_round: int = 1) -> LotteryResult:
    """Prune -> rewind -> retrain until ``target`` sparsity; ``model`` must already be trained once.

    ``train(round)`` retrains the model in place and returns its metrics (a dict); ``rewind_to`` is a
    :func:`snapshot` taken early in the first training. ``start_round`` lets an interrupted run resume
    (rounds before it are taken as done and the model's masks as theirs).
    """
    result = LotteryResult()
    for k, sparsity in enumerate(prune_schedule(target, rate), start=1):
        if k < start_round:
            continue
        prune_to(model, sparsity, scope=scope)
        rewind(model, rewind_to)
        metrics = train(k)
        result.rounds.append(PruningRound(k, mask_report(model)["sparsity"], dict(metrics)))
    result.final_sparsity = mask_report(model)["sparsity"]
    return result
