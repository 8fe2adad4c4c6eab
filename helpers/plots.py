"""The book's figures, in one shared style; each function returns its Figure."""

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from helpers.problems import Problem

#: Colour-blind-safe palette (seaborn's "colorblind", after Okabe and Ito).
PALETTE = sns.color_palette("colorblind")

_RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "legend.title_fontsize": 10,
}


@contextlib.contextmanager
def book_style() -> Iterator[None]:
    """The style shared by every figure of the book: white grid, colour-blind palette."""
    # Save and restore only the keys set here: matplotlib's rc_context restores every
    # setting, which in Jupyter stops figures after the first from being displayed.
    saved = {key: mpl.rcParams[key] for key in _RC}
    with sns.axes_style("whitegrid"), sns.color_palette(PALETTE):
        mpl.rcParams.update(_RC)
        try:
            yield
        finally:
            mpl.rcParams.update(saved)


def plot_problems(problems: Sequence[Problem], titles: Sequence[str] | None = None) -> Figure:
    """Scatter plots of the problems side by side on shared axes, coloured by class."""
    problems = list(problems)
    if not problems or not all(isinstance(p, Problem) for p in problems):
        raise TypeError("problems must be a non-empty sequence of Problem")
    titles = [f"Problem (seed {p.seed})" for p in problems] if titles is None else list(titles)
    if len(titles) != len(problems):
        raise ValueError(f"titles must have one entry per problem: {len(titles)} for {len(problems)}")

    with book_style():
        fig, axes = plt.subplots(
            1,
            len(problems),
            figsize=(5 * len(problems), 4.6),
            sharex=True,
            sharey=True,
            squeeze=False,
            layout="constrained",
        )
        for ax, problem, title in zip(axes[0], problems, titles, strict=True):
            for split, X, labels, marker in (
                ("train", problem.X_train, problem.labels_train, "o"),
                ("test", problem.X_test, problem.labels_test, "^"),
            ):
                for k in range(problem.n_classes):
                    rows = labels == k
                    ax.scatter(
                        X[rows, 0],
                        X[rows, 1],
                        s=12,
                        alpha=0.6,
                        marker=marker,
                        color=PALETTE[k],
                        label=f"class {k} ({split})",
                    )
            ax.scatter(
                problem.centers[:, 0],
                problem.centers[:, 1],
                marker="X",
                s=140,
                color="black",
                edgecolor="white",
                label="class centre",
            )
            ax.set_title(title)
            ax.set_xlabel("feature $x_1$ (arbitrary units)")
        axes[0, 0].set_ylabel("feature $x_2$ (arbitrary units)")
        axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return fig


def plot_learning_curves(histories: Mapping[str, pd.DataFrame]) -> Figure:
    """Loss and accuracy per epoch, train (solid) and test (dashed), one colour per model."""
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError("histories must be a non-empty mapping of label to history DataFrame")
    if len(histories) > len(PALETTE):
        raise ValueError(f"at most {len(PALETTE)} histories, got {len(histories)}: colours would repeat")
    needed = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    for label, frame in histories.items():
        if not isinstance(frame, pd.DataFrame) or not needed <= set(frame.columns):
            raise ValueError(
                f"history {label!r} must be a DataFrame with columns {sorted(needed)} "
                "(fit with validation data)"
            )

    with book_style():
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True, layout="constrained")
        for colour, (label, frame) in zip(PALETTE, histories.items(), strict=False):
            for ax, metric in ((ax_loss, "loss"), (ax_acc, "accuracy")):
                ax.plot(frame["epoch"], frame[metric], color=colour, label=f"{label}, train")
                ax.plot(
                    frame["epoch"],
                    frame[f"val_{metric}"],
                    color=colour,
                    linestyle="--",
                    label=f"{label}, test",
                )
        ax_loss.set(title="Loss", xlabel="epoch", ylabel="cross-entropy (nats)")
        ax_acc.set(title="Accuracy", xlabel="epoch", ylabel="accuracy (fraction correct)")
        ax_acc.legend(loc="lower right")
    return fig


