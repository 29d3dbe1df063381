"""CLI verbs of the spiking VAD: ``neuroflow vad train | calibrate | info | detect``, and its part of ``neuroflow demo``."""
from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path

from neuroflow._utils import FIGURE_SUFFIXES, file_problem, read_json
from neuroflow.cliutil import (add_common_options, emit, flag_error, input_dir, input_file, integer, number,
                               output_file)


def _model_spec(text: str) -> str:
    """argparse type: "snu", "bin" or an existing model file."""
    problem = None if text.lower() in ("snu", "bin") else file_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"expected snu, bin or a model file, got {text!r} ({problem})")
    return text


def _add_rules(p) -> None:
    """The segment options of `vad detect` (SegmentRules)."""
    p.add_argument("--threshold", type=number(0.0, 1.0), default=0.5,
                   help="a frame is speech where its score is at least this; scores are scaled so that 0.5 is the "
                        "model's own calibrated threshold (`vad info` shows it) (default: %(default)s)")
    p.add_argument("--min-speech", type=number(0.0, 3600.0), default=0.0, metavar="SECONDS",
                   help="drop speech segments shorter than this (default: %(default)s)")
    p.add_argument("--min-silence", type=number(0.0, 3600.0), default=0.0, metavar="SECONDS",
                   help="bridge pauses shorter than this (default: %(default)s)")
    p.add_argument("--pad", type=number(0.0, 3600.0), default=0.0, metavar="SECONDS",
                   help="widen every segment by this on both sides (default: %(default)s)")


def register(verbs) -> None:
    p = verbs.add_parser("train", help="train (and prune) a spiking VAD on a corpus with BPTT; resumable")
    p.add_argument("--corpus", required=True, type=input_dir, nargs="+",
                   help="corpus folder(s) (from `neuroflow vad corpus`); the scenes of several are pooled")
    p.add_argument("--model", default=None, choices=["snu", "bin"],
                   help="SNU network or bin-encoded SNN (default: the kind of the --recipe, else snu)")
    p.add_argument("--prune", type=number(0.0, 1.0, hi_open=True), default=None,
                   help="fraction of connections to prune, 0 = none (default: the recipe's, 0.85)")
    p.add_argument("--epochs", type=integer(1), default=None, help="epochs of dense training (default: the recipe's)")
    p.add_argument("--prune-epochs", type=integer(0), default=None,
                   help="retraining epochs per pruning round (default: the recipe's)")
    p.add_argument("--hidden", type=integer(1), nargs="+", default=None, help="hidden layer sizes (default: the recipe's)")
    p.add_argument("--recipe", type=input_file, default=None,
                   help="JSON file of recipe settings (a model's .json works; default: the shipped model's recipe)")
    p.add_argument("--out", required=True, type=output_file((".pt",)),
                   help="model file to write (.pt); a .json report goes beside it")
    p.add_argument("--no-resume", action="store_true", help="start over even if a checkpoint exists")
    p.add_argument("--seed", type=integer(0), default=None,
                   help="random seed (default: the recipe's; without --recipe, the shipped model's)")
    add_common_options(p, plot=True, seed=False)
    p.set_defaults(func=_train)

    p = verbs.add_parser("calibrate", help="choose a spiking VAD's threshold, release, median and hangover (and its "
                                           "length at low SNR) on real speech of the training speakers")
    p.add_argument("--model", type=_model_spec, required=True, help="snu | bin | PATH of a model file")
    p.add_argument("--corpus", required=True, type=input_dir, nargs="+",
                   help="corpus folder(s) of training-split scenes with labels (`neuroflow vad corpus --speech real "
                        "--split train`); the scenes of several are pooled")
    p.add_argument("--out", required=True, type=output_file((".pt",)),
                   help="model file to write (.pt): the same network with the chosen rule")
    add_common_options(p, plot=False, seed=False)
    p.set_defaults(func=_calibrate)

    p = verbs.add_parser("info", help="a spiking VAD's size, sparsity, activity and estimated power")
    p.add_argument("--model", type=_model_spec, default="snu", help="snu | bin | PATH of a model file (default: %(default)s)")
    p.add_argument("--audio", type=input_file, default=None,
                   help="measure activity on this audio file (default: the training data stored with the model)")
    p.add_argument("--pj-per-sop", type=number(0.0, 1e6, lo_open=True), default=23.6,
                   help="energy per operation in pJ, in (0, 1e6] (default: %(default)s, Loihi)")
    add_common_options(p, plot=False, seed=False)
    p.set_defaults(func=_info)

    p = verbs.add_parser("detect", help="speech segments of an audio file with a spiking VAD")
    p.add_argument("file", type=input_file, help="audio file (WAV, FLAC, OGG, ...; any sample rate)")
    p.add_argument("--model", type=_model_spec, default="snu", help="snu | bin | PATH of a model file (default: %(default)s)")
    _add_rules(p)
    add_common_options(p, plot=False, seed=False)
    p.add_argument("--plot", type=output_file(FIGURE_SUFFIXES), default=None, metavar="PATH",
                   help="save the waveform, detected segments and scores to PATH (.png, .pdf, .svg, ...)")
    p.set_defaults(func=_detect)


