"""Clustering the students' neurons: which canonical incoming vectors are shared by most students.

Hierarchical clustering (SciPy, average linkage) on symmetry-aware distances, cut at the height that
maximises the number of clusters holding neurons of at least ``gamma * n_students`` students, and among
those heights the lowest where those clusters hold the most students: a neuron that every student holds
can split into fragments that each have enough students at a cut far below its spread (rounding-level
distances), and those fragments must not stand in for the neuron while another neuron is still split into
too-small pieces (no cut goes below the angles' rounding level, ``CUT_FLOOR_DEG``); clusters
whose spread (median over its students of the closest member's angle to the centre) exceeds ``beta`` are
dropped. ``cut="persistent"`` takes instead the most clusters that hold while the cut height grows by
:data:`PERSIST_RATIO` (the estimator's ``recut``). HDBSCAN (``hdbscan`` package) on the same distances is the
alternative. Each surviving cluster becomes one neuron of the reduced network.

``beta="auto"`` reads the cut off the spreads themselves (:func:`auto_beta`): neurons that the students
share form tight clusters, leftover neurons that happen to lie near each other form loose groups, and
the two show up as a large gap in the sorted spreads on a log scale. The cut goes in the middle of that
gap (geometric mean of its ends) when the gap is clear; otherwise the paper's default pi/6 is used.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from neuroflow._utils import check_array, is_integer, short_repr
from neuroflow.identify.symmetry import angles_deg, canonicalize, is_scale_free, pairwise_distances, uses_sign

CLUSTERERS = ("hierarchical", "hdbscan")
#: how the hierarchical cut is chosen (:func:`cluster_neurons`)
CUTS = ("most", "persistent")
#: beta when "auto" finds no clear gap (the paper's default)
AUTO_FALLBACK = np.pi / 6
#: a gap is clear when the next spread up is at least this many times the one below it ...
AUTO_MIN_RATIO = 4.0
#: ... and the loose side starts at or above this many degrees: leftover groups are loose by nature, while
#: a gap among sub-degree spreads separates well-identified neurons from very well-identified ones
AUTO_LOOSE_MIN_DEG = 1.0
#: spreads below this (degrees) count as this: rounding level of the angle computation
AUTO_FLOOR_DEG = 1e-6
#: the hierarchical cut is never put below this (degrees): an angle computed from a cosine is quantised at
#: sqrt(2 k eps) rad (8.5e-7 deg for k = 1), so members closer than this are one neuron. Students polished to
#: rounding-level loss hold a neuron at 0 and 8.5e-7 deg from each other, and a cut between those levels split
#: it into fragments that each had enough students (deep suite d15: 8 clusters for 6 neurons, two of them
#: duplicates at 0 deg, with a Levenberg-Marquardt polish of the students)
CUT_FLOOR_DEG = 1e-5
#: ``cut="persistent"``: a number of clusters counts when it holds while the cut height grows by this factor.
#: Students short of the floor hold a layer's neurons within a degree or two and their leftover units at
#: 5-30 deg, where leftovers of different students pair up by chance; the count of clusters with enough
#: students then peaks at a height where such chance groups join it (digits teachers: 31-43 clusters at
#: 15-26 deg for 20 neurons), while the neurons' own count holds over a wider range (seed 2: 21 clusters
#: from 5.6 to 12.6 deg). Chosen on the last hidden layers of the digits teachers of seeds 0-4: 1.5 gives
#: 20-22 clusters for all five, 2 already lets a count of a few tight neurons win (18 and 8 for seeds 0, 4)
PERSIST_RATIO = 1.5


def auto_beta(spreads_deg, *, min_ratio: float = AUTO_MIN_RATIO, loose_min_deg: float = AUTO_LOOSE_MIN_DEG,
              fallback: float = AUTO_FALLBACK) -> tuple[float, str]:
    """The data-driven cut for cluster spreads (degrees in, radians out): ``(beta, rule)``.

    Sort the spreads; among consecutive pairs (lo, hi) with ``hi >= loose_min_deg`` and ``lo`` below the
    fallback, take the one with the largest ratio hi / lo. If that ratio is at least ``min_ratio``, beta is
    the geometric mean sqrt(lo * hi), capped at ``fallback`` (rule "gap"); otherwise beta is ``fallback``
    (rule "no gap"; also with fewer than two spreads).
    """
    s = np.sort(np.maximum(np.asarray(spreads_deg, dtype=float).ravel(), AUTO_FLOOR_DEG))
    s = s[np.isfinite(s)]
    fb_deg = float(np.degrees(fallback))
    if s.size < 2:
        return float(fallback), "no gap"
    lo, hi = s[:-1], s[1:]
    ok = (hi >= loose_min_deg) & (lo < fb_deg)
    if not np.any(ok):
        return float(fallback), "no gap"
    ratio = np.where(ok, hi / lo, 0.0)
    i = int(np.argmax(ratio))
    if ratio[i] < min_ratio:
        return float(fallback), "no gap"
    return float(min(np.radians(math.sqrt(lo[i] * hi[i])), fallback)), "gap"


def min_students(gamma: float, n_students: int) -> int:
    """The number of distinct students a cluster needs: ceil(gamma * n_students), at least 2."""
    need = gamma * n_students
    if need < 2:
        raise ValueError(
            f"gamma: gamma * n_students must be at least 2 for a cluster to mean anything "
            f"(a neuron shared by two students), got {gamma} * {n_students} = {need:g}; "
            f"raise gamma or n_students"
        )
    return int(math.ceil(need - 1e-9))


@dataclass
class ClusterResult:
    """What the clustering found for one layer.

    ``labels`` (per input vector: index into ``centres`` of its kept cluster, or -1), ``centres``
    (k, dim) the sign-aligned mean of each kept cluster, ``n_students`` (distinct students per kept
    cluster), ``median_angle_deg`` per kept cluster (over its students, each student's member closest
    to the centre), ``dropped_by_beta`` (large clusters removed by the
    angle rule, with their median angle), and for hierarchical clustering the ``linkage`` matrix, the
    chosen ``cut_height`` and the ``cut_scan`` (height, number of large clusters) pairs. ``beta_deg`` is
    the cut applied to the spreads, ``beta_rule`` how it was set ("given", or for ``beta="auto"`` "gap" /
    "no gap"), ``candidate_spreads_deg`` the spreads of every cluster with enough students (kept or not),
    ``dropped_centres`` the centres of the clusters the beta rule dropped (rows as in ``dropped_by_beta``),
    ``gap_check`` what the estimator's least-squares check of an automatic cut found (or None); ``vectors`` and
    ``student_ids`` what was clustered (so it can be cut again, e.g. by another rule).
    """

    labels: np.ndarray
    centres: np.ndarray
    n_students: np.ndarray
    median_angle_deg: np.ndarray
    dropped_by_beta: list = field(default_factory=list)
    method: str = "hierarchical"
    min_students: int = 2
    linkage: np.ndarray | None = None
    cut_height: float | None = None
    cut_scan: np.ndarray | None = None
    beta_deg: float | None = None
    beta_rule: str = "given"
    candidate_spreads_deg: np.ndarray | None = None
    dropped_centres: np.ndarray | None = None
    gap_check: dict | None = None
    vectors: np.ndarray | None = None
    student_ids: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.centres.shape[0])

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "size": self.size,
            "min_students": self.min_students,
            "n_students": self.n_students.tolist(),
            "median_angle_deg": self.median_angle_deg.tolist(),
            "dropped_by_beta": self.dropped_by_beta,
            "cut_height": self.cut_height,
            "beta_deg": self.beta_deg,
            "beta_rule": self.beta_rule,
            "gap_check": self.gap_check,
            "candidate_spreads_deg": None if self.candidate_spreads_deg is None else self.candidate_spreads_deg.tolist(),
        }


def student_neurons(student_mats, student_ids, H, layer: int, activation: str, *, sign=None,
                    prune_tol: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Canonical incoming vectors of every student's hidden layer ``layer`` (``student_mats``: each student's
    layers; ``H``: that layer's input on the probes), and which student each is from. Neurons whose outgoing
    strength is below ``prune_tol`` x the student's largest do not contribute to its function and are left
    out, as are relu units that never fire on the probes."""
    vecs, ids = [], []
    for mats, sid in zip(student_mats, student_ids):
        u = mats[layer]
        a = mats[layer + 1][:, : u.shape[0]].T
        strength = np.linalg.norm(a, axis=1) * (np.linalg.norm(u, axis=1) if is_scale_free(activation) else 1.0)
        keep = strength > prune_tol * max(strength.max(initial=0.0), 1e-300)
        if activation == "relu":  # a unit that never fires on the probes is dead, whatever its weights
            keep &= np.any(H @ u[:, :-1].T + u[:, -1] > 0, axis=0)
        c = canonicalize(u[keep], a[keep], activation, sign=sign)
        vecs.append(c.u)
        ids.append(np.full(c.u.shape[0], sid))
    return np.vstack(vecs), np.concatenate(ids)


