"""Audio loading: formats, resampling, mixdown, and errors that name the file."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from neuroflow.vad.audio import AudioError, load_audio, prepare, to_mono, write_audio


def _tone(sr, seconds=1.0, f=440.0, amp=0.5):
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * f * t)).astype(np.float32)


def test_stereo_int16_44k_becomes_mono_float32_16k(tmp_path):
    x = _tone(44100)
    stereo = np.stack([x, 0.5 * x], axis=1)
    path = tmp_path / "s.wav"
    sf.write(path, stereo, 44100, subtype="PCM_16")
    wav, sr = load_audio(path)
    assert sr == 16000 and wav.dtype == np.float32 and wav.ndim == 1
    assert abs(len(wav) - 16000) <= 1
    # mixdown is the channel mean: amplitude 0.75 * 0.5
    mid = wav[2000:-2000]
    assert np.max(np.abs(mid)) == pytest.approx(0.375, abs=0.01)


@pytest.mark.parametrize("fmt,subtype", [("FLAC", "PCM_24"), ("WAV", "FLOAT"), ("OGG", "VORBIS")])
def test_other_formats(tmp_path, fmt, subtype):
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, _tone(8000), 8000, format=fmt, subtype=subtype)
    wav, sr = load_audio(path)
    assert sr == 16000 and abs(len(wav) - 16000) <= 2
    assert 0.3 < np.max(np.abs(wav)) < 0.7


def test_write_then_read_roundtrip(tmp_path):
    x = _tone(16000)
    path = write_audio(tmp_path / "sub" / "x.wav", x)
    wav, _ = load_audio(path)
    assert np.max(np.abs(wav - x)) < 1e-3
    assert not list(tmp_path.rglob("*.part"))


def test_missing_empty_and_garbage_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        load_audio(tmp_path / "nope.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty.wav"):
        load_audio(empty)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioError, match="junk.wav"):
        load_audio(junk)
    silent = tmp_path / "zero.wav"
    sf.write(silent, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="zero.wav"):
        load_audio(silent)
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)


def test_prepare_rejects_bad_arrays():
    with pytest.raises(AudioError, match="NaN"):
        prepare(np.array([0.0, np.nan]), 16000)
    with pytest.raises(AudioError, match="dtype"):
        prepare(np.array(["a", "b"]), 16000)
    with pytest.raises(AudioError, match="sr"):
        prepare(np.zeros(10), 0)
    with pytest.raises(AudioError, match="shape"):
        prepare(np.zeros((2, 2, 2)), 16000)
    # integer PCM is scaled to [-1, 1]
    out = prepare(np.array([-32768, 0, 16384], dtype=np.int16), 16000)
    assert out.tolist() == [-1.0, 0.0, 0.5]
    # channels-first stereo (librosa layout) is mixed down too
    assert to_mono(np.ones((2, 100))).shape == (100,)


def test_a_damaged_mp3_is_one_error_and_no_decoder_chatter(tmp_path, capfd):
    bad = tmp_path / "song.mp3"
    bad.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x0a" + bytes(range(256)) * 40)  # a tag, then no MPEG frames
    with pytest.raises(AudioError) as exc:
        load_audio(bad)
    message = str(exc.value)
    assert message.startswith(f"{bad}: cannot read audio") and "\n" not in message
    assert "not a regular file" not in message  # libsndfile's words for "no decoder", about a file that is one
    assert capfd.readouterr().err == ""  # libmpg123's resync notes went nowhere
