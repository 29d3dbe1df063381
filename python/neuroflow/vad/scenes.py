"""One corpus scene from its plan: a clean speech track, its labels, and the mixture with noise and background.

A :class:`ScenePlan` fixes everything about a scene before any audio is made; :func:`make_scene` turns it
into ``(mixture, labels, info)`` drawing only from the plan's own seed, so scenes are independent: they
can be made in any order, on any worker, and a resumed corpus makes the same bytes.

Speech (``plan.speech``):

``"espeak"``
    :mod:`neuroflow.vad.synthetic` (QUT-NOISE-TIMIT layout), speech set to an active level of -26 dBov.
``"real"`` / ``"festival"``
    :mod:`neuroflow.vad.conversation` (speakers of ``plan.split`` taking turns), speech at an active
    level drawn from U(-36, -18) dBov, over a background (``plan.background``): room tone
    (:mod:`neuroflow.vad.roomtone`, the recipe family of the split) or digital silence; with digital
    silence the added noise starts only after U(0.5, 3) s, so steady noise follows silence as it does
    when a microphone is switched on.
``"none"``
    No speech: the noise alone at an absolute level, U(-40, -20) dBFS, over the background (speech-free
    test files: music only, room tone only).

Noise (``plan.noise``) is one of :data:`neuroflow.vad.noise.NOISE_TYPES`, "music" (recorded; training
music for the train split, held-out music for the test split) or "none" (clean), scaled to
``plan.snr_db`` relative to the speech's active level (RMS over labelled speech frames). In the "reverb"
condition the speech too passes through a synthetic room. The mixture is scaled down as a whole if it
would clip (the SNR is unchanged; ``output_gain_db`` records it).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from neuroflow._utils import check_choice
from neuroflow.vad.audio import SAMPLE_RATE
from neuroflow.vad.features import HOP

ACTIVE_LEVEL_DBOV = -26.0
#: active speech level range of conversation scenes (dBov)
CONVERSATION_LEVEL_DBOV = (-36.0, -18.0)
#: level range of the noise in speech-free scenes (dBFS RMS)
NOISE_ONLY_LEVEL_DBFS = (-40.0, -20.0)
#: what a scene plays under its speech: room tone, digital silence before the noise starts, or nothing
BACKGROUNDS = ("roomtone", "silence", "none")
#: the speech of one scene ("mixed" in a corpus is one of the first three per scene)
SCENE_SPEECH = ("espeak", "real", "festival", "none")
#: noise level name -> SNRs (dB) it covers
LEVELS = {"low": (15, 10), "medium": (5, 0), "high": (-5, -10)}


def noise_level(snr_db: float) -> str:
    """"low" (15/10 dB and cleaner), "medium" (5/0 dB) or "high" (-5/-10 dB) noise for an SNR."""
    if snr_db >= 7.5:
        return "low"
    if snr_db >= -2.5:
        return "medium"
    return "high"


def snr_field(snr_db: float) -> float | str:
    """A manifest's ``snr_db``: the number, or "inf" / "-inf" (JSON has no infinities)."""
    return snr_db if math.isfinite(snr_db) else ("inf" if snr_db > 0 else "-inf")


@dataclass
class ScenePlan:
    """What a scene will be, fixed before any audio is made (so resuming reproduces it)."""

    index: int
    name: str
    group: str
    duration_s: float
    snr_db: float
    noise: str
    stratum: int
    target_fraction: float
    seed: list[int]
    speech: str = "espeak"
    split: str = "train"
    background: str = "none"

    def to_dict(self) -> dict:
        return asdict(self)


def _active_rms(clean: np.ndarray, labels: np.ndarray) -> float:
    active = np.repeat(labels.astype(bool), HOP)
    active = np.concatenate([active, np.zeros(len(clean) - len(active), bool)])
    return float(np.sqrt(np.mean(clean[active] ** 2))) if active.any() else 0.0


