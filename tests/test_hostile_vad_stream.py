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


# ----------------------------------------------------------------------------- environment
def _run(code: str, **env) -> "subprocess.CompletedProcess":
    import os
    import subprocess
    import sys

    from neuroflow import __file__ as package

    paths = [os.path.dirname(os.path.dirname(package))] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(paths), **env})


def test_a_matplotlib_backend_variable_it_does_not_know_draws_the_figure_all_the_same(tmp_path):
    # figures are drawn with Agg whatever MPLBACKEND says; a name matplotlib refuses at import ended every --plot
    # after the work with "Key backend: 'nonsense' is not a valid value for backend; supported values are [...]"
    code = ("from neuroflow._utils import pyplot, save_figure; import os; plt = pyplot(); fig, ax = plt.subplots(); "
            f"save_figure(fig, {str(tmp_path / 'f.png')!r}); print(os.environ['MPLBACKEND'])")
    proc = _run(code, MPLBACKEND="nonsense")
    assert proc.returncode == 0 and proc.stdout == "nonsense\n", proc.stderr  # the variable is left as it was
    assert (tmp_path / "f.png").stat().st_size > 0


@pytest.mark.parametrize("value", ["0", "abc", "99999"])
def test_a_numba_thread_count_it_cannot_use_is_one_line_naming_the_variable(value, clip, monkeypatch, capsys):
    # 0 stopped numba's import with "Number of threads specified must be > 0." (once blamed on the shipped model's
    # feature configuration), "abc" printed a traceback as a warning, 99999 crashed the process in a maze kernel
    monkeypatch.setenv("NUMBA_NUM_THREADS", value)
    assert main(["vad", "detect", clip("a.wav")]) == 2
    err = capsys.readouterr().err
    assert err == (f"neuroflow: error: environment variable NUMBA_NUM_THREADS: expected a whole number of threads "
                   f"from 1 to 1024, got {value!r}\n")
    assert main(["info"]) == 0  # the command that shows the set-up lists it instead
    assert "NUMBA_NUM_THREADS" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["vad", "corpus", "--out", "{tmp}/c", "--speech", "real", "--quiet"],
                                  ["vad", "sources", "--plot", "{tmp}/p.png"]], ids=["corpus", "sources --plot"])
def test_sources_missing_under_the_sources_variable_name_it(argv, tmp_path, monkeypatch, capsys):
    # the packages were called "not installed", and installing them could not help: the files were looked for
    # under a folder the variable named, one that did not even exist
    monkeypatch.setenv("NEUROFLOW_VAD_SOURCES", str(tmp_path / "absent"))
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.rstrip().endswith(
        f"looked for under environment variable NEUROFLOW_VAD_SOURCES={str(tmp_path / 'absent')!r}, which is no "
        f"folder"), err
    assert not (tmp_path / "c").exists()


# ----------------------------------------------------------------------------- the API
def test_a_path_object_that_is_no_pathlib_path_is_read_as_a_file(clip):
    from pathlib import PurePosixPath

    from neuroflow.vad.detect import detect

    path = clip("a.wav")
    # a PurePath was taken for an array of samples: "sr: required when detecting on an array"
    assert detect(PurePosixPath(path), model="bin").segments == detect(path, model="bin").segments
    with pytest.raises(TypeError, match="^path_or_wav: .*got bytes"):
        detect(path.encode())


def test_a_stream_of_a_model_name_instead_of_a_system_is_named():
    from neuroflow.vad.detect import VADStream

    with pytest.raises(TypeError, match="^system: expected a SpikingVADSystem"):  # was an AttributeError later
        VADStream("bin")


@pytest.mark.parametrize("target", ["loop.wav", "absent.wav"])
def test_a_symbolic_link_to_nothing_is_called_that_not_missing(target, tmp_path, capsys):
    (tmp_path / "loop.wav").symlink_to(tmp_path / target)  # a loop of one link, or a link to no file
    with pytest.raises(SystemExit):
        main(["vad", "detect", str(tmp_path / "loop.wav")])
    err = capsys.readouterr().err  # was "loop.wav: no such file", of a name `ls` lists
    assert err.count("\n") == 1 and "loop.wav: is a symbolic link that leads to no file (" in err, err