def _aligned_mean(u, members, dist, student_ids, activation: str, sign) -> np.ndarray:
    """Robust centre of a cluster: the direction its students agree on.

    The consensus member is the one with the smallest summed distance to each student's closest member
    (a neuron that every student holds scores near zero, however many stray neurons linkage attached);
    the centre is the sign-aligned mean of each student's member closest to it, keeping the closer half.
    """
    members = np.asarray(members)
    sub = dist[np.ix_(members, members)]
    owners = student_ids[members]
    per_student = [owners == s for s in np.unique(owners)]
    score = sum(sub[:, mask].min(axis=1) for mask in per_student)
    m = int(np.argmin(score))
    chosen = np.array([members[mask][int(np.argmin(sub[m, mask]))] for mask in per_student])
    d = dist[members[m], chosen]
    vecs = u[chosen[d <= np.median(d)]]
    if uses_sign(activation, sign):
        s = np.sign(vecs @ u[members[m]])
        s[s == 0] = 1.0
        vecs = vecs * s[:, None]
    centre = vecs.mean(axis=0)
    if is_scale_free(activation):
        centre /= max(np.linalg.norm(centre), 1e-300)
    return centre


def _spread(angles, students) -> float:
    """Median, over the cluster's students, of the angle between the centre and that student's closest
    member: how consistently the students hold this one neuron. Further members of a student (leftover
    neurons that linkage attached to the cluster) do not widen it."""
    order = np.lexsort((angles, students))
    first = np.ones(len(order), dtype=bool)
    first[1:] = students[order][1:] != students[order][:-1]
    return float(np.median(angles[order][first]))


