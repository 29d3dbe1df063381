"""Post-processing steps: each one chunk by chunk equals one call, and segments follow their rules (an
independent, frame-by-frame reading of the rules is the oracle)."""
from __future__ import annotations

import numpy as np
import pytest

from neuroflow.vad.postprocess import (PostProcessor, SegmentRules, SegmentTracker, causal_max, causal_median,
                                       release_peak, running_peak, segments_from_scores, snr_estimate)


def _chunks(n: int, rng, sizes=(0, 1, 2, 3, 7, 50)):
    i = 0
    while i < n:
        k = int(rng.choice(sizes))
        yield i, i + k
        i += k


def _same(a, b) -> bool:
    return np.allclose(np.array(a, float).reshape(-1, 2), np.array(b, float).reshape(-1, 2))


def _oracle(decision: np.ndarray, min_speech: int, min_silence: int, pad: int) -> list[list[int]]:
    """The rules read literally: runs, bridge short gaps, drop short runs, pad, merge touching ones."""
    runs, start = [], None
    for t, d in enumerate(list(decision) + [False]):
        if d and start is None:
            start = t
        elif not d and start is not None:
            runs.append([start, t])
            start = None
    joined = []
    for a, b in runs:
        if joined and a - joined[-1][1] < max(min_silence, 1):
            joined[-1][1] = b
        else:
            joined.append([a, b])
    kept = [[max(0, a - pad), min(len(decision), b + pad)] for a, b in joined if b - a >= min_speech]
    merged = []
    for a, b in kept:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


@pytest.mark.parametrize("case", range(40))
def test_segments_follow_the_rules_offline_and_in_any_chunking(case):
    rng = np.random.default_rng(case)
    n = int(rng.integers(1, 400))
    # bursty decisions: runs and gaps of 1-30 frames
    scores = np.repeat(rng.random(n) < 0.5, rng.integers(1, 30, n))[:n] * rng.uniform(0.5, 1.0, n)
    rules = SegmentRules(threshold=float(rng.choice([0.5, 0.7])), min_speech_s=float(rng.choice([0, 0.03, 0.12])),
                         min_silence_s=float(rng.choice([0, 0.02, 0.1, 0.25])), pad_s=float(rng.choice([0, 0.01, 0.05])))
    want = [[a * 0.01, b * 0.01] for a, b in _oracle(scores >= rules.threshold, *rules.frames)]
    got = segments_from_scores(scores, rules)
    assert _same(got, want), (got, want)
    tracker, state, streamed = SegmentTracker(rules), None, []
    for a, b in _chunks(n, rng):
        done, state = tracker.step(scores[a:b], state)
        for seg in done:  # a finished segment never reaches past the frames seen
            assert seg[1] <= state["t"]
        streamed += done
    streamed += tracker.finish(state)
    assert _same([[a * 0.01, b * 0.01] for a, b in streamed], got)


def test_segment_rules_by_hand():
    s = np.array([0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0], float)
    assert _same(segments_from_scores(s), [[0.01, 0.03], [0.04, 0.05], [0.09, 0.10]])
    assert _same(segments_from_scores(s, SegmentRules(min_silence_s=0.02)), [[0.01, 0.05], [0.09, 0.10]])
    assert _same(segments_from_scores(s, SegmentRules(min_silence_s=0.02, min_speech_s=0.03)), [[0.01, 0.05]])
    # padding stops at the signal's ends, and segments it makes touch are merged
    assert _same(segments_from_scores(s, SegmentRules(pad_s=0.01)), [[0.0, 0.06], [0.08, 0.11]])
    assert _same(segments_from_scores(s, SegmentRules(pad_s=0.02)), [[0.0, 0.12]])
    assert _same(segments_from_scores(s, SegmentRules(threshold=1.0)), [[0.01, 0.03], [0.04, 0.05], [0.09, 0.10]])
    assert segments_from_scores(np.zeros(5)) == []


@pytest.mark.parametrize("kwargs, match", [
    ({"threshold": float("nan")}, "threshold"), ({"threshold": 1.5}, "threshold"), ({"threshold": -0.1}, "threshold"),
    ({"threshold": "0.5"}, "threshold"), ({"min_speech_s": -1.0}, "min_speech_s"),
    ({"min_speech_s": float("inf")}, "min_speech_s"), ({"min_silence_s": -0.5}, "min_silence_s"),
    ({"min_silence_s": 1e9}, "min_silence_s"), ({"pad_s": float("nan")}, "pad_s"), ({"pad_s": True}, "pad_s"),
])
def test_segment_rules_refuse_bad_values_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SegmentRules(**kwargs)


