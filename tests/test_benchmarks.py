"""The benchmark scripts' small modes run end to end and print the JSON they promise (their full runs are too
long for the suite; a script that stopped working would otherwise go unnoticed until someone reruns it)."""
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _floats(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _floats(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _floats(v)
    elif isinstance(obj, float):
        yield obj


def test_vad_benchmark_quick_mode_scores_every_system(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "vad.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "vad.py"), "--quick", "--out", str(out)],
                         capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert json.loads(run.stdout) == result
    systems = result["synthetic_group_B"]["systems"]
    assert {"energy", "snu", "bin"} <= set(systems)
    for name in ("snu", "bin"):
        assert 0.0 <= systems[name]["HTER_mean_over_levels"] <= 0.5
        assert result["models"][name]["sparsity"] >= 0.85
    assert result["noise_after_digital_silence"]["snu"]["speech_fraction"] <= 0.05
    assert not any(math.isnan(x) for x in _floats(result))
    real = result["real_speech"]
    if "systems" in real:  # the real-speech packages are installed
        for name in ("snu", "bin", "webrtc:3"):
            collar = real["systems"][name]["collar"]
            assert collar["collar_s"] == 0.25 and set(collar["per_condition"]) == set(real["conditions"])
            assert collar["mean_HTER"] == pytest.approx(np.mean([v["HTER"] for v in collar["per_condition"].values()]))
        assert "conditions_not_beating_webrtc3_with_collar" in result["real_targets"]["bin"]


def test_vad_stream_benchmark_quick_mode_times_every_model_and_chunk_size(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "stream.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "vad_stream.py"), "--quick", "--repeats", "1",
                          "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert json.loads(run.stdout) == result
    for name in ("snu", "bin"):
        row = result["current"][name]
        assert row["offline_rtf"] > 0 and set(row["chunks"]) == {"160", "320", "1600"}
        for chunk in row["chunks"].values():
            assert chunk["identical"] and chunk["stream_rtf"] > 0 and chunk["us_per_chunk"] > 0


def test_identify_lm_benchmark_quick_mode_polishes_below_the_torch_phase(tmp_path):
    pytest.importorskip("torch")
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "identify.py"), "lm", "--quick"],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    (student,) = result["students"]
    assert student["lm_steps"] <= result["step_budget"] == 100
    assert student["lm_rel_loss"] < 1e-2 * student["torch_rel_loss"]
    assert student["minpack_rel_loss"] < student["torch_rel_loss"]


def test_identify_digits_cuts_recuts_the_same_students_by_each_rule(tmp_path):
    """digits-cuts (quick): one teacher's last hidden layer cut by each rule from the same students; no rule finds
    more clusters than the most at any one height; a negative seed ends in one line naming the flag."""
    pytest.importorskip("torch")
    script = str(ROOT / "benchmarks" / "identify.py")
    out = tmp_path / "cuts.json"
    run = subprocess.run([sys.executable, script, "digits-cuts", "--quick", "--seeds", "0", "--n-jobs", "1",
                          "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    (row,) = json.loads(out.read_text())["rows"]
    rules = row["rules"]
    assert list(rules) == ["most", "persistent 1.5", "persistent 2", "persistent 3"]
    assert all(0 < r["clusters"] <= rules["most"]["clusters"] and len(r["nearest_cluster_deg"]) == 20
               for r in rules.values())
    run = subprocess.run([sys.executable, script, "digits-cuts", "--quick", "--seeds", "0", "-1"],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode != 0 and run.stderr.strip().count("\n") == 0 and "--seeds" in run.stderr


def test_identify_deep_control_trains_on_given_and_designed_probes(tmp_path):
    """deep-control: the same students (the teacher's first layer frozen) on the given probes and on half designed
    ones; a prefix that names no single problem, no students or a share outside (0, 1) ends in one line naming
    the flag."""
    pytest.importorskip("torch")
    script = str(ROOT / "benchmarks" / "identify.py")
    run = subprocess.run([sys.executable, script, "deep-control", "--quick", "--n-students", "2", "--n-jobs", "1"],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert result["problem"].startswith("d14") and result["student_sizes"] == [8, 14, 10]
    given, designed = result["runs"]
    assert given["designed_probes"] == 0 and designed["designed_probes"] == 1970
    assert designed["target_variance"] > given["target_variance"]  # the design drives the units far out
    for r in (given, designed):
        assert len(r["rel_losses"]) == 2 and all(0.0 <= x < 1.0 for x in r["rel_losses"])
    for flag, bad in (("--problem", "d99"), ("--problem", "d09-x"), ("--problem", "d1"), ("--n-students", "0"),
                      ("--layer-probes", "1.5"), ("--layer-probes", "0")):
        run = subprocess.run([sys.executable, script, "deep-control", "--quick", flag, bad],
                             capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert run.returncode != 0 and run.stderr.strip().count("\n") == 0 and flag in run.stderr, (flag, bad)


def test_vad_rule_bound_scores_per_snr_rules_on_a_small_set(tmp_path):
    pytest.importorskip("torch")
    from neuroflow.vad.corpus import generate_corpus

    for folder, split in ((tmp_path / "dev", "train"), (tmp_path / "bench" / "speech", "test")):
        generate_corpus(folder, minutes=1.0, split=split, seed=3, durations=(15.0,), snrs=(20.0, 5.0),
                        noises=("white", "babble"), progress=False)
    script = str(ROOT / "benchmarks" / "vad_rule_bound.py")
    out = tmp_path / "bound.json"
    run = subprocess.run([sys.executable, script, "--calibration", str(tmp_path / "dev"), "--real",
                          str(tmp_path / "bench"), "--systems", "bin", "--out", str(out)],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert json.loads(run.stdout) == result
    bin_ = result["systems"]["bin"]
    shipped = bin_["shipped_rule"]
    for name in ("threshold_per_snr", "whole_rule_per_snr"):
        rules = bin_[name]["rules"]
        assert set(rules) == {"20", "5"} and 0.0 <= bin_[name]["mean_hter"] <= 0.5
        for snr, (before, after) in bin_[name]["by_snr [shipped rule, this]"].items():
            assert 0.0 <= before <= 0.5 and 0.0 <= after <= 0.5
    assert all((r["median"], r["hangover"]) == (shipped["median"], shipped["hangover"])
               for r in bin_["threshold_per_snr"]["rules"].values())
    oracle = bin_["rule_per_condition"]
    assert result["reference"] == "webrtc:3" and oracle["rules"]
    assert set(oracle["rules"]) <= {"white@20", "white@5", "babble@20", "babble@5"}
    assert oracle["mean_hter"] <= bin_["whole_rule_per_snr"]["mean_hter"] + 1e-12  # chosen on the conditions
    assert all(best >= ref for best, ref in oracle["not_won_by_any_rule"].values())
    for noise, fa in bin_["false_alarms_at_20_db"].items():
        shares = fa["share_by_distance [<0.1, 0.1-0.3, 0.3-1, 1-3, >3 s]"]
        assert noise.endswith("@20") and len(shares) == 5 and sum(shares) in (0.0, pytest.approx(1.0, abs=5e-3))
    assert bin_["after_each_speaker"] == {"bins (frames after speech)": [str(e) for e in (0, 5, 10, 15, 20, 30, 50,
                                                                                          100, 200, float("inf"))]}
    bad = subprocess.run([sys.executable, script, "--calibration", str(tmp_path / "dev"), "--real", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert bad.returncode == 2 and "--real" in bad.stderr and "speech/" in bad.stderr.strip().splitlines()[-1]


def test_identify_near_parallel_names_the_neurons_students_merge():
    """digits-control's group check: two neurons of one weight direction that differ in bias and scale are each
    other's nearest (0 deg) with pre-activations correlated 1, whatever the probes; a third, orthogonal one is not."""
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("identify_bench", ROOT / "benchmarks" / "identify.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    w = np.array([1.0, 2.0, 0.0, -1.0])
    U = np.array([[*w, 0.5], [*(-2.0 * w), 0.7], [2.0, -1.0, 3.0, 0.0, 0.2]])
    H = np.random.default_rng(0).random((500, 4))
    near = bench.near_parallel(U, H)
    assert [n["nearest"] for n in near[:2]] == [1, 0]
    assert near[0]["weight_angle_deg"] == 0.0 and abs(near[0]["preactivation_corr"]) == 1.0
    assert near[2]["weight_angle_deg"] > 45.0 and abs(near[2]["preactivation_corr"]) < 0.9


def test_vad_loss_share_says_whether_the_scenes_agree_on_a_lost_condition():
    """loss_share: a model behind the reference in every scene loses in every resampling; one behind in a single
    scene of six, ahead in the others, loses in few; a single scene cannot be resampled."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("vad_bench", ROOT / "benchmarks" / "vad.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ref = [[5, 100, 5, 100]] * 6
    assert bench.loss_share([[6, 100, 6, 100]] * 6, ref) == 1.0
    mixed = [[30, 100, 30, 100]] + [[4, 100, 4, 100]] * 5  # pooled: 50/600 each, one scene decides
    share = bench.loss_share(mixed, ref)
    assert 0.3 < share < 0.9
    assert bench.loss_share([[1, 100, 1, 100]] * 6, ref) == 0.0
    assert bench.loss_share([[6, 100, 6, 100]], [[5, 100, 5, 100]]) is None


def test_vad_real_targets_score_silero_as_a_reference_against_the_same_bars():
    """real_targets: each spiking model and Silero get the issue's bars (conditions lost to WebRTC-3, clean false
    alarms, music); only the spiking models are measured against Silero; other baselines get none."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("vad_bench", ROOT / "benchmarks" / "vad.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    def system(clean_far, hters, mean):
        return {"clean": {"FAR": clean_far}, "music_speech_fraction": 0.01, "roomtone_speech_fraction": 0.0,
                "mean_HTER": mean, "per_condition": {c: {"HTER": h} for c, h in zip(("clean", "white@20"), hters)}}

    real = {"conditions": ["clean", "white@20"],
            "systems": {"webrtc:3": system(0.01, (0.02, 0.03), 0.025), "energy": system(0.1, (0.1, 0.1), 0.1),
                        "silero": system(0.0, (0.01, 0.04), 0.02), "bin": system(0.06, (0.03, 0.02), 0.025)}}
    t = bench.real_targets(real)
    assert set(t) == {"silero", "bin"}
    assert t["silero"]["conditions_not_beating_webrtc3"] == {"white@20": [0.04, 0.03]}
    assert "mean_HTER_minus_silero_points" not in t["silero"]
    assert t["bin"]["conditions_not_beating_webrtc3"] == {"clean": [0.03, 0.02]}
    assert not t["bin"]["clean_FAR_ok"] and abs(t["bin"]["mean_HTER_minus_silero_points"] - 0.5) < 1e-9


def test_vad_benchmark_rejects_a_bad_draw_in_one_line(tmp_path):
    script = str(ROOT / "benchmarks" / "vad.py")
    for argv, flag in ((["--real-seed", "-1"], "--real-seed"), (["--real-scenes", "0"], "--real-scenes"),
                       (["--real", str(tmp_path), "--real-scenes", "6"], "--real-scenes")):
        run = subprocess.run([sys.executable, script, *argv], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert run.returncode == 2 and flag in run.stderr.strip().splitlines()[-1], argv


def _vad_bench():
    import importlib.util

    spec = importlib.util.spec_from_file_location("vad_bench", ROOT / "benchmarks" / "vad.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


#: samples per clip each section of the stand-in run below scores: which section a call came from
REAL_S, SILENCE_S, SYNTHETIC_S = 80000, 88000, 96000


def _vad_systems(stop=None):
    """Three stand-ins for the systems (speech where a frame is loud enough), each recording the length of every
    clip it scores; ``stop``: (name, samples, exception) raised when that system is given a clip of that length."""
    from neuroflow.vad.systems import VADSystem

    class Loud(VADSystem):
        def __init__(self, name, gain):
            self.name, self.gain, self.lengths = name, gain, []

        def _score16k(self, wav):
            self.lengths.append(len(wav))
            if stop is not None and (self.name, len(wav)) == stop[:2]:
                raise stop[2]
            frames = np.asarray(wav[: len(wav) // 160 * 160], dtype=float).reshape(-1, 160)
            return np.clip(self.gain * np.sqrt(np.mean(frames ** 2, axis=1)), 0.0, 1.0)

    return {name: Loud(name, gain) for name, gain in (("energy", 30.0), ("webrtc:3", 10.0), ("silero", 100.0))}


def test_vad_benchmark_keeps_finished_parts_and_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch, capsys):
    """Ctrl-C or a crash lost every system scored (tens of minutes): each system's part of each section is kept in
    OUT.progress as it finishes; Ctrl-C ends with 130 and one line saying what is kept; the same run again scores
    only what is missing, prints what an uninterrupted run prints (but the timings) and drops the file."""
    from neuroflow.vad.corpus import generate_corpus

    bench = _vad_bench()
    monkeypatch.setattr(bench, "ALSA", tmp_path / "no-alsa")  # the alsa sections say "skipped"
    real, syn = tmp_path / "real", tmp_path / "syn"
    generate_corpus(real / "speech", minutes=0.25, split="test", seed=3, durations=(REAL_S / 16000,), snrs=(20.0,),
                    noises=("white", "none"), progress=False)
    for part in ("music", "roomtone"):
        generate_corpus(real / part, minutes=0.1, split="test", seed=3, durations=(REAL_S / 16000,), speech="none",
                        progress=False)
    generate_corpus(syn, minutes=0.3, split="test", seed=4, durations=(SYNTHETIC_S / 16000,), snrs=(10.0, -5.0),
                    noises=("white",), progress=False)

    def run(out, systems):
        progress = bench.Progress(bench.progress_path(out), {"quick": True, "real": str(real)})
        progress.read()
        progress.settle({"systems": list(systems)})
        return bench.finish(progress, out, lambda: bench.run_parts(systems, {}, real, syn, True, [], progress))

    def without_timings(result):
        return {k: v for k, v in result.items() if k != "realtime_factor_one_core"}

    assert run(tmp_path / "whole.json", _vad_systems()) == 0
    whole = json.loads((tmp_path / "whole.json").read_text())
    assert not bench.progress_path(tmp_path / "whole.json").exists() and whole["real_speech"]["systems"]
    out = tmp_path / "vad.json"
    kept = bench.progress_path(out)
    capsys.readouterr()
    # Ctrl-C in webrtc:3's real speech: energy's is kept
    assert run(out, _vad_systems(stop=("webrtc:3", REAL_S, KeyboardInterrupt()))) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"interrupted: kept in {kept}: real_speech (energy); the same command resumes from there"
    assert not out.exists() and list(json.loads(kept.read_text())["parts"]) == ["real_speech"]
    # a crash in silero's group B: what finished before it is kept, and energy's real speech was not scored again
    systems = _vad_systems(stop=("silero", SYNTHETIC_S, RuntimeError("crash")))
    with pytest.raises(RuntimeError, match="crash"):
        run(out, systems)
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(f"failed: kept in {kept}: real_speech (energy, "
                                                                       "webrtc:3, silero)")
    assert REAL_S not in systems["energy"].lengths and REAL_S in systems["silero"].lengths
    parts = json.loads(kept.read_text())["parts"]
    every = ["energy", "webrtc:3", "silero"]
    assert {k: list(v) for k, v in parts.items()} == {"real_speech": every, "noise_after_digital_silence": every,
                                                      "synthetic_group_B": ["energy", "webrtc:3"]}
    # resumed: only silero's group B and the CPU speeds are scored; the result is the uninterrupted one's
    systems = _vad_systems()
    assert run(out, systems) == 0
    assert not kept.exists()
    assert all(REAL_S not in s.lengths and SILENCE_S not in s.lengths for s in systems.values())
    assert [SYNTHETIC_S in s.lengths for s in systems.values()] == [False, False, True]
    resumed = json.loads(out.read_text())
    assert without_timings(resumed) == without_timings(whole)
    assert set(resumed["realtime_factor_one_core"]) == set(whole["realtime_factor_one_core"])


def test_vad_benchmark_refuses_to_resume_other_settings_or_a_foreign_progress_file(tmp_path):
    """A progress file of a run with other settings (flags, corpora, systems) is refused in one line naming them,
    before any work; --fresh drops it; a corrupt or foreign file is named (it was never read: every run started
    afresh and wrote over it)."""
    bench = _vad_bench()
    path = tmp_path / "vad.json.progress"
    done = bench.Progress(path, {"quick": True, "real": None, "extra": []})
    done.settle({"systems": {"energy": "EnergyVAD"}})
    done("real_speech", "energy", lambda: {"mean_HTER": np.float64(0.25), "nan": float("nan")})
    again = bench.Progress(path, {"quick": False, "real": None, "extra": ["snu:old.pt"]})
    with pytest.raises(ValueError) as exc:
        again.read()
    message = str(exc.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and "--fresh" in message
    assert "--quick True there, False now" in message and "--extra" in message and "--real " not in message
    same = bench.Progress(path, {"quick": True, "real": None, "extra": []})
    same.read()  # the flags agree; the systems do not
    with pytest.raises(ValueError, match="systems"):
        same.settle({"systems": {"energy": "EnergyVAD", "bin": "SpikingVADSystem 0123"}})
    resumed = bench.Progress(path, {"quick": True, "real": None, "extra": []})
    resumed.read()
    resumed.settle({"systems": {"energy": "EnergyVAD"}})
    calls = []
    value = resumed("real_speech", "energy", lambda: calls.append(1))
    assert not calls and value["mean_HTER"] == 0.25 and math.isnan(value["nan"])  # NaN kept, as scored
    again.read(fresh=True)
    assert not path.exists()
    with pytest.raises(KeyboardInterrupt):  # a part that ran on after a Ctrl-C some library caught is not kept
        bench.Progress(path, {}, interrupts=[2])("real_speech", "energy", lambda: {"mean_HTER": 0.5})
    assert not path.exists()
    for text in ("not JSON\n", '{"rows": []}\n', '{"format": "benchmarks/vad.py progress", "settings": {}}\n'):
        path.write_text(text)
        with pytest.raises(ValueError) as exc:
            bench.Progress(path, {}).read()
        assert str(exc.value).startswith(f"{path}: ") and "\n" not in str(exc.value), text


def test_vad_benchmark_refuses_a_second_run_into_the_same_out_at_once(tmp_path):
    """Two runs into one --out scored the same systems twice and wrote over each other's progress: the second is
    refused in one line naming --out (exit status 2), as is a corrupt progress file, before any corpus is built."""
    from neuroflow._utils import lock_beside

    script = str(ROOT / "benchmarks" / "vad.py")
    env = dict(__import__("os").environ, PYTHONPATH=str(ROOT / "python"))
    out = tmp_path / "vad.json"
    with lock_beside(out, "busy"):
        run = subprocess.run([sys.executable, script, "--out", str(out)], capture_output=True, text=True,
                             timeout=120, cwd=tmp_path, env=env)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "--out: " in run.stderr and "another run" in \
        run.stderr, run.stderr
    (tmp_path / "vad.json.progress").write_text("{")
    run = subprocess.run([sys.executable, script, "--out", str(out)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env=env)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "vad.json.progress" in run.stderr, run.stderr
    run = subprocess.run([sys.executable, script, "--fresh"], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env=env)
    assert run.returncode == 2 and "--fresh" in run.stderr.strip().splitlines()[-1]


def test_vad_benchmark_takes_an_upgraded_baseline_package_for_another_system(monkeypatch):
    """A resumed run compared the baselines by class only: results of webrtcvad or silero-vad before an upgrade were
    kept as the new release's."""
    import importlib.metadata

    from neuroflow.vad.systems import SileroVAD, WebRTCVAD

    bench = _script("vad")
    webrtc, silero = object.__new__(WebRTCVAD), object.__new__(SileroVAD)
    monkeypatch.setattr(importlib.metadata, "version", lambda package: "1.0")
    before = bench.system_identity(webrtc), bench.system_identity(silero)
    monkeypatch.setattr(importlib.metadata, "version", lambda package: "2.0")
    after = bench.system_identity(webrtc), bench.system_identity(silero)
    assert before == ("WebRTCVAD webrtcvad-wheels 1.0", "SileroVAD silero-vad 1.0") and after[0] != before[0] \
        and after[1] != before[1]

    def missing(package):
        raise importlib.metadata.PackageNotFoundError(package)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert bench.system_identity(webrtc) == "WebRTCVAD"


def test_vad_benchmark_finishes_a_held_out_set_whose_build_was_cut_short(tmp_path, monkeypatch):
    """The held-out set built in $TMPDIR was taken as whole once speech/ and roomtone/ had a manifest, which is
    written from the first scene on: after a Ctrl-C in its build the next run benchmarked part of the set, silently.
    Now it is whole with every planned scene in its manifests; otherwise the build resumes."""
    import neuroflow.vad.realspeech as realspeech

    bench = _vad_bench()
    calls = []
    monkeypatch.setattr(realspeech, "benchmark_set", lambda root, **kw: calls.append(kw))
    for name, plans in realspeech.benchmark_plans(0, **bench.REAL_SETTINGS[True]).items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "corpus.json").write_text(json.dumps({"scenes": [{}] * len(plans)}))
    assert bench._build_real(tmp_path, True) == tmp_path and not calls  # whole: used as it is
    (tmp_path / "roomtone" / "corpus.json").write_text(json.dumps({"scenes": [{}]}))  # cut short in room tone
    assert bench._build_real(tmp_path, True) == tmp_path
    assert calls == [{"seed": 0, "progress": False, **bench.REAL_SETTINGS[True]}]

def test_vad_rule_bound_splits_errors_by_the_speaker_of_the_last_utterance():
    import importlib.util
    from types import SimpleNamespace

    import numpy as np

    spec = importlib.util.spec_from_file_location("vad_rule_bound", ROOT / "benchmarks" / "vad_rule_bound.py")
    bound = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bound)
    # 3 s: A speaks 0.0-0.5 s, silence to 1.5 s; B speaks 1.5-2.0 s, silence to 3 s. The "model" holds speech 10
    # frames after A and 3 frames after B, and misses B's first 5 frames.
    labels = np.zeros(300, bool)
    labels[0:50] = labels[150:200] = True
    decision = labels.copy()
    decision[50:60] = decision[200:203] = True
    decision[150:155] = False
    scene = SimpleNamespace(info={"utterances": [{"speaker": "A", "start_s": 0.0}, {"speaker": "B", "start_s": 1.5}]})
    system = SimpleNamespace(post=lambda prob, energy: prob)
    held = [(decision.astype(float), np.full(300, -30.0), labels, "speech/white@20")]
    out = bound.after_each_speaker(system, held, [scene])["shipped_rule"]
    a, b = out["A"], out["B"]
    assert a["far"] == pytest.approx(10 / 100) and a["mr"] == 0.0 and b["far"] == pytest.approx(3 / 100)
    assert b["mr"] == pytest.approx(5 / 50) and b["hter"] == pytest.approx((0.03 + 0.1) / 2)
    assert a["far_by_frames_after_speech"][:3] == [1.0, 1.0, 0.0] and b["far_by_frames_after_speech"][:2] == [0.6, 0.0]
    # the same distances after both, so at the other's rates each draws the other's false alarms
    assert a["far_at_others_rates"] == pytest.approx(0.03) and b["far_at_others_rates"] == pytest.approx(0.10)
    assert held and bound.after_each_speaker(system, [(*held[0][:3], "speech/white@5")], [scene]) == {
        "bins (frames after speech)": [str(e) for e in bound.AFTER_EDGES]}  # only clean and 20 dB count


def test_vad_corpus_benchmark_writes_its_out_and_refuses_a_bad_flag_at_once(tmp_path):
    pytest.importorskip("torch")
    script = str(ROOT / "benchmarks" / "vad_corpus.py")
    out = tmp_path / "r.json"
    run = subprocess.run([sys.executable, script, "--minutes", "0.05", "--systems", "energy", "--out", str(out)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(out.read_text()) == json.loads(run.stdout)  # --out was left unwritten without --real
    for argv, flag in [(["--out", str(tmp_path)], "--out"), (["--minutes", "nan"], "--minutes")]:
        # were tracebacks, --out one after the whole run
        run = subprocess.run([sys.executable, script, *argv], capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and run.stderr.count("\n") == 1 and f"argument {flag}: " in run.stderr, run.stderr


@pytest.mark.parametrize("argv, flag", [(["--out", "{tmp}"], "--out"), (["--extra", "snu:{tmp}/none.pt"], "--extra"),
                                        (["--real", "{tmp}/none"], "--real"),
                                        # a folder of no held-out set: a traceback at the first section
                                        (["--real", "{tmp}"], "--real"),
                                        # the result replaced the corpus's manifest after the whole run
                                        (["--synthetic", "{tmp}", "--out", "{tmp}/corpus.json"], "--out")])
def test_vad_benchmark_refuses_a_bad_flag_before_any_work(argv, flag, tmp_path):
    # were found only when used: --out after the whole benchmark, --extra after its corpora were built
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "vad.py"),
                          *[a.format(tmp=tmp_path) for a in argv]], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and f"argument {flag}: " in run.stderr, run.stderr


BAD_FLAGS = [
    ("flow_reproducible", ["--busy", "-1"], "--busy"), ("flow_reproducible", ["--out", "{tmp}"], "--out"),
    ("flow_vs_adam", ["--seeds", "0"], "--seeds"), ("flow_vs_adam", ["--seeds", "99999999999999999999"], "--seeds"),
    ("flow_vs_adam", ["--adam-seconds", "nan"], "--adam-seconds"),
    ("flow_vs_adam", ["--adam-steps", "0"], "--adam-steps"),
    ("flow_vs_adam", ["--adam-steps", "10", "--adam-seconds", "1"], "--adam-seconds"),
    ("flow_vs_adam", ["--out", "{file}/x.json"], "--out"),
    ("gradients", ["--repeats", "0"], "--repeats"), ("gradients", ["--out", "{tmp}/x.txt"], "--out"),
    ("gaussian", ["--repeats", "0"], "--repeats"), ("gaussian", ["--seed", "-1"], "--seed"),
    ("gaussian", ["--max-iterations-ode", "-1"], "--max-iterations-ode"),
    ("maze_sweep", ["--workers", "0"], "--workers"), ("maze_sweep", ["--out", "{tmp}"], "--out"),
    ("maze", ["--threads", "0"], "--threads"), ("maze", ["--seed-batch", "0"], "--seed-batch"),
    ("maze", ["--merge", "{file}"], "--merge"), ("maze", ["--merge", "{tmp}/a.json", "--out", "{tmp}/b.json"], "--out"),
    ("maze", ["--only", "energy", "--plot", "{tmp}/p.png"], "--plot"),
    ("identify", ["suite", "--seed", "-1"], "--seed"), ("identify", ["digits", "--n-jobs", "0"], "--n-jobs"),
    ("identify", ["suite", "--max-expansion", "0.5"], "--max-expansion"),
    ("identify", ["digits", "--out", "{file}/x.json"], "--out"), ("identify", ["suite", "--checkpoint", "{file}"],
                                                                  "--checkpoint"),
    ("identify", ["difficulty"], "rows"), ("identify", ["difficulty", "{file}"], "file.json"),
    ("identify", ["deep-control", "--layer-probes", "0"], "--layer-probes"),
    ("identify", ["suite", "--suite", "deep", "--widen"], "--widen"),
    ("identify", ["deep-control", "--problem", "zzz"], "--problem"),
    ("identify", ["digits-cuts", "--seeds", "0", "1", "0"], "--seeds"),
    ("identify", ["difficulty", "{file}", "--out", "{file}"], "rows, --out"),
    ("vad_corpus", ["--systems", "energy,bogus"], "--systems"), ("vad_corpus", ["--real", "--minutes", "1"], "--minutes"),
    ("vad_music", ["--real", "{tmp}/none", "--train", "{tmp}", "--music", "{tmp}"], "--real"),
    ("vad_music", ["--real", "{tmp}", "--train", "{tmp}", "--music", "{tmp}"], "--train"),
    ("vad_rule_bound", ["--calibration", "{tmp}", "--real", "{tmp}"], "--calibration"),
    ("vad_rule_bound", ["--systems", "bin:{tmp}/none.pt", "--calibration", "{tmp}", "--real", "{tmp}"], "--systems"),
    ("vad_stream", ["--baseline", "{tmp}"], "--baseline"), ("vad_stream", ["--repeats", "0"], "--repeats"),
]


@pytest.mark.parametrize("name, argv, flag", BAD_FLAGS, ids=[f"{n}-{' '.join(a)}" for n, a, _ in BAD_FLAGS])
def test_benchmark_refuses_a_bad_flag_in_one_line(name, argv, flag, tmp_path):
    """A bad flag, path or file ends in one line naming it, exit status 2, before any work: these were tracebacks
    after parsing (some after every measurement: --out, --merge), or ran on with nonsense (--seeds 0 and --budget 0
    ran the defaults, --busy -1 no busy load, --only without the section --plot draws ignored it)."""
    file = tmp_path / "file.json"
    file.write_text("not JSON\n")
    env = dict(__import__("os").environ, PYTHONPATH=str(ROOT / "python"))
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{name}.py"),
                          *[a.format(tmp=tmp_path, file=file) for a in argv]],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and flag in run.stderr, run.stderr[-2000:]


def _script(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _swallowing_ctrl_c(result):
    """A run as the library's (ActorCritic.fit, neuroflow.train): Ctrl-C caught inside, what it had returned."""
    import os
    import signal
    import time

    def run(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)
        except KeyboardInterrupt:
            pass
        return result
    return run


def test_maze_benchmark_keeps_finished_sections_and_drops_a_half_run_one_at_ctrl_c(tmp_path, monkeypatch, capsys):
    """Ctrl-C in a section, which the library catches and returns half a run from: the benchmark went on and
    recorded it as finished (exit 0); now the finished sections are merged into --merge, the half-run one is not,
    and the exit status is 130."""
    maze = _script("maze")
    monkeypatch.setattr(maze, "bench_tmaze", lambda quick: {"finished": True})
    monkeypatch.setattr(maze, "bench_floor", _swallowing_ctrl_c({"half_run": True}))
    monkeypatch.setattr(maze, "bench_energy", lambda quick: pytest.fail("ran on after Ctrl-C"))
    merge = tmp_path / "maze.json"
    merge.write_text('{"earlier": 1}\n')
    assert maze.main(["--quick", "--only", "tmaze", "floor", "energy", "--merge", str(merge)]) == 130
    merged = json.loads(merge.read_text())
    assert merged["earlier"] == 1 and merged["tmaze"] == {"finished": True} and "watermaze_floor" not in merged
    assert "interrupted" in capsys.readouterr().err


def test_gaussian_benchmark_prints_finished_cases_and_drops_a_half_run_one_at_ctrl_c(tmp_path, monkeypatch, capsys):
    gaussian = _script("gaussian")
    done = {"method": "closed", "lgh_speedup": 20.0, "infinite_lgh_ms": 1.0, "finite_lgh_ms": 20.0,
            "infinite_lg_ms": 1.0, "finite_lg_ms": 2.0, "infinite_train": {"time_to_gnorm_s": 1.0},
            "finite_train": {"time_to_gnorm_s": 2.0}}
    calls = []

    def run_case(*args, **kwargs):
        calls.append(1)
        return done if len(calls) == 1 else _swallowing_ctrl_c({**done, "half_run": True})()

    monkeypatch.setattr(gaussian, "run_case", run_case)
    out = tmp_path / "g.json"
    assert gaussian.main(["--quick", "--out", str(out)]) == 130
    report = json.loads(capsys.readouterr().out)
    assert report["interrupted"] and report["cases"] == [done] and len(calls) == 2 and not out.exists()


def test_maze_sweep_benchmark_stops_at_ctrl_c_caught_inside_the_sweep(monkeypatch, capsys):
    """maze_sweep catches Ctrl-C and returns half its grid: the benchmark went on to start a Dask cluster and run
    the whole sweep again, then reported the half grid as a mismatch (exit 1); now it stops, exit 130."""
    import neuroflow.rl.sweep

    bench = _script("maze_sweep")
    monkeypatch.setattr(neuroflow.rl.sweep, "maze_sweep", _swallowing_ctrl_c(None))
    monkeypatch.setattr("distributed.LocalCluster", lambda *a, **k: pytest.fail("went on to the Dask sweep"))
    assert bench.main(["--quick"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_flow_vs_adam_benchmark_prints_the_finished_seeds_at_ctrl_c(monkeypatch, capsys, tmp_path):
    """Ctrl-C inside train, which returns what it had: the seed went on to Adam and, but for the script's own
    check, into the report; now the finished seeds' document is printed marked interrupted, --out is left
    unwritten, exit 130."""
    import dataclasses

    import neuroflow.flow.engine

    bench = _script("flow_vs_adam")
    real_train, real_bench, calls = neuroflow.flow.engine.train, bench.flow_vs_adam, []

    def train(*args, **kwargs):
        calls.append(1)
        r = real_train(*args, **kwargs)
        return r if len(calls) == 1 else dataclasses.replace(r, optim_stopped_by="interrupted")

    monkeypatch.setattr(neuroflow.flow.engine, "train", train)
    monkeypatch.setattr(bench, "flow_vs_adam", lambda seeds, **kw: real_bench(seeds, **{**kw, "n_samples": 200}))
    out = tmp_path / "f.json"
    assert bench.main(["--quick", "--seeds", "3", "--adam-steps", "20", "--out", str(out)]) == 130
    captured = capsys.readouterr()
    report, err = json.loads(captured.out), captured.err.splitlines()
    assert report["interrupted"] and [r["seed"] for r in report["runs"]] == [0] and len(calls) == 2
    assert report["adam_budget"] == "steps" and report["runs"][0]["adam_steps"] == 20
    assert json.loads(err[0]) == report["runs"][0] and err[1].startswith("interrupted") and len(err) == 2
    assert not out.exists()


def test_gradients_benchmark_ends_ctrl_c_in_one_line_below_the_finished_points(monkeypatch, capsys, tmp_path):
    bench = _script("gradients")

    def interrupted(quick, repeats, on_point):
        on_point({"hidden": [10], "n_samples": 100, "gradient_speedup": 2.0})
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "gradient_benchmark", interrupted)
    assert bench.main(["--quick", "--out", str(tmp_path / "g.json")]) == 130
    err = capsys.readouterr().err.splitlines()
    assert json.loads(err[0])["n_samples"] == 100 and err[1].startswith("interrupted") and len(err) == 2
    assert not (tmp_path / "g.json").exists()


def _cuts_row(seed):
    return {"seed": seed, "problem": f"digits-seed{seed}", "first_layer_clusters": 20, "student_rel_losses": [0.1],
            "rules": {"most": {"clusters": 20, "max_angle_deg": 1.5}}}


def test_identify_digits_cuts_keeps_finished_seeds_at_ctrl_c_and_resumes_them(tmp_path, monkeypatch, capsys):
    """digits-cuts wrote its rows only after the last seed: Ctrl-C (or a crash) in seed 1 lost seed 0's. Now each
    finished row is kept in --checkpoint as it finishes, Ctrl-C exits 130 saying so (--out unwritten), a rerun
    takes the kept rows and computes the rest, and a rerun with other settings is refused in one line naming them."""
    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    calls = []

    def first_run(args, beta, seed):
        calls.append(seed)
        return _cuts_row(seed) if seed == 0 else _swallowing_ctrl_c(_cuts_row(seed))()

    monkeypatch.setattr(bench, "_cuts_row", first_run)
    ck, out = tmp_path / "ck", tmp_path / "cuts.json"
    argv = ["digits-cuts", "--quick", "--seeds", "0", "1", "2", "--checkpoint", str(ck), "--out", str(out)]
    assert bench.main(argv) == 130
    captured = capsys.readouterr()
    assert calls == [0, 1] and not out.exists()
    assert json.loads(captured.out)["rows"] == [_cuts_row(0)] and json.loads(captured.out)["interrupted"]
    line = captured.err.strip().splitlines()[-1]
    assert line.startswith("interrupted") and "(0)" in line and str(ck / bench.CUTS_ROWS) in line

    def second_run(args, beta, seed):
        assert seed != 0, "seed 0 computed again"
        calls.append(seed)
        return _cuts_row(seed)

    monkeypatch.setattr(bench, "_cuts_row", second_run)
    assert bench.main(argv) == 0
    assert calls == [0, 1, 1, 2]
    assert json.loads(out.read_text())["rows"] == [_cuts_row(s) for s in (0, 1, 2)]
    capsys.readouterr()
    monkeypatch.setattr(bench, "_cuts_row", lambda *a: pytest.fail("ran with other settings"))
    assert bench.main([*argv, "--layer-probes", "0.25"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "layer_probes 0.5 there, 0.25 now" in err and "--checkpoint" in err


def test_identify_digits_control_trains_only_the_students_not_kept(tmp_path):
    """digits_control's students, 4 to 10 minutes each, were all lost at Ctrl-C or a crash; now each is handed on
    as it finishes, and those given back as done are not trained again: the result equals one uninterrupted run's
    (timings apart)."""
    pytest.importorskip("torch")
    from neuroflow.identify.problems import Problem, make_deep_teacher

    bench = _script("identify")
    prob = Problem("tiny", make_deep_teacher(3, [4, 3], "tanh", seed=1), 300, 0)
    cfg = {"torch_options": {"adam_steps": 20, "batch_size": 64, "max_iter": 5}, "layer_probes": 0.5}

    def untimed(out):
        return {k: v if k != "students" else [{**s, "time_s": 0} for s in v] for k, v in out.items() if k != "time_s"}

    whole = bench.digits_control(prob, cfg, widths=[3, 4, 5], seed=2)
    kept = {}

    def interrupted_after_two(i, student):
        kept[i] = json.loads(json.dumps(student, default=lambda a: a.tolist()))   # as the file keeps it
        if len(kept) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bench.digits_control(prob, cfg, widths=[3, 4, 5], seed=2, on_student=interrupted_after_two)
    trained = []
    resumed = bench.digits_control(prob, cfg, widths=[3, 4, 5], seed=2, done=dict(kept),
                                   on_student=lambda i, s: trained.append(i))
    assert sorted(kept) == [0, 1] and trained == [2]
    assert untimed(resumed) == untimed(whole)


def test_identify_digits_control_keeps_finished_students_in_the_checkpoint(tmp_path, monkeypatch, capsys):
    """`digits-control --checkpoint DIR`: Ctrl-C exits 130 in one line saying how many students are kept (--out
    unwritten); the rerun hands them to digits_control as done; other --widths are refused in one line naming them."""
    import types

    import neuroflow.identify.problems as P

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    teacher = P.make_deep_teacher(3, [4, 3], "tanh", seed=1)
    monkeypatch.setattr(P, "digits_problem", lambda **k: types.SimpleNamespace(teacher=teacher))
    student = {"width": 5, "seed": 0, "loss": 0.5, "stopped": "steps", "steps": [1, 2], "found_mask": [True, False],
               "min_angle_deg": [1.0, 9.0], "time_s": 1.0}
    seen = []

    def first(prob, cfg, *, widths, seed, n_jobs, done, on_student):
        seen.append(dict(done))
        on_student(0, student)
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "digits_control", first)
    out = tmp_path / "c.json"
    argv = ["digits-control", "--quick", "--widths", "5", "6", "--checkpoint", str(tmp_path / "ck"), "--out", str(out)]
    assert bench.main(argv) == 130
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1].startswith("interrupted: 1 of 2 students finished")
    finished = json.loads(captured.out)["finished_students"]
    assert finished == [{"index": 0, "teacher": bench._teacher_digest(teacher), **student}] and not out.exists()
    monkeypatch.setattr(bench, "digits_control", lambda prob, cfg, **k: seen.append(k["done"]) or {"students": []})
    assert bench.main(argv) == 0 and seen == [{}, {0: student}] and out.exists()
    capsys.readouterr()
    assert bench.main([*argv[:3], "7", *argv[4:]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "widths [5.0, 6.0] there, [7.0, 6.0] now" in err, err


def test_identify_deep_control_keeps_finished_students_and_resumes_them(tmp_path, monkeypatch, capsys):
    """deep-control's students (12 minutes a run) were all lost at Ctrl-C or a crash; now --checkpoint keeps each as
    it finishes, Ctrl-C exits 130 in one line saying how many, and the rerun trains only the rest, with the numbers of
    an uninterrupted run."""
    pytest.importorskip("torch")
    from neuroflow.identify.checkpoint import StudentCheckpoint

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    argv = ["deep-control", "--quick", "--n-students", "2", "--n-jobs", "1"]

    def runs(text):
        return [{k: v for k, v in r.items() if k != "time_s"} for r in json.loads(text)["runs"]]

    assert bench.main(argv) == 0
    whole = runs(capsys.readouterr().out)
    real, added = StudentCheckpoint.add, []

    def add(self, fit):
        real(self, fit)
        added.append(fit.index)
        if len(added) == 3:      # both students on the given probes, the first on the designed ones
            raise KeyboardInterrupt

    monkeypatch.setattr(StudentCheckpoint, "add", add)
    resumable = [*argv, "--checkpoint", str(tmp_path / "ck")]
    assert bench.main(resumable) == 130
    captured = capsys.readouterr()
    assert "given probes: 2 of 2, designed: 1 of 2" in captured.err.strip().splitlines()[-1]
    assert runs(captured.out) == whole[:1]
    added.clear()
    assert bench.main(resumable) == 0
    assert added == [1] and runs(capsys.readouterr().out) == whole


def test_identify_benchmark_ends_ctrl_c_in_one_line_saying_what_is_kept(tmp_path, monkeypatch, capsys):
    """Ctrl-C in `suite` or `digits` ended in a traceback; now in one line, exit 130: the suite's finished rows
    printed (and in --out), the digits run's students in --checkpoint."""
    import neuroflow.identify.bench

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)

    def one_row_then_ctrl_c(probs, *, rows, **kwargs):
        rows.append({"name": probs[0].name, "error": None, "traceback": "..."})
        raise KeyboardInterrupt

    monkeypatch.setattr(neuroflow.identify.bench, "run_suite", one_row_then_ctrl_c)
    out = tmp_path / "rows.jsonl"
    assert bench.main(["suite", "--quick", "--out", str(out)]) == 130
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rows"][0]["error"] is None and "traceback" not in json.loads(captured.out)["rows"][0]
    assert captured.err.count("\n") == 1 and captured.err.startswith("interrupted: 1 of ") and str(out) in captured.err
    assert bench.main(["suite", "--quick", "--checkpoint", str(tmp_path / "students")]) == 130
    err = capsys.readouterr().err   # the students a rerun takes were left unsaid: "not kept for a rerun (no --out)"
    assert err.count("\n") == 1 and f"the finished students are kept in {tmp_path / 'students'}" in err

    def ctrl_c(args, beta):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "_digits", ctrl_c)
    assert bench.main(["digits", "--quick", "--checkpoint", str(tmp_path / "ck")]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"students are kept in {tmp_path / 'ck'}" in err


def test_identify_lm_keeps_finished_students_at_ctrl_c_and_resumes_them(tmp_path, monkeypatch, capsys):
    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)

    def row(s):
        return {"student": s, "torch_rel_loss": 1e-3, "lm_rel_loss": 1e-9, "lm_stopped_by": "steps"}

    def first(s, *args):
        if s == 1:
            raise KeyboardInterrupt
        return row(s)

    monkeypatch.setattr(bench, "_lm_student", first)
    out = tmp_path / "lm.json"
    argv = ["lm", "--checkpoint", str(tmp_path / "ck"), "--out", str(out)]
    assert bench.main(argv) == 130
    captured = capsys.readouterr()
    assert json.loads(captured.out)["students"] == [row(0)] and not out.exists()
    assert captured.err.strip().splitlines()[-1].startswith("interrupted: 1 of 2 students finished")
    monkeypatch.setattr(bench, "_lm_student", lambda s, *a: row(s) if s == 1 else pytest.fail("student 0 again"))
    assert bench.main(argv) == 0 and json.loads(out.read_text())["students"] == [row(0), row(1)]


def test_identify_lm_and_budgets_do_not_resume_parts_timed_with_other_threads(tmp_path, monkeypatch, capsys):
    """lm's rows (seconds of each method) and budgets' calls (steps within CPU-second caps, which threads add up)
    were resumed under another --threads and reported as one result, measured partly with one thread count and
    partly with another: such a file is refused now, naming --threads."""
    import time

    import neuroflow.flow  # noqa: F401  (the engine modules _budgets finds are loaded now)
    import neuroflow.identify.bench  # noqa: F401
    import neuroflow.identify.cli  # noqa: F401
    import neuroflow.identify.estimator  # noqa: F401

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    monkeypatch.setattr(bench, "_lm_student", lambda s, *a: {"student": s, "lm_rel_loss": 1e-9})
    argv = ["lm", "--quick", "--checkpoint", str(tmp_path / "ck")]
    assert bench.main(argv + ["--threads", "1"]) == 0 and (tmp_path / "ck" / "lm_students.json").exists()
    capsys.readouterr()
    assert bench.main(argv + ["--threads", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(r"threads 1(\.0)? there, 2(\.0)? now", err) and "--threads" in err
    assert bench.main(argv + ["--threads", "1"]) == 0

    for name, module in list(sys.modules.items()):   # _budgets points the engines' clocks at CPU time: put back after
        if name.startswith("neuroflow.flow") and getattr(module, "time", None) is time:
            monkeypatch.setattr(module, "time", time)
    seen = []

    def entered(path, what, settings, *rest):
        seen.append(settings)
        raise ValueError("stop")

    monkeypatch.setattr(bench._KeptRows, "entered", staticmethod(entered))
    assert bench.main(["budgets", "--quick", "--threads", "3", "--checkpoint", str(tmp_path / "ck")]) == 2
    assert seen[0]["threads"] == 3
    monkeypatch.undo()
    assert all(getattr(m, "time", time) is time for n, m in list(sys.modules.items()) if n.startswith("neuroflow.flow"))


def test_identify_budgets_keeps_finished_problems_at_ctrl_c_and_resumes_them(tmp_path, monkeypatch, capsys):
    import time
    import types

    import neuroflow.flow as flow
    import neuroflow.identify.bench
    import neuroflow.identify.cli
    import neuroflow.identify.estimator  # noqa: F401  (the engine modules _budgets finds are loaded now)

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    for name, module in list(sys.modules.items()):   # _budgets points the engines' clocks at CPU time: put back after
        if name.startswith("neuroflow.flow") and getattr(module, "time", None) is time:
            monkeypatch.setattr(module, "time", time)
    monkeypatch.setattr(flow, "train", lambda *a, **k: types.SimpleNamespace(
        method_optim="lbfgs", ode_iterations=10, optim_iterations=5, ode_stopped_by="maxtime",
        optim_stopped_by="maxiterations"))
    ran = []

    def run_problem(p, seed, settings):
        ran.append(p.name)
        if len(ran) == 2:
            raise KeyboardInterrupt
        flow.train(None, maxtime_ode=1.5, maxtime_optim=2.5)

    monkeypatch.setattr(neuroflow.identify.bench, "run_problem", run_problem)
    out = tmp_path / "b.json"
    argv = ["budgets", "--quick", "--checkpoint", str(tmp_path / "ck"), "--out", str(out)]
    assert bench.main(argv) == 130
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["calls"]) == 1 and not out.exists()
    assert captured.err.strip().splitlines()[-1].startswith("interrupted: 1 of 3 problems finished")
    assert bench.main(argv) == 0
    assert ran[2:] == ran[1:2] + [ran[-1]] and len(ran) == 4     # the first problem is not run again
    assert len(json.loads(out.read_text())["calls"]) == 3
    kept = json.loads((tmp_path / "ck" / "budgets_problems.json").read_text())   # a part of no problem of this run
    kept["parts"].append({**kept["parts"][0], "index": 99})
    (tmp_path / "ck" / "budgets_problems.json").write_text(json.dumps(kept))
    assert bench.main(argv) == 0 and len(json.loads(out.read_text())["calls"]) == 3
    monkeypatch.undo()
    assert all(getattr(m, "time", time) is time for n, m in list(sys.modules.items()) if n.startswith("neuroflow.flow"))


def test_vad_benchmark_ctrl_c_while_a_part_is_written_does_not_call_it_kept(tmp_path, monkeypatch):
    """A part was counted as kept before its progress file was written: Ctrl-C during the write (the file left as it
    was) ended saying the part was kept, and the file held the part only when it had been written."""
    bench = _vad_bench()
    path = tmp_path / "vad.json.progress"
    progress = bench.Progress(path, {"quick": True})
    progress("real_speech", "energy", lambda: {"mean_HTER": 0.25})
    write = bench.write_text_atomic

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "write_text_atomic", interrupted)
    with pytest.raises(KeyboardInterrupt):
        progress("real_speech", "bin", lambda: {"mean_HTER": 0.5})
    assert progress.interrupted() == f"interrupted: kept in {path}: real_speech (energy); the same command resumes " \
                                     "from there"
    assert json.loads(path.read_text())["parts"] == {"real_speech": {"energy": {"mean_HTER": 0.25}}}
    monkeypatch.setattr(bench, "write_text_atomic", write)
    assert progress("real_speech", "bin", lambda: {"mean_HTER": 0.5}) == {"mean_HTER": 0.5}
    assert progress.summary() == "real_speech (energy, bin)"


def test_vad_benchmark_names_a_folder_where_its_progress_file_goes(tmp_path):
    """A folder at OUT.progress: --fresh, which the refusal without it suggested, failed with "[Errno 21] Is a
    directory" alone; both now say what the path is and what to do."""
    bench = _vad_bench()
    path = tmp_path / "vad.json.progress"
    path.mkdir()
    for fresh in (False, True):
        with pytest.raises(ValueError) as exc:
            bench.Progress(path, {}).read(fresh=fresh)
        assert str(exc.value) == f"{path}: is a folder, where this run keeps its finished parts; remove it or give " \
                                 "another --out"
    assert path.is_dir()


def test_vad_benchmark_corpus_identity_follows_the_scene_files(tmp_path):
    """The corpora's identity was their manifests alone: a labels file corrected by hand (the corpus reads it as it
    is) resumed parts scored with the old labels beside parts scored with the new, and a WAV changed after it was
    written failed in the middle of a section with a traceback. Now the labels' bytes count, and such a WAV is one
    ValueError naming it before any part is scored."""
    from neuroflow.vad.corpus import generate_corpus

    bench = _vad_bench()
    root = tmp_path / "syn"
    generate_corpus(root, minutes=0.05, split="test", seed=4, durations=(3.0,), snrs=(10.0,), noises=("white",),
                    progress=False)
    before = bench.corpus_identity(root)
    assert bench.corpus_identity(root) == before
    labels = sorted(root.glob("*.labels.npy"))[0]
    values = np.load(labels)
    values[:10] = 1 - values[:10]
    np.save(labels, values)
    assert bench.corpus_identity(root) != before
    wav = sorted(root.glob("*.wav"))[0]
    data = bytearray(wav.read_bytes())
    data[-2:] = b"\x11\x22" if data[-2:] != b"\x11\x22" else b"\x33\x44"
    wav.write_bytes(bytes(data))
    with pytest.raises(ValueError) as exc:
        bench.corpus_identity(root)
    assert str(exc.value).startswith(f"{wav}: differs from its corpus manifest") and "\n" not in str(exc.value)


def test_vad_benchmark_names_a_scene_file_missing_from_a_corpus_before_any_part(tmp_path):
    """A scene file deleted from a corpus (a set in $TMPDIR, which the script then takes as whole) failed with a
    traceback in the section that loaded it, every run; now one ValueError naming it before any part is scored."""
    from neuroflow.vad.corpus import generate_corpus

    bench = _vad_bench()
    root = tmp_path / "syn"
    generate_corpus(root, minutes=0.05, split="test", seed=4, durations=(3.0,), snrs=(10.0,), noises=("white",),
                    progress=False)
    wav = sorted(root.glob("*.wav"))[0]
    wav.unlink()
    with pytest.raises(ValueError) as exc:
        bench.corpus_identity(root)
    assert str(exc.value) == f"{wav}: listed in its corpus manifest but missing; make the corpus again (a set this " \
                             f"script built in $TMPDIR: delete {root})"


def test_vad_benchmark_refuses_parts_scored_by_other_code(tmp_path, monkeypatch):
    """Nothing said which code scored the kept parts: after a `git pull` (another post-processing, another section)
    or with the progress file of an earlier version of the script, a resumed run printed one result of two versions.
    The code of the script and of neuroflow.vad is now a setting, compared before any corpus is built."""
    import neuroflow.vad

    bench = _vad_bench()
    code = bench.code_identity()
    assert len(code) == 16 and bench.code_identity() == code
    path = tmp_path / "vad.json.progress"
    done = bench.Progress(path, {"quick": True, "code": code})
    done("real_speech", "energy", lambda: {"mean_HTER": 0.25})
    package = tmp_path / "vad"
    package.mkdir()
    (package / "__init__.py").write_text("# another version\n")
    monkeypatch.setattr(neuroflow.vad, "__file__", str(package / "__init__.py"))
    other = bench.code_identity()
    assert other != code
    with pytest.raises(ValueError) as exc:
        bench.Progress(path, {"quick": True, "code": other}).read()
    message = str(exc.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and "--fresh" in message
    assert f"the code (benchmarks/vad.py and neuroflow.vad) '{code}' there, '{other}' now" in message
    earlier = json.loads(path.read_text())  # an earlier version's file: no code recorded
    del earlier["settings"]["code"]
    earlier["sha256"] = bench._checksum(earlier["settings"], earlier["parts"])
    path.write_text(json.dumps(earlier))
    with pytest.raises(ValueError, match="neuroflow.vad[)] unset there"):
        bench.Progress(path, {"quick": True, "code": code}).read()


@pytest.mark.parametrize("edit", [lambda parts: parts["real_speech"].update(energy=5),  # another shape: a traceback
                                  lambda parts: parts["real_speech"]["energy"].update(mean_HTER=0.1),  # silently
                                  lambda parts: parts.update(synthetic_group_B={"energy": {}})])
def test_vad_benchmark_refuses_a_progress_file_edited_by_hand(tmp_path, edit):
    """The kept parts were taken as they read: one edited into another shape failed at the end of the resumed run with
    a traceback, a changed number was printed as measured. The file now carries a checksum, and one that does not
    match is refused in one line; NaN and inf written by the run read back as written."""
    bench = _vad_bench()
    path = tmp_path / "vad.json.progress"
    done = bench.Progress(path, {"quick": True})
    done("real_speech", "energy", lambda: {"mean_HTER": 0.25, "nan": float("nan"), "inf": float("inf")})
    resumed = bench.Progress(path, {"quick": True})
    resumed.read()
    resumed.settle({})
    assert resumed.summary() == "real_speech (energy)"
    saved = json.loads(path.read_text())
    edit(saved["parts"])
    path.write_text(json.dumps(saved))
    with pytest.raises(ValueError) as exc:
        bench.Progress(path, {"quick": True}).read()
    assert str(exc.value).startswith(f"{path}: its contents do not match") and "--fresh" in str(exc.value)


def test_vad_benchmark_does_not_skip_real_speech_that_another_run_is_building(tmp_path, monkeypatch):
    """Every error of the held-out set's build was taken for a missing package and the section skipped: two runs at
    once (two --out), the second finding the set in $TMPDIR locked by the first's build, or a set of other settings
    left there by an earlier version, printed a result without real speech, exit status 0. Those are now raised
    (one line naming the folder); only a missing source package is a skipped section."""
    import neuroflow.vad.realspeech as realspeech
    from neuroflow.vad.corpus_store import CorpusLocked
    from neuroflow.vad.sources import SourceMissing

    bench = _vad_bench()

    def build(exc):
        def benchmark_set(root, **kw):
            raise exc
        return benchmark_set

    for exc in (CorpusLocked(f"out_dir: {tmp_path} is being written by another corpus run (pid 1)"),
                ValueError(f"out_dir: {tmp_path}/speech/corpus.json holds a corpus with other settings")):
        monkeypatch.setattr(realspeech, "benchmark_set", build(exc))
        with pytest.raises(type(exc)):
            bench._build_real(tmp_path, True)
    monkeypatch.setattr(realspeech, "benchmark_set", build(SourceMissing("no real speaker is installed")))
    assert bench._build_real(tmp_path, True) == "skipped: no real speaker is installed"


def test_vad_stream_benchmark_names_a_baseline_that_is_no_working_neuroflow_in_one_line(tmp_path):
    """--baseline at a folder whose neuroflow cannot be measured (empty, broken, too old to stream) ended in the
    child's traceback, ~2000 characters of it; now one line naming --baseline and the child's last line."""
    (tmp_path / "neuroflow").mkdir()
    (tmp_path / "neuroflow" / "__init__.py").write_text("")
    env = dict(__import__("os").environ, PYTHONPATH=str(ROOT / "python"))
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "vad_stream.py"), "--quick", "--repeats", "1",
                          "--baseline", str(tmp_path)], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert f"argument --baseline: {tmp_path}: measuring its neuroflow package failed (ModuleNotFoundError: No " \
           "module named 'neuroflow.vad')" in run.stderr and not run.stdout


def test_vad_stream_benchmark_ctrl_c_is_one_line(monkeypatch, capsys):
    """Ctrl-C ended in a traceback; now exit status 130 and one line saying nothing is kept."""
    bench = _script("vad_stream")

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "measure", interrupted)
    monkeypatch.setattr(sys, "argv", ["vad_stream.py", "--quick"])
    assert bench.main() == 130
    captured = capsys.readouterr()
    assert captured.err == "interrupted: nothing is kept (the figures are printed at the end); rerun the same " \
                           "command\n" and not captured.out


def test_vad_benchmark_ctrl_c_while_the_result_is_written_is_one_line(tmp_path, monkeypatch, capsys):
    """Ctrl-C while the result was printed and written, after every part had finished, ended in a traceback; it is
    now exit status 130 and the line saying what is kept (all of it: the same command prints the result)."""
    bench = _vad_bench()
    out = tmp_path / "vad.json"
    progress = bench.Progress(bench.progress_path(out), {"quick": True})

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "print_json", interrupted)
    assert bench.finish(progress, out, lambda: {"parts": progress("real_speech", "energy", lambda: 0.25)}) == 130
    assert capsys.readouterr().err == f"interrupted: kept in {bench.progress_path(out)}: real_speech (energy); the " \
                                      "same command resumes from there\n"
    assert bench.progress_path(out).is_file() and not out.exists()


def test_vad_benchmark_refusal_names_the_system_whose_model_changed(tmp_path):
    """A retrained model (or an upgraded baseline) was refused as "systems {'energy': 'EnergyVAD', 'webrtc:3': '...
    there, {'energy': 'EnergyVAD', 'webrtc:3': '... now": the table cut to 40 characters, which system differed
    unsaid. Each differing entry is now named with both values."""
    bench = _vad_bench()
    path = tmp_path / "vad.json.progress"
    systems = {"energy": "EnergyVAD", "webrtc:3": "WebRTCVAD webrtcvad-wheels 2.0.14",
               "silero": "SileroVAD silero-vad 5.1.2", "snu": "SpikingVADSystem 0123456789abcdef",
               "bin": "SpikingVADSystem 0123456789abcdef"}
    done = bench.Progress(path, {"quick": True})
    done.settle({"systems": systems})
    done("real_speech", "energy", lambda: 0.25)
    for now, named in [({**systems, "bin": "SpikingVADSystem ffff456789abcdef"},
                        "systems[bin] 'SpikingVADSystem 0123456789abcdef' there, 'SpikingVADSystem ffff456789abcdef' "
                        "now)"),
                       ({k: v for k, v in systems.items() if k != "silero"},
                        "systems[silero] 'SileroVAD silero-vad 5.1.2' there, unset now)")]:
        again = bench.Progress(path, {"quick": True})
        again.read()
        with pytest.raises(ValueError) as exc:
            again.settle({"systems": now})
        assert named in str(exc.value) and "energy" not in str(exc.value), str(exc.value)


def test_vad_benchmark_names_a_folder_that_holds_no_corpus_before_any_part(tmp_path):
    """--synthetic (or --real) at a folder of something else was met by the section that loaded it, with a traceback
    after the sections before it had run; the corpus identity now names it in one line before any part is scored."""
    bench = _vad_bench()
    (tmp_path / "notes.txt").write_text("no corpus here")
    with pytest.raises(ValueError) as exc:
        bench.corpus_identity(tmp_path)
    assert str(exc.value) == f"{tmp_path}: no corpus manifest (corpus.json) in it or its folders; expected a corpus " \
                             "folder (neuroflow vad corpus)"


def test_vad_benchmark_refuses_a_symbolic_link_at_its_progress_file(tmp_path):
    """A link at OUT.progress had the parts written where it pointed: through a dangling link into a new file there,
    left behind when the run ended, into a read-only place with a traceback after the first part's work. It is
    refused before any work, --fresh included."""
    bench = _vad_bench()
    path = tmp_path / "vad.json.progress"
    elsewhere = tmp_path / "elsewhere" / "parts.json"
    path.symlink_to(elsewhere)
    for fresh in (False, True):
        with pytest.raises(ValueError) as exc:
            bench.Progress(path, {}).read(fresh=fresh)
        assert str(exc.value) == f"{path}: is a symbolic link, where this run keeps its finished parts in a file of " \
                                 "its own; remove it or give another --out"
    assert path.is_symlink() and not elsewhere.exists()


def test_vad_benchmark_takes_a_real_set_of_another_draw_as_it_is(tmp_path, monkeypatch):
    """--real DIR went through the check of the set the script builds: a set of another size (a --quick one without
    --quick, a larger draw) was handed to the build, which refused a folder of other settings, and the run printed its
    result without real speech ("skipped"), exit status 0. --real is now taken as it is; the draw in $TMPDIR is still
    built or finished."""
    import argparse

    import neuroflow.vad.realspeech as realspeech

    bench = _vad_bench()
    calls = []
    monkeypatch.setattr(realspeech, "benchmark_set", lambda root, **kw: calls.append(root))
    mine = tmp_path / "mine"
    for name in bench.REAL_PARTS:  # one scene each: no draw the script plans
        (mine / name).mkdir(parents=True)
        (mine / name / "corpus.json").write_text(json.dumps({"scenes": [{}]}))
    args = argparse.Namespace(real=mine, quick=False, real_seed=0, real_scenes=None)
    assert bench._real_set(args, tmp_path) == mine and not calls
    args = argparse.Namespace(real=None, quick=True, real_seed=0, real_scenes=None)
    built = tmp_path / "neuroflow_vad_real_benchmark_quick_seed0"
    assert bench._real_set(args, tmp_path) == built and calls == [built]


def test_identify_digits_control_resumes_a_kept_student_whose_loss_is_not_finite(tmp_path, monkeypatch, capsys):
    """A student whose L-BFGS ended non-finite has a NaN (or infinite) loss, which the kept-students file holds as
    null (or "inf"): the rerun took it as done and ended in "TypeError: unsupported operand type(s) for /:
    'NoneType' and 'float'". It now resumes to the JSON of an uninterrupted run (the NaN printed as null)."""
    import neuroflow.identify.problems as P
    from neuroflow.identify.problems import Problem, make_deep_teacher

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    prob = Problem("tiny", make_deep_teacher(3, [4, 3], "tanh", seed=1), 300, 0)
    monkeypatch.setattr(P, "digits_problem", lambda **k: prob)

    def student(i, width, X, Y, first, second, activation, seed, torch_options, match_deg):
        loss = [float("nan"), float("inf"), 0.25][i]
        return {"width": int(width), "seed": seed + i, "loss": loss, "stopped": "nonfinite", "steps": [3, 1],
                "found_mask": np.array([i == 2, False, True]), "min_angle_deg": [1.0, 9.0, 2.0], "time_s": 0.5}

    monkeypatch.setattr(bench, "_control_student", student)
    argv = ["digits-control", "--quick", "--widths", "3", "4", "5", "--n-jobs", "1"]
    assert bench.main(argv) == 0
    whole = json.loads(capsys.readouterr().out)
    assert [s["rel_loss"] for s in whole["students"]][:2] == [None, "inf"]

    def cut_after_two(i, *args):
        if i == 2:
            raise KeyboardInterrupt
        return student(i, *args)

    monkeypatch.setattr(bench, "_control_student", cut_after_two)
    resumable = [*argv, "--checkpoint", str(tmp_path / "ck")]
    assert bench.main(resumable) == 130
    capsys.readouterr()
    monkeypatch.setattr(bench, "_control_student", lambda i, *a: student(i, *a) if i == 2 else pytest.fail("again"))
    assert bench.main(resumable) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in resumed.items() if k not in ("env", "time_s")} == \
        {k: v for k, v in whole.items() if k not in ("env", "time_s")}


def test_identify_kept_rows_count_a_part_only_once_it_is_written(tmp_path, monkeypatch, capsys):
    """Ctrl-C while a finished student's row was being written: the row was already counted and printed as "kept in
    DIR" though the file did not hold it (the rerun computed it again). Now it counts once the file holds it."""
    import neuroflow._utils

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    monkeypatch.setattr(bench, "_lm_student", lambda s, *a: {"student": s, "lm_rel_loss": 1e-9})
    real = neuroflow._utils.write_text_atomic

    def cut_mid_write(path, text):
        if '"student": 1' in text:
            raise KeyboardInterrupt
        return real(path, text)

    monkeypatch.setattr(neuroflow._utils, "write_text_atomic", cut_mid_write)
    ck = tmp_path / "ck"
    assert bench.main(["lm", "--checkpoint", str(ck)]) == 130
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1].startswith("interrupted: 1 of 2 students finished")
    assert json.loads(captured.out)["students"] == [{"student": 0, "lm_rel_loss": 1e-9}]
    assert [p["student"] for p in json.loads((ck / "lm_students.json").read_text())["parts"]] == [0]


def test_identify_deep_control_refuses_an_unusable_checkpoint_in_one_line_before_any_student(tmp_path, monkeypatch, capsys):
    """deep-control --checkpoint DIR: a file where its folder goes (FileExistsError), a second run into it (the lock's
    ValueError) and a folder where the designed probes' student file goes each ended in a traceback, the last after
    the given probes' students had trained. Each is now refused in one line before any student trains."""
    import neuroflow.identify.checkpoint as C
    import neuroflow.identify.students
    from neuroflow._utils import lock_beside
    from neuroflow.identify.problems import deep_suite

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    monkeypatch.setattr(neuroflow.identify.students, "train_students", lambda *a, **k: pytest.fail("trained"))
    name = next(p.name for p in deep_suite(0) if p.name.startswith("d14"))
    argv = ["deep-control", "--quick", "--n-students", "1", "--n-jobs", "1", "--checkpoint"]
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / f"deep_control_{name}").write_text("")
    assert bench.main([*argv, str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--checkpoint: " in err and "is a file; expected a folder" in err
    (tmp_path / "b").mkdir()
    with lock_beside(tmp_path / "b" / f"deep_control_{name}", "held"):
        assert bench.main([*argv, str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "being written by another deep-control run" in err
    real, made = C.StudentCheckpoint.__init__, []

    def designed_file_is_a_folder(self, folder, layer, key, n_params=None):
        made.append(key)
        if len(made) == 2:
            raise ValueError(f"checkpoint: {folder}/x.npz is a folder (or another non-file); expected this stage's "
                             "checkpoint file there")
        real(self, folder, layer, key, n_params)

    monkeypatch.setattr(C.StudentCheckpoint, "__init__", designed_file_is_a_folder)
    assert bench.main([*argv, str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "x.npz is a folder" in err and len(made) == 2


def test_identify_digits_cuts_refuses_a_file_where_a_seed_s_students_go_before_any_seed(tmp_path, monkeypatch, capsys):
    """digits-cuts keeps each seed's students in DIR/<problem>: a file there ended in a traceback ("ValueError:
    checkpoint: ...: is a file") when that seed's turn came, after the seeds before it had run. It is now refused in
    one line before any seed runs."""
    from neuroflow.identify.problems import DIGITS_NAME

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    monkeypatch.setattr(bench, "_cuts_row", lambda *a: pytest.fail("a seed ran"))
    (tmp_path / DIGITS_NAME.format(seed=1)).write_text("")
    assert bench.main(["digits-cuts", "--quick", "--seeds", "0", "1", "--checkpoint", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--checkpoint: " in err and "seed1: is a file; expected a folder" in err


def test_identify_ctrl_c_before_a_resumable_subcommand_keeps_anything_names_its_checkpoint(tmp_path, monkeypatch, capsys):
    """Ctrl-C while budgets built its problems (or deep-control its suite, digits-control its teacher) ended in
    "nothing is kept (this subcommand writes its result only when it finishes)", though what the runs before had kept
    in --checkpoint stays there and a rerun resumes from it."""
    import time

    import neuroflow.flow as flow
    import neuroflow.identify.estimator  # noqa: F401  (the engine modules _budgets finds are loaded now)
    import neuroflow.identify.problems as P

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    for name, module in list(sys.modules.items()):   # _budgets points the engines' clocks at CPU time: put back after
        if name.startswith("neuroflow.flow") and getattr(module, "time", None) is time:
            monkeypatch.setattr(module, "time", time)
    monkeypatch.setattr(flow, "train", flow.train)

    def ctrl_c(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(P, "paper_suite", ctrl_c)
    assert bench.main(["budgets", "--quick", "--checkpoint", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the finished problems are kept in {tmp_path}" in err
    monkeypatch.setattr(P, "deep_suite", ctrl_c)
    assert bench.main(["deep-control", "--quick"]) == 130
    assert "the finished students are not kept (no --checkpoint)" in capsys.readouterr().err


def test_identify_kept_rows_in_a_folder_that_cannot_be_written_end_in_one_line(tmp_path, monkeypatch, capsys):
    """--checkpoint DIR that cannot be written when the run starts (made read-only after the flags were checked; as
    root nothing is read-only, so the lock's PermissionError is stood in for): a traceback, now one line."""
    import neuroflow._utils

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    monkeypatch.setattr(bench, "_lm_student", lambda *a: pytest.fail("ran"))

    def read_only(path, busy):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(neuroflow._utils, "lock_beside", read_only)
    assert bench.main(["lm", "--checkpoint", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--checkpoint: {tmp_path}: cannot keep identify-lm students there" in err
    assert "Permission denied" in err


def test_identify_digits_control_refuses_students_kept_of_another_teacher(tmp_path, monkeypatch, capsys):
    """digits-control trains its teacher anew each run (torch): a rerun whose teacher came out otherwise (another
    torch or machine) took the kept students of the teacher before as its own and counted their found
    neurons with its own. The kept students now carry their teacher's digest, and those of another are refused in
    one line before any student trains."""
    import neuroflow.identify.problems as P
    from neuroflow.identify.problems import Problem, make_deep_teacher

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)
    teachers = [make_deep_teacher(3, [4, 3], "tanh", seed=1)]
    monkeypatch.setattr(P, "digits_problem", lambda **k: Problem("tiny", teachers[-1], 300, 0))

    def student(i, width, X, Y, first, second, activation, seed, torch_options, match_deg):
        if i == 1:
            raise KeyboardInterrupt
        return {"width": int(width), "seed": seed + i, "loss": 0.25, "stopped": "max_iter", "steps": [3, 1],
                "found_mask": np.array([True, False, True]), "min_angle_deg": [1.0, 9.0, 2.0], "time_s": 0.5}

    monkeypatch.setattr(bench, "_control_student", student)
    argv = ["digits-control", "--quick", "--widths", "3", "4", "--n-jobs", "1", "--checkpoint", str(tmp_path)]
    assert bench.main(argv) == 130
    capsys.readouterr()
    teachers.append(make_deep_teacher(3, [4, 3], "tanh", seed=1))
    teachers[-1].weights[0][0, 0] = np.nextafter(teachers[-1].weights[0][0, 0], 1.0)   # one bit otherwise
    monkeypatch.setattr(bench, "_control_student", lambda *a: pytest.fail("trained"))
    assert bench.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds student 0 of another teacher of seed 0" in err and "--checkpoint: " in err


def test_identify_kept_rows_say_nothing_is_kept_before_a_part_finishes_and_refuse_duplicate_parts(tmp_path,
                                                                                                  monkeypatch, capsys):
    """Ctrl-C before the first student finished said "0 of 2 students finished, printed and kept in FILE", a file not
    written; a kept file holding one student twice (edited by hand) silently took the last; and the refusal of a
    file this script does not write read "a identify-lm students file"."""
    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)

    def ctrl_c(*a):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "_lm_student", ctrl_c)
    ck = tmp_path / "ck"
    assert bench.main(["lm", "--checkpoint", str(ck)]) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    kept_file = ck / "lm_students.json"
    assert err.startswith(f"interrupted: 0 of 2 students finished, printed and none is kept in {kept_file} (none "
                          "finished)"), err
    assert not kept_file.exists()
    monkeypatch.setattr(bench, "_lm_student", lambda s, *a: {"student": s, "lm_rel_loss": 1e-9 * (s + 1)})
    assert bench.main(["lm", "--checkpoint", str(ck)]) == 0
    capsys.readouterr()
    kept = json.loads(kept_file.read_text())
    kept["parts"].append({**kept["parts"][0], "lm_rel_loss": 0.5})   # student 0 twice
    kept_file.write_text(json.dumps(kept))
    assert bench.main(["lm", "--checkpoint", str(ck)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--checkpoint: {kept_file} is not an identify-lm students file" in err


_CTRL_C_AT_IMPORT = """
import runpy, sys
class Interrupt:   # Ctrl-C at the first import of {module!r}, wherever the script imports it
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
sys.argv = [{script!r}]
runpy.run_path({script!r}, run_name="__main__")
"""


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py")))
def test_every_benchmark_script_ends_ctrl_c_while_it_loads_in_one_line(name, tmp_path):
    """Ctrl-C in a script's first half second (numpy and the library loading, at the top of the script or at the
    start of its main) ended in an import traceback; now in one line and exit status 130, as the CLI's does."""
    import os

    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    for module in ("numpy", "neuroflow.cliutil"):
        code = _CTRL_C_AT_IMPORT.format(module=module, script=str(ROOT / "benchmarks" / f"{name}.py"))
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                             env=env)
        assert run.returncode == 130 and run.stderr.startswith("interrupted"), (module, run.stderr[-2000:])
        assert run.stderr.count("\n") == 1 and run.stdout == "", (module, run.stderr[-2000:])


@pytest.mark.parametrize("argv", [["flow_vs_adam.py", "--quick"], ["identify.py", "time", "--quick"],
                                  ["vad_stream.py", "--quick"]])
def test_a_benchmark_script_sent_sigint_right_after_start_ends_in_one_line(argv, tmp_path, interruptible_popen):
    """SIGINT as a terminal's Ctrl-C sends it, while the script loads numpy (its shared library just mapped):
    exit status 130 and one line on stderr, no traceback."""
    import os
    import signal
    import time

    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    proc = interruptible_popen([sys.executable, str(ROOT / "benchmarks" / argv[0]), *argv[1:]], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/maps") as fh:
                if "numpy" in fh.read():
                    break
        except OSError:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err[-2000:]
    assert err.count("\n") == 1 and err.startswith("interrupted"), err[-2000:]


def test_identify_benchmark_refuses_students_another_run_writes_in_one_line(tmp_path, monkeypatch, capsys):
    """digits and digits-inner given one --checkpoint at once: the second run's estimator is refused the stage's file
    (CheckpointBusy), which ended the script in a traceback; now one line naming --checkpoint, exit status 2."""
    from neuroflow.identify.checkpoint import CheckpointBusy

    bench = _script("identify")
    monkeypatch.setattr(bench, "_limit_threads", lambda n: None)

    def busy(args, beta):
        raise CheckpointBusy(f"checkpoint: {tmp_path}/students_layer0_abc.npz is being written by another run (pid "
                             "12); wait for it to end or use another checkpoint folder")

    monkeypatch.setattr(bench, "_digits_inner", busy)
    assert bench.main(["digits-inner", "--quick", "--checkpoint", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    stage = f"{tmp_path}/students_layer0_abc.npz"
    assert err.count("\n") == 1 and err.startswith(f"neuroflow: error: --checkpoint: {stage} is being written by "
                                                   "another run (pid 12)"), err