def test_a_long_chunk_takes_the_memory_of_ten_seconds_and_gives_the_same_scores():
    import tracemalloc

    from neuroflow.vad.detect import SpikingVADSystem

    system = SpikingVADSystem("bin")
    wav = (0.05 * np.random.default_rng(2).standard_normal(16000 * 25)).astype(np.float32)  # 25 s: 1.6 MB
    whole = system.detect_array(wav, 16000).speech_prob
    stream = system.stream()
    tracemalloc.start()
    try:
        scores = np.concatenate([stream.process(wav), stream.flush()])  # a whole file as one chunk
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 45e6, f"{peak / 1e6:.0f} MB"  # was 67 MB, ~2.7 MB per second of audio (an hour: ~10 GB)
    assert np.array_equal(scores, whole)


# ----------------------------------------------------------------------------- standard output
class _Full:
    """Standard output on a full disk (/dev/full)."""

    def write(self, text):
        raise OSError(28, "No space left on device")

    def flush(self):
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize("stdout", [None, _Full()], ids=["closed", "full"])
@pytest.mark.parametrize("argv", [["vad", "detect"], ["info"]], ids=["detect", "info"])
def test_a_result_that_cannot_be_printed_is_an_error_naming_standard_output(stdout, argv, clip, monkeypatch, capsys):
    import sys

    # closed (`>&-`): print() dropped the result and the command said 0; full: "[Errno 28] No space left on device"
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(argv + ([clip("a.wav")] if argv[0] == "vad" else [])) == 2
    err = capsys.readouterr().err
    assert err.startswith("neuroflow: error: standard output: ") and err.count("\n") == 1, err


