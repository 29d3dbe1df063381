"""Expand-and-Cluster building blocks: teacher files, symmetries, clustering, objective wrappers."""
from __future__ import annotations

import json

import numpy as np
import pytest

from neuroflow.identify import Teacher, load_teacher, save_teacher
from neuroflow.identify.clustering import AUTO_FALLBACK, auto_beta, cluster_neurons, min_students
from neuroflow.identify.objectives import FixedParamsObjective, SkipObjective
from neuroflow.identify.problems import make_deep_teacher, make_teacher, paper_suite, quick_suite, widened_paper_suite
from neuroflow.identify.report import compare_layer, compare_networks
from neuroflow.identify.symmetry import angles_deg, canonicalize, pairwise_distances
from neuroflow.mlp import MLP
from neuroflow.mlp.activations import get_activation


def test_teacher_roundtrip_and_missing_bias(tmp_path):
    rng = np.random.default_rng(0)
    t = Teacher("tanh", [rng.normal(size=(3, 2)), rng.normal(size=(1, 3))], [rng.normal(size=3), None])
    path = save_teacher(t, tmp_path / "t.npz")
    back = load_teacher(path)
    assert back.activation == "tanh" and back.biases[1] is None
    X = rng.normal(size=(5, 2))
    np.testing.assert_allclose(back(X), t(X))
    net, theta = back.to_mlp()
    np.testing.assert_allclose(net.forward(theta, X), t(X), atol=1e-12)
    assert Teacher.from_mlp(net, theta).hidden_sizes == [3]


def test_teacher_file_errors_name_the_cause(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, activation="tanh", weight_0=np.ones((3, 2)), weight_1=np.ones((1, 4)))
    with pytest.raises(ValueError, match="weight_1"):
        load_teacher(bad)
    np.savez(bad, activation="banana", weight_0=np.ones((3, 2)), weight_1=np.ones((1, 3)))
    with pytest.raises(ValueError, match="banana"):
        load_teacher(bad)
    np.savez(bad, activation="tanh", weight_0=np.ones((3, 2)), bias_0=np.ones(4), weight_1=np.ones((1, 3)))
    with pytest.raises(ValueError, match="bias_0"):
        load_teacher(bad)
    np.savez(bad, weight_0=np.ones((3, 2)), weight_1=np.ones((1, 3)))
    with pytest.raises(ValueError, match="activation"):
        load_teacher(bad)
    np.savez(bad, activation="tanh", weight_0=np.array([["a"] * 2] * 3), weight_1=np.ones((1, 3)))
    with pytest.raises(ValueError, match="bad.npz' holds weights that are not numbers"):
        load_teacher(bad)
    with pytest.raises(FileNotFoundError):
        load_teacher(tmp_path / "nope.npz")
    with pytest.raises(ValueError, match="identifiable"):
        Teacher("identity", [np.ones((2, 2)), np.ones((1, 2))], [None, None])


@pytest.mark.parametrize("act", ["tanh", "erf", "sigmoid", "normal_cdf", "softplus", "gelu", "silu", "relu", "g"])
def test_canonicalize_keeps_the_function(act):
    rng = np.random.default_rng(1)
    U = rng.normal(size=(6, 4))
    A = rng.normal(size=(6, 2))
    X = rng.normal(size=(50, 3))
    f = get_activation(act).f
    y = f(X @ U[:, :-1].T + U[:, -1]) @ A
    c = canonicalize(U, A, act, signs=np.array([1, -1, -1, 1, -1, 1.0]))
    y2 = (f(X @ c.u[:, :-1].T + c.u[:, -1]) @ c.a + c.constant + X @ c.linear[:, :-1].T + c.linear[:, -1])
    np.testing.assert_allclose(y2, y, atol=1e-12)
    if act == "relu":
        np.testing.assert_allclose(np.linalg.norm(c.u, axis=1), 1.0)


def test_distances_and_angles_respect_symmetry():
    u = np.array([[1.0, 2.0, 0.5], [-1.0, -2.0, -0.5], [2.0, 4.0, 1.0]])
    assert pairwise_distances(u, "tanh")[0, 1] == pytest.approx(0.0, abs=1e-7)
    assert pairwise_distances(u, "g")[0, 1] == pytest.approx(np.pi, abs=1e-7)
    assert pairwise_distances(u, "g")[0, 2] == pytest.approx(0.0, abs=1e-7)
    assert angles_deg(u[:1], u[1:2], "sigmoid")[0, 0] == pytest.approx(0.0, abs=1e-5)
    assert angles_deg(u[:1], u[1:2], "tanh", sign=False)[0, 0] == pytest.approx(180.0, abs=1e-5)


