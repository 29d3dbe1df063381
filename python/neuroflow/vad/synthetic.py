"""The speech track of an eSpeak scene, laid out the way QUT-NOISE-TIMIT lays out its scenes.

1. Utterances (built-in sentences, 2-4 speakers of the scene's group) are synthesised until their total
   length reaches the scene's speech proportion. Each utterance is merged with the previous one with
   probability 0.5, overlapping it by U(0, 1) s; otherwise it starts a new segment.
2. Gaps U(0, 1) s are drawn before, between and after the segments and scaled so the segments and gaps
   fill the scene exactly.
3. Labels: :func:`neuroflow.vad.labels.speech_labels` of the whole clean track (threshold 40 dB).

Sentences never repeat within a scene; scenes are independent of each other (each draws only from its
own seed), so they can be made in any order, on any worker.
"""
from __future__ import annotations

import numpy as np

from neuroflow.vad.audio import SAMPLE_RATE
from neuroflow.vad.labels import speech_labels, trim_silence


def espeak_track(n: int, target_fraction: float, group: str, rng) -> tuple[np.ndarray, np.ndarray, dict]:
    """Clean speech of ``n`` samples (float64, peak about 0.5), its labels, and what was said.

    ``rng`` is the scene's Generator; the eSpeak engine is reset first, so the result depends only on it.
    """
    from neuroflow.vad.speech import SentenceGenerator, engine, random_voice, synthesize

    engine().reset()  # eSpeak's output depends on its history; a fresh engine makes a scene a function of its seed
    target = target_fraction * n
    speakers = [random_voice(group, rng) for _ in range(int(rng.integers(2, 5)))]
    sentences = SentenceGenerator(group, rng)
    segments: list[np.ndarray] = []
    utterances = []
    speech_len = 0
    while speech_len < target:
        voice = speakers[int(rng.integers(len(speakers)))]
        text = sentences.sentence()
        wav = trim_silence(synthesize(text, voice)).astype(np.float64)
        utterances.append({"text": text, "voice": voice.name, "pitch": voice.pitch, "rate": voice.rate})
        if segments and rng.random() < 0.5:
            prev = segments[-1]
            overlap = min(int(rng.uniform(0.0, 1.0) * SAMPLE_RATE), len(prev) // 2, len(wav) // 2)
            merged = np.zeros(len(prev) + len(wav) - overlap)
            merged[: len(prev)] += prev
            merged[len(prev) - overlap:] += wav
            speech_len += len(merged) - len(prev)
            segments[-1] = merged
        else:
            segments.append(wav)
            speech_len += len(wav)
    # never more speech than the scene holds: shorten the last segment if needed
    excess = sum(len(s) for s in segments) - n
    if excess > 0:
        segments[-1] = segments[-1][: max(len(segments[-1]) - excess, 0)]
    gaps = rng.uniform(0.0, 1.0, size=len(segments) + 1)
    room = n - sum(len(s) for s in segments)
    gaps = np.floor(gaps / gaps.sum() * room).astype(int)
    track = np.zeros(n)
    pos = 0
    for gap, seg in zip(gaps[:-1], segments):
        pos += int(gap)
        track[pos:pos + len(seg)] = seg
        pos += len(seg)
    info = {"n_utterances": len(utterances), "n_segments": len(segments),
            "voices": sorted({u["voice"] for u in utterances}), "utterances": utterances}
    return track, speech_labels(track), info
