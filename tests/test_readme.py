"""The README's quick start is what CI runs: its test command must appear verbatim in .ci/run."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quick_start_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```bash")[1:]
    return [b.split("```", 1)[0].strip() for b in blocks]


def test_quick_start_is_two_commands_and_ci_runs_the_test_command():
    commands = _quick_start_commands()
    assert len(commands) == 2, commands
    install_demo, tests = commands
    assert "neuroflow demo" in install_demo and "torch==2.13.0" in install_demo
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines(), f"{tests!r} is not a line of .ci/run"
