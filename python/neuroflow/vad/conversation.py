"""The speech track of a conversation scene: real prompts (or Festival sentences) of one split's speakers, taking turns.

Layout of one scene of ``n`` samples:

1. *Speakers.* Two people of the split (three with probability 0.3 when the split has three), each at
   its own level, U(-4, 4) dB around the scene's; a person recorded in two languages (Allison) speaks
   one of them per scene. Festival scenes take two voices of the split (one where it has one).
2. *Lead-in and tail.* The first word comes after U(2, 6) s of non-speech (at most 30 % of the scene),
   and the scene ends with U(0.5, 2) s (at most 10 %).
3. *Turns.* A turn is 1-3 prompts of one speaker, U(0.1, 0.6) s apart; the next turn is another
   speaker's, after a turn-taking pause of U(0.2, 2) s. Turns are added until the speech reaches the
   scene's speech proportion of the time between lead-in and tail; what time is left goes to one to
   three longer lulls at random turn boundaries (or to the end), so most pauses stay 0.2-2 s.
4. *Placement and labels.* Each prompt starts on a frame boundary (a multiple of 160 samples), gets
   5 ms fades, and its activity comes from the prompt alone (:mod:`neuroflow.vad.labels`: within 35 dB
   of its own reference and 10 dB above its speaker's noise floor); the 150 ms gap filling and 50 ms
   hangover then run over the scene's frames.

Prompts are drawn without replacement within a scene, from 0.3-12 s prompts of the speaker. A prompt
that cannot be read is skipped with a warning and listed in the scene's ``skipped_files``; the scene
goes on with the next prompt.
"""
from __future__ import annotations

import numpy as np

from neuroflow.vad.audio import SAMPLE_RATE
from neuroflow.vad.features import HOP
from neuroflow.vad.labels import PROMPT_THRESHOLD_DB, frame_activity, smooth_activity, trim_silence
from neuroflow.vad.sources import Speaker, speakers, try_load, under_root, usable_prompts

GROUP_OF_SPLIT = {"train": "A", "test": "B"}
_FADE = int(0.005 * SAMPLE_RATE)


class _Talker:
    """One speaker of a scene: a shuffled queue of prompts (or sentences) and a level offset."""

    def __init__(self, speaker: Speaker, rng, skipped: list[str], group: str):
        self.speaker = speaker
        self.rng = rng
        self.skipped = skipped
        self.offset_db = float(rng.uniform(-4.0, 4.0))
        if speaker.real:
            files = usable_prompts(speaker)
            self.queue = [files[i] for i in rng.permutation(len(files))]
            self.sentences = None
        else:
            from neuroflow.vad.speech import SentenceGenerator

            self.queue = None
            self.sentences = SentenceGenerator(group, rng)

    def next(self, max_samples: int):
        """``(wav float64, description)`` of the next utterance no longer than ``max_samples``, or None when the
        speaker has none left."""
        if self.sentences is not None:
            from neuroflow.vad.festival import synthesize_festival

            for _ in range(5):
                text = self.sentences.sentence()
                wav = trim_silence(synthesize_festival(text, self.speaker.name))
                if len(wav) <= max_samples:
                    return wav.astype(np.float64), {"speaker": self.speaker.name, "text": text}
            return None
        while self.queue:
            path = self.queue.pop(0)
            wav = try_load(path, self.speaker.codec, self.skipped)
            if wav is None or len(wav) < HOP * 3 or len(wav) > max_samples or not np.any(wav):
                continue
            rel = path.relative_to(under_root(self.speaker.folder)).as_posix()
            return wav.astype(np.float64), {"speaker": self.speaker.name, "file": f"{self.speaker.name}/{rel}"}
        return None


def _pick_talkers(split: str, kind: str, rng, skipped: list[str], group: str) -> list[_Talker]:
    pool = speakers(split, kind)
    persons = list(dict.fromkeys(s.person for s in pool))
    k = min(len(persons), 3 if len(persons) >= 3 and rng.random() < 0.3 else 2)
    chosen = [persons[i] for i in sorted(rng.choice(len(persons), size=k, replace=False))]
    talkers = []
    for person in chosen:
        options = [s for s in pool if s.person == person]
        talkers.append(_Talker(options[int(rng.integers(len(options)))], rng, skipped, group))
    return talkers