def _synthetic_students(rng, n_students=6, noise=0.01, junk=3):
    centres = np.array([[1.0, 0.0, 0.2, 0.0, 0.5, 0.0], [0.0, 1.0, -0.3, 0.4, 0.0, 0.0],
                        [0.7, -0.7, 0.0, 0.0, 0.0, 0.3]])
    vecs, ids = [], []
    for s in range(n_students):
        for c in centres:
            sign = rng.choice([-1.0, 1.0])
            vecs.append(sign * (c + noise * rng.normal(size=6)))
            ids.append(s)
        for _ in range(junk):
            vecs.append(rng.normal(size=6))
            ids.append(s)
    return centres, np.array(vecs), np.array(ids)


@pytest.mark.parametrize("method", ["hierarchical", "hdbscan"])
def test_clustering_finds_shared_neurons(method):
    rng = np.random.default_rng(2)
    centres, u, ids = _synthetic_students(rng)
    res = cluster_neurons(u, ids, 6, "tanh", gamma=0.5, method=method)
    assert res.size == 3
    ang = angles_deg(centres, res.centres, "tanh")
    assert np.all(ang.min(axis=1) < 2.0)
    assert np.all(res.n_students >= 3)
    if method == "hierarchical":
        assert res.cut_height is not None and res.linkage is not None


def test_clustering_does_not_let_fragments_of_one_neuron_stand_in_for_another():
    """Neuron A is held by all 8 students, in two exact halves a rounding-level angle apart; neuron C's
    copies are spread 1e-3 rad. Below the height where A's halves merge, A's halves and B make three
    clusters of >= 4 students while C is still in pieces; the cut must come where A, B and C are each
    one cluster of all 8 (p068 of the paper suite came out with A twice and C missing)."""
    rng = np.random.default_rng(0)
    a, b, c = np.array([1.0, 0.2, -0.3, 0.1]), np.array([0.1, 1.0, 0.4, -0.2]), np.array([-0.3, 0.2, 1.0, 0.5])
    a2 = a + 1e-9 * np.array([0.0, 1.0, 0.0, 0.0])
    u, ids = [], []
    for s in range(8):
        u += [a if s < 4 else a2, b, c + 1e-3 * rng.normal(size=4)]
        ids += [s] * 3
    res = cluster_neurons(np.array(u), np.array(ids), 8, "tanh", gamma=0.5)
    assert res.size == 3 and list(res.n_students) == [8, 8, 8]
    assert np.all(angles_deg(np.array([a, b, c]), res.centres, "tanh").min(axis=1) < 0.2)


def test_clustering_never_cuts_below_the_angles_rounding_level():
    """Students polished to rounding-level loss: neuron A in two exact halves 8.5e-7 deg apart (one quantum of
    arccos), every other neuron exact. Cut between the two levels, A's halves are two clusters of 3 students
    each (deep suite d15 came out with two such duplicates); the cut floor keeps A one neuron."""
    from neuroflow.identify.clustering import CUT_FLOOR_DEG

    a, b = np.array([1.0, 0.2, -0.3, 0.1]), np.array([0.1, 1.0, 0.4, -0.2])
    t = np.array([0.0, 1.0, 0.0, 0.0]) - a * a[1] / (a @ a)
    a2 = a + np.linalg.norm(a) * np.radians(8.5e-7) * t / np.linalg.norm(t)
    assert 0 < angles_deg(a[None], a2[None], "tanh")[0, 0] < CUT_FLOOR_DEG
    u, ids = [], []
    for s in range(6):
        u += [a if s < 3 else a2, b]
        ids += [s] * 2
    res = cluster_neurons(np.array(u), np.array(ids), 6, "tanh", gamma=0.5)
    assert res.size == 2 and list(res.n_students) == [6, 6]


