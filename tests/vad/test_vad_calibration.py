"""Calibration chooses the rule with the lowest mean HTER over conditions, as detection itself scores it."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from neuroflow.vad.calibration import (LOW_SNR_DBS, RELEASES, calibrate, calibrated_copy, condition_hter, condition_of,
                                       network_outputs, search_rule)
from neuroflow.vad.detect import SpikingVADSystem
from neuroflow.vad.metrics import error_rates
from neuroflow.vad.postprocess import PostProcessor
from neuroflow.vad.scoring import THRESHOLDS

MEDIANS, HANGOVERS = (1, 5), (0, 10)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    from neuroflow.vad.corpus import generate_corpus

    root = tmp_path_factory.mktemp("calibration")
    for split in ("train", "test"):
        generate_corpus(root / split, minutes=1.0, split=split, seed=5, durations=(15.0,), snrs=(20.0, 5.0),
                        noises=("white", "babble"), progress=False)
    return root


@pytest.fixture(scope="module")
def scenes(corpora):
    from neuroflow.vad.corpus import load_corpus

    return list(load_corpus(corpora / "train"))


@pytest.fixture(scope="module")
def chosen(scenes):
    return calibrate(SpikingVADSystem("bin"), scenes, medians=MEDIANS, hangovers=HANGOVERS)


def _mean_hter(scores, scenes, threshold=0.5):
    per = {}
    for score, s in zip(scores, scenes):
        d, lab = per.setdefault(condition_of(s), ([], []))
        d.append(score >= threshold)
        lab.append(s.labels[:len(score)])
    return float(np.mean([error_rates(np.concatenate(d), np.concatenate(lab))[2] for d, lab in per.values()]))


def test_the_chosen_rule_scores_what_detection_scores(chosen, scenes):
    system = SpikingVADSystem("bin")
    system.post = PostProcessor(chosen.threshold, **chosen.smoothing)
    assert _mean_hter([system.score(s.wav) for s in scenes], scenes) == pytest.approx(chosen.hter, abs=1e-12)
    assert chosen.conditions == sorted({f"train/{s.condition}" for s in scenes}) and chosen.scenes == len(scenes)
    own = SpikingVADSystem("bin")  # the model's own rule, as shipped
    assert _mean_hter([own.score(s.wav) for s in scenes], scenes) == pytest.approx(chosen.before["hter"], abs=1e-12)


def test_no_rule_of_the_grid_does_better(chosen, scenes):
    system = SpikingVADSystem("bin")
    probs = []
    for s in scenes:
        feats, energy, _ = system.extractor.step(s.wav, final=True)
        probs.append((system.runner.run(feats)[0], energy))
    for median in MEDIANS:
        for hangover in HANGOVERS:
            for release in RELEASES:
                for threshold in np.linspace(0.05, 0.95, 19):
                    post = PostProcessor(threshold, median, hangover, release)
                    h = _mean_hter([post(p, e) for p, e in probs], scenes)
                    assert h >= chosen.hter - 1e-12, (median, hangover, release, threshold)
    # nor an SNR-dependent hangover with the chosen median and release (the second stage of the search)
    for db in LOW_SNR_DBS:
        for hangover in HANGOVERS:
            for low in HANGOVERS:
                for threshold in np.linspace(0.05, 0.95, 19):
                    post = PostProcessor(threshold, chosen.median, hangover, chosen.release, low_snr_db=db,
                                         low_snr_hangover=low)
                    h = _mean_hter([post(p, e) for p, e in probs], scenes)
                    assert h >= chosen.hter - 1e-12, (db, hangover, low, threshold)


def test_search_and_per_condition_scores_agree_with_detection(chosen, scenes):
    system = SpikingVADSystem("bin")
    outputs = network_outputs(system, scenes)
    rule = search_rule(outputs, medians=MEDIANS, hangovers=HANGOVERS)
    assert {k: rule[k] for k in ("threshold", "median", "hangover", "release", "low_snr_db", "low_snr_hangover")} \
        == {"threshold": chosen.threshold, "median": chosen.median, "hangover": chosen.hangover,
            "release": chosen.release, "low_snr_db": chosen.low_snr_db, "low_snr_hangover": chosen.low_snr_hangover}
    per = condition_hter(outputs, chosen.threshold, **chosen.smoothing)
    assert sorted(per) == chosen.conditions and np.mean(list(per.values())) == pytest.approx(chosen.hter, abs=1e-12)
    system.post = PostProcessor(chosen.threshold, **chosen.smoothing)
    one = [s for s in scenes if condition_of(s) == chosen.conditions[0]]
    assert _mean_hter([system.score(s.wav) for s in one], one) == pytest.approx(per[chosen.conditions[0]], abs=1e-12)
    fixed = search_rule(outputs, medians=(5,), hangovers=(0,))  # a fixed median and hangover: threshold only
    assert (fixed["median"], fixed["hangover"], fixed["low_snr_db"]) == (5, 0, None)
    assert fixed["hter"] >= chosen.hter - 1e-12
    plain = search_rule(outputs, medians=MEDIANS, hangovers=HANGOVERS, low_snr_dbs=())  # one hangover only
    assert plain["low_snr_db"] is None and plain["hter"] >= chosen.hter - 1e-12


def test_calibrated_copy_keeps_the_network_and_carries_the_rule(chosen, tmp_path):
    out = calibrated_copy(SpikingVADSystem("bin").path, chosen, tmp_path / "bin_cal.pt")
    a, b = SpikingVADSystem("bin"), SpikingVADSystem(out)
    assert all(np.array_equal(x.detach().numpy(), y.detach().numpy())
               for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    assert b.threshold == chosen.threshold and b.smoothing == chosen.smoothing
    assert b.loaded.info["calibration"]["hter"] == chosen.hter and "recipe" in b.loaded.info


def test_each_corpus_keeps_its_own_conditions(corpora, scenes):
    from neuroflow.vad.corpus import load_corpus

    other = list(load_corpus(corpora / "test"))
    cal = calibrate(SpikingVADSystem("bin"), scenes + other, medians=(5,), hangovers=(10,))
    assert sorted(cal.conditions + cal.left_out) == sorted({f"train/{s.condition}" for s in scenes}
                                                          | {f"test/{s.condition}" for s in other})


def test_conditions_without_both_classes_are_left_out_or_refused():
    rng = np.random.default_rng(0)
    quiet = SimpleNamespace(wav=(0.01 * rng.standard_normal(16000)).astype(np.float32), sr=16000,
                            labels=np.zeros(100, np.int8), condition="white@5",
                            path="quiet/q.wav")
    with pytest.raises(ValueError, match="scenes: no condition"):
        calibrate(SpikingVADSystem("bin"), [quiet], medians=(1,), hangovers=(0,))
    with pytest.raises(ValueError, match="scenes: expected at least one"):
        calibrate(SpikingVADSystem("bin"), [], medians=(1,), hangovers=(0,))


def test_cli_writes_the_calibrated_model_and_refuses_held_out_speakers(corpora, tmp_path, capsys):
    from neuroflow.cli import main

    out = tmp_path / "snu_cal.pt"
    assert main(["vad", "calibrate", "--model", "snu", "--corpus", str(corpora / "train"), "--out", str(out),
                 "--json", "--quiet"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert SpikingVADSystem(out).threshold == res["threshold"] and res["hter"] <= res["before"]["hter"]
    assert main(["vad", "calibrate", "--model", "snu", "--corpus", str(corpora / "test"), "--out", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--corpus" in err and "held-out" in err, err


@pytest.mark.parametrize("kind", ["snu", "bin"])
def test_shipped_models_carry_the_rule_their_calibration_chose(kind):
    from neuroflow.vad.detect import MODELS_DIR
    from neuroflow.vad.snn import load_model

    recipe = json.loads((MODELS_DIR / "recipe.json").read_text())["models"][kind]["calibration"]
    for name, record in ((f"{kind}.pt", recipe), (f"{kind}.dense.pt", recipe["dense"])):
        loaded = load_model(MODELS_DIR / name)
        cal = loaded.info["calibration"]
        assert loaded.threshold == cal["threshold"] == record["threshold"]
        keys = ("median", "hangover", "release", "low_snr_db", "low_snr_hangover")
        assert loaded.smoothing == {k: cal[k] for k in keys if cal.get(k) is not None}
        assert {k: cal.get(k) for k in keys} == {k: record.get(k) for k in keys}
        assert cal["hter"] == record["mean_hter"] and cal["corpus"] == ["corpora/real-dev"]


def test_a_scene_whose_audio_and_labels_disagree_is_named(tmp_path):
    # 1 s of audio is 100 frames; 600 labels mean the scene's files do not belong together (eval says the same)
    scene = SimpleNamespace(wav=np.zeros(16000, np.float32), sr=16000, labels=np.zeros(600, np.int8),
                            path=tmp_path / "A_0000.wav", labels_path=tmp_path / "A_0000.labels.npy")
    with pytest.raises(ValueError, match="A_0000.labels.npy: 600 labels, but .*A_0000.wav has 100 frames"):
        network_outputs(SpikingVADSystem("bin"), [scene])


def test_ties_go_to_the_first_rule_in_the_grids_order():
    # a perfect detector: many rules make no error; the search keeps the first in order (shortest median and
    # hangover, no release, one hangover, lowest threshold)
    rng = np.random.default_rng(2)
    outputs = []
    for condition in ("a/white@5", "a/white@20"):
        labels = np.repeat(rng.random(40) < 0.5, 25)
        outputs.append((labels.astype(float), np.full(len(labels), -30.0), labels, condition))
    rule = search_rule(outputs, medians=(1, 3), hangovers=(0, 5), releases=(None, 0.5), low_snr_dbs=(10.0,))
    assert rule["hter"] == 0.0
    assert (rule["median"], rule["hangover"], rule["release"], rule["low_snr_db"]) == (1, 0, None, None)
    assert rule["threshold"] == min(t for t in np.round(THRESHOLDS, 6) if t > 0)


def test_two_corpora_of_one_folder_name_keep_their_conditions_apart(tmp_path):
    """Conditions were keyed by the corpus folder's name alone: two corpora in folders of one name (a/real, b/real)
    pooled their scenes of each condition, so that renaming one folder changed the chosen rule."""
    import shutil

    from neuroflow.vad.calibration import corpus_names
    from neuroflow.vad.corpus import generate_corpus, load_corpus

    kw = dict(minutes=0.5, durations=(15.0,), snrs=(0.0,), noises=("white",), progress=False)
    generate_corpus(tmp_path / "a" / "real", seed=1, **kw)
    generate_corpus(tmp_path / "b" / "real", seed=2, **kw)
    shutil.copytree(tmp_path / "b" / "real", tmp_path / "b" / "other")
    same_name = [s for f in ("a/real", "b/real") for s in load_corpus(tmp_path / f)]
    renamed = [s for f in ("a/real", "b/other") for s in load_corpus(tmp_path / f)]
    assert corpus_names(renamed) == {(tmp_path / "a" / "real").resolve(): "real",
                                     (tmp_path / "b" / "other").resolve(): "other"}
    system = SpikingVADSystem("bin")
    first, second = (calibrate(system, s, medians=MEDIANS, hangovers=HANGOVERS) for s in (same_name, renamed))
    assert len(first.conditions) == len(second.conditions) == 2
    assert first.conditions[0].endswith("/a/real/white@0") and second.conditions == ["other/white@0", "real/white@0"]
    assert (first.threshold, first.smoothing, first.hter) == (second.threshold, second.smoothing, second.hter)
