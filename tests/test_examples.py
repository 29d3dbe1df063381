"""Every script in examples/ runs in its --quick mode and writes at least one plot, so examples never rot."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_quick(script: Path, tmp_path: Path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert list(tmp_path.rglob("*.png")), f"{script.name} --quick wrote no plot into --out"


SEEDED = [p for p in EXAMPLES if '"--seed"' in p.read_text()]
BAD_FLAGS = ([(p, ["--out", "{file}/x"], "--out") for p in EXAMPLES]
             + [(p, ["--seed", "-1"], "--seed") for p in SEEDED]
             + [(EXAMPLES[[p.stem for p in EXAMPLES].index("infinite_data")], ["--activation", "nope"], "--activation"),
                (EXAMPLES[[p.stem for p in EXAMPLES].index("fit_device")], ["{tmp}/none.csv"], "files"),
                (EXAMPLES[[p.stem for p in EXAMPLES].index("fit_device")], ["{file}"], "files"),
                (EXAMPLES[[p.stem for p in EXAMPLES].index("fit_device")], ["{tmp}/devices.json", "--out", "{tmp}"],
                 "files: a measurement in --out")])


@pytest.mark.parametrize("script, argv, flag", BAD_FLAGS,
                         ids=[f"{p.stem}-{' '.join(a)}" for p, a, _ in BAD_FLAGS])
def test_example_refuses_a_bad_flag_in_one_line(script: Path, argv, flag, tmp_path: Path):
    """A bad flag, path or file ends in one line naming it, exit status 2, before any work (a negative --seed, an
    --out under a regular file, a measurement file that is not one were library tracebacks after parsing)."""
    file = tmp_path / "file.csv"
    file.write_text("a,b\n1,2\n")
    (tmp_path / "devices.json").write_text("{}\n")  # a measurement where the script writes its device file
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(script.parents[1] / "python"))
    proc = subprocess.run([sys.executable, str(script), *[a.format(tmp=tmp_path, file=file) for a in argv]],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr[-2000:]
    assert f"argument {flag}" in proc.stderr


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_checks_its_default_out_before_any_work(script: Path, tmp_path: Path):
    """Without --out the default folder (neuroflow-out/...) is checked while parsing too: it was a Path default,
    which argparse does not pass through the type, so a default under a file failed after the run (the water maze
    after minutes of its floor search)."""
    (tmp_path / "neuroflow-out").write_text("a file where the default folder would go\n")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(script.parents[1] / "python"))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "argument --out: " in proc.stderr, proc.stderr


@pytest.mark.parametrize("name", ["tmaze", "watermaze", "fit_device"])
def test_rl_example_stops_when_ctrl_c_ends_a_run(name, tmp_path, monkeypatch):
    """ActorCritic.fit catches Ctrl-C and returns the seeds it finished: the examples went on (the water maze to
    minutes of its floor search), printed NaN steps as results and drew them; now they stop with one line."""
    import runpy
    import types

    import neuroflow.rl

    class Interrupted:
        def __init__(self, *args, **kwargs):
            pass

        def fit(self, *args, **kwargs):
            self.result_ = types.SimpleNamespace(interrupted=True)
            return self

    monkeypatch.setattr(neuroflow.rl, "ActorCritic", Interrupted)
    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--quick", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="interrupted"):
        runpy.run_path(str(Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"), run_name="__main__")
    assert not (tmp_path / f"{name}.png").exists()


@pytest.mark.parametrize("name", ["gradient_flow", "infinite_data"])
def test_flow_example_stops_when_ctrl_c_ends_a_run(name, tmp_path, monkeypatch):
    """train catches Ctrl-C and returns the point it had: infinite_data went on with the next of its 15 runs (each
    Ctrl-C ended one), gradient_flow on to Adam; now they stop with one line."""
    import runpy
    import types

    import neuroflow
    from neuroflow.flow import TrainResult

    class Cut(types.SimpleNamespace):  # what train returns after Ctrl-C, read through TrainResult's own rule
        interrupted = TrainResult.interrupted

    def interrupted(*args, **kwargs):
        return Cut(ode_stopped_by="interrupted", optim_stopped_by="skipped (interrupted)")

    monkeypatch.setattr(neuroflow, "train", interrupted)
    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--quick", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="interrupted"):
        runpy.run_path(str(Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"), run_name="__main__")