# ----------------------------------------------------------------------------- train
#: the recipe settings that `vad train`'s flags set, and the flag of each
_FLAGS = {"kind": "--model", "seed": "--seed", "prune": "--prune", "epochs": "--epochs",
          "prune_epochs": "--prune-epochs", "hidden": "--hidden"}


def _json_type(value) -> str:
    """What a JSON value is, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return {dict: "an object", list: "an array", str: "a string"}.get(type(value), "a number")


def _recipe_from_args(args):
    from neuroflow.vad.recipe import Recipe, default_recipe

    settings: dict = {}
    if args.recipe is not None:
        try:
            loaded = read_json(args.recipe, "recipe")
        except ValueError as exc:
            raise ValueError(f"--recipe: {exc}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"--recipe: {args.recipe}: expected a JSON object of settings (or a model's report "
                             f"with one under \"recipe\"), got {_json_type(loaded)}")
        settings = loaded.get("recipe", loaded)
        if not isinstance(settings, dict):
            raise ValueError(f"--recipe: {args.recipe}: expected a JSON object of settings under \"recipe\", got "
                             f"{_json_type(settings)}")
        settings = dict(settings)
    in_file = settings.get("kind")
    if args.model is not None and in_file is not None and in_file != args.model:
        raise ValueError(f"--model, --recipe: --model {args.model}, but {args.recipe} is a recipe for a "
                         f"{in_file!r} model; give one kind")
    kind = args.model or in_file or "snu"
    flagged = {"kind": kind} if args.model is not None else {}
    settings["kind"] = kind
    if args.seed is not None:
        flagged["seed"] = args.seed
    for key, value in (("prune", args.prune), ("epochs", args.epochs), ("prune_epochs", args.prune_epochs),
                       ("hidden", args.hidden)):
        if value is not None:
            flagged[key] = value
    settings.update(flagged)
    if args.recipe is None:  # start from the recipe of the shipped model of that kind
        settings = {**default_recipe(kind).to_dict(), **settings}
    try:
        recipe = Recipe.from_dict(settings)
    except ValueError as exc:  # named after the flag that set the setting, else the recipe file
        name, _, reason = str(exc).partition(": ")
        if name in flagged:
            raise ValueError(f"{_FLAGS[name]}: {reason}") from None
        via = [f"{k} from {_FLAGS[k]}" for k in flagged if k != "kind" and f"{k}=" in reason]  # a bound a flag set
        message = str(exc) + (f" ({', '.join(via)})" if via else "")
        raise ValueError(f"--recipe: {args.recipe}: {message}" if args.recipe is not None else message) from None
    if args.prune_epochs is not None and recipe.prune == 0:  # it was taken and did nothing: no round retrains
        source = "--prune 0" if args.prune is not None else f"the recipe's prune 0 ({args.recipe})"
        raise ValueError(f"--prune-epochs: retrains after each pruning round, and {source} prunes nothing; leave "
                         f"--prune-epochs out or give --prune a fraction above 0")
    return recipe


def _distinct_folders(folders) -> list:
    """``folders`` (--corpus), or ValueError naming one given twice (its scenes would be pooled twice)."""
    seen = {}
    for folder in folders:
        key = Path(folder).resolve()
        if key in seen:
            same = "" if str(seen[key]) == str(folder) else f" (the same folder as {seen[key]})"
            raise ValueError(f"--corpus: {folder}{same} is given twice; give each corpus folder once")
        seen[key] = folder
    return list(folders)


def _train(args) -> int:
    from neuroflow.vad.training import CheckpointRefused, train_vad

    corpora = _distinct_folders(args.corpus)
    recipe = _recipe_from_args(args)
    try:
        result = train_vad(corpora, args.out, recipe, resume=not args.no_resume, progress=not args.quiet)
    except CheckpointRefused as exc:  # what to do, in the CLI's words
        raise ValueError(f"{exc.path}: {exc.reason}; write to another --out, delete {exc.path}, or start "
                         f"over with --no-resume") from None
    except ValueError as exc:  # the training data itself (no speech frames, ...): named after the flag
        raise flag_error(exc, {"corpus": "--corpus", "out": "--out"}) from None
    except KeyboardInterrupt:  # every finished epoch is in the checkpoint; the same command resumes from it
        ckpt = args.out.with_name(args.out.name + ".ckpt")
        emit(args, {"interrupted": True, "checkpoint": str(ckpt) if ckpt.exists() else None},
             [f"interrupted; finished epochs kept in {ckpt} (rerun the same command to resume)"
              if ckpt.exists() else "interrupted before the first epoch finished; nothing kept"])
        return 130
    if args.plot is not None:
        from neuroflow.vad.plots import plot_history

        plot_history(result.history, args.plot)
    e = result.energy
    lines = [f"{recipe.kind} model written to {result.path}"
             + (f" (dense model: {result.dense_path})" if result.dense_path else ""),
             f"validation HTER {100 * result.val['hter']:.2f}% (unpruned {100 * result.dense_val['hter']:.2f}%), "
             f"threshold {result.threshold:.2f}",
             f"sparsity {100 * result.sparsity:.1f}%, {e['spikes_per_neuron_per_frame']:.3f} spikes/neuron/frame, "
             f"{e['sops_per_s']:.0f} SOP/s -> {e['power_uW']:.2f} uW",
             f"{result.seconds:.0f} s" + (" (resumed)" if result.resumed else "")]
    emit(args, result.to_dict(), lines)
    return 0


# ----------------------------------------------------------------------------- calibrate
def _calibrate(args) -> int:
    from neuroflow.vad.calibration import calibrate, calibrated_copy, rule_text
    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.detect import SpikingVADSystem
    from neuroflow.vad.evaluation import warn_unfinished
    from neuroflow.vad.training import out_lock

    scenes = []
    for folder in _distinct_folders(args.corpus):
        corpus = load_corpus(folder)
        warn_unfinished(corpus, "calibrating on those")
        held_out = [s.name for s in corpus if s.split != "train"]
        if held_out:
            raise ValueError(f"--corpus: {folder} holds held-out (test-split) scenes ({held_out[0]}, ...); "
                             f"calibrate on training speakers (`neuroflow vad corpus --split train`)")
        scenes += list(corpus)
    if not scenes:
        raise ValueError(f"--corpus: {' '.join(str(f) for f in args.corpus)}: no scenes to calibrate on")
    system = SpikingVADSystem(args.model)
    with out_lock(args.out, "--out"):  # another run's model would replace this one's, or this one the other's
        cal = calibrate(system, scenes, progress=not args.quiet)
        cal = replace(cal, corpus=[str(f) for f in args.corpus])
        calibrated_copy(system.path, cal, args.out)
    def rule(label: str, r: dict) -> str:
        return (f"  {label}: {rule_text(r['threshold'], r)}: "
                f"mean HTER {100 * r['hter']:.2f}% (MR {100 * r['mr']:.2f}%, FAR {100 * r['far']:.2f}%)")

    lines = [f"{system.name}: {cal.scenes} scenes, {len(cal.conditions)} conditions"
             + (f" ({len(cal.left_out)} without both classes left out)" if cal.left_out else ""),
             rule("before", cal.before), rule("chosen", cal.to_dict()), f"model written to {args.out}"]
    emit(args, {**cal.to_dict(), "model": str(system.path), "out": str(args.out)}, lines)
    return 0


# ----------------------------------------------------------------------------- info
def _real(value) -> bool:
    """Whether a model's informational field holds a plain finite number (what the lines below format)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _teacher_lines(info: dict, prefix: str) -> list[str]:
    """What a model (its :func:`~neuroflow.vad.energy.model_info`) learnt from besides its labels, if anything; a
    damaged record of it (informational only: the weights are what detect uses) is shown as it stands."""
    recipe = info.get("recipe")
    weight = recipe.get("teacher_weight") if isinstance(recipe, dict) else None
    if not weight:
        return []
    teacher = recipe.get("teacher")
    if not (_real(weight) and isinstance(teacher, str)):
        return [f"  {prefix}recorded teacher settings are damaged (teacher {teacher!r:.40}, teacher_weight "
                f"{weight!r:.40})"]
    return [f"  {prefix}trained towards its labels blended {weight:g} with the {teacher} "
            f"model's speech probability (Recipe.teacher; network SHA-256 {str(info.get('teacher_sha256'))[:12]}...)"]


