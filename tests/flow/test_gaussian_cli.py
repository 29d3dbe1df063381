"""``neuroflow flow gaussian`` and the area demo."""
from __future__ import annotations

import json

import pytest

from neuroflow import cli


def test_flow_gaussian_json(capsys, tmp_path):
    plot = tmp_path / "run.png"
    code = cli.main(["flow", "gaussian", "--input-dim", "4", "--teacher-width", "2", "--student-width", "2",
                     "--activation", "erf", "--seed", "3", "--json", "--quiet", "--plot", str(plot)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("loss", "gnorm", "converged", "time_s", "evaluation_ms", "teacher_best_cosines"):
        assert key in out
    assert out["method"] == "closed" and out["n_params"] == 10
    if out["converged"]:
        assert out["gnorm"] <= 1e-10
    assert plot.stat().st_size > 0


def test_flow_gaussian_readable_and_bad_input(capsys):
    assert cli.main(["flow", "gaussian", "--input-dim", "3", "--teacher-width", "1", "--student-width", "1",
                     "--activation", "softplus", "--quiet", "--max-iterations-ode", "500"]) == 0
    out = capsys.readouterr().out
    assert "softplus" in out and "quadrature" in out and "gnorm" in out
    assert cli.main(["flow", "gaussian", "--activation", "tanh", "--method", "closed", "--quiet"]) == 2
    assert "no closed form" in capsys.readouterr().err


def test_an_activation_the_method_cannot_integrate_names_the_method_asked_and_the_flag_to_use(capsys):
    for act, method, words in [("relu", "series", "not smooth enough for the Hermite series"),
                               ("relu", "quadrature", "not smooth enough for Gauss–Hermite quadrature"),
                               ("tanh", "closed", "no closed form for activation 'tanh'")]:
        assert cli.main(["flow", "gaussian", "--activation", act, "--method", method, "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"neuroflow: error: --activation {act}, --method {method}: ") and words in err, err
        assert err.endswith(f"use --method {'quadrature' if act == 'tanh' else 'closed'}") and "method=" not in err
        assert len(err.splitlines()) == 1


def test_flow_demo_part_quick(tmp_path, capsys):
    from neuroflow.flow.cli import demo

    lines = demo(tmp_path, quick=True, seed=0)
    said = capsys.readouterr().out
    assert "finite data" in said and "infinite data" in said  # it says what it does as it goes
    assert any("gnorm" in line and "a minimum" not in line for line in lines)
    assert "-> a minimum" in "\n".join(lines)
    names = {p.name for p in tmp_path.glob("*.png")}
    assert names == {"flow_teacher_student.png", "flow_gaussian_relu_closed.png", "flow_gaussian_tanh_series.png"}


@pytest.mark.parametrize("verb", ["train", "gaussian"])
def test_a_plot_that_fails_to_write_keeps_the_result(verb, tmp_path, capsys, monkeypatch):
    """flow gaussian drew --plot before it saved --out, so a plot that failed to write (a full disk, the folder
    removed meanwhile) lost the trained result with it; both verbs now save the result first."""
    from neuroflow import cli
    import neuroflow.flow.plots as plots

    def failing(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plots, "plot_train", failing)
    out = tmp_path / "r.json"
    argv = ["flow", verb, "--quiet", "--out", str(out), "--plot", str(tmp_path / "p.png"), "--max-iterations-ode", "3",
            "--max-iterations-optim", "2"] + (["--n-samples", "50"] if verb == "train" else ["--input-dim", "3"])
    assert cli.main(argv) == 2
    assert "No space left on device" in capsys.readouterr().err
    from neuroflow.flow import TrainResult

    assert TrainResult.load(out).ode_iterations == 3


@pytest.mark.parametrize("verb", ["train", "gaussian"])
@pytest.mark.parametrize("with_out", [True, False])
def test_ctrl_c_while_the_plot_is_drawn_says_where_the_result_is(verb, with_out, tmp_path, capsys, monkeypatch):
    """Ctrl-C while --plot was drawn, after --out had been saved, ended in 'interrupted; nothing written (this
    command writes its results only when it finishes)' beside the finished result file; it now says where the
    result is (exit 130). Without --out nothing was written, and the line says so."""
    from neuroflow import cli
    from neuroflow.flow import TrainResult
    import neuroflow.flow.plots as plots

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "plot_train", interrupted)
    out = tmp_path / "r.json"
    argv = ["flow", verb, "--quiet", "--plot", str(tmp_path / "p.png"), "--max-iterations-ode", "3",
            "--max-iterations-optim", "2"] + (["--n-samples", "50"] if verb == "train" else ["--input-dim", "3"])
    assert cli.main(argv + (["--out", str(out)] if with_out else [])) == 130
    err = capsys.readouterr().err.strip()
    if with_out:
        assert err == f"interrupted while drawing {tmp_path / 'p.png'}; the result is in {out}"
        assert TrainResult.load(out).ode_iterations == 3
    else:
        assert err.startswith("interrupted; nothing written") and not list(tmp_path.iterdir())


def test_a_large_gaussian_student_trained_without_a_hessian_is_not_refused_for_one(capsys):
    """flow gaussian counted the student's Hessian (4 P^2 numbers) in every run, and timed one evaluation of it, so
    a student of 100100 parameters, which "auto" trains with DOP853 and L-BFGS, was refused as needing 299 GiB; the
    Hessian now counts (and is timed) only where train takes one, and the line says which evaluation was timed."""
    from neuroflow.flow.gaussian.experiment import gaussian_run_memory

    assert gaussian_run_memory(1000, 4, 100) < 2**30
    assert gaussian_run_memory(1000, 4, 100, method_optim="newton") > 200 * 2**30
    assert cli.main(["flow", "gaussian", "--input-dim", "1000", "--student-width", "100", "--max-iterations-ode", "1",
                     "--max-iterations-optim", "1", "--quiet", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)
    assert (p["n_params"], p["method_ode"], p["method_optim"], p["evaluation"]) == (100100, "DOP853", "lbfgs",
                                                                                  "loss+gradient")
    assert cli.main(["flow", "gaussian", "--quiet", "--json", "--max-iterations-ode", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["evaluation"] == "loss+gradient+Hessian"
