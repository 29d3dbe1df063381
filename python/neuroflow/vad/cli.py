"""``neuroflow vad corpus | eval | compare``: build the noisy-speech corpus and score detectors on it."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neuroflow.cliutil import add_common_options, emit, input_dir, number


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


def _system_spec(text: str) -> str:
    """argparse type of a system spec: its syntax, and for a model path that the file exists."""
    from neuroflow.vad.registry import parse_spec

    try:
        kind, arg = parse_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None
    if arg and kind in ("snu", "bin") and not Path(arg).is_file():
        raise argparse.ArgumentTypeError(f"{text}: no model file {arg}")
    return text


def _eval(args) -> int:
    from neuroflow.cliutil import fail
    from neuroflow.vad.evaluation import evaluate_system
    from neuroflow.vad.registry import get_system
    from neuroflow.vad.systems import SystemUnavailable

    try:
        system = get_system(args.system)
    except SystemUnavailable as exc:
        return fail(str(exc), 3)
    result = evaluate_system(system, args.corpus, threshold=args.threshold, progress=not args.quiet)
    d = result.to_dict()
    if not args.per_scene:
        d.pop("per_scene")
    lines = [f"{d['system']} on {args.corpus} ({d['n_scenes']} scenes, {d['audio_seconds'] / 60:.1f} min, "
             f"{d['realtime_factor']:.0f}x real time)",
             f"  HTER {d['HTER']:.3f}  MR {d['MR']:.3f}  FAR {d['FAR']:.3f}  AUC {d['AUC']:.3f}  EER {d['EER']:.3f}  "
             f"DCF {d['DCF']:.3f}  F1 {d['F1']:.3f}"] + _level_lines(d)
    if args.plot:
        from neuroflow.vad.plots import plot_hter

        plot_hter([result], args.plot)
        lines.append(f"  plot: {args.plot}")
    emit(args, d, lines)
    return 0


def _compare(args) -> int:
    from neuroflow.vad.evaluation import compare_systems
    from neuroflow.vad.plots import plot_hter

    results, skipped = compare_systems(args.corpus, args.systems, threshold=args.threshold, progress=not args.quiet)
    for line in skipped:
        print(line, file=sys.stderr)
    payload = {"corpus": str(args.corpus), "threshold": args.threshold, "skipped": skipped, "systems": {}}
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
    p.add_argument("--corpus", type=input_dir, required=True, help="corpus folder (see `vad corpus`)")
    p.add_argument("--system", type=_system_spec, default="webrtc:3",
                   help="energy | webrtc[:0-3] | silero | snu[:PATH] | bin[:PATH] (default: %(default)s)")
    p.add_argument("--threshold", type=number(0.0, 1.0), default=0.5,
                   help="a frame is speech where its score is at least this (default: %(default)s)")
    p.add_argument("--per-scene", action="store_true", help="include per-scene results in the JSON")
    add_common_options(p, seed=False)
    p.set_defaults(func=_eval)

    p = verbs.add_parser("compare", help="score every available detector on a corpus; plot HTER against SNR")
    p.add_argument("--corpus", type=input_dir, required=True, help="corpus folder (see `vad corpus`)")
    p.add_argument("--systems", type=_system_spec, nargs="+", default=None, metavar="SPEC",
                   help="systems to score, space-separated (default: all that can run here)")
    p.add_argument("--threshold", type=number(0.0, 1.0), default=0.5,
                   help="a frame is speech where its score is at least this (default: %(default)s)")
    add_common_options(p, seed=False)
    p.set_defaults(func=_compare)


def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    """Generate a small held-out (group B) corpus, plot one scene with its labels and the baselines'
    scores, compare the baselines by SNR."""
    import tempfile

    import numpy as np

    from neuroflow.vad.corpus import generate_corpus, load_corpus
    from neuroflow.vad.evaluation import compare_systems
    from neuroflow.vad.plots import plot_hter, plot_scene
    from neuroflow.vad.registry import get_system

    outdir = Path(outdir)
    minutes, durations = (1.0, (10.0,)) if quick else (12.0, (60.0,))
    with tempfile.TemporaryDirectory(prefix="neuroflow-vad-") as tmp:
        made = generate_corpus(tmp, minutes=minutes, group="B", seed=seed, durations=durations, progress_bar=False)
        corpus = load_corpus(tmp)
        scene = corpus[0]
        results, skipped = compare_systems(corpus, ("energy", "webrtc:3", "silero"), progress=False)
        scores = {r.system: get_system(r.system).score(scene.wav) for r in results}
        plot_scene(scene.wav, scene.labels, scores, outdir / "vad_scene.png",
                   title=f"generated held-out scene {scene.name} (group B, seed {seed}): {scene.noise} noise at "
                         f"{scene.snr_db:g} dB SNR")
        plot_hter(results, outdir / "vad_hter_vs_snr.png",
                  title=f"HTER against SNR, {made.minutes:.0f} min of group B (seed {seed})")
        fraction = float(np.mean(scene.labels))
    lines = [f"corpus: {made.n_scenes} scenes, {made.minutes:.1f} min, {made.realtime_factor:.0f}x real time",
             f"scene {scene.name}: speech fraction {fraction:.2f}"]
    lines += [f"{r.system:<9} HTER {r.overall.HTER:.3f}  AUC {r.overall.AUC:.3f}" for r in results]
    lines += skipped
    lines.append("plots: vad_scene.png, vad_hter_vs_snr.png")
    return lines
