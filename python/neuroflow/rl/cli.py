"""``neuroflow maze tmaze | watermaze | ablation`` and the maze part of ``neuroflow demo``."""
from __future__ import annotations

import argparse
from pathlib import Path

from neuroflow.memristor.device import PRESETS
from neuroflow.rl.agent import SYNAPSES

_TASK_DEFAULTS = {"tmaze": (100, 200), "watermaze": (10, 1000)}


def _add_agent_options(p, task):
    seeds, episodes = _TASK_DEFAULTS[task]
    p.add_argument("--synapse", default="memristor", choices=SYNAPSES, help="weights: ideal or emulated devices")
    p.add_argument("--seeds", type=int, default=seeds, help=f"independent agents simulated together ({seeds})")
    p.add_argument("--episodes", type=int, default=episodes, help=f"episodes per agent ({episodes})")
    p.add_argument("--device", default=None, choices=PRESETS,
                   help="device preset (default: portner2025 for memristors)")
    p.add_argument("--alpha", type=float, default=None, help="learning rate (published default for the task)")
    p.add_argument("--temperature", type=float, default=None, help="softmax temperature")
    p.add_argument("--gamma", type=float, default=None, help="discount factor")
    p.add_argument("--actor-rule", default="reference", choices=["reference", "softmax"],
                   help="actor update with the raw activation (reference) or the policy (softmax)")
    p.add_argument("--variability", default=None, choices=["device", "cycle"],
                   help="device model: mean response + device noise, or per-cycle fits")
    p.add_argument("--compare", action="store_true", help="also run ideal synapses and plot both curves")


def _run_maze(args, task) -> int:
    from neuroflow.rl.agent import ActorCritic

    kw = dict(device=args.device, alpha=args.alpha, temperature=args.temperature, gamma=args.gamma,
              actor_rule=args.actor_rule, variability=args.variability)
    agent = ActorCritic(task, synapse=args.synapse, **kw)
    res = agent.fit(args.episodes, args.seeds, args.seed, progress_bar=not args.quiet)
    payload = res.to_dict()
    others = {}
    if args.compare and args.synapse != "ideal":
        ideal = ActorCritic(task, synapse="ideal", **{**kw, "device": None, "variability": None})
        others["ideal"] = ideal.fit(args.episodes, args.seeds, args.seed, progress_bar=not args.quiet)
        payload["ideal_steps_mean"] = others["ideal"].steps_mean
        payload["ideal_steps_at_episode"] = others["ideal"].at_episodes()
    if args.plot:
        from neuroflow.rl.plots import plot_maze_result

        payload["plot"] = str(plot_maze_result(agent, res, args.plot, others=others, seed=0))
    fm, fs = res.final_steps
    lines = [f"{task}, {args.synapse} synapses, {res.n_seeds} seeds x {res.n_episodes} episodes "
             f"({res.time_s:.1f} s, {res.seed_episodes_per_s:.0f} seed-episodes/s)"]
    lines += [f"  mean steps at episode {e}: {v:.2f}" for e, v in res.at_episodes().items()]
    lines.append(f"  last episode: {fm:.2f} +- {fs:.2f} steps")
    if "ideal" in others:
        lines.append("  ideal synapses: " + ", ".join(f"ep {e}: {v:.2f}" for e, v in
                                                    others["ideal"].at_episodes().items()))
    if res.interrupted:
        lines.append(f"  interrupted: {res.completed_seeds} seeds finished")
    if args.plot:
        lines.append(f"  plot: {payload['plot']}")
    from neuroflow.cliutil import emit

    emit(args, payload, lines)
    return 130 if res.interrupted else 0