def _summarise(u, groups, student_ids, dist, activation, need, beta, sign):
    """From candidate groups (lists of indices) keep those with >= need students and spread <= beta
    (radians, or "auto": :func:`auto_beta` on the candidates' spreads). Returns (labels, centres, counts,
    spreads, dropped, beta_deg, rule, candidate spreads)."""
    cands = []
    for members in groups:
        members = np.asarray(members)
        n_st = len(np.unique(student_ids[members]))
        if n_st < need:
            continue
        centre = _aligned_mean(u, members, dist, student_ids, activation, sign)
        med = _spread(angles_deg(u[members], centre, activation, sign=sign).ravel(), student_ids[members])
        cands.append((members, n_st, centre, med))
    spreads = np.array([c[3] for c in cands], dtype=float)
    if isinstance(beta, str):
        beta, rule = auto_beta(spreads)
    else:
        rule = "given"
    beta_deg = float(np.degrees(beta))
    labels = -np.ones(u.shape[0], dtype=int)
    centres, counts, medians, dropped, dropped_centres = [], [], [], [], []
    for members, n_st, centre, med in cands:
        if med > beta_deg:
            dropped.append({"n_students": int(n_st), "median_angle_deg": med})
            dropped_centres.append(centre)
            continue
        labels[members] = len(centres)
        centres.append(centre)
        counts.append(n_st)
        medians.append(med)
    dim = u.shape[1]
    return (labels, np.array(centres).reshape(-1, dim), np.array(counts, dtype=int),
            np.array(medians, dtype=float), dropped, beta_deg, rule, spreads,
            np.array(dropped_centres).reshape(-1, dim))


