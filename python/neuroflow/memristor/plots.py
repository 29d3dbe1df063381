"""Figures of fitted devices: measured cycle-mean SET/RESET curves, the fitted mean responses, and (when given)
the reference fits they should reproduce."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from neuroflow._utils import pyplot, save_figure

__all__ = ["plot_device_fits"]


def plot_device_fits(fits: Sequence, path: str | Path, *, reference: dict | None = None,
                     reference_label: str = "reference fit") -> Path:
    """One panel per fitted device (:class:`~neuroflow.memristor.DeviceFit`): the cycle-mean normalised reads of
    the SET and RESET sweeps (dots), the fitted mean responses (lines) and, for devices named in ``reference``
    (name -> :class:`~neuroflow.memristor.VCMDevice`), the reference responses (dashed black, labelled
    ``reference_label``)."""
    from neuroflow.memristor.device import VCMDevice
    from neuroflow.memristor.fitting import DeviceFit

    # [] was a ZeroDivisionError, one DeviceFit "object of type 'DeviceFit' has no len()", a VCMDevice an
    # AttributeError; reference={"D1": 5} an AttributeError after the figure was drawn
    fits = [fits] if isinstance(fits, DeviceFit) else list(fits) if isinstance(fits, (list, tuple)) else None
    if not fits or not all(isinstance(f, DeviceFit) for f in fits):
        raise ValueError("fits: expected a DeviceFit (fit_device's result) or a non-empty list of them")
    if reference is not None and (not isinstance(reference, dict)
                                  or not all(isinstance(d, VCMDevice) for d in reference.values())):
        raise ValueError("reference: expected a dict of VCMDevices by device name, or None")
    plt = pyplot()
    n = len(fits)
    cols = min(n, 6)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(7.0, 2.6 * cols + 0.6), 2.3 * rows + 1.0), squeeze=False,
                             sharex=True, sharey=True)
    for ax, fit in zip(axes.flat, fits):
        dev = fit.device
        p = np.arange(dev.n_pulses + 1)
        ax.plot(p, fit.mean_curve[0], ".", ms=2, color="tab:blue", alpha=0.5)
        ax.plot(p, fit.mean_curve[1], ".", ms=2, color="tab:orange", alpha=0.5)
        ax.plot(p, dev.set_response(p), color="tab:blue", lw=1.5)
        ax.plot(p, dev.reset_response(p), color="tab:orange", lw=1.5)
        ref = None if reference is None else reference.get(dev.name)
        if ref is not None:
            ax.plot(p, ref.set_response(p), "k--", lw=0.8)
            ax.plot(p, ref.reset_response(p), "k--", lw=0.8)
        ax.set_title(dev.name, fontsize=8)
        ax.tick_params(labelsize=7)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
        elif k + cols >= n:                 # the lowest panel of its column: label its x-axis
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel("pulse coordinate p", fontsize=8)
    handles = [plt.Line2D([], [], ls="", marker=".", color="tab:blue", label="SET reads (mean over cycles)"),
               plt.Line2D([], [], ls="", marker=".", color="tab:orange", label="RESET reads (mean over cycles)"),
               plt.Line2D([], [], color="tab:blue", label="fitted SET response"),
               plt.Line2D([], [], color="tab:orange", label="fitted RESET response")]
    if reference is not None:
        handles.append(plt.Line2D([], [], color="k", ls="--", label=reference_label))
    for ax in axes[:, 0]:
        ax.set_ylabel("(G - G0) / (G1 - G0)", fontsize=8)
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("SET: p pulses from the low state; RESET: p walks down from N (reads of each sweep on its p)",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0.12 if rows == 1 else 0.04, 1, 1))
    return save_figure(fig, path)
