"""Hostile input, fifth pass, to `flow`, `identify`, `maze` and `memristor` (CLI and Python API): sizes of 1e308,
teachers whose outputs never vary, targets of the wrong kind, hostile environments (MPLBACKEND, MPLCONFIGDIR) and
weight changes past the float range. Each ends in one line naming the flag, file or argument (exit 2), or in a
ValueError naming the argument, before any long work."""
import contextlib
import os
import sys
import warnings

import numpy as np
import pytest

from neuroflow.cli import main


def _rc(argv) -> int:
    """Exit status of ``neuroflow ARGV`` in-process (argparse errors exit, later errors return)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error:" in err and "Traceback" not in err, err
    return err


@pytest.fixture
def teacher(tmp_path):
    from neuroflow.identify import save_teacher
    from neuroflow.identify.problems import make_teacher

    path = tmp_path / "t.npz"
    save_teacher(make_teacher(4, 3, "tanh", seed=0), path)
    return path


# ----------------------------------------------------------------------------- sizes of 1e308
@pytest.mark.parametrize("argv, start", [
    (["flow", "train", "--student-width", "1e308"], "--input-dim, --teacher-width, --student-width, --n-samples: "),
    (["identify", "run", "--n-samples", "100", "--width", "1e308"], "--width, --expansion: "),
    (["identify", "run", "--n-samples", "100", "--width", "4", "--expansion", "1e308"], "--width, --expansion: "),
    (["identify", "run", "--n-samples", "100", "--width", "4", "--max-expansion", "1e308"],
     "--width, --max-expansion: "),
])
def test_a_size_of_1e308_is_a_memory_refusal_not_an_overflow(argv, start, teacher, capsys):
    """--student-width 1e308 is the integer 10^308: the memory estimate's bytes / 2**30 overflowed a float, and
    expansion x 1e308 rounded up to an infinite width (OverflowError tracebacks)."""
    if argv[0] == "identify":
        argv = argv + ["--teacher", str(teacher)]
    assert _rc(argv + ["--quiet"]) == 2
    err = _one_error_line(capsys)
    assert err.startswith(f"neuroflow: error: {start}this run needs about ") and "GiB of memory, more than" in err, err


def test_a_depth_of_1e308_is_refused_naming_the_flags(teacher, capsys):
    assert _rc(["identify", "run", "--quiet", "--n-samples", "100", "--depth", "1e308", "--teacher", str(teacher)]) == 2
    err = _one_error_line(capsys)
    assert err.startswith("neuroflow: error: --n-samples, --depth: 100 probe outputs are fewer than the 10^308 "
                          "parameters of the narrowest student of depth=1e+308"), err


def test_a_max_depth_of_1e308_searches_only_the_depths_the_probes_can_fit():
    """The width search built every configuration up front, (2,) * 10^308 among them (OverflowError); a max_depth of
    1e5 would have built tuples of 10^10 widths. Depths whose narrowest students have more parameters than the
    probe outputs are never tried, so the search stops listing them after the first."""
    from neuroflow.identify import ExpandAndCluster, IdentificationError

    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 1))
    Y = np.tanh(2 * X) + 0.1 * X   # 12 outputs: depth 1 of width 2 has 7 parameters, depth 2 has 13
    est = ExpandAndCluster(n_students=2, gamma=1.0, max_width=2, max_depth=10**308, seed=0, engine="flow",
                           train_options={"maxiterations_ode": 5, "maxiterations_optim": 2}, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # students this short miss the floor: the search says so
        with contextlib.suppress(IdentificationError):  # students this short may share no neuron: the search ran
            est.fit(X, Y)
    assert [s.sizes for s in est.search_.steps] == [(2,)]
    assert est.search_.skipped == [(2, 2)]


# ----------------------------------------------------------------------------- identify: targets that never vary
def test_a_teacher_whose_outputs_never_vary_is_refused_naming_the_file(teacher, tmp_path, capsys):
    """Weights rounded to integers (all zero), zero weights or subnormal ones make a constant teacher: relative
    losses divided by its zero variance were reported as 1e30, the angles as NaN, with exit status 0."""
    with np.load(teacher) as z:
        members = {k: z[k] for k in z.files}
    for name, w0 in [("zero", members["weight_0"] * 0), ("sub", members["weight_0"] * 1e-320),
                     ("int", np.trunc(members["weight_0"] / 10))]:
        path = tmp_path / f"{name}.npz"
        np.savez(path, **{**members, "weight_0": w0})
        assert _rc(["identify", "run", "--quiet", "--n-samples", "60", "--n-students", "4", "--width", "3",
                    "--teacher", str(path)]) == 2
        err = _one_error_line(capsys)
        assert f"teacher: {str(path)!r}: its outputs are the same on every Gaussian probe" in err, err


def test_constant_targets_are_refused_by_fit_and_fit_teacher():
    from neuroflow.identify import ExpandAndCluster

    X = np.random.default_rng(0).standard_normal((50, 3))
    est = ExpandAndCluster(n_students=4, hidden_sizes=[2], seed=0)
    for Y in (np.full((50, 1), 3.0), np.full(50, 5e-320), 1e6 + 1e-12 * X[:, :1]):
        with pytest.raises(ValueError, match="^Y: the targets are the same on all 50 probes"):
            est.fit(X, Y)
    with pytest.raises(ValueError, match="^f: the target's outputs are the same on all 40 Gaussian probes"):
        est.fit_teacher(lambda x: np.zeros((len(x), 2)), 3, 40)


# ----------------------------------------------------------------------------- hostile environments
def test_a_plot_is_written_whatever_mplbackend_and_mplconfigdir_say(tmp_path):
    """MPLBACKEND=nonsense failed every --plot after the work was done (matplotlib refuses it at import, and the
    message named no variable); a config folder that cannot be written (MPLCONFIGDIR a file, HOME read-only)
    printed matplotlib's two-line warning. Figures only go to files: both are now ignored, silently."""
    import os
    import subprocess
    import sys

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    env = {**os.environ, "MPLBACKEND": "nonsense", "MPLCONFIGDIR": str(not_a_folder)}
    code = ("import sys; from neuroflow._utils import pyplot, save_figure\n"
            "fig, ax = pyplot().subplots(); ax.plot([0, 1]); save_figure(fig, sys.argv[1])")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "p.png")], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert (tmp_path / "p.png").stat().st_size > 0


