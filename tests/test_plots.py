import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from helpers.plots import (
    PALETTE,
    plot_curve_bands,
    plot_distributions,
    plot_layer_sweeps,
    plot_learning_curves,
    plot_problems,
    plot_relationships,
    plot_size_sweep,
    plot_stacked_kernels,
)
from helpers.stats import compare_within, fit_line, summarize_within


def history(n=4, offset=0.0):
    return pd.DataFrame(
        {
            "epoch": range(1, n + 1),
            "loss": [1.0 - 0.1 * i + offset for i in range(n)],
            "accuracy": [0.5 + 0.1 * i for i in range(n)],
            "val_loss": [1.1 - 0.1 * i for i in range(n)],
            "val_accuracy": [0.4 + 0.1 * i for i in range(n)],
        }
    )


def test_plot_problems_side_by_side_on_shared_axes(problem1, problem2):
    fig = plot_problems([problem1, problem2], titles=["Problem 1", "Problem 2"])
    assert isinstance(fig, Figure)
    left, right = fig.axes
    assert left.get_shared_x_axes().joined(left, right)
    assert left.get_shared_y_axes().joined(left, right)
    assert [ax.get_title() for ax in fig.axes] == ["Problem 1", "Problem 2"]
    assert left.get_xlabel() and left.get_ylabel()
    # three classes in train and test, plus the centres: seven collections per panel
    assert len(left.collections) == 7
    # each class has its own colour from the colour-blind palette
    colours = {tuple(c.get_facecolor()[0][:3]) for c in left.collections[:3]}
    assert colours == {tuple(PALETTE[k]) for k in range(3)}
    _, labels = right.get_legend_handles_labels()
    assert "class centre" in labels and "class 0 (train)" in labels


def test_plot_problems_default_titles(problem1):
    fig = plot_problems([problem1])
    assert fig.axes[0].get_title() == "Problem (seed 1)"


def test_plot_problems_bad_input(problem1):
    with pytest.raises(TypeError, match="non-empty sequence of Problem"):
        plot_problems([])
    with pytest.raises(TypeError, match="non-empty sequence of Problem"):
        plot_problems(["p"])
    with pytest.raises(ValueError, match="one entry per problem: 2 for 1"):
        plot_problems([problem1], titles=["a", "b"])


def test_plot_learning_curves():
    fig = plot_learning_curves({"standalone": history(), "transfer": history(offset=0.2)})
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "cross-entropy (nats)"
    assert acc_ax.get_ylabel() == "accuracy (fraction correct)"
    assert loss_ax.get_xlabel() == acc_ax.get_xlabel() == "epoch"
    assert len(loss_ax.lines) == len(acc_ax.lines) == 4
    labels = acc_ax.get_legend().get_texts()
    assert [t.get_text() for t in labels] == [
        "standalone, train",
        "standalone, test",
        "transfer, train",
        "transfer, test",
    ]
    assert [line.get_linestyle() for line in acc_ax.lines] == ["-", "--", "-", "--"]
    assert acc_ax.lines[0].get_color() != acc_ax.lines[2].get_color()


def test_plot_learning_curves_bad_input():
    with pytest.raises(TypeError, match="non-empty mapping"):
        plot_learning_curves({})
    with pytest.raises(ValueError, match="at most 10 histories, got 11"):
        plot_learning_curves({str(i): history() for i in range(11)})
    with pytest.raises(ValueError, match="'a' must be a DataFrame with columns"):
        plot_learning_curves({"a": history().drop(columns="val_loss")})


def test_plot_stacked_kernels():
    kernels = [np.full((2, 5), k - 1.5) for k in range(4)]
    fig = plot_stacked_kernels(kernels)
    ax = fig.axes[0]
    assert len(ax.images) == 4
    assert ax.get_title() == "4 kernels stacked: a tensor of shape (4, 2, 5)"
    assert [t.get_text() for t in ax.texts] == [f"replica {r}" for r in (3, 2, 1, 0)]
    assert ax.get_xlabel() and ax.get_ylabel()
    assert fig.axes[1].get_ylabel() == "weight value"  # the colour bar
    # colour limits are symmetric around zero, so zero is the neutral colour
    assert ax.images[0].get_clim() == (-1.5, 1.5)


def test_plot_stacked_kernels_bad_input():
    with pytest.raises(ValueError, match="non-empty sequence of 2-D arrays"):
        plot_stacked_kernels([])
    with pytest.raises(ValueError, match="of one shape"):
        plot_stacked_kernels([np.zeros((2, 5)), np.zeros((5, 5))])


def scores_frame():
    return pd.DataFrame(
        {
            "condition": ["standalone"] * 4 + ["fixed=1"] * 4,
            "test_accuracy": [0.5, 0.8, 0.82, 0.79, 0.81, 0.82, 0.8, 0.83],
        }
    )


