"""Gradient flow + Newton (``neuroflow.train``) against Adam given a fixed wall-time budget.

Teacher: 4 softplus units, input dim 2; student: 8 softplus units; N = 1e4 Gaussian probes; 5 seeds.
``train`` runs on its default step budgets (no clock: the same numbers on any load), full-batch Adam
(lr 1e-3) gets ``--budget`` seconds; one BLAS thread. Target: ``train`` ends at a fixed point
(gradient inf-norm <= 1e-10) with a loss at least 100x below Adam's.

    python benchmarks/flow_vs_adam.py [--quick] [--budget S] [--seeds N] [--out FILE]

Prints one JSON document on stdout (one progress line per seed on stderr).
"""
from __future__ import annotations

import json
import os
import signal
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from neuroflow._utils import print_json  # noqa: E402
from neuroflow.cliutil import Parser, integer, note, number, output_file  # noqa: E402
from neuroflow.flow.bench import flow_vs_adam  # noqa: E402


def main(argv=None) -> int:
    # flags checked while parsing: --seeds 0 and --budget 0 ran the defaults, --budget nan a traceback after train
    p = Parser(prog="benchmarks/flow_vs_adam.py", description="train() vs Adam given a wall-time budget")
    p.add_argument("--quick", action="store_true", help="N = 1e3, 2 seeds, 5 s budget")
    p.add_argument("--budget", type=number(0, lo_open=True), default=None,
                   help="Adam's seconds per seed (default 60; quick 5)")
    p.add_argument("--seeds", type=integer(1), default=None, help="number of seeds (default 5)")
    p.add_argument("--out", type=output_file((".json",)), default=None, help="also write the JSON here")
    args = p.parse_args(argv)
    n_seeds = args.seeds or (2 if args.quick else 5)
    budget = args.budget or (5.0 if args.quick else 60.0)
    interrupts = []

    def on_sigint(signum, frame):
        interrupts.append(signum)
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, on_sigint)

    def on_run(run):  # train returned what it had at Ctrl-C and the seeds went on, half-run: stop here instead
        if interrupts:
            raise KeyboardInterrupt
        print(json.dumps(run), file=sys.stderr, flush=True)

    try:
        res = flow_vs_adam(tuple(range(n_seeds)), n_samples=1000 if args.quick else 10_000, budget_s=budget,
                           on_run=on_run)
    except KeyboardInterrupt:
        note("interrupted: the finished seeds are the JSON lines above; --out is left unwritten")
        return 130
    res["quick"] = args.quick
    print_json(res, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
