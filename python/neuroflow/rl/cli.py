"""``neuroflow maze tmaze | watermaze | ablation | floor | sweep | fit-device`` and the maze part of ``neuroflow demo``.

Every number, list and path is typed by :mod:`neuroflow.cliutil`, so a bad value ends in one line naming its
flag before any work starts; so does a run whose arrays would not fit in memory (estimated from the seeds and
episodes). Ctrl-C ends a run with exit status 130 and JSON that says ``interrupted: true``.

(Over 400 lines on purpose: one verb per job of the area, six of them, and the demo; each handler only parses,
calls the library and prints.)
"""
from __future__ import annotations

import argparse
from pathlib import Path

from neuroflow._utils import expanded, file_problem
from neuroflow.cliutil import (add_common_options, emit, fail, flag_error, input_file, integer, note, number,
                               output_dir, output_file, scheduler_address)
from neuroflow.memristor.device import PRESETS
from neuroflow.rl.agent import SYNAPSES

#: write-noise levels of ``maze ablation --sweep`` unless --sigmas
_SIGMAS = [0.0, 0.02, 0.04, 0.06, 0.08, 0.1]
_TASK_DEFAULTS = {"tmaze": (100, 200), "watermaze": (10, 1000)}
_MIN_UPDATE_HELP = ("drop weight updates smaller than this (default: the task's, 0.0025 = half a pulse on memristors "
                    "in the water maze, else 0). Measured, water maze, ideal weights, 6 seeds x 5000 episodes, "
                    "episodes 4901-5000: 8.7 steps without the cut-off, 30.9 with 0.0025")


def _device(text: str):
    """A device preset name, or a device file (.json) written by ``neuroflow maze fit-device``."""
    if text in PRESETS:
        return text
    path = expanded(text)  # ~nouser/... as it is, as a shell takes it (Path.expanduser raised RuntimeError)
    want = f"one of {', '.join(PRESETS)} or a device file (.json) written by `neuroflow maze fit-device`"
    problem = file_problem(path) if text else None
    if problem == "is not a regular file" and path.is_dir():
        problem = "is a folder"
    if path.suffix.lower() != ".json" and problem != "is a folder":
        raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}")
    if problem:  # a device file that is not there (or a folder): say so, not just what is expected
        raise argparse.ArgumentTypeError(f"{text}: {problem}; expected {want}")
    from neuroflow.memristor.device import device_table
    from neuroflow.memristor.fitting import load_devices

    try:
        devices = load_devices(path)
        device_table(devices)  # devices no crossbar takes together were refused later, naming neither flag nor file
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("device: ", f"{text}: ", 1)) from None
    return devices


_device.__name__ = "device"


