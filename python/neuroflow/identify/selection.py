"""Which clusters a layer keeps: the check of an automatic spread cut, and the rule for an inner layer.

**The automatic cut** (``beta="auto"``, rule "gap") is meant to drop leftover groups, which the function
does not need; :func:`check_gap` tests that by least squares on the layer's targets (see its docstring).
In an inner layer the cut is judged first by the inner layers' own test below (:func:`judge_inner_cut`): it
stands if the kept clusters substitute for the students' layer within one floor of the kept plus the loose
dropped ones. That needs students at the loss floor (below): elsewhere :func:`check_gap` decides, on their
next-layer pre-activations.

**Inner layers** (every hidden layer but the last of a deep net). Dropping a real neuron there is fatal --
the layers above are then retrained on a first layer that cannot express the target, stall far from zero
loss, and the whole identification fails -- while keeping a spurious one costs little: later students can
ignore it, and the reduced network's pruning removes what fine-tuning shows it does not need. So an inner
cluster is dropped only when the students themselves show that the function does not need it, judged
against their own residual floor, with no tolerance of its own:

* each student, with its hidden layer ``l`` replaced by the clusters' units -- its next layer re-expressed
  by least squares on them (the student's own pre-activations as targets), the layers above unchanged --
  computes an output; its relative loss against the target is that student's *substituted loss*;
* the *floor* is the students' median relative loss: the part of the target they leave unexplained
  themselves, below which they cannot tell a neuron from nothing;
* backward elimination: drop, one at a time, the cluster whose removal raises the students' median
  substituted loss least, while that loss stays within one floor of its value with every cluster -- or,
  for students at the loss floor, within that value itself, where the substitution is further from zero
  than the floor: a removal that changes the loss by less than the substitution's own error cannot be told
  from it (deep suite d20: the clusters of a second layer substituted to 7.6e-14 against a floor of 5e-18; a
  spare unit's removal took that to 7.9e-14 and was refused, a real neuron's to 5e-2). A cluster whose
  removal changes the function by more than the students' own error is one they need.

The cut's judgement on the output and the wider tolerance hold only for students *at the loss floor* (median
relative loss at most ``floor_tol``, the estimator's ``search_tol``, 1e-10): there the students' units are
the target's and leftovers cancel. Students above it fit part of the target with leftover units, so the
output calls those needed too: the digits teachers' first-stage students (4e-4 and 1.5e-3) refused their
first layers' gap cuts (substituted loss 1.5e-3 with the loose clusters, 8.0e-3 without; 3.1e-3 and 1.4e-2),
and the layers kept one and two units 57-73 deg from any teacher neuron; seed 1 then ended [21, 38] with a
teacher neuron 25 deg off, where the least-squares check accepts the cut.

The test means something only when the clusters express the students' layer to within their own error --
the substituted loss with every cluster at most one floor above the floor itself -- or as well as a student
must fit the target to count as trained (``loss_tol``: near-perfect students have floors of 1e-13, and
centres averaged over them substitute to 1e-10, with every removal of a real neuron still far above both).
When it is further up (the clusters express the layer poorly, as with roughly trained students), a removal
moves an already poor fit little -- on the deep suite the second hidden layers of d02, d11, d17 and d23 lost
real neurons that way, their removal changing a substituted loss of 0.06-0.6 by less than one floor of 1e-3
-- so nothing is dropped, and leftovers are left to the reduced network's pruning, which removes what
fine-tuning shows is not needed (``record["judged"]`` is False). (A floor that grew with that substitution
error let rough students drop real neurons too: two teachers of the deep suite lost 3 and 2 in a first trial.
Judged, the tolerance is at most the larger of two floors and ``loss_tol``.)

(The earlier rule -- keep the least-squares residual of the next-layer pre-activations within 10x of its
value with every cluster -- dropped a real neuron of the seed-1 digits teacher, whose removal raised that
residual 2.2x: pre-activations carry the students' leftover neurons, which cancel only at the output, so
they hide the neuron's share. The output, which every student fits to its floor, does not.)

The last hidden layer's clusters are chosen against the target itself (least squares on the output) and
verified by fine-tuning the reduced network to the loss floor (:mod:`neuroflow.identify.reconstruct`).
"""
from __future__ import annotations

import math

import numpy as np

from neuroflow._utils import check_choice
from neuroflow.identify.clustering import AUTO_FALLBACK, CLUSTERERS, ClusterResult, cluster_neurons
from neuroflow.identify.lstsq import features, layer_forward, ls_rel_residual, output_variance

__all__ = ["AUTO_LS_FACTOR", "check_gap", "judge_inner_cut", "next_preactivations", "forward_from", "substitution",
           "eliminate_inner"]

