"""Metrics on hand-made cases."""
from __future__ import annotations

import numpy as np
import pytest

from neuroflow.vad.metrics import auc_eer, collar_mask, frame_metrics, summarize


def test_hand_counted_rates():
    y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    s = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0]
    m = frame_metrics(y, s)
    assert m.MR == pytest.approx(1 / 4)
    assert m.FAR == pytest.approx(2 / 6)
    assert m.HTER == pytest.approx((1 / 4 + 2 / 6) / 2)
    assert m.DCF == pytest.approx(0.75 / 4 + 0.25 * 2 / 6)
    assert m.accuracy == pytest.approx(7 / 10)
    assert m.F1 == pytest.approx(2 * 3 / (2 * 3 + 2 + 1))
    assert (m.n_frames, m.n_speech) == (10, 4)


def test_auc_and_eer():
    y = np.array([0, 0, 0, 1, 1, 1])
    assert auc_eer(y, np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])) == (1.0, 0.0)
    auc, eer = auc_eer(y, np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1]))
    assert auc == 0.0 and eer == pytest.approx(1.0)
    # one inversion out of 9 pairs: AUC 8/9; EER 1/3 (one of three misranked on each side)
    auc, eer = auc_eer(y, np.array([0.1, 0.2, 0.75, 0.7, 0.8, 0.9]))
    assert auc == pytest.approx(8 / 9)
    assert eer == pytest.approx(1 / 3)
    # ties count half
    assert auc_eer(y, np.full(6, 0.5))[0] == pytest.approx(0.5)
    # agrees with scikit-learn on random data
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    yy = rng.integers(0, 2, 500)
    ss = np.round(rng.random(500) + 0.5 * yy, 2)
    assert auc_eer(yy, ss)[0] == pytest.approx(roc_auc_score(yy, ss))
    # one class only: a per-scene row still gets the rate of the class there is; HTER, AUC and EER are NaN there
    m = frame_metrics(np.zeros(4), np.array([0.1, 0.9, 0.2, 0.3]))
    assert m.FAR == 0.25 and np.isnan(m.HTER) and np.isnan(m.MR) and np.isnan(m.AUC)
    m = frame_metrics(np.zeros(4), np.zeros(4))  # no false alarm on a speech-free corpus is no HTER of 0
    assert m.FAR == 0 and np.isnan(m.HTER) and np.isnan(m.DCF)
    m = frame_metrics(np.ones(4), np.array([0.1, 0.9, 0.8, 0.7]))
    assert m.MR == 0.25 and np.isnan(m.HTER) and np.isnan(m.FAR)


def test_threshold_and_errors():
    m = frame_metrics([1, 0], [0.6, 0.4], threshold=0.7)
    assert (m.MR, m.FAR) == (1.0, 0.0)
    with pytest.raises(ValueError, match="scores"):
        frame_metrics([1, 0], [0.5])
    with pytest.raises(ValueError, match="labels"):
        frame_metrics([2, 0], [0.5, 0.5])
    with pytest.raises(ValueError, match="labels"):
        frame_metrics([], [])


def test_summarize_groups_by_level_and_snr():
    y = [np.array([1, 0]), np.array([1, 0]), np.array([1, 0])]
    s = [np.array([1, 0]), np.array([0, 1]), np.array([1, 1])]
    r = summarize(y, s, [15.0, -10.0, 0.0], ["white", "pink", "white"], system="x")
    assert set(r.per_level) == {"low", "medium", "high"}
    assert r.per_level["low"].HTER == 0 and r.per_level["high"].HTER == 1 and r.per_level["medium"].HTER == 0.5
    assert set(r.per_snr) == {"15", "-10", "0"}
    assert r.per_noise["white"].HTER == pytest.approx(0.25)
    d = r.to_dict()
    for key in ("HTER", "MR", "FAR", "AUC", "per_level"):
        assert key in d
    assert d["overall"]["n_frames"] == 6
    with pytest.raises(ValueError, match="scene 1"):
        summarize(y, [s[0], s[1][:1], s[2]], [0, 0, 0], ["a", "a", "a"])