def test_persistent_cut_keeps_the_neurons_and_leaves_chance_pairs_of_leftover_units():
    """Eight students each hold four neurons (0.6 deg noise) and twelve leftover units at random. The most clusters
    with enough students come at a height where leftovers of different students have paired up by chance; the
    count that holds over a range of heights is the four neurons'."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        true = rng.standard_normal((4, 4))
        true /= np.linalg.norm(true, axis=1, keepdims=True)
        u = np.vstack([np.vstack([true + 0.01 * rng.standard_normal((4, 4)), rng.standard_normal((12, 4))])
                       for _ in range(8)])
        ids = np.repeat(np.arange(8), 16)
        most = cluster_neurons(u, ids, 8, "tanh", beta=np.pi)
        held = cluster_neurons(u, ids, 8, "tanh", beta=np.pi, cut="persistent")
        assert most.size > 8 and np.degrees(most.cut_height) > 20
        assert held.size == 4 and np.degrees(held.cut_height) < 5
        assert np.all(angles_deg(held.centres, true, "tanh").min(axis=1) < 1.0)
    # students holding the neurons exactly (and three stray units each): both rules keep the same three neurons
    centres, u, ids = _synthetic_students(np.random.default_rng(3), noise=0.0)
    a, b = cluster_neurons(u, ids, 6, "tanh"), cluster_neurons(u, ids, 6, "tanh", cut="persistent")
    assert a.size == b.size == 3
    assert np.all(angles_deg(a.centres, b.centres, "tanh").min(axis=1) < 1e-5)
    with pytest.raises(ValueError, match="cut: expected one of \\['most', 'persistent'\\], got 'lowest'"):
        cluster_neurons(u, ids, 6, "tanh", cut="lowest")
    for bad in (1.0, 0.5, True, "2"):
        with pytest.raises(ValueError, match="persist_ratio: expected a number above 1"):
            cluster_neurons(u, ids, 6, "tanh", cut="persistent", persist_ratio=bad)
    assert np.array_equal(a.vectors, u) and np.array_equal(a.student_ids, ids)  # kept, to be cut again


def test_beta_drops_spread_clusters_and_gamma_is_checked():
    rng = np.random.default_rng(3)
    _, u, ids = _synthetic_students(rng, noise=0.01)
    assert cluster_neurons(u, ids, 6, "tanh", beta=np.radians(0.01)).size == 0
    with pytest.raises(ValueError, match="gamma"):
        min_students(0.3, 4)
    with pytest.raises(ValueError, match="gamma"):
        cluster_neurons(u, ids, 6, "tanh", gamma=0.2)


def test_auto_beta_cuts_in_a_clear_gap_and_falls_back_without_one():
    tight = [0.2, 0.35, 0.5, 0.9]  # shared neurons (degrees)
    loose = [10.6, 14.0, 25.0]  # leftover groups
    beta, rule = auto_beta(tight + loose)
    assert rule == "gap" and 0.9 < np.degrees(beta) < 10.6
    assert np.degrees(beta) == pytest.approx(np.sqrt(0.9 * 10.6))
    # a continuum of spreads (no factor >= 4 between neighbours): the paper's pi/6
    assert auto_beta(np.geomspace(0.4, 5.6, 13)) == (AUTO_FALLBACK, "no gap")
    # a gap among sub-degree spreads separates good from very good neurons, not neurons from leftovers
    assert auto_beta([1e-6, 2e-6, 3e-6, 0.3, 0.5]) == (AUTO_FALLBACK, "no gap")
    assert auto_beta([2.0]) == (AUTO_FALLBACK, "no gap")
    assert auto_beta([]) == (AUTO_FALLBACK, "no gap")
    # never looser than the fallback: the largest gap, 20 to 300 degrees, cuts at 30
    assert auto_beta([1.0, 1.2, 1.5, 20.0, 300.0]) == (AUTO_FALLBACK, "gap")


def test_auto_beta_drops_loose_groups_in_clustering():
    rng = np.random.default_rng(5)
    centres, u, ids = _synthetic_students(rng, noise=0.005, junk=0)
    loose = np.array([[0.0, 0.0, 1.0, 0.0, 0.0, 0.5], [0.0, 0.3, 0.0, 1.0, -0.5, 0.0]])
    extra = [c + 0.3 * rng.normal(size=6) for _ in range(6) for c in loose]  # one loose member per student
    u = np.vstack([u, extra])
    ids = np.concatenate([ids, np.repeat(np.arange(6), 2)])
    keep_all = cluster_neurons(u, ids, 6, "tanh", beta=np.pi)
    auto = cluster_neurons(u, ids, 6, "tanh", beta="auto")
    assert keep_all.size == 5 and keep_all.beta_rule == "given"
    assert auto.size == 3 and auto.beta_rule == "gap" and len(auto.dropped_by_beta) == 2
    assert np.all(angles_deg(centres, auto.centres, "tanh").min(axis=1) < 1.0)
    assert max(auto.median_angle_deg) < auto.beta_deg < min(d["median_angle_deg"] for d in auto.dropped_by_beta)
    assert sorted(auto.candidate_spreads_deg) == sorted(keep_all.median_angle_deg)
    with pytest.raises(ValueError, match="beta"):
        cluster_neurons(u, ids, 6, "tanh", beta="tight")
    with pytest.raises(ValueError, match="beta"):
        cluster_neurons(u, ids, 6, "tanh", beta=4.0)


def test_compare_layer_matches_and_counts_excess():
    t = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    r = np.array([[0.0, -1.0, 0.0], [1.0, 0.01, 0.0], [0.5, 0.5, 0.5]])
    rep = compare_layer(t, r, "tanh")
    assert rep.matching == [1, 0]
    assert rep.excess == 1 and rep.missing == 0
    assert rep.overhead_pct == pytest.approx(50.0)
    assert max(rep.matched_angle_deg) < 1.0



@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_compare_networks_sees_through_permutations_and_sign_flips_in_every_layer(act):
    """A three-hidden-layer teacher with every hidden layer permuted and half its units sign-flipped (the
    same function) is the teacher at 0 deg in every layer, however the flips of one layer re-express the next."""
    teacher = make_deep_teacher(6, [5, 4, 3], act, seed=3)
    rng = np.random.default_rng(0)
    W = [w.copy() for w in teacher.weights]
    b = [v.copy() for v in teacher.biases]
    for l in range(3):
        perm = rng.permutation(W[l].shape[0])
        W[l], b[l], W[l + 1] = W[l][perm], b[l][perm], W[l + 1][:, perm]
        for j in rng.choice(W[l].shape[0], size=2, replace=False):  # tanh(-z) = -tanh(z); sigmoid(-z) = 1 - sigmoid(z)
            W[l][j], b[l][j] = -W[l][j], -b[l][j]
            if act == "sigmoid":
                b[l + 1] = b[l + 1] + W[l + 1][:, j]
            W[l + 1][:, j] = -W[l + 1][:, j]
    twin = Teacher(act, W, b)
    X = np.random.default_rng(1).standard_normal((200, 6))
    np.testing.assert_allclose(twin(X), teacher(X), atol=1e-12)
    layers = compare_networks(teacher, [twin.incoming(l) for l in range(3)], act)
    assert [l.missing for l in layers] == [0, 0, 0] and [l.excess for l in layers] == [0, 0, 0]
    assert max(a for l in layers for a in l.matched_angle_deg) < 1e-4  # arccos near 1: ~1e-6 deg of rounding


def _fd_check(obj, x, eps=1e-6):
    g = obj.gradient(x)
    H = obj.hessian(x)
    g_fd = np.array([(obj.loss(x + eps * e) - obj.loss(x - eps * e)) / (2 * eps) for e in np.eye(len(x))])
    H_fd = np.array([(obj.gradient(x + eps * e) - obj.gradient(x - eps * e)) / (2 * eps) for e in np.eye(len(x))])
    np.testing.assert_allclose(g, g_fd, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(H, H_fd, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(H, H.T, atol=1e-12)


def test_skip_objective_derivatives():
    rng = np.random.default_rng(4)
    net = MLP(3, [(4, "softplus", True), (2, "identity", True)], backend="numpy")
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    obj = SkipObjective(net, X, Y, weights=rng.uniform(0.5, 2, size=40))
    x = np.concatenate([net.init_params(0), rng.normal(size=6)])
    _fd_check(obj, x)
    theta, S = obj.split(x)
    np.testing.assert_allclose(obj.predict(x, X), net.forward(theta, X) + X @ S.T)


def test_fixed_params_objective_restricts():
    rng = np.random.default_rng(5)
    net = MLP(2, [(3, "tanh", True), (1, "identity", True)], backend="numpy")
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(30, 1))
    full = net.init_params(1)
    free = np.zeros(net.n_params, dtype=bool)
    free[9:] = True  # the output layer
    obj = FixedParamsObjective(net.objective(X, Y), full, free)
    assert obj.n_params == 4
    _fd_check(obj, full[free])
    np.testing.assert_allclose(obj.full(full[free]), full)


def test_problem_suites_are_seeded_and_graded():
    a, b = paper_suite(seed=0), paper_suite(seed=0)
    assert len(a) >= 150
    assert [p.name for p in a] == [p.name for p in b]
    np.testing.assert_array_equal(a[7].teacher.weights[0], b[7].teacher.weights[0])
    assert len({round(p.difficulty, 3) for p in a}) > 50
    assert len(quick_suite()) <= 5
    aligned = make_teacher(4, 5, "tanh", alignment=0.9, seed=0)
    loose = make_teacher(4, 5, "tanh", alignment=0.0, seed=0)
    off_diag = lambda t: np.mean(angles_deg(t.weights[0], t.weights[0], "tanh")[np.triu_indices(5, 1)])
    assert off_diag(aligned) < off_diag(loose)


def test_widened_suite_reaches_the_paper_ranges_within_its_cost_caps():
    suite = widened_paper_suite(seed=0)
    assert [p.name for p in suite] == [p.name for p in widened_paper_suite(seed=0)]
    dims = {(p.factors["input_dim"], p.factors["width"], p.n_samples) for p in suite}
    assert max(d for d, _, _ in dims) == 16 and max(k for _, k, _ in dims) == 10
    assert {n for *_, n in dims} == {1000, 2000, 5000, 10000, 20000}
    for d, k, n in dims:  # the probe count is the largest allowed by both caps (1000 at least)
        ok = lambda c: c * ((d + 2) * k + 1) <= 1.5e6 and c * ((d + 2) * 4 * k + 1) ** 2 <= 2e9
        assert n == 1000 or ok(n)
    capped = widened_paper_suite(seed=0, max_hessian_cost=1e12)
    assert sum(a.name != b.name for a, b in zip(suite, capped)) == 4  # only the Hessian cap moved these


def test_suite_summary_and_resumable_rows(tmp_path):
    from neuroflow.identify.bench import read_rows, summarize

    rows = [
        {"name": "a", "activation": "tanh", "difficulty": 0.1, "teacher_sizes": [2], "cluster_sizes": [3],
         "layer_sizes": [2], "overhead_pct": [0.0], "exact_size": True, "all_matched_within_1deg": True,
         "max_angle_deg": 0.01, "functional_rel_mse": 1e-12, "missing": 0, "time_s": 3.0, "error": None},
        {"name": "b", "activation": "g", "difficulty": 0.9, "teacher_sizes": [4], "cluster_sizes": [5],
         "layer_sizes": [5], "overhead_pct": [25.0], "exact_size": False, "all_matched_within_1deg": False,
         "max_angle_deg": 3.0, "functional_rel_mse": 1e-6, "missing": 0, "time_s": 5.0, "error": None},
    ]
    s = summarize(rows, n_bins=2)
    assert s["exact_size_rate"] == 0.5 and s["cluster_exact_size_rate"] == 0.0
    assert s["overhead_le_10pct_rate"] == 0.5 and s["max_overhead_pct"] == 25.0
    assert s["rel_mse_le_1e-8_rate"] == 0.5
    assert [b["exact_size_rate"] for b in s["difficulty_bins"]] == [1.0, 0.0]
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(rows[0]) + '\n{"name": "b", "ti')  # second line cut by an interrupt
    assert [r["name"] for r in read_rows(path)] == ["a"]


def test_recovery_by_feature_bins_first_layer_width_per_input():
    from neuroflow.identify.report import recovery_by_feature

    def row(d, sizes, exact):
        return {"input_dim": d, "teacher_sizes": sizes, "n_samples": 1000, "teacher": {"n_params": 50},
                "activation": "tanh", "exact_size": exact, "all_matched_within_1deg": exact,
                "functional_rel_mse": 1e-20 if exact else 1e-3}

    # first-layer width over input dimension: 4/16, 8/10, 9/4 and 10/4; the deeper layers do not count
    rows = [row(16, [4, 30], True), row(10, [8, 3], True), row(4, [9, 6], False), row(4, [10, 7, 5], True)]
    table = recovery_by_feature(rows)["by_feature"]["width_per_input"]
    assert [(e["value"], e["n"], e["exact_size_rate"]) for e in table] == [("0-0.5", 1, 1.0), ("0.5-1", 1, 1.0),
                                                                          ("2-3", 2, 0.5)]
    assert table[-1]["exact_within_1deg_mse_1e-8_rate"] == 0.5


def _g_student():
    """A 2-2-1 g teacher's probes and a width-4 student's start: (net, theta0, X, Y)."""
    rng = np.random.default_rng(6)
    teacher = make_teacher(2, 2, "g", seed=6)
    X = rng.normal(size=(200, 2))
    net = MLP(2, [(4, "g", True), (1, "identity", True)], backend="numpy")
    return net, net.init_params(0), X, teacher(X)


def test_torch_engine_fits_and_freezes_layers():
    from neuroflow.identify.students import torch_fit

    net, theta0, X, Y = _g_student()
    theta, loss, why, steps = torch_fit(net, theta0, X, Y, max_iter=100)
    assert steps[0] == 0 and 0 < steps[1] <= 100 and why in ("max_iter", "converged")
    assert loss < 1e-2 * net.loss(theta0, X, Y)
    assert loss == pytest.approx(net.loss(theta, X, Y), rel=1e-8)
    theta_f, *_ = torch_fit(net, theta0, X, Y, max_iter=20, frozen_layers=1)
    np.testing.assert_array_equal(net.unpack(theta_f)[0], net.unpack(theta0)[0])
    assert not np.allclose(net.unpack(theta_f)[1], net.unpack(theta0)[1])


def test_torch_engine_levenberg_marquardt_phase_goes_below_lbfgs():
    """The third phase takes a student L-BFGS leaves short of zero further down, on the free layers only."""
    from neuroflow.identify.students import torch_fit

    net, theta0, X, Y = _g_student()
    _, loss, _, steps = torch_fit(net, theta0, X, Y, max_iter=20)
    theta, loss_lm, why, steps_lm = torch_fit(net, theta0, X, Y, max_iter=20, lm_steps=200)
    assert len(steps) == 2 and len(steps_lm) == 3 and 0 < steps_lm[2] <= 200 and "+lm:" in why
    assert loss_lm < 1e-3 * loss
    assert loss_lm == pytest.approx(net.loss(theta, X, Y), rel=1e-6, abs=1e-30)
    theta_f, *_ = torch_fit(net, theta0, X, Y, max_iter=20, frozen_layers=1, lm_steps=50)
    np.testing.assert_array_equal(net.unpack(theta_f)[0], net.unpack(theta0)[0])


def test_small_reduced_net_is_polished_to_the_zero_loss_point():
    """Near-linear gelu teacher (small weights, weakly identifiable): the ordinary fine-tune stops on the
    engine's absolute gradient-norm threshold at a relative loss ~1e-11, about a degree off; the Newton
    polish ends at the teacher (an exact zero of the reduced net)."""
    from neuroflow.identify.budgets import FINETUNE_OPTIONS
    from neuroflow.identify.problems import make_problem
    from neuroflow.identify.reconstruct import POLISH_REL_LOSS, finetune, polish

    prob = make_problem(2, 3, "gelu", 300, weight_scale=0.3, alignment=0.3, seed=1)
    X = prob.probes()
    Y = prob.teacher(X)
    y_var = float(np.mean(np.sum((Y - Y.mean(0)) ** 2, axis=1)))
    net, theta = prob.teacher.to_mlp()
    rng = np.random.default_rng(0)
    mats = [np.array(m) + 0.2 * rng.normal(size=np.shape(m)) for m in net.unpack(theta)]
    mats, S, fine = finetune(mats, np.zeros((1, 2)), X, Y, "gelu", {**FINETUNE_OPTIONS, "min_loss": 1e-20 * y_var},
                             "numpy")
    before = max(compare_layer(prob.teacher.incoming(0), mats[0], "gelu").matched_angle_deg)
    mats, S, best, pol = polish(mats, S, X, Y, y_var, "gelu", "numpy", fine)
    after = max(compare_layer(prob.teacher.incoming(0), mats[0], "gelu").matched_angle_deg)
    assert pol is not None and best.loss <= min(fine.loss, POLISH_REL_LOSS * y_var)
    assert after < 1e-3 and after <= before
    Xt = prob.probes(200, seed=5)  # the same function (a flipped gelu unit moves its linear part to S)
    np.testing.assert_allclose(net.forward(net.pack(mats), Xt) + Xt @ S.T, prob.teacher(Xt), atol=1e-10)
    # a net far from zero loss is not polished
    far = type(fine)(**{**fine.__dict__, "loss": 1.0})
    assert polish(mats, S, X, Y, y_var, "gelu", "numpy", far)[3] is None


def test_auto_beta_gap_is_checked_by_least_squares():
    """A gap cut that drops a target neuron the students found only roughly is rejected (pi/6 applies);
    one that drops a loose group of leftovers the function does not need is kept."""
    from neuroflow.identify.selection import check_gap

    rng = np.random.default_rng(7)
    teacher = make_teacher(3, 3, "tanh", seed=2)
    X = rng.normal(size=(400, 3))
    Y = teacher(X)
    t_u = teacher.incoming(0)

    def students(rough, leftover, seed):
        g = np.random.default_rng(seed)
        vecs, ids = [], []
        for s in range(6):
            for j, c in enumerate(t_u):
                vecs.append(c + (0.1 if j == rough else 1e-4) * g.normal(size=4) * np.linalg.norm(c))
                ids.append(s)
            if leftover is not None:
                vecs.append(leftover + 0.4 * g.normal(size=4))
                ids.append(s)
        return np.array(vecs), np.array(ids)

    opts = dict(activation="tanh", n_students=6, gamma=0.5, clusterer="hierarchical", sign=None, loss_tol=1e-6)
    u, ids = students(rough=0, leftover=None, seed=1)
    res = cluster_neurons(u, ids, 6, "tanh", beta="auto")
    assert res.beta_rule == "gap" and res.size == 2
    checked = check_gap(res, u, ids, X, None, Y, 1e-12, **opts)
    assert checked.beta_rule == "gap rejected" and checked.size > 2 and not checked.gap_check["accepted"]
    assert np.all(angles_deg(t_u, checked.centres, "tanh").min(axis=1) < 10.0)
    u, ids = students(rough=None, leftover=np.array([0.0, 2.0, -1.0, 0.5]), seed=8)
    res = cluster_neurons(u, ids, 6, "tanh", beta="auto")
    assert res.beta_rule == "gap" and res.size == 3
    checked = check_gap(res, u, ids, X, None, Y, 1e-12, **opts)
    assert checked.beta_rule == "gap" and checked.size == 3 and checked.gap_check["accepted"]


def test_a_damaged_student_checkpoint_is_retrained_after_a_warning(tmp_path):
    from neuroflow.identify.checkpoint import StudentCheckpoint
    from neuroflow.identify.students import StudentFit

    fit = StudentFit(index=0, seed=1, theta=np.zeros(3), loss=1e-12, gnorm=0.0, converged=True, engine="numpy",
                     time_s=0.1)
    saved = StudentCheckpoint(tmp_path, 0, "k" * 64)
    saved.add(fit)
    assert list(StudentCheckpoint(tmp_path, 0, "k" * 64).fits) == [0]
    assert StudentCheckpoint(tmp_path, 0, "x" * 64).fits == {}  # another key: another file, nothing loaded
    good = saved.path.read_bytes()
    for damaged in (b"", good[: len(good) // 2]):
        saved.path.write_bytes(damaged)
        with pytest.warns(UserWarning, match="unreadable checkpoint .* trained again"):
            assert StudentCheckpoint(tmp_path, 0, "k" * 64).fits == {}
    import json

    np.savez(saved.path.with_suffix(""), meta=np.array(json.dumps({"key": "k" * 64, "fits": [{"index": 0}]})))
    with pytest.warns(UserWarning, match="holds what no run writes"):
        assert StudentCheckpoint(tmp_path, 0, "k" * 64).fits == {}


def test_a_student_counts_as_kept_only_once_the_checkpoint_file_holds_it(tmp_path, monkeypatch):
    """Ctrl-C while a finished student was written: it was already in ``fits``, so deep-control's line counted it
    as kept in the checkpoint, which did not hold it."""
    import neuroflow.identify.checkpoint as C
    from neuroflow.identify.students import StudentFit

    def fit(i):
        return StudentFit(index=i, seed=i, theta=np.zeros(3), loss=1e-12, gnorm=0.0, converged=True, engine="numpy",
                          time_s=0.1)

    saved = C.StudentCheckpoint(tmp_path, 1, "k" * 64)
    saved.add(fit(0))

    def ctrl_c_mid_write(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(C, "atomic_output", ctrl_c_mid_write)
    with pytest.raises(KeyboardInterrupt):
        saved.add(fit(1))
    assert list(saved.fits) == [0] and list(C.StudentCheckpoint(tmp_path, 1, "k" * 64).fits) == [0]


def test_a_student_checkpoint_round_trips_every_field_and_never_unpickles(tmp_path):
    """The checkpoint is plain data (JSON and float arrays in an npz): every field comes back exactly, and a file
    holding a pickled object array, which np.load would only read by running pickle, is refused unread."""
    from neuroflow.identify.checkpoint import StudentCheckpoint
    from neuroflow.identify.students import StudentFit

    fits = [StudentFit(index=3, seed=7, theta=np.array([0.1, -2.5e-300, np.pi]), loss=float("nan"), gnorm=np.inf,
                       converged=False, engine="torch", time_s=1.25, stopped_by="budget+lm:gtol", steps=(10, 2, 1)),
            StudentFit(index=0, seed=5, theta=np.linspace(-1, 1, 4), loss=1e-17, gnorm=3.0, converged=True,
                       engine="numpy", time_s=0.5)]
    saved = StudentCheckpoint(tmp_path, 1, "c" * 64)
    for fit in fits:
        saved.add(fit)
    assert saved.path.suffix == ".npz"
    back = StudentCheckpoint(tmp_path, 1, "c" * 64).fits
    assert sorted(back) == [0, 3]
    for fit in fits:
        got = back[fit.index]
        np.testing.assert_array_equal(got.theta, fit.theta)
        assert got.to_dict() == pytest.approx(fit.to_dict(), nan_ok=True)
        assert (got.seed, got.engine, got.stopped_by, got.steps) == (fit.seed, fit.engine, fit.stopped_by, fit.steps)
    ran = []

    class Runs:
        def __reduce__(self):
            return (ran.append, ("ran",))

    np.savez(saved.path.with_suffix(""), meta=np.array(["x", Runs()], dtype=object))
    with pytest.warns(UserWarning, match="unreadable checkpoint"):
        assert StudentCheckpoint(tmp_path, 1, "c" * 64).fits == {}
    assert ran == []


def test_a_recovered_layer_the_teacher_lacks_counts_as_infinite_overhead():
    from neuroflow.identify.report import LayerReport

    extra = LayerReport(teacher_size=0, recovered_size=5, min_angle_deg=[], matched_angle_deg=[], matching=[],
                        excess=5, missing=0)
    assert extra.overhead_pct == float("inf") and not extra.exact_size
    assert LayerReport(0, 0, [], [], [], 0, 0).overhead_pct == 0.0


def test_rows_files_skip_what_is_not_a_row_and_keep_new_rows_on_their_own_line(tmp_path):
    import json

    from neuroflow.identify.bench import read_rows, run_suite, summarize

    good = {"name": "a", "overhead_pct": [0.0, "inf"], "exact_size": False, "time_s": 1.0, "difficulty": 1.0,
            "activation": "tanh", "all_matched_within_1deg": False, "functional_rel_mse": 1e-3, "teacher_sizes": [2],
            "cluster_sizes": [3]}
    path = tmp_path / "rows.jsonl"
    lines = [json.dumps(good), "[1, 2, 3]", "null", json.dumps({"foo": 1}),
             json.dumps({**good, "name": "b", "overhead_pct": None}), json.dumps({"name": "c", "error": "boom"})]
    path.write_text("\n".join(lines) + '\n{"name": "d", "ti')  # the last line cut short by an interrupt
    with pytest.warns(UserWarning) as caught:
        rows = read_rows(path)
    assert [r["name"] for r in rows] == ["a", "c"]
    assert [str(w.message).split(": ")[0] for w in caught] == [f"{path}:{i}" for i in (2, 3, 4, 5)]
    assert summarize(rows[:1])["max_overhead_pct"] == float("inf")  # a layer the teacher lacks
    with pytest.warns(UserWarning, match="skipped"):
        run_suite([], out=path, progress=False)  # nothing to run: only the cut line is closed
    assert path.read_text().endswith('{"name": "d", "ti\n')
    path.write_bytes(bytes(range(128, 256)))
    with pytest.raises(ValueError, match="rows.jsonl: not a rows file"):
        read_rows(path)
