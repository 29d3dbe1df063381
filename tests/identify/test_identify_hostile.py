"""Hostile and careless use of `neuroflow identify ...` and of the identify / parallel API (seventh pass): settings
of no use named before any student trains, suite runs refusing what they cannot run or write before any problem
runs, and problems of no use refused where they are made."""
import numpy as np
import pytest

from neuroflow.identify import ExpandAndCluster
from neuroflow.identify.problems import make_teacher


def _no_training(monkeypatch):
    """Any student trained fails the test (what is refused must be refused before)."""
    import neuroflow.identify.estimator as E

    def trained(*args, **kwargs):
        raise AssertionError("a student was trained")

    monkeypatch.setattr(E, "train_students", trained)


@pytest.mark.parametrize("kwargs, start", [
    ({"finetune_options": {"maxiterations_ode": float("nan")}},
     "finetune_options maxiterations_ode: expected a non-negative integer, got nan"),
    ({"finetune_options": {"reltol": -1.0}}, "finetune_options reltol: expected a positive number, got -1.0"),
    ({"train_options": {"maxiterations_optim": 2.5}},
     "train_options maxiterations_optim: expected a non-negative integer, got 2.5"),
    ({"train_options": {"method_ode": "euler"}}, "train_options method_ode: expected one of"),
])
def test_step_budgets_and_options_of_no_use_are_named_before_any_student_trains(kwargs, start, monkeypatch):
    """A NaN step budget in finetune_options was taken, every student trained, and the fine-tune then failed with
    "cannot convert float NaN to integer" (no argument named); train_options' values were named without saying they
    were train_options'."""
    _no_training(monkeypatch)
    t = make_teacher(3, 2, "tanh", seed=0)
    X = np.random.default_rng(0).normal(size=(100, 3))
    est = ExpandAndCluster(n_students=4, hidden_sizes=[2], seed=0, **kwargs)
    with pytest.raises(ValueError) as info:
        est.fit(X, t.forward(X))
    assert str(info.value).startswith(start), info.value


@pytest.mark.parametrize("kwargs, start", [
    ({"settings": {"n_students": "8"}}, "settings n_students: expected a positive integer, got '8'"),
    ({"settings": {"gamma": 0.1}}, "settings gamma: gamma * n_students must be at least 2"),
    ({"settings": {"n_student": 8}}, "settings: 'n_student' is not a setting a suite run takes"),
    ({"settings": {"seed": 3}}, "settings: 'seed' is not a setting a suite run takes"),
    ({"settings": {"width": "guess"}}, "settings width: expected 'teacher' or 'search', got 'guess'"),
    ({"settings": [("gamma", 0.5)]}, "settings: expected None or a dict"),
    ({"seed": None}, "seed: expected a non-negative integer, got None"),
    ({"seed": -1}, "seed: expected a non-negative integer, got -1"),
    ({"out": "."}, "out: .: is a folder; expected a file path"),
    ({"checkpoint": "rows.jsonl"}, "checkpoint: rows.jsonl: is a file; expected a folder"),
    ({"rows": ()}, "rows: expected None or a list"),
])
def test_run_suite_names_what_no_problem_can_run_with_before_any_runs(kwargs, start, tmp_path, monkeypatch):
    """A setting of no use made every problem a failed row, written to ``out``, where a rerun with the setting
    corrected skipped them as done; an ``out`` that is a folder failed (IsADirectoryError) once the first problem had
    run; seed=None wrote rows that say nothing of how to rerun them."""
    from neuroflow.identify import bench as B
    from neuroflow.identify.problems import suite

    monkeypatch.chdir(tmp_path)
    (tmp_path / "rows.jsonl").write_text("")
    ran = []
    monkeypatch.setattr(B, "run_problem", lambda p, **kw: ran.append(p) or {"name": p.name, "error": "ran"})
    with pytest.raises(ValueError) as info:
        B.run_suite(suite("quick", n_problems=2), progress=False, **kwargs)
    assert str(info.value).startswith(start), info.value
    assert ran == [] and (tmp_path / "rows.jsonl").read_text() == ""


