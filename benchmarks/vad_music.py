"""Can the spiking VADs' inputs tell music from speech? Frame separability of held-out music and speech; prints JSON.

Measures, for the music target of issue 15 (held-out music called speech on <= 5 % of frames):

* **single inputs**: the frame AUC of each modulation input (:mod:`neuroflow.vad.modulation`), of the
  tonality input (:mod:`neuroflow.vad.tonality`) and of the rhythm input (:mod:`neuroflow.vad.rhythm`) between
  speech frames and music frames, on training data (real speech of the training speakers against the
  training music on hold) and on held-out data (the benchmark set's speech of the test speakers, in
  every condition and clean only, against its held-out music, asc-music);
* **logistic regressions** trained on training speech (``--train`` corpora, speech frames) against
  training music (``--music`` corpora, all frames) and scored on the held-out frames: with the 42
  frame inputs (bands and level), with the four modulation inputs added, with those four alone, with the
  tonality input added to the 46, with it alone, with the rhythm input added to the 47, and with it alone; the
  AUC and, at the decision value that keeps 95 % of the training speech, the share of held-out speech
  kept and of held-out music called speech;
* **the partials' persistence** (``tonality_measure="partials"``, :mod:`neuroflow.vad.tonality`, over 1 s) in
  place of the detail similarity: the same single-input AUCs and regressions (``with_partials``);
* **models** (``--models SPEC ...``, e.g. ``bin:/tmp/bin_mod.pt``): the held-out real-speech benchmark of
  ``benchmarks/vad.py`` (mean HTER over the 46 conditions, clean MR/FAR, music-only and room-tone-only
  speech fractions, per-noise mean HTER, real-time factor on one core) and what each one's training report
  says (recipe changes from the shipped model, sparsity, power, training seconds), for models trained with
  and without the modulation inputs.

Digital-silence frames are left out of the separability numbers (they read as silence, not music).
One thread. Usage::

    python benchmarks/vad_music.py --real DIR --train DIR [DIR ...] --music DIR [DIR ...] [--models SPEC ...]
                                   [--out result.json] [--note TEXT]

The folders are those of ``neuroflow/vad/models/recipe.json`` (``--train corpora/real-train
corpora/mixed-train --music corpora/music-train``) and ``neuroflow vad corpus --benchmark --seed 0``.
"""
from __future__ import annotations

from neuroflow.__main__ import ctrl_c_ends_in_one_line  # first: 1.5 ms (sys and the lazy package)

# Ctrl-C while the modules load (half a second: numpy, the library) ended in an import traceback: one line
# and exit status 130 now, as for `neuroflow` (neuroflow/__main__.py)
with ctrl_c_ends_in_one_line():
    import argparse
    import os
    import sys
    from pathlib import Path

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

    import numpy as np

    from neuroflow._utils import print_json
    from neuroflow.vad.recipe import default_recipe

#: the shipped models' feature configuration (the bin model's recipe: bands, level, modulation, tonality, rhythm)
FEATURES = default_recipe("bin").features()
#: the same with the partials' persistence over 1 s as the tonality input
PARTIALS = {**FEATURES, "tonality_measure": "partials", "tonality_window": 1.0}
N_BASE = 42
INPUTS = ("level_mod", "band_mod", "flux", "spread", "tonality", "rhythm")
#: frames drawn per class to fit each regression
N_FIT = 60000


def frames(folders, *, speech_only: bool, noise: str | None = None, features: dict = FEATURES) -> np.ndarray:
    """Feature frames (n, 48) of every scene of ``folders``: their speech frames, or all of them; digital
    silence left out; ``noise`` keeps only scenes of that noise condition."""
    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.frontend import FeatureExtractor
    from neuroflow.vad.sequences import raw_frames

    ex = FeatureExtractor(features)
    out = []
    for folder in folders:
        for scene in load_corpus(folder):
            if noise is not None and scene.noise != noise:
                continue
            raw, energy, own, sim = raw_frames(scene.wav, scene.sr, ex)
            n = min(len(raw), len(scene.labels))
            keep = own[:n] > -90.0
            if speech_only:
                keep &= scene.labels[:n] == 1
            out.append(ex.normalize_raw(raw[:n], energy[:n], own[:n], sim[:n])[keep])
    return np.concatenate(out)


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]))


def separability(train_speech, train_music, test_speech, test_clean, test_music, seed: int = 0) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    single = {}
    for i, name in enumerate(INPUTS):
        c = N_BASE + i
        single[name] = {"train": auc(train_speech[:, c], train_music[:, c]),
                        "heldout_all_conditions": auc(test_speech[:, c], test_music[:, c]),
                        "heldout_clean": auc(test_clean[:, c], test_music[:, c])}
    rng = np.random.default_rng(seed)
    logistic = {}
    for label, cols in (("42 band and level inputs", slice(0, N_BASE)), ("42 + 4 modulation", slice(0, N_BASE + 4)),
                        ("4 modulation alone", slice(N_BASE, N_BASE + 4)),
                        ("42 + 4 modulation + tonality", slice(0, N_BASE + 5)),
                        ("tonality alone", slice(N_BASE + 4, N_BASE + 5)),
                        ("42 + 4 modulation + tonality + rhythm", slice(0, N_BASE + 6)),
                        ("rhythm alone", slice(N_BASE + 5, N_BASE + 6))):
        n = min(N_FIT, len(train_speech), len(train_music))
        i = rng.choice(len(train_speech), n, replace=False)
        j = rng.choice(len(train_music), n, replace=False)
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
        clf.fit(np.r_[train_speech[i, cols], train_music[j, cols]], np.r_[np.ones(n), np.zeros(n)])
        score = lambda x: clf.decision_function(x[:, cols])  # noqa: E731
        s_train = score(train_speech)
        cut = float(np.quantile(s_train, 0.05))
        s_test, s_clean, s_music = score(test_speech), score(test_clean), score(test_music)
        logistic[label] = {"train_auc": auc(s_train, score(train_music)), "heldout_auc_all_conditions": auc(s_test, s_music),
                           "heldout_auc_clean": auc(s_clean, s_music),
                           "at_95pct_train_speech_kept": {"heldout_speech_kept": float(np.mean(s_test >= cut)),
                                                          "heldout_clean_speech_kept": float(np.mean(s_clean >= cut)),
                                                          "heldout_music_called_speech": float(np.mean(s_music >= cut))}}
    return {"single_input_auc": single, "logistic_regression": logistic}


