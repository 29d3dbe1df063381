"""Corpus generation speed and baseline evaluation speed/accuracy, printed as JSON.

    python benchmarks/vad_corpus.py            # 30 min corpus (60/120 s scenes, group B), all baselines
    python benchmarks/vad_corpus.py --quick    # 6 min corpus of 60 s scenes (one per SNR)
    python benchmarks/vad_corpus.py --real     # the held-out real-speech set (52 min) and a 10 min real
                                               # training corpus; baselines per condition
                                               # -> benchmarks/results/vad_corpus_real.json

Targets from the issue: generation at least 20x faster than real time; WebRTC over 30 minutes of audio
in under a minute. Torch and BLAS are limited to one thread (set before numpy/torch load), so the
numbers are per core. Times are wall clock on a machine that may be shared: see "cpu_count" and "load".
The real-speech mode needs `neuroflow vad sources --install`.
"""
from __future__ import annotations

from neuroflow.__main__ import ctrl_c_ends_in_one_line  # first: 1.5 ms (sys and the lazy package)

# Ctrl-C while the modules load (half a second: numpy, the library) ended in an import traceback: one line
# and exit status 130 now, as for `neuroflow` (neuroflow/__main__.py)
with ctrl_c_ends_in_one_line():
    import os

    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

    import platform
    import sys
    import tempfile
    import time
    from pathlib import Path

    from neuroflow._utils import print_json


def _system_list(text: str) -> list[str]:
    """--systems: comma-separated system specs, each checked while parsing (a bad one was a traceback after the
    corpus was built)."""
    from neuroflow.vad.cli import _system_spec

    return [_system_spec(spec) for spec in text.split(",")]