@pytest.mark.parametrize("problems, start", [
    ("quick", "problems: expected a list of neuroflow.identify.problems.Problem, got str"),
    ([None], "problems: expected a list of neuroflow.identify.problems.Problem, got a NoneType among them"),
    (None, "problems: two or more problems are named 'tanh-d2-k2-N500-s1-a0-0'"),
])
def test_run_suite_names_problems_it_cannot_run_or_tell_apart(problems, start):
    """A string was taken letter by letter ("'str' object has no attribute 'name'"); two problems of one name shared
    one row in the file, so a rerun skipped the second as done."""
    from neuroflow.identify import bench as B
    from neuroflow.identify.problems import suite

    if problems is None:
        problems = suite("quick", n_problems=1) * 2
    with pytest.raises(ValueError) as info:
        B.run_suite(problems, progress=False)
    assert str(info.value).startswith(start), info.value


def test_a_row_that_cannot_be_written_names_the_rows_file(tmp_path, monkeypatch):
    """A full disk while a row was appended ended in "[Errno 28] No space left on device", naming no file."""
    import builtins
    import errno

    from neuroflow.identify import bench as B
    from neuroflow.identify.problems import suite

    out = tmp_path / "rows.jsonl"
    monkeypatch.setattr(B, "run_problem", lambda p, **kw: {"name": p.name, "error": "ran"})

    def full(path, mode="r", *args, **kwargs):
        if "a" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(B, "open", full, raising=False)
    with pytest.raises(OSError) as info:
        B.run_suite(suite("quick", n_problems=1), out=out, progress=False)
    assert str(out) in str(info.value) and "No space left on device" in str(info.value)


