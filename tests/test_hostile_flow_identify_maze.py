"""Hostile input to `neuroflow flow ...`, `maze ...` and `identify ...` and to the memristor API (CLI fuzz findings):
Ctrl-C and SIGTERM inside a sweep, damaged teacher files, foreign and incomplete bench rows, damaged measurements and
device files, sizes of 1e308, teachers whose outputs never vary, JSON with a key twice, hostile environments
(MPLBACKEND, MPLCONFIGDIR, thread counts), a checkpoint path taken by a folder or a named pipe, and flags that cannot
act together. Each ends in one line naming the file, flag or argument (exit 2), a ValueError naming the argument
before any long work, or exit 130 / 143 with only finished results kept."""
import contextlib
import io
import json
import os
import re
import sys
import warnings
import zipfile

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


# ----------------------------------------------------------------------------- maze sweep: Ctrl-C
@pytest.mark.parametrize("signum, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_ctrl_c_inside_a_sweep_point_stops_the_sweep_and_keeps_only_finished_points(signum, code, tmp_path, capsys,
                                                                                   monkeypatch):
    """ActorCritic.fit turns Ctrl-C into an interrupted result (NaN steps); the sweep must not save that as a
    finished point (NaN cast to int32) nor go on: exit 130, the finished point kept, and a rerun resumes. SIGTERM
    (kill, a batch system's time limit) likewise, exit 143: it killed the process on the spot, saying nothing."""
    import signal

    from neuroflow.rl.agent import ActorCritic

    real = ActorCritic._advance

    def interrupt_at_alpha_02(self, e_end, st):
        if self.alpha == 0.2:
            if signum == "SIGTERM":
                os.kill(os.getpid(), signal.SIGTERM)
            else:
                raise KeyboardInterrupt  # what Ctrl-C raises
        real(self, e_end, st)

    monkeypatch.setattr(ActorCritic, "_advance", interrupt_at_alpha_02)
    out = tmp_path / "sw"
    argv = ["maze", "sweep", "--seeds", "2", "--episodes", "4", "--alphas", "0.1", "0.2", "0.3", "--out", str(out),
            "--quiet", "--json"]
    assert main(argv) == code
    payload = json.loads(capsys.readouterr().out)
    assert payload["interrupted"] is True and payload["computed_points"] == [0]
    assert payload["best"]["alpha"] == 0.1
    assert sorted(p.name for p in out.iterdir()) == ["point_000.npz"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # main's handler is gone
    monkeypatch.undo()
    assert main(argv) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["computed_points"] == [1, 2] and all(p["final_steps"] > 0 for p in payload["points"])


def test_a_point_file_with_negative_steps_is_named_clearly_on_rerun(tmp_path):
    from neuroflow.rl.sweep import maze_sweep

    grid = dict(alphas=(0.1,), n_seeds=2, n_episodes=4)
    maze_sweep("tmaze", out=tmp_path, **grid)
    point = tmp_path / "point_000.npz"
    with np.load(point) as z:
        key, steps = z["key"], z["steps"].copy()
    steps[:, 1:] = np.iinfo(np.int32).min     # what a NaN cast to int32 gives
    np.savez(point, key=key, steps=steps)
    with pytest.warns(UserWarning, match=r"point_000.npz: not a finished sweep point \(ValueError: 6 of its 8 step "
                                         r"counts are negative or not finite\)"):
        again = maze_sweep("tmaze", out=tmp_path, **grid)
    assert again.computed == [0]


def test_a_sweep_refuses_points_of_a_sweep_with_other_settings_and_resumes_its_own(tmp_path, capsys):
    """Point files are named by index only: another sweep's point_000.npz must not be silently replaced."""
    out = tmp_path / "sw"
    first = ["maze", "sweep", "--seeds", "2", "--episodes", "4", "--alphas", "0.1", "--quiet", "--json",
             "--out", str(out)]
    assert _rc(first) == 0
    capsys.readouterr()
    before = (out / "point_000.npz").read_bytes()
    assert _rc(["maze", "sweep", "--task", "watermaze", "--seeds", "2", "--episodes", "3", "--alphas", "0.1",
                "--quiet", "--out", str(out)]) == 2
    err = _one_error_line(capsys)
    assert f"--out: {out / 'point_000.npz'} was written by a sweep with other settings (n_episodes 4 there, 3 now; " \
           "task 'tmaze' there, 'watermaze' now); use another path or delete it" in err
    assert (out / "point_000.npz").read_bytes() == before
    assert _rc(first) == 0                       # the same settings still resume
    assert json.loads(capsys.readouterr().out)["computed_points"] == []


def test_ctrl_c_in_ablation_still_reaches_the_cli(capsys, monkeypatch):
    from neuroflow.rl.agent import ActorCritic

    def ctrl_c(self, e_end, st):
        raise KeyboardInterrupt

    monkeypatch.setattr(ActorCritic, "_advance", ctrl_c)
    assert main(["maze", "ablation", "--seeds", "2", "--episodes", "3", "--quiet"]) == 130
    assert "interrupted; nothing written" in capsys.readouterr().err


# ----------------------------------------------------------------------------- maze: flags that cannot act
@pytest.mark.parametrize("argv, flags", [
    (["maze", "ablation", "--sigmas", "0.1", "0.2"], "--sigmas"),
    (["maze", "ablation", "--n-jobs", "2"], "--n-jobs"),
    (["maze", "ablation", "--scheduler", "tcp://127.0.0.1:8786"], "--scheduler"),
    (["maze", "ablation", "--tail", "10", "--episodes", "5"], "--tail, --episodes"),
    (["maze", "ablation", "--tail", "300"], "--tail, --episodes"),          # more than T-maze's 200 episodes
    (["maze", "sweep", "--tail", "10", "--episodes", "5"], "--tail, --episodes"),
    (["maze", "tmaze", "--synapse", "ideal", "--device", "linear-noisy"], "--synapse ideal, --device"),
    (["maze", "watermaze", "--synapse", "ideal", "--device", "portner2025"], "--synapse ideal, --device"),
    (["maze", "sweep", "--synapse", "ideal", "--devices", "ideal", "linear-noisy"], "--synapse ideal, --devices"),
    (["maze", "tmaze", "--compare", "--synapse", "ideal"], "--compare, --synapse ideal"),   # was one run, exit 0
])
def test_flags_without_effect_end_in_one_line_naming_them(argv, flags, capsys):
    assert _rc(argv + ["--quiet", "--seeds", "2"]) == 2
    assert _one_error_line(capsys).startswith(f"neuroflow: error: {flags}")


@pytest.mark.parametrize("extra, start", [
    (["--synapse", "ideal"], "--variability cycle, --synapse ideal: ideal synapses use the 'ideal' device"),
    (["--device", "linear-noisy"], "--variability cycle, --device: 'cycle' needs devices with a cycles table"),
])
def test_cycle_variability_without_a_cycles_table_names_the_flags(extra, start, capsys):
    assert _rc(["maze", "tmaze", "--variability", "cycle", "--seeds", "2", "--episodes", "2", "--quiet", *extra]) == 2
    assert _one_error_line(capsys).startswith(f"neuroflow: error: {start}")


def test_ideal_synapses_refuse_only_devices_that_cannot_change_them(tmp_path, capsys):
    from neuroflow.memristor import VCMDevice
    from neuroflow.memristor.fitting import save_devices
    from neuroflow.rl.cli import _unused_devices

    quiet = save_devices(VCMDevice(sigma_set=0.1, sigma_reset=0.1, name="q"), tmp_path / "quiet.json")
    assert _rc(["maze", "tmaze", "--synapse", "ideal", "--device", str(quiet), "--quiet"]) == 2
    assert "--synapse ideal, --device" in _one_error_line(capsys)
    noisy = (VCMDevice(read_noise=0.02, name="n"),)   # read noise does reach ideal synapses' reads
    assert _unused_devices("ideal", [noisy], "--device") is None
    assert _unused_devices("ideal", ["ideal"], "--device") is None
    assert _unused_devices("memristor", ["linear-noisy"], "--device") is None


# ----------------------------------------------------------------------------- device and measurement files
def _device_file(tmp_path, name, **changes):
    from neuroflow.memristor.device import get_device
    from neuroflow.memristor.fitting import save_devices

    path = save_devices(get_device("portner2025")[:2], tmp_path / f"{name}.json")
    data = json.loads(path.read_text())
    data["devices"][0].update(changes)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("cycles, words", [
    ([[1e308] * 10] * 3, "overflows"),
    ("abc", "expected a table of numbers"),
    ({"a": 1}, "expected a table of numbers"),
    ([[1.0, 2.0], [3.0]], "expected a table of numbers"),
])
def test_device_file_cycles_errors_name_file_device_and_field(cycles, words, tmp_path, capsys):
    from neuroflow.memristor.fitting import load_devices

    path = _device_file(tmp_path, "dev", cycles=cycles)
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # no raw RuntimeWarning of an overflow on the way
        with pytest.raises(ValueError) as exc:
            load_devices(path)
    assert str(exc.value).startswith(f"{path}: device 1 (D") and "cycles: " in str(exc.value)
    assert words in str(exc.value)
    assert _rc(["maze", "tmaze", "--seeds", "2", "--episodes", "5", "--quiet", "--device", str(path)]) == 2
    err = _one_error_line(capsys)
    assert "--device" in err and "dev.json: device 1" in err and "cycles" in err


@pytest.mark.parametrize("body, field, words", [
    ({"pset": {"a": 1}}, "pset", "pulse coordinates"),
    ({"preset": "x"}, "preset", "pulse coordinates"),
    ({"pset": [[0], [1, 2]]}, "pset", "pulse coordinates"),
    ({"Gset": [[1e-5], [2e-5]]}, "Gset", "flat list"),
])
def test_fit_device_json_errors_name_file_and_field(body, field, words, tmp_path, capsys):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"N": 1, "repeats": 1, "Gset": [1e-5, 2e-5], "Greset": [1e-5, 2e-5], **body}))
    assert _rc(["maze", "fit-device", str(path), "--out", str(tmp_path / "fd.json"), "--quiet"]) == 2
    err = _one_error_line(capsys)
    assert f"m.json: {field}: " in err and words in err


def test_a_device_file_missing_a_field_is_refused_naming_it(tmp_path, capsys):
    """save_devices writes every field; a missing one must not silently take the default (a_set = 0.0)."""
    import dataclasses

    from neuroflow.memristor import VCMDevice
    from neuroflow.memristor.fitting import load_devices

    path = _device_file(tmp_path, "dev")
    full = json.loads(path.read_text())
    for key in [f.name for f in dataclasses.fields(VCMDevice)]:
        data = json.loads(json.dumps(full))
        del data["devices"][0][key]
        path.write_text(json.dumps(data))
        with pytest.raises(ValueError, match=rf"dev.json: device 1( \(\w+\))?: missing {key}$"):
            load_devices(path)
    assert _rc(["maze", "tmaze", "--seeds", "2", "--episodes", "3", "--quiet", "--variability", "device",
                "--device", str(path)]) == 2
    assert "--device" in (err := _one_error_line(capsys)) and "dev.json: device 1" in err and "missing name" in err


def test_conductances_far_below_any_memristor_are_refused_by_fit_device_and_device_files(tmp_path, capsys):
    path = tmp_path / "m.json"
    n = 20
    path.write_text(json.dumps({"N": n, "repeats": 2, "Gset": [1e-300 * (1 + p) for p in range(n + 1)] * 2,
                                "Greset": [1e-300 * (1 + p) for p in range(n + 1)] * 2}))
    assert _rc(["maze", "fit-device", str(path), "--out", str(tmp_path / "fd.json"), "--quiet"]) == 2
    assert "m.json: conductances around 1.1e-299 S, far below any memristor's" in _one_error_line(capsys)
    assert not (tmp_path / "fd.json").exists()
    for g0, g1, words in [(1e-300, 2e-300, "G1_uS: 2e-300 uS, far below"),
                          (10.0, 1e300, "G1_uS: 1e+300 uS, far above")]:
        dev = _device_file(tmp_path, "dev", G0_uS=g0, G1_uS=g1)
        assert _rc(["maze", "tmaze", "--seeds", "2", "--episodes", "3", "--quiet", "--device", str(dev)]) == 2
        err = _one_error_line(capsys)
        assert "--device" in err and f"dev.json: device 1 (D" in err and words in err, err


def test_a_device_file_that_is_not_there_or_a_folder_says_so(tmp_path, capsys):
    (tmp_path / "dir.json").mkdir()
    for name, words in [("nonexist.json", "nonexist.json: no such file; expected one of"),
                        ("dir.json", "dir.json: is a folder; expected one of"), ("", "is a folder; expected one of")]:
        path = str(tmp_path / name)
        assert _rc(["maze", "tmaze", "--seeds", "2", "--episodes", "3", "--quiet", "--device", path]) == 2
        err = _one_error_line(capsys)
        assert "argument --device: " in err and words in err and "got " not in err, err


