"""`neuroflow maze ...` verbs: results, bad flags (one line naming the flag, before any work), Ctrl-C, the demo."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuroflow.cli import main

REPO = Path(__file__).resolve().parents[2]


def _rc(argv) -> int:
    """Exit status of ``neuroflow ARGV`` in-process (argparse errors exit, later errors return)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_maze_tmaze_json(capsys, tmp_path):
    rc = main(["maze", "tmaze", "--seeds", "20", "--episodes", "30", "--seed", "3", "--json", "--quiet",
               "--plot", str(tmp_path / "t.png")])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["steps_mean"]) == 30 and len(out["steps_std"]) == 30 and len(out["value_map"]) == 9
    assert out["time_s"] > 0 and out["synapse"] == "memristor" and (tmp_path / "t.png").stat().st_size > 0
    e = out["energy"]
    assert len(e["per_episode"]["crossbar_energy_J"]) == 30 and e["total_per_seed"]["crossbar_energy_J"] > 0
    assert e["per_update"]["digital_energy_J"] > 0 and not out["interrupted"]


def test_maze_watermaze_and_ablation_readable(capsys, tmp_path):
    assert main(["maze", "watermaze", "--synapse", "ideal", "--seeds", "2", "--episodes", "5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "watermaze, ideal synapses, 2 seeds x 5 episodes" in out and "digital processor" in out
    assert "crossbar" not in out                                  # ideal synapses have no devices to count
    rc = main(["maze", "ablation", "--seeds", "20", "--episodes", "40", "--sweep", "--sigmas", "0", "0.1", "--quiet",
               "--json", "--plot", str(tmp_path / "ab.png"), "--min-update", "0.001"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["ablation"]) >= {"closed_loop", "open_loop"} and len(out["noise_sweep"]["sigmas"]) == 2
    assert out["noise_sweep"]["params"]["min_update"] == 0.001
    assert (tmp_path / "ab_sweep.png").exists()
    assert main(["maze", "ablation", "--task", "watermaze", "--seeds", "2", "--episodes", "4", "--tail", "2",
                 "--quiet"]) == 0
    assert "water maze self-correction, write noise 5 %, 2 seeds x 4 episodes" in capsys.readouterr().out


def test_min_update_flag_reaches_the_learner(capsys):
    assert main(["maze", "watermaze", "--synapse", "ideal", "--seeds", "1", "--episodes", "1", "--quiet", "--json",
                 "--min-update", "0.0025"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["min_update"] == 0.0025
    assert main(["maze", "tmaze", "--seeds", "1", "--episodes", "1", "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["min_update"] == 0.0      # default as before


def test_maze_floor_json(capsys):
    rc = main(["maze", "floor", "--starts", "60", "--search-starts", "8", "--sweeps", "1", "--graded-sweeps", "0",
               "--rollouts", "1", "--field-samples", "2", "--json", "--quiet"])
    assert rc == 0
    f = json.loads(capsys.readouterr().out)["floor"]
    assert f["n_starts"] == 60 and sum(f["optimal_histogram"].values()) == 60
    assert f["stopped_by"] in ("sweeps", "converged")
    # no policy beats the exact optimum from the same starts
    assert 1.0 <= f["optimal_mean"] <= f["softmax_mean"]


def _measurement_csv(tmp_path, rows):
    path = tmp_path / "m.csv"
    path.write_text("pulse,conductance_uS,direction\n" + "\n".join(rows) + "\n")
    return str(path)


_SWEEP = ["maze", "sweep", "--seeds", "2", "--episodes", "2", "--quiet"]


@pytest.mark.parametrize("argv, flag", [
    (["maze", "tmaze", "--seeds", "0"], "--seeds"),
    (["maze", "tmaze", "--seeds", "1.5"], "--seeds"),
    (["maze", "tmaze", "--episodes", "-3"], "--episodes"),
    (["maze", "tmaze", "--alpha", "1e308"], "--alpha"),
    (["maze", "tmaze", "--alpha", "0"], "--alpha"),
    (["maze", "tmaze", "--alpha", "nan"], "--alpha"),
    (["maze", "tmaze", "--temperature", "0"], "--temperature"),
    (["maze", "tmaze", "--temperature", "inf"], "--temperature"),
    (["maze", "tmaze", "--gamma", "1.5"], "--gamma"),
    (["maze", "tmaze", "--min-update", "-0.1"], "--min-update"),
    (["maze", "tmaze", "--min-update", "nan"], "--min-update"),
    (["maze", "tmaze", "--device", "hfo2"], "--device"),
    (["maze", "tmaze", "--device", "missing.json"], "--device"),
    (["maze", "tmaze", "--synapse", "optical"], "--synapse"),
    (["maze", "tmaze", "--seed", "-1"], "--seed"),
    (["maze", "tmaze", "--seed-batch", "0"], "--seed-batch"),
    (["maze", "tmaze", "--plot", "{tmp}"], "--plot"),
    (["maze", "tmaze", "--plot", "{file}/x.png"], "--plot"),
    (["maze", "tmaze", "--checkpoint", "{file}"], "--checkpoint"),
    (["maze", "watermaze", "--episodes", "0"], "--episodes"),
    (["maze", "watermaze", "--alpha", "2"], "--alpha"),
    (["maze", "ablation", "--sigmas", "a,b"], "--sigmas"),
    (["maze", "ablation", "--sigmas", "0", "nan"], "--sigmas"),
    (["maze", "ablation", "--sigma", "-0.1"], "--sigma"),
    (["maze", "ablation", "--sigma", "0.1", "--device", "ideal"], "--sigma"),
    (["maze", "ablation", "--seeds", "0"], "--seeds"),
    (["maze", "ablation", "--tail", "0"], "--tail"),
    (["maze", "ablation", "--n-jobs", "0"], "--n-jobs"),
    (["maze", "ablation", "--min-update", "2"], "--min-update"),
    (["maze", "floor", "--starts", "0"], "--starts"),
    (["maze", "floor", "--search-starts", "1e9"], "--search-starts"),
    (["maze", "floor", "--sweeps", "-1"], "--sweeps"),
    (["maze", "floor", "--rollouts", "0"], "--rollouts"),
    (["maze", "floor", "--temperature", "nan"], "--temperature"),
    (["maze", "floor", "--max-time", "0"], "--max-time"),
    (["maze", "floor", "--field-samples", "0"], "--field-samples"),
    ([*_SWEEP, "--alphas", "0.1", "x"], "--alphas"),
    ([*_SWEEP, "--temperatures", "-1"], "--temperatures"),
    ([*_SWEEP, "--devices", "ideal", "bogus"], "--devices"),
    ([*_SWEEP, "--n-jobs", "0"], "--n-jobs"),
    ([*_SWEEP, "--out", "{file}"], "--out"),
    ([*_SWEEP, "--min-update", "inf"], "--min-update"),
    (["maze", "fit-device", "{tmp}/none.csv", "--out", "{tmp}/d.json"], "FILE"),
    (["maze", "fit-device", "{file}", "--out", "{tmp}"], "--out"),
    (["maze", "fit-device", "{file}", "--out", "{tmp}/d.txt"], "--out"),
])
def test_bad_flags_are_named_in_one_line(argv, flag, capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    argv = [a.format(tmp=tmp_path, file=afile) for a in argv]
    t0 = time.perf_counter()
    assert _rc(argv + (["--quiet"] if "--quiet" not in argv and argv[1] != "fit-device" else [])) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and flag in err and "Traceback" not in err, err
    assert "n_seeds" not in err and "n_episodes" not in err
    assert time.perf_counter() - t0 < 5        # refused before any work


def test_a_run_that_cannot_fit_in_memory_is_refused_up_front(capsys):
    assert _rc(["maze", "tmaze", "--seeds", "100000000", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--seeds 100000000 x --episodes 200" in err and "GiB" in err and "n_seeds" not in err
    assert _rc(["maze", "floor", "--starts", "1000000", "--rollouts", "1000", "--quiet"]) == 2
    assert "--starts 1000000 x --rollouts 1000" in capsys.readouterr().err
    assert _rc(["maze", "sweep", "--seeds", "10000000", "--alphas", "0.1", "0.2", "--quiet"]) == 2
    assert "--seeds 10000000 x --episodes 200" in capsys.readouterr().err


@pytest.mark.parametrize("rows, problem", [
    ([f"{k},{30 + 0.1 * k},set" for k in range(5)] + [f"{k},{30.5 - 0.1 * k},reset" for k in range(5)],
     "too few pulses"),
    ([f"{k},{50 - 0.1 * k},set" for k in range(21)] + [f"{k},{48 - 0.1 * k},reset" for k in range(21)],
     "non-monotone conductance"),
    ([f"{k},{30 + 0.1 * k},set" for k in range(21)], "no RESET sweep"),
    ([f"{k},{30 + 0.1 * k}," for k in range(21)], "direction"),
    (["1,2"], "line 2"),
])
def test_bad_measurements_are_named(rows, problem, tmp_path, capsys):
    path = _measurement_csv(tmp_path, rows)
    assert _rc(["maze", "fit-device", path, "--out", str(tmp_path / "d.json"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert problem in err and "\n" not in err, err


def test_microsiemens_in_a_siemens_column_are_named(tmp_path, capsys):
    path = tmp_path / "units.csv"  # the values of a conductance_uS column under the siemens header
    path.write_text("pulse,conductance,direction\n" + "\n".join(
        [f"{k},{30 + 0.5 * k},set" for k in range(21)] + [f"{k},{40 - 0.5 * k},reset" for k in range(21)]) + "\n")
    assert _rc(["maze", "fit-device", str(path), "--out", str(tmp_path / "d.json"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "units.csv: conductances around 35 S" in err and "conductance_uS" in err


def test_fit_device_refuses_to_write_over_its_input_and_names_binary_files(tmp_path, capsys):
    from neuroflow.memristor import get_device, simulate_measurement, write_measurement_csv

    raw = write_measurement_csv(simulate_measurement(get_device("portner2025")[0], seed=1), tmp_path / "raw.csv")
    kept = tmp_path / "raw.json"  # any .json given as input, a measurement or not, is never written over
    assert _rc(["maze", "fit-device", str(raw), "--out", str(kept), "--quiet"]) == 0
    before = kept.read_bytes()
    assert _rc(["maze", "fit-device", str(kept), "--out", str(tmp_path / "." / "raw.json"), "--quiet"]) == 2
    assert "is one of the measurement files" in capsys.readouterr().err and kept.read_bytes() == before
    for name in ("bytes.json", "bytes.csv"):
        (tmp_path / name).write_bytes(bytes(range(128, 256)))
        assert _rc(["maze", "fit-device", str(tmp_path / name), "--out", str(tmp_path / "d.json"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{name}: not a text file" in err


def test_fit_device_writes_a_device_file_every_verb_accepts(tmp_path, capsys):
    from neuroflow.memristor import get_device, simulate_measurement, write_measurement_csv

    csv = write_measurement_csv(simulate_measurement(get_device("portner2025")[4], seed=1), tmp_path / "dev.csv")
    out = tmp_path / "dev.json"
    assert main(["maze", "fit-device", str(csv), "--out", str(out), "--name", "mine", "--json",
                 "--plot", str(tmp_path / "fit.png")]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["fits"][0]["device"]["name"] == "mine" and (tmp_path / "fit.png").exists()
    assert main(["maze", "tmaze", "--device", str(out), "--seeds", "3", "--episodes", "3", "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["device"] == ["mine"]
    assert main(["maze", "ablation", "--device", str(out), "--seeds", "2", "--episodes", "3", "--tail", "1",
                 "--quiet"]) == 0
    assert "mine" in capsys.readouterr().out
    assert main([*_SWEEP, "--devices", str(out), "ideal", "--alphas", "0.2", "--json"]) == 0
    assert [p["device"] for p in json.loads(capsys.readouterr().out)["points"]] == ["mine", "ideal"]


def test_sweep_writes_points_and_resumes(tmp_path, capsys):
    argv = [*_SWEEP, "--alphas", "0.1", "0.2", "--seed-batch", "1", "--out", str(tmp_path), "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in tmp_path.glob("point_*.npz")) == ["point_000.npz", "point_001.npz"]
    assert first["computed_points"] == [0, 1]
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["computed_points"] == [] and again["points"] == first["points"]


def test_unreachable_scheduler_fails_fast_with_the_address(tmp_path):
    from neuroflow.parallel import SchedulerError
    from neuroflow.rl.sweep import maze_sweep

    t0 = time.perf_counter()
    with pytest.raises(SchedulerError, match="tcp://127.0.0.1:9"):
        maze_sweep(n_seeds=2, n_episodes=2, scheduler="tcp://127.0.0.1:9", timeout=1, out=tmp_path)
    assert time.perf_counter() - t0 < 10 and list(tmp_path.iterdir()) == []


def test_sigint_keeps_finished_seed_batches(tmp_path, interruptible_popen):
    """A real Ctrl-C: exit 130, JSON flagged, finished seed batches on disk; rerunning resumes from them."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"), NUMBA_NUM_THREADS="1")
    # 2000 batches: far more work than the time a signal takes to arrive, however fast the machine
    argv = [sys.executable, "-m", "neuroflow", "maze", "watermaze", "--synapse", "ideal", "--seeds", "4000",
            "--episodes", "400", "--seed-batch", "2", "--checkpoint", str(tmp_path / "new"), "--json", "--quiet"]
    proc = interruptible_popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ckpt = tmp_path / "new" / "watermaze_ideal.npz"
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert ckpt.exists(), proc.communicate()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    finally:  # a run that ignores the signal must not go on eating a core under the rest of the suite
        proc.kill()
    assert proc.returncode == 130, err
    payload = json.loads(out)
    assert payload["interrupted"] is True and 0 < payload["completed_seeds"] < 4000
    import numpy as np

    with np.load(ckpt) as z:
        done = z["done_seeds"]
        assert done.sum() % 2 == 0 and done.sum() >= 2          # whole batches only
        assert np.all(np.isfinite(z["steps"][done])) and np.all(np.isnan(z["steps"][~done]))


def test_maze_demo_hook(tmp_path):
    from neuroflow.rl.cli import demo

    lines = demo(tmp_path, quick=True, seed=0)
    assert any(line.startswith("water maze floor: the optimal policy needs") for line in lines)
    assert any(line.startswith("energy per TD update") for line in lines)
    assert any(line.startswith("device fitting:") for line in lines)
    assert {p.name for p in tmp_path.iterdir()} >= {"maze_tmaze.png", "maze_watermaze.png", "maze_self_correction.png"}


def test_ctrl_c_in_the_floor_search_keeps_the_policy_found_so_far(capsys, monkeypatch):
    """The search takes minutes (about 7 by default); Ctrl-C in it printed 'nothing written' and lost them. Now the
    best policy found so far is scored and printed, stopped_by 'interrupted', exit 130."""
    from neuroflow.rl import optimal

    real, calls = optimal._softmax_rollouts, [0]

    def interrupted_once(*args):
        calls[0] += 1
        if calls[0] == 40:  # in the search, after some cells
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(optimal, "_softmax_rollouts", interrupted_once)
    rc = main(["maze", "floor", "--starts", "60", "--search-starts", "8", "--sweeps", "2", "--graded-sweeps", "1",
               "--rollouts", "1", "--field-samples", "2", "--json", "--quiet"])
    assert rc == 130 and calls[0] > 40
    f = json.loads(capsys.readouterr().out)["floor"]
    assert f["stopped_by"] == "interrupted" and 1.0 <= f["optimal_mean"] <= f["softmax_mean"]
    assert len(f["search_history"]) >= 2
    # the public search has no field to say it was cut short: Ctrl-C goes on to its caller
    calls[0] = 0
    enc = optimal.PlaceCells.grid()
    theta = optimal.np.ones((enc.n_features, optimal.WATERMAZE_MOVES.shape[0]))
    with pytest.raises(KeyboardInterrupt):
        optimal.search_softmax_policy(theta, optimal.sample_starts(8, 0), sweeps=1)


def test_ablation_keeps_finished_seed_batches_and_resumes_them(tmp_path, capsys, monkeypatch):
    """An interrupted `maze ablation` lost both arms' work (a half-run comparison is refused, and there was no
    checkpoint): now --checkpoint keeps each arm's finished seed batches, Ctrl-C exits 130 in one line saying what is
    kept, a rerun with the same settings resumes and prints the JSON of an uninterrupted run, and other settings
    are refused in one line naming them."""
    from neuroflow.rl.agent import ActorCritic

    argv = ["maze", "ablation", "--seeds", "6", "--episodes", "20", "--seed", "3", "--json", "--quiet"]
    assert main(argv) == 0
    whole = json.loads(capsys.readouterr().out)
    real, calls = ActorCritic._advance, []

    def ctrl_c_in_open_loop(self, e_end, st):
        if self.synapse == "memristor-open-loop":
            calls.append(e_end)
            if len(calls) == 25:            # the second seed batch of the open loop (20 chunks a batch)
                raise KeyboardInterrupt
        real(self, e_end, st)

    monkeypatch.setattr(ActorCritic, "_advance", ctrl_c_in_open_loop)
    ck = tmp_path / "ck"
    resumable = [*argv, "--checkpoint", str(ck), "--seed-batch", "2"]
    assert main(resumable) == 130
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("interrupted; the finished seed batches (closed "
                                                                 "loop 6 of 6 seeds, open loop 2 of 6 seeds)")
    monkeypatch.undo()
    assert main(resumable) == 0
    assert json.loads(capsys.readouterr().out) == whole
    assert main([*resumable[:-4], "--episodes", "30", *resumable[-4:]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--checkpoint: " in err and "n_episodes 20 there, 30 now" in err


def test_ablation_sweep_resumes_its_noise_levels_from_the_checkpoint(tmp_path, capsys, monkeypatch):
    """`maze ablation --sweep --checkpoint DIR`: Ctrl-C in a noise level keeps the finished levels' and that level's
    finished seed batches (DIR/sweep); the rerun gives the JSON of an uninterrupted run (timings apart)."""
    from neuroflow.rl.agent import ActorCritic

    argv = ["maze", "ablation", "--seeds", "4", "--episodes", "10", "--sweep", "--sigmas", "0", "0.1", "--json",
            "--quiet"]

    def untimed(payload):
        payload["noise_sweep"].pop("time_s")
        return payload

    assert main(argv) == 0
    whole = untimed(json.loads(capsys.readouterr().out))
    real, calls = ActorCritic._advance, []

    def ctrl_c_at_the_second_level(self, e_end, st):
        if self.devices[0].name == "linear sigma=0.1" and self.synapse == "memristor-open-loop":
            calls.append(e_end)
            if len(calls) == 15:            # the second seed batch (10 chunks a batch)
                raise KeyboardInterrupt
        real(self, e_end, st)

    monkeypatch.setattr(ActorCritic, "_advance", ctrl_c_at_the_second_level)
    resumable = [*argv, "--checkpoint", str(tmp_path / "ck"), "--seed-batch", "2"]
    assert main(resumable) == 130
    cut = json.loads(capsys.readouterr().out)
    assert cut["interrupted"] and cut["noise_sweep"]["sigmas"] == [0.0]
    import numpy as np

    with np.load(tmp_path / "ck" / "sweep" / "sigma_0.1" / "ablation_tmaze_open_loop.npz") as z:
        assert z["done_seeds"].tolist() == [True, True, False, False]
    monkeypatch.undo()
    assert main(resumable) == 0
    assert untimed(json.loads(capsys.readouterr().out)) == whole


def test_a_refused_checkpoint_names_only_the_settings_that_block_a_resume():
    """The refusal listed a differing --seed-batch beside the settings that did differ, though a resume takes any seed
    batch: the user was sent to give back a flag that did not matter."""
    import json

    from neuroflow.rl.runs import settings_differences

    saved = json.dumps({"n_episodes": 20, "seed_batch": 2, "seed": 0})
    now = json.dumps({"n_episodes": 30, "seed_batch": 4, "seed": 0})
    assert settings_differences(saved, now) == " (n_episodes 20 there, 30 now)"
    assert settings_differences(saved, json.dumps({"n_episodes": 20, "seed_batch": 4, "seed": 0})) == ""


def test_ablation_refuses_a_later_arm_or_sweep_level_s_checkpoint_before_any_work(tmp_path, capsys, monkeypatch):
    """The open loop's file (and each sweep level's) was read only when that arm or level started: a file of other
    settings there was refused after the closed loop (and the ablation and the levels before it) had run, the work
    thrown away. Every arm's and level's file is now checked before the first seed batch runs."""
    from neuroflow.rl.agent import ActorCritic

    base = ["maze", "ablation", "--seeds", "2", "--episodes", "4", "--json", "--quiet"]
    assert main([*base, "--seed", "1", "--checkpoint", str(tmp_path / "other")]) == 0
    capsys.readouterr()
    monkeypatch.setattr(ActorCritic, "_advance", lambda *a: pytest.fail("ran before the refusal"))
    ck = tmp_path / "ck"
    ck.mkdir()
    (tmp_path / "other" / "ablation_tmaze_open_loop.npz").rename(ck / "ablation_tmaze_open_loop.npz")
    assert main([*base, "--seed", "2", "--checkpoint", str(ck)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ablation_tmaze_open_loop.npz was written by a run with other settings" in err
    assert "seed 1 there, 2 now" in err and sorted(p.name for p in ck.iterdir()) == ["ablation_tmaze_open_loop.npz"]
    sweep = tmp_path / "sweep_ck"
    (sweep / "sweep" / "sigma_0.1" / "ablation_tmaze_open_loop.npz").mkdir(parents=True)
    assert main([*base, "--sweep", "--sigmas", "0", "0.1", "--checkpoint", str(sweep)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--checkpoint: " in err and "sigma_0.1/ablation_tmaze_open_loop.npz" in err
    assert not list(sweep.glob("*.npz")) and not (sweep / "sweep" / "sigma_0.0").exists()


def test_an_ablation_interrupted_before_any_seed_batch_says_nothing_is_kept(tmp_path, monkeypatch, capsys):
    """Ctrl-C before the first seed batch of `maze ablation --checkpoint` said "the finished seed batches (closed loop
    none, open loop none) are kept"."""
    from neuroflow.rl.agent import ActorCritic

    def ctrl_c(self, e_end, st):
        raise KeyboardInterrupt

    monkeypatch.setattr(ActorCritic, "_advance", ctrl_c)
    ck = tmp_path / "ck"
    assert main(["maze", "ablation", "--seeds", "4", "--episodes", "20", "--json", "--quiet", "--checkpoint", str(ck),
                 "--seed-batch", "2"]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.strip() == f"interrupted; no seed batch had finished, nothing is kept in {ck}"
