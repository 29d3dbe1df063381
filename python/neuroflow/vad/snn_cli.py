"""CLI verbs of the spiking VAD: ``neuroflow vad train | info | detect``, and its part of ``neuroflow demo``."""
from __future__ import annotations

import json
from pathlib import Path


def register(verbs) -> None:
    from neuroflow.cliutil import add_common_options

    p = verbs.add_parser("train", help="train (and prune) a spiking VAD on a corpus with BPTT; resumable")
    p.add_argument("--corpus", required=True, type=Path, nargs="+",
                   help="corpus folder(s) (from `neuroflow vad corpus`); the scenes of several are pooled")
    p.add_argument("--model", default="snu", choices=["snu", "bin"], help="SNU network or bin-encoded SNN")
    p.add_argument("--prune", type=float, default=None, help="fraction of connections to prune (default 0.85; 0 = none)")
    p.add_argument("--epochs", type=int, default=None, help="epochs of dense training (default from the recipe)")
    p.add_argument("--prune-epochs", type=int, default=None, help="retraining epochs per pruning round")
    p.add_argument("--hidden", type=int, nargs="+", default=None, help="hidden layer sizes")
    p.add_argument("--recipe", type=Path, default=None, help="JSON file of recipe settings (a model's .json works)")
    p.add_argument("--out", required=True, type=Path, help="model file to write (.pt); a .json report goes beside it")
    p.add_argument("--no-resume", action="store_true", help="start over even if a checkpoint exists")
    add_common_options(p, plot=True)
    p.set_defaults(func=_train)

    p = verbs.add_parser("info", help="a spiking VAD's size, sparsity, activity and estimated power")
    p.add_argument("--model", default="snu", help="snu | bin | PATH of a model file (default snu)")
    p.add_argument("--audio", type=Path, default=None, help="measure activity on this audio file instead")
    p.add_argument("--pj-per-sop", type=float, default=None, help="energy per operation in pJ (default 23.6, Loihi)")
    add_common_options(p, plot=False, seed=False)
    p.set_defaults(func=_info)

    p = verbs.add_parser("detect", help="speech segments of an audio file with a spiking VAD")
    p.add_argument("file", type=Path, help="audio file (WAV, FLAC, OGG, ...; any sample rate)")
    p.add_argument("--model", default="snu", help="snu | bin | PATH of a model file (default snu)")
    add_common_options(p, plot=True, seed=False)
    p.set_defaults(func=_detect)


# ----------------------------------------------------------------------------- train
def _recipe_from_args(args):
    from neuroflow.vad.training import Recipe

    settings: dict = {}
    if args.recipe is not None:
        if not args.recipe.is_file():
            raise FileNotFoundError(f"--recipe: file not found: {args.recipe}")
        try:
            loaded = json.loads(args.recipe.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"--recipe: {args.recipe} is not JSON ({exc})") from None
        settings = dict(loaded.get("recipe", loaded))
    settings["kind"] = args.model
    settings["seed"] = args.seed
    for key, value in (("prune", args.prune), ("epochs", args.epochs), ("prune_epochs", args.prune_epochs),
                       ("hidden", args.hidden)):
        if value is not None:
            settings[key] = value
    if args.recipe is None:  # start from the recipe of the shipped model of that kind
        from neuroflow.vad.training import default_recipe

        settings = {**default_recipe(args.model).to_dict(), **settings}
    return Recipe.from_dict(settings)


def _train(args) -> int:
    from neuroflow.cliutil import emit
    from neuroflow.vad.training import train_vad

    recipe = _recipe_from_args(args)
    result = train_vad(args.corpus, args.out, recipe, resume=not args.no_resume, progress_bar=not args.quiet)
    if args.plot is not None:
        plot_history(result.history, args.plot)
    e = result.energy
    lines = [f"model written to {result.path}" + (f" (dense model: {result.dense_path})" if result.dense_path else ""),
             f"validation HTER {100 * result.val['hter']:.2f}% (unpruned {100 * result.dense_val['hter']:.2f}%), "
             f"threshold {result.threshold:.2f}",
             f"sparsity {100 * result.sparsity:.1f}%, {e['spikes_per_neuron_per_frame']:.3f} spikes/neuron/frame, "
             f"{e['sops_per_s']:.0f} SOP/s -> {e['power_uW']:.2f} uW",
             f"{result.seconds:.0f} s" + (" (resumed)" if result.resumed else "")]
    emit(args, result.to_dict(), lines)
    return 0


