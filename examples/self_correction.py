"""Self-correction: TD error from the stored conductances (closed loop) vs from an ideal shadow copy (open loop).

T-maze and water maze, linear devices with write noise and (full mode) a noise sweep; differences are closed
minus open, paired by seed, with 95 % bootstrap intervals.

    python examples/self_correction.py --quick --out plots/
"""

from neuroflow.cliutil import Parser, output_dir
from neuroflow.rl.experiments import noise_sweep, self_correction
from neuroflow.rl.plots import plot_ablation, plot_noise_sweep

ap = Parser(description=__doc__.splitlines()[0])
ap.add_argument("--quick", action="store_true", help="fewer seeds, episodes and noise levels")
ap.add_argument("--out", type=output_dir(), default="neuroflow-out/self_correction",
                help="folder for the figures (default: %(default)s)")
args = ap.parse_args()
sigmas = (0.0, 0.1) if args.quick else (0.0, 0.02, 0.04, 0.06, 0.08, 0.10)
# (task, seeds, episodes, tail): the water maze is slower per episode and needs longer to learn
runs = [("tmaze", 40, 200, 20), ("watermaze", 6, 300, 100)] if args.quick else \
    [("tmaze", 500, 200, 20), ("watermaze", 50, 3000, 500)]
figures = []
for task, n_seeds, n_episodes, tail in runs:
    kw = dict(task=task, n_seeds=n_seeds, n_episodes=n_episodes, seed=0, tail=tail)
    ab = self_correction(sigma=0.05, **kw)
    summary = ab.summary()
    print(f"{task}: {n_seeds} seeds x {n_episodes} episodes, write noise 5 %, final steps = mean of the last "
          f"{tail} episodes")
    for name in ("closed_loop", "open_loop"):
        s = summary[name]
        print(f"  {name:12s} final steps {s['final_steps_mean']:.2f} [{s['final_steps_ci95'][0]:.2f}, "
              f"{s['final_steps_ci95'][1]:.2f}]   value-map error {s['value_map_error_mean']:.3f}")
    sweep = noise_sweep(sigmas if task == "tmaze" or not args.quick else (0.1,), **kw)
    if sweep.params["interrupted"]:  # the sweep catches Ctrl-C and keeps the finished noise levels: stop here
        raise SystemExit("interrupted (Ctrl-C): the noise sweep is unfinished, so nothing more is run")
    for i, sg in enumerate(sweep.sigmas):
        lo, hi = sweep.steps_diff_ci[i]
        print(f"  sigma {100 * sg:4.0f} %: steps {sweep.closed_steps[i]:.2f} / {sweep.open_steps[i]:.2f} "
              f"(diff {sweep.steps_diff[i]:+.2f} [{lo:+.2f}, {hi:+.2f}]), "
              f"value error {sweep.closed_error[i]:.3f} / {sweep.open_error[i]:.3f} (closed / open)")
    suffix = "" if task == "tmaze" else "_watermaze"
    figures += [plot_ablation(ab, args.out / f"self_correction{suffix}.png"),
                plot_noise_sweep(sweep, args.out / f"noise_sweep{suffix}.png")]
print("figures:", *figures)
