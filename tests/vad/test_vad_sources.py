"""Real-speech sources and conversation scenes: the split by speaker, indexing, missing and corrupt sources,
scene layout and labels, music, room tone, the held-out benchmark set.

Most tests run on a small tree built like the Debian packages (``NEUROFLOW_VAD_SOURCES``): eSpeak speech
encoded as G.722, raw GSM 6.10 and 8 kHz WAV prompts, music as WAV, Ogg and MP3. The tests marked by
``needs_real`` use the installed packages (``neuroflow vad sources --install``; CI installs them) and skip
with the reason where they are missing.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from neuroflow.vad import packages, sources
from neuroflow.vad.corpus import Corpus, MANIFEST, generate_corpus, load_corpus, plan_corpus
from neuroflow.vad.features import HOP
from neuroflow.vad.roomtone import room_tone
from neuroflow.vad.scenes import ScenePlan, make_scene

_SENTENCES = ("Please enter your number.", "The party you are calling is not available.",
              "Goodbye and thank you for calling.", "Press one to continue.")


def _speech(i: int) -> np.ndarray:
    from neuroflow.vad.labels import trim_silence
    from neuroflow.vad.speech import Voice, synthesize

    wav = trim_silence(synthesize(_SENTENCES[i % len(_SENTENCES)], Voice("en-us", ("m3", "f2")[i % 2]), fresh=True))
    return (wav / np.max(np.abs(wav)) * 0.5).astype(np.float32)


def _music(seconds: float, sr: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    notes = rng.choice([220.0, 261.6, 329.6, 392.0, 440.0], size=int(seconds * 4))
    f = np.repeat(notes, len(t) // len(notes) + 1)[: len(t)]
    return (0.3 * np.sin(2 * np.pi * np.cumsum(f) / sr)).astype(np.float32)


def _build_tree(root: Path, prompts_per_speaker: int = 3) -> Path:
    G722 = pytest.importorskip("G722", reason="the g722 package decodes the Asterisk prompts (pip install g722)")
    speech = [_speech(i) for i in range(4)]
    for s in sources.SPEAKERS:
        folder = root / s.folder.lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(prompts_per_speaker):
            x = speech[(k + len(s.name)) % len(speech)]
            if s.codec == "g722":
                pcm = np.round(x * 32767).astype(np.int16)
                (folder / f"prompt-{k}.g722").write_bytes(bytes(G722.G722(16000, 64000).encode(pcm)))
            elif s.codec == "gsm":
                sf.write(folder / f"prompt-{k}.gsm", x[::2], 8000, format="RAW", subtype="GSM610")
            else:
                sf.write(folder / f"prompt-{k}.wav", x[::2], 8000, subtype="PCM_16")
        # not speech: left out by name and by folder
        (folder / f"beep.{s.codec}").write_bytes((folder / f"prompt-0.{s.codec}").read_bytes())
        (folder / "silence").mkdir(exist_ok=True)
        (folder / "silence" / f"1.{s.codec}").write_bytes((folder / f"prompt-0.{s.codec}").read_bytes())
    for j, m in enumerate(sources.MUSIC):  # every music set: two tracks in its own format, plus its excluded ones
        folder = root / m.folder.lstrip("/")
        folder.mkdir(parents=True)
        ext = m.pattern.rsplit(".", 1)[1]
        sr = {"wav": 8000, "mp3": 22050, "ogg": 44100}[ext]
        fmt = {"wav": "WAV", "mp3": "MP3", "ogg": "OGG"}[ext]
        for k, stem in enumerate(("a", "b") + m.exclude):
            x = _music(12.0, sr, 10 * j + k)
            sf.write(folder / f"{stem}.{ext}", x if ext == "wav" else np.stack([x] * 2, axis=1), sr, format=fmt)
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return _build_tree(tmp_path_factory.mktemp("sources"))


@pytest.fixture
def fake_sources(tree, monkeypatch):
    monkeypatch.setenv("NEUROFLOW_VAD_SOURCES", str(tree))
    return tree


def _installed() -> bool:
    import importlib.util

    return (importlib.util.find_spec("G722") is not None and all(sources.prompt_files(s) for s in sources.SPEAKERS)
            and all(sources.music_files(m) for m in sources.MUSIC))


needs_real = pytest.mark.skipif(not _installed(), reason="real speech packages (or the g722 decoder) not installed: "
                                                         "run `neuroflow vad sources --install`, pip install g722")


# ----------------------------------------------------------------------------- registry (no files needed)
def test_split_is_by_speaker_with_both_sexes_and_an_unseen_language():
    train, test = sources.speakers("train"), sources.speakers("test")
    assert {s.person for s in train}.isdisjoint({s.person for s in test})
    assert len({s.person for s in test}) >= 2 and {s.sex for s in test} == {"f", "m"}
    unseen = {s.language.split("-")[0] for s in test} - {s.language.split("-")[0] for s in train}
    assert unseen == {"ru"}
    assert {v.name for v in sources.speakers("train", "festival")}.isdisjoint(
        v.name for v in sources.speakers("test", "festival"))
    train_music, test_music = sources.music_sources("train"), sources.music_sources("test")
    assert len(train_music) >= 2 and len(test_music) >= 1
    assert {m.package for m in train_music}.isdisjoint(m.package for m in test_music)
    assert len(set(sources.all_packages())) == len(sources.all_packages())


def test_ci_installs_exactly_the_source_packages():
    import re

    text = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    listed = re.search(r'VAD_SOURCES="([^"]*)"', text).group(1).replace("\\\n", " ").split()
    assert listed == sources.all_packages()


# ----------------------------------------------------------------------------- index, missing and corrupt sources
def test_scan_counts_prompts_without_the_non_speech_files(fake_sources):
    index = packages.scan_sources()
    rows = {r["name"]: r for r in index.speakers}
    assert all(r["installed"] and r["n_files"] == 3 for r in rows.values())
    # G.722 at 64 kbit/s is 8000 bytes per second
    carlo = sources.prompt_files(sources.SPEAKERS[6])
    assert rows["it_IT_m_Carlo"]["minutes"] == pytest.approx(sum(p.stat().st_size for p in carlo) / 8000 / 60, abs=0.01)
    assert not any(p.stem == "beep" or "silence" in p.parts for p in carlo)
    assert [m["n_files"] for m in index.music] == [2] * len(sources.MUSIC)
    assert set(index.missing) >= {"festvox-kdlpc16k"}  # no Festival voices in the test tree
    assert json.loads(json.dumps(index.to_dict()))["speakers"][0]["codec"] == "g722"


def test_missing_package_is_one_line_naming_it_and_the_install_command(tmp_path, monkeypatch, capsys):
    from neuroflow.cli import main

    root = _build_tree(tmp_path / "t", prompts_per_speaker=1)
    shutil.rmtree(root / "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU")
    monkeypatch.setenv("NEUROFLOW_VAD_SOURCES", str(root))
    with pytest.raises(sources.SourceMissing, match="asterisk-core-sounds-ru-g722.*neuroflow vad sources --install"):
        generate_corpus(tmp_path / "c", minutes=0.2, split="test", speech="real", durations=(12.0,), progress=False)
    assert not (tmp_path / "c").exists()  # refused before any work
    assert main(["vad", "corpus", "--out", str(tmp_path / "c"), "--speech", "real", "--split", "test",
                 "--minutes", "0.2", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "asterisk-core-sounds-ru-g722" in err[0] and "--install" in err[0]
    # the training split does not need the missing package
    sources.require("train", real=True, music=True)


def test_corrupt_source_file_is_skipped_with_a_warning_and_listed(tmp_path, monkeypatch):
    root = _build_tree(tmp_path / "t", prompts_per_speaker=1)
    carlo = root / "usr/share/asterisk/sounds/it_IT_m_Carlo"
    (carlo / "broken.g722").write_bytes(b"")
    ru = root / "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU"
    (ru / "broken.g722").write_bytes(b"")
    monkeypatch.setenv("NEUROFLOW_VAD_SOURCES", str(root))
    with pytest.warns(UserWarning, match="broken.g722"):
        made = generate_corpus(tmp_path / "c", minutes=0.25, split="test", speech="real", durations=(15.0,),
                               noises=("white",), progress=False)
    manifest = json.loads((tmp_path / "c" / MANIFEST).read_text())
    assert made.n_scenes == 1 and sorted(Path(f).name for f in manifest["skipped_files"]) == ["broken.g722"] * 2
    assert manifest["scenes"][0]["n_utterances"] >= 1 and manifest["skipped_files"] == made.skipped_files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_or_device_among_the_source_files_is_skipped_not_waited_on(tmp_path, monkeypatch):
    import signal

    root = _build_tree(tmp_path / "t", prompts_per_speaker=1)
    ru = root / "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU"
    os.mkfifo(ru / "pipe.g722")  # the decoders waited forever on its open,
    (ru / "zero.g722").symlink_to("/dev/zero")  # and read this until the memory ran out
    monkeypatch.setenv("NEUROFLOW_VAD_SOURCES", str(root))

    def hung(signum, frame):
        raise TimeoutError("the corpus run waited on a source file")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with pytest.warns(UserWarning, match="is not a regular file"):
            made = generate_corpus(tmp_path / "c", minutes=0.25, split="test", speech="real", durations=(15.0,),
                                   noises=("white",), progress=False)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert made.n_scenes == 1 and sorted(Path(f).name for f in made.skipped_files) == ["pipe.g722", "zero.g722"]


# ----------------------------------------------------------------------------- conversation scenes
def _plan(**kw) -> ScenePlan:
    base = dict(index=0, name="B_0000", group="B", duration_s=12.0, snr_db=10.0, noise="white", stratum=1,
                target_fraction=0.5, seed=[3, 1, 0, 2], speech="real", split="test", background="roomtone")
    return ScenePlan(**{**base, **kw})


def test_conversation_layout_labels_and_determinism(fake_sources):
    plan = _plan()
    mix, labels, info = make_scene(plan)
    assert mix.dtype == np.float32 and len(mix) == 12 * 16000 and labels.shape == (1200,)
    lead = info["lead_in_s"]
    assert 2.0 <= lead <= 3.6 and not labels[: int(lead * 100)].any()  # several seconds of non-speech first
    assert labels[int(lead * 100) + 5] == 1  # the first prompt starts on its first word
    assert {s["name"] for s in info["speakers"]} <= {"it_IT_m_Carlo", "ru_RU_f_IvrvoiceRU"}
    assert all(0.2 <= p <= 2.0 for p in info["turn_pauses_s"])
    for u in info["utterances"]:  # prompts start on frame boundaries, one speaker of the scene each
        assert round(u["start_s"] * 16000) % HOP == 0 and u["speaker"] in {s["name"] for s in info["speakers"]}
    assert 0.1 < info["speech_fraction"] < 0.9 and info["skipped_files"] == []
    # the background is room tone at -80..-55 dBFS: the quietest frames sit there, not at digital silence
    quiet = 10 * np.log10(np.mean(mix[: 16000].astype(np.float64) ** 2))
    assert -95 < quiet < -5
    again = make_scene(plan)
    np.testing.assert_array_equal(again[0], mix)
    np.testing.assert_array_equal(again[1], labels)
    # clean over digital silence: exact zeros before the first word
    clean, clean_labels, _ = make_scene(_plan(noise="none", snr_db=math.inf, background="silence"))
    assert not np.any(clean[: 2 * 16000]) and np.array_equal(clean_labels, labels)


def test_noise_after_digital_silence_starts_late(fake_sources):
    mix, _, info = make_scene(_plan(background="silence", snr_db=0.0))
    onset = info["noise_onset_s"]
    assert 0.5 <= onset <= 3.0
    assert not np.any(mix[: int(onset * 16000) - 1]) and np.any(mix[int(onset * 16000) + 400:])


def test_music_is_recorded_and_split(fake_sources):
    rng = np.random.default_rng(0)
    train = sources.music_excerpt("train", 40000, rng)
    test = sources.music_excerpt("test", 40000, np.random.default_rng(0))
    assert train.dtype == np.float32 and len(train) == 40000
    assert np.sqrt(np.mean(train.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)
    assert not np.allclose(train[:1000], test[:1000])
    np.testing.assert_array_equal(sources.music_excerpt("test", 40000, np.random.default_rng(0)), test)


def test_music_with_singing_is_left_out(fake_sources):
    drascula = next(m for m in sources.MUSIC if m.package == "drascula-music")
    names = {p.stem for p in sources.music_files(drascula)}
    assert names == {"a", "b"} and drascula.exclude and names.isdisjoint(drascula.exclude)
    assert len(list((fake_sources / drascula.folder.lstrip("/")).glob("*.ogg"))) == 2 + len(drascula.exclude)


def test_speech_free_scenes_and_real_corpus_roundtrip(fake_sources, tmp_path):
    plans = plan_corpus(0.5, "test", 2, speech="real", durations=(15.0,))
    assert {p.background for p in plans} <= {"roomtone", "silence"} and all(p.speech == "real" for p in plans)
    generate_corpus(tmp_path / "real", minutes=0.25, split="test", speech="real", durations=(15.0,),
                    noises=("music",), progress=False)
    scene = load_corpus(tmp_path / "real")[0]
    assert scene.noise == "music" and scene.split == "test" and len(scene.labels) == len(scene.wav) // HOP
    generate_corpus(tmp_path / "none", minutes=0.1, split="test", speech="none", durations=(3.0,),
                    noises=("music",), progress=False)
    c = load_corpus(tmp_path / "none")
    assert all(s.snr_db == -math.inf and not s.labels.any() for s in c)
    assert json.loads((tmp_path / "none" / MANIFEST).read_text())["scenes"][0]["snr_db"] == "-inf"


def test_benchmark_set_is_deterministic_and_readable(fake_sources, tmp_path):
    from neuroflow.vad.realspeech import BENCHMARK_NOISES, benchmark_plans, benchmark_set

    full = benchmark_plans(0)
    assert len(full["speech"]) == 2 * (1 + len(BENCHMARK_NOISES) * 5) == 92
    conditions = {(p.noise, p.snr_db) for p in full["speech"]}
    assert ("none", math.inf) in conditions and ("music", -5.0) in conditions and ("white", 20.0) in conditions
    small = benchmark_plans(0, noises=("music",), snrs=(0,))
    by_condition = {(p.noise, p.snr_db, tuple(p.seed)) for p in full["speech"]}
    assert all((p.noise, p.snr_db, tuple(p.seed)) in by_condition for p in small["speech"])
    made = benchmark_set(tmp_path / "b", 1, scenes_per_condition=1, duration_s=10.0, nonspeech_files=1,
                         noises=("music",), snrs=(0,), progress=False)
    again = benchmark_set(tmp_path / "b2", 1, scenes_per_condition=1, duration_s=10.0, nonspeech_files=1,
                          noises=("music",), snrs=(0,), progress=False)
    for name in ("speech", "music", "roomtone"):
        a, b = Corpus(getattr(made, name)), Corpus(getattr(again, name))
        assert [s.path.read_bytes() for s in a] == [s.path.read_bytes() for s in b]
    assert len(Corpus(made.speech)) == 2
    assert not any(s.labels.any() for s in Corpus(made.music)) and not any(s.labels.any() for s in Corpus(made.roomtone))


# ----------------------------------------------------------------------------- room tone
def test_room_tone_levels_families_and_transients():
    a = room_tone(16000 * 5, 1, "train", level_db=-70.0).astype(np.float64)
    b = room_tone(16000 * 5, 1, "test", level_db=-70.0).astype(np.float64)
    np.testing.assert_array_equal(a, room_tone(16000 * 5, 1, "train", level_db=-70.0))
    assert not np.allclose(a, b)
    from neuroflow.vad.features import frame_energy_db

    for family in ("train", "test"):
        peaks = []
        for seed in range(4):
            energy = frame_energy_db(room_tone(16000 * 10, seed, family, level_db=-70.0))
            assert -78 < np.median(energy) < -62  # the floor at -70 dBFS, wandering by a few dB
            peaks.append(np.max(energy) - np.median(energy))
        assert max(peaks) > 10  # transients stand out of the floor
    drawn = [np.median(frame_energy_db(room_tone(16000 * 3, s))) for s in range(6)]
    assert all(-90 < d < -47 for d in drawn) and max(drawn) - min(drawn) > 3  # levels drawn in -80..-55 dBFS
    with pytest.raises(ValueError, match="family"):
        room_tone(100, 0, "office")
    with pytest.raises(ValueError, match="level_db"):
        room_tone(100, 0, level_db=float("nan"))
    with pytest.raises(ValueError, match="n_samples"):
        room_tone(0, 0)


# ----------------------------------------------------------------------------- install
def test_install_runs_apt_once_and_reports_failures(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROFLOW_VAD_SOURCES", str(tmp_path))  # nothing installed there
    monkeypatch.setattr(packages, "_package_versions", lambda: {})
    monkeypatch.setattr(packages._package_versions, "cache_clear", lambda: None, raising=False)
    monkeypatch.setattr(packages.shutil, "which", lambda name: "/usr/bin/" + name if name == "apt-get" else None)
    calls = []

    class Done:
        returncode, stdout, stderr = 0, "", ""

    def runner(cmd, **kw):
        calls.append(cmd)
        return Done()

    result = packages.install_sources(["asc-music", "asterisk-prompt-es-co"], runner=runner)
    assert [c[c.index("apt-get") + 1] for c in calls] == ["update", "install"]
    assert calls[-1][-2:] == ["asc-music", "asterisk-prompt-es-co"] and "--no-install-recommends" in calls[-1]
    assert result.installed == [] and "asc-music" in result.index.missing

    class Failed:
        returncode, stdout, stderr = 100, "", "E: Unable to locate package asc-music"

    with pytest.raises(OSError, match="apt-get update.*Unable to locate"):
        packages.install_sources(["asc-music"], runner=lambda cmd, **kw: Failed())
    with pytest.raises(ValueError, match="packages"):
        packages.install_sources(["not-a-source"])


# ----------------------------------------------------------------------------- the installed packages
@needs_real
def test_real_prompts_decode_start_on_the_first_word_and_match_the_measured_floor():
    from neuroflow.vad.labels import PROMPT_THRESHOLD_DB, frame_activity, smooth_activity

    for s in sources.SPEAKERS:
        files = sources.usable_prompts(s)
        assert len(files) > 250, s.name
        leads, fractions = [], []
        for f in files[:: len(files) // 12][:12]:
            wav = sources.try_load(f, s.codec, [])
            assert wav is not None and wav.dtype == np.float32 and 0.3 <= len(wav) / 16000 <= 12.5, f
            labels = smooth_activity(frame_activity(wav, PROMPT_THRESHOLD_DB, floor_db=s.noise_floor_db))
            leads.append(np.argmax(labels) / 100)
            fractions.append(labels.mean())
        assert np.median(leads) <= 0.1 and np.median(fractions) > 0.75, s.name  # trimmed to the first word
    # the recorded floor constants are what the installed recordings give (one GSM set, checked in full)
    armelle = sources.SPEAKERS[5]
    assert sources.measure_noise_floor(armelle) == pytest.approx(armelle.noise_floor_db, abs=0.5)


@needs_real
def test_real_test_split_scene_holds_only_held_out_speakers(tmp_path):
    mix, labels, info = make_scene(_plan(seed=[0, 1, 0, 2], noise="music", snr_db=5.0))
    assert {s["person"] for s in info["speakers"]} <= {"Carlo", "IvrvoiceRU"}
    assert info["skipped_files"] == [] and labels.any() and np.isfinite(mix).all()
    train = make_scene(_plan(seed=[0, 0, 0, 2], split="train", group="A", noise="none", snr_db=math.inf))[2]
    assert {s["person"] for s in train["speakers"]}.isdisjoint({"Carlo", "IvrvoiceRU"})


@pytest.mark.skipif(shutil.which("text2wave") is None or not sources.festival_available(sources.FESTIVAL_VOICES[0]),
                    reason="festival and festvox-kallpc16k not installed (neuroflow vad sources --install)")
def test_festival_is_deterministic_and_names_bad_voices():
    from neuroflow.vad.festival import FestivalError, synthesize_festival

    a = synthesize_festival("Where is the red lamp?", "kal_diphone")
    assert a.dtype == np.float32 and 0.5 < len(a) / 16000 < 4 and np.max(np.abs(a)) == pytest.approx(0.5)
    np.testing.assert_array_equal(a, synthesize_festival("Where is the red lamp?", "kal_diphone"))
    with pytest.raises(FestivalError, match="nonexistent"):
        synthesize_festival("Hello.", "nonexistent")


@pytest.mark.skipif(not sources.music_files(sources.music_sources("test")[0]),
                    reason="the held-out music package (asc-music) is not installed")
def test_compressed_tracks_load_although_their_header_counts_are_estimates():
    # the MP3 header of every asc-music track promises a few thousand samples more than its decoder yields
    track = sources.music_files(sources.music_sources("test")[0])[0]
    wav = sources.load_recording(track, "mp3")
    assert wav.dtype == np.float32 and len(wav) > 60 * 16000 and np.isfinite(wav).all()


def test_gate_bands_switches_the_high_or_low_bands_off_and_on():
    """White noise through the band gate: in 0.25 s blocks, the energy above 5.5 kHz (past every low-pass)
    or below 100 Hz (under every high-pass) swings by more than 20 dB between blocks, while the bands the
    filter keeps stay within 6 dB; full-band blocks are the input itself."""
    from neuroflow.vad.augment import gate_bands

    x = np.random.default_rng(0).standard_normal(16000 * 12)
    highs = 0
    for seed in range(8):
        y = gate_bands(x, np.random.default_rng(seed))
        spec = np.abs(np.fft.rfft(y.reshape(-1, 4000), axis=1)) ** 2
        f = np.fft.rfftfreq(4000, 1 / 16000)
        db = lambda sel: 10 * np.log10(spec[:, sel].sum(axis=1))  # noqa: E731
        high, low, mid = db(f > 5500), db(f < 100), db((f > 700) & (f < 900))
        highs += bool(np.ptp(high) > 20)
        assert (np.ptp(high) > 20) != (np.ptp(low) > 20) and np.ptp(mid) < 6
        assert any(np.allclose(a[500:-500], b[500:-500]) for a, b in zip(y.reshape(-1, 4000), x.reshape(-1, 4000)))
    assert 0 < highs < 8  # both kinds of gate occur


def test_gated_pieces_are_speech_free_seeded_and_enter_training_data(fake_sources, check_speech_free_pieces):
    from neuroflow.vad import sequences
    from neuroflow.vad.recipe import Recipe

    check_speech_free_pieces("gated", ("gated",), (4, 12), (-46.0, -14.0))
    with pytest.raises(ValueError, match="gated"):
        Recipe(gated=-0.1)
    feats = Recipe().features()
    gated = sequences.speech_free_sequences("gated", 12.0, feats, seed=2)
    assert all(400 <= len(f) <= 1200 and not y.any() for f, y in zip(gated.feats, gated.labels))
    assert all(n.startswith("gated_gated_") for n in gated.names)


def test_a_decoders_notes_on_a_damaged_frame_stay_off_the_terminal(fake_sources, monkeypatch, capfd):
    import os

    import soundfile

    class Noisy(soundfile.SoundFile):  # like libmpg123, which writes to descriptor 2 and decodes on
        def read(self, *args, **kwargs):
            os.write(2, b"[src/libmpg123/layer3.c] error: part2_3_length too large\n")
            return super().read(*args, **kwargs)

    monkeypatch.setattr(soundfile, "SoundFile", Noisy)
    x = sources.music_excerpt("train", 16000, np.random.default_rng(0))
    assert len(x) == 16000
    assert "libmpg123" not in capfd.readouterr().err


def test_the_sources_variable_set_empty_is_unset(tmp_path, monkeypatch):
    """NEUROFLOW_VAD_SOURCES= (empty, as `VAR= cmd` or an unset shell variable exported gives it) put the sources
    under the current folder: every package read as "not installed", and installing them could not help."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEUROFLOW_VAD_SOURCES", raising=False)
    unset = packages.scan_sources().to_dict()
    monkeypatch.setenv("NEUROFLOW_VAD_SOURCES", "")
    assert sources.under_root("/usr/share/x") == Path("/usr/share/x")
    assert packages.scan_sources().to_dict() == unset and sources.root_note() == ""


