"""`neuroflow maze ...` verbs and the demo hook."""
import json

from neuroflow.cli import main


def test_maze_tmaze_json(capsys, tmp_path):
    rc = main(["maze", "tmaze", "--seeds", "20", "--episodes", "30", "--seed", "3", "--json", "--quiet",
               "--plot", str(tmp_path / "t.png")])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["steps_mean"]) == 30 and len(out["steps_std"]) == 30 and len(out["value_map"]) == 9
    assert out["time_s"] > 0 and out["synapse"] == "memristor" and (tmp_path / "t.png").stat().st_size > 0


def test_maze_watermaze_and_ablation_readable(capsys, tmp_path):
    assert main(["maze", "watermaze", "--synapse", "ideal", "--seeds", "2", "--episodes", "5", "--quiet"]) == 0
    assert "watermaze, ideal synapses, 2 seeds x 5 episodes" in capsys.readouterr().out
    rc = main(["maze", "ablation", "--seeds", "20", "--episodes", "40", "--sweep", "--sigmas", "0,0.1", "--quiet",
               "--json", "--plot", str(tmp_path / "ab.png")])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["ablation"]) >= {"closed_loop", "open_loop"} and len(out["noise_sweep"]["sigmas"]) == 2
    assert (tmp_path / "ab_sweep.png").exists()
    assert main(["maze", "ablation", "--task", "watermaze", "--seeds", "2", "--episodes", "4", "--tail", "2",
                 "--quiet"]) == 0
    assert "water maze self-correction, write noise 5 %, 2 seeds x 4 episodes" in capsys.readouterr().out


def test_maze_floor_json(capsys):
    rc = main(["maze", "floor", "--starts", "60", "--search-starts", "30", "--sweeps", "1", "--graded-sweeps", "0",
               "--rollouts", "1", "--json", "--quiet"])
    assert rc == 0
    f = json.loads(capsys.readouterr().out)["floor"]
    assert f["n_starts"] == 60 and sum(f["optimal_histogram"].values()) == 60
    # no policy beats the exact optimum from the same starts
    assert 1.0 <= f["optimal_mean"] <= f["softmax_mean"]
    assert main(["maze", "floor", "--starts", "0", "--quiet"]) == 2
    assert "n_starts" in capsys.readouterr().err


def test_maze_bad_input_exit_codes(capsys):
    assert main(["maze", "tmaze", "--temperature", "0", "--quiet"]) == 2
    assert "temperature" in capsys.readouterr().err


def test_maze_demo_hook(tmp_path):
    from neuroflow.rl.cli import demo

    lines = demo(tmp_path, quick=True, seed=0)
    assert any(line.startswith("water maze floor: the optimal policy needs") for line in lines)
    assert {p.name for p in tmp_path.iterdir()} >= {"maze_tmaze.png", "maze_watermaze.png", "maze_self_correction.png"}