def check_beta(beta) -> float | str:
    """``beta``: "auto" or an angle in radians in (0, pi]; returns it (a float, or "auto")."""
    if isinstance(beta, str):
        if beta != "auto":
            raise ValueError(f"beta: expected \"auto\" or an angle in radians in (0, pi], got {beta!r}")
        return beta
    try:
        value = float(beta)
    except (TypeError, ValueError):
        raise ValueError(f"beta: expected \"auto\" or an angle in radians in (0, pi], got {beta!r}") from None
    if not (0 < value <= np.pi):
        raise ValueError(f"beta: expected \"auto\" or an angle in radians in (0, pi], got {beta!r}")
    return value


def _check_neurons(u, student_ids, n_students):
    """``u`` as a finite (neurons, inputs) float array and ``student_ids`` as whole numbers, one per row, from at
    most ``n_students`` students; ValueError naming the argument otherwise."""
    u = check_array(u, "u", ndim=2)
    ids = check_array(student_ids, "student_ids", dtype=None, finite=False)
    if ids.shape != (u.shape[0],):
        raise ValueError(f"student_ids: expected one student index per row of u, shape ({u.shape[0]},), got shape "
                         f"{ids.shape}")
    if ids.dtype.kind not in "iu":
        if ids.dtype.kind != "f" or not np.all(np.isfinite(ids)) or not np.all(ids == np.round(ids)):
            raise ValueError(f"student_ids: expected whole numbers (student indices), got {short_repr(student_ids)}")
        ids = ids.astype(np.int64)
    if not is_integer(n_students) or n_students < 1:
        raise ValueError(f"n_students: expected a positive integer, got {n_students!r}")
    if np.unique(ids).size > n_students:
        raise ValueError(f"student_ids, n_students: the rows of u come from {np.unique(ids).size} students, more than "
                         f"n_students={n_students}")
    return u, ids


