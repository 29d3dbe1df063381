"""Gradient flow + Newton (``neuroflow.train``) against full-batch Adam given the same work, counted in steps.

Teacher: 4 softplus units, input dim 2; student: 8 softplus units; N = 1e4 Gaussian probes; 5 seeds.
``train`` runs on its default step budgets; full-batch Adam (lr 1e-3) from the same start gets, per seed, the work
``train`` did: one step per gradient evaluation, a Hessian counted as ``n_params`` of them
(``TrainResult.same_work``), or ``--adam-steps N`` steps. No clock decides anything, so two runs print the same
JSON on any machine and load, the ``*_time_s`` fields apart; ``--adam-seconds S`` gives Adam S seconds of wall time
instead (the older comparison, whose numbers move with the load; the JSON says which budget was used). One BLAS
thread. Target: ``train`` ends at a fixed point (gradient inf-norm <= 1e-10) with a loss at least 100x below
Adam's on every seed.

    python benchmarks/flow_vs_adam.py [--quick] [--adam-steps N | --adam-seconds S] [--seeds N] [--out FILE]

Prints one JSON document on stdout (one JSON line per finished seed on stderr). Ctrl-C prints the finished
seeds' document, with ``"interrupted": true``, leaves ``--out`` unwritten and exits 130.
"""
from __future__ import annotations

from neuroflow.__main__ import ctrl_c_ends_in_one_line  # first: 1.5 ms (sys and the lazy package)

# Ctrl-C while the modules load (half a second: numpy, the library) ended in an import traceback: one line
# and exit status 130 now, as for `neuroflow` (neuroflow/__main__.py)
with ctrl_c_ends_in_one_line():
    import json
    import os
    import sys

    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

    from neuroflow._utils import print_json
    from neuroflow.cliutil import Parser, integer, note, number, output_file
    from neuroflow.flow.bench import flow_vs_adam


def main(argv=None) -> int:
    # flags checked while parsing: --seeds 0 ran the defaults, a bad budget ended in a traceback after train
    p = Parser(prog="benchmarks/flow_vs_adam.py",
               description="train() vs Adam given the same work in steps (or a fixed step or wall-time budget)")
    p.add_argument("--quick", action="store_true", help="N = 1e3, 2 seeds")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--adam-steps", type=integer(1), default=None,
                        help="Adam's steps per seed (default: train's work on that seed, in gradient equivalents)")
    budget.add_argument("--adam-seconds", type=number(0, lo_open=True), default=None,
                        help="Adam's wall-clock seconds per seed instead of steps (results then vary with the load)")
    # at most 1e5 (each seed takes seconds; a day is ~1e4): 1e11 ended in MemoryError, 1e20 in OverflowError
    p.add_argument("--seeds", type=integer(1, 10**5), default=None, help="number of seeds (default 5; quick 2)")
    p.add_argument("--out", type=output_file((".json",)), default=None, help="also write the JSON here")
    args = p.parse_args(argv)
    n_seeds = args.seeds or (2 if args.quick else 5)

    def on_run(run):
        print(json.dumps(run), file=sys.stderr, flush=True)

    # Ctrl-C ends the seed it lands in (train's and Adam's runs report it) and returns the finished ones
    res = flow_vs_adam(tuple(range(n_seeds)), n_samples=1000 if args.quick else 10_000, adam_steps=args.adam_steps,
                       budget_s=args.adam_seconds, on_run=on_run)
    res["quick"] = args.quick
    if res.get("interrupted"):
        note(f"interrupted: the {len(res['runs'])} finished seeds are printed; --out is left unwritten")
        print_json(res)
        return 130
    print_json(res, args.out)
    return 0


if __name__ == "__main__":
    with ctrl_c_ends_in_one_line("interrupted"):  # what main() leaves uncaught (while parsing, say)
        sys.exit(main())