def _ablation(args) -> int:
    from neuroflow.cliutil import emit
    from neuroflow.rl.experiments import noise_sweep, self_correction

    sigma = None if args.sigma < 0 else args.sigma
    if args.seeds is None:
        args.seeds = 200 if args.task == "tmaze" else 50
    ab = self_correction(sigma, task=args.task, n_seeds=args.seeds, n_episodes=args.episodes, seed=args.seed,
                         tail=args.tail, progress_bar=not args.quiet)
    payload = {"ablation": ab.to_dict()}
    s = ab.summary()
    noise = "27 measured devices" if sigma is None else f"write noise {100 * sigma:g} %"
    name = "T-maze" if args.task == "tmaze" else "water maze"
    lines = [f"{name} self-correction, {noise}, {args.seeds} seeds x {ab.closed.n_episodes} episodes "
             f"(final steps: mean of the last {ab.tail} episodes)"]
    for name in ("closed_loop", "open_loop"):
        lo, hi = s[name]["final_steps_ci95"]
        lines.append(f"  {name.replace('_', ' ')}: final steps {s[name]['final_steps_mean']:.2f} "
                     f"[{lo:.2f}, {hi:.2f}], value-map error {s[name]['value_map_error_mean']:.3f} "
                     f"+- {s[name]['value_map_error_std']:.3f}")
    d = s["difference"]
    lines.append("  closed - open (paired, 95 % CI): steps {:+.2f} [{:+.2f}, {:+.2f}], value-map error {:+.3f} "
                 "[{:+.3f}, {:+.3f}]".format(d["final_steps_mean"], *d["final_steps_ci95"], d["value_map_error_mean"],
                                             *d["value_map_error_ci95"]))
    if args.sweep:
        sw = noise_sweep([float(x) for x in args.sigmas.split(",")], task=args.task, n_seeds=args.seeds,
                         n_episodes=args.episodes, seed=args.seed, tail=args.tail, n_jobs=args.jobs)
        payload["noise_sweep"] = sw.to_dict()
        lines.append("  sigma   steps closed/open   closed-open [95 % CI]   value error closed/open")
        for i, sg in enumerate(sw.sigmas):
            lo, hi = sw.steps_diff_ci[i]
            lines.append(f"  {100 * sg:4.0f} %  {sw.closed_steps[i]:6.2f} / {sw.open_steps[i]:6.2f}   "
                         f"{sw.steps_diff[i]:+.2f} [{lo:+.2f}, {hi:+.2f}]   "
                         f"{sw.closed_error[i]:.3f} / {sw.open_error[i]:.3f}")
    if args.plot:
        from neuroflow.rl.plots import plot_ablation, plot_noise_sweep

        payload["plot"] = str(plot_ablation(ab, args.plot))
        lines.append(f"  plot: {payload['plot']}")
        if args.sweep:
            p2 = Path(args.plot).with_name(Path(args.plot).stem + "_sweep.png")
            payload["plot_sweep"] = str(plot_noise_sweep(sw, p2))
            lines.append(f"  plot: {p2}")
    emit(args, payload, lines)
    return 0


def _floor(args) -> int:
    from neuroflow.cliutil import emit
    from neuroflow.rl.optimal import watermaze_optimal_steps

    f = watermaze_optimal_steps(args.starts, temperature=args.temperature, rollouts=args.rollouts,
                                search_starts=args.search_starts, sweeps=args.sweeps,
                                graded_sweeps=args.graded_sweeps, seed=args.seed, progress_bar=not args.quiet)
    payload = {"floor": f.to_dict()}
    lines = [f"water-maze floor from {f.n_starts} uniform starts ({f.time_s:.1f} s)",
             f"  optimal deterministic policy (exact search): {f.optimal_mean:.2f} +- {f.optimal_std:.2f} steps",
             f"  best softmax (T = {f.temperature:g}) policy found, weights in [0, 1]: {f.softmax_mean:.2f} +- "
             f"{f.softmax_std:.2f} steps (an upper bound on the policy class's floor; published ideal 6.65 +- 3.16)"]
    emit(args, payload, lines)
    return 0


