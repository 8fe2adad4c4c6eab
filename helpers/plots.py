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