def conversation_track(n: int, target_fraction: float, split: str, kind: str, rng,
                       skipped: list[str]) -> tuple[np.ndarray, np.ndarray, dict]:
    """Clean conversation of ``n`` samples (float64), labels per frame, and what was said where.

    ``kind`` is "real" (recorded prompts) or "festival"; ``skipped`` collects unreadable files.
    """
    group = GROUP_OF_SPLIT[split]
    talkers = _pick_talkers(split, kind, rng, skipped, group)
    duration = n / SAMPLE_RATE
    lead = int(min(rng.uniform(2.0, 6.0), 0.3 * duration) * SAMPLE_RATE)
    tail = int(min(rng.uniform(0.5, 2.0), 0.1 * duration) * SAMPLE_RATE)
    room = n - lead - tail
    target = target_fraction * room
    turns: list[tuple[int, list]] = []
    speech, current, exhausted = 0, int(rng.integers(len(talkers))), set()
    while speech < target and len(exhausted) < len(talkers):
        turn = []
        for _ in range(int(rng.integers(1, 4))):
            utt = talkers[current].next(room - HOP)
            if utt is None:
                exhausted.add(current)
                break
            turn.append(utt)
            speech += len(utt[0])
            if speech >= target:
                break
        if turn:
            turns.append((current, turn))
        others = [i for i in range(len(talkers)) if i != current and i not in exhausted] or [current]
        current = others[int(rng.integers(len(others)))]
    if not turns:
        names = ", ".join(t.speaker.name for t in talkers)
        raise ValueError(f"no readable prompts left for speakers {names} (see the warnings)")
    # pauses inside turns and between turns, then trim to fit and spread what is left over as lulls
    inner = [[int(rng.uniform(0.1, 0.6) * SAMPLE_RATE) for _ in turn[1:]] for _, turn in turns]
    between = [int(rng.uniform(0.2, 2.0) * SAMPLE_RATE) for _ in turns[1:]]

    def used() -> int:
        return (sum(len(u[0]) for _, t in turns for u in t) + sum(map(sum, inner)) + sum(between)
                + HOP * sum(len(t) for _, t in turns))  # frame alignment costs at most a frame per prompt

    while turns and used() > room:
        _, last = turns[-1]
        last.pop()
        if inner[-1]:
            inner[-1].pop()
        if not last:
            turns.pop()
            inner.pop()
            if between:
                between.pop()
    lulls = np.zeros(len(turns))  # extra pause after turn i (the last entry: before the tail)
    spare = room - used()
    k = int(rng.integers(1, 4))
    where = rng.choice(len(turns), size=min(k, len(turns)), replace=False)
    lulls[where] = rng.dirichlet(np.ones(len(where))) * spare
    track = np.zeros(n)
    active = np.zeros(n // HOP, bool)
    placed = []
    pos = lead
    for t, (who, turn) in enumerate(turns):
        talker = talkers[who]
        gain = 10 ** (talker.offset_db / 20)
        for j, (wav, desc) in enumerate(turn):
            pos = -(-pos // HOP) * HOP  # start on a frame boundary
            act = frame_activity(wav, PROMPT_THRESHOLD_DB, floor_db=talker.speaker.noise_floor_db)
            level = float(np.sqrt(np.mean(wav[: len(act) * HOP].reshape(-1, HOP)[act] ** 2))) if act.any() else 0.0
            w = wav * (gain * 0.1 / level if level > 0 else 0.0)
            ramp = min(_FADE, len(w) // 2)
            w[:ramp] *= np.linspace(0.0, 1.0, ramp)
            w[len(w) - ramp:] *= np.linspace(1.0, 0.0, ramp)
            end = min(pos + len(w), n)
            track[pos:end] = w[: end - pos]
            f0 = pos // HOP
            f1 = min(f0 + len(act), len(active))
            active[f0:f1] |= act[: f1 - f0]
            placed.append({**desc, "start_s": round(pos / SAMPLE_RATE, 3), "duration_s": round(len(w) / SAMPLE_RATE, 3),
                           "turn": t})
            pos += len(w)
            if j < len(turn) - 1:
                pos += inner[t][j]
        pos += int(lulls[t]) + (between[t] if t < len(between) else 0)
    labels = smooth_activity(active)
    info = {"speakers": [{"name": tk.speaker.name, "person": tk.speaker.person, "language": tk.speaker.language,
                          "sex": tk.speaker.sex, "package": tk.speaker.package, "level_offset_db": round(tk.offset_db, 2)}
                         for tk in talkers],
            "lead_in_s": round(lead / SAMPLE_RATE, 3), "n_turns": len(turns), "n_utterances": len(placed),
            "turn_pauses_s": [round(b / SAMPLE_RATE, 3) for b in between], "utterances": placed}
    return track, labels, info