def plot_history(history: list[dict], path) -> Path:
    from neuroflow._utils import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    x = range(1, len(history) + 1)
    ax[0].plot(x, [100 * h["val_hter"] for h in history], "o-", label="validation HTER")
    ax[0].set_xlabel("epoch (all rounds)")
    ax[0].set_ylabel("HTER (%)")
    ax2 = ax[0].twinx()
    ax2.plot(x, [100 * h["sparsity"] for h in history], "s--", color="grey", label="pruned")
    ax2.set_ylabel("connections pruned (%)")
    ax[1].plot(x, [h["train_spike_rate"] for h in history], "o-")
    ax[1].set_xlabel("epoch (all rounds)")
    ax[1].set_ylabel("spikes / neuron / frame")
    fig.tight_layout()
    return save_figure(fig, path)


# ----------------------------------------------------------------------------- info
def model_info(model: str = "snu", audio=None, pj_per_sop: float | None = None) -> dict:
    """Size, sparsity, activity and power of a model; activity from its training data or from ``audio``."""
    from neuroflow.vad.detect import model_path
    from neuroflow.vad.energy import LOIHI_PJ_PER_SOP, energy_report, layer_rates
    from neuroflow.vad.snn import load_model

    loaded = load_model(model_path(model))
    if audio is not None:
        from neuroflow.vad.audio import load_audio
        from neuroflow.vad.training import compute_features

        wav, sr = load_audio(audio)
        feats = compute_features(wav, sr, loaded.model.features)
        if len(feats) == 0:
            raise ValueError(f"--audio: {audio} is shorter than one 10 ms frame")
        rates, source = layer_rates(loaded.model, [feats]), str(audio)
    elif "rates" in loaded.info:
        rates, source = loaded.info["rates"], "training data (stored with the model)"
    else:
        raise ValueError(f"{loaded.path}: holds no measured activity; pass --audio FILE to measure it")
    report = energy_report(loaded.model, rates, pj_per_sop=pj_per_sop or LOIHI_PJ_PER_SOP)
    payload = report.to_dict()
    val = loaded.info.get("val") or {}
    dense = loaded.info.get("dense_val") or {}
    payload.update({"model": str(loaded.path), "kind": loaded.model.kind, "config": loaded.model.config(),
                    "threshold": loaded.threshold, "smoothing": loaded.smoothing, "activity_source": source,
                    "val_hter": val.get("hter"), "dense_val_hter": dense.get("hter"),
                    "recipe": loaded.info.get("recipe")})
    return payload


def _info(args) -> int:
    from neuroflow.cliutil import emit

    p = model_info(args.model, args.audio, args.pj_per_sop)
    lines = [f"{p['kind']} model {p['model']}",
             f"  layers: {p['config'].get('n_bins', '')}{'x' if p['kind'] == 'bin' else ''}{p['config']['n_mels']} "
             f"-> {' -> '.join(str(h) for h in p['config']['hidden'])} -> 1",
             f"  synapses: {p['synapses']} of {p['synapses_total']} (sparsity {100 * p['sparsity']:.1f}%), "
             f"{p['neurons']} neurons",
             f"  activity ({p['activity_source']}): {p['spikes_per_frame']:.2f} spikes/frame, "
             f"{p['spikes_per_neuron_per_frame']:.3f} spikes/neuron/frame",
             f"  {p['sops_per_s']:.0f} operations/s at {p['frame_rate']:.0f} frames/s -> {p['power_uW']:.2f} uW "
             f"at {p['pj_per_sop']} pJ/op",
             f"  ({p['source']})"]
    if p.get("val_hter") is not None:
        lines.append(f"  validation HTER {100 * p['val_hter']:.2f}%"
                     + (f" (unpruned {100 * p['dense_val_hter']:.2f}%)" if p.get("dense_val_hter") is not None else ""))
    emit(args, p, lines)
    return 0


