"""Streaming speed of the shipped spiking VADs: real-time factor per model and chunk size, streamed against offline;
prints JSON.

A live microphone application feeds ``SpikingVADSystem.stream()`` 10 ms chunks (160 samples at 16 kHz); a file is
scored as one stream fed 10 s pieces. For each shipped model (``snu``, ``bin``) and chunk size (160, 320 and 1600
samples: 10, 20 and 100 ms) this measures

* ``offline_rtf``: audio seconds per CPU second of ``score()`` on the whole signal;
* ``stream_rtf``: the same for a fresh stream fed the signal in chunks of that size, then flushed, and
  ``us_per_chunk``: CPU microseconds per chunk (a 10 ms chunk must cost well under 10 000);
* ``identical``: whether the streamed scores equal the offline ones bit for bit (they must).

Times are process (CPU) time on one thread (torch, BLAS and OpenMP), the best of ``--repeats`` runs, as other jobs on
a shared machine only ever slow a run down. The signal is synthetic and the same every run: syllable-rate harmonic
bursts in pink-ish noise at -40 dBFS, with a second of digital silence (the front end skips it).

``--baseline DIR`` runs the same measurement, in turns with this checkout, for the ``neuroflow`` package under
``DIR`` (e.g. the ``python`` folder of ``git archive`` of an older commit), so both run under the same load, and adds
the speed-up of each streamed figure. Usage::

    python benchmarks/vad_stream.py [--quick] [--repeats N] [--baseline DIR] [--out result.json]
"""
from __future__ import annotations

try:
    from neuroflow.__main__ import ctrl_c_ends_in_one_line  # first: 1.5 ms (sys and the lazy package)
except ImportError:   # a --baseline child imports this script against an older neuroflow, without the guard
    from contextlib import nullcontext as ctrl_c_ends_in_one_line

# Ctrl-C while the modules load (half a second: numpy, the library) ended in an import traceback: one line
# and exit status 130 now, as for `neuroflow` (neuroflow/__main__.py)
with ctrl_c_ends_in_one_line():
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

    import numpy as np

SR = 16000
MODELS = ("snu", "bin")
CHUNKS = (160, 320, 1600)


