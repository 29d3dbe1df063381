"""Figures: learning curves with a 10-90 % band over seeds, value maps, policy arrows, example trajectories, ablations."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neuroflow._utils import check_positive, pyplot, save_figure, short_repr
from neuroflow.rl.envs import TMaze, WATERMAZE_MOVES, WaterMaze
from neuroflow.rl.result import quiet_nans

__all__ = ["plot_learning_curves", "plot_maze_result", "plot_ablation", "plot_noise_sweep", "plot_sweep"]

# (x, y) of the T-maze states for drawing: stem upwards, arms left (7, 8) and right (5, 6)
_TMAZE_XY = np.array([[0, 0], [0, 1], [0, 2], [0, 3], [0, 4], [1, 4], [2, 4], [-1, 4], [-2, 4]], dtype=float)


def _smooth(y, k):
    if k <= 1 or y.size < k:
        return y
    return np.convolve(y, np.ones(k) / k, mode="valid")


def plot_learning_curves(ax, results: dict, smooth: int = 1, log: bool = False):
    """Mean steps over seeds per episode, with the 10th-90th percentile over seeds as a band.

    Steps are skewed (a few long episodes), so a mean +- SD band would reach below zero; percentiles never do."""
    for label, r in results.items():
        with quiet_nans():   # episodes an interrupt left all NaN
            q_lo, q_hi = np.nanpercentile(r.steps, [10, 90], axis=0) if r.steps.size else (np.zeros(0), np.zeros(0))
        m = _smooth(r.steps_mean, smooth)
        x = np.arange(1, m.size + 1) + (smooth - 1) / 2
        line, = ax.plot(x, m, label=f"{label}: mean")
        ax.fill_between(x, _smooth(q_lo, smooth), _smooth(q_hi, smooth), alpha=0.2, color=line.get_color(),
                        label=f"{label}: 10-90 % of seeds")
    ax.set_xlabel("episode" + (f" ({smooth}-episode running mean)" if smooth > 1 else ""))
    ax.set_ylabel("steps to goal")
    if log:
        ax.set_xscale("log")
    ax.legend(fontsize=8)


def _draw_watermaze(ax):
    plt = pyplot()
    for rect in ((-2.5, -2.5, 1, 4.5), (1.5, -2.5, 1, 4.5), (-1.5, -2.5, 3, 1)):
        ax.add_patch(plt.Rectangle(rect[:2], rect[2], rect[3], color="0.5"))
    ax.add_patch(plt.Circle((0, 0), WaterMaze.platform_radius, color="red", alpha=0.7))
    ax.set_xlim(-6, 6)
    ax.set_ylim(-6, 6)
    ax.set_aspect("equal")


def _expect(value, kind, name: str) -> None:
    """ValueError naming ``name`` unless ``value`` is a ``kind``: None, a dict or another task's agent ended in
    AttributeError ('NoneType' object has no attribute 'task') or matplotlib's "Invalid shape (9,) for image data"."""
    if not isinstance(value, kind):
        article = "an" if kind.__name__[0] in "AEIOU" else "a"
        raise ValueError(f"{name}: expected {article} {kind.__name__}, got {type(value).__name__}")


