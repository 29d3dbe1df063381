import json
import subprocess
import sys

from neuroflow.cli import main


def test_info_json_reports_backends_without_importing_juliacall(capsys):
    assert main(["info", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["version"]
    assert out["backends"]["numpy"] is True
    assert set(out["backends"]) == {"numpy", "torch", "julia"}
    assert isinstance(out["julia_reason"], str) and out["julia_reason"]
    # a fresh interpreter: `neuroflow info` must not import juliacall (or torch)
    code = "import sys; from neuroflow.cli import main; main(['info']); print(sorted(m for m in ('juliacall','torch') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_unknown_backend_is_a_clear_error():
    import pytest

    from neuroflow.backend import resolve_backend

    with pytest.raises(ValueError, match="backend: expected one of"):
        resolve_backend("fortran")


def test_every_demo_part_has_its_expected_time_and_no_stale_entries():
    from neuroflow.cli import AREAS, DEMO_SECONDS, _area_modules

    parts = {m.__name__ for area in AREAS for m in _area_modules(area) if getattr(m, "demo", None) is not None}
    assert parts == set(DEMO_SECONDS)
    assert all(0 < quick <= full for quick, full in DEMO_SECONDS.values())


def test_a_backend_variable_of_no_backend_is_named_not_called_an_argument(monkeypatch, capsys):
    import pytest

    from neuroflow.backend import resolve_backend

    monkeypatch.setenv("NEUROFLOW_BACKEND", "fortran")
    with pytest.raises(ValueError, match="^environment variable NEUROFLOW_BACKEND: expected one of"):  # "backend:"
        resolve_backend(None)
    assert main(["info"]) == 0  # the command that shows the set-up says so too
    assert "environment variable NEUROFLOW_BACKEND: expected one of" in capsys.readouterr().out


def test_ctrl_c_and_errors_with_stderr_closed_leave_stdout_to_the_results(monkeypatch, capsys):
    """Started with 2>&- (sys.stderr None), Ctrl-C in a verb ended in AttributeError (None.isatty) and an error line
    went to stdout among the results (print(file=None)); both notes are now dropped, the exit statuses kept."""
    import neuroflow.flow.cli as flow_cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(flow_cli, "_bench", interrupted)
    monkeypatch.setattr(sys, "stderr", None)
    assert main(["flow", "bench"]) == 130
    monkeypatch.setenv("OMP_NUM_THREADS", "abc")
    assert main(["flow", "bench"]) == 2  # an environment problem: cliutil.fail
    assert capsys.readouterr().out == ""


def test_ctrl_c_while_the_cli_loads_is_one_line_and_exit_130():
    """The console script imported neuroflow.cli (numpy, the shared helpers) before main() could catch anything:
    Ctrl-C in that first tenth of a second ended in an import traceback."""
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["neuroflow"] == "neuroflow.__main__:main"
    code = ("import sys\n"
            "class Interrupt:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'neuroflow.cli':\n"
            "            raise KeyboardInterrupt\n"
            "sys.meta_path.insert(0, Interrupt())\n"
            "from neuroflow.__main__ import main\n"
            "sys.exit(main())\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 130, run.stderr
    assert run.stderr == "interrupted; nothing written\n" and run.stdout == ""
    # and the entry point runs the CLI when nothing interrupts it
    ok = subprocess.run([sys.executable, "-m", "neuroflow", "--version"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("neuroflow ")
