"""T-maze actor-critic on 27 emulated VCM memristors vs ideal synapses (Portner et al. 2025, Fig. 3).

    python examples/tmaze.py --quick --out plots/

Also prints the estimated energy and latency of one TD update on the crossbar and on a digital processor.
"""

from neuroflow.cliutil import Parser, output_dir
from neuroflow.memristor import update_cost
from neuroflow.rl import ActorCritic
from neuroflow.rl.plots import plot_maze_result

ap = Parser(description=__doc__.splitlines()[0])
ap.add_argument("--quick", action="store_true", help="100 seeds instead of 1000")
ap.add_argument("--out", type=output_dir(), default="neuroflow-out/tmaze", help="folder for the figure (default: %(default)s)")
args = ap.parse_args()
n_seeds = 100 if args.quick else 1000

memristor = ActorCritic("tmaze", synapse="memristor")          # the 27 measured devices, published settings
mem = memristor.fit(n_episodes=200, n_seeds=n_seeds, seed=0).result_
ideal = ActorCritic("tmaze", synapse="ideal").fit(n_episodes=200, n_seeds=n_seeds, seed=0).result_
if mem.interrupted or ideal.interrupted:  # fit catches Ctrl-C and returns the seeds it finished
    raise SystemExit("interrupted (Ctrl-C): the runs are unfinished, so nothing is reported")

print(f"{n_seeds} seeds; mean steps at episodes 1/10/50/100/200 (an episode that hits the 300-step cap counts as 300)")
print("  memristor:", " / ".join(f"{v:.1f}" for v in mem.at_episodes().values()))
# the published curve stores capped (failed) episodes as 0 steps; compare like with like
print("  memristor, capped episodes as 0:", " / ".join(f"{v:.1f}" for v in mem.at_episodes(capped="zero").values()),
      "(published 36.1/17.1/9.5/8.7/7.7)")
print("  ideal:    ", " / ".join(f"{v:.1f}" for v in ideal.at_episodes().values()), "(published ~33 -> 7.5 -> 6.5)")
print("  learned values along the path:", mem.value_map[:7].round(2))
cost = update_cost(mem).per_update()   # devices only: drivers and converters of a real chip add to both
print(f"energy per TD update: crossbar {1e9 * cost['crossbar_energy_J']:.2f} nJ in {1e6 * cost['crossbar_time_s']:.1f} us, "
      f"digital processor {1e9 * cost['digital_energy_J']:.3f} nJ in {1e6 * cost['digital_time_s']:.3f} us")
print("figure:", plot_maze_result(memristor, mem, args.out / "tmaze.png", others={"ideal": ideal}))