def plot_stacked_kernels(kernels: Sequence[np.ndarray], title: str = "") -> Figure:
    """One layer's kernels of R replicas drawn as a stack of cards: the (R, inputs, units) tensor."""
    kernels = [np.asarray(k) for k in kernels]
    if not kernels or any(k.ndim != 2 or k.shape != kernels[0].shape for k in kernels):
        raise ValueError("kernels must be a non-empty sequence of 2-D arrays of one shape")
    n_in, n_out = kernels[0].shape
    limit = max(float(np.abs(k).max()) for k in kernels) or 1.0
    step = 0.35
    with book_style():
        fig, ax = plt.subplots(figsize=(6.2, 4.2), layout="constrained")
        for r in reversed(range(len(kernels))):
            x0, y0 = r * step * 2, r * step
            image = ax.imshow(
                kernels[r], cmap="PuOr", vmin=-limit, vmax=limit, zorder=len(kernels) - r,
                extent=(x0, x0 + n_out, y0, y0 + n_in), origin="lower",
            )  # fmt: skip
            ax.add_patch(
                plt.Rectangle(
                    (x0, y0), n_out, n_in, fill=False, color="black", lw=1.2, zorder=len(kernels) - r
                )
            )
            ax.text(x0 + n_out + 0.1, y0 + n_in, f"replica {r}", fontsize=9, va="center", zorder=50)
        ax.set_xlim(-0.3, n_out + 2 * step * len(kernels) + 1.6)
        ax.set_ylim(-0.3, n_in + step * len(kernels) + 0.3)
        ax.set_xlabel("unit of the layer (columns of the kernel)")
        ax.set_ylabel("input feature (rows)")
        ax.set_xticks(np.arange(n_out) + 0.5, [str(j) for j in range(n_out)])
        ax.set_yticks(np.arange(n_in) + 0.5, [str(i) for i in range(n_in)])
        ax.grid(False)
        ax.set_title(
            title or f"{len(kernels)} kernels stacked: a tensor of shape ({len(kernels)}, {n_in}, {n_out})"
        )
        fig.colorbar(image, ax=ax, label="weight value", shrink=0.8)
    return fig


def plot_distributions(
    scores: pd.DataFrame,
    value: str = "test_accuracy",
    by: str = "condition",
    reference: Mapping[str, float] | None = None,
    reference_label: str = "tutorial's mean",
) -> Figure:
    """Box plots of ``value`` per group with every repeat drawn as a point; optional reference marks."""
    if not isinstance(scores, pd.DataFrame) or not {value, by} <= set(scores.columns) or scores.empty:
        raise ValueError(f"scores must be a non-empty DataFrame with columns {by!r} and {value!r}")
    order = list(dict.fromkeys(scores[by]))
    with book_style():
        fig, ax = plt.subplots(figsize=(8, 4.6), layout="constrained")
        groups = [scores.loc[scores[by] == name, value] for name in order]
        boxes = ax.boxplot(
            groups, positions=range(len(order)), widths=0.55, showfliers=False, patch_artist=True
        )
        for patch, colour in zip(boxes["boxes"], PALETTE, strict=False):
            patch.set(facecolor=colour, alpha=0.45)
        sns.stripplot(
            data=scores, x=by, y=value, order=order, color="0.15", size=3, alpha=0.55, jitter=0.18, ax=ax
        )
        if reference:
            positions = [order.index(name) for name in reference if name in order]
            values = [reference[name] for name in reference if name in order]
            ax.scatter(positions, values, marker="D", s=60, color="white", edgecolor="black", zorder=5,
                       label=reference_label)  # fmt: skip
            ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)  # above: never over a point
        ax.set_xticks(range(len(order)), order)
        ax.set_xlabel(by)
        ax.set_ylabel(f"{value.replace('_', ' ')} (fraction correct)")
    return fig


