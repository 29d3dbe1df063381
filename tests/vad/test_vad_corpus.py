"""Corpus: labels, plan balance, groups, noises, determinism, resuming (also from changed files) and errors naming files."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from neuroflow.vad import corpus as corpus_mod
from neuroflow.vad.corpus import (MANIFEST, SNRS_DB, generate_corpus, load_corpus, noise_level, plan_corpus,
                                  speech_labels)
from neuroflow.vad.noise import NOISE_TYPES, make_noise, room_impulse_response
from neuroflow.vad.speech import SentenceGenerator, Voice, synthesize, voice_pool

TINY = dict(minutes=0.2, durations=(4.0,), progress=False)  # three 4-second scenes


def test_labels_on_tone_and_silence():
    sr = 16000
    x = np.zeros(3 * sr)
    t = np.arange(sr) / sr
    tone = 0.3 * np.sin(2 * np.pi * 300 * t)
    x[4000:12000] = tone[:8000]        # frames 25..74
    x[13600:20000] = tone[:6400]       # frames 85..124: gap of 10 frames (100 ms) gets filled
    x[32000:40000] = tone[:8000]       # frames 200..249, after a long gap
    y = speech_labels(x, hangover_s=0.05, min_gap_s=0.15)
    assert len(y) == len(x) // 160 and y.dtype == np.int8
    want = np.zeros_like(y)
    want[25:125] = 1
    want[125:130] = 1                  # 50 ms hangover
    want[200:255] = 1
    # the 25 ms analysis window leaks into one neighbour frame on each side of an edge
    diff = np.flatnonzero(y != want)
    assert len(diff) <= 4, diff
    assert set(diff) <= {24, 130, 199, 255}
    assert y[100] == 1 and y[150] == 0 and y[290] == 0


def test_noise_level_names():
    assert [noise_level(s) for s in (15, 10, 5, 0, -5, -10)] == ["low"] * 2 + ["medium"] * 2 + ["high"] * 2


def test_plan_is_balanced_and_seeded():
    plans = plan_corpus(48, "A", 1, durations=(60.0,))
    assert len(plans) == 48
    snrs = [p.snr_db for p in plans]
    assert sorted(set(snrs)) == sorted(float(s) for s in SNRS_DB)
    assert all(snrs.count(float(s)) == 8 for s in SNRS_DB)
    noises = [p.noise for p in plans]
    assert all(noises.count(k) == 6 for k in NOISE_TYPES)
    for p in plans:
        lo, hi = corpus_mod.STRATA[p.stratum][1:]
        assert lo <= p.target_fraction <= hi
    assert [p.to_dict() for p in plans] == [p.to_dict() for p in plan_corpus(48, "A", 1, durations=(60.0,))]
    assert [p.snr_db for p in plan_corpus(48, "A", 2, durations=(60.0,))] != snrs
    with pytest.raises(ValueError, match="split"):
        plan_corpus(1, "C", 0)
    assert [p.to_dict() for p in plan_corpus(3, "train", 1)] == [p.to_dict() for p in plan_corpus(3, "A", 1)]
    with pytest.raises(ValueError, match="minutes"):
        plan_corpus(0, "A", 0)
    with pytest.raises(ValueError, match="noises"):
        plan_corpus(1, "A", 0, noises=("jet",))


def test_groups_share_no_voice_or_sentence():
    _, va = voice_pool("A")
    _, vb = voice_pool("B")
    assert len(va) > 20 and len(vb) > 20 and not set(va) & set(vb)
    gen_a = SentenceGenerator("A", 0)
    sa = {gen_a.sentence() for _ in range(300)}
    gen_b = SentenceGenerator("B", 0)
    sb = {gen_b.sentence() for _ in range(300)}
    assert len(sa) == 300 and len(sb) == 300 and not sa & sb


def test_synthesis_varies_with_voice():
    a = synthesize("Hello world, this is a test.", Voice("en-us", "m3", rate=175))
    b = synthesize("Hello world, this is a test.", Voice("en-us", "m3", rate=300))
    assert a.dtype == np.float32 and 0.5 < len(a) / 16000 < 5
    assert len(b) < len(a)


def test_synthesis_is_reproducible_across_processes():
    # eSpeak seeds its random generator from the clock and keeps state between calls; variants with
    # breath noise (f2, victor, ...) showed it, and the Klatt noise voices (caleb) draw from libc rand(). Another
    # process, a second later, must give the same samples.
    code = ("import hashlib; from neuroflow.vad.speech import Voice, synthesize; "
            "print(' '.join(hashlib.md5(synthesize('Where is the red lamp?', Voice('en-us', v), fresh=True)"
            ".tobytes()).hexdigest() for v in ('f2', 'victor', 'Alicia', 'caleb')))")
    synthesize("something else first")
    here = " ".join(hashlib.md5(synthesize("Where is the red lamp?", Voice("en-us", v), fresh=True).tobytes())
                    .hexdigest() for v in ("f2", "victor", "Alicia", "caleb"))
    time.sleep(1.1)
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=120, capture_output=True, text=True)
    assert out.stdout.split() == here.split()


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_noises_are_unit_rms_and_seeded(kind):
    n = 16000
    x = make_noise(kind, n, seed=5, group="B")
    assert x.shape == (n,) and x.dtype == np.float32
    assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)
    np.testing.assert_array_equal(x, make_noise(kind, n, seed=5, group="B"))


def test_noise_colours_and_rir():
    from scipy.signal import welch

    def slope(kind):
        f, p = welch(make_noise(kind, 64000, seed=0), fs=16000, nperseg=2048)
        keep = (f > 100) & (f < 4000)
        return np.polyfit(np.log10(f[keep]), 10 * np.log10(p[keep]), 1)[0]

    assert abs(slope("white")) < 1.5
    assert slope("pink") == pytest.approx(-10, abs=1.5)
    assert slope("brown") == pytest.approx(-20, abs=2.0)
    h = room_impulse_response(np.random.default_rng(0), rt60=0.5)
    assert np.sum(h.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-4)
    tail = np.abs(h[int(0.3 * 16000):int(0.5 * 16000)]).mean()
    head = np.abs(h[int(0.01 * 16000):int(0.1 * 16000)]).mean()
    assert tail < head / 10
    with pytest.raises(ValueError, match="kind"):
        make_noise("jet", 10)


def _snapshot(root):
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.suffix in (".wav", ".npy")}


def test_generation_is_deterministic_and_resumes(tmp_path, interrupt_second_scene):
    r1 = generate_corpus(tmp_path / "a", split="train", seed=7, **TINY)
    assert r1.n_scenes == 3 and r1.n_generated == 3
    generate_corpus(tmp_path / "b", group="A", seed=7, minutes=0.2, durations=(4.0,), progress_bar=False)  # older names
    ref = _snapshot(tmp_path / "a")
    assert len(ref) == 6 and ref == _snapshot(tmp_path / "b")
    assert (json.loads((tmp_path / "a" / MANIFEST).read_text())
            == json.loads((tmp_path / "b" / MANIFEST).read_text()))
    generate_corpus(tmp_path / "c", split="train", seed=8, **TINY)
    assert _snapshot(tmp_path / "c") != ref

    # interrupted as the second scene starts: the finished one is kept, a rerun completes the same corpus
    calls = interrupt_second_scene()
    with pytest.raises(KeyboardInterrupt):
        generate_corpus(tmp_path / "d", split="train", seed=7, **TINY)
    assert len(json.loads((tmp_path / "d" / MANIFEST).read_text())["scenes"]) == 1
    calls.restore()
    r = generate_corpus(tmp_path / "d", split="train", seed=7, **TINY)
    assert (r.n_generated, r.n_resumed) == (2, 1)
    assert _snapshot(tmp_path / "d") == ref
    assert (json.loads((tmp_path / "d" / MANIFEST).read_text())
            == json.loads((tmp_path / "a" / MANIFEST).read_text()))

    # a rerun with other settings refuses instead of mixing corpora
    with pytest.raises(ValueError, match="other settings"):
        generate_corpus(tmp_path / "d", split="train", seed=9, **TINY)

    # a scene file changed on disk after it was finished is made again on resume
    (tmp_path / "d" / "A_0001.wav").write_bytes(b"RIFF" + bytes(100))
    with pytest.warns(UserWarning, match="A_0001.wav"):
        r = generate_corpus(tmp_path / "d", split="train", seed=7, **TINY)
    assert (r.n_generated, r.n_resumed) == (1, 2) and _snapshot(tmp_path / "d") == ref

    # contents: level, labels, manifest entries
    c = load_corpus(tmp_path / "a")
    assert len(c) == 3 and c.minutes == pytest.approx(0.2)
    texts = []
    for scene in c:
        assert scene.split == "train" and scene.info["speech"] == "espeak"
        assert len(scene.wav) == 4 * 16000 and scene.labels.shape == (400,)
        assert scene.group == "A" and scene.noise in NOISE_TYPES and scene.snr_db in SNRS_DB
        assert scene.speech_fraction == pytest.approx(scene.labels.mean())
        texts += [u["text"] for u in scene.info["utterances"]]
    assert len(texts) == len(set(texts))  # sentences never repeat inside a scene, and rarely across scenes


def test_corpus_errors_name_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing"):
        load_corpus(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match=MANIFEST):
        load_corpus(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(ValueError, match=MANIFEST):
        load_corpus(tmp_path)
    root = tmp_path / "c"
    generate_corpus(root, split="test", seed=1, **TINY)
    (root / "B_0001.wav").unlink()
    with pytest.raises(FileNotFoundError, match="B_0001.wav"):
        load_corpus(root)
    shutil.copy(root / "B_0000.wav", root / "B_0001.wav")
    (root / "B_0002.wav").write_bytes(b"garbage" * 100)
    c = load_corpus(root)
    with pytest.raises(ValueError, match="B_0002.wav"):
        c[2].wav
    np.save(root / "B_0000.labels.npy", np.array([[1, 2]]))
    with pytest.raises(ValueError, match="B_0000.labels.npy"):
        c[0].labels


def test_a_corpus_is_indexed_like_a_list_and_names_a_bad_index(tmp_path):
    """A slice of a corpus was "'list' object has no attribute 'items'", a scene past its end numpy-less
    "list index out of range", a text index "list indices must be integers"."""
    generate_corpus(tmp_path, seed=1, **TINY)
    corpus = load_corpus(tmp_path)
    names = [s.name for s in corpus]
    assert [s.name for s in corpus[1:]] == names[1:] and corpus[-1].name == names[-1]
    assert corpus[np.int64(0)].name == names[0]
    with pytest.raises(IndexError, match=f"no scene {len(names)}; it holds {len(names)}"):
        corpus[len(names)]
    for index in ("x", 1.0, True):
        with pytest.raises(TypeError, match="^corpus index: expected a whole number or a slice"):
            corpus[index]