def test_filters_and_post_processor_chunked_equal_one_call():
    rng = np.random.default_rng(3)
    p = rng.random(500)
    energy = np.where(rng.random(500) < 0.1, -120.0, rng.uniform(-80, -10, 500))
    post = PostProcessor(0.6, median=5, hangover=10)
    whole = post(p, energy)
    assert np.all((whole >= 0) & (whole <= 1))
    assert np.all(whole[energy < -90][:0] == 0)
    for fn, arg in ((causal_median, 5), (causal_max, 7)):
        ref, st, parts = fn(p, arg)[0], None, []
        for a, b in _chunks(len(p), rng):
            y, st = fn(p[a:b], arg, st)
            parts.append(y)
        assert np.array_equal(np.concatenate(parts), ref)
    st, parts = None, []
    for a, b in _chunks(len(p), rng):
        y, st = post.step(p[a:b], energy[a:b], st)
        parts.append(y)
    assert np.array_equal(np.concatenate(parts), whole)
    peak, _ = running_peak(np.array([0.0, -1.0, -10.0, 5.0]), 0.5)
    assert peak.tolist() == [0.0, -0.5, -1.0, 5.0]
    # the threshold lands at 0.5, the hangover holds a decision for exactly `hangover` frames
    post = PostProcessor(0.3, median=1, hangover=3)
    out = post(np.array([0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0]))
    assert out.tolist() == [0.0, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0]


def _hysteresis(p, on, off):
    """Reference decisions: speech from a frame at or above `on` until the first frame below `off`."""
    out, speech = [], False
    for x in p:
        speech = x >= on or (speech and x >= off)
        out.append(speech)
    return np.array(out)


@pytest.mark.parametrize("seed", range(5))
def test_release_is_hysteresis_and_streams_exactly(seed):
    rng = np.random.default_rng(seed)
    p = np.clip(np.cumsum(rng.normal(0, 0.15, 800)) % 1.0, 0, 1)  # slow wandering, crossing both levels often
    energy = np.where(rng.random(800) < 0.05, -120.0, rng.uniform(-70, -20, 800))
    for on, off in ((0.7, 0.3), (0.5, 0.5), (0.8, 0.1)):
        scores = PostProcessor(on, median=1, hangover=0, release=off)(p)
        assert np.array_equal(scores >= 0.5, _hysteresis(p, on, off)), (on, off)
        assert np.array_equal(release_peak(p, off)[0] >= on, _hysteresis(p, on, off))
    # a release at or above the threshold changes no decision
    assert np.array_equal(PostProcessor(0.4, 3, 5, release=0.9)(p, energy) >= 0.5,
                          PostProcessor(0.4, 3, 5)(p, energy) >= 0.5)
    post = PostProcessor(0.75, median=3, hangover=6, release=0.35)
    whole = post(p, energy)
    # a gated (silent) frame ends a stretch: what follows must reach the threshold again
    gated = PostProcessor(0.75, release=0.35)(np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.8]),
                                              np.array([-30.0, -30, -30, -120, -30, -30]))
    assert (gated >= 0.5).tolist() == [True, True, True, False, False, True]
    st, parts = None, []
    for a, b in _chunks(len(p), rng):
        y, st = post.step(p[a:b], energy[a:b], st)
        parts.append(y)
    assert np.array_equal(np.concatenate(parts), whole)
    st, parts = None, []
    for a, b in _chunks(len(p), rng):
        y, st = release_peak(p[a:b], 0.35, st)
        parts.append(y)
    assert np.array_equal(np.concatenate(parts), release_peak(p, 0.35)[0])


@pytest.mark.parametrize("release", [0.0, -0.2, 1.5, float("nan"), True, "0.3"])
def test_release_refuses_values_outside_0_1(release):
    with pytest.raises(ValueError, match="release"):
        PostProcessor(0.5, release=release)


