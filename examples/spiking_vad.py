"""Spiking voice activity detection: the shipped SNU and bin-encoding models on a noisy scene.

Detects speech in a generated group-B scene (voices and sentences never seen in training) with both
shipped spiking models, streams the same audio in 32 ms chunks to show the real-time API, prints
the estimated power on Loihi, and (without --quick) trains and prunes a small SNU from scratch.

    python examples/spiking_vad.py --quick --out /tmp/spiking_vad
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from neuroflow.vad.corpus import make_scene, plan_corpus
from neuroflow.vad.detect import SpikingVADSystem
from neuroflow.vad.energy import model_info
from neuroflow.vad.metrics import error_rates
from neuroflow.vad.plots import plot_detection, plot_history


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 20 s scene, no training (a few seconds)")
    ap.add_argument("--out", type=Path, default=Path("neuroflow-out/spiking_vad"), help="folder for the plots")
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated scene (and of the training)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    plan = plan_corpus(0.3, "test", args.seed, durations=(20.0 if args.quick else 60.0,), snrs=(5.0,))[0]
    wav, labels, _ = make_scene(plan)
    print(f"scene {plan.name}: {plan.duration_s:.0f} s of {plan.noise} noise at {plan.snr_db:+.0f} dB SNR")

    for kind in ("snu", "bin"):
        vad = SpikingVADSystem(kind)
        vad.score(wav[:1600], 16000)  # warm-up: the first call imports librosa and builds the mel filters
        t0 = time.perf_counter()
        det = vad.detect_array(wav, 16000)
        speed = plan.duration_s / (time.perf_counter() - t0)
        err = error_rates(det.speech_prob >= 0.5, labels[: len(det.speech_prob)])[2]
        info = model_info(kind)
        print(f"{kind}: HTER {100 * err:.1f}%, {len(det.segments)} segments, {speed:.0f}x real time; "
              f"{100 * info['sparsity']:.0f}% of {info['synapses_total']} synapses pruned, "
              f"{info['spikes_per_neuron_per_frame']:.3f} spikes/neuron/frame -> {info['power_uW']:.2f} uW")
        plot_detection(wav, det, args.out / f"detect_{kind}.png", title=f"{kind} on {plan.name}: HTER {100 * err:.1f}%")

        # the same audio in 32 ms chunks, as a live microphone would deliver it
        stream = vad.stream()
        chunks = [stream.process(wav[i:i + 512]) for i in range(0, len(wav), 512)] + [stream.flush()]
        assert np.allclose(np.concatenate(chunks), det.speech_prob)
    print("streaming in 512-sample chunks gives the same scores as one call")

    if not args.quick:
        import tempfile

        from neuroflow.vad.corpus import generate_corpus
        from neuroflow.vad.recipe import Recipe
        from neuroflow.vad.training import train_vad

        with tempfile.TemporaryDirectory() as tmp:
            generate_corpus(Path(tmp) / "A", minutes=5, split="train", seed=args.seed, progress=False)
            recipe = Recipe(kind="snu", hidden=(32,), epochs=4, prune=0.85, prune_epochs=2, seed=args.seed)
            res = train_vad(Path(tmp) / "A", Path(tmp) / "snu.pt", recipe)
        plot_history(res.history, args.out / "training.png")
        print(f"trained from scratch: validation HTER {100 * res.dense_val['hter']:.1f}% dense -> "
              f"{100 * res.val['hter']:.1f}% with {100 * res.sparsity:.0f}% pruned in {res.seconds:.0f} s")
    print(f"plots in {args.out}")


if __name__ == "__main__":
    main()
