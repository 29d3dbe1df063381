"""Maze sweep on Dask: a 4 x 4 grid (learning rate x temperature) x 100 seeds x 200 T-maze episodes on 2 local Dask
worker processes, against the single-process time of one grid point x 16, measured side by side in this run.

Grid points differ in cost (small learning rates and temperatures give long episodes), so "one grid point" is
the mean over the 16: the whole grid run in this process (``n_jobs=1``), divided by 16. The time of the grid's
first point alone, x 16, is reported too. Every process runs numba and BLAS on one thread, so the comparison is
between one process and two. The Dask result must equal the local one number for number.

    python benchmarks/maze_sweep.py --out benchmarks/results/maze_sweep.json
    python benchmarks/maze_sweep.py --quick            # 2 x 2 grid x 20 seeds x 50 episodes (the test-sized run)
"""
from __future__ import annotations

from neuroflow.__main__ import ctrl_c_ends_in_one_line  # first: 1.5 ms (sys and the lazy package)

# Ctrl-C while the modules load (half a second: numpy, the library) ended in an import traceback: one line
# and exit status 130 now, as for `neuroflow` (neuroflow/__main__.py)
with ctrl_c_ends_in_one_line():
    import os
    import sys
    import time

    os.environ["NUMBA_NUM_THREADS"] = "1"          # before numba is imported, here and in the workers
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

    import numpy as np

    from neuroflow._utils import print_json
    from neuroflow.cliutil import Parser, integer, note, output_file, record_interrupts


def main(argv=None) -> int:
    # flags checked while parsing: --workers 0 or -1 ended in Dask's traceback after the local sweep
    ap = Parser(prog="benchmarks/maze_sweep.py", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small grid (seconds)")
    ap.add_argument("--workers", type=integer(1, 64), default=2, help="Dask worker processes (default: %(default)s)")
    ap.add_argument("--out", type=output_file((".json",)), default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    from distributed import LocalCluster

    from neuroflow.rl import ActorCritic
    from neuroflow.rl.sweep import maze_sweep

    if args.quick:
        alphas, temps, n_seeds, n_ep = (0.1, 0.2), (0.2, 0.3), 20, 50
    else:
        alphas, temps, n_seeds, n_ep = (0.05, 0.1, 0.2, 0.4), (0.1, 0.2, 0.3, 0.5), 100, 200
    grid = dict(alphas=alphas, temperatures=temps, devices=("portner2025",), n_seeds=n_seeds, n_episodes=n_ep,
                seed=0)
    n_points = len(alphas) * len(temps)
    interrupts = record_interrupts()
    ActorCritic("tmaze", synapse="memristor").fit(2, 2, progress=False)          # compile (cached on disk)
    t0 = time.perf_counter()
    ActorCritic("tmaze", synapse="memristor", alpha=alphas[0], temperature=temps[0]).fit(n_ep, n_seeds, seed=0,
                                                                                         progress=False)
    t_point = time.perf_counter() - t0
    t0 = time.perf_counter()
    local = maze_sweep("tmaze", **grid)
    t_local = time.perf_counter() - t0
    if interrupts:
        note("interrupted: no result (a half-run sweep is neither timed nor compared)")
        return 130
    t0 = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster:
        t_start = time.perf_counter() - t0
        t1 = time.perf_counter()
        remote = maze_sweep("tmaze", scheduler=cluster.scheduler_address, **grid)
        t_dask = time.perf_counter() - t1
    if interrupts:  # a run stopped by Ctrl-C returned half its grid: nothing to compare or time
        note("interrupted: no result (a half-run sweep is neither timed nor compared)")
        return 130
    same = bool(np.array_equal(local.curves, remote.curves) and np.array_equal(local.final_steps, remote.final_steps))
    reference = t_local                 # = 16 x the mean single-process time of one grid point
    report = {"quick": args.quick, "grid": f"{len(alphas)} alphas x {len(temps)} temperatures x 1 device",
              "n_points": n_points, "n_seeds": n_seeds, "n_episodes": n_ep, "dask_workers": args.workers,
              "threads_per_process": 1, "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
              "first_point_time_s": round(t_point, 3), "first_point_x16_s": round(n_points * t_point, 3),
              "mean_point_time_s": round(t_local / n_points, 3), "single_process_reference_s": round(reference, 3),
              "dask_cluster_start_s": round(t_start, 3),
              "dask_sweep_time_s": round(t_dask, 3), "dask_over_reference": round(t_dask / reference, 3),
              "target": "dask_sweep_time_s < 2 x single_process_reference_s (16 x the mean time of one grid point)",
              "target_met": t_dask < 2 * reference, "dask_equals_local": same,
              "best_point": remote.best()}
    print_json(report, args.out)
    return 0 if same else 1


if __name__ == "__main__":
    with ctrl_c_ends_in_one_line("interrupted"):  # what main() leaves uncaught (while parsing, say)
        sys.exit(main())