# ----------------------------------------------------------------------------- audio only ffmpeg reads
@pytest.mark.parametrize("name, head, kind", [
    ("song.m4a", b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00", "MP4/M4A"),
    ("clip.webm", b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    ("raw.aac", b"\xff\xf1\x50\x80\x00\x1f\xfc", "AAC"),
])
def test_audio_only_ffmpeg_reads_names_ffmpeg_and_its_install_command(name, head, kind, tmp_path, monkeypatch,
                                                                      capsys):
    (tmp_path / name).write_bytes(head + bytes(2000))
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg
    assert main(["vad", "detect", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err  # was "...; librosa: NoBackendError (no decoder for it))", naming no program
    assert err.count("\n") == 1 and err.rstrip().endswith(
        f"; it is {kind} audio, which needs ffmpeg, and no ffmpeg is on PATH: install it (apt-get install ffmpeg) or "
        f"convert the file to WAV or FLAC"), err


def test_many_channels_in_rows_are_refused_not_averaged_over_time():
    from neuroflow.vad.audio import AudioError
    from neuroflow.vad.detect import SpikingVADSystem

    x = (0.05 * np.random.default_rng(4).standard_normal((16, 16000))).astype(np.float32)  # 16 channels, 1 s
    system = SpikingVADSystem("bin")
    # (16, 16000) was read as 16000 channels of 16 samples: "shorter than one frame", or, from 160 channels on,
    # a frame or two of averages over time
    with pytest.raises(AudioError, match=r"^wav: shape \(200, 16000\) would be 16000 channels of 200 samples"):
        system.detect_array(np.zeros((200, 16000), np.float32), 16000)
    assert np.array_equal(system.detect_array(x.T, 16000).speech_prob,  # samples in rows: as it was
                          system.detect_array(x.T.mean(axis=1), 16000).speech_prob)


def test_a_postscript_plots_note_is_a_warning_naming_it(clip, tmp_path, capsys):
    import re

    # was matplotlib's own bare log line on stderr, naming neither the file nor --plot
    with pytest.warns(UserWarning, match=re.escape(f"{tmp_path / 'p.eps'}: The PostScript backend does not support "
                                                   f"transparency")):
        assert main(["vad", "detect", clip("a.wav"), "--plot", str(tmp_path / "p.eps")]) == 0
    assert capsys.readouterr().err == ""


def test_an_unusable_matplotlib_config_folder_prints_nothing_and_the_plot_is_drawn(clip, tmp_path):
    import os
    import subprocess
    import sys

    from neuroflow import __file__ as package

    (tmp_path / "file").write_text("")
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "file" / "mpl"),
           "PYTHONPATH": os.pathsep.join([os.path.dirname(os.path.dirname(package))]
                                         + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    run = subprocess.run([sys.executable, "-m", "neuroflow.cli", "vad", "detect", clip("a.wav"), "--plot",
                          str(tmp_path / "p.png")], capture_output=True, text=True, env=env, timeout=120)
    # were matplotlib's own bare log lines; now it gets a temporary config folder, as it would itself, silently
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert (tmp_path / "p.png").stat().st_size > 0


def test_whole_numbers_in_a_list_are_not_taken_for_64_bit_samples():
    from neuroflow.vad.audio import AudioError
    from neuroflow.vad.detect import SpikingVADSystem

    system = SpikingVADSystem("bin")
    pcm = [int(v) for v in np.random.default_rng(5).integers(-3000, 3000, 1600)]  # int16 values in a list
    # read as int64 and scaled by 2**63: silence, "0 speech segments", without a word
    with pytest.raises(AudioError, match="^wav: 64-bit integer samples"):
        system.detect_array(pcm, 16000)
    with pytest.raises(AudioError, match="^chunk: 64-bit integer samples"):
        system.stream().process(pcm)
    assert len(system.stream().process(np.asarray(pcm, np.int16))) == 9  # said as int16: read as ever


@pytest.mark.parametrize("value", ["abc", "99999999999999999999"])
def test_a_source_date_no_library_can_read_is_one_line_naming_the_variable(value, clip, monkeypatch, capsys):
    # read by NumPy's f2py (under SciPy) and matplotlib: "abc" stopped every vad command with "invalid literal for
    # int()", naming nothing; a date past the year 9999 ended in an OverflowError traceback
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    assert main(["vad", "detect", clip("a.wav")]) == 2
    assert capsys.readouterr().err == (f"neuroflow: error: environment variable SOURCE_DATE_EPOCH: expected seconds "
                                       f"since 1970 (a whole number from 0 to 253402300799), got {value!r}\n")


def test_a_result_naming_a_file_the_output_encoding_cannot_spell_is_printed_escaped(clip, monkeypatch):
    import io
    import sys

    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")  # PYTHONIOENCODING=ascii
    monkeypatch.setattr(sys, "stdout", out)
    # was "error: 'ascii' codec can't encode character '\xe9'", the result lost, exit 2
    assert main(["vad", "detect", clip("h\xe9llo.wav")]) == 0
    out.flush()
    assert "h\\xe9llo.wav: 0.20 s, " in out.buffer.getvalue().decode("ascii")


def test_a_warning_made_an_error_is_one_line(clip, tmp_path, capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PYTHONWARNINGS=error: the warning came out as a traceback
        assert main(["vad", "detect", clip("a.wav"), "--plot", str(tmp_path / "p.eps")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"neuroflow: error: {tmp_path / 'p.eps'}: The PostScript"), err


# ----------------------------------------------------------------------------- a sixth pass
@pytest.mark.parametrize("rate", [7999, 0])
def test_a_file_whose_header_gives_a_rate_out_of_range_is_named_not_an_argument_sr(rate, clip, capsys):
    import struct

    path = clip("rate.wav")
    with open(path, "r+b") as f:  # the fmt chunk's sample rate (a 0 Hz header is read by libsndfile as it stands)
        f.seek(24)
        f.write(struct.pack("<I", rate))
    assert main(["vad", "detect", path, "--quiet"]) == 2
    err = capsys.readouterr().err  # was "rate.wav: sr: expected an integer sample rate ...", of no flag --sr
    assert err.count("\n") == 1, err
    assert f"rate.wav: its header gives a sample rate of {rate} Hz; expected 8000 to 768000 Hz" in err, err


def test_a_sample_rate_given_with_a_file_is_refused_not_ignored(clip):
    from neuroflow.vad.detect import detect

    path = clip("a.wav")
    with pytest.raises(ValueError, match="^sr: is the sample rate of an array of samples; a file's rate comes from"):
        detect(path, 8000)  # was read at the header's 16 kHz, the 8000 dropped without a word
    assert detect(path).duration_s == pytest.approx(0.2)


@pytest.mark.parametrize("stage", ["extractor", "runner", "post"])
@pytest.mark.parametrize("long", [False, True], ids=["chunk", "long-chunk"])
def test_ctrl_c_inside_a_chunk_leaves_the_stream_where_it_stood(stage, long, monkeypatch):
    """Ctrl-C inside process() had advanced part of the stream (the features, not the network; or the first pieces of a
    long chunk): fed again, the chunk gave other scores and segments (27 segments for 15). Now the chunk goes through
    whole or not at all."""
    from neuroflow.vad.detect import SpikingVADSystem
    from neuroflow.vad.frontend import FEED_CHUNK

    rng = np.random.default_rng(0)
    loud = np.repeat(rng.random(24) < 0.5, 8000)[: FEED_CHUNK + 32000]  # 0.5 s bursts of loud noise
    wav = (rng.standard_normal(len(loud)) * np.where(loud, 0.3, 0.003)).astype(np.float32)
    system = SpikingVADSystem("bin")
    ref = system.stream(min_silence_s=0.1)
    want = np.concatenate([ref.process(wav[:16000]), ref.process(wav[16000:]), ref.flush()])
    cuts = [0, 16000, len(wav)] if long else list(range(0, len(wav), 4000)) + [len(wav)]
    target, name = {"extractor": (system.extractor, "step"), "runner": (system.runner, "run"),
                    "post": (system.post, "_step")}[stage]  # the stream calls the unchecked step
    calls = {"n": 0}
    step = getattr(target, name)

    def interrupted(*args, **kwargs):
        out = step(*args, **kwargs)  # the work done, then Ctrl-C before the stream takes it
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return out

    stream = system.stream(min_silence_s=0.1)
    got = [stream.process(wav[:cuts[1]])]
    monkeypatch.setattr(target, name, interrupted)
    for a, b in zip(cuts[1:], cuts[2:]):
        try:
            got.append(stream.process(wav[a:b]))
        except KeyboardInterrupt:
            got.append(stream.process(wav[a:b]))  # the same chunk again
    got.append(stream.flush())
    assert calls["n"] > 2
    np.testing.assert_array_equal(np.concatenate(got), want)
    assert stream.segments == ref.segments and len(ref.segments) > 2


@pytest.mark.parametrize("rule", ["threshold", "min_speech_s", "min_silence_s", "pad_s"])
def test_a_segment_rule_past_the_float_range_is_a_value_error(rule):
    from neuroflow.vad.detect import SpikingVADSystem

    with pytest.raises(ValueError, match=f"^{rule}: expected a .* got 1000000000.*\\.\\.\\.$"):
        SpikingVADSystem("bin").stream(**{rule: 10**400})  # was OverflowError: int too large to convert to float


@pytest.mark.parametrize("threshold", [None, "0.5", 10**400, float("nan"), True],
                         ids=["None", "str", "10**400", "nan", "True"])
def test_a_metrics_threshold_that_is_no_finite_number_is_named(threshold):
    from neuroflow.vad.metrics import frame_metrics

    with pytest.raises(ValueError, match="^threshold: expected a finite number, got "):  # was numpy's TypeError
        frame_metrics(np.array([0, 1]), np.array([0.2, 0.8]), threshold=threshold)


@pytest.mark.parametrize("call", ["sr", "pj_per_sop"])
def test_a_huge_number_is_named_in_a_short_line(call):
    from neuroflow.vad.detect import detect
    from neuroflow.vad.energy import model_info

    with pytest.raises(ValueError, match=f"^{call}: expected ") as exc:
        detect(np.zeros(1600, np.float32), 10**400) if call == "sr" else model_info("bin", None, 10**400)
    assert len(str(exc.value)) < 200, str(exc.value)  # the 401 digits were all printed


@pytest.mark.parametrize("kwargs, message", [
    ({"n_mels": 10**8}, "n_mels: expected at most 257 bands (the FFT bins of n_fft=512), got 100000000"),
    ({"n_mels": 200}, "n_mels: 3 of 200 mel bands between 0 and 8000 Hz hold no bin of a 512-point FFT"),
    ({"n_mels": 40, "fmin": 7900.0}, "n_mels: 34 of 40 mel bands between 7900 and 8000 Hz hold no bin")])
def test_mel_bands_without_fft_bins_are_refused_naming_n_mels(kwargs, message):
    """10**8 bands built a 200 GB filter bank; bands without a bin printed librosa's warning and read as silence."""
    import warnings

    from neuroflow.vad.features import logmel

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
            logmel(np.full(1600, 0.01, np.float32), 16000, **kwargs)
        assert logmel(np.full(1600, 0.01, np.float32), 16000, n_mels=128).shape == (10, 128)


def test_detect_file_names_its_own_options_and_checks_them_before_reading(clip, monkeypatch):
    import importlib

    detect_module = importlib.import_module("neuroflow.vad.detect")  # neuroflow.vad.detect is also a function
    system = detect_module.SpikingVADSystem("bin")
    with pytest.raises(TypeError, match="detect_file\\(\\) got an unexpected keyword argument 'sr'"):
        system.detect_file(clip("a.wav"), sr=8000)  # was "detect_array() got multiple values for argument 'sr'"
    read = []
    monkeypatch.setattr(detect_module, "load_audio", lambda *a, **k: read.append(a) or (np.zeros(1600), 16000))
    with pytest.raises(ValueError, match="^pad_s: expected a duration in \\[0, 3600\\] s"):
        system.detect_file(clip("b.wav"), pad_s=-1.0)
    assert not read  # the file was decoded before the option was refused


@pytest.mark.parametrize("argv", [["vad", "detect", "~nouser/a.wav"],
                                  ["vad", "detect", "{clip}", "--model", "~nouser/m.pt"],
                                  ["vad", "eval", "--corpus", "~nouser/c"],
                                  ["vad", "eval", "--corpus", "~nouser/c", "--system", "bin:~nouser/m.pt"],
                                  ["vad", "info", "--audio", "~nouser/a.wav"]])
def test_a_path_under_the_home_of_no_user_is_taken_as_written(argv, clip, tmp_path, monkeypatch, capsys):
    """~nouser/... (a user this machine does not have; a shell leaves it as it is) ended every path flag in a
    traceback: Path.expanduser's RuntimeError "Could not determine home directory"."""
    monkeypatch.chdir(tmp_path)
    path = clip("a.wav")
    with pytest.raises(SystemExit) as exit_:
        main([a.format(clip=path) for a in argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "~nouser/" in err and "no such" in err and "Traceback" not in err, err


def test_outputs_under_the_home_of_no_user_are_written_where_a_shell_puts_them(clip, tmp_path, monkeypatch):
    from neuroflow.vad.detect import detect

    monkeypatch.chdir(tmp_path)
    (tmp_path / "~nouser").mkdir()
    path = clip("~nouser/a.wav")
    assert main(["vad", "detect", "~nouser/a.wav", "--model", "bin", "--plot", "~nouser/p.png"]) == 0
    assert (tmp_path / "~nouser" / "p.png").is_file()
    assert detect("~nouser/a.wav", model="bin").segments == detect(path, model="bin").segments