def test_a_row_cut_short_by_ctrl_c_while_written_is_not_among_the_finished_rows(tmp_path, monkeypatch):
    """The caller's ``rows`` took a row before --out did: Ctrl-C while it was written (the file without it) left it
    among the rows that benchmarks/identify.py's suite then said were "kept in" --out."""
    from neuroflow.identify import bench as B
    from neuroflow.identify.problems import suite

    out, rows = tmp_path / "rows.jsonl", []
    monkeypatch.setattr(B, "run_problem", lambda p, **kw: {"name": p.name, "error": "ran"})

    def ctrl_c(row):
        raise KeyboardInterrupt

    monkeypatch.setattr(B, "dumps", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        B.run_suite(suite("quick", n_problems=1), out=out, progress=False, rows=rows)
    assert rows == [] and B.read_rows(out) == []


def test_run_suite_refuses_rows_computed_with_other_settings(tmp_path):
    """Rows written with one set of settings (n_students, clusterer, beta, ...; benchmarks/identify.py's --clusterer,
    --beta, --max-expansion) were taken as another run's result: only the width and the seed were compared."""
    import warnings

    from neuroflow.identify import bench as B
    from neuroflow.identify.problems import make_problem

    probs = [make_problem(2, 2, "tanh", 200, seed=0)]
    out = tmp_path / "rows.jsonl"
    quick = {"train_options": {"maxiterations_ode": 60, "maxiterations_optim": 10}, "finetune": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = B.run_suite(probs, out=out, progress=False, settings={**quick, "n_students": 4})
    text = out.read_text()
    with pytest.raises(ValueError, match=r"rows.jsonl: its row of tanh-d2-k2-N200-s1-a0-0 was computed with other "
                                         r"settings than this run's \(n_students 4.0 against 6.0\); use another --out"):
        B.run_suite(probs, out=out, progress=False, settings={**quick, "n_students": 6})
    assert out.read_text() == text
    again = B.run_suite(probs, out=out, progress=False, settings={**quick, "n_students": 4})  # resumes, nothing run
    assert B.without_timing(again) == B.without_timing(first) and out.read_text() == text


@pytest.mark.parametrize("call, start", [
    (lambda P: P.make_problem(3, 2, "tanh", -5), "n_samples: expected a positive integer, got -5"),
    (lambda P: P.make_problem(3, 2, "tanh", 2.7), "n_samples: expected a positive integer, got 2.7"),
    (lambda P: P.make_problem(3, 2, "tanh", 0), "n_samples: expected a positive integer, got 0"),
    (lambda P: P.make_problem(3, 2, "tanh", 10, seed=None), "seed: expected a non-negative integer, got None"),
    (lambda P: P.make_problem(3, 2, "tanh", 10, name=""), "name: expected None or a non-empty one-line name"),
    (lambda P: P.make_problem(3, 2, "tanh", 10**13).probes(), "n_samples: this run needs about"),
    (lambda P: P.make_problem(3, 2, "tanh", 10).probes(n=-1), "n: expected a positive integer, got -1"),
    (lambda P: P.make_teacher(3, 2, output_dim=2.5), "output_dim: expected a positive integer, got 2.5"),
    (lambda P: P.make_teacher(3, 2, alignment="0.3"), "alignment: expected a number in [0, 1), got '0.3'"),
    (lambda P: P.make_deep_teacher(3, []), "hidden: expected a non-empty list of positive integers"),
    (lambda P: P.paper_suite(-3), "n_problems: expected a positive integer, got -3"),
    (lambda P: P.paper_suite(2, max_samples=0), "max_samples: expected a positive integer, got 0"),
    (lambda P: P.suite("quick", n_problems=1.5), "n_problems: expected None (all) or a positive integer, got 1.5"),
    (lambda P: P.suite("paper", seed=None), "seed: expected a non-negative integer, got None"),
    (lambda P: P.deep_suite(n_problems=0), "n_problems: expected a positive integer, got 0"),
])
def test_problems_of_no_use_are_refused_where_they_are_made(call, start):
    """make_problem(n_samples=-5) made a problem whose probes failed as "negative dimensions are not allowed", 2.7
    probes were taken as 2 and a seed of None failed in int(); paper_suite(-3) was an empty suite, suite(n_problems=1.5)
    one problem, suite('paper', seed=None) a TypeError; probes past the memory asked numpy for petabytes."""
    from neuroflow.identify import problems as P

    with pytest.raises(ValueError) as info:
        call(P)
    assert str(info.value).startswith(start), info.value


_PARALLEL_SCRIPT = """
import io, os, sys, time
from neuroflow.parallel import parallel_map

def job(i):
    from tqdm import tqdm
    for _ in tqdm(range(3), file=io.StringIO()):   # a bar, as the students' training makes
        pass
    time.sleep(0.2 if i < 4 else 60)
    return os.getpid()

if __name__ == "__main__":
    try:
        parallel_map(job, [(i,) for i in range(6)], n_jobs=2, on_result=lambda i, pid: print(pid, flush=True))
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
"""


def _start_parallel(tmp_path):
    """A process whose parallel_map runs four short jobs (their workers' ids printed), then jobs of a minute; returned
    once both workers ran one (or all four ran), and a second later (so that neither is still starting)."""
    import os
    import subprocess
    import sys
    import time

    script = tmp_path / "run.py"
    script.write_text(_PARALLEL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True, text=True)
    pids, lines = set(), 0
    while len(pids) < 2 and lines < 4:
        pids.add(int(proc.stdout.readline()))
        lines += 1
    time.sleep(1.0)
    return proc, pids


def _running(pid) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self"), reason="reads /proc")
def test_workers_of_a_killed_run_end_with_it(tmp_path):
    """After kill -9 of a run with n_jobs=2, its workers lived on for loky's idle timeout (five minutes), holding the
    run's output pipe open: whatever read it (a pipe into tee, a CI step) waited for them."""
    import os
    import signal
    import time

    proc, pids = _start_parallel(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [p for p in pids if _running(p)]
    for p in alive:   # (before the fix: not to leave them behind)
        os.kill(p, signal.SIGKILL)
    proc.stdout.close()
    proc.stderr.close()
    assert not alive


def test_ctrl_c_of_a_parallel_run_reports_no_leaked_semaphores(tmp_path):
    """Ctrl-C of a run with n_jobs=2 ended in two lines of Python's resource tracker: "There appear to be 2 leaked
    semaphore objects to clean up at shutdown" (tqdm's multiprocessing lock in each worker ended mid-job)."""
    import os
    import signal

    proc, _ = _start_parallel(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)   # a terminal's Ctrl-C: the whole process group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in out
    assert "leaked" not in err and "Traceback" not in err, err


def _small_checkpointed_problem(tmp_path):
    """A 2-2 tanh teacher, 100 probes and the settings of a short run with its students checkpointed in tmp_path."""
    kw = dict(n_students=4, hidden_sizes=[2], seed=0, finetune=False, checkpoint=tmp_path,
              train_options={"maxiterations_ode": 30, "maxiterations_optim": 5})
    return make_teacher(2, 2, "tanh", seed=0), np.random.default_rng(0).normal(size=(100, 2)), kw


def test_a_checkpoint_is_not_resumed_under_another_backend(tmp_path, monkeypatch):
    """The students' checkpoint key left out the backend, whose arithmetic differs in the last bits: a run resumed
    under NEUROFLOW_BACKEND=torch took the numpy run's students as its own (and the reverse)."""
    import warnings

    from neuroflow.backend import torch_available

    if not torch_available():
        pytest.skip("needs torch")
    t, X, kw = _small_checkpointed_problem(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ExpandAndCluster(backend="numpy", **kw).fit(X, t.forward(X))
        numpy_files = sorted(p.name for p in tmp_path.iterdir())
        ExpandAndCluster(backend="numpy", **kw).fit(X, t.forward(X))   # the same backend: the same file, resumed
        assert sorted(p.name for p in tmp_path.iterdir()) == numpy_files
        monkeypatch.setenv("NEUROFLOW_BACKEND", "torch")
        ExpandAndCluster(**kw).fit(X, t.forward(X))
    assert len(list(tmp_path.iterdir())) == 2 * len(numpy_files)


@pytest.mark.parametrize("call, start", [
    (lambda t, est: t.incoming(-1), "layer: expected an integer in [0, 0] (a hidden layer), got -1"),
    (lambda t, est: t.incoming(1), "layer: expected an integer in [0, 0] (a hidden layer), got 1"),
    (lambda t, est: type(t).from_mlp("net", None), "net: expected a neuroflow.MLP, got str"),
    (lambda t, est: est.report(t, n_test=10**13), "n_test: this run needs about"),
    (lambda t, est: ExpandAndCluster(n_students=4, hidden_sizes=[2]).fit_teacher(lambda X: np.ones((3, 1)), 3, 100),
     "f: expected outputs of shape (100,) or (100, d_out) for 100 probes, got shape (3, 1)"),
    (lambda t, est: ExpandAndCluster(n_students=4, hidden_sizes=[2]).fit_teacher(lambda X: "abc", 3, 100),
     "f: expected numeric outputs, one row per probe, got str"),
    (lambda t, est: __import__("neuroflow.identify.report", fromlist=["x"]).relative_mse(np.ones(3), np.ones((3, 1))),
     "y_pred: expected the shape of y_true (3,), got (3, 1)"),
    (lambda t, est: __import__("neuroflow.identify.report", fromlist=["x"]).compare_networks(t, [np.ones((2, 7))],
                                                                                              "tanh"),
     "recovered[0]: expected 4 columns ([w | b] over the inputs), got shape (2, 7)"),
    (lambda t, est: __import__("neuroflow.identify.report", fromlist=["x"]).compare_networks(t, "abc", "tanh"),
     "recovered: expected a list of (m, d + 1) arrays"),
    (lambda t, est: __import__("neuroflow.identify.report", fromlist=["x"]).recovery_by_feature([{"name": "p"}]),
     "rows[0]: expected a suite row"),
])
def test_teacher_report_and_fit_teacher_name_what_they_cannot_use(call, start):
    """Teacher.incoming(-1) gave the output layer's weights as a hidden layer's (1: IndexError); an f answering 3 rows
    for 100 probes was refused as "the target's outputs are the same on all 3 Gaussian probes", one answering a string
    with "could not convert string to float"; report(n_test=1e13) asked numpy for 218 TiB; relative_mse broadcast a
    (3,) against a (3, 1) into a number; compare_networks and recovery_by_feature failed with a matmul error, a
    KeyError or an AttributeError."""
    import warnings

    t = make_teacher(3, 2, "tanh", seed=0)
    X = np.random.default_rng(0).normal(size=(100, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = ExpandAndCluster(n_students=4, hidden_sizes=[2], seed=0, finetune=False,
                               train_options={"maxiterations_ode": 20, "maxiterations_optim": 2}).fit(X, t.forward(X))
    with pytest.raises(ValueError) as info:
        call(t, est)
    assert str(info.value).startswith(start), info.value


def test_a_fit_cut_short_leaves_no_earlier_network_behind(monkeypatch):
    """A second fit stopped by Ctrl-C (or an IdentificationError) kept the first fit's network: predict answered for
    the earlier target, beside this fit's (empty) students."""
    import warnings

    import neuroflow.identify.estimator as E

    t, t2 = make_teacher(3, 2, "tanh", seed=0), make_teacher(3, 3, "tanh", seed=5)
    X = np.random.default_rng(0).normal(size=(150, 3))
    est = ExpandAndCluster(n_students=4, hidden_sizes=[2], seed=0, finetune=False,
                           train_options={"maxiterations_ode": 30, "maxiterations_optim": 5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, t.forward(X))
    assert est.predict(X).shape == (150, 1)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(E, "train_students", interrupted)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, t2.forward(X))
    with pytest.raises(ValueError, match="not fitted yet"):
        est.predict(X)
    assert est.students_ == [[]]   # what this fit finished: nothing


def test_a_checkpoint_student_of_the_wrong_size_is_trained_again(tmp_path):
    """A checkpoint whose saved parameters were cut (or edited by hand) under the right key ended the run with
    "theta: expected a flat vector of length n_params=...", naming no file; now a warning names the file and its
    students are trained again, to the uninterrupted run's result."""
    import warnings

    t, X, kw = _small_checkpointed_problem(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = ExpandAndCluster(**kw).fit(X, t.forward(X))
    (path,) = tmp_path.iterdir()
    with np.load(path) as data:
        saved = dict(data)
    saved["theta_1"] = saved["theta_1"][:5]
    with open(path, "wb") as fh:
        np.savez(fh, **saved)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = ExpandAndCluster(**kw).fit(X, t.forward(X))
    assert any(f"{path.name}: checkpoint holds what no run writes; its students are trained again" in str(w.message)
               for w in caught)
    assert np.array_equal(again.theta_, first.theta_)


def test_identify_run_gives_the_searchs_advice_in_flags(tmp_path, capsys):
    """The warning of a width search that missed the floor named the flags, but the summary line printed after it
    said "raise max_width / max_depth", the API's names."""
    from neuroflow.cli import main
    from neuroflow.identify import save_teacher

    path = tmp_path / "t.npz"
    save_teacher(make_teacher(3, 3, "tanh", seed=0), path)
    with pytest.warns(RuntimeWarning):
        code = main(["identify", "run", "--teacher", str(path), "--n-samples", "200", "--n-students", "4",
                     "--max-width", "2", "--max-depth", "1", "--student-steps", "10", "--student-iterations", "1",
                     "--quiet"])
    out = capsys.readouterr().out
    (line,) = [l for l in out.splitlines() if l.startswith("width search:")]
    assert code == 0 and "raise --max-width / --max-depth" in line and "max_width" not in line, line


@pytest.mark.parametrize("call, start", [
    (lambda B, P, tmp: B.summarize([{"name": "a", "error": "x", "difficulty": 1.0}], n_bins=-1),
     "n_bins: expected a positive integer, got -1"),
    (lambda B, P, tmp: B.summarize([], n_bins=1.5), "n_bins: expected a positive integer, got 1.5"),
    (lambda B, P, tmp: B.summarize("rows"), "rows: expected a list of suite rows, got str"),
    (lambda B, P, tmp: B.read_rows(tmp), "is not a rows file (a folder or another non-file)"),
    (lambda B, P, tmp: P.parallel_map(abs, 5), "jobs: expected an iterable of argument tuples"),
    (lambda B, P, tmp: P.parallel_map(abs, None), "jobs: expected an iterable of argument tuples"),
])
def test_suite_helpers_name_arguments_they_took_silently(call, start, tmp_path):
    """summarize(n_bins=-1) gave no difficulty bins without a word (1.5: a TypeError once a row had a difficulty);
    read_rows of a folder read as a fresh file without rows; parallel_map(fn, 5) said "'int' object is not
    iterable"."""
    from neuroflow import parallel as P
    from neuroflow.identify import bench as B

    with pytest.raises(ValueError) as info:
        call(B, P, tmp_path)
    assert start in str(info.value), info.value


@pytest.mark.parametrize("call, start", [
    (lambda: __import__("neuroflow.identify.probes", fromlist=["x"]).gaussian_probes(-1, 3),
     "n: expected a positive integer, got -1"),
    (lambda: __import__("neuroflow.identify.probes", fromlist=["x"]).gaussian_probes(2.5, 3),
     "n: expected a positive integer, got 2.5"),
    (lambda: __import__("neuroflow.identify.probes", fromlist=["x"]).gaussian_probes(5, 3, scale=float("nan")),
     "scale: expected a positive number, got nan"),
    (lambda: __import__("neuroflow.identify.probes", fromlist=["x"]).gaussian_probes(10**13, 3),
     "n: this run needs about"),
    (lambda: __import__("neuroflow.identify.probes", fromlist=["x"]).designed_probes(np.ones((2, 4)), 10**13),
     "n: this run needs about"),
    (lambda: __import__("neuroflow.identify.symmetry", fromlist=["x"]).angles_deg(np.ones((2, 3)), np.ones((2, 4)),
                                                                                   "tanh"),
     "u, v: expected rows of one length"),
])
def test_probe_and_angle_helpers_name_what_they_cannot_use(call, start):
    """gaussian_probes(-1) said "negative dimensions are not allowed", took 2.5 probes as 2, drew NaN probes for a
    NaN scale and asked numpy for 218 TiB for 1e13 probes (designed_probes too); angles_deg of vectors of different
    lengths failed in matmul."""
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value).startswith(start), info.value


def test_bench_refuses_a_problems_checkpoint_folder_taken_by_a_file(tmp_path, capsys):
    """A file where a problem's checkpoint subfolder goes made that problem a failed row, written to --out (exit 0),
    where every rerun skipped it as done."""
    from neuroflow.cli import main
    from neuroflow.identify.problems import suite

    folder, out = tmp_path / "ck", tmp_path / "rows.jsonl"
    folder.mkdir()
    (folder / suite("quick", n_problems=1)[0].name).write_text("")
    code = main(["identify", "bench", "--n-problems", "1", "--quiet", "--checkpoint", str(folder), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("neuroflow: error: --checkpoint: ") and "is a file; expected a folder" in err
    assert not out.exists()


def test_a_problem_the_machine_failed_is_not_kept_as_done(tmp_path, monkeypatch):
    """A full disk under a problem's checkpoint (or memory running out) made the problem a failed row "OSError: [Errno
    28] No space left on device", kept in the rows file as done: a rerun after freeing the disk skipped it."""
    import errno
    import warnings

    from neuroflow.identify import bench as B
    from neuroflow.identify.problems import make_problem

    probs = [make_problem(2, 2, "tanh", 200, seed=0)]
    out = tmp_path / "rows.jsonl"
    quick = {"train_options": {"maxiterations_ode": 60, "maxiterations_optim": 10}, "finetune": False,
             "n_students": 4}

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(ExpandAndCluster, "fit", full)
        with pytest.raises(OSError, match="No space left on device"):
            B.run_suite(probs, out=out, progress=False, settings=quick)
    assert not out.exists() or B.read_rows(out) == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (row,) = B.run_suite(probs, out=out, progress=False, settings=quick)   # freed: the problem runs
    assert row["error"] is None and len(B.read_rows(out)) == 1


def test_two_suite_runs_never_append_to_one_rows_file_at_once(tmp_path, monkeypatch):
    """Two runs given one --out both ran every problem the file lacked and appended their rows side by side."""
    from neuroflow._utils import exclusive_lock
    from neuroflow.identify import bench as B
    from neuroflow.identify.problems import suite

    out = tmp_path / "rows.jsonl"
    ran = []
    monkeypatch.setattr(B, "run_problem", lambda p, **kw: ran.append(p) or {"name": p.name, "error": "ran"})
    with exclusive_lock(tmp_path / ".rows.jsonl.lock", "held"):   # another run, writing the file
        with pytest.raises(ValueError, match=r"out: .*rows.jsonl is being written by another suite run \(pid \d+\); "
                                             r"wait for it to end or use another --out"):
            B.run_suite(suite("quick", n_problems=1), out=out, progress=False)
    assert ran == []
    B.run_suite(suite("quick", n_problems=1), out=out, progress=False)   # that run ended: this one goes on
    assert len(ran) == 1 and not (tmp_path / ".rows.jsonl.lock").exists()


def test_ctrl_c_while_a_run_is_plotted_says_what_was_kept(tmp_path, capsys, monkeypatch):
    """Ctrl-C while `identify run` compared or plotted its fit said "interrupted; nothing written (this command writes
    its results only when it finishes)", with every student in --checkpoint."""
    import json
    import warnings

    import neuroflow.identify.plotting as plotting
    from neuroflow.cli import main
    from neuroflow.identify import save_teacher

    path, ck = tmp_path / "t.npz", tmp_path / "ck"
    save_teacher(make_teacher(2, 2, "tanh", seed=0), path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(plotting, "plot_weights", interrupted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["identify", "run", "--teacher", str(path), "--n-samples", "150", "--n-students", "4", "--width",
                     "teacher", "--student-steps", "30", "--student-iterations", "5", "--quiet", "--json",
                     "--checkpoint", str(ck), "--plot", str(tmp_path / "w.png")])
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert code == 130 and payload["interrupted"] and payload["finished_students"] == [4]
    assert "nothing written" not in captured.err and any(ck.iterdir())



def test_ctrl_c_while_a_suite_is_plotted_says_what_was_kept(tmp_path, capsys, monkeypatch):
    """Ctrl-C while `identify bench` plotted its rows said "interrupted; nothing written", with every row in --out."""
    import json

    import neuroflow.identify.plotting as plotting
    from neuroflow.cli import main
    from neuroflow.identify import bench as B

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(B, "run_problem", lambda p, **kw: {"name": p.name, "error": "failed", "activation": "tanh"})
    monkeypatch.setattr(plotting, "plot_difficulty", interrupted)
    out = tmp_path / "rows.jsonl"
    code = main(["identify", "bench", "--n-problems", "2", "--quiet", "--json", "--out", str(out), "--plot",
                 str(tmp_path / "d.png")])
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert code == 130 and payload["interrupted"] and payload["n_finished"] == 2
    assert "nothing written" not in captured.err and len(B.read_rows(out)) == 2


def test_bench_refuses_another_programs_json_lines_with_names(tmp_path, capsys):
    """--out naming another program's JSON lines whose objects have a "name" gave a warning per line (thousands for a
    large file), then appended this run's rows to that file."""
    import json

    from neuroflow.cli import main

    out = tmp_path / "results.jsonl"
    text = "".join(json.dumps({"name": f"run{i}", "score": i}) + "\n" for i in range(500))
    out.write_text(text)
    code = main(["identify", "bench", "--n-problems", "1", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err[:500]
    assert "not a rows file of `identify bench` (none of its 500 objects is a row a run writes; line 1:" in err
    assert out.read_text() == text


@pytest.mark.parametrize("call, name", [
    # cluster_neurons said "clusterer:", ExpandAndCluster's name for its method argument
    (lambda: __import__("neuroflow.identify.clustering", fromlist=["x"]).cluster_neurons(
        np.ones((6, 3)), np.repeat(np.arange(3), 2), 3, "tanh", gamma=1.0, method="kmeans"), "method"),
    # suite(name) said "suite:", the CLI's flag without its dashes
    (lambda: __import__("neuroflow.identify.problems", fromlist=["x"]).suite("bogus"), "name"),
    # check_gap's refit passes its clusterer on as cluster_neurons' method: named as check_gap's argument
    (lambda: __import__("neuroflow.identify.selection", fromlist=["x"]).check_gap(
        None, None, None, None, None, None, activation="tanh", n_students=2, gamma=1.0, clusterer="kmeans",
        sign=None, loss_tol=1e-6), "clusterer"),
    # these named nothing: "'int' object is not iterable", "'<=' not supported between 'int' and 'str'"
    (lambda: __import__("neuroflow.identify.problems", fromlist=["x"]).make_digits_teacher(hidden=-1), "hidden"),
    (lambda: __import__("neuroflow.identify.problems", fromlist=["x"]).widened_paper_suite(max_probe_values="x"),
     "max_probe_values"),
    (lambda: __import__("neuroflow.identify.problems", fromlist=["x"]).widened_paper_suite(max_hessian_cost="x"),
     "max_hessian_cost"),
])
def test_api_errors_name_the_argument_the_caller_passed(call, name):
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        call()


def test_a_second_run_writing_a_stage_checkpoint_is_refused_while_the_first_trains(tmp_path, monkeypatch):
    """The student checkpoint had no lock: two runs sharing --checkpoint (digits and digits-inner, or one command
    twice) each rewrote the stage's file with only their own students, so the other's finished students were lost.
    A run now holds the file from reading it to its last student; a second one is refused, naming it and the pid."""
    import os
    import warnings

    import neuroflow.identify.checkpoint as C

    t, X, kw = _small_checkpointed_problem(tmp_path)
    real_add, refused = C.StudentCheckpoint.add, []

    def add_while_another_run_starts(self, fit):  # a second run reaching the same stage while this one trains
        if not refused:
            layer = int(self.path.name.split("_")[1].removeprefix("layer"))
            with pytest.raises(ValueError) as exc, C.StudentCheckpoint.locked(tmp_path, layer, self.key):
                pass
            refused.append(str(exc.value))
        real_add(self, fit)

    monkeypatch.setattr(C.StudentCheckpoint, "add", add_while_another_run_starts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ExpandAndCluster(**kw).fit(X, t.forward(X))
    assert len(refused) == 1 and "\n" not in refused[0]
    assert refused[0].startswith(f"checkpoint: {tmp_path}{os.sep}students_layer0_")
    assert f"is being written by another run (pid {os.getpid()})" in refused[0]
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".lock")]   # let go at the end


_HOLD_SCRIPT = """
import sys, time
from neuroflow.identify.checkpoint import StudentCheckpoint
with StudentCheckpoint.locked(sys.argv[1], 0, "k" * 64):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_stage_checkpoint_held_by_another_process_is_refused_until_it_is_killed(tmp_path):
    """Another process holds the stage's file: refused in one line with its pid; once it is killed with kill -9 (its
    lock file left behind) the next run takes the file over, and lets go of it at the end."""
    import os
    import signal
    import subprocess
    import sys

    from neuroflow.identify.checkpoint import StudentCheckpoint
    from neuroflow.identify.students import StudentFit

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, env=env,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(ValueError, match=rf"^checkpoint: .*students_layer0_k+\.npz is being written by another "
                                             rf"run \(pid {proc.pid}\); wait for it to end or use another checkpoint"):
            with StudentCheckpoint.locked(tmp_path, 0, "k" * 64):
                pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert [p.name for p in tmp_path.iterdir()] == [".students_layer0_kkkkkkkkkkkk.npz.lock"]   # left by kill -9
    with StudentCheckpoint.locked(tmp_path, 0, "k" * 64) as saved:
        saved.add(StudentFit(index=0, seed=0, theta=np.zeros(2), loss=0.0, gnorm=0.0, converged=True,
                             engine="numpy", time_s=0.0))
    assert [p.name for p in tmp_path.iterdir()] == [saved.path.name]


def test_a_finished_stage_checkpoint_in_a_folder_no_one_can_write_is_still_read(tmp_path, monkeypatch):
    """The stage's lock beside its file could not be made where the folder is read-only (a finished run's checkpoint
    on a shared read-only disk): a fit that only reads its students failed with PermissionError, where it had loaded
    them before the lock came. As for the maze checkpoints, such a folder is read without a lock (it is not
    written); a student still to train fails as it did, when its file is written."""
    import errno

    import neuroflow.identify.checkpoint as C
    from neuroflow import _utils
    from neuroflow.identify.students import StudentFit

    with C.StudentCheckpoint.locked(tmp_path, 0, "k" * 64) as saved:
        saved.add(StudentFit(index=0, seed=0, theta=np.zeros(2), loss=0.0, gnorm=0.0, converged=True,
                             engine="numpy", time_s=0.0))

    def read_only(path, busy):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(_utils, "exclusive_lock", read_only)
    with C.StudentCheckpoint.locked(tmp_path, 0, "k" * 64) as again:
        assert list(again.fits) == [0]


def test_identify_run_refuses_a_checkpoint_another_run_writes_in_one_line(tmp_path, capsys):
    """`identify run --checkpoint DIR` while another run writes the same stage's students: refused in one line naming
    the flag, the file and the other run's pid (no row or traceback), before any student of that stage trains."""
    import os

    from neuroflow._utils import lock_beside
    from neuroflow.cli import main
    from neuroflow.identify import save_teacher

    save_teacher(make_teacher(2, 2, "tanh", seed=4), tmp_path / "t.npz")
    ck = tmp_path / "ck"
    run = ["identify", "run", "--teacher", str(tmp_path / "t.npz"), "--n-samples", "100", "--n-students", "4",
           "--width", "teacher", "--student-steps", "30", "--student-iterations", "5", "--seed", "0", "--quiet",
           "--checkpoint", str(ck)]
    with pytest.warns(RuntimeWarning, match="did not reach low loss"):  # 30 steps: the lock is what is tested
        assert main(run) == 0
    (stage,) = ck.glob("students_layer0_*.npz")
    capsys.readouterr()
    with lock_beside(stage, "held by pid {pid}"):
        assert main(run) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.endswith(f"--checkpoint: {stage} is being written by another run (pid "
                                            f"{os.getpid()}); wait for it to end or use another checkpoint folder")


def test_a_suite_problem_whose_checkpoint_another_run_writes_ends_the_suite_without_a_row(monkeypatch):
    """A problem's students written by another run (two suites sharing --checkpoint) is the run's failure, not the
    problem's: kept as the problem's failed row, a rerun would skip the problem."""
    from neuroflow.identify import bench
    from neuroflow.identify import problems as P
    from neuroflow.identify.checkpoint import CheckpointBusy

    def busy(self, *a, **k):
        raise CheckpointBusy("checkpoint: f is being written by another run (pid 1); wait for it to end")

    monkeypatch.setattr(ExpandAndCluster, "fit", busy)
    with pytest.raises(CheckpointBusy):
        bench.run_problem(P.quick_suite()[0], checkpoint="ck")