def training_report(spec: str) -> dict:
    """What a model's training report (``<model>.json`` beside it) says: its recipe's settings that differ
    from the shipped model's, validation HTER, sparsity, power and training seconds."""
    import json

    from neuroflow.vad.detect import model_path
    from neuroflow.vad.recipe import default_recipe

    kind, _, where = spec.partition(":")
    path = model_path(where or kind).with_suffix(".json")
    if not path.is_file():
        return {}
    rep = json.loads(path.read_text())
    shipped = default_recipe(rep["recipe"]["kind"]).to_dict()
    return {"recipe_changes": {k: v for k, v in rep["recipe"].items() if shipped.get(k) != v},
            "validation_hter": rep.get("val", rep.get("validation", {})).get("hter"), "sparsity": rep.get("sparsity"),
            "power_uW": rep.get("energy", {}).get("power_uW", rep.get("power_uW")),
            "train_seconds": rep.get("seconds", rep.get("train_seconds_reported"))}


def models(specs, real: Path) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    import vad as bench

    from neuroflow.vad.registry import get_system

    from neuroflow.vad.corpus import load_corpus

    systems = {s: get_system(s) for s in specs}
    r = bench.real_speech(systems, real)
    wav = np.concatenate([s.wav for s in list(load_corpus(real / "speech"))[:4]])  # 2 minutes at 16 kHz
    keep = ("mean_HTER", "clean", "music_speech_fraction", "roomtone_speech_fraction", "per_noise_mean_HTER")
    return {name: {k: v[k] for k in keep} | {"music_conditions_HTER": {c: x["HTER"] for c, x in v["per_condition"].items()
                                                                      if c.startswith("music@")},
                                             "realtime_factor_one_core": bench.cpu_speed(systems[name], wav)}
            | training_report(name) for name, v in r["systems"].items()}


def _corpus_dir(text: str) -> Path:
    """argparse type: a corpus folder (with its corpus.json); a folder without one was a traceback after parsing."""
    from neuroflow.cliutil import input_dir

    path = input_dir(text)
    if not (path / "corpus.json").is_file():
        raise argparse.ArgumentTypeError(f"{text}: no corpus.json, so not a corpus (build one: neuroflow vad corpus)")
    return path


def main() -> int:
    from neuroflow.cliutil import Parser, input_dir, output_file
    from neuroflow.vad.cli import _system_spec

    # folders, specs and --out checked while parsing: a missing one was a traceback, --out after every measurement
    ap = Parser(prog="benchmarks/vad_music.py", description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=input_dir, required=True,
                    help="the benchmark set (vad corpus --benchmark): speech/, music/")
    ap.add_argument("--train", type=_corpus_dir, nargs="+", required=True,
                    help="training corpora whose speech frames count")
    ap.add_argument("--music", type=_corpus_dir, nargs="+", required=True, help="speech-free training music corpora")
    ap.add_argument("--models", type=_system_spec, nargs="+", default=[], metavar="SPEC",
                    help="models to benchmark (e.g. bin:path.pt)")
    ap.add_argument("--out", type=output_file((".json",)), default=None, help="also write the JSON here")
    ap.add_argument("--note", default=None, help="a note stored with the results (how the models were made)")
    args = ap.parse_args()
    for sub in ("speech", "music"):
        if not (args.real / sub / "corpus.json").is_file():
            ap.error(f"argument --real: {args.real}: no {sub}/ corpus (build it with neuroflow vad corpus --benchmark)")
    import torch

    torch.set_num_threads(1)
    def all_frames(features):
        return (frames(args.train, speech_only=True, features=features),
                frames(args.music, speech_only=False, features=features),
                frames([args.real / "speech"], speech_only=True, features=features),
                frames([args.real / "speech"], speech_only=True, noise="none", features=features),
                frames([args.real / "music"], speech_only=False, features=features))

    sets = all_frames(FEATURES)
    result = {"features": FEATURES, "inputs": list(INPUTS),
              "frames": dict(zip(("train_speech", "train_music", "heldout_speech", "heldout_clean_speech",
                                  "heldout_music"), (len(x) for x in sets))),
              **separability(*sets)}
    result["with_partials"] = {"features": PARTIALS, "note": "the 'tonality' input is the partials' persistence",
                               **separability(*all_frames(PARTIALS))}
    if args.models:
        result["models"] = models(args.models, args.real)
    if args.note:
        result["note"] = args.note
    print_json(result, args.out)  # written whole or not at all (write_text could leave half a file)
    return 0


if __name__ == "__main__":
    with ctrl_c_ends_in_one_line("interrupted"):  # what main() leaves uncaught (while parsing, say)
        sys.exit(main())
