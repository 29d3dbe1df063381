"""Hostile input to `vad detect`, the detection and streaming API and their plots and environment (a fifth pass):
odd file names, path objects, environment variables that libraries read, each ends in the result or in one line
naming what is wrong."""
from __future__ import annotations

import numpy as np
import pytest

from neuroflow.cli import main


@pytest.fixture
def clip(tmp_path):
    import soundfile as sf

    def write(name: str) -> str:
        path = tmp_path / name
        sf.write(path, (0.01 * np.random.default_rng(0).standard_normal(3200)).astype(np.float32), 16000)
        return str(path)

    return write


# ----------------------------------------------------------------------------- plots
def test_a_file_name_with_dollar_signs_is_drawn_as_it_is(clip, tmp_path, capsys):
    # matplotlib read what stood between two $ as TeX: "\frac" ended `vad detect --plot` after the work with
    # "ParseSyntaxException: Expected \frac{num}{den}", a line that named neither the file nor --plot
    assert main(["vad", "detect", clip(r"a$\frac$b.wav"), "--plot", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").stat().st_size > 0, capsys.readouterr().err


def test_a_system_name_with_dollar_signs_is_drawn_as_it_is(tmp_path):
    from types import SimpleNamespace

    from neuroflow.vad.plots import plot_hter

    result = SimpleNamespace(system=r"snu:m$\sqrt$", per_snr={"0": SimpleNamespace(HTER=0.1)})
    plot_hter([result], tmp_path / "h.png", title=r"on $\frac$")  # `vad compare --plot` of a model file so named
    assert (tmp_path / "h.png").stat().st_size > 0
