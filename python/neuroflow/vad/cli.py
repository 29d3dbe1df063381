"""``neuroflow vad corpus | sources | eval | compare``: build the corpora, install their sources, score detectors."""
from __future__ import annotations

import argparse
from pathlib import Path

from neuroflow._utils import file_problem
from neuroflow.cliutil import (add_common_options, choice_list, emit, fail, flag_error, input_dir, integer, note,
                               number, output_dir, scheduler_address)


def _n_jobs(text: str) -> int:
    """argparse type of --n-jobs: a positive integer, or -1 for every core."""
    value = integer(-1)(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer or -1 (all cores), got {text!r}")
    return value


#: API argument -> CLI flag, for errors raised past the parser (e.g. "out_dir: ... is being written by another run")
_FLAGS = {"out_dir": "--out", "minutes": "--minutes", "durations": "--durations", "snrs": "--snrs",
          "noises": "--noises", "n_jobs": "--n-jobs", "scheduler": "--scheduler", "split": "--split",
          "speech": "--speech", "seed": "--seed"}


_PLAN_FLAGS = (("minutes", "--minutes"), ("split", "--split"), ("speech", "--speech"), ("durations", "--durations"),
               ("snrs", "--snrs"), ("noises", "--noises"))


def _corpus(args) -> int:
    from neuroflow.vad.corpus import generate_corpus

    split = args.split
    if args.group is not None:
        if args.split is not None and args.split != {"A": "train", "B": "test"}[args.group]:
            return fail("argument --group: contradicts --split (--group A is --split train, B is test)")
        split = {"A": "train", "B": "test"}[args.group]
    common = dict(progress=not args.quiet, overwrite=args.overwrite, n_jobs=args.n_jobs, scheduler=args.scheduler)
    try:
        if args.benchmark:
            given = [flag for key, flag in _PLAN_FLAGS if getattr(args, key) is not None] + \
                (["--group"] if args.group is not None else [])
            if given:
                return fail(f"argument --benchmark: fixes its own plan; drop {' '.join(given)}")
            from neuroflow.vad.realspeech import benchmark_set

            made = benchmark_set(args.out, seed=args.seed, **common)
            lines = [f"held-out real-speech benchmark in {made.root}:"]
            for name, r in made.results.items():
                lines.append(f"  {name + '/':<10} {r.n_scenes} files, {r.minutes:.1f} min ({r.n_generated} generated, "
                             f"{r.n_resumed} kept)" + (f", {len(r.skipped_files)} source files skipped"
                                                      if r.skipped_files else ""))
            emit(args, made.to_dict(), lines)
            return 0
        result = generate_corpus(args.out, minutes=10.0 if args.minutes is None else args.minutes,
                                 split=split or "train", seed=args.seed, speech=args.speech or "espeak",
                                 durations=args.durations, snrs=args.snrs, noises=args.noises, **common)
    except KeyboardInterrupt:
        return _interrupted(args)
    except ValueError as exc:
        raise flag_error(exc, _FLAGS) from None
    speech = {"none": "speech-free", "mixed": "mixed-speech"}.get(args.speech, f"{args.speech or 'espeak'} speech")
    lines = [f"corpus {result.root}: {result.n_scenes} scenes, {result.minutes:.1f} min of {split or 'train'} "
             f"{speech} audio ({result.n_generated} generated, {result.n_resumed} kept from an earlier run)",
             f"  {result.seconds:.1f} s, {result.realtime_factor:.0f}x real time"
             if result.n_generated else f"  nothing left to generate ({result.seconds:.1f} s)"]
    if result.skipped_files:
        lines.append(f"  skipped {len(result.skipped_files)} unreadable source files (listed in corpus.json)")
    emit(args, result.to_dict(), lines)
    return 0


def _interrupted(args) -> int:
    """Ctrl-C during `vad corpus`: say what was kept (the manifest lists every finished scene), exit 130."""
    import json

    from neuroflow.vad.corpus_store import MANIFEST

    kept = 0
    for path in [args.out / MANIFEST] + sorted(args.out.glob(f"*/{MANIFEST}")):
        try:
            kept += len(json.loads(path.read_text())["scenes"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    payload = {"root": str(args.out), "interrupted": True, "n_finished": kept}
    if args.json:
        emit(args, payload)
    note(f"interrupted; {kept} finished scenes kept in {args.out} (rerun the same command to resume)")
    return 130


def _sources(args) -> int:
    from neuroflow.vad import packages, sources

    payload: dict = {}
    lines: list[str] = []
    if args.install:
        if packages.scan_sources().missing and not args.quiet:
            note("installing the speech and music packages with apt-get (a minute or two)...")
        result = packages.install_sources()
        payload["installed"] = result.installed
        payload["install_command"] = result.command
        index = result.index
        lines.append(f"installed: {' '.join(result.installed) or 'nothing (all present)'}")
    else:
        index = packages.scan_sources()
    payload.update(index.to_dict())
    lines.append(f"{'speaker':<22} {'lang':<6} {'sex':<3} {'split':<6} {'files':>5} {'min':>6}  package (version)")
    for row in index.speakers + index.festival:
        files = f"{row['n_files']:>5}" if row["codec"] != "festival" else f"{'-':>5}"
        minutes = f"{row['minutes']:>6.1f}" if row["codec"] != "festival" else f"{'-':>6}"
        state = row["version"] if row["installed"] else "not installed"
        lines.append(f"{row['name']:<22} {row['language']:<6} {row['sex']:<3} {row['split']:<6} {files} {minutes}  "
                     f"{row['package']} ({state})")
    for row in index.music:
        state = row["version"] if row["installed"] else "not installed"
        lines.append(f"{'music: ' + row['name']:<22} {'-':<6} {'-':<3} {row['split']:<6} {row['n_files']:>5} "
                     f"{row['minutes']:>6.1f}  {row['package']} ({state})")
    if index.missing:
        lines.append(sources.missing_message(index.missing))
    if args.plot:
        from neuroflow.vad.realspeech import plot_prompt_labels

        plot_prompt_labels(args.plot, seed=args.seed)
        lines.append(f"plot: {args.plot}")
        payload["plot"] = str(args.plot)
    emit(args, payload, lines)
    return 0


def _rate(value, width: int = 0) -> str:
    """A rate of a result for a line: three decimals, or "n/a" where it is undefined (NaN: a class is missing)."""
    return f"{'n/a' if value is None or value != value else f'{value:.3f}':>{width}}"


def _level_lines(d: dict) -> list[str]:
    parts = [f"{k} HTER {_rate(v['HTER'])}" for k, v in d["per_level"].items()]
    return ["  per level: " + ", ".join(parts)] if parts else []


def _system_spec(text: str) -> str:
    """argparse type of a system spec: its syntax, and for a model path that the file exists."""
    from neuroflow.vad.registry import parse_spec

    try:
        kind, arg = parse_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None
    problem = file_problem(arg) if arg and kind in ("snu", "bin") else None
    if problem:
        raise argparse.ArgumentTypeError(f"{text}: model file {arg}: {problem}")
    return text


def _collar_note(collar: float) -> str:
    return f"frames within {collar:g} s of each label change not scored"


def _add_collar(p) -> None:
    p.add_argument("--collar", type=number(0.0, 10.0), default=0.0, metavar="S",
                   help="leave the frames within S seconds either side of each label change unscored (NIST md-eval "
                        "uses 0.25; default: %(default)s, every frame)")


def _eval(args) -> int:
    from neuroflow.vad.evaluation import evaluate_system
    from neuroflow.vad.registry import get_system
    from neuroflow.vad.systems import SystemUnavailable

    try:
        system = get_system(args.system)
    except SystemUnavailable as exc:
        return fail(str(exc), 3)
    try:
        result = evaluate_system(system, args.corpus, threshold=args.threshold, progress=not args.quiet,
                                 collar=args.collar)
    except ValueError as exc:  # a collar that covers every frame: named after the flag
        raise flag_error(exc, {"collar": "--collar"}) from None
    d = result.to_dict()
    if not args.per_scene:
        d.pop("per_scene")
    lines = [f"{d['system']} on {args.corpus} ({d['n_scenes']} scenes, {d['audio_seconds'] / 60:.1f} min, "
             f"{d['realtime_factor']:.0f}x real time{f'; {_collar_note(args.collar)}' if args.collar else ''})",
             "  " + "  ".join(f"{k} {_rate(d[k])}" for k in ("HTER", "MR", "FAR", "AUC", "EER", "DCF", "F1"))
             ] + _level_lines(d)
    if args.plot:
        from neuroflow.vad.plots import plot_hter

        plot_hter([result], args.plot)
        lines.append(f"  plot: {args.plot}")
    emit(args, d, lines)
    return 0


def _compare(args) -> int:
    from neuroflow.vad.evaluation import compare_systems
    from neuroflow.vad.plots import plot_hter

    try:
        results, skipped = compare_systems(args.corpus, args.systems, threshold=args.threshold,
                                           progress=not args.quiet, collar=args.collar)
    except ValueError as exc:  # the same system twice, or a collar that covers everything: named after the flag
        raise flag_error(exc, {"specs": "--systems", "collar": "--collar"}) from None
    for line in skipped:
        note(line)
    payload = {"corpus": str(args.corpus), "threshold": args.threshold, "collar_s": args.collar, "skipped": skipped,
               "systems": {}}
    lines = [f"{'system':<10} {'HTER':>6} {'MR':>6} {'FAR':>6} {'AUC':>6} {'EER':>6} {'low':>6} {'medium':>6} "
             f"{'high':>6} {'x RT':>7}"]
    if args.collar:
        lines.insert(0, _collar_note(args.collar))
    for r in results:
        d = r.to_dict()
        d.pop("per_scene")
        payload["systems"][r.system] = d
        lv = [d["per_level"].get(k, {}).get("HTER", float("nan")) for k in ("low", "medium", "high")]
        lines.append(f"{r.system:<10} " + " ".join(_rate(v, 6) for v in [d[k] for k in ("HTER", "MR", "FAR", "AUC",
                                                                                        "EER")] + lv)
                     + f" {d['realtime_factor']:7.0f}")
    if args.plot:
        plot_hter(results, args.plot)
        lines.append(f"plot: {args.plot}")
    emit(args, payload, lines)
    return 0


def register(verbs) -> None:
    from neuroflow.vad.corpus import CORPUS_NOISES, SPEECH_KINDS

    p = verbs.add_parser("corpus", help="generate (or resume) a noisy-speech corpus: eSpeak, real or Festival speech")
    p.add_argument("--out", type=output_dir(), required=True, metavar="DIR", help="corpus folder")
    p.add_argument("--minutes", type=number(0, lo_open=True), default=None,
                   help="total audio to generate (default: 10)")
    p.add_argument("--split", choices=("train", "test"), default=None,
                   help="speakers, voices, sentences, music and room tone of the training or the held-out test "
                        "split (default: train)")
    p.add_argument("--group", choices=("A", "B"), default=None, help=argparse.SUPPRESS)  # older name of --split
    p.add_argument("--speech", choices=SPEECH_KINDS, default=None,
                   help="espeak (QUT layout), real (recorded prompts; needs `vad sources --install`), festival, "
                        "mixed (per scene: real 50%%, espeak 25%%, festival 25%%) or none (default: espeak)")
    p.add_argument("--durations", type=number(1.0, 3600.0), nargs="+", default=None, metavar="S",
                   help="scene lengths in seconds (default: 60 120 for espeak, 30 60 otherwise)")
    p.add_argument("--snrs", type=number(-30.0, 60.0), nargs="+", default=None, metavar="DB",
                   help="SNRs in dB (default: -10 -5 0 5 10 15 for espeak, -5 0 5 10 20 otherwise)")
    p.add_argument("--noises", type=choice_list(CORPUS_NOISES), nargs="+", default=None, metavar="NOISE",
                   help=f"noise types of {' '.join(CORPUS_NOISES)} ('none': clean; default: the eight generated "
                        f"ones for espeak, all for the others)")
    p.add_argument("--benchmark", action="store_true",
                   help="build the held-out real-speech evaluation set (speech/, music/, roomtone/) instead")
    p.add_argument("--overwrite", action="store_true", help="start over if the folder holds another corpus")
    p.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="N",
                   help="scenes made in parallel by local processes, -1 for every core (default: %(default)s)")
    p.add_argument("--scheduler", type=scheduler_address, default=None, metavar="ADDRESS",
                   help="make the scenes on a Dask cluster (tcp://host:port); same files as locally")
    add_common_options(p, plot=False)
    p.set_defaults(func=_corpus)

    p = verbs.add_parser("sources", help="list (or install) the Debian packages with real speech and music")
    p.add_argument("--install", action="store_true",
                   help="apt-get install the missing packages (root or password-less sudo; about 370 MB installed)")
    add_common_options(p)
    p.set_defaults(func=_sources)

    p = verbs.add_parser("eval", help="score one detector on a corpus (MR, FAR, HTER, AUC per noise level)")
    p.add_argument("--corpus", type=input_dir, required=True, help="corpus folder (see `vad corpus`)")
    p.add_argument("--system", type=_system_spec, default="webrtc:3",
                   help="energy | webrtc[:0-3] | silero | snu[:PATH] | bin[:PATH] (default: %(default)s)")
    p.add_argument("--threshold", type=number(0.0, 1.0), default=0.5,
                   help="a frame is speech where its score is at least this (default: %(default)s)")
    p.add_argument("--per-scene", action="store_true", help="include per-scene results in the JSON")
    _add_collar(p)
    add_common_options(p, seed=False)
    p.set_defaults(func=_eval)

    p = verbs.add_parser("compare", help="score every available detector on a corpus; plot HTER against SNR")
    p.add_argument("--corpus", type=input_dir, required=True, help="corpus folder (see `vad corpus`)")
    p.add_argument("--systems", type=_system_spec, nargs="+", default=None, metavar="SPEC",
                   help="systems to score, space-separated (default: all that can run here)")
    p.add_argument("--threshold", type=number(0.0, 1.0), default=0.5,
                   help="a frame is speech where its score is at least this (default: %(default)s)")
    _add_collar(p)
    add_common_options(p, seed=False)
    p.set_defaults(func=_compare)


def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    """A small held-out (test-split) eSpeak corpus: one scene with its labels and every detector's score,
    and every detector's HTER against SNR."""
    import tempfile

    import numpy as np

    from neuroflow.vad.corpus import generate_corpus, load_corpus
    from neuroflow.vad.evaluation import compare_systems
    from neuroflow.vad.plots import plot_hter, plot_scene
    from neuroflow.vad.registry import get_system

    outdir = Path(outdir)
    minutes, durations = (1.0, (10.0,)) if quick else (3.0, (30.0,))
    with tempfile.TemporaryDirectory(prefix="neuroflow-vad-") as tmp:
        made = generate_corpus(tmp, minutes=minutes, split="test", seed=seed, durations=durations, progress=False)
        corpus = load_corpus(tmp)
        scene = corpus[0]
        results, skipped = compare_systems(corpus, ("energy", "webrtc:3", "silero", "snu", "bin"), progress=False)
        scores = {r.system: get_system(r.system).score(scene.wav) for r in results}
        plot_scene(scene.wav, scene.labels, scores, outdir / "vad_scene.png",
                   title=f"held-out eSpeak scene {scene.name} (test split, seed {seed}): {scene.noise} noise at "
                         f"{scene.snr_db:g} dB SNR")
        plot_hter(results, outdir / "vad_hter_vs_snr.png",
                  title=f"HTER against SNR: {made.minutes:.0f} min of held-out eSpeak speech, "
                        f"{durations[0]:.0f} s per SNR (seed {seed})")
        fraction = float(np.mean(scene.labels))
    lines = [f"corpus: {made.n_scenes} scenes, {made.minutes:.1f} min of held-out eSpeak speech, "
             f"{made.realtime_factor:.0f}x real time", f"scene {scene.name}: speech fraction {fraction:.2f}"]
    lines += [f"{r.system:<9} HTER {r.overall.HTER:.3f}  AUC {r.overall.AUC:.3f}" for r in results]
    lines += skipped
    lines.append("plots: vad_scene.png, vad_hter_vs_snr.png")
    lines.append(_demo_real_speech(outdir, seed))
    return lines


def _demo_real_speech(outdir: Path, seed: int) -> str:
    """One conversation of the held-out real speakers over room tone, plotted with its labels (if installed)."""
    import tempfile

    from neuroflow.vad.corpus import generate_corpus, load_corpus
    from neuroflow.vad.metrics import summarize
    from neuroflow.vad.realspeech import plot_scene
    from neuroflow.vad.registry import get_system
    from neuroflow.vad.sources import SourceMissing, require

    try:
        require("test", real=True)
    except SourceMissing as exc:
        return f"real speech: {exc}"
    with tempfile.TemporaryDirectory(prefix="neuroflow-vad-real-") as tmp:
        generate_corpus(tmp, minutes=0.25, split="test", speech="real", seed=seed, durations=(15.0,),
                        noises=("none",), progress=False)
        scene = load_corpus(tmp)[0]
        plot_scene(scene, Path(outdir) / "vad_real_scene.png")
        who = ", ".join(s["name"] for s in scene.info["speakers"])
        score = get_system("bin").score(scene.wav, scene.sr)  # scored once, then with and without a collar
        hter = [summarize([scene.labels], [score], [scene.snr_db], [scene.noise], collar=c).overall.HTER
                for c in (0.0, 0.25)]
    background = {"roomtone": "room tone", "silence": "digital silence"}[scene.info["background"]]
    return (f"real speech: {who} over {background}, speech fraction {scene.speech_fraction:.2f}; bin model HTER "
            f"{hter[0]:.3f}, {hter[1]:.3f} with the frames within 0.25 s of each label change unscored (`vad eval "
            f"--collar`); plot: vad_real_scene.png")
