"""T-maze, water maze and place cells."""
import re

import numpy as np
import pytest

from neuroflow.rl import Box, Discrete, PlaceCells, TMaze, WaterMaze


def test_tmaze_optimal_path_and_gym_api():
    env = TMaze()
    obs, info = env.reset(seed=0)
    assert obs == 0 and info["step"] == 0 and env.action_space == Discrete(2)
    for k in range(5):
        obs, r, term, trunc, _ = env.step(1)
        assert r == 0.0 and not term and not trunc
    obs, r, term, trunc, info = env.step(1)
    assert (obs, r, term, trunc, info["step"]) == (6, 1.0, True, False, 6)
    with pytest.raises(ValueError, match="reset"):
        env.step(0)


def test_tmaze_walls_arms_and_truncation():
    env = TMaze(max_steps=3)
    env.reset()
    assert env.step(0)[0] == 0                       # back at the start wall: stay
    env.reset()
    for a in (1, 1, 1):
        obs, _, term, trunc, _ = env.step(a)
    assert obs == 3 and trunc and not term
    assert TMaze().transitions[4].tolist() == [7, 5] and TMaze().transitions[8].tolist() == [7, 8]
    with pytest.raises(ValueError, match="action"):
        TMaze().step(2)
    with pytest.raises(ValueError, match="action"):
        TMaze().step(True)


def test_watermaze_geometry_and_moves():
    assert WaterMaze.blocked(2.0, 0.0) and WaterMaze.blocked(0.0, -2.0) and WaterMaze.blocked(6.5, 0)
    assert not WaterMaze.blocked(0.0, 1.0) and not WaterMaze.blocked(2.0, 2.5)
    env = WaterMaze()
    obs, _ = env.reset(options={"start": [0.0, 1.6]})
    obs, r, term, _, _ = env.step(4)                 # south, into the platform from above
    assert term and r == 1.0 and obs == pytest.approx([0.0, 0.1])
    env.reset(options={"start": [0.0, -1.0]})
    obs, r, term, _, _ = env.step(4)                 # south onto the U's bottom bar: cut at the last free point
    assert not term and r == 0.0 and -1.5 < obs[1] < -1.0 and not WaterMaze.blocked(*obs)
    env.reset(options={"start": [5.5, 5.5]})
    obs, *_ = env.step(1)                            # north-east into the corner: stays inside
    assert np.all(np.abs(obs) <= 6)
    with pytest.raises(ValueError, match="action"):
        env.step(8)
    with pytest.raises(ValueError, match="start"):
        env.reset(options={"start": [2.0, 0.0]})


def test_watermaze_random_starts_are_free():
    env = WaterMaze()
    for i in range(200):
        obs, _ = env.reset(seed=i)
        assert env.observation_space.contains(obs) and not WaterMaze.blocked(*obs) and not WaterMaze.on_platform(*obs)
    a, _ = WaterMaze().reset(seed=3)
    b, _ = WaterMaze().reset(seed=3)
    assert np.array_equal(a, b)


def test_place_cells():
    pc = PlaceCells.grid()
    assert pc.n_features == 121 and pc.centres[0].tolist() == [-6, -6] and pc.centres[-1].tolist() == [6, 6]
    x = pc([0.0, 0.0])
    assert x.max() == pytest.approx(1 / (0.75 * np.sqrt(2 * np.pi))) and x.argmax() == 60
    assert pc(np.zeros((5, 2))).shape == (5, 121)
    oh = PlaceCells.one_hot(9)
    assert oh(3).tolist() == np.eye(9)[3].tolist()
    with pytest.raises(ValueError, match="obs"):
        oh(9)
    with pytest.raises(ValueError, match="obs"):
        pc([1.0, 2.0, 3.0])


@pytest.mark.parametrize("make, start", [
    (lambda: TMaze(0), "max_steps: expected a positive integer"),        # truncated every episode after one step
    (lambda: TMaze(2.7), "max_steps: expected a positive integer"),      # silently 2
    (lambda: WaterMaze("300"), "max_steps: expected a positive integer"),  # int()'s bare 'invalid literal'
    (lambda: Discrete(0), "n: expected a positive integer"),             # sample() failed in numpy
    (lambda: Box(float("nan"), 1.0, (2,)), "low: expected a finite number"),
    (lambda: Box(2.0, 1.0, (2,)), "low, high: expected low <= high"),   # contains() was False for everything
])
def test_environments_and_spaces_name_bad_arguments(make, start):
    with pytest.raises(ValueError, match="^" + re.escape(start)):
        make()


def test_sizes_past_the_memory_are_named_before_allocating():
    """PlaceCells(n=1e6) and Crossbar(1e6, 1e6) ended in numpy's MemoryError ('Unable to allocate 7.28 TiB')."""
    from neuroflow.memristor import Crossbar

    with pytest.raises(ValueError, match="^n: this run needs about"):
        PlaceCells(n=10**6)
    with pytest.raises(ValueError, match="^rows, cols: this run needs about"):
        Crossbar(10**6, 10**6)


@pytest.mark.parametrize("call", [
    lambda: Discrete(3).sample(-1),
    lambda: Box(0.0, 1.0, (2,)).sample(-1),
    lambda: WaterMaze().sample_start(-1),
    lambda: WaterMaze().sample_start(1.5),
])
def test_sample_errors_name_the_rng_argument(call):
    # sample(rng) / sample_start(rng) said "seed: expected ...", an argument the caller never passed
    with pytest.raises(ValueError, match="^rng: expected a non-negative integer, None or a numpy Generator"):
        call()