# ----------------------------------------------------------------------------- memristor crossbars
def test_a_crossbar_names_weight_changes_past_any_pulse_count():
    """Crossbar.program(1e308) ended in "OverflowError: cannot convert float infinity to integer" (the pulse
    count N x dw), after writing the cells."""
    from neuroflow.memristor import Crossbar

    xb = Crossbar(2, 2, "linear-noisy", seed=0)
    for dw in (1e308, -1e308, 1e14):
        with pytest.raises(ValueError, match=r"^dw: a change of 1e\+(308|14) asks for more than 2\*\*53 pulses"):
            xb.program(np.full((2, 2), dw))
    assert xb.pulses_total == 0 and np.all(xb.weights == 0)
    assert np.all(xb.program(np.full((2, 2), 5.0)) == 1000)  # past 1 the cells saturate; the pulses are counted


@pytest.mark.parametrize("assignment", [np.full((3, 2), np.nan), np.full((3, 2), 1e308), np.full((3, 2), 0.5),
                                        [[0.0, 2.0 ** 63]] * 3])
def test_a_crossbar_assignment_of_no_whole_numbers_is_refused(assignment):
    """Device indices were cast to int64 as numpy does: 0.5 read as device 0 silently, NaN and 1e308 as
    -2**63 (only a RuntimeWarning of the cast), which the range check then reported as the indices given."""
    import warnings

    from neuroflow.memristor import Crossbar

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="^assignment: expected whole numbers, found 6 entries|"
                                             "^assignment: expected whole numbers, found 3 entries"):
            Crossbar(3, 2, "portner2025", assignment=assignment)
    assert Crossbar(3, 2, "portner2025", assignment=np.ones((3, 2))).assignment.dtype == np.int64  # 1.0 is whole