#: beta="auto": a cut at a gap is kept only if the kept clusters express the layer's targets by least squares
#: about as well as kept plus dropped, or as the students (relative residual within this factor of the lower
#: of the two), or to ``loss_tol`` (what a student must reach to count as trained). Chosen on a development
#: suite (paper suite, seed 1), not on the reported problems.
AUTO_LS_FACTOR = 10.0


def _loose(result: ClusterResult) -> list[int]:
    """The clusters an automatic cut dropped that pi/6 would keep (indices into ``result.dropped_by_beta``)."""
    return [i for i, d in enumerate(result.dropped_by_beta) if d["median_angle_deg"] <= np.degrees(AUTO_FALLBACK)]


def check_gap(result: ClusterResult, u, ids, H, X_skip, targets, level=math.inf, *, activation, n_students,
              gamma, clusterer, sign, loss_tol, cut: str = "most") -> ClusterResult:
    """Check an automatic cut by least squares on the layer's targets (the probes' outputs for the last
    hidden layer, else the students' next-layer pre-activations): the kept clusters' relative residual
    must stay within :data:`AUTO_LS_FACTOR` x the reference, or below ``loss_tol``. The reference is the
    residual with the dropped clusters (up to pi/6) added back, or ``level`` (the students' own relative
    loss on the targets) if lower: loose clusters that merge two target neurons express the targets poorly
    too, yet the students show that the function is there. Otherwise the loose side carries part of the
    function, the cut is rejected and pi/6 applies (rule "gap rejected")."""
    check_choice(clusterer, "clusterer", list(CLUSTERERS))  # under this name, not cluster_neurons' "method"
    if result.beta_rule != "gap":
        return result
    loose = _loose(result)
    if not loose:
        return result
    kept = ls_rel_residual(layer_forward(H, result.centres, activation), X_skip, targets)
    full = ls_rel_residual(layer_forward(H, np.vstack([result.centres, result.dropped_centres[loose]]), activation),
                           X_skip, targets)
    ok = kept <= max(AUTO_LS_FACTOR * min(full, level), loss_tol)
    check = {"rel_residual_kept": kept, "rel_residual_with_dropped": full,
             "students_rel_loss": None if math.isinf(level) else level, "accepted": bool(ok)}
    if not ok:
        result = cluster_neurons(u, ids, n_students, activation, gamma=gamma, beta=AUTO_FALLBACK,
                                 method=clusterer, sign=sign, cut=cut)
        result.beta_rule = "gap rejected"
    result.gap_check = check
    return result


def next_preactivations(mats, H, layer: int, activation) -> np.ndarray:
    """A network's pre-activations of hidden layer ``layer + 1`` (``mats``: its layers; ``H``: the input
    of layer ``layer``)."""
    h = layer_forward(H, mats[layer], activation)
    return h @ mats[layer + 1][:, :-1].T + mats[layer + 1][:, -1]


def forward_from(pre, mats_above, activation) -> np.ndarray:
    """A network's output from the pre-activations ``pre`` of one hidden layer: that layer's units, then
    the layers ``mats_above`` (the last one linear)."""
    from neuroflow.mlp.activations import get_activation

    f = get_activation(activation).f
    h = f(pre)
    for m in mats_above[:-1]:
        h = f(h @ m[:, :-1].T + m[:, -1])
    return h @ mats_above[-1][:, :-1].T + mats_above[-1][:, -1]


def substitution(centres, student_mats, H, layer: int, Y, activation):
    """The students' substituted loss (module docstring) as a function of which rows of ``centres`` stand in
    for their hidden layer ``layer``: ``f(cols) -> median relative loss`` (the constant column always stays)."""
    y_var = max(output_variance(Y), 1e-300)
    k = centres.shape[0]
    F = features(layer_forward(H, centres, activation))
    Q, R = np.linalg.qr(F)
    per_student = []
    for mats in student_mats:
        T = next_preactivations(mats, H, layer, activation)
        per_student.append((Q.T @ T, mats[layer + 2:]))

    def substituted(cols) -> float:
        idx = list(cols) + [k]
        losses = []
        for QtT, above in per_student:
            coef, *_ = np.linalg.lstsq(R[:, idx], QtT, rcond=None)
            out = forward_from(F[:, idx] @ coef, above, activation)
            losses.append(float(np.mean(np.sum((out - Y) ** 2, axis=1))) / y_var)
        return float(np.median(losses))

    return substituted


def _students_floor(Y, student_losses) -> float:
    """The students' floor: their median loss relative to the variance of the targets ``Y``."""
    return float(np.median(np.asarray(student_losses, dtype=float))) / max(output_variance(Y), 1e-300)


def _judged(base: float, floor: float, loss_tol: float) -> bool:
    """Whether a substitution with every cluster can judge removals: within one floor of the floor, or at
    most ``loss_tol``."""
    return base - floor <= floor or base <= loss_tol