# ----------------------------------------------------------------------------- detect
def plot_detection(wav, det, path, title: str = "", labels=None) -> Path:
    """Waveform with detected segments (green) and the speech score; ``labels`` (0/1 per 10 ms frame),
    when known, are drawn under the score as the reference."""
    import numpy as np

    from neuroflow._utils import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(2, 1, figsize=(10, 4), sharex=True)
    t = np.arange(len(wav)) / 16000.0
    step = max(1, len(wav) // 20000)
    ax[0].plot(t[::step], wav[::step], lw=0.5, color="k")
    for a, b in det.segments:
        for axis in ax:
            axis.axvspan(a, b, color="tab:green", alpha=0.2)
    ax[0].set_ylabel("waveform")
    ax[0].set_title(title or f"{det.model}: {len(det.segments)} speech segment(s)")
    ft = np.arange(len(det.speech_prob)) * det.hop_s
    ax[1].plot(ft, det.speech_prob, color="tab:blue", label="speech score")
    if labels is not None:
        lt = np.arange(len(labels)) * det.hop_s
        ax[1].fill_between(lt, 0, np.asarray(labels, float), step="post", color="tab:orange", alpha=0.25,
                           label="true speech")
        ax[1].legend(loc="upper right", fontsize=8)
    ax[1].axhline(0.5, color="grey", ls="--", lw=0.8)
    ax[1].set_ylim(-0.02, 1.02)
    ax[1].set_ylabel("speech score")
    ax[1].set_xlabel("time (s)")
    fig.tight_layout()
    return save_figure(fig, path)


def _detect(args) -> int:
    from neuroflow.cliutil import emit
    from neuroflow.vad.audio import load_audio
    from neuroflow.vad.detect import SpikingVADSystem

    system = SpikingVADSystem(args.model)
    det = system.detect_file(args.file)
    if args.plot is not None:
        wav, _ = load_audio(args.file)
        plot_detection(wav, det, args.plot, title=f"{args.file.name} ({system.name})")
    payload = det.to_dict()
    lines = [f"{args.file}: {det.duration_s:.2f} s, {len(det.segments)} speech segment(s) ({system.name})"]
    lines += [f"  {a:8.2f} - {b:8.2f} s" for a, b in det.segments]
    emit(args, payload, lines)
    return 0


# ----------------------------------------------------------------------------- demo
def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    """Shipped models on a generated group-B clip: detection plot, power estimate, and (full) a short training."""
    from neuroflow.vad.corpus import make_scene, plan_corpus
    from neuroflow.vad.detect import SpikingVADSystem
    from neuroflow.vad.training import hter

    outdir = Path(outdir)
    # a held-out (group B) scene at a moderate noise level, where a detector's behaviour is visible
    plan = plan_corpus(0.5, "B", seed, durations=(20.0,) if quick else (60.0,), snrs=(5.0,), noises=("street",))[0]
    wav, labels, _ = make_scene(plan)
    lines = [f"scene {plan.name}: {plan.duration_s:.0f} s, {plan.noise} noise at {plan.snr_db:+.0f} dB SNR"]
    for kind in ("snu", "bin"):
        system = SpikingVADSystem(kind)
        det = system.detect_array(wav, 16000)
        n = min(len(labels), len(det.speech_prob))
        h = hter(det.speech_prob[:n] >= 0.5, labels[:n])[0]
        plot_detection(wav, det, outdir / f"spiking_vad_{kind}.png", labels=labels,
                       title=f"{system.name} on {plan.name} ({plan.noise}, {plan.snr_db:+.0f} dB): HTER {100 * h:.1f}%")
        info = model_info(kind)
        lines.append(f"{system.name}: HTER {100 * h:.1f}% on this scene, {len(det.segments)} segments; "
                     f"{100 * info['sparsity']:.0f}% pruned, {info['spikes_per_neuron_per_frame']:.3f} "
                     f"spikes/neuron/frame, {info['power_uW']:.2f} uW (Loihi, 23.6 pJ/op)")
    if not quick:
        import tempfile

        from neuroflow.vad.corpus import generate_corpus
        from neuroflow.vad.training import Recipe, train_vad

        # 15 min of group-A speech (about 35 s to generate and train on one thread); the small model is
        # judged on its validation split and, like the shipped ones above, on the held-out group-B scene
        with tempfile.TemporaryDirectory() as tmp:
            generate_corpus(Path(tmp) / "corpus", minutes=15, group="A", seed=seed, snrs=(0, 5, 10, 15),
                            progress_bar=False)
            recipe = Recipe(kind="snu", hidden=(32,), epochs=4, prune=0.85, prune_rate=0.6, prune_epochs=1,
                            seq_frames=100, batch_size=16, seed=seed)
            res = train_vad(Path(tmp) / "corpus", Path(tmp) / "m.pt", recipe, progress_bar=False)
            prob = SpikingVADSystem(Path(tmp) / "m.pt").score(wav, 16000)
        n = min(len(labels), len(prob))
        h = hter(prob[:n] >= 0.5, labels[:n])[0]
        plot_history(res.history, outdir / "spiking_vad_training.png")
        lines.append(f"trained a small SNU (32 units) on 15 min of group A in {res.seconds:.0f} s, "
                     f"{100 * res.sparsity:.0f}% pruned: validation HTER {100 * res.val['hter']:.1f}% "
                     f"(dense {100 * res.dense_val['hter']:.1f}%), {100 * h:.1f}% on the scene above")
    return lines
