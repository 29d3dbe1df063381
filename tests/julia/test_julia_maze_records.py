"""The maze kernels' records (numba NamedTuples) and their Julia structs agree field for field, in order, so the
bridge can pass them positionally; and the Julia place-cell activities are cut at 1e-12 like the reference."""
import re
from pathlib import Path

import pytest

from neuroflow.rl.kernels import MazeDevices, MazeState, TDParams

TD_JL = Path(__file__).resolve().parents[2] / "julia" / "NeuroFlow" / "src" / "td.jl"


def _struct_fields(name: str) -> list[str]:
    text = TD_JL.read_text()
    m = re.search(rf"^struct {name}(?:\{{[^}}]*\}})?\n(.*?)^end", text, re.M | re.S)
    assert m, f"struct {name} not found in td.jl"
    return re.findall(r"^\s+(\w+)(?:::\S+)?\s*$", m.group(1), re.M)


@pytest.mark.parametrize("record", [TDParams, MazeDevices, MazeState], ids=lambda r: r.__name__)
def test_julia_structs_mirror_the_numba_records(record):
    assert _struct_fields(record.__name__) == list(record._fields)


def test_julia_place_features_zero_tiny_activities_like_numba():
    body = TD_JL.read_text().split("function place_features!", 1)[1].split("\nend", 1)[0]
    assert re.search(r"v >= 1e-12 \? v : 0\.0", body), "place_features! must zero activities below 1e-12"
