"""Gradient and exact-Hessian speed: neuroflow's NumPy kernels against torch, side by side.

Grid: input dim 2, one hidden softplus layer with bias, width k in {10, 50, 100}, linear
output, N in {1e2, 1e3, 1e4} (and 1e5 for gradients); plus a 2-hidden-layer 20-20 softplus net.
Float64, one thread on both sides (BLAS through threadpoolctl, torch.set_num_threads(1)).
Peers: the gradient against torch's ``loss.backward()`` (forward included on both sides), the Hessian
against ``torch.autograd.functional.hessian``; each timing is a median of repeated runs, and each
point also reports the largest relative difference between the two results.

    python benchmarks/gradients.py [--quick] [--repeats R] [--out FILE]

Prints one JSON document on stdout (progress lines on stderr).
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
    from neuroflow.cliutil import Parser, integer, note, output_file
    from neuroflow.flow.bench import gradient_benchmark


def main(argv=None) -> int:
    p = Parser(prog="benchmarks/gradients.py", description="gradient/Hessian speed against torch")
    p.add_argument("--quick", action="store_true", help="small grid (k in {10, 50}, N in {1e2, 1e3})")
    p.add_argument("--repeats", type=integer(1), default=7)
    p.add_argument("--out", type=output_file((".json",)), default=None, help="also write the JSON here")
    args = p.parse_args(argv)
    keys = ("hidden", "n_samples", "gradient_speedup", "hessian_speedup")
    try:
        res = gradient_benchmark(args.quick, args.repeats,
                                 on_point=lambda pt: print(json.dumps({k: pt[k] for k in keys if k in pt}),
                                                           file=sys.stderr, flush=True))
    except KeyboardInterrupt:  # was a traceback below the finished points
        note("interrupted: the finished points are the lines above; --out is left unwritten")
        return 130
    print_json(res, args.out)
    return 0


if __name__ == "__main__":
    with ctrl_c_ends_in_one_line("interrupted"):  # what main() leaves uncaught (while parsing, say)
        sys.exit(main())
