"""Water-maze floor (exact shortest paths, optimal values, softmax policies) and the water-maze self-correction."""
import math

import numpy as np
import pytest

from neuroflow.rl.envs import WATERMAZE_MOVES
from neuroflow.rl.experiments import noise_sweep, self_correction, value_map_error
from neuroflow.rl.kernels import wm_move
from neuroflow.rl.place_cells import PlaceCells
from neuroflow.rl.optimal import (_bfs_plain, _graded_rows, sample_starts, search_softmax_policy, softmax_policy_steps,
                                  watermaze_optimal_values, watermaze_steps_to_goal)


def _brute_force(x, y, depth):
    """Fewest moves found by trying every move sequence up to ``depth`` (no merging, no bound); None if more."""
    frontier = [(x, y)]
    for k in range(1, depth + 1):
        nxt = []
        for px, py in frontier:
            for a in range(8):
                dx, dy = 1.5 * WATERMAZE_MOVES[a]
                nx, ny, _, done = wm_move(px, py, dx, dy, 6.0, 0.5, 10)
                if done:
                    return k
                nxt.append((nx, ny))
        frontier = nxt
    return None


def test_shortest_paths_are_exact():
    starts = sample_starts(40, seed=3)
    near = np.array([[0.0, 1.9], [1.0, 2.6], [-3.0, 0.5], [0.0, -1.0], [2.0, 3.5], [-0.4, 3.9]])
    pts = np.vstack([near, starts])
    n = watermaze_steps_to_goal(pts)
    for (x, y), k in zip(pts, n):
        bf = _brute_force(x, y, 3)
        assert (k == bf) if bf is not None else (k > 3), (x, y, k, bf)
        assert k >= math.ceil((math.hypot(x, y) - 0.5) / 1.5 - 1e-9)     # a move covers at most 1.5
    assert n[0] == 1 and n[3] == 1                          # just above the platform; inside the U under it
    # the bounded search (iterative deepening) agrees with the plain level-by-level search
    plain = [_bfs_plain(x, y, WATERMAZE_MOVES, 1.5, 6.0, 0.5, 20) for x, y in starts[:15]]
    assert np.array_equal(plain, n[len(near):len(near) + 15])
    # below the U the platform is reached around the obstacle: more steps than the straight-line bound
    below = watermaze_steps_to_goal([[0.0, -3.5]])[0]
    assert below > math.ceil((3.5 - 0.5) / 1.5) + 2
    assert watermaze_steps_to_goal([[2.0, 0.0], [0.1, 0.1]]).tolist() == [-1, 0]   # in a wall; on the platform


def test_optimal_values_and_watermaze_value_error():
    v, mask = watermaze_optimal_values(0.975, 25)
    assert v.shape == mask.shape == (25, 25)
    assert not mask[12, 12] and np.isnan(v[12, 12])                                 # platform centre
    assert np.nanmax(v) == 1.0 and np.nanmin(v) == pytest.approx(0.975 ** 9, abs=0.03)
    err0 = value_map_error(np.zeros((2, 121)), task="watermaze")
    assert np.allclose(err0, np.sqrt(np.mean(v[mask] ** 2)))
    w = np.random.default_rng(0).uniform(0, 1, (1, 121))                            # against a given map
    axis = np.linspace(-6, 6, 25)
    own = (PlaceCells.grid()(np.stack(np.meshgrid(axis, axis), -1)) @ w[0])
    assert value_map_error(w, task="watermaze", target=own)[0] < 1e-12
    assert value_map_error(w, task="watermaze", target=own + 0.1)[0] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="target"):
        value_map_error(w, task="watermaze", target=np.zeros((5, 5)))
    with pytest.raises(ValueError, match="critic_weights"):
        value_map_error(np.zeros((2, 9)), task="watermaze")
    with pytest.raises(ValueError, match="task"):
        value_map_error(np.zeros((2, 9)), task="gridworld")


def test_softmax_policy_never_beats_the_optimum_and_search_does_not_get_worse():
    starts = sample_starts(25, seed=1)
    opt = watermaze_steps_to_goal(starts)
    theta = np.zeros((121, 8))
    theta[:, 0] = 1.0                                                               # always north
    steps = softmax_policy_steps(theta, starts, temperature=0.15, seed=0)
    assert np.all(steps >= opt) and np.all(steps <= 300)
    assert np.array_equal(steps, softmax_policy_steps(theta, starts, temperature=0.15, seed=0))   # seeded
    theta2, hist = search_softmax_policy(theta, starts[:4], sweeps=1, max_steps=10)
    assert len(hist) == 2 and hist[1] <= hist[0]
    assert set(np.unique(theta2)) <= {0.0, 1.0} and np.all(theta2.sum(1) <= 3)
    row = np.array([1.0, 0.5, 0, 0, 0, 0, 0, 0])
    graded = np.array(_graded_rows(row))                  # one weight moved to another multiple of 0.25
    assert graded.shape == (8 * 5 - 8, 8) and np.all((graded != row).sum(1) == 1)
    assert np.all(np.isin(graded, [0.0, 0.25, 0.5, 0.75, 1.0]))
    with pytest.raises(ValueError, match="rows"):
        search_softmax_policy(theta, starts[:2], rows="continuous")
    with pytest.raises(ValueError, match="theta"):
        softmax_policy_steps(np.zeros((9, 2)), starts)


def test_watermaze_ablation_returns_both_loops_paired():
    ab = self_correction(0.1, task="watermaze", n_seeds=3, n_episodes=8, seed=0, tail=5)
    assert ab.task == "watermaze" and ab.closed.steps.shape == ab.open.steps.shape == (3, 8)
    s = ab.summary()
    c, o, d = s["closed_loop"], s["open_loop"], s["difference"]
    assert ab.window(0, 3)["closed_minus_open"] == pytest.approx(np.mean(ab.closed.steps[:, :3] - ab.open.steps[:, :3]))
    per_c = ab.closed.steps[:, -5:].mean(1)
    per_o = ab.open.steps[:, -5:].mean(1)
    assert d["final_steps_mean"] == pytest.approx(np.mean(per_c - per_o))
    err_c = value_map_error(ab.closed.seed_critic_weights, 0.975, "watermaze")
    err_o = value_map_error(ab.open.seed_critic_weights, 0.975, "watermaze")
    assert c["value_map_error_mean"] == pytest.approx(err_c.mean()) and o["value_map_error_mean"] == pytest.approx(
        err_o.mean())
    assert d["value_map_error_mean"] == pytest.approx(np.mean(err_c - err_o))
    assert not np.array_equal(ab.closed.seed_critic_weights, ab.open.seed_critic_weights)
    sw = noise_sweep((0.0,), task="watermaze", n_seeds=2, n_episodes=4, tail=2)
    assert sw.params["task"] == "watermaze" and sw.closed_steps.shape == (1,)
    with pytest.raises(ValueError, match="task"):
        self_correction(0.1, task="gridworld")
