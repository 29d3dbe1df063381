"""``neuroflow vad corpus | eval | compare``: build the noisy-speech corpus and score detectors on it."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neuroflow.cliutil import add_common_options, emit


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{name}: expected comma-separated numbers, got {text!r}") from None


def _corpus(args) -> int:
    from neuroflow.vad.corpus import generate_corpus

    from neuroflow.vad.corpus import SNRS_DB
    from neuroflow.vad.noise import NOISE_TYPES

    durations = _floats(args.durations, "--durations") if args.durations else (60.0, 120.0)
    snrs = _floats(args.snrs, "--snrs") if args.snrs else SNRS_DB
    noises = tuple(n.strip() for n in args.noises.split(",")) if args.noises else NOISE_TYPES
    result = generate_corpus(args.out, minutes=args.minutes, group=args.group, seed=args.seed,
                             durations=durations, snrs=snrs, noises=noises, progress_bar=not args.quiet,
                             overwrite=args.overwrite)
    lines = [f"corpus {result.root}: {result.n_scenes} scenes, {result.minutes:.1f} min of group {args.group} "
             f"({result.n_generated} generated, {result.n_resumed} kept from an earlier run)",
             f"  {result.seconds:.1f} s, {result.realtime_factor:.0f}x real time"
             if result.n_generated else f"  nothing left to generate ({result.seconds:.1f} s)"]
    emit(args, result.to_dict(), lines)
    return 0


def _level_lines(d: dict) -> list[str]:
    parts = [f"{k} HTER {v['HTER']:.3f}" for k, v in d["per_level"].items()]
    return ["  per level: " + ", ".join(parts)] if parts else []


def _eval(args) -> int:
    from neuroflow.vad.metrics import evaluate
    from neuroflow.vad.systems import SystemUnavailable, get_system

    try:
        system = get_system(args.system)
    except SystemUnavailable as exc:
        print(f"neuroflow: error: {exc}", file=sys.stderr)
        return 3
    result = evaluate(system, args.corpus, threshold=args.threshold, progress_bar=not args.quiet)
    d = result.to_dict()
    if not args.per_scene:
        d.pop("per_scene")
    lines = [f"{d['system']} on {args.corpus} ({d['n_scenes']} scenes, {d['audio_seconds'] / 60:.1f} min, "
             f"{d['realtime_factor']:.0f}x real time)",
             f"  HTER {d['HTER']:.3f}  MR {d['MR']:.3f}  FAR {d['FAR']:.3f}  AUC {d['AUC']:.3f}  EER {d['EER']:.3f}  "
             f"DCF {d['DCF']:.3f}  F1 {d['F1']:.3f}"] + _level_lines(d)
    if args.plot:
        plot_hter([result], args.plot)
        lines.append(f"  plot: {args.plot}")
    emit(args, d, lines)
    return 0


def plot_hter(results, path) -> Path:
    """HTER against SNR, one line per system."""
    from neuroflow._utils import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        snrs = sorted(r.per_snr, key=float)
        ax.plot([float(s) for s in snrs], [100 * r.per_snr[s].HTER for s in snrs], marker="o", label=r.system)
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel("HTER (%)")
    ax.set_title("Frame-level HTER against SNR")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def compare(corpus, specs=None, *, threshold: float = 0.5, progress_bar: bool = True):
    """Evaluate every available system on ``corpus``: ``(results, skipped lines)``."""
    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.metrics import evaluate
    from neuroflow.vad.systems import DEFAULT_SPECS, available_systems

    corpus = load_corpus(corpus)
    systems, skipped = available_systems(specs or DEFAULT_SPECS)
    results = [evaluate(s, corpus, threshold=threshold, progress_bar=progress_bar) for s in systems]
    return results, skipped


def _compare(args) -> int:
    specs = args.systems.split(",") if args.systems else None
    results, skipped = compare(args.corpus, specs, threshold=args.threshold, progress_bar=not args.quiet)
    for line in skipped:
        print(line, file=sys.stderr)
    payload = {"corpus": str(args.corpus), "skipped": skipped, "systems": {}}
    lines = [f"{'system':<10} {'HTER':>6} {'MR':>6} {'FAR':>6} {'AUC':>6} {'EER':>6} {'low':>6} {'medium':>6} "
             f"{'high':>6} {'x RT':>7}"]
    for r in results:
        d = r.to_dict()
        d.pop("per_scene")
        payload["systems"][r.system] = d
        lv = [d["per_level"].get(k, {}).get("HTER", float("nan")) for k in ("low", "medium", "high")]
        lines.append(f"{r.system:<10} {d['HTER']:6.3f} {d['MR']:6.3f} {d['FAR']:6.3f} {d['AUC']:6.3f} "
                     f"{d['EER']:6.3f} {lv[0]:6.3f} {lv[1]:6.3f} {lv[2]:6.3f} {d['realtime_factor']:7.0f}")
    if args.plot:
        plot_hter(results, args.plot)
        lines.append(f"plot: {args.plot}")
    emit(args, payload, lines)
    return 0


def register(verbs) -> None:
    p = verbs.add_parser("corpus", help="generate (or resume) a noisy-speech corpus with eSpeak NG",
                         formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="corpus folder")
    p.add_argument("--minutes", type=float, default=10.0, help="total audio to generate")
    p.add_argument("--group", choices=("A", "B"), default="A", help="voice/sentence/noise group (train A, test B)")
    p.add_argument("--durations", default=None, help="scene lengths in seconds, comma-separated (default 60,120)")
    p.add_argument("--snrs", default=None, help="SNRs in dB, comma-separated (default -10,-5,0,5,10,15)")
    p.add_argument("--noises", default=None,
                   help="noise types, comma-separated (default white,pink,brown,babble,cafe,street,car,reverb)")
    p.add_argument("--overwrite", action="store_true", help="start over if the folder holds another corpus")
    add_common_options(p, plot=False)
    p.set_defaults(func=_corpus)

    p = verbs.add_parser("eval", help="score one detector on a corpus (MR, FAR, HTER, AUC per noise level)")
    p.add_argument("--corpus", type=Path, required=True, help="corpus folder (see `vad corpus`)")
    p.add_argument("--system", default="webrtc:3", help="energy | webrtc[:0-3] | silero | snn[:PATH] | bin[:PATH]")
    p.add_argument("--threshold", type=float, default=0.5, help="decision threshold on the speech probability")
    p.add_argument("--per-scene", action="store_true", help="include per-scene results in the JSON")
    add_common_options(p)
    p.set_defaults(func=_eval)

    p = verbs.add_parser("compare", help="score every available detector on a corpus; plot HTER against SNR")
    p.add_argument("--corpus", type=Path, required=True, help="corpus folder (see `vad corpus`)")
    p.add_argument("--systems", default=None, help="comma-separated specs (default: all that can run here)")
    p.add_argument("--threshold", type=float, default=0.5, help="decision threshold on the speech probability")
    add_common_options(p)
    p.set_defaults(func=_compare)


def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    """Generate a small corpus, plot one scene with its labels, compare the baselines by SNR."""
    import tempfile

    import numpy as np

    from neuroflow._utils import pyplot, save_figure
    from neuroflow.vad.corpus import generate_corpus, load_corpus
    from neuroflow.vad.features import frame_times, logmel

    outdir = Path(outdir)
    minutes, durations = (1.0, (10.0,)) if quick else (12.0, (60.0,))
    with tempfile.TemporaryDirectory(prefix="neuroflow-vad-") as tmp:
        made = generate_corpus(tmp, minutes=minutes, group="B", seed=seed, durations=durations, progress_bar=False)
        corpus = load_corpus(tmp)
        scene = corpus[0]
        feats = logmel(scene.wav)
        plt = pyplot()
        fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
        t = frame_times(len(feats))
        a1.imshow(feats.T, origin="lower", aspect="auto", extent=(0, t[-1] + 0.01, 0, feats.shape[1]))
        a1.set_ylabel("mel band")
        a1.set_title(f"{scene.name}: {scene.noise} noise at {scene.snr_db:g} dB SNR")
        a2.fill_between(t, scene.labels, step="post", alpha=0.4, label="label")
        specs = ("energy", "webrtc:3", "silero")
        results, skipped = compare(tmp, specs, progress_bar=False)
        from neuroflow.vad.systems import get_system

        for r in results:
            a2.plot(t, get_system(r.system).score(scene.wav), lw=0.8, label=r.system)
        a2.set_xlabel("time (s)")
        a2.set_ylabel("speech")
        a2.legend(fontsize=7, loc="upper right")
        save_figure(fig, outdir / "vad_scene.png")
        plot_hter(results, outdir / "vad_hter_vs_snr.png")
        fraction = float(np.mean(scene.labels))
    lines = [f"corpus: {made.n_scenes} scenes, {made.minutes:.1f} min, {made.realtime_factor:.0f}x real time",
             f"scene {scene.name}: speech fraction {fraction:.2f}"]
    lines += [f"{r.system:<9} HTER {r.overall.HTER:.3f}  AUC {r.overall.AUC:.3f}" for r in results]
    lines += skipped
    lines.append("plots: vad_scene.png, vad_hter_vs_snr.png")
    return lines
