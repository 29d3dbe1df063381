"""Figures for Expand-and-Cluster: dendrogram with the chosen cut, recovered vs teacher weights, and
success along the difficulty axis of a suite."""
from __future__ import annotations

import numpy as np

from neuroflow._utils import pyplot, save_figure


def plot_dendrogram(result, path, ax=None, title: str = "students' neurons"):
    """Average-linkage dendrogram of one layer's clustering with the chosen cut (hierarchical only).

    Merge heights are angles in degrees on a symmetric-log axis: clusters of shared neurons merge at tiny
    angles (often below 1e-4 deg) and leftovers at tens of degrees, so on a linear axis the cut would lie on
    the axis itself."""
    from scipy.cluster.hierarchy import dendrogram

    plt = pyplot()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 3.5))
    if result.linkage is None:
        ax.text(0.5, 0.5, f"{result.method}: no dendrogram", ha="center", va="center", transform=ax.transAxes)
    else:
        Z = np.array(result.linkage, dtype=float, copy=True)
        Z[:, 2] = np.degrees(Z[:, 2])
        cut = float(np.degrees(result.cut_height))
        dendrogram(Z, ax=ax, no_labels=True, color_threshold=cut * (1 + 1e-9) + 1e-15, above_threshold_color="0.6")
        positive = Z[:, 2][Z[:, 2] > 0]
        ax.set_yscale("symlog", linthresh=float(max(min(positive.min(initial=1.0), max(cut, 1e-12)), 1e-12)))
        ax.axhline(cut, color="crimson", ls="--", lw=1.2,
                   label=f"cut at {cut:.2g} deg: {result.size} clusters kept")
        ax.legend(loc="upper left", fontsize=8)
        ax.set_ylabel("merge angle (deg, symlog scale)")
        ax.set_xlabel(f"{Z.shape[0] + 1} student neurons")
    ax.set_title(title)
    if fig is not None:
        return save_figure(fig, path)
    return None


def _aligned_pairs(teacher_u, recovered_u, matching, activation):
    from neuroflow.identify.symmetry import uses_sign

    t, r = [], []
    for j, m in enumerate(matching):
        if m < 0:
            continue
        tv, rv = teacher_u[j], recovered_u[m]
        if activation == "relu":
            rv = rv * np.linalg.norm(tv) / max(np.linalg.norm(rv), 1e-300)
        if uses_sign(activation) and float(tv @ rv) < 0:
            rv = -rv
        t.append(tv)
        r.append(rv)
    return np.array(t).ravel(), np.array(r).ravel()