def cluster_neurons(u, student_ids, n_students: int, activation: str, *, gamma: float = 0.5,
                    beta: float | str = "auto", method: str = "hierarchical",
                    sign: bool | None = None, cut: str = "most",
                    persist_ratio: float = PERSIST_RATIO) -> ClusterResult:
    """Cluster canonical incoming vectors ``u`` (rows) from ``n_students`` students.

    ``student_ids[i]`` says which student row i came from. ``beta`` is in radians, or "auto"
    (:func:`auto_beta` on the spreads of the clusters with enough students). ``sign=False``
    ignores the activation's sign symmetry (see :func:`~neuroflow.identify.symmetry.canonicalize`).
    ``cut`` (hierarchical only): "most", the height with the most clusters of enough students (the module's
    rule), or "persistent", the most clusters that hold over a range of heights spanning a factor
    ``persist_ratio`` (:func:`_persistent_cut`).
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    u, student_ids = _check_neurons(u, student_ids, n_students)
    if sign is not None and not isinstance(sign, (bool, np.bool_)):
        raise ValueError(f"sign: expected None (the activation's rule), True or False, got {sign!r}")
    need = min_students(gamma, n_students)
    beta = check_beta(beta)
    if method not in CLUSTERERS:
        raise ValueError(f"method: expected one of {list(CLUSTERERS)}, got {method!r}")
    if cut not in CUTS:
        raise ValueError(f"cut: expected one of {list(CUTS)}, got {cut!r}")
    if isinstance(persist_ratio, bool) or not (isinstance(persist_ratio, (int, float)) and persist_ratio > 1):
        raise ValueError(f"persist_ratio: expected a number above 1, got {persist_ratio!r}")
    if u.shape[0] < 2:
        empty = np.zeros((0, u.shape[1]))
        fb = AUTO_FALLBACK if isinstance(beta, str) else beta
        return ClusterResult(-np.ones(u.shape[0], dtype=int), empty, np.zeros(0, int), np.zeros(0), [],
                             method, need, beta_deg=float(np.degrees(fb)),
                             beta_rule="no gap" if isinstance(beta, str) else "given",
                             candidate_spreads_deg=np.zeros(0), dropped_centres=empty, vectors=u,
                             student_ids=student_ids)
    dist = pairwise_distances(u, activation, sign=sign)

    if method == "hdbscan":
        import hdbscan

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = hdbscan.HDBSCAN(min_cluster_size=need, min_samples=max(1, need // 2), metric="precomputed",
                                    allow_single_cluster=True)
            raw = model.fit_predict(dist)
        groups = [np.flatnonzero(raw == c) for c in np.unique(raw) if c >= 0]
        labels, centres, counts, medians, dropped, beta_deg, rule, spreads, gone = _summarise(
            u, groups, student_ids, dist, activation, need, beta, sign)
        return ClusterResult(labels, centres, counts, medians, dropped, "hdbscan", need, beta_deg=beta_deg,
                             beta_rule=rule, candidate_spreads_deg=spreads, dropped_centres=gone, vectors=u,
                             student_ids=student_ids)

    Z = linkage(squareform(dist, checks=False), method="average")
    heights = np.unique(np.maximum(Z[:, 2], math.radians(CUT_FLOOR_DEG)))
    # a cut just above each merge height; count clusters that hold >= need distinct students
    scan = []
    for t in heights:
        lab = fcluster(Z, t=t * (1 + 1e-9) + 1e-15, criterion="distance")
        order = np.lexsort((student_ids, lab))
        lab_s, st_s = lab[order], student_ids[order]
        new_pair = np.ones(len(lab_s), dtype=bool)
        new_pair[1:] = (lab_s[1:] != lab_s[:-1]) | (st_s[1:] != st_s[:-1])
        students_per_cluster = np.bincount(lab_s[new_pair])
        held = students_per_cluster[students_per_cluster >= need]
        scan.append((float(t), int(held.size), int(held.sum())))  # clusters with enough students, students in them
    best_t = _persistent_cut(scan, persist_ratio) if cut == "persistent" else _most_clusters_cut(scan)
    lab = fcluster(Z, t=best_t * (1 + 1e-9) + 1e-15, criterion="distance")
    groups = [np.flatnonzero(lab == c) for c in np.unique(lab)]
    labels, centres, counts, medians, dropped, beta_deg, rule, spreads, gone = _summarise(
        u, groups, student_ids, dist, activation, need, beta, sign)
    return ClusterResult(labels, centres, counts, medians, dropped, "hierarchical", need, Z, float(best_t),
                         np.array(scan)[:, :2], beta_deg, rule, spreads, gone, vectors=u, student_ids=student_ids)


def _most_clusters_cut(scan) -> float:
    """The lowest height of ``scan`` ((height, clusters, students) rows, heights rising) with the most clusters,
    and among those the most students in them."""
    best, best_t = (-1, -1), scan[0][0]
    for t, count, students in scan:
        if (count, students) > best:
            best, best_t = (count, students), t
    return best_t


def _persistent_cut(scan, ratio: float = PERSIST_RATIO) -> float:
    """The most clusters that hold over cut heights spanning at least ``ratio`` (from the first height with that
    count to the next merge that changes it; the last run reaches pi), and within that run the height where they
    hold the most students (the lowest first); :func:`_most_clusters_cut` when no count holds that long."""
    best = None
    i = 0
    while i < len(scan):
        j = i
        while j + 1 < len(scan) and scan[j + 1][1] == scan[i][1]:
            j += 1
        end = scan[j + 1][0] if j + 1 < len(scan) else math.pi
        if scan[i][1] > 0 and end >= ratio * scan[i][0] and (best is None or scan[i][1] > best[0][1]):
            best = scan[i:j + 1]
        i = j + 1
    return _most_clusters_cut(scan) if best is None else _most_clusters_cut(best)