def _info(args) -> int:
    from neuroflow.vad.calibration import rule_text
    from neuroflow.vad.energy import model_info
    from neuroflow.vad.frontend import feature_width

    try:
        p = model_info(args.model, args.audio, args.pj_per_sop)
    except ValueError as exc:  # "audio: x.wav is shorter than one 10 ms frame" named the API argument
        raise flag_error(exc, {"audio": "--audio", "pj_per_sop": "--pj-per-sop"}) from None
    width = feature_width(p["config"]["features"])
    lines = [f"{p['kind']} model {p['model']}",
             f"  layers: {str(p['config']['n_bins']) + 'x' if p['kind'] == 'bin' else ''}{width} "
             f"-> {' -> '.join(str(h) for h in p['config']['hidden'])} -> 1",
             f"  synapses: {p['synapses']} of {p['synapses_total']} (sparsity {100 * p['sparsity']:.1f}%), "
             f"{p['neurons']} neurons",
             f"  activity ({p['activity_source']}): {p['spikes_per_frame']:.2f} spikes/frame, "
             f"{p['spikes_per_neuron_per_frame']:.3f} spikes/neuron/frame",
             f"  {p['sops_per_s']:.0f} operations/s at {p['frame_rate']:.0f} frames/s -> {p['power_uW']:.2f} uW "
             f"at {p['pj_per_sop']:g} pJ/op",
             f"  ({p['source']})"]
    if _real(p.get("val_hter")):  # informational fields: a damaged one is left out, never fatal
        lines.append(f"  validation HTER {100 * p['val_hter']:.2f}%"
                     + (f" (unpruned {100 * p['dense_val_hter']:.2f}%)" if _real(p.get("dense_val_hter")) else ""))
    if isinstance(p.get("smoothing"), dict):  # validated when the model was read
        lines.append(f"  decision rule: {rule_text(p['threshold'], p['smoothing'])}")
    lines += _teacher_lines(p, "")
    emit(args, p, lines)
    return 0