def plot_weights(estimator, teacher, path, report=None):
    """Per hidden layer: recovered vs teacher incoming weights (and biases), sign/scale-aligned by the
    report's matching (a deeper layer over the teacher's units of the layer below, when that one was fully
    matched), next to the dendrogram of that layer's clustering."""
    from neuroflow.identify.report import _common_basis

    plt = pyplot()
    report = report or estimator.report(teacher)
    act = estimator.activation
    n = len(report.layers)
    fig, axes = plt.subplots(n, 2, figsize=(11, 4 * n), gridspec_kw={"width_ratios": [1, 1.6]}, squeeze=False)
    for l, lay in enumerate(report.layers):
        ax = axes[l, 0]
        t_u = teacher.incoming(l) if l < len(teacher.hidden_sizes) else None
        r_u = estimator.incoming(l) if l < len(estimator.layer_sizes_) else None
        prev = report.layers[l - 1] if l > 0 else None
        t = r = np.zeros(0)
        if t_u is not None and r_u is not None and (prev is None or prev.missing == 0):
            if prev is not None:
                t_u, r_u = _common_basis(t_u, r_u, (teacher.incoming(l - 1), estimator.incoming(l - 1),
                                                    prev.matching), act, None)
            t, r = _aligned_pairs(t_u, r_u, lay.matching, act)
        if t.size:
            lim = 1.1 * max(np.abs(t).max(), np.abs(r).max())
            ax.plot([-lim, lim], [-lim, lim], color="0.7", lw=1, label="recovered = teacher")
            ax.scatter(t, r, s=18, color="tab:blue", label="weights and biases of matched neurons")
            ax.legend(fontsize=7, loc="upper left")
        else:
            ax.text(0.5, 0.5, "no common basis\n(the layer below was not fully matched)", ha="center",
                    va="center", transform=ax.transAxes, fontsize=9)
        ax.set_xlabel("teacher weight")
        ax.set_ylabel("recovered weight")
        ax.set_title(f"hidden layer {l + 1}: {lay.recovered_size} recovered / {lay.teacher_size} teacher neurons\n"
                     f"max matched angle {np.nanmax(np.asarray(lay.matched_angle_deg, float), initial=np.nan):.2g}"
                     f" deg" + (f", rel. MSE {report.functional_rel_mse:.1e}" if l == 0 else ""), fontsize=9)
        if l < len(estimator.clusters_):
            plot_dendrogram(estimator.clusters_[l], None, ax=axes[l, 1],
                            title=f"hidden layer {l + 1}: clustering of the students' neurons")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_difficulty(rows, path):
    """Along the difficulty score: exact size after reconstruction (0/1, jittered, with binned rates),
    and the clustering rule's own overhead before least-squares elimination and pruning."""
    from neuroflow.identify.bench import summarize

    plt = pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
    rng = np.random.default_rng(0)
    acts = sorted({r.get("activation", "?") for r in rows})
    for a in acts:
        # a failed problem's row may lack its difficulty and sizes (rows read back by bench.read_rows)
        sel = [r for r in rows if r.get("activation") == a and "difficulty" in r and "teacher_sizes" in r]
        diff = [r["difficulty"] for r in sel]
        ax.scatter(diff, [float(bool(r.get("exact_size"))) + rng.uniform(-0.06, 0.06) for r in sel], s=12,
                   alpha=0.7, label=a)
        over = [100.0 * max((c - t) / t for c, t in zip(r.get("cluster_sizes") or [np.nan], r["teacher_sizes"]))
                for r in sel]
        ax2.scatter(diff, over, s=12, alpha=0.7, label=a)
    for b in summarize(rows).get("difficulty_bins", []):
        ax.plot([b["difficulty_lo"], b["difficulty_hi"]], [b["exact_size_rate"]] * 2, color="k", lw=2)
    label = "difficulty (log10 params/probe + |log2 scale| + 2 alignment + log2 width)"
    ax.set_xlabel(label, fontsize=8)
    ax.set_ylabel("exact size recovered")
    ax.set_ylim(-0.15, 1.15)
    ax.legend(fontsize=7, ncol=3, loc="center left")
    ax.set_title(f"after reconstruction, {len(rows)} problems (black: rate per bin)", fontsize=10)
    ax2.axhline(10, color="crimson", ls="--", lw=1)
    ax2.set_xlabel(label, fontsize=8)
    ax2.set_ylabel("overhead of the clustering alone (%)")
    ax2.set_title("clusters found (gamma, beta rules) before elimination/pruning", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_features(rows, path):
    """Recovery against each problem feature of a suite (input dimension, width, first-layer width per input,
    probes per parameter, activation): the share of problems recovered at the exact size (bars) and with every
    neuron within 1 deg and functional relative MSE <= 1e-8 (dots); the number of problems above each bar."""
    from neuroflow.identify.report import recovery_by_feature

    plt = pyplot()
    table = recovery_by_feature(rows)["by_feature"]
    labels = {"input_dim": "input dimension", "width": "hidden width", "width_per_input": "first width / input dim.",
              "probes_per_parameter": "probes per parameter", "activation": "activation"}
    fig, axes = plt.subplots(1, len(table), figsize=(4 * len(table), 3.6), sharey=True)
    for ax, (feature, entries) in zip(np.atleast_1d(axes), table.items()):
        x = np.arange(len(entries))
        ax.bar(x, [e["exact_size_rate"] for e in entries], color="tab:blue", alpha=0.7, label="exact size")
        ax.plot(x, [e["exact_within_1deg_mse_1e-8_rate"] for e in entries], "o", color="k",
                label="exact, all within 1 deg, rel. MSE <= 1e-8")
        for xi, e in zip(x, entries):
            ax.text(xi, 1.02, f"n={e['n']}", ha="center", fontsize=7)
        ax.set_xticks(x, [str(e["value"]) for e in entries], rotation=45 if feature == "activation" else 0,
                      fontsize=8)
        ax.set_xlabel(labels.get(feature, feature))
        ax.set_ylim(0, 1.12)
    np.atleast_1d(axes)[0].set_ylabel("share of problems")
    handles, names = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=8, loc="lower center", ncol=2, frameon=False)
    fig.suptitle(f"recovery against problem features ({len(rows)} problems)", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return save_figure(fig, path)
