"""The shared CLI pieces: one-line errors naming the flag, number and path types, parallel_map."""
from __future__ import annotations

import argparse
import os
import time

import pytest

from neuroflow import cliutil
from neuroflow._utils import FIGURE_SUFFIXES
from neuroflow.parallel import SchedulerError, parallel_map


def _parser():
    p = cliutil.Parser(prog="neuroflow test")
    p.add_argument("--x", type=cliutil.number(0, 1))
    p.add_argument("--n", type=cliutil.integer(1))
    p.add_argument("--plot", type=cliutil.output_file(FIGURE_SUFFIXES))
    p.add_argument("--out", type=cliutil.output_dir())
    return p


@pytest.mark.parametrize("argv, flag", [
    (["--x", "nan"], "--x"), (["--x", "inf"], "--x"), (["--x", "5"], "--x"), (["--x", "a"], "--x"),
    (["--n", "0"], "--n"), (["--n", "-3"], "--n"), (["--n", "1.5"], "--n"), (["--n", "nan"], "--n"),
])
def test_bad_numbers_one_line_naming_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"argument {flag}:" in err and "Traceback" not in err


@pytest.mark.parametrize("flag", ["--x", "--n"])
def test_a_bad_value_of_thousands_of_characters_is_cut_in_the_error_line(flag, capsys):
    """A 5000-character value was echoed whole: one 'line' of 5000 characters."""
    with pytest.raises(SystemExit):
        _parser().parse_args([flag, "9" * 5000 + "x"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 300 and f"argument {flag}: expected" in err and "9..." in err
    threads = cliutil.environment_problems({"OMP_NUM_THREADS": "7" * 5000})
    assert len(threads) == 1 and len(threads[0]) < 300


def test_good_numbers():
    a = _parser().parse_args(["--x", "0.5", "--n", "1e3"])
    assert a.x == 0.5 and a.n == 1000


def test_output_paths(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    bad = [["--plot", str(tmp_path)], ["--plot", str(f / "x.png")], ["--plot", str(tmp_path / "x.txt")],
           ["--out", str(f)], ["--out", str(f / "sub")]]
    for argv in bad:
        with pytest.raises(SystemExit):
            _parser().parse_args(argv)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"argument {argv[0]}:" in err, (argv, err)
    ok = _parser().parse_args(["--plot", str(tmp_path / "new" / "deeper" / "a.png"), "--out", str(tmp_path / "o")])
    assert ok.plot.name == "a.png" and not ok.plot.parent.exists()  # checked, nothing created


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(ValueError, match="not writable"):
        cliutil.check_output_file(ro / "x.png", "--plot")


def _job(seed, n):
    import numpy as np

    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    return float(np.linalg.eigvalsh(a @ a.T).sum())


def test_parallel_map_same_numbers_locally_and_in_order():
    jobs = [(s, 30) for s in range(5)]
    seen = []
    one = parallel_map(_job, jobs, on_result=lambda i, r: seen.append(i))
    two = parallel_map(_job, jobs, n_jobs=2)
    assert one == two and seen == list(range(5))
    with pytest.raises(ValueError, match="n_jobs"):
        parallel_map(_job, jobs, n_jobs=0)


def test_parallel_map_unreachable_scheduler_names_address():
    pytest.importorskip("distributed")
    with pytest.raises(SchedulerError, match="127.0.0.1:9"):
        parallel_map(_job, [(0, 3)], scheduler="tcp://127.0.0.1:9", timeout=2)


def test_errors_and_warnings_reach_the_terminal_on_one_line(capsys, monkeypatch):
    from neuroflow import cli

    assert cliutil.one_line("model.pt: bad\n\nPlease file an issue:\n  details") == \
        "model.pt: bad Please file an issue: details"
    assert cliutil.fail("x.wav: cut\nshort") == 2
    assert capsys.readouterr().err == "neuroflow: error: x.wav: cut short\n"
    assert cli._one_line_warning("skipping a.ogg:\nheader", UserWarning, "f.py", 1) == \
        "neuroflow: warning: skipping a.ogg: header\n"

    def raises(args):  # a verb that meets bad input whose library message runs to two lines
        raise ValueError("corpus: broken\nsecond line")

    parser = argparse.Namespace(func=raises)
    monkeypatch.setattr(cli, "build_parser",
                        lambda areas: type("P", (), {"parse_known_args": lambda self, a: (parser, [])})())
    assert cli.main(["anything"]) == 2
    assert capsys.readouterr().err == "neuroflow: error: corpus: broken second line\n"


def test_a_size_past_the_memory_ends_in_one_line(capsys, monkeypatch):
    import argparse

    from neuroflow import cli

    # refused up front from an estimate, naming the flags behind it
    assert cli.main(["identify", "make-teacher", "--out", "unused.npz", "--input-dim", "100000000",
                     "--width", "100000000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("neuroflow: error: --input-dim, --width: this run needs about")

    # a MemoryError no estimate caught: one line too
    def huge(args):
        raise MemoryError("Unable to allocate 71.1 PiB for an array")

    parser = argparse.ArgumentParser(prog="neuroflow")
    parser.set_defaults(func=huge)
    monkeypatch.setattr(cli, "build_parser", lambda areas: parser)
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("neuroflow: error: not enough memory (Unable to allocate")


def test_ctrl_c_in_a_verb_exits_130_with_one_line(capsys, monkeypatch):
    from neuroflow import cli

    def interrupted(args):
        raise KeyboardInterrupt

    parser = argparse.Namespace(func=interrupted)
    monkeypatch.setattr(cli, "build_parser",
                        lambda areas: type("P", (), {"parse_known_args": lambda self, a: (parser, [])})())
    assert cli.main(["anything"]) == 130
    # not a terminal: no blank line; a verb that reaches this handler kept nothing (verbs that keep partial results
    # catch Ctrl-C themselves and say what they kept)
    assert capsys.readouterr().err == ("interrupted; nothing written (this command writes its results only when it "
                                       "finishes)\n")


@pytest.mark.filterwarnings("ignore:.*The PostScript backend does not support transparency")  # the fill's alpha
@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg", ".eps"])
def test_a_plot_is_the_same_bytes_every_time(tmp_path, suffix):
    from neuroflow._utils import pyplot, save_figure

    plt = pyplot()

    def draw(name):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [2, 0, 1], label="curve")
        ax.fill_between([0, 1, 2], 0, 1, alpha=0.3)  # clip paths: SVG ids from a salt
        ax.legend()
        return save_figure(fig, tmp_path / name / f"plot{suffix}").read_bytes()  # EPS holds its file name

    first = draw("a")
    time.sleep(1.1)  # a creation date would now differ
    assert draw("b") == first


def test_describe_differences_names_each_setting_with_both_values():
    """The refusals to resume another run's file (maze checkpoints, the vad benchmark's progress, identify's kept rows)
    each formatted "k A there, B now" themselves; one helper now, a float count shown as the number it is."""
    from neuroflow._utils import describe_differences

    then, now = {"n_episodes": 20, "threads": 1.0, "task": "tmaze", "seed": 0}, {"n_episodes": 30, "threads": 2.0,
                                                                               "seed": 0, "extra": [1, 2]}
    assert describe_differences(then, now) == ("extra unset there, [1, 2] now; n_episodes 20 there, 30 now; task "
                                               "'tmaze' there, unset now; threads 1 there, 2 now")
    assert describe_differences(then, now, limit=2) == "extra unset there, [1, 2] now; n_episodes 20 there, 30 now; " \
                                                       "2 more"
    assert describe_differences(then, now, ["threads"], label=lambda k: "--" + k) == "--threads 1 there, 2 now"
    assert describe_differences(then, dict(then)) == ""
