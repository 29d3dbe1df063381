"""Fixtures shared by the VAD tests."""
from __future__ import annotations

import numpy as np
import pytest


class _SceneCalls(list):
    """The scene names corpus generation asked for; ``restore()`` puts the real scene maker back."""

    def __init__(self, restore):
        super().__init__()
        self.restore = restore


@pytest.fixture
def interrupt_second_scene(monkeypatch):
    """``arm()``: from then on corpus generation raises KeyboardInterrupt as the second scene starts (the
    first one finished); returns the scene names asked for, with ``restore()``."""
    import neuroflow.vad.corpus_store as corpus_store

    real = corpus_store.make_scene

    def arm() -> _SceneCalls:
        calls = _SceneCalls(lambda: monkeypatch.setattr(corpus_store, "make_scene", real))

        def interrupted(plan):
            calls.append(plan.name)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return real(plan)

        monkeypatch.setattr(corpus_store, "make_scene", interrupted)
        return calls

    return arm


@pytest.fixture
def streams_match_one_call():
    """``check(extractor, x, rng, max_chunk)``: asserts that the extractor's features of ``x`` (16 kHz) fed
    three times in random pieces of 1 to ``max_chunk`` samples (then flushed), and the training path
    (``raw_frames`` then ``normalize_raw``), equal one call's bit for bit; returns ``raw_frames``'s
    (raw, energy, own, sim)."""
    from neuroflow.vad.features import SAMPLE_RATE
    from neuroflow.vad.sequences import raw_frames

    def feed(ex, x, rng, max_chunk):
        state, parts, i = None, [], 0
        while i < len(x):
            k = int(rng.integers(1, max_chunk))
            f, _, state = ex.step(x[i:i + k], state)
            parts.append(f)
            i += k
        parts.append(ex.step(np.zeros(0, np.float32), state, final=True)[0])
        return np.concatenate(parts)

    def check(ex, x, rng, max_chunk):
        whole = ex.transform(x)
        for _ in range(3):
            assert np.array_equal(feed(ex, x, rng, max_chunk), whole)
        frames = raw_frames(x, SAMPLE_RATE, ex)
        assert np.array_equal(ex.normalize_raw(*frames), whole)
        return frames
    return check


@pytest.fixture
def check_speech_free_pieces():
    """``check(kind, names, seconds, levels_db)``: ``speech_free_pieces(kind, 20 s, seed=3)`` covers 20 s, is the same
    twice with one seed, and every piece is named one of ``names``, lasts ``seconds`` (lo, hi) and has its RMS level
    (dB re full scale) within ``levels_db`` (lo, hi)."""
    from neuroflow.vad.augment import speech_free_pieces

    def check(kind, names, seconds, levels_db):
        pieces = list(speech_free_pieces(kind, 20.0, seed=3))
        again = list(speech_free_pieces(kind, 20.0, seed=3))
        assert sum(len(w) for w, _ in pieces) >= 20 * 16000
        for (w, name), (w2, _) in zip(pieces, again):
            level = 10 * np.log10(np.mean(w.astype(np.float64) ** 2))
            assert name in names and seconds[0] * 16000 <= len(w) <= seconds[1] * 16000 and np.array_equal(w, w2)
            assert levels_db[0] <= level <= levels_db[1]

    return check