def test_plot_distributions_shows_every_point_and_the_reference():
    fig = plot_distributions(
        scores_frame(), reference={"standalone": 0.787, "fixed=1": 0.817, "fixed=9": 0.1}
    )
    ax = fig.axes[0]
    points = sum(len(c.get_offsets()) for c in ax.collections[:-1])
    assert points == 8
    assert [t.get_text() for t in ax.get_xticklabels()] == ["standalone", "fixed=1"]
    reference = ax.collections[-1].get_offsets()
    assert reference.tolist() == [[0.0, 0.787], [1.0, 0.817]]
    assert ax.get_legend().get_texts()[0].get_text() == "tutorial's mean"
    assert ax.get_ylabel() == "test accuracy (fraction correct)"


def test_plot_curve_bands():
    band = pd.DataFrame(
        {"condition": ["a", "a", "b", "b"], "epoch": [1, 2, 1, 2], "mean": [0.5, 0.6, 0.4, 0.7],
         "ci_low": [0.45, 0.55, 0.35, 0.65], "ci_high": [0.55, 0.65, 0.45, 0.75]}
    )  # fmt: skip
    fig = plot_curve_bands(band)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and len(ax.collections) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]


def test_distribution_and_band_plots_bad_input():
    with pytest.raises(ValueError, match="non-empty DataFrame with columns 'condition' and 'test_accuracy'"):
        plot_distributions(pd.DataFrame({"condition": []}))
    with pytest.raises(ValueError, match="non-empty DataFrame with columns"):
        plot_curve_bands(pd.DataFrame({"epoch": [1]}))


def test_every_figure_of_a_notebook_is_displayed():
    """In Jupyter, a second and third figure must show too (a global rc reset once hid them)."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    cells = [
        "import helpers, pandas as pd\nfrom helpers.plots import plot_distributions\n"
        "df = pd.DataFrame({'condition': list('aabb'), 'test_accuracy': [0.5, 0.6, 0.7, 0.8]})\n"
        "fig = plot_distributions(df)",
        "fig = plot_distributions(df)",
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    for cell in notebook.cells:
        assert any("image/png" in output.get("data", {}) for output in cell.outputs), cell.source


def layer_scores(rng):
    rows = [("baseB", 0)] + [(v, n) for v in ("AnB", "AnB+", "BnB", "BnB+") for n in (1, 2)]
    return pd.DataFrame(
        [
            {"variant": v, "n_copied": n, "test_accuracy": 0.8 + rng.normal(0, 0.02)}
            for v, n in rows
            for _ in range(5)
        ]
        + [{"variant": "AnB", "n_copied": 2, "test_accuracy": 0.3}]  # a stalled network, off the plot
    )


def test_plot_layer_sweeps_draws_each_variant_and_counts_hidden_points():
    scores = layer_scores(np.random.default_rng(0))
    summary = summarize_within(scores, "n_copied", by="variant")
    fig = plot_layer_sweeps({"a": (scores, summary), "b": (scores, summary)})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    labels = fig.axes[1].get_legend_handles_labels()[1]
    assert sorted(labels) == sorted(["BnB", "BnB+", "AnB", "AnB+", "baseB"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == [f"1 of {len(scores)} networks below {fig.axes[0].get_ylim()[0]:.2f}, off the plot"]
    with pytest.raises(ValueError, match="at least one"):
        plot_layer_sweeps({})
    with pytest.raises(ValueError, match="n_copied"):
        plot_layer_sweeps({"a": (scores.drop(columns="n_copied"), summary)})


def test_plot_size_sweep_has_accuracy_and_gain_panels():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(
        [{"n_train": n, "condition": c, "test_accuracy": rng.uniform(0.5, 0.9)}
         for n in (10, 100) for c in ("standalone", "fixed=0") for _ in range(6)]
    )  # fmt: skip
    gains = {"fixed=0": compare_within(scores, "n_train", "fixed=0", "standalone")}
    fig = plot_size_sweep(summarize_within(scores, "n_train"), gains)
    left, right = fig.axes
    assert [line.get_label() for line in left.get_lines()] == ["standalone", "fixed=0"]
    assert right.get_lines()[0].get_label() == "fixed=0 minus standalone"
    assert np.allclose(right.get_lines()[0].get_ydata(), gains["fixed=0"]["mean_difference"])
    assert left.get_xscale() == "log"


def test_plot_relationships_marks_flagged_points():
    rng = np.random.default_rng(0)
    points = pd.DataFrame({"d": rng.uniform(0, 10, 30), "gain": rng.normal(0, 0.01, 30)})
    points["negative_transfer"] = points["gain"] < points["gain"].quantile(0.2)
    fig = plot_relationships(
        points, "gain", {"d": fit_line(points["d"], points["gain"])}, flagged="negative_transfer"
    )
    ax = fig.axes[0]
    sizes = [len(collection.get_offsets()) for collection in ax.collections if collection.get_offsets().size]
    assert int(points["negative_transfer"].sum()) in sizes and (~points["negative_transfer"]).sum() in sizes
    assert ax.get_xlabel() == "d"
    with pytest.raises(ValueError, match="columns"):
        plot_relationships(points, "missing", {"d": None})
