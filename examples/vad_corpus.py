"""Build small VAD corpora (eSpeak speech, and real recorded speech where installed) and score the baselines on them.

    python examples/vad_corpus.py --quick --out /tmp/vad_example

Writes under --out: the corpora (corpus_espeak/, corpus_real/), vad_example_hter.png (HTER against SNR,
one line per system and speech kind), vad_example_scene.png (a real-speech scene of the held-out
speakers with its labels) and vad_example_prompt_labels.png (prompts of every real speaker with the
labels the corpus gives them). Real speech needs the Debian packages: `neuroflow vad sources --install`.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from neuroflow.cliutil import Parser, integer, output_dir  # noqa: E402
from neuroflow.vad.corpus import generate_corpus, load_corpus  # noqa: E402
from neuroflow.vad.evaluation import evaluate_system  # noqa: E402
from neuroflow.vad.realspeech import plot_prompt_labels, plot_scene  # noqa: E402
from neuroflow.vad.sources import SourceMissing, require  # noqa: E402
from neuroflow.vad.registry import available_systems  # noqa: E402


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 s of each corpus instead of 6 minutes")
    parser.add_argument("--out", type=output_dir(), default="neuroflow-out/vad_corpus", help="output folder")
    parser.add_argument("--seed", type=integer(0), default=0, help="random seed")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    minutes, espeak_s, real_s = (0.5, 5.0, 15.0) if args.quick else (6.0, 60.0, 30.0)

    systems, skipped = available_systems(("energy", "webrtc:3", "silero"))
    for line in skipped:
        print(line)
    corpora = {"espeak": generate_corpus(args.out / "corpus_espeak", minutes=minutes, split="test", seed=args.seed,
                                         durations=(espeak_s,), snrs=(15, 5, -5), progress=False).root}
    try:
        require("test", real=True, music=True)
    except SourceMissing as exc:
        print(f"real speech skipped: {exc}")
    else:
        corpora["real"] = generate_corpus(args.out / "corpus_real", minutes=minutes, split="test", speech="real",
                                          seed=args.seed, durations=(real_s,), snrs=(20, 5, -5),
                                          noises=("pink", "babble", "music", "none"), progress=False).root
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for kind, root in corpora.items():
        corpus = load_corpus(root)
        print(f"{kind}: {len(corpus)} scenes, {corpus.minutes:.1f} min")
        for system in systems:
            r = evaluate_system(system, corpus, progress=False)
            line = f"  {r.system:<9} HTER {r.overall.HTER:.3f}  MR {r.overall.MR:.3f}  FAR {r.overall.FAR:.3f}"
            if kind == "real":  # where utterances start and end is a labelling convention: NIST md-eval's collar
                collared = evaluate_system(system, corpus, progress=False, collar=0.25)
                line += f"  (HTER {collared.overall.HTER:.3f} with 0.25 s around each label change unscored)"
            print(line)
            snrs = sorted(r.per_snr, key=float)
            ax.plot([min(float(s), 30.0) for s in snrs], [100 * r.per_snr[s].HTER for s in snrs], marker="o",
                    ls="-" if kind == "real" else "--", label=f"{r.system}, {kind}")
    ax.set(xlabel="SNR (dB; clean drawn at 30)", ylabel="HTER (%)", title="Baselines on eSpeak and real speech")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.savefig(args.out / "vad_example_hter.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    if "real" in corpora:
        scene = max(load_corpus(corpora["real"]), key=lambda s: s.snr_db)
        plot_scene(scene, args.out / "vad_example_scene.png")
        plot_prompt_labels(args.out / "vad_example_prompt_labels.png", per_speaker=1 if args.quick else 2,
                           seed=args.seed)
    print(f"plots and corpora in {args.out}")


if __name__ == "__main__":
    main()