def signal(seconds: float, seed: int = 0) -> np.ndarray:
    """Syllable-rate (4 Hz) harmonic bursts of 1.5 s every 3 s in noise at -40 dBFS, with 1 s of digital silence
    after the first 2 s: the same float32 samples every time."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    noise = np.cumsum(rng.standard_normal(n)) * 0.02
    noise = noise - np.convolve(noise, np.full(801, 1 / 801), mode="same")  # pink-ish: no drift
    noise *= 0.01 / np.sqrt(np.mean(noise ** 2))
    f0 = 120.0 + 30.0 * np.sin(2 * np.pi * 0.3 * t)
    voiced = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / SR) / k for k in range(1, 11))
    syllables = 0.5 - 0.5 * np.cos(2 * np.pi * 4.0 * t)
    on = (t % 3.0) < 1.5
    x = noise + 0.1 * voiced * syllables * on
    x[2 * SR:3 * SR] = 0.0
    return x.astype(np.float32)


def measure(seconds: float, repeats: int) -> dict:
    """``{model: {"offline_rtf", "chunks": {size: {...}}}}`` of this process's ``neuroflow``."""
    import torch

    from neuroflow.vad.detect import SpikingVADSystem

    torch.set_num_threads(1)
    x = signal(seconds)
    audio_s = len(x) / SR
    out = {}
    for name in MODELS:
        system = SpikingVADSystem(name)
        system.score(x[:SR], SR)  # warm up (imports, caches)
        best, offline = np.inf, None
        for _ in range(repeats):
            t0 = time.process_time()
            offline = system.score(x, SR)
            best = min(best, time.process_time() - t0)
        row = {"offline_rtf": round(audio_s / best, 1), "chunks": {}}
        for size in CHUNKS:
            best, streamed = np.inf, None
            for _ in range(repeats):
                stream = system.stream()
                t0 = time.process_time()
                parts = [stream.process(x[i:i + size]) for i in range(0, len(x), size)]
                parts.append(stream.flush())
                best = min(best, time.process_time() - t0)
                streamed = np.concatenate(parts)
            n_chunks = -(-len(x) // size)
            row["chunks"][str(size)] = {"stream_rtf": round(audio_s / best, 1),
                                        "us_per_chunk": round(1e6 * best / n_chunks, 1),
                                        "identical": bool(np.array_equal(streamed, offline))}
        out[name] = row
    return out


class MeasureFailed(Exception):
    """A measurement in another process failed (its package is not a working neuroflow): one line, no traceback."""


def _child(python_dir: Path, seconds: float, repeats: int, what: str) -> dict:
    """:func:`measure` in a fresh process importing ``neuroflow`` from ``python_dir`` (``what``: how a failure names
    it); :class:`MeasureFailed` with the child's last line of error (its traceback ended the run, ~2000 characters of
    it, where ``--baseline`` was a folder of something else than a working neuroflow)."""
    import json
    import signal

    env = {**os.environ, "PYTHONPATH": str(python_dir)}
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); import vad_stream; "
            f"print(json.dumps(vad_stream.measure({seconds!r}, {repeats!r})))")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if run.returncode in (-signal.SIGINT, 128 + signal.SIGINT):  # Ctrl-C reached the child first
        raise KeyboardInterrupt
    result = None
    if run.returncode == 0:
        try:
            result = json.loads(run.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            pass
    if not isinstance(result, dict):
        lines = run.stderr.strip().splitlines()
        why = lines[-1] if lines else f"exit status {run.returncode}, no result printed"
        raise MeasureFailed(f"{what}: measuring its neuroflow package failed ({why})")
    return result


def _best(a: dict | None, b: dict) -> dict:
    """The faster of two measurements, figure by figure (``identical`` must hold in both)."""
    if a is None:
        return b
    out = {}
    for name, row in b.items():
        chunks = {}
        for size, c in row["chunks"].items():
            old = a[name]["chunks"][size]
            chunks[size] = {"stream_rtf": max(old["stream_rtf"], c["stream_rtf"]),
                            "us_per_chunk": min(old["us_per_chunk"], c["us_per_chunk"]),
                            "identical": old["identical"] and c["identical"]}
        out[name] = {"offline_rtf": max(a[name]["offline_rtf"], row["offline_rtf"]), "chunks": chunks}
    return out


def main() -> int:
    from neuroflow.cliutil import Parser, fail, input_dir, integer, note, output_file

    ap = Parser(prog="benchmarks/vad_stream.py", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 s of audio instead of 60 s")
    ap.add_argument("--repeats", type=integer(1, 100), default=3, help="runs per figure, the best kept (%(default)s)")
    ap.add_argument("--baseline", type=input_dir, default=None, metavar="DIR",
                    help="a folder holding another neuroflow package, measured in turns with this one")
    ap.add_argument("--out", type=output_file((".json",)), default=None, help="also write the JSON here")
    args = ap.parse_args()
    seconds = 10.0 if args.quick else 60.0
    settings = {"audio_s": seconds, "repeats": args.repeats, "threads": 1, "models": list(MODELS),
                "chunk_samples": list(CHUNKS), "sample_rate": SR}
    if args.baseline is not None and not (args.baseline / "neuroflow" / "__init__.py").is_file():
        ap.error(f"argument --baseline: {args.baseline}: no neuroflow package in it")
    try:
        return _measure_and_print(args, settings, seconds)
    except KeyboardInterrupt:  # was a traceback (with --baseline, the child's failure as well)
        note("interrupted: nothing is kept (the figures are printed at the end); rerun the same command")
        return 130
    except MeasureFailed as exc:
        return fail(str(exc))


def _measure_and_print(args, settings: dict, seconds: float) -> int:
    from neuroflow._utils import print_json

    if args.baseline is None:
        print_json({"settings": settings, "current": measure(seconds, args.repeats)}, args.out)
        return 0
    here = Path(__file__).resolve().parent.parent / "python"
    base = current = None
    for _ in range(args.repeats):  # in turns, one run each, so both see the same load
        base = _best(base, _child(args.baseline, seconds, 1, f"argument --baseline: {args.baseline}"))
        current = _best(current, _child(here, seconds, 1, f"this checkout's {here}"))
    speedup = {name: {size: round(current[name]["chunks"][size]["stream_rtf"] / c["stream_rtf"], 2)
                      for size, c in row["chunks"].items()} for name, row in base.items()}
    print_json({"settings": {**settings, "baseline": str(args.baseline)}, "baseline": base, "current": current,
                "stream_speedup": speedup}, args.out)
    return 0


if __name__ == "__main__":
    with ctrl_c_ends_in_one_line("interrupted"):  # what main() leaves uncaught (while parsing, say)
        sys.exit(main())