def _at_floor(floor: float, floor_tol: float) -> bool:
    """Whether the students are at the loss floor (median relative loss at most ``floor_tol``), where their
    units are the target's and leftovers cancel: the regime the output-judged cut and the wider tolerance
    are for."""
    return floor <= floor_tol


def _not_needed(loss: float, base: float, floor: float, floor_tol: float) -> bool:
    """Whether a removal that takes the substituted loss from ``base`` to ``loss`` stays within the students'
    error: one floor, or, for students at the loss floor, the substitution's own error where that is larger."""
    return loss - base <= (max(floor, base) if _at_floor(floor, floor_tol) else floor)


def judge_inner_cut(result: ClusterResult, student_mats, H, layer: int, Y, student_losses, activation,
                    loss_tol: float = 1e-6, floor_tol: float = 1e-10) -> dict | None:
    """An automatic cut of an inner layer judged by the students' substituted loss (module docstring), the
    inner layers' own test: the cut stands if the kept clusters substitute for the students' layer as well as
    the kept plus the loose dropped ones (spreads up to pi/6), within the tolerance of :func:`eliminate_inner`.
    Returns the record (``accepted``), or None when there is nothing to judge, the students are not at the
    loss floor (median relative loss above ``floor_tol``, the estimator's ``search_tol``), or the substitution
    with every cluster is not within one floor of the floor (nor at most ``loss_tol``): then :func:`check_gap`
    decides. Students above the floor fit part of the target with leftover units, so dropping those raises
    their substituted loss although the target does not need them (module docstring)."""
    loose = _loose(result)
    floor = _students_floor(Y, student_losses)
    if not loose or result.size == 0 or not _at_floor(floor, floor_tol):
        return None
    centres = np.vstack([result.centres, result.dropped_centres[loose]])
    substituted = substitution(centres, student_mats, H, layer, Y, activation)
    full = substituted(range(centres.shape[0]))
    if not _judged(full, floor, loss_tol):
        return None
    kept = substituted(range(result.size))
    return {"rule": "substituted students' loss within one floor", "rel_loss_kept": kept,
            "rel_loss_with_dropped": full, "floor": floor,
            "accepted": _not_needed(kept, full, floor, floor_tol)}


def eliminate_inner(centres, student_mats, H, layer: int, Y, student_losses, activation,
                    loss_tol: float = 1e-6, floor_tol: float = 1e-10) -> tuple[list[int], dict]:
    """The rule for an inner layer (module docstring): which of ``centres`` (k, d + 1) to keep.

    Parameters
    ----------
    centres : array (k, d + 1)
        The layer's clusters.
    student_mats : list of list of arrays
        Each student's layers (:meth:`neuroflow.MLP.unpack`).
    H : array (N, d)
        The layer's input on the probes.
    layer : int
        The layer's index (it has a hidden layer above it).
    Y : array (N, d_out)
        The targets the students were trained on.
    student_losses : array (n_students,)
        The students' losses (mean summed squared error, as the MLP's loss).
    activation : str
    loss_tol : float
        The relative loss a student must reach to count as trained (the estimator's ``loss_tol``): a
        substitution at or below it is judged whatever the floor.
    floor_tol : float
        The loss floor (the estimator's ``search_tol``): only students at it (median relative loss at most
        this) get the substitution's own error as tolerance; others get one floor.

    Returns
    -------
    keep : list of int
        Indices into ``centres``.
    record : dict
        ``floor`` (the students' median relative loss), ``rel_loss_all`` (the median substituted loss with
        every cluster), ``judged`` (whether that is within one floor of the floor, or at most ``loss_tol``, so
        that removals were tried), ``dropped`` (per dropped cluster, its index and the loss after dropping
        it) and ``refused`` (the least-needed cluster that was kept, with the loss without it; None if every
        cluster but one was dropped or nothing was judged).
    """
    substituted = substitution(centres, student_mats, H, layer, Y, activation)
    floor = _students_floor(Y, student_losses)
    keep = list(range(centres.shape[0]))
    base = substituted(keep)
    judged = _judged(base, floor, loss_tol)
    record = {"rule": "substituted students' loss within one floor", "floor": floor, "rel_loss_all": base,
              "judged": bool(judged), "dropped": [], "refused": None}
    while judged and len(keep) > 1:
        loss, j = min((substituted([c for c in keep if c != j]), j) for j in keep)
        if not _not_needed(loss, base, floor, floor_tol):
            record["refused"] = {"cluster": int(j), "rel_loss_without": loss}
            break
        keep.remove(j)
        record["dropped"].append({"cluster": int(j), "rel_loss_without": loss})
    return keep, record