def _n_jobs(text: str) -> int:
    value = integer(-1)(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of processes or -1 (all cores), got {text!r}")
    return value


_n_jobs.__name__ = "n_jobs"


def _add_learning_options(p, *, device_default_help: str = "portner2025 for memristors, ideal otherwise"):
    p.add_argument("--alpha", type=number(0, 1, lo_open=True), default=None, metavar="A",
                   help="learning rate in (0, 1] (default: the published one for the task)")
    p.add_argument("--temperature", type=number(0, lo_open=True), default=None, metavar="T",
                   help="softmax temperature > 0 (default: the published one for the task)")
    p.add_argument("--gamma", type=number(0, 1), default=None, metavar="G",
                   help="discount factor in [0, 1] (default: the published one for the task)")
    p.add_argument("--min-update", type=number(0, 1), default=None, metavar="DW", help=_MIN_UPDATE_HELP)
    p.add_argument("--device", type=_device, default=None, metavar="NAME|FILE",
                   help=f"device preset ({', '.join(PRESETS)}) or a device file from `maze fit-device` "
                        f"(default: {device_default_help})")


def _add_agent_options(p, task):
    seeds, episodes = _TASK_DEFAULTS[task]
    p.add_argument("--synapse", default="memristor", choices=SYNAPSES, help="weights: ideal or emulated devices "
                   "(default: %(default)s)")
    p.add_argument("--seeds", type=integer(1), default=seeds, help="independent agents simulated together "
                   "(default: %(default)s)")
    p.add_argument("--episodes", type=integer(1), default=episodes, help="episodes per agent (default: %(default)s)")
    _add_learning_options(p)
    p.add_argument("--actor-rule", default="reference", choices=["reference", "softmax"],
                   help="actor update with the raw activation (reference) or the policy (softmax) "
                        "(default: %(default)s)")
    p.add_argument("--variability", default=None, choices=["device", "cycle"],
                   help="device model: mean response + device noise, or per-cycle fits (default: the task's)")
    p.add_argument("--seed-batch", type=integer(1), default=None, metavar="N",
                   help="seeds simulated together; Ctrl-C keeps finished batches (default: ~64 MiB of state)")
    p.add_argument("--checkpoint", type=output_dir(), default=None, metavar="DIR",
                   help="save finished seed batches here after each batch; rerunning the same command resumes")
    p.add_argument("--compare", action="store_true", help="also run ideal synapses and plot both curves")


def _unused_devices(synapse, devices, flag):
    """``fail`` naming ``--synapse`` and ``flag`` when ``devices`` (presets or device tuples) cannot change a run of
    ``synapse`` synapses: ideal synapses store exact weights and take from a device only its read noise."""
    from neuroflow.memristor.device import VCMDevice, get_device

    if synapse != "ideal" or not devices or all(dev == "ideal" for dev in devices):
        return None
    for dev in devices:
        devs = get_device(dev) if isinstance(dev, str) else dev
        devs = (devs,) if isinstance(devs, VCMDevice) else tuple(devs)
        if any(d.read_noise > 0 for d in devs):
            return None
    return fail(f"--synapse ideal, {flag}: ideal synapses store exact weights and take from a device only its read "
                f"noise, which the {flag} given lacks; use --synapse memristor or drop {flag}")


def _repeated(**grids):
    """``fail`` naming the first flag (``--alphas`` from ``alphas=...``) whose values repeat one (a grid point would
    be computed and reported twice), else None; preset names and numbers are compared, device files are not."""
    for name, values in grids.items():
        seen = []
        for v in values or ():
            if isinstance(v, (int, float, str)) and v in seen:
                return fail(f"--{name}: {v!r} appears twice; give each value once")
            seen.append(v)
    return None


def _tail_check(tail, episodes):
    return None if tail is None or tail <= episodes else \
        fail(f"--tail, --episodes: expected a tail of at most the {episodes} episodes, got --tail {tail}")


def _agent_kwargs(args) -> dict:
    return dict(alpha=args.alpha, temperature=args.temperature, gamma=args.gamma, min_update=args.min_update)


def _memory_check(task, seeds, episodes, arms=1):
    from neuroflow.rl.runs import memory_problem

    problem = memory_problem(task, seeds * arms, episodes)
    return None if problem is None else fail(f"--seeds {seeds} x --episodes {episodes}: {problem}")


def _energy_lines(report) -> list[str]:
    u = report.per_update()
    line = (f"  energy per TD update (estimate): digital processor {1e9 * u['digital_energy_J']:.3g} nJ, "
            f"{1e6 * u['digital_time_s']:.3g} us")
    if "crossbar_energy_J" in u:
        line += (f"; crossbar devices {1e9 * u['crossbar_energy_J']:.3g} nJ, {1e6 * u['crossbar_time_s']:.3g} us "
                 "(devices only; see neuroflow.memristor.energy)")
    return [line]


def _run_maze(args, task) -> int:
    import numpy as np

    from neuroflow.cliutil import as_flag_error
    from neuroflow.memristor.energy import update_cost
    from neuroflow.rl.agent import ActorCritic

    if args.compare and args.synapse == "ideal":   # was a single run, exit 0, as if compared
        return fail("--compare, --synapse ideal: --compare runs ideal synapses beside memristive ones, so with "
                    "--synapse ideal there is nothing to compare; use --synapse memristor (or memristor-open-loop) "
                    "or drop --compare")
    arms = 2 if args.compare else 1
    code = _unused_devices(args.synapse, None if args.device is None else [args.device], "--device") or \
        _memory_check(task, args.seeds, args.episodes, arms)
    if code is not None:
        return code
    kw = dict(device=args.device, actor_rule=args.actor_rule, variability=args.variability, **_agent_kwargs(args))
    try:
        agent = ActorCritic(task, synapse=args.synapse, **kw)
    except ValueError as exc:  # --variability cycle on devices without a cycles table: name what chose them
        chosen = "--device" if args.device is not None else f"--synapse {args.synapse}"
        message = as_flag_error(exc, {"variability": f"--variability {args.variability}, {chosen}"})
        if message is None:
            raise
        if args.device is None and args.synapse == "ideal":
            message = (f"--variability {args.variability}, --synapse ideal: ideal synapses use the 'ideal' device, "
                       "which has no cycles table; use --synapse memristor (its portner2025 devices have one) or "
                       "drop --variability")
        return fail(message)

    def checkpoint(synapse):
        return None if args.checkpoint is None else Path(args.checkpoint) / f"{task}_{synapse}.npz"

    res = agent.fit(args.episodes, args.seeds, args.seed, progress=not args.quiet, seed_batch=args.seed_batch,
                    checkpoint=checkpoint(args.synapse)).result_
    energy = update_cost(res)
    payload = {**res.to_dict(), "energy": energy.to_dict()}
    others = {}
    if arms == 2 and not res.interrupted:
        ideal = ActorCritic(task, synapse="ideal", **{**kw, "device": None, "variability": None})
        others["ideal"] = ideal.fit(args.episodes, args.seeds, args.seed, progress=not args.quiet,
                                    seed_batch=args.seed_batch, checkpoint=checkpoint("ideal")).result_
        payload["ideal_steps_mean"] = others["ideal"].steps_mean
        payload["ideal_steps_at_episode"] = others["ideal"].at_episodes()
        payload["interrupted"] = others["ideal"].interrupted
    # Ctrl-C before any episode finished: nothing to draw (the water maze's log axis ended in matplotlib's
    # "Data cannot be log-scaled", exit 2, and the interrupted run's results were never printed)
    plot = args.plot if args.plot and np.isfinite(res.steps).any() else None
    if plot:
        from neuroflow.rl.plots import plot_maze_result

        payload["plot"] = str(plot_maze_result(agent, res, plot, others=others, seed=0))
    fm, fs = res.final_steps
    lines = [f"{task}, {args.synapse} synapses, {res.n_seeds} seeds x {res.n_episodes} episodes "
             f"({res.time_s:.1f} s, {res.seed_episodes_per_s:.0f} seed-episodes/s)"]
    lines += [f"  mean steps at episode {e}: {v:.2f}" for e, v in res.at_episodes().items()]
    lines.append(f"  last episode: {fm:.2f} +- {fs:.2f} steps")
    if "ideal" in others:
        lines.append("  ideal synapses: " + ", ".join(f"ep {e}: {v:.2f}" for e, v in
                                                    others["ideal"].at_episodes().items()))
    lines += _energy_lines(energy)
    if payload["interrupted"]:
        lines.append(f"  interrupted: {res.completed_seeds} seeds finished")
    if plot:
        lines.append(f"  plot: {payload['plot']}")
    elif args.plot:
        lines.append("  no plot: no episode finished")
    emit(args, payload, lines)
    return 130 if payload["interrupted"] else 0


def _ablation(args) -> int:
    from neuroflow.rl.experiments import ABLATION_DEFAULTS, check_noise_sweep_checkpoint, noise_sweep, self_correction

    if args.sigma is not None and args.device is not None:
        return fail("--sigma, --device: give the write noise of a linear device or a device, not both")
    if not args.sweep:
        unused = [flag for flag, value in (("--sigmas", args.sigmas), ("--n-jobs", args.n_jobs),
                                           ("--scheduler", args.scheduler)) if value is not None]
        if unused:
            return fail(f"{', '.join(unused)}: only used by the noise sweep; add --sweep or drop {' '.join(unused)}")
    sigma = 0.05 if args.sigma is None and args.device is None else args.sigma
    seeds = args.seeds if args.seeds is not None else (200 if args.task == "tmaze" else 50)
    episodes = args.episodes if args.episodes is not None else ABLATION_DEFAULTS[args.task]["n_episodes"]
    code = _repeated(sigmas=args.sigmas) or _tail_check(args.tail, episodes) or \
        _memory_check(args.task, seeds, episodes, 2) or _sweep_plot_problem(args)
    if code is not None:
        return code
    kw = _agent_kwargs(args)
    kept = {"seed_batch": args.seed_batch, "checkpoint": args.checkpoint}
    sigmas = _SIGMAS if args.sigmas is None else args.sigmas
    sweep_checkpoint = None if args.checkpoint is None or not args.sweep else Path(args.checkpoint) / "sweep"
    try:
        # the sweep's levels' files before any work (self_correction checks its arms' files): one of other settings
        # was refused only once the ablation and the levels before it had run
        check_noise_sweep_checkpoint(sweep_checkpoint, sigmas, task=args.task, n_seeds=seeds, n_episodes=episodes,
                                     seed=args.seed, seed_batch=args.seed_batch, **kw)
        ab = self_correction(sigma, task=args.task, n_seeds=seeds, n_episodes=episodes, seed=args.seed,
                             tail=args.tail, progress=not args.quiet, device=args.device, **kept, **kw)
    except KeyboardInterrupt:   # a half-run comparison is no result: nothing printed, the finished batches kept
        if args.checkpoint is None:
            raise
        note(f"interrupted; {_kept_batches(args.checkpoint, args.task)}", new_line_on_terminal=True)
        return 130
    except ValueError as exc:   # a checkpoint of other settings: one line naming them, and the flag
        raise flag_error(exc, {"checkpoint": "--checkpoint", "seed_batch": "--seed-batch"}) from None
    payload = {"ablation": ab.to_dict(), "interrupted": False}
    s = ab.summary()
    name = "T-maze" if args.task == "tmaze" else "water maze"
    lines = [f"{name} self-correction, {ab.noise_label}, {seeds} seeds x {ab.closed.n_episodes} episodes "
             f"(final steps: mean of the last {ab.tail} episodes)"]
    for arm in ("closed_loop", "open_loop"):
        lo, hi = s[arm]["final_steps_ci95"]
        lines.append(f"  {arm.replace('_', ' ')}: final steps {s[arm]['final_steps_mean']:.2f} "
                     f"[{lo:.2f}, {hi:.2f}], value-map error {s[arm]['value_map_error_mean']:.3f} "
                     f"+- {s[arm]['value_map_error_std']:.3f}")
    d = s["difference"]
    lines.append("  closed - open (paired, 95 % CI): steps {:+.2f} [{:+.2f}, {:+.2f}], value-map error {:+.3f} "
                 "[{:+.3f}, {:+.3f}]".format(d["final_steps_mean"], *d["final_steps_ci95"], d["value_map_error_mean"],
                                             *d["value_map_error_ci95"]))
    sw = None
    if args.sweep:
        try:
            sw = noise_sweep(sigmas, task=args.task, n_seeds=seeds, n_episodes=episodes, seed=args.seed,
                             tail=args.tail, n_jobs=args.n_jobs or 1, scheduler=args.scheduler,
                             seed_batch=args.seed_batch, checkpoint=sweep_checkpoint, **kw)
        except ValueError as exc:
            raise flag_error(exc, {"checkpoint": "--checkpoint", "seed_batch": "--seed-batch"}) from None
        payload["noise_sweep"] = sw.to_dict()
        payload["interrupted"] = sw.params["interrupted"]
        lines.append("  sigma   steps closed/open   closed-open [95 % CI]   value error closed/open")
        for i, sg in enumerate(sw.sigmas):
            lo, hi = sw.steps_diff_ci[i]
            lines.append(f"  {100 * sg:4.0f} %  {sw.closed_steps[i]:6.2f} / {sw.open_steps[i]:6.2f}   "
                         f"{sw.steps_diff[i]:+.2f} [{lo:+.2f}, {hi:+.2f}]   "
                         f"{sw.closed_error[i]:.3f} / {sw.open_error[i]:.3f}")
        if payload["interrupted"]:
            lines.append(f"  interrupted: {len(sw.sigmas)} of {len(sigmas)} noise levels finished"
                         + (f"; every finished seed batch is kept in {args.checkpoint}: rerun the same command to "
                            "resume" if args.checkpoint is not None else ""))
    if args.plot:
        from neuroflow.rl.plots import plot_ablation, plot_noise_sweep

        payload["plot"] = str(plot_ablation(ab, args.plot))
        lines.append(f"  plot: {payload['plot']}")
        if sw is not None and len(sw.sigmas):
            p2 = _sweep_plot(args.plot)
            payload["plot_sweep"] = str(plot_noise_sweep(sw, p2))
            lines.append(f"  plot: {p2}")
    emit(args, payload, lines)
    return 130 if payload["interrupted"] else 0


def _kept_batches(folder, task) -> str:
    """What an interrupted ``maze ablation --checkpoint`` kept: "the finished seed batches (closed loop 40 of 200
    seeds, open loop none) are kept in DIR: ...", or that no batch had finished (it said "(closed loop none, open
    loop none) are kept")."""
    import numpy as np

    from neuroflow.rl.experiments import ablation_checkpoints

    parts, any_done = [], False
    for arm, path in ablation_checkpoints(folder, task).items():
        try:
            with np.load(path) as z:
                done = z["done_seeds"]
            parts.append(f"{arm.replace('_', ' ')} {int(done.sum())} of {done.size} seeds")
            any_done = any_done or bool(done.any())
        except (OSError, ValueError, KeyError):   # no batch of this arm finished (or an unreadable file)
            parts.append(f"{arm.replace('_', ' ')} none")
    if not any_done:
        return f"no seed batch had finished, nothing is kept in {folder}"
    return f"the finished seed batches ({', '.join(parts)}) are kept in {folder}: rerun the same command to resume"


def _sweep_plot(plot) -> Path:
    """Where ``maze ablation --sweep --plot PATH`` draws the noise sweep: PATH with ``_sweep`` before its suffix."""
    return Path(plot).with_name(Path(plot).stem + "_sweep" + Path(plot).suffix)


def _sweep_plot_problem(args):
    """``fail`` naming --plot when the sweep's figure (beside it) cannot be written: a folder or a named pipe
    there ended the command after all its work, the results never printed."""
    from neuroflow.cliutil import check_output_file

    if not (args.plot and args.sweep):
        return None
    try:
        check_output_file(_sweep_plot(args.plot), "--plot")
    except ValueError as exc:
        return fail(f"{exc} (the noise sweep's figure, beside --plot {args.plot})")
    return None


def _floor(args) -> int:
    from neuroflow.rl.optimal import watermaze_optimal_steps
    from neuroflow.rl.runs import available_memory_bytes

    need = 48 * args.starts * args.rollouts          # repeated starts (16 B), two step arrays and the scores
    have = available_memory_bytes()
    if have is not None and need > have:
        return fail(f"--starts {args.starts} x --rollouts {args.rollouts}: need about {need / 2**30:.3g} GiB, more "
                    f"than the {have / 2**30:.3g} GiB of memory available")

    f = watermaze_optimal_steps(args.starts, temperature=args.temperature, rollouts=args.rollouts,
                                n_samples=args.field_samples,
                                search_starts=args.search_starts, sweeps=args.sweeps,
                                graded_sweeps=args.graded_sweeps, seed=args.seed, progress=not args.quiet,
                                max_time_s=args.max_time)
    payload = {"floor": f.to_dict()}
    lines = [f"water-maze floor from {f.n_starts} uniform starts ({f.time_s:.1f} s)",
             f"  optimal deterministic policy (exact search): {f.optimal_mean:.2f} +- {f.optimal_std:.2f} steps",
             f"  best softmax (T = {f.temperature:g}) policy found, weights in [0, 1]: {f.softmax_mean:.2f} +- "
             f"{f.softmax_std:.2f} steps (an upper bound on the policy class's floor; published ideal 6.65 +- 3.16)",
             f"  search stopped by: {f.stopped_by}"]
    emit(args, payload, lines)
    return 130 if f.stopped_by == "interrupted" else 0  # Ctrl-C: the policy found so far, printed, and its exit status


def _sweep(args) -> int:
    import numpy as np

    from neuroflow.cliutil import flag_error
    from neuroflow.rl.sweep import maze_sweep

    devices = ["portner2025"] if args.devices is None else args.devices
    code = _repeated(alphas=args.alphas, temperatures=args.temperatures, devices=args.devices) or \
        _unused_devices(args.synapse, args.devices, "--devices") or _tail_check(args.tail, args.episodes) or \
        _memory_check(args.task, args.seeds, args.episodes, len(args.alphas) * len(args.temperatures) * len(devices))
    if code is not None:
        return code
    try:
        res = maze_sweep(args.task, alphas=args.alphas, temperatures=args.temperatures, devices=devices,
                         synapse=args.synapse, n_seeds=args.seeds, n_episodes=args.episodes,
                         seed_batch=args.seed_batch, seed=args.seed, tail=args.tail, min_update=args.min_update,
                         n_jobs=args.n_jobs, scheduler=args.scheduler, out=args.out, progress=not args.quiet)
    except ValueError as exc:  # a point file of another sweep in --out
        raise flag_error(exc, {"out": "--out", "devices": "--devices"}) from None
    payload = res.to_dict()
    lines = [f"{args.task} sweep, {args.synapse} synapses, {len(res.points)} grid points x {args.seeds} seeds x "
             f"{args.episodes} episodes ({res.time_s:.1f} s; final steps = mean of the last "
             f"{res.params['tail']} episodes, 95 % CI)"]
    finished = np.isfinite(res.final_steps)  # points an interrupt cut short have no numbers (NaN)
    for (a, t, d), fsteps, (lo, hi), done in zip(res.points, res.final_steps, res.final_steps_ci95, finished):
        lines.append(f"  alpha {a:<6g} T {t:<6g} {d:<14s} "
                     + (f"{fsteps:7.2f} [{lo:.2f}, {hi:.2f}]" if done else "not finished"))
    if finished.any():
        b = res.best()
        lines.append(f"  best: alpha {b['alpha']:g}, T {b['temperature']:g}, {b['device']}: {b['final_steps']:.2f}")
    if args.out is not None and finished.any():
        lines.append(f"  {int(finished.sum())} finished grid points saved in {args.out} (a rerun skips them)")
    if args.plot and finished.any():
        from neuroflow.rl.plots import plot_sweep

        payload["plot"] = str(plot_sweep(res, args.plot))
        lines.append(f"  plot: {payload['plot']}")
    elif args.plot:
        lines.append("  no plot: no grid point finished")
    if res.interrupted:
        lines.append(f"  interrupted: {len(res.computed)} grid points finished in this run")
    emit(args, payload, lines)
    return 130 if res.interrupted else 0


def _fit_device(args) -> int:
    from neuroflow.memristor.device import device_table, get_device
    from neuroflow.memristor.fitting import compare_fits, fit_device, save_devices

    if args.name is not None and len(args.files) > 1:
        return fail("--name: only with one measurement file (each of several files names its device)")
    if any(Path(f).resolve() == Path(args.out).resolve() for f in args.files):
        return fail(f"--out: {args.out} is one of the measurement files; writing the fit there would erase it")
    fits = [fit_device(f, name=args.name) for f in args.files]
    names = [f.device.name for f in fits]
    if len(set(names)) < len(names):
        return fail("FILE: two measurements give the same device name; rename the files or fit them one by one")
    try:  # a file of devices no crossbar takes together was written, and refused by every verb it was given to
        device_table([f.device for f in fits])
    except ValueError as exc:
        pulses = ", ".join(f"{f.device.name} {f.device.n_pulses}" for f in fits)
        cycles = ", ".join(f"{f.device.name} {'with' if f.device.cycles is not None else 'without'}" for f in fits)
        return fail(f"FILE: {str(exc).replace('device: ', '', 1)} (pulses per sweep: {pulses}; cycle tables: "
                    f"{cycles}); the devices of one device file run together, so fit these into separate files")
    path = save_devices([f.device for f in fits], args.out, fits=fits)
    preset = {d.name: d for d in get_device("portner2025")}
    payload = {"out": str(path), "fits": [f.to_dict() for f in fits], "vs_preset": {}}
    lines = [f"{len(fits)} device(s) fitted, written to {path} (use it as --device {path})"]
    for f in fits:
        d = f.device
        cyc = f"{len(d.cycles)} cycles" if d.cycles is not None else "no cycle table"
        lines.append(f"  {d.name}: G0 {d.G0_uS:.3g} uS, G1 {d.G1_uS:.3g} uS, SET a={d.a_set:.3g} b={d.b_set:.3g}, "
                     f"RESET a={d.a_reset:.3g} b={d.b_reset:.3g}, noise {d.sigma_set:.3f}/{d.sigma_reset:.3f}, "
                     f"RMS about the mean response {f.rms_set:.3f}/{f.rms_reset:.3f}, {cyc}")
        if d.name in preset:
            c = compare_fits(d, preset[d.name])
            payload["vs_preset"][d.name] = c
            lines.append(f"    vs the shipped preset: mean curves within {c['mean']:.1e}, per-cycle curves RMS "
                         f"{c['cycles_rms']:.1e}, noise {100 * c['sigma']:.2f} %")
    if args.plot:
        from neuroflow.memristor.plots import plot_device_fits

        payload["plot"] = str(plot_device_fits(fits, args.plot, reference=preset if payload["vs_preset"] else None,
                                               reference_label="shipped fit (portner2025 preset)"))
        lines.append(f"  plot: {payload['plot']}")
    emit(args, payload, lines)
    return 0


def _device_name(text: str) -> str:
    """An argparse type for --name: a device name as VCMDevice takes it (non-empty, one printable line)."""
    if not text.strip() or not text.isprintable():
        raise argparse.ArgumentTypeError(f"expected a non-empty name on one line of printable text, got {text!r}")
    return text


def register(verbs) -> None:
    for task, text in (("tmaze", "actor-critic in the T-maze (9 states, reward in the right arm)"),
                       ("watermaze", "actor-critic in the Morris water maze (place cells, U-shaped obstacle)")):
        p = verbs.add_parser(task, help=text, description=text)
        _add_agent_options(p, task)
        add_common_options(p)
        p.set_defaults(func=lambda args, task=task: _run_maze(args, task))

    text = "self-correction: closed vs open loop, and a write-noise sweep"
    p = verbs.add_parser("ablation", help=text, description=text)
    p.add_argument("--task", default="tmaze", choices=["tmaze", "watermaze"], help="maze (default: %(default)s)")
    p.add_argument("--sigma", type=number(0, 1), default=None, metavar="S",
                   help="write noise of a linear device, fraction of the range (default 0.05 unless --device)")
    p.add_argument("--seeds", type=integer(1), default=None, help="seeds per arm (default: T-maze 200, water maze 50)")
    p.add_argument("--episodes", type=integer(1), default=None,
                   help="episodes per seed (default: T-maze 200, water maze 3000)")
    p.add_argument("--tail", type=integer(1), default=None,
                   help="final steps = mean of the last TAIL episodes (default: T-maze 20, water maze 500)")
    _add_learning_options(p, device_default_help="a linear device with --sigma write noise")
    p.add_argument("--seed-batch", type=integer(1), default=None, metavar="N",
                   help="seeds simulated together; Ctrl-C keeps finished batches (default: ~64 MiB of state)")
    p.add_argument("--checkpoint", type=output_dir(), default=None, metavar="DIR",
                   help="save each arm's finished seed batches here (the sweep's in DIR/sweep); rerunning the same "
                        "command resumes, and gives the numbers of an uninterrupted run")
    p.add_argument("--sweep", action="store_true", help="also sweep the write noise over --sigmas")
    p.add_argument("--sigmas", type=number(0, 1), nargs="+", default=None, metavar="S",
                   help=f"noise levels of the sweep, space-separated (default: {_SIGMAS})")
    p.add_argument("--n-jobs", type=_n_jobs, default=None, metavar="N",
                   help="local processes for the sweep, -1 = all cores (default: 1)")
    p.add_argument("--scheduler", type=scheduler_address, default=None, metavar="ADDRESS",
                   help="run the sweep on a Dask scheduler, e.g. tcp://host:8786")
    add_common_options(p)
    p.set_defaults(func=_ablation)

    text = ("water-maze floor: optimal steps and the best softmax policy found from uniform starts (the default "
            "search takes about 7 min on 2 quiet cores; --sweeps 1 --graded-sweeps 0 about 1.5 min; the progress "
            "bar counts place cells over all passes)")
    p = verbs.add_parser("floor", help="water-maze floor: optimal steps and the best softmax policy found",
                         description=text)
    p.add_argument("--starts", type=integer(1, 1_000_000), default=4000, help="uniform starts to score on "
                   "(default: %(default)s)")
    p.add_argument("--search-starts", type=integer(1, 1_000_000), default=2000,
                   help="separate starts the policy search uses (default: %(default)s)")
    p.add_argument("--sweeps", type=integer(0), default=4, help="passes of the search over weights in {0, 1} "
                   "(default: %(default)s)")
    p.add_argument("--graded-sweeps", type=integer(0), default=3, help="then passes over multiples of 0.25 "
                   "(default: %(default)s)")
    p.add_argument("--rollouts", type=integer(1, 1000), default=5, help="softmax rollouts per start "
                   "(default: %(default)s)")
    p.add_argument("--temperature", type=number(0, lo_open=True), default=0.15, metavar="T",
                   help="softmax temperature (default: %(default)s)")
    p.add_argument("--field-samples", type=integer(1, 1000), default=16, metavar="N",
                   help="positions per place cell that pick its greedy move (default: %(default)s)")
    p.add_argument("--max-time", type=number(0, lo_open=True), default=None, metavar="SECONDS",
                   help="optional cap on the search's wall-clock time (default: none; the sweeps are the budget)")
    add_common_options(p, plot=False)
    p.set_defaults(func=_floor)

    text = "grid sweep over learning rate x temperature x device, seeds in batches, locally or on Dask"
    p = verbs.add_parser("sweep", help=text, description=text)
    p.add_argument("--task", default="tmaze", choices=["tmaze", "watermaze"], help="maze (default: %(default)s)")
    p.add_argument("--synapse", default="memristor", choices=SYNAPSES, help="(default: %(default)s)")
    p.add_argument("--alphas", type=number(0, 1, lo_open=True), nargs="+", default=[0.1, 0.2], metavar="A",
                   help="learning rates, space-separated (default: %(default)s)")
    p.add_argument("--temperatures", type=number(0, lo_open=True), nargs="+", default=[0.3], metavar="T",
                   help="softmax temperatures, space-separated (default: %(default)s)")
    p.add_argument("--devices", type=_device, nargs="+", default=None, metavar="NAME|FILE",
                   help="device presets or device files, space-separated (default: portner2025)")
    p.add_argument("--seeds", type=integer(1), default=100, help="agents per grid point (default: %(default)s)")
    p.add_argument("--episodes", type=integer(1), default=200, help="episodes per agent (default: %(default)s)")
    p.add_argument("--seed-batch", type=integer(1), default=None, metavar="N",
                   help="seeds per job (default: all seeds of a grid point)")
    p.add_argument("--tail", type=integer(1), default=None,
                   help="final steps = mean of the last TAIL episodes (default: a tenth of the episodes)")
    p.add_argument("--min-update", type=number(0, 1), default=None, metavar="DW", help=_MIN_UPDATE_HELP)
    p.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="N",
                   help="local processes, -1 = all cores (default: %(default)s)")
    p.add_argument("--scheduler", type=scheduler_address, default=None, metavar="ADDRESS",
                   help="address of a Dask scheduler (tcp://host:8786); its workers run the jobs")
    p.add_argument("--out", type=output_dir(), default=None, metavar="DIR",
                   help="write every finished grid point here; a rerun with the same settings skips them (points "
                        "of a sweep with other settings there are refused, never overwritten)")
    add_common_options(p)
    p.set_defaults(func=_sweep)

    text = ("fit the device model (mean response, write noise, per-cycle fits) to measured SET/RESET pulse "
            "sequences: JSON as the shipped raw measurements, or CSV with columns pulse, conductance (S) or "
            "conductance_uS, direction (set/reset)")
    p = verbs.add_parser("fit-device", help="fit a device model to measured SET/RESET pulses", description=text)
    p.add_argument("files", type=input_file, nargs="+", metavar="FILE", help="measurement files (.json or .csv)")
    p.add_argument("--out", type=output_file((".json",)), required=True, metavar="PATH",
                   help="device file to write (.json); give it to any maze verb as --device PATH")
    p.add_argument("--name", type=_device_name, default=None, help="device name (one file only; default: the chip id in the file "
                   "name, e.g. D600_R6_B12, or the file's stem)")
    add_common_options(p, seed=False)
    p.set_defaults(func=_fit_device)