# ----------------------------------------------------------------------------- JSON and CSV inputs
def _device_file_text():
    from neuroflow.memristor import get_device, save_devices

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        return save_devices(get_device("linear-noisy"), Path(tmp) / "d.json").read_text()


@pytest.mark.parametrize("edit, words", [
    (lambda t: t.replace('"G0_uS": 10.0,', '"G0_uS": 10.0, "G0_uS": 50.0,'), "gives 'G0_uS' twice in one object"),
    (lambda t: t.replace('"n_pulses": 200', '"n_pulses": ' + "9" * 5000), "holds a number of more than 4300 digits"),
    (lambda t: t.replace('"linear-noisy"', '"a\\nb"'), "device 1 ('a\\nb'): name: expected a non-empty name"),
])
def test_device_files_with_keys_twice_or_numbers_too_long_are_refused_naming_the_file(edit, words, tmp_path, capsys):
    """A field given twice was read as its last value silently; a 5000-digit number ended in Python's advice to
    call sys.set_int_max_str_digits, naming no file; a device name with a line break split the error in two."""
    path = tmp_path / "dev.json"
    path.write_text(edit(_device_file_text()))
    assert _rc(["maze", "tmaze", "--seeds", "2", "--episodes", "2", "--quiet", "--device", str(path)]) == 2
    err = _one_error_line(capsys)
    assert f"argument --device: {path}: " in err and words in err, err


def test_a_byte_order_mark_is_skipped_in_device_and_measurement_files(tmp_path, capsys):
    """Excel's "CSV UTF-8" and some editors begin a file with a byte-order mark: a measurement's header was read as
    '\\ufeffpulse' ("missing column(s) pulse"), a device file as invalid JSON."""
    from neuroflow.memristor import get_device, load_devices, read_measurement, simulate_measurement
    from neuroflow.memristor import write_measurement_csv

    csv_path = write_measurement_csv(simulate_measurement(get_device("portner2025")[0], n_cycles=3, seed=0),
                                     tmp_path / "m.csv")
    bom = tmp_path / "bom.csv"
    bom.write_text(csv_path.read_text(), encoding="utf-8-sig")
    a, b = read_measurement(csv_path), read_measurement(bom)
    assert np.array_equal(a.g_set, b.g_set) and np.array_equal(a.g_reset, b.g_reset)
    dev = tmp_path / "dev.json"
    dev.write_text(_device_file_text(), encoding="utf-8-sig")
    assert load_devices(dev)[0] == get_device("linear-noisy")


def test_a_measurement_json_with_keys_twice_or_numbers_too_long_is_refused(tmp_path):
    from neuroflow.memristor import read_measurement

    for name, text, words in [("dup.json", '{"N": 200, "N": 100, "repeats": 1, "Gset": [], "Greset": []}',
                               "gives 'N' twice in one object"),
                              ("long.json", '{"N": ' + "9" * 5000 + ', "repeats": 1, "Gset": [], "Greset": []}',
                               "holds a number of more than 4300 digits")]:
        (tmp_path / name).write_text(text)
        with pytest.raises(ValueError, match=f"^{tmp_path / name}: {words}"):
            read_measurement(tmp_path / name)


def test_bench_rows_with_a_key_twice_are_refused_naming_the_line(tmp_path):
    from neuroflow.identify.bench import read_rows

    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"name": "a", "name": "b"}\n')
    with pytest.raises(ValueError, match=r"rows\.jsonl: line 1 gives 'name' twice in one object"):
        read_rows(rows)


def test_a_student_checkpoint_nested_too_deeply_is_trained_again(tmp_path):
    """Only a RecursionError escaped the checkpoint reader's net: a damaged checkpoint ended the run (as "input
    nested too deeply") instead of being recomputed after a warning naming it."""
    from neuroflow.identify.checkpoint import StudentCheckpoint

    key = "ab" * 32
    path = StudentCheckpoint(tmp_path, 0, key).path
    np.savez(path, meta=np.array("[" * 100_000 + "]" * 100_000))
    with pytest.warns(UserWarning, match="unreadable checkpoint"):
        ck = StudentCheckpoint(tmp_path, 0, key)
    assert ck.fits == {}