def plot_curve_bands(
    band: pd.DataFrame, by: str = "condition", ylabel: str = "test accuracy (fraction correct)"
):
    """Mean curve per group against epoch with its confidence band (from ``stats.curve_band``)."""
    needed = {by, "epoch", "mean", "ci_low", "ci_high"}
    if not isinstance(band, pd.DataFrame) or not needed <= set(band.columns) or band.empty:
        raise ValueError(f"band must be a non-empty DataFrame with columns {sorted(needed)}")
    with book_style():
        fig, ax = plt.subplots(figsize=(8, 4.6), layout="constrained")
        for colour, (name, group) in zip(PALETTE, band.groupby(by, sort=False), strict=False):
            ax.plot(group["epoch"], group["mean"], color=colour, label=name)
            ax.fill_between(group["epoch"], group["ci_low"], group["ci_high"], color=colour, alpha=0.25, lw=0)
        ax.set(xlabel="epoch", ylabel=ylabel)
        ax.legend(title=by, loc="lower right")
    return fig


#: Yosinski et al.'s colours in spirit: blues for layers from B itself, warm for layers from A.
_VARIANT_STYLE = {
    "baseB": {"color": "white", "marker": "o"},
    "BnB": {"color": PALETTE[0], "marker": "o"},
    "BnB+": {"color": PALETTE[9], "marker": "D"},
    "AnB": {"color": PALETTE[3], "marker": "o"},
    "AnB+": {"color": PALETTE[6], "marker": "D"},
}


def _error_bars(summary: pd.DataFrame) -> list:
    """Matplotlib's yerr for means with their intervals: the distances down and up."""
    return [summary["mean"] - summary["ci_low"], summary["ci_high"] - summary["mean"]]


def plot_layer_sweeps(panels: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]]) -> Figure:
    """Accuracy against the number n of copied layers, one panel per network, in the style of
    Yosinski et al. (2014): every network as a faint point, each variant's mean with its interval.

    ``panels`` maps a title to (scores with variant, n_copied, test_accuracy; summary indexed by
    (n_copied, variant) with mean, ci_low, ci_high).
    """
    if not panels:
        raise ValueError("panels must map at least one title to (scores, summary)")
    offsets = {"baseB": 0.0, "BnB": -0.24, "BnB+": -0.08, "AnB": 0.08, "AnB+": 0.24}
    with book_style():
        fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.4), layout="constrained",
                                 sharey=True, squeeze=False)  # fmt: skip
        rng = np.random.default_rng(0)  # jitter only
        for ax, (title, (scores, summary)) in zip(axes[0], panels.items(), strict=True):
            if not {"variant", "n_copied", "test_accuracy"} <= set(scores.columns):
                raise ValueError("scores need the columns variant, n_copied and test_accuracy")
            base = summary.xs("baseB", level="variant")
            for variant, style in _VARIANT_STYLE.items():
                points = scores[scores["variant"] == variant]
                x = points["n_copied"] + offsets[variant] + rng.uniform(-0.05, 0.05, len(points))
                ax.scatter(x, points["test_accuracy"], s=5, alpha=0.25, color=style["color"],
                           edgecolor="0.3" if variant == "baseB" else "none", linewidth=0.3)  # fmt: skip
                if variant == "baseB":
                    continue
                means = pd.concat([base, summary.xs(variant, level="variant")]).sort_index()
                x = means.index + np.where(means.index > 0, offsets[variant], 0)
                ax.errorbar(
                    x, means["mean"], yerr=_error_bars(means), color=style["color"], marker=style["marker"],
                    markersize=6, capsize=3, markeredgecolor="black", markeredgewidth=0.5, label=variant,
                )  # fmt: skip
            ax.errorbar(
                [0], base["mean"], yerr=_error_bars(base), color="black", marker="o", markerfacecolor="white",
                markersize=8, capsize=3, linestyle="none", label="baseB", zorder=5,
            )  # fmt: skip
            # Zoom on the means: stalled networks far below would squash them into a line.
            low = summary["ci_low"].min() - 0.04
            hidden = int((scores["test_accuracy"] < low).sum())
            ax.set_ylim(low, max(summary["ci_high"].max(), scores["test_accuracy"].quantile(0.99)) + 0.01)
            ax.text(0.98, 0.02, f"{hidden} of {len(scores)} networks below {low:.2f}, off the plot",
                    transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="0.35")  # fmt: skip
            ax.set_xticks(sorted(scores["n_copied"].unique()))
            ax.set(title=title, xlabel="n: hidden layers copied from the source")
        axes[0, 0].set_ylabel("test accuracy on B (fraction correct)")
        axes[0, -1].legend(loc="lower left", bbox_to_anchor=(0, 0.06), ncols=3)
    return fig