# ----------------------------------------------------------------------------- detect
def _detect(args) -> int:
    from neuroflow.vad.audio import load_audio
    from neuroflow.vad.detect import SpikingVADSystem

    system = SpikingVADSystem(args.model)
    det = system.detect_file(args.file, threshold=args.threshold, min_speech_s=args.min_speech,
                             min_silence_s=args.min_silence, pad_s=args.pad)
    lines = [f"{args.file}: {det.duration_s:.2f} s, {len(det.segments)} speech segment(s) ({system.name})"]
    lines += [f"  {a:8.2f} - {b:8.2f} s" for a, b in det.segments]
    if args.plot is not None:
        from neuroflow.vad.plots import plot_detection

        wav, _ = load_audio(args.file)
        plot_detection(wav, det, args.plot, title=f"{args.file.name} ({system.name})")
        lines.append(f"plot: {args.plot}")
    emit(args, det.to_dict(), lines)
    return 0


# ----------------------------------------------------------------------------- demo
def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    """Both shipped spiking models on a held-out scene (real speakers when installed): detection plots with
    the true labels, error rates beside WebRTC-3 and Silero, power estimate, and streaming = one call."""
    import numpy as np

    from neuroflow.vad.calibration import rule_text
    from neuroflow.vad.detect import SpikingVADSystem
    from neuroflow.vad.energy import model_info
    from neuroflow.vad.metrics import error_rates
    from neuroflow.vad.plots import plot_detection
    from neuroflow.vad.evaluation import held_out_scene
    from neuroflow.vad.registry import available_systems

    outdir = Path(outdir)
    plan, wav, labels, info, note = held_out_scene(seed, 20.0 if quick else 30.0)
    speakers = [f"{sp['person']} ({sp['language']}, {sp['sex']})" for sp in info.get("speakers", [])]
    who = f"held-out speakers {' and '.join(speakers)}" if speakers else "held-out eSpeak voices"
    lines = [f"scene {plan.name}: {plan.duration_s:.0f} s of {who}, {plan.noise} noise at {plan.snr_db:+.0f} dB SNR"]
    if note:
        lines.append(note)
    for kind in ("snu", "bin"):
        system = SpikingVADSystem(kind)
        det = system.detect_array(wav, 16000)
        mr, far, h = error_rates(det.speech_prob >= 0.5, labels[: len(det.speech_prob)])
        plot_detection(wav, det, outdir / f"spiking_vad_{kind}.png", labels=labels,
                       title=f"{kind} on {who}, {plan.noise} noise at {plan.snr_db:+.0f} dB SNR: HTER {100 * h:.1f}%")
        stream = system.stream()
        chunks = [stream.process(wav[i:i + 512]) for i in range(0, len(wav), 512)] + [stream.flush()]
        same = np.array_equal(np.concatenate(chunks), det.speech_prob) and stream.segments == det.segments
        e = model_info(kind)
        lines.append(f"{kind}: MR {100 * mr:.1f}%  FAR {100 * far:.1f}%  HTER {100 * h:.1f}%, "
                     f"{len(det.segments)} segments; {100 * e['sparsity']:.0f}% pruned, "
                     f"{e['spikes_per_neuron_per_frame']:.3f} spikes/neuron/frame, {e['power_uW']:.2f} uW at 23.6 pJ/op; "
                     f"streamed in 32 ms chunks: {'identical' if same else 'DIFFERENT'} scores and segments")
        cal = system.loaded.info.get("calibration")
        if cal:
            lines.append(f"  {kind} decision rule: {rule_text(cal['threshold'], cal)}, chosen by `neuroflow vad "
                         f"calibrate` on real speech of the training speakers (mean HTER there "
                         f"{100 * cal['before']['hter']:.1f} -> {100 * cal['hter']:.1f}%)")
        lines += _teacher_lines(e, f"{kind} ")
    baselines, skipped = available_systems(("webrtc:3", "silero"))
    for system in baselines:
        mr, far, h = error_rates(system.score(wav, 16000) >= 0.5, labels)
        lines.append(f"{system.name}: MR {100 * mr:.1f}%  FAR {100 * far:.1f}%  HTER {100 * h:.1f}%")
    lines += skipped
    lines.append("plots: spiking_vad_snu.png, spiking_vad_bin.png")
    return lines
