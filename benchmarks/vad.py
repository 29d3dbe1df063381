"""Spiking VAD against WebRTC and Silero, side by side on one held-out group-B corpus; prints JSON.

Measures, for the issue-7 targets:

* HTER per noise level (low 15/10 dB, medium 5/0 dB, high -5/-10 dB SNR) and mean over levels, of
  the shipped pruned SNU and bin models, their unpruned versions, WebRTC mode 3 and Silero;
* HTER lost by pruning (pruned - unpruned, percentage points) and the fraction pruned;
* spiking activity, synaptic operations per second and power at 100 frames/s (23.6 pJ/op, Loihi);
* real recordings: the spoken clips of Debian's alsa-utils (/usr/share/sounds/alsa/*.wav), labelled
  from their clean signal the way corpus labels are (energy within 40 dB of the speech level), plus
  the false-alarm rate on its Noise.wav (all non-speech); and the same eight clips strung into one
  track (1 s lead-in, 0.5-1.5 s pauses), set to the corpus's -26 dBov speech level and mixed with every
  group-B noise at 20, 10, 5 and 0 dB SNR (HTER per SNR, pooled over the noises);
* inference speed as CPU seconds per audio second on one thread (real-time factor), and the
  training time recorded with each shipped model.

torch and BLAS are limited to one thread (``threads`` in the JSON). Usage::

    python benchmarks/vad.py [--quick] [--corpus DIR] [--minutes 30] [--out result.json]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from neuroflow._utils import print_json  # noqa: E402

ALSA = Path("/usr/share/sounds/alsa")


def cpu_speed(system, wav: np.ndarray, repeats: int = 1) -> float:
    """Audio seconds processed per CPU second (process time, one thread)."""
    system.score(wav[:16000], 16000)  # warm up (imports, caches)
    t0 = time.process_time()
    for _ in range(repeats):
        system.score(wav, 16000)
    spent = (time.process_time() - t0) / repeats
    return len(wav) / 16000 / max(spent, 1e-9)


def real_recordings(systems: dict) -> dict:
    from neuroflow.vad.audio import load_audio
    from neuroflow.vad.corpus import speech_labels
    from neuroflow.vad.metrics import error_rates

    if not ALSA.is_dir():
        return {"skipped": f"{ALSA} not found (apt-get install alsa-utils)"}
    files = sorted(ALSA.glob("*.wav"))
    out: dict = {"files": [f.name for f in files], "labels": "speech_labels(clean clip), Noise.wav all non-speech"}
    for name, system in systems.items():
        per, dec_all, lab_all = {}, [], []
        noise_far = None
        for f in files:
            wav, sr = load_audio(f)
            score = system.score(wav, sr)
            if f.stem == "Noise":
                noise_far = float(np.mean(score >= 0.5))
                continue
            lab = speech_labels(wav)[: len(score)]
            dec = score[: len(lab)] >= 0.5
            per[f.stem] = round(error_rates(dec, lab)[2], 4)
            dec_all.append(dec)
            lab_all.append(lab)
        frr, far, h = error_rates(np.concatenate(dec_all), np.concatenate(lab_all))
        out[name] = {"HTER": h, "FAR": far, "MR": frr, "per_clip_HTER": per, "noise_wav_FAR": noise_far}
    return out


def alsa_track(seed: int = 0):
    """The alsa-utils speech clips in one track with pauses: (speech at -26 dBov active level, labels)."""
    from neuroflow.vad.audio import load_audio, prepare
    from neuroflow.vad.corpus import ACTIVE_LEVEL_DBOV, speech_labels

    rng = np.random.default_rng([seed, 0xA15A])
    parts = [np.zeros(16000, np.float32)]
    for f in sorted(ALSA.glob("*.wav")):
        if f.stem == "Noise":
            continue
        wav, sr = load_audio(f)
        parts += [prepare(wav, sr), np.zeros(int(rng.uniform(0.5, 1.5) * 16000), np.float32)]
    track = np.concatenate(parts).astype(np.float64)
    labels = speech_labels(track)
    active = np.repeat(labels.astype(bool), 160)
    rms = float(np.sqrt(np.mean(track[: len(active)][active] ** 2)))
    return track * (10 ** (ACTIVE_LEVEL_DBOV / 20) / rms), labels


def real_mixed(systems: dict, snrs=(20, 10, 5, 0), seed: int = 0) -> dict:
    """HTER of each system on the alsa speech track mixed with every group-B noise, per SNR (pooled)."""
    from neuroflow.vad.corpus import ACTIVE_LEVEL_DBOV
    from neuroflow.vad.noise import NOISE_TYPES, make_noise
    from neuroflow.vad.metrics import error_rates

    if not ALSA.is_dir():
        return {"skipped": f"{ALSA} not found (apt-get install alsa-utils)"}
    speech, labels = alsa_track(seed)
    n = len(labels)
    mixes = {}
    for snr in snrs:
        for i, kind in enumerate(NOISE_TYPES):
            noise = make_noise(kind, len(speech), seed=[seed, int(snr) + 100, i], group="B").astype(np.float64)
            mixes[(snr, kind)] = (speech + noise * 10 ** ((ACTIVE_LEVEL_DBOV - snr) / 20)).astype(np.float32)
    out: dict = {"track_s": len(speech) / 16000, "speech_fraction": float(labels.mean()), "snrs_db": list(snrs),
                 "noises": list(NOISE_TYPES), "seed": seed}
    for name, system in systems.items():
        per_snr, per_noise = {}, {}
        for snr in snrs:
            dec, lab = [], []
            for kind in NOISE_TYPES:
                d = system.score(mixes[(snr, kind)], 16000)[:n] >= 0.5
                dec.append(d)
                lab.append(labels[: len(d)])
                per_noise.setdefault(kind, []).append(error_rates(d, lab[-1])[2])
            per_snr[str(snr)] = error_rates(np.concatenate(dec), np.concatenate(lab))[2]
        out[name] = {"HTER_per_snr": per_snr, "HTER_mean": float(np.mean(list(per_snr.values()))),
                     "HTER_per_noise_mean_over_snr": {k: float(np.mean(v)) for k, v in per_noise.items()}}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 minutes of group B instead of 30")
    ap.add_argument("--corpus", type=Path, default=None, help="an existing group-B corpus folder to use")
    ap.add_argument("--minutes", type=float, default=None, help="corpus length to generate (default 30; quick 3)")
    ap.add_argument("--seed", type=int, default=1, help="corpus seed (the shipped models were trained on group A)")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from neuroflow.vad.corpus import generate_corpus, load_corpus
    from neuroflow.vad.detect import MODELS_DIR, SpikingVADSystem
    from neuroflow.vad.energy import model_info
    from neuroflow.vad.evaluation import evaluate_system
    from neuroflow.vad.registry import get_system
    from neuroflow.vad.systems import SystemUnavailable

    minutes = args.minutes or (3.0 if args.quick else 30.0)
    if args.corpus is None:
        root = Path(os.environ.get("TMPDIR", "/tmp")) / f"neuroflow_vad_bench_B_{minutes:g}min_seed{args.seed}"
        generate_corpus(root, minutes=minutes, group="B", seed=args.seed, progress_bar=False)
    else:
        root = args.corpus
    corpus = load_corpus(root)

    systems: dict = {}
    skipped = []
    for spec in ("webrtc:3", "silero"):
        try:
            systems[spec] = get_system(spec)
        except SystemUnavailable as exc:
            skipped.append(str(exc))
    for kind in ("snu", "bin"):
        systems[f"{kind}"] = SpikingVADSystem(kind)
        dense = MODELS_DIR / f"{kind}.dense.pt"
        if dense.exists():
            systems[f"{kind}:unpruned"] = SpikingVADSystem(dense)

    results = {}
    for name, system in systems.items():
        r = evaluate_system(system, corpus, progress=False)
        levels = {k: v.HTER for k, v in r.per_level.items()}
        results[name] = {"HTER_pooled": r.overall.HTER, "HTER_mean_over_levels": float(np.mean(list(levels.values()))),
                         "HTER_per_level": levels, "HTER_per_snr": {k: v.HTER for k, v in r.per_snr.items()},
                         "MR": r.overall.MR, "FAR": r.overall.FAR, "AUC": r.overall.AUC}
        print(f"{name}: HTER {100 * r.overall.HTER:.2f}% per level "
              + ", ".join(f"{k} {100 * v:.1f}" for k, v in levels.items()), file=sys.stderr, flush=True)

    probe = corpus[0].wav
    speed = {name: cpu_speed(s, probe) for name, s in systems.items() if not name.endswith("unpruned")}

    targets = {}
    web = results.get("webrtc:3")
    sil = results.get("silero")
    for kind in ("snu", "bin"):
        res = results[kind]
        t = {}
        if web:
            t["beats_webrtc3_every_level"] = all(res["HTER_per_level"][k] < web["HTER_per_level"][k]
                                                 for k in res["HTER_per_level"])
        if sil:
            t["mean_hter_minus_silero_points"] = 100 * (res["HTER_mean_over_levels"] - sil["HTER_mean_over_levels"])
        if f"{kind}:unpruned" in results:
            t["pruning_hter_loss_points"] = 100 * (res["HTER_pooled"] - results[f"{kind}:unpruned"]["HTER_pooled"])
        info = model_info(kind)
        t.update({"sparsity": info["sparsity"], "power_uW": info["power_uW"],
                  "spikes_per_neuron_per_frame": info["spikes_per_neuron_per_frame"],
                  "spikes_per_frame": info["spikes_per_frame"], "sops_per_s": info["sops_per_s"],
                  "realtime_factor_one_core": speed[kind],
                  "train_seconds_recorded": systems[kind].loaded.info.get("train_seconds")})
        targets[kind] = t

    payload = {"corpus": {"root": str(root), "group": "B", "minutes": corpus.minutes, "scenes": len(corpus),
                          "seed": args.seed},
               "threads": 1, "skipped": skipped, "systems": results, "realtime_factor_one_core": speed,
               "targets": targets, "real_recordings": real_recordings(systems),
               "real_recordings_in_noise": real_mixed(systems, snrs=(10, 0) if args.quick else (20, 10, 5, 0))}
    print_json(payload, args.out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
