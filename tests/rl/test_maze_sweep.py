"""`maze_sweep` on a real Dask cluster (2 worker processes) gives the numbers of the local run."""
import numpy as np
import pytest

from neuroflow.rl import ActorCritic
from neuroflow.rl.sweep import maze_sweep

distributed = pytest.importorskip("distributed")

GRID = dict(alphas=(0.1, 0.2), temperatures=(0.3,), devices=("portner2025", "ideal"), n_seeds=4, n_episodes=12,
            seed_batch=2, seed=7)


def test_local_and_dask_sweeps_agree_and_equal_whole_runs(tmp_path):
    local = maze_sweep("tmaze", **GRID)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster:
        remote = maze_sweep("tmaze", scheduler=cluster.scheduler_address, out=tmp_path, **GRID)
    assert remote.points == local.points and remote.computed == [0, 1, 2, 3]
    np.testing.assert_array_equal(remote.curves, local.curves)
    np.testing.assert_array_equal(remote.final_steps, local.final_steps)
    assert len(list(tmp_path.glob("point_*.npz"))) == 4
    # a grid point is one fit over all its seeds, whatever the batches
    whole = ActorCritic("tmaze", synapse="memristor", alpha=0.2, temperature=0.3).fit(12, 4, seed=7, progress=False)
    np.testing.assert_array_equal(local.curves[2], whole.result_.steps_mean)


def test_bad_grids_are_named():
    for kwargs, word in ((dict(alphas=(0.0,)), "alphas"), (dict(alphas=(1.5,)), "alphas"),
                         (dict(temperatures=(-1.0,)), "temperatures"), (dict(devices=()), "devices"),
                         (dict(devices=("hfo2",)), "device"), (dict(n_seeds=0), "n_seeds")):
        with pytest.raises(ValueError, match=word):
            maze_sweep("tmaze", n_episodes=2, **kwargs)


def test_an_interrupted_sweep_keeps_finished_points(tmp_path, monkeypatch):
    from neuroflow.rl import sweep

    real, calls = sweep._batch_job, {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 3:                 # the first batch of the second grid point
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(sweep, "_batch_job", flaky)
    grid = dict(alphas=(0.1, 0.2), n_seeds=4, n_episodes=5, seed_batch=2)
    cut = sweep.maze_sweep("tmaze", out=tmp_path, **grid)
    assert cut.interrupted and cut.computed == [0] and np.isnan(cut.final_steps[1])
    assert [p.name for p in tmp_path.glob("point_*.npz")] == ["point_000.npz"]
    monkeypatch.undo()
    again = sweep.maze_sweep("tmaze", out=tmp_path, **grid)
    assert again.computed == [1] and not again.interrupted
    np.testing.assert_array_equal(again.curves, sweep.maze_sweep("tmaze", **grid).curves)


def test_a_damaged_point_file_is_computed_again(tmp_path):
    from neuroflow.rl import sweep

    grid = dict(alphas=(0.1,), n_seeds=2, n_episodes=4)
    first = sweep.maze_sweep("tmaze", out=tmp_path, **grid)
    point = tmp_path / "point_000.npz"
    for damaged in (b"", point.read_bytes()[:200]):
        point.write_bytes(damaged)
        with pytest.warns(UserWarning, match="point_000.npz: not a finished sweep point"):
            again = sweep.maze_sweep("tmaze", out=tmp_path, **grid)
        assert again.computed == [0]
        np.testing.assert_array_equal(again.curves, first.curves)