def _noisy_then_quiet(rng, n=1200):
    """Energies of a scene whose second half is in loud noise (estimated SNR low), with some digital silence."""
    energy = np.concatenate([rng.uniform(-70, -20, n // 2), rng.uniform(-32, -20, n - n // 2)])
    energy[rng.random(n) < 0.03] = -120.0
    return energy


@pytest.mark.parametrize("seed", range(4))
def test_snr_dependent_hangover_streams_exactly_and_picks_each_frames_hangover(seed):
    rng = np.random.default_rng(seed)
    n = 1200
    p = np.clip(np.cumsum(rng.normal(0, 0.15, n)) % 1.0, 0, 1)
    energy = _noisy_then_quiet(rng, n)
    post = PostProcessor(0.7, median=3, hangover=4, release=0.4, low_snr_db=15.0, low_snr_hangover=25)
    assert post.smoothing == {"median": 3, "hangover": 4, "release": 0.4, "low_snr_db": 15.0, "low_snr_hangover": 25}
    whole = post(p, energy)
    st, parts = None, []
    for a, b in _chunks(n, rng):
        y, st = post.step(p[a:b], energy[a:b], st)
        parts.append(y)
    assert np.array_equal(np.concatenate(parts), whole)
    # frame by frame it is the one-hangover rule of its own SNR class (silent frames: at most 5 frames)
    snr = snr_estimate(energy)[0]
    short, long_ = (PostProcessor(0.7, 3, h, 0.4)(p, energy) for h in (4, 25))
    assert 0.1 < np.mean(snr < 15.0) < 0.9
    assert np.array_equal(whole, np.where(snr < 15.0, long_, short))
    # equal hangovers are one hangover; without energies there is no SNR estimate and the first one holds
    same = PostProcessor(0.7, 3, 4, 0.4, low_snr_db=15.0, low_snr_hangover=4)
    assert np.array_equal(same(p, energy), short)
    assert np.array_equal(post(p), PostProcessor(0.7, 3, 4, 0.4)(p))


def test_snr_estimate_is_peak_over_floor_and_streams():
    rng = np.random.default_rng(7)
    energy = np.concatenate([np.full(300, -60.0), np.full(100, -20.0), np.full(600, -60.0)])
    energy += rng.normal(0, 0.5, len(energy))
    snr = snr_estimate(energy)[0]
    assert abs(np.median(snr[100:300])) < 3  # steady noise: peak and floor meet
    assert snr[400] > 35 and snr[390] > 35  # 40 dB above the floor, the peak remembered after it
    assert snr[-1] < snr[400] - 15  # the peak falls 0.05 dB per frame, 30 dB over the last 600 frames
    st, parts = None, []
    for a, b in _chunks(len(energy), rng):
        y, st = snr_estimate(energy[a:b], st)
        parts.append(y)
    assert np.array_equal(np.concatenate(parts), snr)  # bit for bit: the peak runs on the absolute frame index
    long_run = rng.uniform(-80, -10, 50_000)
    st, parts = None, []
    for a in range(0, len(long_run), 777):
        y, st = running_peak(long_run[a:a + 777], 0.05, st)
        parts.append(y)
    assert np.array_equal(np.concatenate(parts), running_peak(long_run, 0.05)[0])


@pytest.mark.parametrize("kwargs, says", [
    ({"low_snr_db": 10.0}, "both or neither"), ({"low_snr_hangover": 20}, "both or neither"),
    ({"low_snr_db": float("nan"), "low_snr_hangover": 20}, "low_snr_db: expected an SNR"),
    ({"low_snr_db": "10", "low_snr_hangover": 20}, "low_snr_db: expected an SNR"),
    ({"low_snr_db": 10.0, "low_snr_hangover": -1}, "low_snr_hangover: expected a whole number"),
    ({"low_snr_db": 10.0, "low_snr_hangover": 2.5}, "low_snr_hangover: expected a whole number"),
    ({"low_snr_db": 10.0, "low_snr_hangover": True}, "low_snr_hangover: expected a whole number")])
def test_snr_dependent_hangover_refuses_bad_settings_naming_them(kwargs, says):
    with pytest.raises(ValueError, match=says):
        PostProcessor(0.5, **kwargs)


@pytest.mark.parametrize("args, name", [((float("nan"),), "threshold"), ((1.5,), "threshold"), (("0.5",), "threshold"),
                                        ((0.5, 0), "median"), ((0.5, 2.7), "median"), ((0.5, -5), "median"),
                                        ((0.5, 1, 10**9), "hangover"), ((0.5, 1, -3), "hangover"),
                                        ((0.5, 1, True), "hangover")])
def test_post_processor_refuses_settings_no_model_file_may_hold(args, name):
    # a NaN threshold made every score NaN, median 2.7 ran as 2 and -5 as none, and a hangover of 10**9 frames
    # allocated gigabytes per frame (the process was killed)
    with pytest.raises(ValueError, match=f"^{name}: "):
        PostProcessor(*args)
    assert PostProcessor(0.5, np.int64(3), np.int32(4)).smoothing == {"median": 3, "hangover": 4}


def test_post_processor_and_segments_name_bad_scores():
    p = np.array([0.1, 0.9, 0.8, 0.2, 0.95, 0.1])
    post = PostProcessor(0.5, 3)
    for bad, match in ((np.array([np.nan, 0.5]), "^prob: expected finite"), (p[None], "^prob: expected a 1-d"),
                       ("abc", "^prob: expected an array")):
        with pytest.raises(ValueError, match=match):
            post(bad)
    with pytest.raises(ValueError, match="^energy_db: expected 6 frame energies"):
        post(p, np.zeros(3))
    with pytest.raises(ValueError, match="^energy_db: .*NaN"):
        post(p, np.full(6, np.nan))
    assert np.array_equal(post(p, np.full(6, -np.inf)), np.zeros(6))  # -inf dB: digital silence
    # NaN scores were a silent gap in the segments; a rules dict an AttributeError
    for bad, match in ((np.array([1.0, np.nan, 1.0]), "^scores: expected finite"), (np.ones((2, 3)), "^scores: "),
                       (0.7, "^scores: expected a 1-d")):
        with pytest.raises(ValueError, match=match):
            segments_from_scores(bad)
    with pytest.raises(TypeError, match="^rules: expected a SegmentRules"):
        segments_from_scores(p, {"threshold": 0.3})
    assert segments_from_scores(p) == segments_from_scores(list(p)) == [[0.01, 0.03], [0.04, 0.05]]