def test_plots_of_real_speech_name_their_bad_arguments(fake_sources, tmp_path):
    """plot_prompt_labels: seed "x" was int()'s error and 1.5 drawn as seed 1, per_speaker -1 numpy's "negative
    dimensions", and a split "B" (the test split's older name) or "dev" picked no speaker and was called "no real
    speaker is installed"; plot_scene of a folder was "'str' object has no attribute 'wav'"."""
    from neuroflow.vad.realspeech import plot_prompt_labels, plot_scene

    png = tmp_path / "p.png"
    for kwargs, match in ((dict(seed="x"), "^seed: "), (dict(seed=1.5), "^seed: "), (dict(seed=-1), "^seed: "),
                          (dict(per_speaker=-1), "^per_speaker: "), (dict(per_speaker=0), "^per_speaker: "),
                          (dict(split="dev"), "^split: ")):
        with pytest.raises(ValueError, match=match):
            plot_prompt_labels(png, **kwargs)
    assert not png.exists()
    assert plot_prompt_labels(png, per_speaker=1, split="B", seed=np.int64(1)) == png and png.stat().st_size > 0
    with pytest.raises(TypeError, match="^scene: expected a corpus scene"):
        plot_scene(str(tmp_path), png)


def test_a_dpkg_query_that_does_not_answer_is_an_error_not_versions_of_none(fake_sources, tmp_path, monkeypatch,
                                                                          capsys):
    """A dpkg-query past its 30 s (or one that could not run) gave no versions at all: the manifest of a real-speech
    corpus recorded every source at version None, and a resumed run was refused as "a corpus with other settings"."""
    import subprocess

    from neuroflow.cli import main

    def slow(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs.get("timeout"))

    monkeypatch.setattr(packages.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(packages.subprocess, "run", slow)
    packages._package_versions.cache_clear()
    try:
        with pytest.raises(ValueError, match="^dpkg-query gave no answer within 30 s"):
            generate_corpus(tmp_path / "c", minutes=0.2, split="train", speech="real", durations=(12.0,),
                            progress=False)
        assert not (tmp_path / "c").exists()
        assert main(["vad", "sources", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "dpkg-query gave no answer" in err, err
    finally:
        packages._package_versions.cache_clear()
