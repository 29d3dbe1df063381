"""Morris water maze with place cells: actor-critic on emulated memristors (Portner et al. 2025, Fig. 4).

    python examples/watermaze.py --quick --out plots/
"""

from neuroflow.cliutil import Parser, output_dir
from neuroflow.rl import ActorCritic
from neuroflow.rl.experiments import random_walker, watermaze_optimal_steps
from neuroflow.rl.plots import plot_maze_result

ap = Parser(description=__doc__.splitlines()[0])
ap.add_argument("--quick", action="store_true", help="4 seeds x 300 episodes instead of 20 x 5000")
ap.add_argument("--out", type=output_dir(), default="neuroflow-out/watermaze",
                help="folder for the figure (default: %(default)s)")
args = ap.parse_args()
n_seeds, n_episodes = (4, 300) if args.quick else (20, 5000)

agent = ActorCritic("watermaze", synapse="memristor")   # alpha 0.04, T 0.15, gamma 0.975, |update| < 0.0025 dropped
res = agent.fit(n_episodes=n_episodes, n_seeds=n_seeds, seed=0).result_
if res.interrupted:  # fit catches Ctrl-C and returns the seeds it finished: stop here, not after the rest
    raise SystemExit("interrupted (Ctrl-C): the runs are unfinished, so nothing is reported")
ideal = ActorCritic("watermaze", synapse="ideal").fit(n_episodes=n_episodes, n_seeds=n_seeds, seed=0).result_
if ideal.interrupted:
    raise SystemExit("interrupted (Ctrl-C): the runs are unfinished, so nothing is reported")
walker = random_walker("watermaze", n_seeds=n_seeds, n_episodes=20)
tail = max(1, n_episodes // 20)     # single-episode means over few seeds are noisy: also show a window mean
for name, r in (("memristors", res), ("ideal     ", ideal)):
    mean, sd = r.final_steps
    print(f"{name}: {n_seeds} seeds x {n_episodes} episodes in {r.time_s:.1f} s: last episode {mean:.1f} +- {sd:.1f} "
          f"steps, last {tail} episodes {r.steps[:, -tail:].mean():.1f}")
print(f"random walker {walker['steps_mean']:.0f} steps; published: memristors 15.8 after 20 000 episodes, "
      "ideal line 6.65 +- 3.16")
# the floor: exact optimal steps, and the best softmax (T = 0.15) policy a local search finds (small search if quick)
floor = watermaze_optimal_steps(**(dict(n_starts=200, rollouts=1, n_samples=4, search_starts=30, sweeps=1)
                                   if args.quick else dict(n_starts=4000, graded_sweeps=3)))
print(f"floor: optimal policy {floor.optimal_mean:.2f} +- {floor.optimal_std:.2f} steps, best softmax policy found "
      f"{floor.softmax_mean:.2f} +- {floor.softmax_std:.2f} ({floor.time_s:.1f} s)")
print("figure:", plot_maze_result(agent, res, args.out / "watermaze.png", others={"ideal": ideal}))