def demo(outdir: Path, quick: bool, seed: int) -> list[str]:
    """The maze part of ``neuroflow demo`` (under 10 s on a quiet machine)."""
    from neuroflow.memristor.energy import update_cost
    from neuroflow.memristor.fitting import compare_fits, fit_device
    from neuroflow.memristor.measurement import simulate_measurement
    from neuroflow.memristor.device import get_device
    from neuroflow.rl.agent import ActorCritic
    from neuroflow.rl.experiments import self_correction
    from neuroflow.rl.optimal import sample_starts, watermaze_steps_to_goal
    from neuroflow.rl.plots import plot_ablation, plot_maze_result

    outdir = Path(outdir)
    lines = []
    n_t = 100 if quick else 500
    agent = ActorCritic("tmaze", synapse="memristor").fit(200, n_t, seed, progress=False)
    mem = agent.result_
    ideal = ActorCritic("tmaze", synapse="ideal").fit(200, n_t, seed, progress=False).result_
    plot_maze_result(agent, mem, outdir / "maze_tmaze.png", others={"ideal": ideal})
    lines.append(f"T-maze, 27 emulated devices, {n_t} seeds: "
                 + "/".join(f"{v:.1f}" for v in mem.at_episodes().values()) + f" steps ({mem.time_s:.1f} s); "
                 "failed episodes stored as 0 like the published curve: "
                 + "/".join(f"{v:.1f}" for v in mem.at_episodes(capped="zero").values())
                 + " (published 36.1/17.1/9.5/8.7/7.7)")
    lines.append("T-maze, ideal synapses (published ~33 -> 7.5 at ep 50 -> 6.5 at ep 200): "
                 + "/".join(f"{v:.1f}" for v in ideal.at_episodes().values()))
    u = update_cost(mem).per_update()
    lines.append(f"energy per TD update (estimate, devices only): crossbar {1e9 * u['crossbar_energy_J']:.2g} nJ / "
                 f"{1e6 * u['crossbar_time_s']:.2g} us, digital processor {1e9 * u['digital_energy_J']:.2g} nJ / "
                 f"{1e6 * u['digital_time_s']:.2g} us (programming pulses dominate the crossbar's cost)")
    n_w, e_w = (4, 200) if quick else (8, 500)
    wagent = ActorCritic("watermaze", synapse="memristor").fit(e_w, n_w, seed, progress=False)
    wres = wagent.result_
    plot_maze_result(wagent, wres, outdir / "maze_watermaze.png")
    tail = wres.steps[:, -max(1, e_w // 10):].mean()
    lines.append(f"water maze, emulated devices, {n_w} seeds x {e_w} episodes: last {max(1, e_w // 10)} episodes "
                 f"{tail:.1f} steps ({wres.time_s:.1f} s; `neuroflow maze watermaze` runs longer)")
    n_opt = 200 if quick else 500
    opt = watermaze_steps_to_goal(sample_starts(n_opt, seed))
    lines.append(f"water maze floor: the optimal policy needs {opt.mean():.2f} +- {opt.std():.2f} steps from {n_opt} "
                 "uniform starts (exact search; `neuroflow maze floor` adds the best softmax policy)")
    ab = self_correction(0.05, n_seeds=50 if quick else 200, seed=seed)
    plot_ablation(ab, outdir / "maze_self_correction.png")
    s = ab.summary()
    lines.append("self-correction at 5 % write noise: value-map error closed "
                 f"{s['closed_loop']['value_map_error_mean']:.3f} vs open {s['open_loop']['value_map_error_mean']:.3f}")
    truth = get_device("portner2025")[0]
    fit = fit_device(simulate_measurement(truth, seed=seed))
    c = compare_fits(fit.device, truth)
    lines.append(f"device fitting: 10 SET/RESET cycles of 200 pulses simulated from {truth.name} and refitted: mean "
                 f"response within {c['mean']:.1g} of the true one, write noise {fit.device.sigma_set:.3f}/"
                 f"{fit.device.sigma_reset:.3f} (true {truth.sigma_set:.3f}/{truth.sigma_reset:.3f}); "
                 "`neuroflow maze fit-device FILE --out dev.json` fits your own measurements")
    return lines
