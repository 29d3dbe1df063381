"""Build a small noisy-speech corpus with eSpeak NG and compare the baseline VAD systems on it.

    python examples/vad_corpus.py --quick --out /tmp/vad_example

Writes vad_example_scene.png (log-mel features, labels and detector scores of one scene) and
vad_example_hter.png (HTER against SNR, one line per system).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from neuroflow._utils import pyplot, save_figure
from neuroflow.vad.corpus import generate_corpus, load_corpus
from neuroflow.vad.features import frame_times, logmel
from neuroflow.vad.evaluation import evaluate_system
from neuroflow.vad.registry import available_systems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 s of 5 s scenes instead of 6 min of 60 s")
    parser.add_argument("--out", type=Path, default=Path("vad_example"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    minutes, durations = (0.5, (5.0,)) if args.quick else (6.0, (60.0,))

    with tempfile.TemporaryDirectory() as root:
        made = generate_corpus(root, minutes=minutes, group="B", seed=args.seed, durations=durations,
                               progress_bar=False)
        print(f"corpus: {made.n_scenes} scenes, {made.minutes:.1f} min, {made.realtime_factor:.0f}x real time")
        corpus = load_corpus(root)
        systems, skipped = available_systems(("energy", "webrtc:3", "silero"))
        for line in skipped:
            print(line)
        results = [evaluate_system(system, corpus, progress=False) for system in systems]
        for r in results:
            levels = ", ".join(f"{k} {v.HTER:.3f}" for k, v in r.per_level.items())
            print(f"{r.system:<9} HTER {r.overall.HTER:.3f}  AUC {r.overall.AUC:.3f}  per level: {levels}")

        # one scene: features, reference labels and each detector's speech probability
        scene = max(corpus, key=lambda s: s.snr_db)
        feats = logmel(scene.wav, norm="utterance")
        t = frame_times(len(feats))
        plt = pyplot()
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
        top.imshow(feats.T, origin="lower", aspect="auto", extent=(0, t[-1] + 0.01, 0, feats.shape[1]))
        top.set(ylabel="mel band", title=f"{scene.name}: {scene.noise} noise, SNR {scene.snr_db:g} dB")
        bottom.fill_between(t, scene.labels, step="post", alpha=0.3, label="label")
        for system in systems:
            bottom.plot(t, system.score(scene.wav, scene.sr), lw=0.8, label=system.name)
        bottom.set(xlabel="time (s)", ylabel="P(speech)")
        bottom.legend(fontsize=7, loc="upper right")
        save_figure(fig, args.out / "vad_example_scene.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        snrs = sorted(r.per_snr, key=float)
        ax.plot([float(s) for s in snrs], [100 * r.per_snr[s].HTER for s in snrs], marker="o", label=r.system)
    ax.set(xlabel="SNR (dB)", ylabel="HTER (%)", title="Baselines on the synthetic corpus")
    ax.legend()
    save_figure(fig, args.out / "vad_example_hter.png")
    print(f"plots in {args.out} (speech fraction of the plotted scene {np.mean(scene.labels):.2f})")


if __name__ == "__main__":
    main()
