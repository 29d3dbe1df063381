"""Spiking voice activity detection: the shipped SNU and bin-encoding models on a held-out scene.

Detects speech in a scene of speakers no model was trained on (the test split's recorded prompts when
`neuroflow vad sources --install` has installed them, held-out eSpeak voices otherwise) with both
shipped spiking models and with WebRTC and Silero where installed, streams the same audio in 32 ms
chunks with segment rules to show the real-time API, prints the estimated power on Loihi, chooses the bin
model's decision rule again on generated scenes of training voices (`neuroflow.vad.calibration`), and
(without --quick) trains and prunes a small SNU from scratch on a generated corpus, with the shipped bin model as
its teacher like the shipped SNU.

    python examples/spiking_vad.py --quick --out /tmp/spiking_vad
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from neuroflow.cliutil import Parser, integer, output_dir
from neuroflow.vad.calibration import calibrate, rule_text
from neuroflow.vad.corpus import generate_corpus, load_corpus
from neuroflow.vad.detect import SpikingVADSystem
from neuroflow.vad.energy import model_info
from neuroflow.vad.evaluation import held_out_scene
from neuroflow.vad.metrics import error_rates
from neuroflow.vad.plots import plot_detection, plot_history
from neuroflow.vad.registry import available_systems


def main() -> None:
    ap = Parser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 20 s scene, no training (a few seconds)")
    ap.add_argument("--out", type=output_dir(), default="neuroflow-out/spiking_vad", help="folder for the plots")
    ap.add_argument("--seed", type=integer(0), default=0, help="seed of the scene (and of the training)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    plan, wav, labels, info, note = held_out_scene(args.seed, 20.0 if args.quick else 60.0)
    speakers = ", ".join(sp["person"] for sp in info.get("speakers", [])) or "eSpeak voices"
    print(f"scene {plan.name}: {plan.duration_s:.0f} s of {speakers}, {plan.noise} noise at {plan.snr_db:+.0f} dB SNR")
    if note:
        print(note)

    for kind in ("snu", "bin"):
        vad = SpikingVADSystem(kind)
        vad.score(wav[:1600], 16000)  # warm-up: the first call imports librosa and builds the mel filters
        t0 = time.perf_counter()
        det = vad.detect_array(wav, 16000, min_silence_s=0.2, pad_s=0.05)
        speed = plan.duration_s / (time.perf_counter() - t0)
        mr, far, hter = error_rates(det.speech_prob >= 0.5, labels[: len(det.speech_prob)])
        info = model_info(kind)
        print(f"{kind}: MR {100 * mr:.1f}%  FAR {100 * far:.1f}%  HTER {100 * hter:.1f}%, {len(det.segments)} "
              f"segments, {speed:.0f}x real time; {100 * info['sparsity']:.0f}% of {info['synapses_total']} "
              f"synapses pruned, {info['spikes_per_neuron_per_frame']:.3f} spikes/neuron/frame -> "
              f"{info['power_uW']:.2f} uW")
        plot_detection(wav, det, args.out / f"detect_{kind}.png", labels=labels,
                       title=f"{kind} on {speakers} ({plan.noise}, {plan.snr_db:+.0f} dB): HTER {100 * hter:.1f}%")

        # the same audio in 32 ms chunks, as a live microphone would deliver it; segments arrive as they end
        stream = vad.stream(min_silence_s=0.2, pad_s=0.05)
        chunks = [stream.process(wav[i:i + 512]) for i in range(0, len(wav), 512)] + [stream.flush()]
        assert np.array_equal(np.concatenate(chunks), det.speech_prob) and stream.segments == det.segments
    print("streaming in 512-sample chunks gives the same scores and segments as one call")
    # the decision rule (threshold, release, median, hangover) chosen again on scenes of training voices, as the
    # shipped models' was on real speech of the training speakers (`neuroflow vad calibrate`)
    with tempfile.TemporaryDirectory() as tmp:
        generate_corpus(Path(tmp) / "cal", minutes=1.0 if args.quick else 5.0, split="train", seed=args.seed + 1,
                        durations=(15.0,), progress=False)
        cal = calibrate(SpikingVADSystem("bin"), load_corpus(Path(tmp) / "cal"))
    b = cal.before
    print(f"bin rule on {cal.scenes} eSpeak scenes of training voices: shipped ({rule_text(b['threshold'], b)}) "
          f"mean HTER {100 * b['hter']:.1f}%; chosen there ({rule_text(cal.threshold, cal.smoothing)}) "
          f"{100 * cal.hter:.1f}%")
    systems, skipped = available_systems(("webrtc:3", "silero"))
    for system in systems:
        mr, far, hter = error_rates(system.score(wav, 16000) >= 0.5, labels)
        print(f"{system.name}: MR {100 * mr:.1f}%  FAR {100 * far:.1f}%  HTER {100 * hter:.1f}%")
    for line in skipped:
        print(line)

    if not args.quick:
        from neuroflow.vad.recipe import Recipe
        from neuroflow.vad.training import train_vad

        with tempfile.TemporaryDirectory() as tmp:
            # 32 scenes of 15 s (5 minutes in the default 2-25 s scenes gave 4 scenes, and a model at chance)
            generate_corpus(Path(tmp) / "train", minutes=8, split="train", seed=args.seed, durations=(15.0,),
                            progress=False)
            # the shipped models' inputs, and (as the shipped SNU) the shipped bin model as a teacher: the targets
            # are the labels blended half and half with its speech probability
            recipe = Recipe(kind="snu", hidden=(32,), epochs=6, prune=0.85, prune_epochs=3, batch_size=16,
                            seed=args.seed, level=True, skip_silence=True, modulation=True, modulation_window=0.1,
                            tonality=True, rhythm=True, teacher="bin", teacher_weight=0.5)
            res = train_vad(Path(tmp) / "train", Path(tmp) / "snu.pt", recipe)
        plot_history(res.history, args.out / "training.png")
        print(f"trained from scratch with the bin model as teacher: validation HTER {100 * res.dense_val['hter']:.1f}% "
              f"dense -> {100 * res.val['hter']:.1f}% with {100 * res.sparsity:.0f}% pruned in {res.seconds:.0f} s")
    print(f"plots in {args.out}")


if __name__ == "__main__":
    main()