def main() -> int:
    from neuroflow.cliutil import Parser, integer, number, output_dir, output_file

    # flags checked while parsing (the cliutil types): a bad --out or --minutes ended the run with a traceback
    parser = Parser(prog="benchmarks/vad_corpus.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 minutes of 60 s scenes instead of 30 min")
    parser.add_argument("--minutes", type=number(0.0, 600.0, lo_open=True), default=None,
                        help="corpus length (overrides --quick)")
    parser.add_argument("--seed", type=integer(0), default=0)
    parser.add_argument("--keep", type=output_dir(), default=None,
                        help="write the corpus here instead of a temp folder")
    parser.add_argument("--systems", type=_system_list, default="energy,webrtc:0,webrtc:3,silero")
    parser.add_argument("--real", action="store_true", help="benchmark the real-speech corpora instead")
    parser.add_argument("--out", type=output_file((".json",)), default=None, help="also write the JSON here")
    args = parser.parse_args()
    if len(set(args.systems)) < len(args.systems):
        parser.error(f"argument --systems: a system given twice in {','.join(args.systems)}")
    if args.real and args.minutes is not None:
        parser.error("--minutes, --real: the real-speech mode builds its own sizes (--quick for the small ones)")
    if args.real:
        return real_speech(args)
    minutes = args.minutes if args.minutes is not None else (6.0 if args.quick else 30.0)
    durations = (60.0,) if args.quick else (60.0, 120.0)

    import torch

    torch.set_num_threads(1)
    from neuroflow.vad.corpus import generate_corpus, load_corpus
    from neuroflow.vad.evaluation import evaluate_system
    from neuroflow.vad.speech import engine
    from neuroflow.vad.registry import available_systems

    engine()  # load eSpeak before timing, as a long-running generator would have it loaded
    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="vad-bench-")
        root = Path(tmp.name)
    else:
        root = args.keep
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    made = generate_corpus(root, minutes=minutes, group="B", seed=args.seed, durations=durations, progress_bar=False)
    # resuming a finished corpus only reads the manifest
    t0 = time.perf_counter()
    generate_corpus(root, minutes=minutes, group="B", seed=args.seed, durations=durations, progress_bar=False)
    resume_s = time.perf_counter() - t0

    corpus = load_corpus(root)
    audio_s = sum(s.duration_s for s in corpus)
    t0 = time.perf_counter()
    for scene in corpus:  # decode once so the system timings below exclude file reading
        scene.wav, scene.labels
    read_s = time.perf_counter() - t0
    scenes = list(corpus)

    systems, skipped = available_systems(args.systems)
    evals = {}
    for system in systems:
        t0 = time.perf_counter()
        result = evaluate_system(system, _Cached(corpus, scenes), progress=False)
        total = time.perf_counter() - t0
        d = result.to_dict()
        evals[system.name] = {
            "score_seconds": d["seconds"], "total_seconds": total, "realtime_factor": d["realtime_factor"],
            "seconds_per_30_min": d["seconds"] * 1800.0 / audio_s,
            "HTER": d["HTER"], "MR": d["MR"], "FAR": d["FAR"], "AUC": d["AUC"], "EER": d["EER"], "DCF": d["DCF"],
            "HTER_per_level": {k: v["HTER"] for k, v in d["per_level"].items()},
            "HTER_per_snr": {k: v["HTER"] for k, v in d["per_snr"].items()},
            "HTER_per_noise": {k: v["HTER"] for k, v in d["per_noise"].items()},
        }
    if tmp is not None:
        tmp.cleanup()

    webrtc = evals.get("webrtc:3") or next((v for k, v in evals.items() if k.startswith("webrtc")), None)
    report = {
        "benchmark": "vad_corpus",
        "quick": bool(args.quick),
        "corpus": {"minutes": made.minutes, "durations_s": list(durations), "scenes": made.n_scenes, "group": "B",
                   "seed": args.seed,
                   "generate_seconds": made.seconds, "realtime_factor": made.realtime_factor,
                   "resume_seconds": resume_s, "read_seconds": read_s,
                   "speech_fraction": sum(s.speech_fraction * s.duration_s for s in scenes) / audio_s},
        "systems": evals,
        "skipped": skipped,
        "targets": {
            "generation_realtime_factor_min": 20.0,
            "generation_ok": made.realtime_factor >= 20.0,
            "webrtc_seconds_per_30_min_max": 60.0,
            "webrtc_ok": None if webrtc is None else webrtc["seconds_per_30_min"] < 60.0,
        },
        "threads": {"torch": torch.get_num_threads(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")},
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "load_1min_before": load_before},
    }
    print_json(report, args.out)  # --out was left unwritten here
    return 0


def _machine() -> dict:
    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "load_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def real_speech(args) -> int:
    """Build the held-out real-speech set and a real training corpus (timed); score the baselines on the set."""
    import torch

    torch.set_num_threads(1)
    from neuroflow.vad.corpus import generate_corpus, load_corpus
    from neuroflow.vad.evaluation import evaluate_system
    from neuroflow.vad.realspeech import benchmark_set
    from neuroflow.vad.packages import scan_sources
    from neuroflow.vad.registry import available_systems

    tmp = tempfile.TemporaryDirectory(prefix="vad-real-bench-") if args.keep is None else None
    root = Path(tmp.name) if tmp else args.keep
    per_condition, seconds = (1, 15.0) if args.quick else (2, 30.0)
    t0 = time.perf_counter()
    made = benchmark_set(root / "benchmark", args.seed, scenes_per_condition=per_condition, duration_s=seconds,
                         progress=False)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    benchmark_set(root / "benchmark", args.seed, scenes_per_condition=per_condition, duration_s=seconds,
                  progress=False)
    resume_s = time.perf_counter() - t0
    train_minutes = 2.0 if args.quick else 10.0
    train = generate_corpus(root / "train", minutes=train_minutes, split="train", speech="real", seed=args.seed,
                            progress=False)
    systems, skipped = available_systems(args.systems)
    speech = load_corpus(made.speech)
    scores = {}
    for system in systems:
        r = evaluate_system(system, speech, progress=False).to_dict()
        nonspeech = {name: evaluate_system(system, load_corpus(getattr(made, name)), progress=False).to_dict()["FAR"]
                     for name in ("music", "roomtone")}
        scores[system.name] = {
            "HTER": r["HTER"], "MR": r["MR"], "FAR": r["FAR"], "realtime_factor": r["realtime_factor"],
            "per_noise_HTER": {k: v["HTER"] for k, v in r["per_noise"].items()},
            "per_snr": {k: {"HTER": v["HTER"], "MR": v["MR"], "FAR": v["FAR"]} for k, v in r["per_snr"].items()},
            "frames_called_speech": nonspeech,
        }
    index = scan_sources()
    audio_s = sum(r.minutes for r in made.results.values()) * 60
    report = {
        "benchmark": "vad_corpus_real", "quick": bool(args.quick), "seed": args.seed,
        "benchmark_set": {"scenes_per_condition": per_condition, "duration_s": seconds,
                          "files": {k: v.n_scenes for k, v in made.results.items()},
                          "minutes": {k: round(v.minutes, 2) for k, v in made.results.items()},
                          "build_seconds": build_s, "realtime_factor": audio_s / build_s,
                          "resume_seconds": resume_s,
                          "speech_fraction": sum(s.speech_fraction for s in speech) / len(speech)},
        "train_corpus": {"minutes": train.minutes, "scenes": train.n_scenes, "seconds": train.seconds,
                         "realtime_factor": train.realtime_factor},
        "systems": scores, "skipped": skipped,
        "sources": index.packages(),
        "targets": {"music_and_roomtone_frames_called_speech_max": 0.05},
        "machine": _machine(),
    }
    if tmp is not None:
        tmp.cleanup()
    out = args.out or (Path(__file__).resolve().parent / "results" / "vad_corpus_real.json" if not args.quick else None)
    print_json(report, out)  # written whole or not at all
    return 0


class _Cached:
    """A corpus whose scenes are already decoded (so evaluation time is the systems' time)."""

    def __init__(self, corpus, scenes):
        self._corpus, self._scenes = corpus, scenes

    def __iter__(self):
        return iter(self._scenes)

    def __len__(self):
        return len(self._scenes)


if __name__ == "__main__":
    with ctrl_c_ends_in_one_line("interrupted"):  # what main() leaves uncaught (while parsing, say)
        sys.exit(main())