def plot_size_sweep(summary: pd.DataFrame, gains: Mapping[str, pd.DataFrame]) -> Figure:
    """Left: mean accuracy per condition against training-set size, with its band; right: each
    transfer condition's gain over standalone with its band, and the zero line.

    ``summary`` is indexed by (n_train, condition) with mean, ci_low, ci_high; each frame of
    ``gains`` is indexed by n_train with mean_difference, difference_ci_low, difference_ci_high.
    """
    with book_style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
        conditions = list(dict.fromkeys(summary.index.get_level_values("condition")))
        colours = dict(zip(conditions, PALETTE, strict=False))
        for condition in conditions:
            rows = summary.xs(condition, level="condition")
            left.plot(rows.index, rows["mean"], marker="o", color=colours[condition], label=condition)
            left.fill_between(
                rows.index, rows["ci_low"], rows["ci_high"], color=colours[condition], alpha=0.2, lw=0
            )
        for condition, gain in gains.items():
            colour = colours.get(condition, PALETTE[len(colours) % len(PALETTE)])
            right.plot(
                gain.index,
                gain["mean_difference"],
                marker="o",
                color=colour,
                label=f"{condition} minus standalone",
            )
            right.fill_between(gain.index, gain["difference_ci_low"], gain["difference_ci_high"],
                               color=colour, alpha=0.2, lw=0)  # fmt: skip
        right.axhline(0, color="black", lw=0.8)
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_xticks(sorted(summary.index.get_level_values("n_train").unique()))
            ax.xaxis.set_major_formatter(mpl.ticker.ScalarFormatter())
            ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
            ax.set_xlabel("training examples of the target (log scale)")
            ax.legend(loc="lower right" if ax is left else "best")
        left.set_ylabel("mean test accuracy (fraction correct)")
        right.set_ylabel("gain in mean test accuracy")
    return fig


def plot_relationships(
    points: pd.DataFrame,
    y: str,
    panels: Mapping[str, object],
    flagged: str | None = None,
    ylabel: str = "gain over standalone",
) -> Figure:
    """``y`` against each measure of ``panels`` (column -> its stats.LineFit), one panel each:
    every point, the fitted line with its band, and the rows where ``flagged`` is true in red."""
    needed = {y, *panels} | ({flagged} if flagged else set())
    if not isinstance(points, pd.DataFrame) or not needed <= set(points.columns) or points.empty:
        raise ValueError(f"points must be a non-empty DataFrame with columns {sorted(needed)}")
    with book_style():
        fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels), 4.2), layout="constrained",
                                 sharey=True, squeeze=False)  # fmt: skip
        for ax, (column, fit) in zip(axes[0], panels.items(), strict=True):
            marked = points[flagged].astype(bool) if flagged else pd.Series(False, index=points.index)
            ax.scatter(points.loc[~marked, column], points.loc[~marked, y], s=14, color=PALETTE[0], alpha=0.7)
            if marked.any():
                ax.scatter(points.loc[marked, column], points.loc[marked, y], s=30, color=PALETTE[3],
                           edgecolor="black", linewidth=0.5, label=flagged.replace("_", " "),
                           zorder=4)  # fmt: skip
                ax.legend(loc="lower right")
            ax.plot(fit.band["x"], fit.band["fit"], color="black", lw=1.2)
            ax.fill_between(
                fit.band["x"], fit.band["ci_low"], fit.band["ci_high"], color="0.5", alpha=0.25, lw=0
            )
            ax.axhline(0, color="black", lw=0.6, ls=":")
            ax.set_xlabel(column.replace("_", " "))
        axes[0, 0].set_ylabel(ylabel)
    return fig