def test_deeply_nested_device_and_measurement_files_end_in_one_line(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    assert _rc(["maze", "tmaze", "--seeds", "2", "--episodes", "5", "--quiet", "--device", str(deep)]) == 2
    assert "deep.json: device file is nested too deeply to read" in _one_error_line(capsys)
    assert _rc(["maze", "fit-device", str(deep), "--out", str(tmp_path / "fd.json"), "--quiet"]) == 2
    assert "deep.json: JSON nested too deeply to be a measurement" in _one_error_line(capsys)


# ----------------------------------------------------------------------------- identify run --teacher
def _members(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _zip_of(path, members, raw=None):
    """An .npz of ``members`` (arrays) and ``raw`` (name -> bytes written as is)."""
    with zipfile.ZipFile(path, "w") as z:
        for k, v in members.items():
            buf = io.BytesIO()
            np.save(buf, v)
            z.writestr(f"{k}.npy", buf.getvalue())
        for k, v in (raw or {}).items():
            z.writestr(f"{k}.npy", v)
    return path


def _damaged_teachers(teacher, tmp_path):
    t = _members(teacher)
    crc = tmp_path / "crc.npz"
    np.savez(crc, **t)
    b = bytearray(crc.read_bytes())
    i = b.find(b"weight_0.npy")
    b[i + 200] ^= 0xFF
    b[i + 201] ^= 0xFF
    crc.write_bytes(bytes(b))
    comp = tmp_path / "comp.npz"
    np.savez_compressed(comp, **t)
    b = bytearray(comp.read_bytes())
    i = b.find(b"weight_0.npy")
    for j in range(60, 80):
        b[i + j] ^= 0x55
    comp.write_bytes(bytes(b))
    actobj = tmp_path / "actobj.npz"
    np.savez(actobj, **{**t, "activation": np.array({"a": 1}, dtype=object)})
    actgarb = _zip_of(tmp_path / "actgarb.npz", {k: v for k, v in t.items() if k != "activation"},
                      {"activation": b"\x93NUMPY garbage"})
    actnum = tmp_path / "actnum.npz"
    np.savez(actnum, **{**t, "activation": np.array(5)})
    wcomplex = tmp_path / "wcomplex.npz"
    np.savez(wcomplex, **{**t, "weight_0": t["weight_0"].astype(complex) + 1j})
    return [(crc, "weight_0"), (comp, "weight_0"), (actobj, "activation"), (actgarb, "activation"),
            (actnum, "activation"), (wcomplex, "weight_0")]


def test_damaged_teacher_files_end_in_one_line_naming_file_and_entry(teacher, tmp_path, capsys):
    for path, key in _damaged_teachers(teacher, tmp_path):
        with warnings.catch_warnings():
            warnings.simplefilter("error")    # complex weights: no ComplexWarning, a refusal
            rc = _rc(["identify", "run", "--quiet", "--n-samples", "50", "--n-students", "2", "--width", "3",
                      "--teacher", str(path)])
        assert rc == 2, path
        err = _one_error_line(capsys)
        assert f"teacher: {str(path)!r}: entry {key!r}" in err, err


def test_teacher_files_that_are_not_npz_archives_or_have_empty_layers_end_in_one_line(teacher, tmp_path, capsys):
    """A plain .npy renamed (np.load hands back an array), a text file (numpy's unpickling advice), and a hidden
    layer with no units: one line naming the file and what it is."""
    npy = tmp_path / "npy.npz"
    with open(npy, "wb") as fh:
        np.save(fh, np.ones(3))
    text = tmp_path / "text.npz"
    text.write_text("hello world\n")
    zero = tmp_path / "zero.npz"
    np.savez(zero, activation=np.array("tanh"), weight_0=np.zeros((0, 2)), bias_0=np.zeros(0),
             weight_1=np.zeros((1, 0)), bias_1=np.zeros(1))
    for path, words in [(npy, ": not a teacher .npz archive (a single .npy array)"),
                        (text, ": not a valid .npz archive"), (zero, ": weight_0: hidden layer 0 has no units")]:
        assert _rc(["identify", "run", "--quiet", "--n-samples", "50", "--n-students", "4", "--width", "teacher",
                    "--teacher", str(path)]) == 2
        err = _one_error_line(capsys)
        assert f"{str(path)!r}{words}" in err and "allow_pickle" not in err, err


def test_a_teacher_whose_outputs_overflow_is_refused_naming_the_file(teacher, tmp_path, capsys):
    assert _rc(["identify", "make-teacher", "--quiet", "--out", str(tmp_path / "big.npz"),
                "--weight-scale", "1e308"]) == 2
    assert "argument --weight-scale: expected a number in (0, 100], got '1e308'" in _one_error_line(capsys)
    big = tmp_path / "big.npz"
    np.savez(big, **{**_members(teacher), "weight_0": _members(teacher)["weight_0"] * 1e307})
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # no raw RuntimeWarning of an overflow on the way
        assert _rc(["identify", "run", "--quiet", "--n-samples", "50", "--n-students", "4", "--width", "3",
                    "--teacher", str(big)]) == 2
    err = _one_error_line(capsys)
    assert f"teacher: {str(big)!r}: weights too large" in err and "overflow" in err


def test_a_teacher_that_unpacks_past_the_memory_is_refused_before_it_is_unpacked(teacher, tmp_path, monkeypatch):
    """A small archive of zeros that unpacks to more than the machine holds (a 7 MB file of 7 GB was read for 51 s at
    a 15 GB peak) is refused from the zip's listing; here 64 MiB of zeros, on a machine said to hold 128 MiB."""
    from neuroflow.identify.teacher import load_teacher

    bomb = tmp_path / "bomb.npz"
    rows = 2048
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in _members(teacher).items():
            if k != "weight_0":
                buf = io.BytesIO()
                np.save(buf, v)
                z.writestr(f"{k}.npy", buf.getvalue())
        with z.open("weight_0.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (rows, 4096)})
            for _ in range(rows):
                f.write(bytes(8 * 4096))
    assert bomb.stat().st_size < 2**20
    real_sysconf = os.sysconf
    machine = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 2**15}  # 128 MiB
    monkeypatch.setattr(os, "sysconf", lambda name: machine[name] if name in machine else real_sysconf(name))
    with pytest.raises(ValueError, match=rf"^teacher: {re.escape(repr(str(bomb)))} \(its arrays unpack to 0\.1 GiB\): "
                                         r"this run needs about 0\.2 GiB of memory, more than the 0\.1 GiB"):
        load_teacher(bomb)


# ----------------------------------------------------------------------------- identify: sizes, flags
def test_absurd_sizes_are_refused_naming_the_flags(teacher, tmp_path, capsys):
    assert _rc(["identify", "make-teacher", "--quiet", "--out", str(tmp_path / "t2.npz"), "--width", "1e12"]) == 2
    assert _one_error_line(capsys).startswith("neuroflow: error: --input-dim, --width: ")
    assert not (tmp_path / "t2.npz").exists()
    base = ["identify", "run", "--quiet", "--n-samples", "50", "--n-students", "2", "--teacher", str(teacher)]
    assert _rc(base + ["--width", "3", "--expansion", "1e300"]) == 2
    assert _one_error_line(capsys).startswith("neuroflow: error: --width, --expansion: ")
    assert _rc(base + ["--width", "3", "--max-expansion", "1e15"]) == 2
    assert _one_error_line(capsys).startswith("neuroflow: error: --width, --max-expansion: ")


@pytest.mark.parametrize("extra, flags", [
    (["--width", "3", "--depth", "2"], "--width, --depth"),
    (["--width", "3", "--max-width", "5"], "--width, --max-width"),
    (["--width", "teacher", "--max-depth", "2"], "--width, --max-depth"),
    (["--max-expansion", "8"], "--max-expansion, --width"),
    (["--depth", "1", "--max-depth", "2"], "--depth, --max-depth"),
    (["--width", "3", "--engine", "flow", "--student-lm-steps", "5"], "--engine flow, --student-lm-steps"),
])
def test_identify_run_flags_without_effect_end_in_one_line_naming_them(extra, flags, teacher, capsys):
    argv = ["identify", "run", "--quiet", "--n-samples", "50", "--n-students", "2", "--teacher", str(teacher)]
    assert _rc(argv + extra) == 2
    assert _one_error_line(capsys).startswith(f"neuroflow: error: {flags}: ")


@pytest.mark.parametrize("extra, start, words", [
    (["--n-students", "2"], "--gamma, --n-students: ", "got --gamma 0.5 x --n-students 2 = 1; raise --gamma or "
                                                       "--n-students"),
    (["--n-samples", "1"], "--n-samples: ", "1 probe outputs are fewer than the"),
    # with a width guess too: students 4x as wide would fit 1 probe exactly and recover nothing
    (["--n-samples", "1", "--width", "teacher"], "--n-samples: ", "1 probe outputs are fewer than the"),
    (["--n-samples", "1", "--width", "2"], "--n-samples: ", "parameters of the guessed network"),
])
def test_identify_run_errors_of_the_library_name_the_flags(extra, start, words, teacher, capsys):
    argv = ["identify", "run", "--quiet", "--n-samples", "50", "--n-students", "4", "--teacher", str(teacher)]
    assert _rc(argv + extra) == 2
    err = _one_error_line(capsys)
    assert err.startswith(f"neuroflow: error: {start}") and words in err, err
    assert "gamma *" not in err and "X: " not in err


def test_identify_run_warnings_give_their_advice_in_flags(tmp_path, capsys):
    from neuroflow.identify import save_teacher
    from neuroflow.identify.problems import make_teacher

    path = tmp_path / "t4.npz"
    save_teacher(make_teacher(4, 4, "tanh", seed=0), path)
    with pytest.warns(RuntimeWarning) as caught:
        assert _rc(["identify", "run", "--quiet", "--teacher", str(path), "--n-samples", "200", "--n-students", "4",
                    "--depth", "1", "--max-width", "2", "--student-steps", "50", "--student-iterations", "5"]) == 0
    said = " | ".join(str(w.message) for w in caught)
    assert "raise --max-width / --max-depth" in said and "(--student-steps, --student-iterations)" in said, said
    assert "max_width" not in said and "train_options" not in said


@pytest.mark.parametrize("argv, argument", [
    (["identify", "run", "--quiet", "--n-samples", "50", "--teacher", ""], "--teacher"),
    (["maze", "fit-device", ""], "FILE"),  # every verb's input files share the argparse type
])
def test_an_empty_input_path_is_named_as_such(argv, argument, capsys):
    assert _rc(argv) == 2
    assert f"argument {argument}: expected a file path, got ''" in _one_error_line(capsys)


# ----------------------------------------------------------------------------- identify run --checkpoint
def test_a_folder_where_a_checkpoint_file_goes_is_refused_and_leaves_nothing(tmp_path):
    from neuroflow.identify.checkpoint import StudentCheckpoint
    from neuroflow.identify.students import StudentFit

    key = "ab" * 32
    ck = StudentCheckpoint(tmp_path, 0, key)
    ck.path.mkdir()                      # taken by a folder after the stage started: the write fails, cleanly
    fit = StudentFit(index=0, seed=0, theta=np.zeros(2), loss=0.0, gnorm=0.0, converged=True, engine="numpy",
                     time_s=0.0)
    with pytest.raises(OSError):
        ck.add(fit)
    assert sorted(p.name for p in tmp_path.iterdir()) == [ck.path.name]
    with pytest.raises(ValueError, match=r"checkpoint: .*students_layer0_abab.*\.npz is a folder"):
        StudentCheckpoint(tmp_path, 0, key)   # found at the start of a stage: refused before any training


# ----------------------------------------------------------------------------- identify bench --out rows
_ROW = {"name": "a", "activation": "tanh", "difficulty": 0.1, "teacher_sizes": [2], "cluster_sizes": [3],
        "layer_sizes": [2], "overhead_pct": [0.0], "exact_size": True, "all_matched_within_1deg": True,
        "max_angle_deg": 0.01, "functional_rel_mse": 1e-12, "time_s": 3.0, "error": None}


def test_rows_without_the_fields_the_summary_reads_are_skipped_with_a_warning(tmp_path):
    from neuroflow.identify.bench import read_rows, summarize

    path = tmp_path / "rows.jsonl"
    lines = [json.dumps(_ROW), json.dumps({"name": "tanh-d2-k2-N500-s1-a0-0"}),
             json.dumps({k: v for k, v in _ROW.items() if k != "all_matched_within_1deg"} | {"name": "b"}),
             json.dumps({"name": "c", "error": "boom"})]
    path.write_text("\n".join(lines) + '\n{"name": "d", "ti')      # the last line cut short by an interrupt
    with pytest.warns(UserWarning) as caught:
        rows = read_rows(path)
    assert [r["name"] for r in rows] == ["a", "c"]
    assert [str(w.message).split(": ")[0] for w in caught] == [f"{path}:2", f"{path}:3"]
    assert "without time_s" in str(caught[0].message) and "all_matched_within_1deg" in str(caught[1].message)
    s = summarize(rows)
    assert s["n_problems"] == 2 and s["n_errors"] == 1 and s["median_time_s"] == 3.0
    with pytest.raises(ValueError, match=r"rows\[1\] \(x\): a finished row without"):
        summarize([_ROW, {"name": "x"}])


@pytest.mark.filterwarnings("ignore:.*skipped:UserWarning")   # the row-like lines before the foreign one
def test_bench_refuses_an_out_file_that_is_not_a_rows_file(tmp_path, capsys):
    for text in ("garbage\n", '{"name": "a", "time_s": 1}\nnot json at all\n', "null\n[1, 2]\n"):
        path = tmp_path / "rows.jsonl"
        path.write_text(text)
        assert _rc(["identify", "bench", "--quiet", "--n-problems", "1", "--out", str(path)]) == 2
        err = _one_error_line(capsys)
        assert f"{path}: not a rows file" in err
        assert path.read_text() == text           # nothing appended


def test_bench_resumes_from_rows_with_a_cut_line_in_the_middle(tmp_path):
    from neuroflow.identify.bench import read_rows

    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(_ROW) + '\n{"name": "b", "ti\n' + json.dumps({**_ROW, "name": "c"}) + "\n{")
    assert [r["name"] for r in read_rows(path)] == ["a", "c"]


def test_a_sweep_interrupted_before_any_point_finished_claims_nothing(tmp_path, capsys, monkeypatch):
    from neuroflow.rl.agent import ActorCritic

    def ctrl_c(self, e_end, st):
        raise KeyboardInterrupt

    monkeypatch.setattr(ActorCritic, "_advance", ctrl_c)
    out, plot = tmp_path / "sw", tmp_path / "sw.png"
    assert main(["maze", "sweep", "--seeds", "2", "--episodes", "4", "--alphas", "0.1", "0.2", "--out", str(out),
                 "--plot", str(plot)]) == 130
    text = capsys.readouterr().out
    assert "not finished" in text and "saved in" not in text and "no plot: no grid point finished" in text
    assert not plot.exists() and not any(out.iterdir())


def test_expansion_without_a_width_guess_is_refused(tmp_path, capsys):
    teacher = tmp_path / "t.npz"
    assert main(["identify", "make-teacher", "--out", str(teacher), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["identify", "run", "--teacher", str(teacher), "--n-samples", "200", "--expansion", "8",
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuroflow: error: --expansion, --width:") and len(err.splitlines()) == 1


@pytest.mark.parametrize("header, message", [
    ("pulse,conductance_uS,direction,conductance", "conductance and conductance_us both give the conductance"),
    ("pulse,conductance_uS,direction,pulse", "column(s) pulse appear more than once"),
])
def test_a_measurement_with_ambiguous_columns_is_refused(tmp_path, capsys, header, message):
    csv = tmp_path / "m.csv"
    rows = [f"{i},{30 + i},set,{i}" for i in range(4)] + [f"{i},{34 - i},reset,{i}" for i in range(4)]
    csv.write_text(header + "\n" + "\n".join(rows) + "\n")
    assert main(["maze", "fit-device", str(csv), "--out", str(tmp_path / "d.json"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and str(csv) in err and len(err.splitlines()) == 1
    assert not (tmp_path / "d.json").exists()


@pytest.mark.parametrize("argv, flag", [
    (["sweep", "--alphas", "0.1", "0.1"], "--alphas"),
    (["sweep", "--temperatures", "0.3", "0.30"], "--temperatures"),
    (["sweep", "--devices", "portner2025", "portner2025"], "--devices"),
    (["ablation", "--sweep", "--sigmas", "0.1", "0.1"], "--sigmas"),
])
def test_a_grid_value_given_twice_is_refused(argv, flag, capsys):
    assert main(["maze", *argv, "--seeds", "2", "--episodes", "5", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"neuroflow: error: {flag}: ") and "appears twice" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("u, ids, n, kw, start", [
    (np.full((8, 3), np.nan), np.arange(8) % 4, 4, {}, "u: expected finite values"),   # scipy's condensed-matrix error
    (np.zeros(8), np.arange(8) % 4, 4, {}, "u: expected a 2-d array"),                   # scipy's empty-matrix error
    (None, np.arange(4), 4, {}, "student_ids: expected one student index per row of u"),  # 'keys need the same shape'
    (None, np.arange(8) % 4 + 0.5, 4, {}, "student_ids: expected whole numbers"),       # was clustered
    (None, np.arange(8), 4, {}, "student_ids, n_students: the rows of u come from 8 students"),  # was clustered
    (None, np.arange(8) % 4, 4.5, {}, "n_students: expected a positive integer"),         # was clustered
    (None, np.arange(8) % 4, 4, {"sign": "x"}, "sign: expected None"),                    # was taken as True
])
def test_cluster_neurons_names_bad_neurons_and_student_ids(u, ids, n, kw, start):
    from neuroflow.identify import cluster_neurons

    u = np.random.default_rng(0).normal(size=(8, 3)) if u is None else u
    with pytest.raises(ValueError, match="^" + re.escape(start)):
        cluster_neurons(u, ids, n, "tanh", **kw)


def test_maze_api_output_paths_are_named_before_any_work(tmp_path):
    """ActorCritic.fit(checkpoint=FOLDER or '') read the folder as a damaged checkpoint and advised deleting it
    ('checkpoint: . is not a maze checkpoint ...; delete it'); maze_sweep(out=FILE) raised FileExistsError."""
    from neuroflow.rl import ActorCritic, maze_sweep

    (tmp_path / "keep.txt").write_text("x")
    agent = ActorCritic("tmaze")
    for bad, words in [(tmp_path, "is a folder; expected a file path"), ("", "expected a file path, got ''"),
                       (tmp_path / "keep.txt" / "c.npz", "which is a file, not a folder")]:
        with pytest.raises(ValueError, match="^checkpoint: ") as exc:
            agent.fit(3, n_seeds=2, checkpoint=bad, progress=False)
        assert words in str(exc.value) and "delete" not in str(exc.value)
    with pytest.raises(ValueError, match=r"^out: .*keep\.txt: is a file; expected a folder"):
        maze_sweep(alphas=[0.1], n_seeds=2, n_episodes=3, out=tmp_path / "keep.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_bench_refuses_rows_of_the_same_problems_run_with_another_width(tmp_path, capsys, monkeypatch):
    """A rows file written with --width teacher was resumed by --width search: every problem was skipped and the
    teacher-width rows were reported as the search's result, exit 0."""
    from neuroflow.identify import bench

    monkeypatch.setattr(bench, "run_problem", lambda p, *, seed=0, settings=None, n_jobs=1, checkpoint=None: {
        **_ROW, "name": p.name, "width_guess": bench.problem_settings(p, settings)["width"], "run_seed": seed})
    path = tmp_path / "rows.jsonl"
    argv = ["identify", "bench", "--quiet", "--n-problems", "1", "--out", str(path)]
    assert _rc(argv) == 0
    capsys.readouterr()
    text = path.read_text()
    assert _rc(argv + ["--width", "search"]) == 2
    err = _one_error_line(capsys)
    assert "computed with width_guess 'teacher', this run has 'search'" in err and "use another --out" in err
    assert path.read_text() == text                # nothing appended
    assert _rc(argv) == 0 and path.read_text() == text  # the same run still resumes


def test_run_suite_refuses_rows_of_another_seed(tmp_path):
    from neuroflow.identify import bench, problems

    probs = problems.suite("quick", seed=0, n_problems=1)
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({**_ROW, "name": probs[0].name, "width_guess": "teacher", "run_seed": 3}) + "\n")
    with pytest.raises(ValueError, match="computed with run_seed 3, this run has 0"):
        bench.run_suite(probs, out=path, seed=0, progress=False)


@pytest.mark.parametrize("name", ["", "  ", "a\nb"])
def test_fit_device_refuses_a_device_name_that_is_no_line_of_text(name, tmp_path, capsys):
    """--name '' silently fell back to the file's name; a name with a line break was written to the device file and
    broke every report line that names the device."""
    from neuroflow.memristor import get_device, simulate_measurement, write_measurement_csv

    meas = write_measurement_csv(simulate_measurement(get_device("portner2025")[0], n_cycles=2, seed=0),
                                 tmp_path / "m.csv")
    out = tmp_path / "d.json"
    assert _rc(["maze", "fit-device", str(meas), "--name", name, "--out", str(out), "--quiet"]) == 2
    assert "argument --name: expected a non-empty name" in _one_error_line(capsys)
    assert not out.exists()


def test_identify_run_that_finds_no_shared_neuron_ends_in_one_line_with_flags(teacher, capsys):
    """Students trained one step and a tight --beta-deg share no neuron: the estimator's RuntimeError ended the run
    in a traceback."""
    argv = ["identify", "run", "--teacher", str(teacher), "--n-samples", "200", "--n-students", "4", "--width",
            "teacher", "--student-steps", "1", "--student-iterations", "1", "--gamma", "1", "--beta-deg", "1",
            "--quiet"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the students' own warning (they did not reach low loss)
        assert _rc(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "Traceback" not in err and err.startswith("neuroflow: error: layer 0: no neuron was shared by 4 of 4")
    assert "more students (--n-students), a lower --gamma, a wider --beta-deg" in err


def test_a_measurement_row_with_more_fields_than_its_header_is_refused(tmp_path, capsys):
    """A CSV written with decimal commas ("set,0,34,129") was read with the conductance cut at the comma (34) and
    the rest dropped: a device fitted to wrong numbers, exit 0. Empty trailing fields stay accepted."""
    from neuroflow.memristor import get_device, simulate_measurement, write_measurement_csv

    meas = write_measurement_csv(simulate_measurement(get_device("portner2025")[0], n_cycles=2, seed=0),
                                 tmp_path / "m.csv")
    lines = meas.read_text().splitlines()
    euro = tmp_path / "euro.csv"
    euro.write_text("direction,pulse,conductance_uS\n" + "\n".join(
        f"{d},{p},{g.replace('.', ',')}" for p, g, d in (line.split(",") for line in lines[1:])) + "\n")
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("\n".join([lines[0]] + [line + "," for line in lines[1:]]) + "\n")
    out = tmp_path / "d.json"
    assert _rc(["maze", "fit-device", str(euro), "--out", str(out), "--quiet"]) == 2
    err = _one_error_line(capsys)
    assert f"{euro}: line 2: expected 3 fields, got 4 (a decimal comma" in err and not out.exists()
    assert _rc(["maze", "fit-device", str(trailing), "--out", str(out), "--quiet"]) == 0 and out.exists()


def test_a_sweep_refuses_devices_it_could_not_tell_apart(tmp_path, capsys):
    """The same device file twice (spelled two ways), or two files of devices with one name, were swept as separate
    grid points and reported under one label (two 'meas' rows, exit 0)."""
    from neuroflow.memristor import get_device, save_devices

    a = save_devices(get_device("portner2025")[0].replace(name="meas"), tmp_path / "a.json")
    b = save_devices(get_device("portner2025")[1].replace(name="meas"), tmp_path / "b.json")
    for devices in ([str(a), str(b)], [str(a), str(tmp_path / "." / "a.json")]):
        argv = ["maze", "sweep", "--seeds", "2", "--episodes", "3", "--quiet", "--devices", *devices]
        assert _rc(argv) == 2
        assert "--devices: 2 devices are labelled 'meas'" in _one_error_line(capsys)


def test_two_runs_writing_one_student_checkpoint_at_once_both_finish(tmp_path, monkeypatch):
    """Two identify runs sharing a --checkpoint folder wrote one fixed temporary name: the second truncated the
    first's temporary and renamed it away, and the first then failed with FileNotFoundError."""
    from neuroflow.identify import checkpoint as C
    from neuroflow.identify.students import StudentFit

    first, second = C.StudentCheckpoint(tmp_path, 0, "k" * 40), C.StudentCheckpoint(tmp_path, 0, "k" * 40)
    real_savez, writing = np.savez, []

    def savez_while_the_other_writes(fh, **arrays):  # inside the first write, the second run writes meanwhile
        if not writing:
            writing.append(1)
            second.add(StudentFit(index=1, seed=1, theta=np.ones(2), loss=0.5, gnorm=0.0, converged=True,
                                  engine="numpy", time_s=0.0))
        real_savez(fh, **arrays)

    monkeypatch.setattr(C.np, "savez", savez_while_the_other_writes)
    first.add(StudentFit(index=0, seed=0, theta=np.zeros(2), loss=0.25, gnorm=0.0, converged=True, engine="numpy",
                         time_s=0.0))
    assert writing == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.path.name]


def test_bench_names_more_problems_than_the_suite_has(tmp_path, capsys):
    """`identify bench --suite quick --n-problems 1000` ran the suite's 5 problems as if asked for them."""
    from neuroflow.cli import main
    from neuroflow.identify import problems as P

    out = tmp_path / "rows.jsonl"
    assert main(["identify", "bench", "--suite", "quick", "--n-problems", "1000", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("--n-problems: the quick suite has 5 problems; expected 1 to 5, got 1000"), err
    assert "\n" not in err and not out.exists()
    with pytest.raises(ValueError, match="n_problems: the digits suite has 5 problems"):
        P.suite("digits", n_problems=6)
    assert [len(P.suite(s, n_problems=2)) for s in ("quick", "paper", "deep")] == [2, 2, 2]  # digits trains teachers


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


# ----------------------------------------------------------------------------- sixth pass: the public API
@pytest.mark.parametrize("kwargs, words", [
    ({"seed": -1}, "seed: expected a non-negative integer"),
    ({"seed": 1.5}, "seed: expected a non-negative integer"),
    ({"options": [1]}, "options: expected None or a dict, got list"),
    ({"options": {"strat": [4.0, 4.0]}}, "options: unknown key(s) 'strat'; WaterMaze takes ['start']"),
    ({"options": {"start": [np.nan, 4.0]}}, "options['start']: expected finite values"),
    ({"options": {"start": [1.0, 2.0, 3.0]}}, "options['start']: expected shape (2), got (3,)"),
    ({"options": {"start": [0.0, 0.0]}}, "options['start']: [0.0, 0.0] lies on the platform"),
    ({"options": {"start": [100.0, 100.0]}}, "outside the arena [-6, 6]^2"),
])
def test_water_maze_reset_names_a_bad_seed_or_start(kwargs, words):
    """reset(seed=1.5) ended in numpy's TypeError, options=[1] in AttributeError, a start of three numbers in
    blocked()'s TypeError; a misspelt key was ignored (a random start), a NaN start accepted (NaN positions for
    the whole episode) and a start on the platform began an episode already over."""
    from neuroflow.rl import TMaze, WaterMaze

    with pytest.raises(ValueError) as exc:
        WaterMaze().reset(**kwargs)
    assert words in str(exc.value)
    if "seed" in kwargs or "strat" in str(kwargs):   # the deterministic T-maze checks its arguments all the same
        with pytest.raises(ValueError, match="seed: expected|options: unknown key"):
            TMaze().reset(**kwargs)
    assert WaterMaze().reset(seed=0, options={"start": [4.0, 4.0]})[0].tolist() == [4.0, 4.0]


def test_a_water_maze_step_before_any_reset_says_none_was_started():
    from neuroflow.rl import WaterMaze

    with pytest.raises(ValueError, match="no episode is running .none was started, or the last one ended.; "
                                         "call reset"):
        WaterMaze().step(0)


def test_actor_critic_names_a_device_that_is_no_device_and_a_progress_that_is_no_bool():
    """device=5 ended in "'int' object is not iterable"; fit(progress="no") showed the bar; a numpy integer episode
    count ended in json's "Object of type int64 is not JSON serializable" (the checkpoint key)."""
    from neuroflow.memristor import Crossbar
    from neuroflow.rl import ActorCritic

    for device in (5, 2.5):
        with pytest.raises(ValueError, match="device: expected a VCMDevice, a sequence of them or a preset name"):
            ActorCritic(synapse="memristor", device=device)
        with pytest.raises(ValueError, match="device: expected a VCMDevice"):
            Crossbar(2, 1, device)
    with pytest.raises(ValueError, match="progress: expected True or False, got 'no'"):
        ActorCritic().fit(2, progress="no")
    a = ActorCritic().fit(np.int64(3), np.int64(2), np.int64(1), progress=False).result_.steps
    b = ActorCritic().fit(3, 2, 1, progress=False).result_.steps
    assert np.array_equal(a, b)


def test_train_refuses_a_backend_it_would_ignore_for_an_objective():
    """train(objective, theta0, backend="torch") ran on the objective's own computation and said nothing; a backend
    that does not exist ("jax") was not even checked."""
    from neuroflow.flow import train
    from neuroflow.mlp import MLP

    net = MLP(2, [(3, "tanh", True), (1, "identity", True)])
    X = np.random.default_rng(0).normal(size=(20, 2))
    for backend in ("torch", "jax"):
        with pytest.raises(ValueError, match=r"backend: an Objective computes its own .*got '"):
            train(net.objective(X, X[:, :1]), net.init_params(seed=0), backend=backend)
    assert train(net, net.init_params(seed=0), X, X[:, :1], backend="numpy", maxiterations_ode=5,
                 maxiterations_optim=0).loss >= 0


@pytest.mark.parametrize("extra, start", [
    (["--method-ode", "none", "--max-iterations-ode", "50"], "--method-ode none, --max-iterations-ode 50: 'none' "
                                                            "skips the phase"),
    (["--method-optim", "none", "--max-iterations-optim", "7"], "--method-optim none, --max-iterations-optim 7: "),
    (["--max-iterations-optim", "0", "--method-optim", "bfgs"], "--max-iterations-optim 0, --method-optim bfgs: a "
                                                                "budget of 0 skips the phase, so bfgs would never run"),
    (["--max-iterations-ode", "0", "--method-ode", "RK45"], "--max-iterations-ode 0, --method-ode RK45: "),
])
def test_flow_train_names_a_phase_asked_both_to_run_and_to_be_skipped(extra, start, capsys):
    """--method-ode none --max-iterations-ode 50 skipped the ODE and ignored its budget; --max-iterations-optim 0
    --method-optim bfgs skipped the BFGS it named; both exit 0 as if all was well."""
    assert _rc(["flow", "train", "--quiet", "--n-samples", "30", *extra]) == 2
    assert _one_error_line(capsys).startswith(f"neuroflow: error: {start}")
    assert _rc(["flow", "train", "--quiet", "--n-samples", "30", "--json", "--max-iterations-ode", "0",
                "--method-optim", "none"]) == 0   # 0 with "auto", and "none" with the default budget, are fine
    out = json.loads(capsys.readouterr().out)
    assert out["ode_stopped_by"] == "skipped" and out["optim_stopped_by"] == "skipped"


@pytest.mark.parametrize("activation, scale", [("tanh", "1e-320"), ("sigmoid", "1e-17")])
def test_make_teacher_refuses_a_weight_scale_whose_teacher_every_run_refuses(activation, scale, tmp_path, capsys):
    """--weight-scale 1e-17 wrote a teacher (exit 0) whose outputs do not vary, which identify run then refused as
    constant; make_teacher(weight_scale=1e300) one whose incoming norms overflow. Now the scale is named, and no
    file is written."""
    from neuroflow.identify.problems import make_teacher

    out = tmp_path / "t.npz"
    assert _rc(["identify", "make-teacher", "--quiet", "--out", str(out), "--activation", activation,
                "--weight-scale", scale]) == 2
    assert _one_error_line(capsys).startswith(f"neuroflow: error: --weight-scale: {float(scale)!r} makes a teacher "
                                              "that cannot be identified: its outputs are the same on every Gaussian")
    assert not out.exists()
    with pytest.raises(ValueError, match="weight_scale: 1e[+]300 makes a teacher .* overflow"):
        make_teacher(3, 2, activation, weight_scale=1e300)
    assert _rc(["identify", "make-teacher", "--quiet", "--out", str(out), "--activation", activation,
                "--weight-scale", "1e-3"]) == 0 and out.exists()


def test_parallel_map_takes_numpy_job_counts_and_names_what_it_cannot_call():
    """ExpandAndCluster(n_jobs=np.int64(2)) passed its own check, then parallel_map refused "expected a positive
    integer ..., got np.int64(2)"; on_result=5 failed only after the first job had run; a timeout of 1e300 ended in
    the socket's OverflowError."""
    from neuroflow.identify import ExpandAndCluster
    from neuroflow.identify.problems import make_teacher
    from neuroflow.parallel import connect, parallel_map

    assert parallel_map(abs, [(-1,), (-2,)], n_jobs=np.int64(2)) == [1, 2]
    ran = []
    with pytest.raises(ValueError, match="on_result: expected a callable or None, got int"):
        parallel_map(ran.append, [(1,)], on_result=5)
    assert ran == []
    with pytest.raises(ValueError, match="fn: expected a callable, got str"):
        parallel_map("abs", [(1,)])
    with pytest.raises(ValueError, match=r"timeout: expected a positive number of seconds up to 9.2\d*e\+09, got "
                                         r"1e\+300"):
        connect("tcp://127.0.0.1:1", timeout=1e300)
    with pytest.raises(ValueError, match="timeout: expected a positive number of seconds .*, got nan"):
        parallel_map(ran.append, [(1,)], timeout=float("nan"))  # without a scheduler too (it was taken)
    assert ran == []
    t = make_teacher(3, 2, "tanh", seed=0)
    X = np.random.default_rng(0).normal(size=(120, 3))
    est = ExpandAndCluster(n_students=4, hidden_sizes=[2], n_jobs=np.int64(2), finetune=False, seed=0,
                           train_options={"maxiterations_ode": 20, "maxiterations_optim": 5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert est.fit(X, t.forward(X)).predict(X).shape == (120, 1)


def _measurement():
    from neuroflow.memristor import get_device, simulate_measurement

    return simulate_measurement(get_device("linear-noisy"), n_cycles=3, seed=0)


@pytest.mark.parametrize("edit, words", [
    (lambda m: {"g_set": m.g_set.tolist()}, "g_set: expected a float64 array of conductances in siemens, got list"),
    (lambda m: {"g_set": m.g_set.astype(np.float16)}, "g_set: expected a float64 array .* got float16"),
    (lambda m: {"g_set": m.g_set[:, :-1]}, r"g_set: expected shape \(n_cycles >= 1, n_pulses \+ 1 = 201\), got "
                                            r"\(3, 200\)"),
    (lambda m: {"n_pulses": m.n_pulses + 5}, r"g_set: expected shape \(n_cycles >= 1, n_pulses \+ 1 = 206\)"),
    (lambda m: {"n_pulses": float(m.n_pulses)}, "n_pulses: expected a positive integer, got 200.0"),
    (lambda m: {"g_set": m.g_set[:0], "g_reset": m.g_reset[:0]}, r"g_set: expected shape .*, got \(0, 201\)"),
    (lambda m: {"g_reset": m.g_reset[:2]}, r"g_set, g_reset: expected one SET and one RESET sweep per cycle, got "
                                           r"shapes \(3, 201\) and \(2, 201\)"),
])
def test_fit_device_names_a_measurement_built_with_the_wrong_layout(edit, words):
    """A PulseMeasurement of lists ended in TypeError inside check_measurement, one read short or a wrong N in
    IndexError inside the fit, a float N in numpy's "only integers ... are valid indices", no cycles in "high state
    (nan uS)", float16 reads in G0 = inf, and fewer RESET than SET sweeps was fitted on the first two cycles."""
    import dataclasses

    from neuroflow.memristor import fit_device

    m = _measurement()
    with pytest.raises(ValueError, match="simulated from linear-noisy: " + words):
        fit_device(dataclasses.replace(m, **edit(m)))


def test_memristor_api_names_arguments_that_failed_late_or_not_at_all(tmp_path):
    """fit_device(None) said "expected str, bytes or os.PathLike object, not NoneType", cycles="no" kept the table,
    name=5 was refused only after the fit; simulate_measurement(n_cycles=1e9) ended in numpy's MemoryError;
    save_devices(5) in "'int' object is not iterable", a folder in IsADirectoryError, a .txt name and a device whose
    G1 of 1e-6 uS load_devices refuses were written; Crossbar.read(noisy="no") read with noise."""
    from neuroflow.memristor import Crossbar, VCMDevice, fit_device, get_device, save_devices, simulate_measurement

    m = _measurement()
    for kwargs, words in [({"measurement": None}, "measurement: expected a PulseMeasurement or a .json / .csv file, "
                                                  "got NoneType"),
                          ({"measurement": m, "cycles": "no"}, "cycles: expected True or False, got 'no'"),
                          ({"measurement": m, "name": 5}, "^name: expected a non-empty name")]:
        with pytest.raises(ValueError, match=words):
            fit_device(**kwargs)
    with pytest.raises(ValueError, match="n_cycles: this run needs about .* GiB of memory"):
        simulate_measurement(get_device("linear-noisy"), n_cycles=10**9)
    dev = get_device("linear-noisy")
    for devices, path, words in [(5, "d.json", "devices: expected a VCMDevice or a non-empty sequence"),
                                 (dev, ".", r"path: .*: is a folder; expected a file path"),
                                 (dev, "d.txt", "path: .*d.txt: expected a file name ending in one of .json"),
                                 (VCMDevice(G0_uS=0.0, G1_uS=1e-6, name="tiny"), "d.json",
                                  r"devices: device 1 \(tiny\): G1_uS: 1e-06 uS, far below any memristor's")]:
        with pytest.raises(ValueError, match=words):
            save_devices(devices, tmp_path / path if path != "." else tmp_path)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="noisy: expected True or False, got 'no'"):
        Crossbar(2, 1, "linear-noisy", seed=0).read(np.ones(2), noisy="no")


@pytest.mark.parametrize("devices, got", [("ideal", "str 'ideal'"), (None, "NoneType None")])
def test_maze_sweep_names_devices_that_are_no_list(devices, got):
    """devices="ideal" was read letter by letter ("device: expected one of [...], got 'i'")."""
    from neuroflow.rl import maze_sweep

    with pytest.raises(ValueError, match=f"devices: expected a list with one entry per grid point .*, got {got}"):
        maze_sweep(devices=devices, n_seeds=2, n_episodes=2)


def _api_cases():
    from neuroflow.flow import hessian_spectrum, levenberg_marquardt, mlp_least_squares
    from neuroflow.flow.teacher_student import teacher_student_run
    from neuroflow.rl import experiments as ex
    from neuroflow.rl import optimal as op

    theta = np.zeros((121, 8))
    return [
        (lambda: hessian_spectrum(np.arange(9.0).reshape(3, 3)), r"H: expected a symmetric matrix \(a Hessian\)"),
        (lambda: levenberg_marquardt(5, 6, np.zeros(2), max_iter=3), "normal: expected a callable, got int"),
        (lambda: mlp_least_squares(None, np.zeros(2), np.ones((3, 1)), np.ones((3, 1)), max_iter=3),
         "net: expected a neuroflow.mlp.MLP, got NoneType"),
        (lambda: teacher_student_run(n_samples=20, adam_too="x"), "adam_too: expected True or False, got 'x'"),
        (lambda: ex.value_map_error(np.ones(5)), "critic_weights: expected 9 T-maze weights per seed, got 5"),
        (lambda: ex.value_map_error(np.ones(9), gamma=2), r"gamma: expected a discount factor in \[0, 1\], got 2"),
        (lambda: ex.tmaze_optimal_values(float("nan")), "gamma: expected a non-negative number, got nan"),
        (lambda: ex.bootstrap_ci([1.0, 2.0], level=1), r"level: expected a confidence level in \(0, 1\), got 1"),
        (lambda: ex.bootstrap_ci([1.0, 2.0], n_boot=0), "n_boot: expected a positive integer, got 0"),
        (lambda: ex.bootstrap_ci([1.0, 2.0] * 100, n_boot=10**12), "n_boot: this run needs about"),
        (lambda: ex.bootstrap_ci(np.ones((3, 3))), r"values: expected a 1-d array, got shape \(3, 3\)"),
        (lambda: ex.noise_sweep([], n_seeds=2), "sigmas: expected at least one noise level, got none"),
        (lambda: ex.noise_sweep([0.1, 2.0], n_seeds=2), r"sigmas: expected non-negative noise levels of at most"),
        (lambda: ex.self_correction(2.0, n_seeds=2), r"^sigma: expected a write noise of at most the whole range"),
        (lambda: op.watermaze_steps_to_goal(np.ones(3)), r"points: expected \(x, y\) positions, .*got shape \(3,\)"),
        (lambda: op.watermaze_steps_to_goal([[np.nan, 0.0]]), "points: expected finite values"),
        (lambda: op.watermaze_optimal_values(gamma=2.0), r"gamma: expected a discount factor in \(0, 1\]"),
        (lambda: op.watermaze_optimal_values(resolution=10**6), "resolution: this run needs about"),
        (lambda: op.softmax_policy_steps(theta, [[2.0, 0.0]]), r"starts\[0\]: \[2.0, 0.0\] lies inside a wall"),
        (lambda: op.softmax_policy_steps(theta, [[4.0, 4.0]], max_steps=0), "max_steps: expected a positive integer"),
        (lambda: op.sample_starts(10**12), "n: this run needs about"),
    ]


@pytest.mark.parametrize("case", range(21))
def test_flow_and_maze_helpers_name_arguments_they_took_or_failed_on(case, monkeypatch):
    """Each case was accepted with a wrong answer (a non-symmetric 'Hessian' symmetrised, gamma 2 or NaN values,
    level 1 the range, a matrix flattened, a NaN position counted as a wall, a start in a wall walked 300 steps,
    max_steps 0 zero steps, no noise levels an empty result, adam_too='x' running Adam) or ended in another
    library's error (broadcast, reshape, IndexError, MemoryError, AttributeError, hours of drawing starts)."""
    from neuroflow.rl.envs import WaterMaze

    def no_draws(*_):   # sample_starts(1e12) drew starts one by one for hours: fail at once instead of hanging
        raise RuntimeError("a start was drawn")

    monkeypatch.setattr(WaterMaze, "sample_start", no_draws)
    call, words = _api_cases()[case]
    with pytest.raises(ValueError, match=words):
        call()


def test_a_numba_threading_layer_of_no_use_is_one_line_naming_the_variable(tmp_path, monkeypatch):
    """NUMBA_THREADING_LAYER=abc (or '') ran until the first parallel kernel (the water-maze floor's search) and
    ended there with numba's "The threading layer requested 'abc' is unknown to Numba.", naming no variable."""
    import importlib.util
    import subprocess

    from neuroflow.cliutil import environment_problems

    monkeypatch.setenv("NUMBA_THREADING_LAYER", "workqueue")
    assert environment_problems() == []
    for value in ("abc", ""):
        monkeypatch.setenv("NUMBA_THREADING_LAYER", value)
        assert environment_problems() == [f"environment variable NUMBA_THREADING_LAYER: expected one of default, safe, "
                                          f"forksafe, threadsafe, tbb, omp, workqueue, got {value!r}"]
    try:
        importlib.import_module("numba.np.ufunc.tbbpool")
    except ImportError:   # no Intel TBB here: asking for it is refused up front too
        monkeypatch.setenv("NUMBA_THREADING_LAYER", "tbb")
        assert environment_problems()[0].startswith("environment variable NUMBA_THREADING_LAYER: 'tbb': numba cannot "
                                                    "load that threading layer here")
    env = {**os.environ, "NUMBA_THREADING_LAYER": "abc"}
    out = subprocess.run([sys.executable, "-m", "neuroflow", "maze", "floor", "--starts", "20", "--search-starts", "10",
                          "--sweeps", "1", "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and out.stderr.strip().startswith(
        "neuroflow: error: environment variable NUMBA_THREADING_LAYER: expected one of"), out.stderr


@pytest.mark.parametrize("extra, start", [
    (["--width", "3", "--refine-rounds", "2"], "--refine-rounds, --width 3: --refine-rounds only acts on the inner "
                                               "layers of students with two or more hidden layers"),
    (["--width", "3", "--layer-probes", "0.3"], "--layer-probes, --width 3: "),
    (["--width", "teacher", "--layer-probes", "0.2"], "--layer-probes, --width teacher: "),
    (["--depth", "1", "--refine-rounds", "1", "--layer-probes", "0"], "--refine-rounds, --layer-probes, --depth 1: "),
    (["--max-depth", "1", "--refine-rounds", "1"], "--refine-rounds, --max-depth 1: "),
])
def test_identify_run_names_deep_net_flags_given_for_one_hidden_layer(extra, start, teacher, capsys):
    """--refine-rounds and --layer-probes act only on inner layers; with one hidden layer they were ignored, exit 0."""
    argv = ["identify", "run", "--quiet", "--n-samples", "50", "--n-students", "4", "--teacher", str(teacher)]
    assert _rc(argv + extra) == 2
    assert _one_error_line(capsys).startswith(f"neuroflow: error: {start}")


@pytest.mark.parametrize("edit, words", [
    (lambda d: {"x": d["x"][:3]}, "x, init, ode_x, n_params: expected n_params = 9 numbers in each, got 3, 9, 9"),
    (lambda d: {"loss": "1.0"}, "loss: expected a number, got '1.0'"),
    (lambda d: {"converged": "yes"}, "converged: expected true or false, got 'yes'"),
    (lambda d: {"ode_iterations": -2}, "ode_iterations: expected a non-negative integer, got -2"),
    (lambda d: {"optim_stopped_by": 3}, "optim_stopped_by: expected a string, got 3"),
])
def test_a_result_file_whose_fields_are_not_what_save_writes_is_refused_naming_the_field(edit, words, tmp_path):
    """TrainResult.load took a result of 3 parameters for a net of 9, converged "yes" (truthy), a loss read from
    text and a negative iteration count, without a word; a file of an older version (no n_params) still loads."""
    from neuroflow.flow import TrainResult, train
    from neuroflow.mlp import MLP

    net = MLP(2, [(2, "tanh", True), (1, "identity", True)])
    X = np.random.default_rng(0).normal(size=(20, 2))
    good = train(net, net.init_params(seed=0), X, X[:, :1], maxiterations_ode=3, maxiterations_optim=0)
    path = good.save(tmp_path / "r.json")
    d = json.loads(path.read_text())
    (tmp_path / "bad.json").write_text(json.dumps({**d, **edit(d)}))
    with pytest.raises(ValueError, match="bad.json: not a TrainResult file written by save .*" + re.escape(words)):
        TrainResult.load(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({k: v for k, v in d.items() if k != "n_params"}))
    assert np.array_equal(TrainResult.load(tmp_path / "old.json").x, good.x)


@pytest.mark.parametrize("kwargs, words", [
    ({"activation": "tanh", "method": "quadrature", "nodes": 200_000}, "nodes: expected an integer from 2 to 100000"),
    ({"activation": "tanh", "nodes": 2.5}, "nodes: expected an integer from 2 to 100000 .*got 2.5"),
    ({"activation": "relu", "nodes": 40}, "nodes: the closed form of 'relu' uses no quadrature nodes"),
])
def test_gaussian_quadrature_nodes_of_no_use_are_named(kwargs, words):
    """nodes=1e9 computed a Gauss-Hermite rule for hours (2e5, here, for seconds); pair_expectation took nodes=-1
    unchecked; nodes with a closed form were ignored."""
    from neuroflow.flow import GaussianTeacherStudent
    from neuroflow.flow.gaussian.kernel import pair_expectation

    with pytest.raises(ValueError, match=words):
        GaussianTeacherStudent(np.eye(2), np.ones(2), 2, **kwargs)
    with pytest.raises(ValueError, match=words):
        pair_expectation(kwargs["activation"], np.ones(2), np.ones(2), nodes=kwargs["nodes"])
    assert pair_expectation("tanh", np.ones(2), np.ones(2), nodes=np.int64(80)) > 0


def test_save_teacher_writes_only_what_load_teacher_reads(tmp_path):
    """save_teacher(t, folder) ended in IsADirectoryError, wrote t.txt or a suffix-less file, and wrote a teacher of
    zero weights that load_teacher then refused; Teacher("tanh", 5, 5) said "object of type 'int' has no len()"."""
    from neuroflow.identify import Teacher, load_teacher, save_teacher
    from neuroflow.identify.problems import make_teacher

    t = make_teacher(3, 2, seed=0)
    zero = Teacher("tanh", [np.zeros((2, 3)), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    for teacher, path, words in [(t, tmp_path, "path: .*: is a folder; expected a file path"),
                                 (t, tmp_path / "t.txt", "path: .*t.txt: expected a file name ending in one of .npz"),
                                 (zero, tmp_path / "z.npz", "teacher: its outputs are the same on every Gaussian")]:
        with pytest.raises(ValueError, match=words):
            save_teacher(teacher, path)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="teacher weights: expected a list with one entry per layer, got int"):
        Teacher("tanh", 5, 5)
    assert np.array_equal(load_teacher(save_teacher(t, tmp_path / "t.npz")).weights[0], t.weights[0])


def test_a_fitted_actor_critic_names_a_seed_index_resolution_or_rollout_it_cannot_serve(monkeypatch):
    """policy(seed_index=5) of 3 seeds ended in IndexError and -1 took the last seed; value_map(0) gave an empty map
    and 1e6 numpy's MemoryError; rollout(seed=-1) numpy's "expected non-negative integer", rollout("3") a TypeError,
    rollout(1e9) ran for hours; init_state(0, 5) gave an empty state."""
    from neuroflow.rl import ActorCritic

    tm = ActorCritic().fit(3, 3, progress=False)
    wm = ActorCritic("watermaze").fit(2, 2, progress=False)
    for call, words in [(lambda: tm.policy(0, seed_index=5), r"seed_index: expected an integer in \[0, 2\] .*got 5"),
                        (lambda: tm.policy(0, seed_index=-1), r"seed_index: expected an integer in \[0, 2\]"),
                        (lambda: wm.value_map(0), "resolution: expected a positive integer, got 0"),
                        (lambda: wm.value_map(10**6), "resolution: this run needs about"),
                        (lambda: tm.rollout(1, seed=-1), "seed: expected a non-negative integer"),
                        (lambda: tm.rollout("3"), "n_episodes: expected a non-negative integer, got '3'"),
                        (lambda: tm.rollout(1, seed_index=3), "seed_index: expected an integer"),
                        (lambda: tm.init_state(0, 5), "n_seeds: expected a positive integer, got 0"),
                        (lambda: tm.init_state(2, 5, seed=-1), "seed: expected a non-negative integer")]:
        with pytest.raises(ValueError, match=words):
            call()
    assert tm.policy(0, seed_index=np.int64(2)).shape == (2,) and len(tm.rollout(2, seed=0)) == 2
    from neuroflow.rl.envs import TMaze

    def no_steps(*_):   # rollout(1e9) walked episodes for hours: fail at once instead of hanging
        raise RuntimeError("an episode was walked")

    monkeypatch.setattr(TMaze, "step", no_steps)
    with pytest.raises(ValueError, match="n_episodes: this run needs about"):
        tm.rollout(10**9)


@pytest.mark.parametrize("episode", [0, -1])
def test_at_episodes_names_an_episode_number_below_one(episode):
    """Episode numbers are 1-based: 0 and -1 were dropped silently, as if beyond the run (an empty answer)."""
    from neuroflow.rl import ActorCritic

    r = ActorCritic().fit(3, 2, progress=False).result_
    with pytest.raises(ValueError, match=f"episodes: expected whole 1-based episode numbers, got {episode}"):
        r.at_episodes([1, episode])
    assert list(r.at_episodes([1, 3, 200])) == [1, 3]   # numbers beyond the run are still left out


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("stderr", ["full", "closed"])
def test_a_progress_bar_that_cannot_be_written_does_not_end_the_run(stderr, tmp_path):
    """With stderr on a full device (2>/dev/full) or closed (2>&-), the first progress bar's write ended the run:
    exit 1, the result never printed. The bar is best effort: the run ends as usual, its result on stdout."""
    import subprocess

    argv = [sys.executable, "-m", "neuroflow", "maze", "tmaze", "--seeds", "2", "--episodes", "2"]
    with open("/dev/full", "w") as full:
        out = subprocess.run(argv, cwd=tmp_path, stdout=subprocess.PIPE, text=True, timeout=120,
                             stderr=full if stderr == "full" else None,
                             preexec_fn=(lambda: os.close(2)) if stderr == "closed" else None)
    assert out.returncode == 0 and "tmaze, memristor synapses, 2 seeds x 2 episodes" in out.stdout


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("stderr", ["full", "closed"])
def test_an_error_that_cannot_be_printed_still_ends_with_status_2(stderr, tmp_path):
    """With stderr full, a verb's error line (cliutil.fail) raised OSError on the way out: exit status 1, as for a
    crash; with stderr closed it went to stdout, among the results. The line is lost; the status still says "bad
    input"."""
    import subprocess

    bad = tmp_path / "bad.npz"
    bad.write_text("junk")
    argv = [sys.executable, "-m", "neuroflow", "identify", "run", "--teacher", str(bad), "--n-samples", "50", "--quiet"]
    with open("/dev/full", "w") as full:
        out = subprocess.run(argv, cwd=tmp_path, stdout=subprocess.PIPE, text=True, timeout=120,
                             stderr=full if stderr == "full" else None,
                             preexec_fn=(lambda: os.close(2)) if stderr == "closed" else None)
    assert out.returncode == 2 and out.stdout == ""


def test_an_mlp_names_a_device_its_backend_cannot_use():
    """MLP(..., device="cuda") on the numpy backend kept the device and ran on the CPU without a word."""
    from neuroflow.mlp import MLP

    with pytest.raises(ValueError, match="device: only the torch backend places a net on a device; this net's backend "
                                         "is 'numpy' .got device='cuda'."):
        MLP(2, [(1, "tanh", True)], backend="numpy", device="cuda")
    assert MLP(2, [(1, "tanh", True)], backend="numpy").device is None


# ----------------------------------------------------------------------------- seventh pass: reproducibility
def test_a_device_file_refitted_under_the_same_name_is_no_resume_of_the_old_one(tmp_path, capsys):
    """A checkpoint and the points of a sweep recorded a device file's devices by name only: after the file was
    refitted (same names, other parameters) a rerun resumed the old device's batches and reported the old
    sweep points as finished, numbers of a device no longer given. Now the fields are part of the settings."""
    from neuroflow.memristor import get_device, save_devices

    dev = get_device("linear-noisy").replace(name="mine")
    path = tmp_path / "dev.json"
    save_devices(dev, path)
    run = ["--device", str(path), "--seeds", "2", "--episodes", "3", "--quiet", "--checkpoint", str(tmp_path / "ck")]
    sweep = ["maze", "sweep", "--devices", str(path), "--seeds", "2", "--episodes", "3", "--alphas", "0.2",
             "--quiet", "--out", str(tmp_path / "sw")]
    assert _rc(["maze", "tmaze", *run]) == 0 and _rc(sweep) == 0
    assert _rc(["maze", "tmaze", *run]) == 0 and _rc(sweep) == 0   # the same file: resumed, not refused
    capsys.readouterr()
    save_devices(dev.replace(sigma_set=0.5, sigma_reset=0.5), path)
    assert _rc(["maze", "tmaze", *run]) == 2
    assert "was written by a run with other settings" in _one_error_line(capsys)
    assert _rc(sweep) == 2
    assert "--out: " in (err := _one_error_line(capsys)) and "other settings" in err


def test_ctrl_c_before_any_episode_finished_still_reports_the_interrupted_run(monkeypatch, capsys):
    """Ctrl-C before the first chunk of episodes ended (in the water maze: the first second) ended in a
    ZeroDivisionError traceback (energy per update of no step), exit 1 and no JSON; every Ctrl-C also printed
    nanmean's "Mean of empty slice" warnings for the episodes not reached. Now: exit 130, the JSON of the
    interrupted run (energy per update NaN, null in JSON) and nothing else on stderr."""
    from neuroflow.memristor.energy import update_cost
    from neuroflow.rl import ActorCritic

    def interrupted(self, e_end, st):
        raise KeyboardInterrupt

    monkeypatch.setattr(ActorCritic, "_advance", interrupted)
    assert _rc(["maze", "watermaze", "--seeds", "2", "--episodes", "3", "--quiet", "--json"]) == 130
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["interrupted"] is True and data["completed_seeds"] == 0 and err.strip() == "", err
    assert data["energy"]["per_update"]["crossbar_energy_J"] is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ActorCritic("tmaze", synapse="ideal").fit(4, 2, progress=False).result_
        res.to_dict(), res.capped_fraction()
        assert np.isnan(update_cost(res).per_update()["digital_energy_J"])


def test_ctrl_c_with_plot_prints_the_interrupted_run_and_draws_only_what_finished(monkeypatch, tmp_path, capsys):
    """`maze watermaze --plot` interrupted before any episode finished ended in matplotlib's "Data cannot be
    log-scaled" (exit 2) and printed none of the interrupted run; a plot of a partly finished run warned "All-NaN
    slice encountered" on stderr. Now: exit 130, the run's lines and "no plot: no episode finished"; a partial
    run is drawn without warnings."""
    from neuroflow.rl import ActorCritic
    from neuroflow.rl.plots import plot_maze_result

    real = ActorCritic._advance
    calls = {"n": 0, "allow": 0}

    def advance(self, e_end, st):
        if calls["n"] >= calls["allow"]:
            raise KeyboardInterrupt
        calls["n"] += 1
        real(self, e_end, st)

    monkeypatch.setattr(ActorCritic, "_advance", advance)
    plot = tmp_path / "wm.png"
    assert _rc(["maze", "watermaze", "--seeds", "2", "--episodes", "3", "--quiet", "--plot", str(plot)]) == 130
    out, err = capsys.readouterr()
    assert "no plot: no episode finished" in out and "interrupted: 0 seeds finished" in out and err.strip() == ""
    assert not plot.exists()
    calls["allow"] = 1
    agent = ActorCritic("watermaze", synapse="memristor").fit(6, 2, progress=False, chunk=2)
    assert agent.result_.interrupted and np.isnan(agent.result_.steps[:, -1]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plot_maze_result(agent, agent.result_, plot).is_file()


def test_memristor_api_switches_cut_offs_and_a_renamed_preset():
    """td_error_current took terminal="no" / noisy="no" as True (V(s') dropped, read noise added); a Crossbar
    took min_update=5 and dropped every change; get_device("ideal", name="mine") was a TypeError ("got multiple
    values for argument 'name'"), though name is a device field like the others."""
    from neuroflow.memristor import Crossbar, get_device, td_error_current

    cb = Crossbar(3, 1, "linear-noisy", seed=1)
    for kwargs, word in (({"terminal": "no"}, "terminal"), ({"noisy": "no"}, "noisy"), ({"terminal": 1}, "terminal")):
        with pytest.raises(ValueError, match=f"^{word}: expected True or False"):
            td_error_current(cb, np.ones(3), np.ones(3), 1.0, 0.5, 0.9, **kwargs)
    assert td_error_current(cb, np.ones(3), np.ones(3), 1.0, 0.5, 0.9, terminal=np.bool_(False), noisy=False) == \
        pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"^min_update: expected a cut-off in \[0, 1\]"):
        Crossbar(2, 2, min_update=5)
    assert Crossbar(2, 2, min_update=1).min_update == 1.0
    assert get_device("ideal", name="mine").name == "mine"
    assert {d.name for d in get_device("portner2025", name="chip")} == {"chip"}


def test_maze_experiment_helpers_name_seeds_caps_and_windows_they_failed_on(tmp_path):
    """random_walker took max_steps 0 or -1 (0 steps, every episode "capped") and ended NaN / 1e30 / seed -1 /
    1e12 seeds in int()'s, numpy's or a MemoryError; bootstrap_ci(seed=-1) named no argument; an ablation's
    window(0.5, 2.5) was "slice indices must be integers"; self_correction(synapse=...) a TypeError; maze_sweep
    (seed=np.int64(3), out=...) json's TypeError after making the folder."""
    from neuroflow.rl.experiments import bootstrap_ci, random_walker, self_correction
    from neuroflow.rl.sweep import maze_sweep

    for kwargs, words in (({"max_steps": 0}, "max_steps: expected a positive integer"),
                          ({"max_steps": -1}, "max_steps: expected a positive integer"),
                          ({"max_steps": np.nan}, "max_steps: expected a positive integer"),
                          ({"max_steps": 10**30}, "max_steps: expected at most"),
                          ({"seed": -1}, "seed: expected a non-negative integer"),
                          ({"n_seeds": 10**12}, "n_seeds, n_episodes: ")):
        with pytest.raises(ValueError, match="^" + re.escape(words)):
            random_walker("tmaze", **{"n_seeds": 2, "n_episodes": 2, **kwargs})
    assert random_walker("tmaze", n_seeds=2, n_episodes=2, max_steps=np.int64(50))["max_steps"] == 50
    with pytest.raises(ValueError, match="^seed: expected a non-negative integer"):
        bootstrap_ci([1.0, 2.0, 3.0], seed=-1)
    assert bootstrap_ci([1.0, 2.0, 3.0], seed=4) == bootstrap_ci([1.0, 2.0, 3.0], seed=np.int64(4))
    ab = self_correction(0.1, n_seeds=2, n_episodes=4)
    for start, stop in ((0.5, 2.5), ("0", "2"), (0, 5)):
        with pytest.raises(ValueError, match=r"^start, stop: expected 0 <= start < stop <= 4"):
            ab.window(start, stop)
    assert ab.window(np.int64(0), 2)["episodes"] == [0, 2]
    with pytest.raises(ValueError, match="^agent_kwargs synapse: the ablation runs both arms itself"):
        self_correction(0.1, n_seeds=2, n_episodes=2, synapse="ideal")
    with pytest.raises(ValueError, match="^seed: expected a non-negative integer"):
        maze_sweep(n_seeds=1, n_episodes=1, seed=-1, out=tmp_path / "sw")
    assert not (tmp_path / "sw").exists()
    res = maze_sweep(n_seeds=1, n_episodes=1, seed=np.int64(3), out=tmp_path / "sw")
    assert res.params["seed"] == 3 and res.computed == [0, 1]


def test_an_interrupted_runs_value_map_leaves_out_the_seeds_that_never_ran(monkeypatch):
    """Ctrl-C in the second of three seed batches: the step curves leave out the 20 seeds that never ran (NaN), but
    the value map and the mean weights averaged in their initial weights (0): V of the goal 0.33 where every
    seed that ran had learned about 1. Now the mean is over the seeds that finished an episode."""
    from neuroflow.rl import ActorCritic

    real, calls = ActorCritic._advance, {"n": 0}

    def advance(self, e_end, st):
        if calls["n"] >= 4:   # batch 1 (4 chunks) done, Ctrl-C as batch 2 starts
            raise KeyboardInterrupt
        calls["n"] += 1
        real(self, e_end, st)

    whole = ActorCritic("tmaze", synapse="ideal").fit(100, 10, seed=1, progress=False)
    monkeypatch.setattr(ActorCritic, "_advance", advance)
    cut = ActorCritic("tmaze", synapse="ideal").fit(100, 30, seed=1, seed_batch=10, chunk=25, progress=False)
    res = cut.result_
    assert res.interrupted and res.completed_seeds == 10 and np.isnan(res.steps[10:]).all()
    np.testing.assert_allclose(res.value_map, whole.result_.value_map)
    np.testing.assert_allclose(cut.value_map(), whole.value_map())
    np.testing.assert_allclose(res.actor_weights, whole.result_.actor_weights)
    assert res.value_map[6] > 0.9


def test_an_environment_objects_step_cap_is_the_agents():
    """ActorCritic(TMaze(5)) kept its own default cap of 300 steps: episodes the environment given ends after 5
    steps ran for up to 112, silently. Now the environment's cap is the agent's; a max_steps that contradicts
    it is refused, naming both."""
    from neuroflow.rl import ActorCritic
    from neuroflow.rl.envs import TMaze, WaterMaze

    agent = ActorCritic(TMaze(5), synapse="ideal")
    assert agent.max_steps == 5 and agent.get_params()["max_steps"] == 5
    assert agent.fit(20, 30, progress=False).result_.steps.max() == 5
    assert ActorCritic(WaterMaze(40)).max_steps == 40 and ActorCritic(TMaze(7), max_steps=7).max_steps == 7
    assert ActorCritic("tmaze").max_steps == 300 and ActorCritic("watermaze", max_steps=50).env.max_steps == 50
    with pytest.raises(ValueError, match=r"^max_steps, env: the environment caps episodes at 5 steps"):
        ActorCritic(TMaze(5), max_steps=300)


def test_the_water_maze_floor_helpers_check_what_their_kernels_index():
    """search_softmax_policy took actor weights of any shape: a (3, 8) array let the kernels write outside it and
    the process died ("corrupted size vs. prev_size", abort). Its starts, sweeps and seed, and the other floor
    helpers' seeds, encoders, sample counts and caps, ended in numpy's, numba's or int()'s errors (or a draw that
    never ended, or took NaN weights and 1.5 as a seed without a word). Each is now a ValueError naming it."""
    from neuroflow.rl.optimal import (sample_starts, search_softmax_policy, softmax_policy_steps,
                                      watermaze_greedy_actions, watermaze_optimal_steps, watermaze_steps_to_goal)
    from neuroflow.rl.place_cells import PlaceCells

    th, st = np.zeros((121, 8)), sample_starts(4, 1)
    cases = [
        (lambda: search_softmax_policy(np.zeros((3, 8)), st, sweeps=1), "theta0: expected shape (121, 8), got (3, 8)"),
        (lambda: search_softmax_policy(th, [[0.0, 0.0]], sweeps=1), "starts[0]: [0.0, 0.0] lies inside a wall"),
        (lambda: search_softmax_policy(th, [[np.nan, 1.0]], sweeps=1), "starts: expected finite values"),
        (lambda: search_softmax_policy(th, st, sweeps=-1), "sweeps: expected a non-negative integer"),
        (lambda: search_softmax_policy(th, st, sweeps=1, seed=-1), "seed: expected a non-negative integer"),
        (lambda: search_softmax_policy(th, st, sweeps=1, temperature=0), "temperature: expected a positive"),
        (lambda: softmax_policy_steps(np.full((121, 8), np.nan), st), "theta: expected finite values"),
        (lambda: softmax_policy_steps(th, st, seed=1.5), "seed: expected a non-negative integer"),
        (lambda: softmax_policy_steps(th, st, max_steps=10**30), "max_steps: expected at most"),
        (lambda: softmax_policy_steps(np.zeros((9, 8)), st, encoder=PlaceCells.one_hot(9)), "encoder: expected grid"),
        (lambda: watermaze_greedy_actions(2, encoder=5), "encoder: expected grid place cells"),
        (lambda: watermaze_greedy_actions(10**12), "n_samples: "),
        (lambda: watermaze_greedy_actions(2, seed=-1), "seed: expected a non-negative integer"),
        (lambda: sample_starts(3, seed=-1), "seed: expected a non-negative integer"),
        (lambda: watermaze_optimal_steps(3, seed=-1, sweeps=0), "seed: expected a non-negative integer"),
        (lambda: watermaze_optimal_steps(3, sweeps=0, search_starts=0), "search_starts: expected a positive"),
        (lambda: watermaze_optimal_steps(10**6, rollouts=10**6, sweeps=0), "n_starts, rollouts: "),
    ]
    for call, words in cases:
        with pytest.raises(ValueError, match="^" + re.escape(words)):
            call()
    theta, history = search_softmax_policy(th, st, sweeps=1, seed=np.int64(2))
    assert theta.shape == (121, 8) and len(history) == 2
    assert (watermaze_steps_to_goal(st, max_depth=10**308) == watermaze_steps_to_goal(st)).all()


def test_td_step_refuses_a_state_it_would_write_past():
    """td_step(st, 50) on a state of 3 episodes stepped on to episode 50, writing episode lengths and operation
    counts past the state's arrays (memory not theirs, silently); a water-maze state in a T-maze agent ended in
    numba's many-line TypingError. Now: a ValueError naming e_end or the field of st."""
    from neuroflow.rl import ActorCritic

    agent = ActorCritic("tmaze", synapse="memristor")
    st = agent.init_state(2, 3, seed=1)
    for e_end in (4, 50, -1, 1.5, "3"):
        with pytest.raises(ValueError, match=r"^e_end: expected an integer in \[0, 3\] \(the state holds 3"):
            agent.td_step(st, e_end)
    with pytest.raises(ValueError, match=r"^st: pos: expected int64 \(2,\)"):
        agent.td_step(ActorCritic("watermaze").init_state(2, 3), 3)
    with pytest.raises(ValueError, match="^st: expected the MazeState"):
        agent.td_step({"ep": st.ep}, 3)
    with pytest.raises(ValueError, match=r"^st: wc: expected float64 \(2, 9\)"):
        agent.td_step(st._replace(wc=st.wc[:, :4]), 3)
    while st.ep.min() < 3:
        agent.td_step(st, np.int64(3))
    assert np.array_equal(st.steps_out, agent.fit(3, 2, seed=1, progress=False).result_.steps)


def test_a_sweep_folder_or_checkpoint_in_use_by_another_run_is_refused(tmp_path):
    """Two sweeps with other settings in one --out folder (or two runs on one checkpoint) ran side by side: the
    second found no point file yet, computed its own and wrote it over the first one's, both reporting their
    points "saved; a rerun skips them", and a rerun of the first was then refused ("other settings"). Now the
    folder (the checkpoint) is held while a run uses it: another run is refused at once, naming it and the pid."""
    import subprocess
    import time

    from neuroflow.rl import ActorCritic
    from neuroflow.rl.sweep import maze_sweep

    import neuroflow

    here = os.path.dirname(os.path.dirname(neuroflow.__file__))   # the neuroflow under test, in the child too
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    sweep_dir, ck_dir = tmp_path / "sw", tmp_path / "ck"
    runs = [(["maze", "sweep", "--seeds", "100000", "--episodes", "200", "--out", str(sweep_dir)],
             sweep_dir / ".neuroflow-sweep.lock"),
            (["maze", "tmaze", "--seeds", "100000", "--episodes", "200", "--seed-batch", "100", "--checkpoint",
              str(ck_dir)], ck_dir / ".tmaze_memristor.npz.lock")]
    for argv, lock in runs:
        proc = subprocess.Popen([sys.executable, "-m", "neuroflow", *argv, "--quiet"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not lock.exists() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            assert lock.exists(), "the first run never started"
            if argv[1] == "sweep":
                with pytest.raises(ValueError, match=rf"^out: {re.escape(str(sweep_dir))} is being written by "
                                                     rf"another sweep \(pid {proc.pid}\)"):
                    maze_sweep(n_seeds=2, n_episodes=2, out=sweep_dir)
                assert not list(sweep_dir.glob("point_*"))
            else:
                with pytest.raises(ValueError, match=rf"^checkpoint: .* is being written by another run \(pid "
                                                     rf"{proc.pid}\)"):
                    ActorCritic("tmaze", synapse="memristor").fit(2, 2, progress=False,
                                                                  checkpoint=ck_dir / "tmaze_memristor.npz")
        finally:
            proc.kill()
            proc.wait()
    # the lock a killed run leaves behind is taken over
    assert maze_sweep(n_seeds=2, n_episodes=2, alphas=(0.2,), out=sweep_dir).computed == [0]
    assert not (sweep_dir / ".neuroflow-sweep.lock").exists()
    ActorCritic("tmaze", synapse="memristor").fit(2, 2, progress=False, checkpoint=ck_dir / "tmaze_memristor.npz")


def test_fit_device_writes_no_device_file_that_no_maze_verb_takes(tmp_path, capsys):
    """fit-device of two measurements with other pulses per sweep wrote a device file and said "use it as
    --device"; every verb then ended in "device: all devices of one crossbar need the same n_pulses", naming
    neither the flag nor the file (devices with and without cycle tables likewise). Now fit-device refuses to
    write it, naming the measurements' pulses, and --device / --devices name such a file."""
    from neuroflow.memristor import get_device, save_devices, simulate_measurement
    from neuroflow.memristor.measurement import write_measurement_csv

    dev = get_device("portner2025")[0]
    a, b = tmp_path / "chip_D1_R1_B1.csv", tmp_path / "chip_D2_R2_B2.csv"
    write_measurement_csv(simulate_measurement(dev, seed=1), a)
    write_measurement_csv(simulate_measurement(dev.replace(n_pulses=100, cycles=None), seed=1), b)
    out = tmp_path / "ab.json"
    assert _rc(["maze", "fit-device", str(a), str(b), "--out", str(out), "--quiet"]) == 2
    err = _one_error_line(capsys)
    assert "FILE: all devices of one crossbar need the same n_pulses" in err and "D2_R2_B2 100" in err
    assert not out.exists()
    save_devices([dev, get_device("ideal")], out)
    for argv in (["maze", "tmaze", "--device"], ["maze", "sweep", "--devices", "portner2025"]):
        assert _rc([*argv, str(out), "--seeds", "2", "--episodes", "2", "--quiet"]) == 2
        assert f"--device{'s' if 'sweep' in argv else ''}: {out}: either every device or none carries a cycles " \
               "table" in _one_error_line(capsys)


@pytest.mark.parametrize("pulse", ["1000000000000", "1e300", "100001"])
def test_a_measurement_of_more_pulses_than_any_device_takes_is_refused_naming_the_file(pulse, tmp_path, capsys):
    """A four-line CSV whose pulse column says 1e12 made fit-device allocate rows of 1e12 reads (numpy's
    MemoryError: "ask for fewer samples, seeds, ..."), 1e300 numpy's "Maximum allowed dimension exceeded", naming
    no file. Now the file is named with the most pulses per sweep a device model takes, before any allocation."""
    from neuroflow.memristor.device import MAX_PULSES

    path = tmp_path / "big_D9_R9_B9.csv"
    path.write_text(f"pulse,conductance_uS,direction\n0,10,set\n{pulse},50,set\n0,50,reset\n{pulse},10,reset\n")
    assert _rc(["maze", "fit-device", str(path), "--out", str(tmp_path / "d.json"), "--quiet"]) == 2
    assert f"{path}: sweeps of {int(float(pulse))} pulses; a device model takes at most {MAX_PULSES}" in \
        _one_error_line(capsys)


def test_best_of_a_sweep_with_no_finished_point_says_so(monkeypatch):
    """SweepResult.best() of a sweep interrupted before any point finished was numpy's "All-NaN slice
    encountered"; now a ValueError saying no grid point finished (to_dict keeps best None)."""
    from neuroflow.rl import sweep

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "_batch_job", interrupted)
    res = sweep.maze_sweep("tmaze", alphas=(0.1,), n_seeds=2, n_episodes=2)
    assert res.interrupted and res.to_dict()["best"] is None
    with pytest.raises(ValueError, match="^best: no grid point finished"):
        res.best()


def test_write_measurement_csv_names_a_path_it_cannot_write_a_measurement_file_to(tmp_path):
    """write_measurement_csv into a named pipe waited for a reader for ever; a folder was IsADirectoryError; a .json
    name got CSV text that read_measurement then refused as broken JSON; "abc" was an AttributeError. Now each
    is a ValueError naming path or measurement."""
    from neuroflow.memristor import get_device, read_measurement, simulate_measurement, write_measurement_csv

    m = simulate_measurement(get_device("portner2025")[0], n_cycles=2, seed=1)
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "folder.csv").mkdir()
    for name, words in (("pipe.csv", "is not a regular file"), ("folder.csv", "is a folder"),
                        ("m.json", "expected a file name ending in one of .csv")):
        with pytest.raises(ValueError, match=f"^path: {re.escape(str(tmp_path / name))}: {words}"):
            write_measurement_csv(m, tmp_path / name)
    with pytest.raises(ValueError, match="^measurement: expected a PulseMeasurement, got str"):
        write_measurement_csv("abc", tmp_path / "x.csv")
    back = read_measurement(write_measurement_csv(m, tmp_path / "m.csv"))
    np.testing.assert_allclose(back.g_set, m.g_set, rtol=1e-8)


def test_a_figure_path_taken_by_a_named_pipe_or_a_folder_is_refused(tmp_path):
    """plot_device_fits (any plot through save_figure) into a named pipe wrote into it and waited for a reader for
    ever; a folder named like a figure was IsADirectoryError. Now a ValueError naming path, before any write."""
    from neuroflow.memristor import fit_device, get_device, simulate_measurement
    from neuroflow.memristor.plots import plot_device_fits

    fit = fit_device(simulate_measurement(get_device("portner2025")[0], n_cycles=2, seed=1))
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "folder.png").mkdir()
    for name, words in (("pipe.png", "is not a regular file"), ("folder.png", "is a folder")):
        with pytest.raises(ValueError, match=f"^path: {re.escape(str(tmp_path / name))}: {words}"):
            plot_device_fits([fit], tmp_path / name)
    assert plot_device_fits([fit], tmp_path / "ok.png").stat().st_size > 0


def test_a_checkpoint_or_point_of_other_settings_says_which_settings_differ(tmp_path, capsys):
    """A checkpoint or a sweep point of other settings was refused as "written by a run with other settings; ...
    delete it", the user left to guess which flag to give back to resume the finished work. Now the settings
    that differ are named."""
    ck = ["maze", "tmaze", "--seeds", "4", "--episodes", "5", "--quiet", "--checkpoint", str(tmp_path / "ck")]
    assert _rc([*ck, "--alpha", "0.3"]) == 0
    capsys.readouterr()
    assert _rc(ck) == 2
    assert "other settings (alpha 0.3 there, 0.2 now); use another path" in _one_error_line(capsys)
    sweep = ["maze", "sweep", "--seeds", "2", "--episodes", "3", "--alphas", "0.2", "--quiet", "--out",
             str(tmp_path / "sw")]
    assert _rc(sweep) == 0
    capsys.readouterr()
    assert _rc([*sweep, "--min-update", "0.01"]) == 2
    assert "other settings (min_update None there, 0.01 now); use another path" in _one_error_line(capsys)


def test_ablation_sweep_plot_beside_plot_is_checked_before_the_work(tmp_path, capsys, monkeypatch):
    """`maze ablation --sweep --plot a.png` draws the noise sweep into a_sweep.png; a folder (or a named pipe) there
    ended the command after all its work ("path: a_sweep.png: is a folder"), the results never printed. Now
    refused before any work, naming --plot."""
    from neuroflow.rl import experiments

    def no_work(*args, **kwargs):
        raise AssertionError("the ablation ran")

    monkeypatch.setattr(experiments, "self_correction", no_work)
    (tmp_path / "a_sweep.png").mkdir()
    assert _rc(["maze", "ablation", "--seeds", "2", "--episodes", "2", "--quiet", "--sweep", "--sigmas", "0",
                "--plot", str(tmp_path / "a.png")]) == 2
    assert f"--plot: {tmp_path / 'a_sweep.png'}: is a folder" in _one_error_line(capsys)


def test_maze_plot_functions_name_what_they_were_given_instead_of_a_result():
    """plot_maze_result(None, ...), a dict for a result, another task's agent (matplotlib's "Invalid shape (9,) for
    image data"), others={"x": 5}, plot_ablation / plot_sweep / plot_noise_sweep of the wrong thing: each ended in
    an AttributeError or matplotlib's error; now a ValueError naming the argument, before any figure."""
    from neuroflow.rl import ActorCritic
    from neuroflow.rl.plots import plot_ablation, plot_maze_result, plot_noise_sweep, plot_sweep

    t = ActorCritic("tmaze").fit(3, 2, progress=False)
    w = ActorCritic("watermaze").fit(2, 2, progress=False)
    for call, words in ((lambda: plot_maze_result(None, t.result_, "x.png"), "agent: expected an ActorCritic"),
                        (lambda: plot_maze_result(t, {}, "x.png"), "result: expected a MazeResult, got dict"),
                        (lambda: plot_maze_result(w, t.result_, "x.png"), "result, agent: a tmaze result and a "
                                                                          "watermaze agent"),
                        (lambda: plot_maze_result(t, t.result_, "x.png", others={"x": 5}), "others: expected"),
                        (lambda: plot_maze_result(t, t.result_, "x.png", smooth=0), "smooth: expected a positive"),
                        (lambda: plot_ablation({}, "x.png"), "ablation: expected an AblationResult"),
                        (lambda: plot_sweep(None, "x.png"), "sweep: expected a SweepResult"),
                        (lambda: plot_noise_sweep(None, "x.png"), "sweep: expected a NoiseSweepResult")):
        with pytest.raises(ValueError, match="^" + re.escape(words)):
            call()


def test_plot_device_fits_names_fits_and_references_it_cannot_draw(tmp_path):
    """plot_device_fits([]) was a ZeroDivisionError, one DeviceFit "has no len()", a VCMDevice or a reference of
    {"name": 5} an AttributeError. Now a ValueError naming fits or reference; one DeviceFit is drawn."""
    from neuroflow.memristor import fit_device, get_device, simulate_measurement
    from neuroflow.memristor.plots import plot_device_fits

    dev = get_device("portner2025")[0]
    fit = fit_device(simulate_measurement(dev, n_cycles=2, seed=1))
    for fits, ref, word in (([], None, "fits"), ([dev], None, "fits"), (5, None, "fits"),
                            ([fit], {dev.name: 5}, "reference")):
        with pytest.raises(ValueError, match=f"^{word}: expected"):
            plot_device_fits(fits, tmp_path / "f.png", reference=ref)
    assert plot_device_fits(fit, tmp_path / "f.png", reference={dev.name: dev}).is_file()


def test_a_checkpoint_resumes_under_another_seed_batch_with_the_uninterrupted_numbers(tmp_path, monkeypatch):
    """A run interrupted with --seed-batch 2 and resumed with the default (or any other) seed batch was refused as
    "written by a run with other settings ... delete it", though the numbers do not depend on the seed batch
    (every seed has its own stream): the finished batches were to be thrown away. Now the finished seeds are
    taken and the others run in the new batches; steps, weights and operation counts equal an uninterrupted run."""
    from neuroflow.rl import ActorCritic

    real, calls = ActorCritic._advance, {"n": 0}

    def advance(self, e_end, st):
        if calls["n"] >= 1:   # batch 1 (seeds 0, 1) done in one chunk, Ctrl-C in batch 2
            raise KeyboardInterrupt
        calls["n"] += 1
        real(self, e_end, st)

    ck = tmp_path / "ck.npz"
    monkeypatch.setattr(ActorCritic, "_advance", advance)
    cut = ActorCritic("tmaze", synapse="memristor").fit(6, 7, seed=3, seed_batch=2, chunk=6, progress=False,
                                                         checkpoint=ck).result_
    assert cut.interrupted and cut.completed_seeds == 2
    monkeypatch.undo()
    whole = ActorCritic("tmaze", synapse="memristor").fit(6, 7, seed=3, progress=False)
    for batch in (3, 7, 1):
        again = ActorCritic("tmaze", synapse="memristor").fit(6, 7, seed=3, seed_batch=batch, progress=False,
                                                               checkpoint=ck)
        assert not again.result_.interrupted
        np.testing.assert_array_equal(again.result_.steps, whole.result_.steps)
        np.testing.assert_array_equal(again.result_.op_counts, whole.result_.op_counts)
        np.testing.assert_array_equal(again.critic_weights_, whole.critic_weights_)
        np.testing.assert_array_equal(again.actor_weights_, whole.actor_weights_)


def test_one_hot_place_cells_of_many_states_encode_without_a_square_matrix():
    """PlaceCells.one_hot(200000)(3) built np.eye(200000) to take one row of it: numpy's MemoryError (298 GiB).
    Now only the rows asked for are made (the same values as np.eye(n)[obs])."""
    from neuroflow.rl.place_cells import PlaceCells

    big = PlaceCells.one_hot(200_000)(3)
    assert big.shape == (200_000,) and big[3] == 1.0 and big.sum() == 1.0
    pc = PlaceCells.one_hot(9)
    for obs in (np.array([1, 2]), np.int64(3), np.arange(9), np.array([[0, 1], [2, 8]]), 0):
        np.testing.assert_array_equal(pc(obs), np.eye(9)[obs])


def test_finished_checkpoints_and_points_in_a_folder_that_cannot_take_a_lock_still_resume(tmp_path, monkeypatch):
    """The lock that keeps two runs off one checkpoint (sweep folder) must not cost a run that only reads finished
    work from a folder no one can write (a read-only share): there the lock file cannot be made (PermissionError)
    and the run goes on without it."""
    from neuroflow import _utils
    from neuroflow.rl import ActorCritic, sweep

    ck = tmp_path / "ck.npz"
    first = ActorCritic("tmaze", synapse="memristor").fit(3, 2, progress=False, checkpoint=ck).result_
    points = sweep.maze_sweep(alphas=(0.2,), n_seeds=2, n_episodes=3, out=tmp_path / "sw")

    def unwritable(path, busy):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(_utils, "exclusive_lock", unwritable)   # the lock of the checkpoint and of the sweep's folder
    again = ActorCritic("tmaze", synapse="memristor").fit(3, 2, progress=False, checkpoint=ck).result_
    np.testing.assert_array_equal(again.steps, first.steps)
    resumed = sweep.maze_sweep(alphas=(0.2,), n_seeds=2, n_episodes=3, out=tmp_path / "sw")
    assert resumed.computed == [] and np.array_equal(resumed.curves, points.curves)


def test_a_device_file_under_the_home_of_no_user_is_a_plain_path(tmp_path, capsys, monkeypatch):
    """--device ~nouser/dev.json ended in a traceback (Path.expanduser's RuntimeError "Could not determine home
    directory"); now the path is taken as written, as a shell leaves it: one line if there is no such file, the
    device file if a folder named ~nouser holds it."""
    from neuroflow.memristor import get_device, save_devices

    monkeypatch.chdir(tmp_path)
    for verb in (["maze", "tmaze", "--device"], ["maze", "sweep", "--devices"]):
        assert _rc([*verb, "~nouser_h7/dev.json", "--seeds", "2", "--episodes", "2", "--quiet"]) == 2
        assert "~nouser_h7/dev.json: no such file" in _one_error_line(capsys)
    save_devices(get_device("linear-noisy"), tmp_path / "~nouser_h7" / "dev.json")
    assert _rc(["maze", "tmaze", "--device", "~nouser_h7/dev.json", "--seeds", "2", "--episodes", "2", "--quiet"]) == 0