def plot_maze_result(agent, result, path: str | Path, *, others: dict | None = None, smooth: int | None = None,
                     seed: int = 0) -> Path:
    """Four panels: learning curve (mean, 10-90 % band over seeds), value map, policy arrows of seed 0, example
    trajectories."""
    from neuroflow.rl.agent import ActorCritic, MazeResult

    _expect(agent, ActorCritic, "agent")
    _expect(result, MazeResult, "result")
    if result.task != agent.task:
        raise ValueError(f"result, agent: a {result.task} result and a {agent.task} agent; give the agent that "
                         "made the result")
    if others is not None and (not isinstance(others, dict) or not all(isinstance(r, MazeResult) and r.task ==
                                                                        result.task for r in others.values())):
        raise ValueError(f"others: expected a dict of {result.task} MazeResults by label, got {short_repr(others)}")
    if smooth is not None:
        check_positive(smooth, "smooth", integer=True)
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    curves = {result.synapse: result, **(others or {})}
    if smooth is None:
        smooth = max(1, result.n_episodes // 100)
    plot_learning_curves(axes[0], curves, smooth=smooth, log=result.task == "watermaze")
    axes[0].set_title(f"{result.task}: {result.n_seeds} seeds")
    if agent.task == "tmaze":
        v = result.value_map
        sc = axes[1].scatter(_TMAZE_XY[:, 0], _TMAZE_XY[:, 1], c=v, s=900, marker="s", cmap="viridis", vmin=0, vmax=1)
        for s, (x, y) in enumerate(_TMAZE_XY):
            axes[1].text(x, y, f"{v[s]:.2f}", ha="center", va="center", color="w", fontsize=8)
        fig.colorbar(sc, ax=axes[1], label="V")
        axes[1].set_title("value map (mean over seeds)")
        probs = agent.policy(np.arange(TMaze.n_states), seed)
        for s, (x, y) in enumerate(_TMAZE_XY):
            nxt = _TMAZE_XY[TMaze().transitions[s]]
            for a in range(2):
                d = nxt[a] - (x, y)
                if np.allclose(d, 0):
                    continue
                axes[2].arrow(x, y, 0.35 * d[0], 0.35 * d[1], width=0.04 * probs[s, a] + 0.005,
                              color=plt.cm.viridis(probs[s, a]), length_includes_head=True)
        axes[2].scatter(_TMAZE_XY[:, 0], _TMAZE_XY[:, 1], s=300, marker="s", color="0.85", zorder=0)
        axes[2].set_title(f"policy of seed {seed}")
        for ax in axes[1:3]:
            ax.set_xlim(-2.7, 2.7)
            ax.set_ylim(-0.7, 4.7)
            ax.set_aspect("equal")
            ax.axis("off")
        paths = agent.rollout(3, seed=seed)
        for i, p in enumerate(paths):
            axes[3].plot(np.arange(len(p)), p, marker="o", label=f"episode {i + 1}: {len(p) - 1} steps")
        axes[3].set_xlabel("step")
        axes[3].set_ylabel("state")
        axes[3].legend()
        axes[3].set_title("example trajectories (learned policy)")
    else:
        v = result.value_map
        im = axes[1].imshow(v, origin="lower", extent=(-6, 6, -6, 6), cmap="viridis")
        _draw_watermaze(axes[1])
        fig.colorbar(im, ax=axes[1], label="V")
        axes[1].set_title("value map (mean over seeds)")
        axis = np.linspace(-5.5, 5.5, 12)
        gx, gy = np.meshgrid(axis, axis)
        pts = np.stack([gx.ravel(), gy.ravel()], 1)
        p = agent.policy(pts, seed)
        mean_dir = p @ WATERMAZE_MOVES
        keep = np.array([not WaterMaze.blocked(*q) for q in pts])
        axes[2].quiver(pts[keep, 0], pts[keep, 1], mean_dir[keep, 0], mean_dir[keep, 1], p.max(1)[keep],
                       cmap="viridis")
        _draw_watermaze(axes[2])
        axes[2].set_title(f"policy of seed {seed} (mean move)")
        _draw_watermaze(axes[3])
        for traj in agent.rollout(4, seed=seed):
            axes[3].plot(traj[:, 0], traj[:, 1], marker=".", lw=1)
            axes[3].plot(*traj[0], "ko")
        axes[3].set_title("example trajectories (learned policy)")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_ablation(ablation, path: str | Path) -> Path:
    from neuroflow.rl.experiments import AblationResult, value_map_error

    _expect(ablation, AblationResult, "ablation")
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    plot_learning_curves(axes[0], {"closed loop (self-correcting)": ablation.closed,
                                   "open loop (no self-correction)": ablation.open},
                         smooth=max(1, ablation.closed.n_episodes // 50))
    noise = ablation.noise_label
    task = ablation.closed.task
    axes[0].set_title(f"{'T-maze' if task == 'tmaze' else 'water maze'}, {noise}")
    errs = [value_map_error(r.seed_critic_weights, r.params["gamma"], task) for r in (ablation.closed, ablation.open)]
    axes[1].boxplot(errs)
    axes[1].set_xticks([1, 2], ["closed loop", "open loop"])
    axes[1].set_ylabel("value-map RMS error " + ("(rewarded path)" if task == "tmaze" else "(vs optimal values)"))
    fig.tight_layout()
    return save_figure(fig, path)


def plot_noise_sweep(sweep, path: str | Path) -> Path:
    from neuroflow.rl.experiments import NoiseSweepResult

    _expect(sweep, NoiseSweepResult, "sweep")
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    x = 100 * sweep.sigmas
    for steps, ci, style, label in ((sweep.closed_steps, sweep.closed_steps_ci, "o-", "closed loop"),
                                    (sweep.open_steps, sweep.open_steps_ci, "s--", "open loop")):
        if ci is None:
            axes[0].plot(x, steps, style, label=label)
        else:   # 95 % bootstrap intervals over seeds
            yerr = np.abs(np.vstack([steps - ci[:, 0], ci[:, 1] - steps]))
            axes[0].errorbar(x, steps, yerr=yerr, fmt=style, capsize=3, label=label)
    axes[0].set_ylabel(f"steps (last {sweep.params.get('tail', '')} episodes, 95 % CI)")
    axes[1].plot(x, sweep.closed_error, "o-", label="closed loop")
    axes[1].plot(x, sweep.open_error, "s--", label="open loop")
    axes[1].set_ylabel("value-map RMS error")
    for ax in axes:
        ax.set_xlabel("write noise sigma (% of range)")
        ax.legend()
    fig.tight_layout()
    return save_figure(fig, path)


def plot_sweep(sweep, path: str | Path) -> Path:
    """Final steps per grid point of :func:`neuroflow.rl.sweep.maze_sweep`: one panel per device, learning rate
    on the x-axis, one line per temperature, 95 % bootstrap intervals over seeds."""
    from neuroflow.rl.sweep import SweepResult

    _expect(sweep, SweepResult, "sweep")
    plt = pyplot()
    devices = list(dict.fromkeys(d for _, _, d in sweep.points))
    temps = sorted({t for _, t, _ in sweep.points})
    fig, axes = plt.subplots(1, len(devices), figsize=(4.5 * len(devices), 3.8), squeeze=False, sharey=True)
    for ax, dev in zip(axes[0], devices):
        for t in temps:
            idx = [k for k, (_, tk, dk) in enumerate(sweep.points) if tk == t and dk == dev]
            a = np.array([sweep.points[k][0] for k in idx])
            f, ci = sweep.final_steps[idx], sweep.final_steps_ci95[idx]
            order = np.argsort(a)
            yerr = np.abs(np.vstack([f - ci[:, 0], ci[:, 1] - f]))[:, order]
            ax.errorbar(a[order], f[order], yerr=yerr, fmt="o-", capsize=3, label=f"T = {t:g}")
        ax.set_title(f"device: {dev}")
        ax.set_xlabel("learning rate alpha")
        ax.legend(fontsize=8)
    axes[0, 0].set_ylabel(f"steps, mean of the last {sweep.params.get('tail', '')} episodes (95 % CI)")
    fig.tight_layout()
    return save_figure(fig, path)
