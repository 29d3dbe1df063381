"""Figures of a ``train`` run: loss and gradient norm through both phases (with a baseline such as Adam
beside them), and, for a teacher-student run, the cosines between teacher and student units.

Used by ``neuroflow flow train --plot``, ``neuroflow flow gaussian --plot``, the demo and the examples.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neuroflow._utils import check_array, pyplot, save_figure

__all__ = ["plot_train"]

_PHASES = ((1, "tab:blue", "ODE ({})"), (2, "tab:red", "polish ({})"))


def plot_train(result, path=None, *, baseline=None, cosines=None, title: str = ""):
    """Loss and gradient inf-norm against wall time, coloured by phase; optionally a baseline's loss
    and a teacher-student cosine matrix.

    Parameters
    ----------
    result : TrainResult
    path : str or Path, optional
        Where to save the figure (the format follows the suffix); None returns it unsaved.
    baseline : AdamResult, optional
        Drawn as a grey line in the loss panel (e.g. Adam with the same number of gradient evaluations).
    cosines : array (k, m), optional
        cos(teacher unit i, student unit j), drawn as a third panel.
    title : str
        Title of the loss panel.

    Returns
    -------
    matplotlib.figure.Figure or Path
        The figure, or the path it was saved to.
    """
    from neuroflow.flow.baselines import AdamResult
    from neuroflow.flow.result import TrainResult

    if not isinstance(result, TrainResult):
        raise ValueError(f"result: expected a TrainResult, got {type(result).__name__}")
    if baseline is not None and not isinstance(baseline, AdamResult):
        raise ValueError(f"baseline: expected None or an AdamResult, got {type(baseline).__name__}")
    if cosines is not None:
        cosines = check_array(cosines, "cosines", ndim=2)
    plt = pyplot()
    n = 3 if cosines is not None else 2
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n + 0.6, 3.8),
                             gridspec_kw={"width_ratios": [1.3, 1.3, 1][:n]})
    ax_loss, ax_grad = axes[0], axes[1]
    lc = np.asarray(result.loss_curve, dtype=np.float64).reshape(-1, 4)
    t = np.maximum(lc[:, 0], 1e-4)  # log axis: the first evaluation sits at ~0 s
    zeros = 0
    for phase, colour, label in _PHASES:
        sel = lc[:, 3] == phase
        if sel.any():
            name = label.format(result.method_ode if phase == 1 else result.method_optim)
            # a loss (or gradient) of exactly 0 has no place on a log axis: left out, and counted below
            pos = sel & (lc[:, 1] > 0)
            zeros += int(np.sum(sel & (lc[:, 1] <= 0)))
            ax_loss.loglog(t[pos], lc[pos, 1], ".", ms=3, color=colour, label=name)
            pos = sel & (lc[:, 2] > 0)
            ax_grad.loglog(t[pos], lc[pos, 2], ".", ms=3, color=colour, label=name)
    if zeros:
        ax_loss.plot([], [], " ", label=f"{zeros} evaluations with loss 0 (not drawn)")
    if baseline is not None and len(baseline.loss_curve):
        bc = np.asarray(baseline.loss_curve)
        ax_loss.loglog(np.maximum(bc[:, 0], 1e-4), np.maximum(bc[:, 1], 1e-300), "-", color="grey",
                       label=f"{baseline.method.capitalize()} (lr {baseline.lr:g}), {baseline.iterations} steps")
    min_gnorm = (result.options or {}).get("min_gnorm")
    if min_gnorm:
        ax_grad.axhline(min_gnorm, color="k", ls=":", lw=1, label=f"min_gnorm {min_gnorm:g}")
    ax_loss.set(xlabel="wall time (s)", ylabel="loss", title=title or "gradient flow, then polishing")
    ax_grad.set(xlabel="wall time (s)", ylabel="gradient inf-norm",
                title=f"final gnorm {result.gnorm:.1e} ({'converged' if result.converged else 'not converged'})")
    ax_loss.legend(fontsize=8)
    ax_grad.legend(fontsize=8)
    if cosines is not None:
        cosines = np.asarray(cosines)
        bx = axes[2]
        im = bx.imshow(cosines, vmin=-1, vmax=1, cmap="RdBu_r")
        bx.set(xlabel="student unit", ylabel="teacher unit", title="cos(teacher, student); ±1: matched")
        bx.set_xticks(range(cosines.shape[1]))
        bx.set_yticks(range(cosines.shape[0]))
        fig.colorbar(im, ax=bx, fraction=0.046)
    fig.tight_layout()
    if path is not None:
        return save_figure(fig, Path(path))
    return fig
