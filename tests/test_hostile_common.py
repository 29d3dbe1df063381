"""Hostile input met by every area's command line: paths the system refuses, folders nothing can be created in,
scheduler addresses, JSON nested past Python's limit, memory estimates that must name the right flags."""
import os
import sys

import pytest

from neuroflow._utils import file_problem, read_json
from neuroflow.cli import main
from neuroflow.cliutil import check_output_dir, check_output_file

LONG = "a" * 300  # one path component over the 255-byte limit of Linux file systems


def _one_error_line(capsys, code: int, flag: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert flag in err, err
    return err


@pytest.mark.parametrize("argv, flag", [
    (["flow", "train", "--out", LONG + ".json"], "--out"),
    (["flow", "bench", "--out", LONG + ".json"], "--out"),
    (["vad", "corpus", "--out", LONG], "--out"),
    (["vad", "detect", LONG + ".wav"], "file"),
    (["identify", "run", "--teacher", LONG + ".npz"], "--teacher"),
    (["maze", "sweep", "--out", LONG], "--out"),
    (["maze", "tmaze", "--device", LONG + ".json"], "--device"),
])
def test_a_path_component_over_255_bytes_is_one_line(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    _one_error_line(capsys, exit_.value.code, flag)


def test_path_checks_turn_the_systems_refusal_into_value_errors():
    assert file_problem(LONG).startswith("cannot be looked up")
    with pytest.raises(ValueError, match="^out: .*not a usable path"):
        check_output_file(LONG + "/x.json", "out")
    with pytest.raises(ValueError, match="^out: .*not a usable path"):
        check_output_dir(LONG, "out")


@pytest.mark.skipif(not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"),
                    reason="needs Linux's /proc, where nothing can be created even by root")
def test_an_output_under_proc_is_refused_before_any_work(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["flow", "bench", "--repeats", "1", "--out", "/proc/neuroflow-x/y.json"])
    err = _one_error_line(capsys, exit_.value.code, "--out")
    assert "nothing can be created in /proc" in err
    check_output_file(tmp_path / "new" / "y.json", "out")  # a writable folder passes, and the probe leaves nothing
    assert list(tmp_path.iterdir()) == []


def test_an_empty_output_path_says_so():
    with pytest.raises(ValueError, match="^out: expected a file path, got ''"):
        check_output_file("", "out")


_CLUSTER_VERBS = [["maze", "sweep", "--seeds", "2", "--episodes", "5"],
                  ["maze", "ablation", "--seeds", "2", "--episodes", "5", "--sweep"],
                  ["vad", "corpus", "--out", "c"],
                  ["identify", "bench"]]


@pytest.mark.parametrize("extra, words", [
    (["--scheduler", "foo"], ("--scheduler", "tcp://127.0.0.1:8786")),
    (["--scheduler", "host:99999"], ("--scheduler", "tcp://127.0.0.1:8786")),
    # taken and did nothing: the cluster's workers run the jobs
    (["--n-jobs", "2", "--scheduler", "tcp://127.0.0.1:8786"], ("--n-jobs, --scheduler: ", "would do nothing")),
])
@pytest.mark.parametrize("verb", _CLUSTER_VERBS, ids=lambda v: " ".join(v[:2]))
def test_scheduler_flags_are_checked_while_parsing(verb, extra, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(verb + extra)
    err = _one_error_line(capsys, exit_.value.code, words[0])
    assert words[1] in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_json_nested_past_pythons_limit_names_the_file(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match=r"deep\.json: recipe is nested too deeply"):
        read_json(deep, "recipe")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{")
    with pytest.raises(ValueError, match=r"bad\.json: recipe is not UTF-8"):
        read_json(bad, "recipe")
    bad.write_text("{")
    with pytest.raises(ValueError, match=r"bad\.json: recipe is not valid JSON"):
        read_json(bad, "recipe")


def test_a_recursion_error_no_reader_caught_is_one_line(capsys, monkeypatch):
    import argparse

    import neuroflow.cli as cli

    def deep(args):
        raise RecursionError("maximum recursion depth exceeded")

    parser = argparse.ArgumentParser(prog="neuroflow")
    parser.set_defaults(func=deep)
    monkeypatch.setattr(cli, "build_parser", lambda areas: parser)
    assert main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuroflow: error: input nested too deeply") and len(err.splitlines()) == 1


def test_the_memory_estimate_of_flow_train_names_every_size_behind_it(capsys):
    # 10^7 probes of 10^5 inputs (16 TB); --input-dim 100000 alone was refused only for the P x P Hessian that
    # the methods "auto" picks for its 800017 parameters (DOP853, L-BFGS) never build, and now trains
    code = main(["flow", "train", "--quiet", "--input-dim", "100000", "--n-samples", "10000000"])
    err = _one_error_line(capsys, code, "--input-dim")
    assert "--n-samples" in err and "GiB" in err


@pytest.mark.parametrize("signum, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_ctrl_c_that_a_demo_part_catches_still_ends_the_demo(signum, code, capsys, tmp_path, monkeypatch):
    """`train` and the maze agents end their own work on Ctrl-C and return what they have; the demo must still stop,
    exit 130 and keep only the parts that finished. SIGTERM (kill, a batch system's time limit) likewise, exit 143:
    it killed the demo on the spot."""
    import signal
    import types

    import neuroflow.cli as cli

    ran = []

    def finished(outdir, quick, seed):
        ran.append("first")
        return ["first part done"]

    def caught(outdir, quick, seed):  # like train: Ctrl-C ends the work, partial numbers come back
        ran.append("second")
        try:
            os.kill(os.getpid(), getattr(signal, signum))
        except KeyboardInterrupt:
            pass
        return ["numbers of an interrupted run"]

    def never(outdir, quick, seed):
        ran.append("third")
        return []

    modules = {"flow": [types.SimpleNamespace(__name__="neuroflow.flow.cli", demo=finished)],
               "identify": [types.SimpleNamespace(__name__="neuroflow.identify.cli", demo=caught)],
               "maze": [types.SimpleNamespace(__name__="neuroflow.rl.cli", demo=never)]}
    monkeypatch.setattr(cli, "_area_modules", lambda area: iter(modules.get(area, [])))
    assert main(["demo", "--out", str(tmp_path)]) == code
    assert ran == ["first", "second"]
    summary = (tmp_path / "summary.json").read_text()
    assert "first part done" in summary and "interrupted run" not in summary
    assert f"interrupted; the plots and summary.json of the 1 finished part are in {tmp_path.resolve()}" in \
        capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the demo's handler is gone
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_scheduler_address_where_nothing_listens_fails_fast():
    import socket
    import time

    from neuroflow.parallel import SchedulerError, connect

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(SchedulerError, match=f"no Dask scheduler answered at 'tcp://127.0.0.1:{port}'"):
        connect(f"tcp://127.0.0.1:{port}", timeout=5)
    assert time.perf_counter() - t0 < 4


def test_a_ctrl_c_python_cannot_raise_in_the_demo_is_noted_not_printed(capsys):
    import signal

    from neuroflow.cli import _interrupt_noted

    class Finaliser:
        def __del__(self):  # where Python can only report an exception ("Exception ignored in ...")
            raise KeyboardInterrupt

    hook = sys.unraisablehook
    with _interrupt_noted() as interrupted:
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            pass
        Finaliser()
        assert interrupted()
    assert "Exception ignored" not in capsys.readouterr().err
    assert sys.unraisablehook is hook


@pytest.mark.parametrize("make_argv, flag", [
    (lambda tmp: ["flow", "train", "--n-samples", "50", "--plot", str(tmp / "link.png")], "--plot"),
    (lambda tmp: ["flow", "train", "--n-samples", "50", "--out", str(tmp / "link.json")], "--out"),
    (lambda tmp: ["vad", "corpus", "--out", str(tmp / "link" / "corpus")], "--out"),
    (lambda tmp: ["identify", "make-teacher", "--out", str(tmp / "link.npz")], "--out"),
])
def test_an_output_through_a_broken_symbolic_link_is_refused_before_any_work(make_argv, flag, capsys, tmp_path):
    for name in ("link", "link.png", "link.json", "link.npz"):
        (tmp_path / name).symlink_to(tmp_path / "missing" / name)  # a write through it fails, and a mkdir of it too
    with pytest.raises(SystemExit) as exit_:
        main(make_argv(tmp_path) + ["--quiet"])
    err = _one_error_line(capsys, exit_.value.code, flag)
    assert "broken symbolic link" in err
    assert not (tmp_path / "missing").exists()


def test_an_unknown_option_names_the_verb_whose_help_to_read(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["flow", "bench", "--plot", "x.png"])
    err = _one_error_line(capsys, exit_.value.code, "--plot")
    assert err == "neuroflow flow bench: error: unrecognized arguments: --plot x.png (see neuroflow flow bench --help)"


def test_parallel_map_starts_no_more_processes_than_jobs(monkeypatch):
    import joblib

    import neuroflow.parallel as parallel

    asked = []

    class Spy(joblib.Parallel):
        def __init__(self, n_jobs=None, **kw):
            asked.append(n_jobs)
            super().__init__(n_jobs=n_jobs, **kw)

    monkeypatch.setattr(joblib, "Parallel", Spy)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 8)
    assert parallel.parallel_map(abs, [-1, -2, -3], n_jobs=1000) == [1, 2, 3]
    assert asked == [3]
    assert parallel.parallel_map(abs, [-1], n_jobs=-1) == [1] and asked == [3]  # one job: no pool at all


def test_parallel_map_stopped_early_says_nothing_of_unused_jobs(recwarn):
    from neuroflow.parallel import parallel_map

    def stop(i, result):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        parallel_map(abs, list(range(-8, 0)), n_jobs=2, on_result=stop)
    import gc

    gc.collect()  # joblib warns of unused or cancelled jobs when its generator is closed or collected
    said = [str(w.message) for w in recwarn]
    assert not [m for m in said if "not used" in m or "cancelled" in m], said


def _writers():
    """Every library function that writes a result file, as (file name, call writing it to a path)."""
    import numpy as np

    from neuroflow._utils import print_json, pyplot, save_figure
    from neuroflow.flow import train
    from neuroflow.flow.baselines import adam
    from neuroflow.identify import Teacher, save_teacher
    from neuroflow.memristor import get_device, save_devices, simulate_measurement, write_measurement_csv
    from neuroflow.mlp import MLP
    from neuroflow.rl.runs import save_checkpoint

    net = MLP(2, [(2, "tanh", True), (1, "identity", True)], backend="numpy")
    X, Y = np.ones((4, 2)), np.zeros((4, 1))
    res = train(net, net.init_params(0), X, Y, maxiterations_ode=2, maxiterations_optim=0)
    ad = adam(net, net.init_params(0), X, Y, maxiterations=2)
    teacher = Teacher("tanh", [np.ones((2, 2)), np.ones((1, 2))], [None, None])
    device = get_device("portner2025")[0]
    meas = simulate_measurement(device, n_cycles=2, seed=0)

    def figure(path):
        fig, ax = pyplot().subplots()
        ax.plot([0, 1])
        save_figure(fig, path)

    return [("r.json", res.save), ("a.json", ad.save), ("t.npz", lambda p: save_teacher(teacher, p)),
            ("d.json", lambda p: save_devices(device, p)), ("m.csv", lambda p: write_measurement_csv(meas, p)),
            ("f.png", figure), ("b.json", lambda p: print_json({"a": 1}, out=p)),
            ("c.npz", lambda p: save_checkpoint(p, "key", *(np.zeros((2, 3)),) * 4, np.zeros(2, bool)))]


def test_a_write_cut_short_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch, capsys):
    """A full disk (or Ctrl-C, or a crash) in the middle of writing a result must not leave half a file where the
    previous result was: every writer goes through one temporary file and a rename."""
    import builtins
    import errno
    import io

    real_open = builtins.open

    class DiskFull:
        def __init__(self, fh):
            self._fh = fh

        def write(self, data):
            self._fh.write(data[:max(1, len(data) // 2)])
            self._fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self._fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._fh.close()

        def __iter__(self):
            return iter(self._fh)

    def full_open(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        return DiskFull(fh) if any(c in mode for c in "wxa") else fh

    for name, write in _writers():
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        path = folder / name
        path.write_bytes(b"previous result")
        monkeypatch.setattr(builtins, "open", full_open)
        monkeypatch.setattr(io, "open", full_open)
        with pytest.raises(OSError) as exc:
            write(path)
        monkeypatch.undo()
        assert exc.value.filename == str(path) and "No space left" in str(exc.value), (name, exc.value)
        assert path.read_bytes() == b"previous result", name
        assert sorted(p.name for p in folder.iterdir()) == [name], name
        write(path)  # and with room on the disk, the new file replaces it
        assert path.read_bytes() != b"previous result" and path.stat().st_size > 0, name
        assert sorted(p.name for p in folder.iterdir()) == [name], name
    capsys.readouterr()


def test_complex_arrays_are_refused_naming_the_argument():
    """numpy turns a complex array into floats with only a ComplexWarning, dropping the imaginary parts: a complex
    X trained a network on the real parts, a complex probe set identified one, a complex state gave a TD error."""
    import warnings

    import numpy as np

    from neuroflow.identify import ExpandAndCluster
    from neuroflow.memristor import Crossbar, td_error_current
    from neuroflow.mlp import MLP

    net = MLP(2, [(2, "tanh", True), (1, "identity", True)], backend="numpy")
    X = np.ones((6, 2)) + 1j
    critic = Crossbar(3, 1, device="ideal", seed=0)
    calls = {"X": [lambda: net.forward(net.init_params(0), X),
                   lambda: ExpandAndCluster(n_students=4, hidden_sizes=[2]).fit(X, np.ones((6, 1)))],
             "theta": [lambda: net.loss(net.init_params(0) + 0j, X.real, np.ones((6, 1)))],
             "x_t": [lambda: td_error_current(critic, np.ones(3) + 1j, np.ones(3), 1.0, 0.1, 0.9)]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning either
        for name, fns in calls.items():
            for call in fns:
                with pytest.raises(ValueError, match=f"^{name}: expected real numbers, got a complex array"):
                    call()


def test_library_functions_name_an_argument_of_the_wrong_kind(tmp_path):
    """plot_train(5), save_teacher(5, path) and update_cost(5) ended in AttributeErrors deep inside (plot_train's
    after opening a figure it never closed)."""
    import numpy as np

    from neuroflow.flow import plot_train, train
    from neuroflow.identify import save_teacher
    from neuroflow.memristor import update_cost
    from neuroflow.mlp import MLP

    net = MLP(2, [(2, "tanh", True), (1, "identity", True)], backend="numpy")
    X = np.ones((4, 2))
    res = train(net, net.init_params(0), X, X[:, :1], maxiterations_ode=2, maxiterations_optim=0)
    for call, start in [(lambda: plot_train(5, tmp_path / "p.png"), "result: expected a TrainResult, got int"),
                        (lambda: plot_train(res, tmp_path / "p.png", baseline=res), "baseline: expected None or an "
                                                                                    "AdamResult, got TrainResult"),
                        (lambda: plot_train(res, tmp_path / "p.png", cosines="x"), "cosines: expected an array"),
                        (lambda: save_teacher(5, tmp_path / "t.npz"), "teacher: expected a Teacher, got int"),
                        (lambda: update_cost(5), "result: expected a maze run")]:
        with pytest.raises(ValueError, match="^" + start):
            call()
    assert not list(tmp_path.iterdir())


def test_a_result_written_through_a_symbolic_link_goes_where_it_points(tmp_path):
    """Writing through a temporary file and a rename must not replace a link the user made with a plain file."""
    from neuroflow._utils import write_text_atomic

    target = tmp_path / "data" / "real.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_text_atomic(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["real.json"]


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), "10"])
def test_a_scheduler_timeout_that_is_no_positive_number_is_named(timeout):
    """timeout=-1 or NaN was passed to the socket and reported as 'no Dask scheduler answered ... within -1 s'
    (blaming the scheduler); a text timeout ended in a format error."""
    from neuroflow.parallel import parallel_map

    with pytest.raises(ValueError, match="^timeout: expected a positive number of seconds"):
        parallel_map(abs, [-1], scheduler="tcp://127.0.0.1:1", timeout=timeout)


def test_a_second_demo_into_the_same_folder_is_refused_at_once(capsys, tmp_path):
    from neuroflow._utils import exclusive_lock

    # both ran: summary.json listed one run's parts beside plots the other had drawn
    with exclusive_lock(tmp_path / ".neuroflow-demo.lock", "held"):  # a demo in progress
        assert main(["demo", "--quick", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr() == ("", f"neuroflow: error: --out: {tmp_path} is being written by another demo (pid "
                                       f"{os.getpid()}); wait for it to finish or use another folder\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_an_output_flag_at_a_pipe_or_device_is_refused_and_left_as_it_is(tmp_path, capsys):
    import stat

    import soundfile as sf

    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "link.png").symlink_to(tmp_path / "pipe.png")  # as a link to /dev/null would be
    sf.write(tmp_path / "a.wav", [0.0] * 1600, 16000)
    for name in ("pipe.png", "link.png"):
        # the rename put a PNG in the pipe's place (through a link to /dev/null, run as root: the device itself)
        with pytest.raises(SystemExit):
            main(["vad", "detect", str(tmp_path / "a.wav"), "--plot", str(tmp_path / name)])
        _one_error_line(capsys, 2, f"--plot: {tmp_path / name}: is not a regular file")
    assert stat.S_ISFIFO((tmp_path / "pipe.png").stat().st_mode)  # (the API writes into it: atomic_output)


@pytest.mark.parametrize("argv", [["vad", "detect", "no\nsuch.wav"], ["vad", "eval", "--corpus", "no\nsuch"],
                                  ["flow", "train", "--out", "a\nb.txt"]])
def test_a_value_with_a_line_break_is_still_one_error_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_:  # the parser's message was cut in two at the name's line break
        main(argv)
    _one_error_line(capsys, exit_.value.code, "error: argument")


@pytest.mark.skipif(__import__("signal").getsignal(__import__("signal").SIGTERM) is not __import__("signal").SIG_DFL,
                    reason="the test runner handles SIGTERM itself")
def test_sigterm_inside_a_command_is_handled_by_whatever_handles_ctrl_c():
    import signal

    from neuroflow.cli import _terminate_as_interrupt

    noted = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))  # eSpeak's, the demo's
    try:
        with _terminate_as_interrupt() as terminated:
            os.kill(os.getpid(), signal.SIGTERM)  # ended the process at once: nothing said what was kept
        assert noted == [signal.SIGINT] and terminated()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with pytest.raises(KeyboardInterrupt):
        with _terminate_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)


def test_a_folder_where_the_demo_writes_is_named_and_summary_json_checked_first(tmp_path, capsys):
    from neuroflow._utils import write_text_atomic

    (tmp_path / "summary.json").mkdir()  # was "[Errno 21] Is a directory" after the first part's work
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr() == ("", f"neuroflow: error: --out: {tmp_path / 'summary.json'}: is a folder; expected a "
                                       f"file path\n")
    (tmp_path / "plot.png").mkdir()  # a part's plot: the same, in words
    with pytest.raises(IsADirectoryError, match="plot.png: is a folder; expected a file path"):
        write_text_atomic(tmp_path / "plot.png", "x")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_json_file_that_is_a_pipe_is_refused_not_waited_on(tmp_path):
    import signal

    os.mkfifo(tmp_path / "recipe.json")

    def hung(signum, frame):
        raise TimeoutError("read_json waited on a pipe")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        with pytest.raises(ValueError, match="recipe.json: recipe is not a regular file"):  # the read waited forever
            read_json(tmp_path / "recipe.json", "recipe")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two worker processes")
def test_warnings_raised_in_worker_processes_are_raised_in_the_caller():
    import warnings

    from neuroflow.parallel import parallel_map

    # a worker printed them itself in Python's two-line format, once per job, past the command line's one-line form
    with pytest.warns(UserWarning, match="^skipping unreadable source file: a.g722$"):
        assert parallel_map(warnings.warn, [("skipping unreadable source file: a.g722",)] * 2, n_jobs=2) == [None] * 2


def test_a_temporary_left_by_a_write_killed_outright_is_removed_by_the_next_write(tmp_path):
    """kill -9 during an atomic write left its hidden temporary beside the output for good."""
    import signal
    import subprocess

    from neuroflow import __file__ as package
    from neuroflow._utils import _temporary_prefix, write_text_atomic

    out = tmp_path / "r.json"
    code = ("import sys, time; from neuroflow._utils import atomic_output\n"
            "with atomic_output(sys.argv[1]) as fh:\n    fh.write('half'); fh.flush(); print('writing', flush=True)"
            "; time.sleep(60)")
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(package))}
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline() == "writing\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(_temporary_prefix(out)), left
    busy = tmp_path / f"{_temporary_prefix(out)}{os.getpid()}.0123abcd.tmp"  # a write under way: stays
    elsewhere = tmp_path / f".r.json.another-host.{proc.pid}.0123abcd.tmp"  # another machine's: stays
    busy.write_text("")
    elsewhere.write_text("")
    write_text_atomic(out, "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r.json", busy.name, elsewhere.name])
