"""Same arguments, same numbers: the README's gradient-flow runs on a quiet and on a busy machine.

Runs, each in a fresh process, (1) the "A taste of the API" snippet of the README and (2)
``neuroflow flow train --input-dim 2 --teacher-width 4 --student-width 8 --n-samples 10000 --json``,
first as they are, then with ``--busy`` processes spinning beside them (``yes > /dev/null``). Every
number of the results except wall times must be bit-identical, and with the default settings both runs
must reach gnorm <= 1e-10 (issue 16's targets).

    python benchmarks/flow_reproducible.py [--busy N] [--out FILE]

Prints one JSON document on stdout.
"""
from __future__ import annotations

from neuroflow.__main__ import ctrl_c_ends_in_one_line  # first: 1.5 ms (sys and the lazy package)

# Ctrl-C at any moment ends in one line and exit status 130, as for `neuroflow` (neuroflow/__main__.py): main()
# loads numpy and the library (half a second, which ended in an import traceback) under the guard at the end
with ctrl_c_ends_in_one_line():
    import json
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SNIPPET = """
import json
import numpy as np
import neuroflow as nf

rng = np.random.default_rng(0)
teacher = nf.MLP(2, [(4, "softplus", True), (1, "identity", True)])
X = rng.standard_normal((10_000, 2))
Y = teacher.forward(teacher.init_params(seed=1), X)

student = nf.MLP(2, [(8, "softplus", True), (1, "identity", True)])
res = nf.train(student, student.init_params(seed=2), X, Y)
H = student.hessian(res.x, X, Y)
d = res.to_dict()
d["hessian_eigenvalues"] = np.linalg.eigvalsh(H).tolist()
print(json.dumps(d))
"""

CLI = ["-m", "neuroflow", "flow", "train", "--input-dim", "2", "--teacher-width", "4", "--student-width", "8",
       "--n-samples", "10000", "--json", "--quiet"]


def _timing(key: str) -> bool:
    return key.endswith("time_s") or key in ("wall_s",)


def _numbers(d: dict) -> dict:
    """Everything but wall times; the loss curve without its time column."""
    out = {k: v for k, v in d.items() if not _timing(k)}
    if "loss_curve" in out:
        out["loss_curve"] = [row[1:] for row in out["loss_curve"]]
    return out


def _run(args: list[str]) -> tuple[dict, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1] if args[0] == "-c" else out), time.perf_counter() - t0


def main(argv=None) -> int:
    from neuroflow._utils import write_text_atomic
    from neuroflow.cliutil import Parser, integer, output_file

    # flags checked while parsing: --busy -1 ran no busy load, --busy 100000 started that many processes, and a bad
    # --out was found after both runs
    ap = Parser(prog="benchmarks/flow_reproducible.py", description=__doc__.splitlines()[0])
    ap.add_argument("--busy", type=integer(0, 64), default=2,
                    help="spinning processes beside the busy runs (default 2)")
    ap.add_argument("--out", type=output_file((".json",)), default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    runs = {}
    for load in ("quiet", "busy"):
        spinners = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(args.busy)] \
            if load == "busy" else []
        try:
            runs[load] = {"snippet": _run(["-c", SNIPPET]), "cli": _run(CLI)}
        finally:
            for p in spinners:
                p.kill()
                p.wait()
    report = {"benchmark": "flow reproducibility: the same numbers on a quiet and a busy machine",
              "busy_processes": args.busy, "cpu_count": os.cpu_count(), "runs": {}}
    for name in ("snippet", "cli"):
        (q, tq), (b, tb) = runs["quiet"][name], runs["busy"][name]
        report["runs"][name] = {
            "identical_numbers": _numbers(q) == _numbers(b), "loss": q["loss"], "gnorm": q["gnorm"],
            "converged": q["converged"], "gnorm<=1e-10": q["gnorm"] <= 1e-10, "ode_stopped_by": q["ode_stopped_by"],
            "ode_iterations": q["ode_iterations"], "optim_stopped_by": q["optim_stopped_by"],
            "wall_s": {"quiet": tq, "busy": tb}}
    report["targets_met"] = all(r["identical_numbers"] and r["gnorm<=1e-10"] for r in report["runs"].values())
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        write_text_atomic(args.out, text + "\n")  # whole or not at all
    return 0 if report["targets_met"] else 1


if __name__ == "__main__":
    with ctrl_c_ends_in_one_line("interrupted"):  # what main() leaves uncaught (while parsing, say)
        sys.exit(main())