def register(verbs) -> None:
    from neuroflow.cliutil import add_common_options

    for task, text in (("tmaze", "actor-critic in the T-maze (9 states, reward in the right arm)"),
                       ("watermaze", "actor-critic in the Morris water maze (place cells, U-shaped obstacle)")):
        p = verbs.add_parser(task, help=text, description=text)
        _add_agent_options(p, task)
        add_common_options(p)
        p.set_defaults(func=lambda args, task=task: _run_maze(args, task))
    p = verbs.add_parser("ablation", help="self-correction: closed vs open loop, and a write-noise sweep")
    p.add_argument("--task", default="tmaze", choices=["tmaze", "watermaze"], help="maze of the ablation (tmaze)")
    p.add_argument("--sigma", type=float, default=0.05,
                   help="write noise of a linear device (fraction of range); negative = the 27 measured devices")
    p.add_argument("--seeds", type=int, default=None, help="seeds per arm (T-maze 200, water maze 50)")
    p.add_argument("--episodes", type=int, default=None, help="episodes per seed (T-maze 200, water maze 3000)")
    p.add_argument("--tail", type=int, default=None,
                   help="final steps = mean of the last TAIL episodes (T-maze 20, water maze 500)")
    p.add_argument("--sweep", action="store_true", help="also sweep the noise over --sigmas")
    p.add_argument("--sigmas", default="0,0.02,0.04,0.06,0.08,0.1", help="comma-separated noise levels")
    p.add_argument("--jobs", type=int, default=1, help="joblib workers for the sweep")
    add_common_options(p)
    p.set_defaults(func=_ablation)
    text = "water-maze floor: optimal steps and the best softmax policy found from uniform starts"
    p = verbs.add_parser("floor", help=text, description=text)
    p.add_argument("--starts", type=int, default=4000, help="uniform starts to score on (4000)")
    p.add_argument("--search-starts", type=int, default=2000, help="separate starts the policy search uses (2000)")
    p.add_argument("--sweeps", type=int, default=4, help="passes of the search over weights in {0, 1} (4)")
    p.add_argument("--graded-sweeps", type=int, default=3, help="then passes over multiples of 0.25 (3)")
    p.add_argument("--rollouts", type=int, default=5, help="softmax rollouts per start (5)")
    p.add_argument("--temperature", type=float, default=0.15, help="softmax temperature (0.15)")
    add_common_options(p, plot=False)
    p.set_defaults(func=_floor)


def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    from neuroflow.rl.agent import ActorCritic
    from neuroflow.rl.experiments import self_correction
    from neuroflow.rl.plots import plot_ablation, plot_maze_result

    outdir = Path(outdir)
    lines = []
    n_t = 100 if quick else 1000
    agent = ActorCritic("tmaze", synapse="memristor")
    mem = agent.fit(200, n_t, seed, progress_bar=False)
    ideal = ActorCritic("tmaze", synapse="ideal").fit(200, n_t, seed, progress_bar=False)
    plot_maze_result(agent, mem, outdir / "maze_tmaze.png", others={"ideal": ideal})
    lines.append(f"T-maze, 27 emulated devices, {n_t} seeds: "
                 + "/".join(f"{v:.1f}" for v in mem.at_episodes().values()) + f" steps ({mem.time_s:.1f} s); "
                 "failed episodes stored as 0 like the published curve: "
                 + "/".join(f"{v:.1f}" for v in mem.at_episodes(capped="zero").values())
                 + " (published 36.1/17.1/9.5/8.7/7.7)")
    lines.append("T-maze, ideal synapses (published ~33 -> 7.5 at ep 50 -> 6.5 at ep 200): "
                 + "/".join(f"{v:.1f}" for v in ideal.at_episodes().values()))
    n_w, e_w = (4, 300) if quick else (20, 3000)
    wagent = ActorCritic("watermaze", synapse="memristor")
    wres = wagent.fit(e_w, n_w, seed, progress_bar=False)
    plot_maze_result(wagent, wres, outdir / "maze_watermaze.png")
    fm, fs = wres.final_steps
    lines.append(f"water maze, emulated devices, {n_w} seeds x {e_w} episodes: last episode {fm:.1f} +- {fs:.1f} "
                 f"steps ({wres.time_s:.1f} s)")
    from neuroflow.rl.optimal import sample_starts, watermaze_steps_to_goal

    n_opt = 200 if quick else 1000
    opt = watermaze_steps_to_goal(sample_starts(n_opt, seed))
    lines.append(f"water maze floor: the optimal policy needs {opt.mean():.2f} +- {opt.std():.2f} steps from {n_opt} "
                 "uniform starts (exact search; `neuroflow maze floor` adds the best softmax policy)")
    ab = self_correction(0.05, n_seeds=50 if quick else 300, seed=seed)
    plot_ablation(ab, outdir / "maze_self_correction.png")
    s = ab.summary()
    lines.append("self-correction at 5 % write noise: value-map error closed "
                 f"{s['closed_loop']['value_map_error_mean']:.3f} vs open {s['open_loop']['value_map_error_mean']:.3f}")
    return lines
