"""The low-level helpers of neuroflow.vad (noise generators, framing, resampling, augmentations) name the argument
they refuse, once at their entry: each case below was a raw error from deep inside numpy or scipy (AttributeError,
TypeError, "len() of unsized object", "in1 and in2 should have the same dimensionality"), or silently wrong."""
from __future__ import annotations

import numpy as np
import pytest

from neuroflow.vad import audio, augment, features, labels, noise

WAV = np.zeros(1600, np.float32)


def _cases():
    rng = np.random.default_rng(0)
    return [  # (call, the argument the message must start with)
        (lambda: noise.white("x", rng), "n"),               # numpy's "'str' object cannot be interpreted as an integer"
        (lambda: noise.pink(-5, rng), "n"),                 # "negative dimensions are not allowed"
        (lambda: noise.brown(None, rng), "n"),              # "tuple index out of range" (pocketfft)
        (lambda: noise.white(100, "a"), "rng"),             # "'str' object has no attribute 'standard_normal'"
        (lambda: noise.car(100, 1.5), "rng"),               # "'float' object has no attribute 'uniform'"
        (lambda: noise.street(2.5, rng), "n"),              # arange() of a float count
        (lambda: noise.music(100, rng, group="C"), "group"),  # taken as group B's held-out music
        (lambda: noise.reverberate("a", np.ones(3)), "wav"),  # "in1 and in2 should have the same dimensionality"
        (lambda: noise.reverberate(np.zeros((2, 5)), np.ones(3)), "wav"),
        (lambda: noise.reverberate(WAV, None), "rir"),
        (lambda: audio.resample("abc", 8000), "wav"),       # "tuple index out of range"
        (lambda: audio.resample(np.zeros((3, 100)), 8000), "wav"),  # resampled along the last axis, silently
        (lambda: audio.resample(WAV, "x"), "sr"),           # "invalid literal for int()"
        (lambda: audio.resample(WAV, 0), "sr"),             # scipy's "Invalid cutoff frequency"
        (lambda: audio.resample(WAV, 16000, None), "target_sr"),
        (lambda: audio.write_audio("never/x.wav", "ab"), "wav"),  # "could not convert string to float"
        (lambda: audio.write_audio("never/x.wav", np.zeros((3, 100, 2))), "wav"),  # soundfile's "Invalid shape"
        (lambda: features.frame_times("x"), "n"),           # "invalid literal for int()"
        (lambda: features.frame_times(-3), "n"),            # no frames, silently
        (lambda: features.frame_signal(None), "wav"),       # "len() of unsized object"
        (lambda: features.frame_signal(np.zeros((2, 1600))), "wav"),  # "all the input arrays must have same ..."
        (lambda: features.frame_signal(WAV, "x"), "frame_length"),
        (lambda: features.frame_signal(WAV, -4), "frame_length"),  # "negative dimensions are not allowed"
        (lambda: features.frame_signal(WAV, 120), "frame_length"),  # the same, from the buffer's length
        (lambda: features.frame_signal(WAV, 400, -1), "history"),  # windows a sample short, silently
        (lambda: features.frame_energy_db("abc"), "wav"),   # "could not convert string to float"
        (lambda: features.normalize(np.zeros(50), "floor"), "feats"),  # "tuple index out of range"
        (lambda: features.normalize(np.zeros(50), "running"), "feats"),  # "invalid index to scalar variable"
        (lambda: features.normalize(np.zeros(50), "utterance"), "feats"),  # one band of 50 frames, silently
        (lambda: features.normalize("abc"), "feats"),
        (lambda: augment.random_gain(WAV, 3.0, 1.5), "rng"),  # "'float' object has no attribute 'uniform'"
        (lambda: augment.random_gain(WAV, "x", rng), "gain_db"),  # "'<=' not supported"
        (lambda: augment.random_gain("abc", 3.0, rng), "wav"),  # "can't multiply sequence"
        (lambda: augment.excerpt_bounds("x", rng), "n"),    # "'<' not supported"
        (lambda: augment.excerpt_bounds(-3, rng), "n"),     # (0, -3), silently
        (lambda: augment.excerpt_bounds(100, "a"), "rng"),  # "'str' object has no attribute 'uniform'"
        (lambda: augment.music_piece("x", rng), "n"),
        (lambda: augment.music_piece(100, "a"), "rng"),
        (lambda: augment.gate_bands(WAV, "a"), "rng"),      # "'str' object has no attribute 'random'"
        (lambda: augment.gate_bands(np.zeros((2, 1600)), rng), "wav"),  # a broadcasting error after the filtering
        (lambda: augment.speech_free_pieces("zzz", 3.0), "kind"),  # only when the first piece was read
        (lambda: augment.speech_free_pieces("noise", "x"), "seconds"),  # "'<' not supported", when read
        (lambda: augment.speech_free_pieces("noise", 3.0, seed=-1), "seed"),  # numpy's "expected non-negative ..."
        (lambda: augment.speech_free_pieces("noise", 3.0, group="Z"), "group"),
        (lambda: labels.trim_silence(None), "wav"),         # "bad operand type for abs(): 'NoneType'"
        (lambda: labels.trim_silence(np.ones((2, 5))), "wav"),  # cut by flat indices, silently
        (lambda: labels.trim_silence(WAV, "x"), "threshold_db"),
        (lambda: features.check_floor_settings(150, "x"), "floor_smooth"),  # float()'s "could not convert"
        (lambda: features.floor_state("x"), "n_bands"),     # "invalid literal for int()"
    ]


N_CASES = 49


@pytest.mark.parametrize("case", range(N_CASES))
def test_a_helper_names_the_argument_it_refuses_at_the_call(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = _cases()
    assert len(cases) == N_CASES
    call, name = cases[case]
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value).startswith(f"{name}: "), str(info.value)
    assert not (tmp_path / "never").exists()  # write_audio refuses before it makes a folder


def test_checked_helpers_give_the_numbers_they_gave():
    """The checks convert nothing: float32 stays float32 and a Generator is used as it is, so seeded calls draw what
    they drew; an int seed is now taken as one."""
    from scipy.signal import fftconvolve

    wav = np.random.default_rng(1).standard_normal(3200).astype(np.float32)
    assert np.array_equal(noise.white(500, np.random.default_rng(3)),
                          noise._unit_rms(np.random.default_rng(3).standard_normal(500)))
    assert np.array_equal(noise.white(500, 3), noise.white(500, np.random.default_rng(3)))
    assert np.array_equal(augment.random_gain(wav, 6.0, np.random.default_rng(2)),
                          wav * np.float32(10 ** (np.random.default_rng(2).uniform(-6.0, 6.0) / 20)))
    assert augment.random_gain(wav, 0.0, None) is wav
    assert features.frame_signal(wav).dtype == np.float32 and features.frame_signal(wav).shape == (20, 400)
    assert audio.resample(wav, 16000) is wav
    rir = np.array([1.0, 0.5, 0.25], np.float32)
    assert np.array_equal(noise.reverberate(wav, rir), fftconvolve(wav, rir)[:3200].astype(np.float32))
    pieces = augment.speech_free_pieces("noise", 1.0, seed=np.int64(4))
    assert not isinstance(pieces, list) and len(next(pieces)[0]) > 0
