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


def test_every_size_of_the_speech_sources_is_the_same():
    """`vad sources --install`'s size is said in the README (twice), its --help, the realspeech docstring and the
    recipe: all the same (the help said 150 MB and the quick start 130 MB after the music packages made it 370)."""
    import re

    from neuroflow.cli import build_parser

    parser = build_parser()
    vad = next(a for a in parser._actions if hasattr(a, "choices") and a.choices and "vad" in a.choices).choices["vad"]
    sources = next(a for a in vad._actions if hasattr(a, "choices") and a.choices and "sources" in a.choices)
    texts = {"README.md": (ROOT / "README.md").read_text(),
             "vad sources --help": sources.choices["sources"].format_help(),
             "realspeech.py": (ROOT / "python/neuroflow/vad/realspeech.py").read_text(),
             "recipe.json": (ROOT / "python/neuroflow/vad/models/recipe.json").read_text()}
    said = r"sources --install[^.]{0,160}?about (\d+) MB|install the missing packages[^)]*about (\d+) MB"
    sizes = {}
    for name, text in texts.items():
        for match in re.finditer(said, " ".join(text.split())):
            sizes.setdefault(name, set()).add(match.group(1) or match.group(2))
    assert set(sizes) == set(texts), sizes
    assert len(set().union(*sizes.values())) == 1, sizes


def test_the_area_table_names_every_verb():
    """The README's first table lists each area's CLI verbs: all of them (it left out maze floor, sweep and
    fit-device, identify make-teacher and vad sources)."""
    import argparse

    from neuroflow.cli import build_parser

    def verbs(parser):
        return next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})

    table = (ROOT / "README.md").read_text().split("## Quick start", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    missing = [f"{area} {verb}" for area, parser in verbs(build_parser()).items() for verb in verbs(parser)
               if not any(f"`{area} {verb}`" in row or f"`neuroflow {area} {verb}`" in row for row in rows)]
    assert not missing, f"README's area table leaves out {missing}"
