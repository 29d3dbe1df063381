"""Self-correction: TD error from the stored conductances (closed loop) vs from an ideal shadow copy (open loop).

    python examples/self_correction.py --quick --out plots/
"""
import argparse
from pathlib import Path

from neuroflow.rl.experiments import noise_sweep, self_correction
from neuroflow.rl.plots import plot_ablation, plot_noise_sweep

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--quick", action="store_true", help="fewer seeds and noise levels")
ap.add_argument("--out", type=Path, default=Path("."), help="folder for the figures")
args = ap.parse_args()
n_seeds = 40 if args.quick else 500
sigmas = (0.0, 0.1) if args.quick else (0.0, 0.02, 0.04, 0.06, 0.08, 0.10)

ab = self_correction(sigma=0.05, n_seeds=n_seeds, n_episodes=200, seed=0)
summary = ab.summary()
for name in ("closed_loop", "open_loop"):
    s = summary[name]
    print(f"{name:12s} final steps {s['final_steps_mean']:.2f} [{s['final_steps_ci95'][0]:.2f}, "
          f"{s['final_steps_ci95'][1]:.2f}]   value-map error {s['value_map_error_mean']:.3f}")
sweep = noise_sweep(sigmas, n_seeds=n_seeds, n_episodes=200, seed=0)
for i, sg in enumerate(sweep.sigmas):   # differences are closed minus open, paired by seed, with 95 % intervals
    print(f"sigma {100 * sg:4.0f} %: steps {sweep.closed_steps[i]:.2f} / {sweep.open_steps[i]:.2f} "
          f"(diff {sweep.steps_diff[i]:+.2f} [{sweep.steps_diff_ci[i, 0]:+.2f}, {sweep.steps_diff_ci[i, 1]:+.2f}]), "
          f"value error {sweep.closed_error[i]:.3f} / {sweep.open_error[i]:.3f} (closed / open)")
print("figures:", plot_ablation(ab, args.out / "self_correction.png"),
      plot_noise_sweep(sweep, args.out / "noise_sweep.png"))