def _noise(plan: ScenePlan, n: int, rng, skipped: list[str]) -> np.ndarray:
    from neuroflow.vad.noise import make_noise

    if plan.noise == "music":
        from neuroflow.vad.sources import music_excerpt

        return music_excerpt(plan.split, n, rng, skipped).astype(np.float64)
    return make_noise(plan.noise, n, rng, plan.group).astype(np.float64)


def make_scene(plan: ScenePlan):
    """Make one scene: returns ``(mixture float32, labels int8, info dict)``.

    Parameters
    ----------
    plan : ScenePlan
        The scene's plan (from :func:`neuroflow.vad.corpus.plan_corpus`).

    Returns
    -------
    tuple
        The mixture at 16 kHz, 0/1 labels per 10 ms frame (``len // 160``), and a dict of what the scene
        holds (speakers, utterances, levels, ``skipped_files``), which the corpus manifest records.
    """
    # a hand-made plan of speech "espek" was made speech-free, and one of background "rooomtone" had none
    check_choice(plan.speech, "plan.speech", SCENE_SPEECH)
    check_choice(plan.background, "plan.background", BACKGROUNDS)
    rng = np.random.default_rng(plan.seed)
    n = int(round(plan.duration_s * SAMPLE_RATE))
    skipped: list[str] = []
    info: dict = {}
    if plan.speech == "espeak":
        from neuroflow.vad.synthetic import espeak_track

        clean, labels, info = espeak_track(n, plan.target_fraction, plan.group, rng)
        level_db = ACTIVE_LEVEL_DBOV
    elif plan.speech in ("real", "festival"):
        from neuroflow.vad.conversation import conversation_track

        clean, labels, info = conversation_track(n, plan.target_fraction, plan.split, plan.speech, rng, skipped)
        level_db = float(rng.uniform(*CONVERSATION_LEVEL_DBOV))
    else:  # speech-free
        clean, labels = np.zeros(n), np.zeros(n // HOP, np.int8)
        level_db = float(rng.uniform(*NOISE_ONLY_LEVEL_DBFS))
    rms = _active_rms(clean, labels)
    speech = clean * (10 ** (level_db / 20) / rms) if rms > 0 else clean
    noise_rng = np.random.default_rng(plan.seed + [0xD15E])
    if plan.noise == "reverb":
        from neuroflow.vad.noise import reverberate, room_impulse_response

        speech = reverberate(speech, room_impulse_response(noise_rng)).astype(np.float64)
    mix = speech.copy()
    onset_s = 0.0
    if plan.noise != "none":
        noise = _noise(plan, n, noise_rng, skipped)
        snr = 0.0 if plan.speech == "none" else plan.snr_db
        noise *= 10 ** ((level_db - snr) / 20)
        if plan.background == "silence":
            onset_s = float(noise_rng.uniform(0.5, 3.0))
            start = min(int(onset_s * SAMPLE_RATE), n)
            ramp = np.clip((np.arange(n) - start) / (0.02 * SAMPLE_RATE), 0.0, 1.0)
            noise *= ramp
        mix += noise
    if plan.background == "roomtone":
        from neuroflow.vad.roomtone import room_tone

        bg_rng = np.random.default_rng(plan.seed + [0xB6])
        bg_level = float(bg_rng.uniform(-80.0, -55.0))
        mix += room_tone(n, bg_rng, family=plan.split, level_db=bg_level)
        info["background_level_dbfs"] = round(bg_level, 2)
    peak = float(np.max(np.abs(mix)))
    out_gain = min(1.0, 0.99 / peak) if peak > 0 else 1.0
    info = {"speech_fraction": float(labels.mean()) if len(labels) else 0.0,
            "output_gain_db": float(20 * np.log10(out_gain)), **info}
    if plan.speech not in ("espeak", "none"):
        info["speech_level_dbov"] = round(level_db, 2)
    elif plan.speech == "none" and plan.noise != "none":
        info["noise_level_dbfs"] = round(level_db, 2)
    if plan.speech != "espeak":
        if onset_s:
            info["noise_onset_s"] = round(onset_s, 3)
        info["skipped_files"] = sorted(set(skipped))
    return (mix * out_gain).astype(np.float32), labels, info