def test_collar_leaves_the_frames_around_each_label_change_unscored():
    """A collar of 0.03 s masks 3 frames either side of each change (the change frame is the first of the after
    side); collars that overlap merge; 0 masks nothing. A detector late by 3 frames at each end loses nothing under
    that collar and 3 of 10 speech frames without it."""
    y = np.r_[np.zeros(10), np.ones(10), np.zeros(10)]
    keep = collar_mask(y, 0.03)
    assert np.flatnonzero(~keep).tolist() == [*range(7, 13), *range(17, 23)]
    assert collar_mask(y, 0).all() and collar_mask(np.ones(5), 1.0).all()
    assert (~collar_mask(np.r_[0, 1, 0, 1], 0.02)).all()  # overlapping collars
    late = np.r_[np.zeros(13), np.ones(10), np.zeros(7)]
    plain = summarize([y], [late], [20.0], ["white"])
    forgiving = summarize([y], [late], [20.0], ["white"], collar=0.03)
    assert plain.overall.MR == pytest.approx(0.3) and plain.overall.FAR == pytest.approx(0.15)
    assert forgiving.overall.HTER == 0 and forgiving.overall.n_frames == 18
    assert forgiving.audio_seconds == plain.audio_seconds and forgiving.to_dict()["collar_s"] == 0.03
    for bad in (-0.1, float("nan"), "0.25", None, 10**400):
        with pytest.raises(ValueError, match="collar: expected a number of seconds from 0 to 3600"):
            collar_mask(y, bad)
    with pytest.raises(ValueError, match="collar: 1 s leaves no frame"):
        summarize([y], [late], [20.0], ["white"], collar=1.0)


@pytest.mark.parametrize("labels, scores, match", [
    (np.ones(4), np.ones(4), "labels: AUC and EER need both classes"),
    (np.zeros(4), np.ones(4), "labels: AUC and EER need both classes"),
    (np.r_[np.zeros(50), np.ones(50)], np.ones(50), "scores: expected 100 frames"),
    (np.array([0, 2, 1]), np.ones(3), "labels: expected only 0 and 1"),
    (np.array([0, 1]), np.array([0.5, np.nan]), "scores: expected finite"),
    (np.zeros((2, 2)), np.ones(4), "labels: expected a 1-d"),
    ([], [], "labels: expected at least one frame"),
])
def test_auc_eer_refuses_bad_input_naming_the_argument(labels, scores, match):
    with pytest.raises(ValueError, match=match):
        auc_eer(labels, scores)


def test_summarize_names_each_bad_argument():
    y, s = np.array([0, 1, 1, 0, 1]), np.array([0.1, 0.9, 0.8, 0.3, 0.2])
    # a NaN SNR failed with "need at least one array to concatenate", a text SNR with "Unknown format code 'g'",
    # names of fewer scenes with an IndexError, seconds as text with a TypeError, generators with "no len()"
    for kwargs, match in ((dict(snrs=[float("nan")]), "^snrs: .*got nan for scene 0"),
                          (dict(snrs=["x"]), "^snrs: "), (dict(snrs=[None]), "^snrs: "),
                          (dict(noises=[3]), "^noises: "), (dict(names=["x", "y"]), "^names: "),
                          (dict(seconds="x"), "^seconds: "), (dict(seconds=float("nan")), "^seconds: "),
                          (dict(system=5), "^system: "), (dict(scores=[None]), "^scores of scene 0: "),
                          (dict(labels=[y[None]]), "^labels of scene 0: "), (dict(snrs=0.0), "^snrs: ")):
        args = {"labels": [y], "scores": [s], "snrs": [0.0], "noises": ["white"], **kwargs}
        with pytest.raises(ValueError, match=match):
            summarize(args.pop("labels"), args.pop("scores"), args.pop("snrs"), args.pop("noises"), **args)
    with pytest.raises(ValueError, match="got 1, 1, 2 and 1"):
        summarize([y], [s], [0.0, 5.0], ["white"])
    once = summarize((a for a in [y]), (a for a in [s]), (v for v in [float("inf")]), iter(["none"]))
    assert once.overall.HTER == summarize([y], [s], [float("inf")], ["none"]).overall.HTER
    assert list(once.per_level) == ["low"]