# ----------------------------------------------------------------------------- output paths
@pytest.mark.parametrize("make_argv, flags", [
    (lambda tmp, t: ["identify", "run", "--teacher", t, "--n-samples", "100", "--n-students", "4", "--width", "4",
                     "--checkpoint", f"{tmp}/q.png", "--plot", f"{tmp}/q.png"], "--checkpoint, --plot"),
    (lambda tmp, t: ["identify", "bench", "--n-problems", "1", "--out", f"{tmp}/r.jsonl",
                     "--checkpoint", f"{tmp}/./r.jsonl"], "--out, --checkpoint"),
    (lambda tmp, t: ["maze", "tmaze", "--seeds", "2", "--episodes", "3", "--checkpoint", f"{tmp}/c.png",
                     "--plot", f"{tmp}/c.png"], "--checkpoint, --plot"),
    (lambda tmp, t: ["maze", "sweep", "--seeds", "2", "--episodes", "3", "--alphas", "0.1", "--out", f"{tmp}/s.png",
                     "--plot", f"{tmp}/s.png"], "--out, --plot"),
])
def test_two_outputs_on_one_path_are_refused_before_any_work(make_argv, flags, teacher, tmp_path, capsys):
    """`identify run --checkpoint q.png --plot q.png` trained every student, then failed on "[Errno 21] Is a
    directory: 'q.png'" (the plot went where the checkpoint folder was); `identify bench --out r.jsonl
    --checkpoint r.jsonl` lost its first problem the same way."""
    out = tmp_path / "out"
    out.mkdir()
    assert _rc(make_argv(out, str(teacher)) + ["--quiet"]) == 2
    err = _one_error_line(capsys)
    assert f"error: {flags}: both name {out}/" in err and "give each output its own path" in err, err
    assert list(out.iterdir()) == []


# ----------------------------------------------------------------------------- signals
def test_sigterm_inside_a_sweep_keeps_the_finished_points_says_so_and_a_rerun_resumes(tmp_path, capsys, monkeypatch):
    """SIGTERM (kill, a batch system's time limit) killed the process on the spot: no word of what was kept, no
    JSON, a temporary file of a write under way left behind. It now ends the verb as Ctrl-C does, exit 143."""
    import json
    import os
    import signal

    from neuroflow.rl.agent import ActorCritic

    real = ActorCritic._advance

    def term_at_alpha_02(self, e_end, st):
        if self.alpha == 0.2:
            os.kill(os.getpid(), signal.SIGTERM)
        real(self, e_end, st)

    monkeypatch.setattr(ActorCritic, "_advance", term_at_alpha_02)
    out = tmp_path / "sw"
    argv = ["maze", "sweep", "--seeds", "2", "--episodes", "4", "--alphas", "0.1", "0.2", "0.3", "--out", str(out),
            "--quiet", "--json"]
    assert main(argv) == 143
    payload = json.loads(capsys.readouterr().out)
    assert payload["interrupted"] is True and payload["computed_points"] == [0]
    assert sorted(p.name for p in out.iterdir()) == ["point_000.npz"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # main's handler is gone
    monkeypatch.undo()
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["computed_points"] == [1, 2]


@pytest.mark.skipif(not hasattr(os, "fsencode") or sys.platform == "win32", reason="POSIX file names are bytes")
def test_an_output_file_name_that_is_not_utf8_is_printed_not_an_error(tmp_path):
    """Under a UTF-8 locale (stdout strict), `identify make-teacher --out $'t\\xff.npz'` wrote the teacher and then
    failed printing its name: "error: 'utf-8' codec can't encode character '\\udcff'", exit 2."""
    import subprocess

    name = os.fsdecode(b"t\xff.npz")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    out = subprocess.run([sys.executable, "-m", "neuroflow", "identify", "make-teacher", "--out", name],
                         cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert out.returncode == 0 and out.stderr == b"", out.stderr
    assert out.stdout.startswith(b"wrote t\xff.npz: ") and (tmp_path / name).is_file()


# ----------------------------------------------------------------------------- identify API settings and data
def test_a_width_past_the_float_range_is_a_memory_refusal_not_an_overflow():
    """check_positive took float() of every number: a width of 2**1100 ended in "OverflowError: int too large to
    convert to float" (MLP, ExpandAndCluster with expansion=1e308)."""
    from neuroflow._utils import check_positive
    from neuroflow.identify import ExpandAndCluster
    from neuroflow.mlp import MLP

    assert check_positive(2**1100, "n", integer=True) == 2**1100
    with pytest.raises(ValueError, match=r"^input_dim, layers: this run needs about 10\^"):
        MLP(2, [(2**1100, "tanh", True), (1, "identity", True)]).init_params(0)
    X = np.random.default_rng(0).standard_normal((50, 3))
    with pytest.raises(ValueError, match=r"^X: 50 probe outputs are fewer than the 10\^331 parameters of the guessed "
                                         r"network \(hidden sizes \[10\^331\]\)"):
        ExpandAndCluster(n_students=4, hidden_sizes=[2**1100], seed=0).fit(X, np.tanh(X[:, :1]))
    with pytest.raises(ValueError, match="^input_dim, layers: this run needs about"):
        ExpandAndCluster(n_students=4, hidden_sizes=[2], expansion=1e308, seed=0).fit(X, np.tanh(X[:, :1]))


@pytest.mark.parametrize("options, start", [({"lr": float("nan")}, "torch_options lr: expected a positive number"),
                                            ({"lr_end": -1.0}, "torch_options lr_end: expected a positive number"),
                                            ({"batch_size": 0}, "torch_options batch_size: expected a positive int"),
                                            ({"threads": 2.0}, "torch_options threads: expected a positive integer"),
                                            ({"adam_steps": -1}, "torch_options adam_steps: expected a non-negative"),
                                            ({"maxtime": 0}, "torch_options maxtime: expected a positive number")])
def test_torch_options_of_no_use_are_named_before_any_student_trains(options, start):
    """Only torch_options' keys were checked: lr=NaN ended in torch's "Invalid learning rate: nan" at the first
    student, naming no option, and batch_size=0 trained every student on 0/0 = NaN losses."""
    from neuroflow.identify import ExpandAndCluster

    X = np.random.default_rng(0).standard_normal((50, 3))
    with pytest.raises(ValueError, match="^" + start):
        ExpandAndCluster(n_students=4, hidden_sizes=[2], engine="torch", torch_options=options, seed=0).fit(
            X, np.tanh(X[:, :1]))


def test_targets_whose_squares_overflow_are_refused():
    """Y of 1e154 and more: the targets' variance, which every relative loss divides by, overflowed (only a
    RuntimeWarning), and the fit went on with infinite or NaN losses."""
    import warnings

    from neuroflow.identify import ExpandAndCluster

    X = np.random.default_rng(0).standard_normal((50, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^Y: targets too large \(largest magnitude .*\): their squared "
                                             "deviations overflow"):
            ExpandAndCluster(n_students=4, hidden_sizes=[2], seed=0).fit(X, 1e154 * np.tanh(X[:, :1]))


@pytest.mark.parametrize("var, value", [("OMP_NUM_THREADS", "abc"), ("OMP_NUM_THREADS", "2,0"),
                                        ("OMP_NUM_THREADS", "100000")])
def test_an_openmp_thread_count_of_no_use_is_one_line_naming_the_variable(var, value, monkeypatch):
    """OMP_NUM_THREADS=abc drew libgomp's own unprefixed warning line from C."""
    from neuroflow.cliutil import environment_problems

    monkeypatch.setenv(var, value)
    assert environment_problems() == [f"environment variable {var}: expected a whole number of threads from 1 to "
                                      f"1024 (or a comma-separated list of them), got {value!r}"]
    monkeypatch.setenv("OMP_NUM_THREADS", "2,1")  # nested parallelism: a list is what OpenMP reads
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    assert environment_problems() == []


def test_numba_num_threads_zero_is_one_error_line_not_a_traceback(tmp_path):
    """NUMBA_NUM_THREADS=0 ended every maze, flow and identify command in numba's import-time traceback (exit 1)."""
    import subprocess

    env = {**os.environ, "NUMBA_NUM_THREADS": "0"}
    out = subprocess.run([sys.executable, "-m", "neuroflow", "maze", "tmaze", "--seeds", "2", "--episodes", "2",
                          "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == ("neuroflow: error: environment variable NUMBA_NUM_THREADS: expected a whole number "
                                  "of threads from 1 to 1024, got '0'")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_result_written_to_a_named_pipe_goes_into_the_pipe(tmp_path):
    """`flow train --out results.fifo.json` replaced the user's named pipe with a regular file (the atomic write's
    rename), and the process reading the pipe waited for ever."""
    import threading

    from neuroflow._utils import write_text_atomic

    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    write_text_atomic(fifo, '{"loss": 1}\n')
    reader.join(timeout=10)
    assert got == ['{"loss": 1}\n']
    assert fifo.is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_library_readers_refuse_a_named_pipe_instead_of_waiting_for_ever(tmp_path):
    """TrainResult.load, load_devices and read_measurement opened a named pipe with no writer and waited for
    ever (the command line's input types refuse it); load_teacher called it "no such file"."""
    from neuroflow.flow import TrainResult
    from neuroflow.identify import load_teacher
    from neuroflow.memristor import load_devices, read_measurement

    for name, read, words in [("r.json", TrainResult.load, "result file is not a regular file"),
                              ("d.json", load_devices, "device file is not a regular file"),
                              ("m.csv", read_measurement, "measurement file is not a regular file"),
                              ("t.npz", load_teacher, "is not a regular file")]:
        os.mkfifo(tmp_path / name)
        with pytest.raises(ValueError, match=words):
            read(tmp_path / name)


def test_a_teacher_bias_that_is_a_matrix_is_refused_naming_file_and_entry(teacher, tmp_path, capsys):
    """A (2, 2) bias_0 of a 4-unit layer was flattened row by row and read as the 4 units' biases; a column or a
    row vector of the right length is still a vector."""
    from neuroflow.identify import load_teacher

    with np.load(teacher) as z:
        members = {k: z[k] for k in z.files}
    bad, column = tmp_path / "b22.npz", tmp_path / "b31.npz"
    np.savez(bad, **{**members, "bias_0": np.arange(4.0).reshape(2, 2), "weight_0": np.ones((4, 4)),
                     "weight_1": np.ones((1, 4))})
    np.savez(column, **{**members, "bias_0": members["bias_0"][:, None]})
    assert _rc(["identify", "run", "--quiet", "--n-samples", "60", "--width", "3", "--teacher", str(bad)]) == 2
    err = _one_error_line(capsys)
    assert f"teacher {str(bad)!r}: bias_0: expected a vector of length 4 (rows of weight_0), got shape (2, 2)" in err
    assert np.array_equal(load_teacher(column).biases[0], members["bias_0"])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_maze_checkpoint_or_sweep_point_that_is_no_regular_file_is_refused(tmp_path, capsys):
    """A named pipe where a sweep point or a maze checkpoint goes was opened by np.load and read for ever; a folder
    named point_000.npz was "recomputed" and the point then failed to replace it, after the work."""
    for name, make in [("fifo", os.mkfifo), ("folder", os.mkdir)]:
        sweep, check = tmp_path / f"sw_{name}", tmp_path / f"ck_{name}"
        sweep.mkdir()
        check.mkdir()
        make(sweep / "point_000.npz")
        make(check / "tmaze_memristor.npz")
        assert _rc(["maze", "sweep", "--seeds", "2", "--episodes", "2", "--alphas", "0.1", "--quiet",
                    "--out", str(sweep)]) == 2
        assert f"--out: {sweep / 'point_000.npz'} is not a regular file" in _one_error_line(capsys)
        if name == "fifo":  # the checkpoint path itself, a folder there, is refused by the CLI type already
            assert _rc(["maze", "tmaze", "--seeds", "2", "--episodes", "2", "--quiet", "--checkpoint",
                        str(check)]) == 2
            assert f"checkpoint: {check / 'tmaze_memristor.npz'}: is not a regular file" in _one_error_line(capsys)
