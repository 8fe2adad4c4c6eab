import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from helpers.stats import (
    N_RESAMPLES,
    compare_to,
    compare_within,
    curve_band,
    epochs_to_reach,
    fit_line,
    gain_difference,
    mean_interval,
    spread_ratio,
    summarize,
    summarize_within,
    verdict,
)

A = [0.79, 0.81, 0.80, 0.52, 0.83, 0.78, 0.80, 0.82]
B = [0.84, 0.85, 0.83, 0.86, 0.84, 0.85, 0.82, 0.86]
C = [0.70, 0.76, 0.74, 0.72, 0.75, 0.71, 0.73, 0.77]


@pytest.fixture
def scores():
    return pd.DataFrame(
        {
            "condition": ["a"] * 8 + ["b"] * 8 + ["c"] * 8,
            "test_accuracy": A + B + C,
            "replica": list(range(8)) * 3,
        }
    )


def test_summarize_matches_numpy_and_scipy(scores):
    table = summarize(scores, confidence_level=0.9, seed=3)
    assert list(table.index) == ["a", "b", "c"]
    assert table.loc["a", "n"] == 8
    assert table.loc["a", "mean"] == pytest.approx(np.mean(A))
    assert table.loc["a", "std"] == pytest.approx(np.std(A, ddof=1))
    assert table.loc["a", "median"] == pytest.approx(np.median(A))
    direct = stats.bootstrap(
        (np.array(A),), np.mean, confidence_level=0.9, n_resamples=N_RESAMPLES, method="BCa",
        rng=np.random.default_rng(3),
    )  # fmt: skip
    assert table.loc["a", "ci_low"] == pytest.approx(direct.confidence_interval.low)
    assert table.loc["a", "ci_high"] == pytest.approx(direct.confidence_interval.high)
    assert (table["ci_low"] < table["mean"]).all() and (table["mean"] < table["ci_high"]).all()


def test_interval_of_constant_scores_is_a_point():
    assert mean_interval(np.full(5, 0.8)) == (0.8, 0.8)


def test_wider_confidence_gives_a_wider_interval():
    low90, high90 = mean_interval(np.array(A), 0.90)
    low99, high99 = mean_interval(np.array(A), 0.99)
    assert low99 < low90 and high90 < high99


def test_compare_to_matches_scipy_and_statsmodels(scores):
    table = compare_to(scores, "a", seed=1)
    assert list(table.index) == ["b", "c"]
    p = [stats.mannwhitneyu(B, A).pvalue, stats.mannwhitneyu(C, A).pvalue]
    np.testing.assert_allclose(table["p_value"], p)
    np.testing.assert_allclose(table["p_holm"], multipletests(p, method="holm")[1])
    assert table.loc["b", "u_statistic"] == stats.mannwhitneyu(B, A).statistic
    assert table.loc["b", "mean_difference"] == pytest.approx(np.mean(B) - np.mean(A))


def test_compare_to_without_effect_size(scores):
    full, lean = compare_to(scores, "a"), compare_to(scores, "a", effect_size=False)
    assert "cliffs_delta" not in lean.columns
    pd.testing.assert_frame_equal(lean, full[lean.columns])


def test_cliffs_delta_counts_wins_and_losses(scores):
    table = compare_to(scores, "a")
    for name, values in (("b", B), ("c", C)):
        wins = sum(x > y for x in values for y in A)
        losses = sum(x < y for x in values for y in A)
        assert table.loc[name, "cliffs_delta"] == pytest.approx((wins - losses) / (len(values) * len(A)))
        assert (
            table.loc[name, "delta_ci_low"]
            <= table.loc[name, "cliffs_delta"]
            <= table.loc[name, "delta_ci_high"]
        )


def test_difference_interval_matches_scipy(scores):
    table = compare_to(scores, "a", confidence_level=0.9, seed=2)
    direct = stats.bootstrap(
        (np.array(B), np.array(A)), lambda x, y, axis: x.mean(axis) - y.mean(axis), confidence_level=0.9,
        n_resamples=N_RESAMPLES, method="percentile", vectorized=True, rng=np.random.default_rng(2),
    )  # fmt: skip
    assert table.loc["b", "difference_ci_low"] == pytest.approx(direct.confidence_interval.low)
    assert table.loc["b", "difference_ci_high"] == pytest.approx(direct.confidence_interval.high)


def test_compare_constant_groups():
    frame = pd.DataFrame({"condition": ["a"] * 3 + ["b"] * 3, "test_accuracy": [0.5] * 3 + [0.7] * 3})
    table = compare_to(frame, "a")
    assert table.loc["b", "difference_ci_low"] == pytest.approx(0.2)
    assert table.loc["b", "difference_ci_high"] == pytest.approx(0.2)
    assert table.loc["b", "cliffs_delta"] == 1.0


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.01, 0.05, "holds"),
        (-0.05, -0.01, "does not hold"),
        (-0.01, 0.02, "inconclusive"),
        (0.0, 0.1, "inconclusive"),
    ],
)
def test_verdict(low, high, expected):
    assert verdict(low, high) == expected


def test_verdict_with_threshold_and_bad_interval():
    assert verdict(0.81, 0.83, threshold=0.8) == "holds"
    with pytest.raises(ValueError, match="low <= high"):
        verdict(0.2, 0.1)


def test_curve_band_matches_a_t_interval():
    history = pd.DataFrame(
        {
            "condition": ["a"] * 6,
            "replica": [0, 0, 1, 1, 2, 2],
            "epoch": [1, 2] * 3,
            "val_accuracy": [0.5, 0.6, 0.55, 0.7, 0.45, 0.65],
        }
    )
    band = curve_band(history, confidence_level=0.9)
    assert band["epoch"].tolist() == [1, 2] and band["n"].tolist() == [3, 3]
    values = [0.6, 0.7, 0.65]
    low, high = stats.t.interval(0.9, 2, loc=np.mean(values), scale=stats.sem(values))
    assert band.loc[1, "mean"] == pytest.approx(np.mean(values))
    assert band.loc[1, "ci_low"] == pytest.approx(low) and band.loc[1, "ci_high"] == pytest.approx(high)


def test_epochs_to_reach():
    history = pd.DataFrame(
        {
            "replica": [0, 0, 0, 1, 1, 1],
            "epoch": [1, 2, 3] * 2,
            "val_accuracy": [0.5, 0.8, 0.9, 0.4, 0.5, 0.6],
        }
    )
    first = epochs_to_reach(history, 0.75)
    assert first.loc[0] == 2 and np.isnan(first.loc[1])
    grouped = epochs_to_reach(history.assign(condition=["b"] * 3 + ["a"] * 3), 0.55, by="condition")
    assert grouped.index.tolist() == [("b", 0), ("a", 1)]
    assert grouped.tolist() == [2.0, 3.0]


@pytest.mark.parametrize("level", [0, 1, -0.5, 1.5, "0.95", True])
def test_confidence_level_outside_0_1(scores, level):
    error = TypeError if isinstance(level, str | bool) else ValueError
    for call in (
        lambda: summarize(scores, confidence_level=level),
        lambda: compare_to(scores, "a", confidence_level=level),
        lambda: mean_interval(np.array(A), level),
        lambda: curve_band(scores.assign(epoch=1), metric="test_accuracy", confidence_level=level),
    ):
        with pytest.raises(error, match="confidence_level"):
            call()


def test_empty_scores(scores):
    with pytest.raises(ValueError, match="frame holds no scores"):
        summarize(scores.iloc[:0])
    with pytest.raises(ValueError, match="frame holds no scores"):
        compare_to(scores.iloc[:0], "a")
    with pytest.raises(ValueError, match="values is empty"):
        mean_interval(np.array([]))
    with pytest.raises(ValueError, match="history holds no rows"):
        curve_band(pd.DataFrame({"condition": [], "epoch": [], "val_accuracy": []}))


def test_unknown_condition_names(scores):
    with pytest.raises(ValueError, match=r"unknown condition 'standalone'; the frame has \['a', 'b', 'c'\]"):
        compare_to(scores, "standalone")
    with pytest.raises(ValueError, match="no column 'score'"):
        summarize(scores, value="score")
    with pytest.raises(ValueError, match="no other condition"):
        compare_to(scores[scores["condition"] == "a"], "a")


def test_other_bad_input(scores):
    with pytest.raises(TypeError, match="frame must be a pandas DataFrame"):
        summarize({"condition": ["a"], "test_accuracy": [0.5]})
    with pytest.raises(ValueError, match="not finite"):
        summarize(scores.assign(test_accuracy=np.nan))
    with pytest.raises(ValueError, match="at least two scores"):
        compare_to(scores.iloc[[0, 8, 9]], "a")
    with pytest.raises(ValueError, match="history has no column 'epoch'"):
        curve_band(scores, metric="test_accuracy")
    with pytest.raises(ValueError, match="history has no column 'epoch'"):
        epochs_to_reach(scores, 0.5, metric="test_accuracy")


def test_spread_ratio_matches_numpy_and_scipy(scores):
    ratio, low, high = spread_ratio(scores, "b", "a", seed=4)
    assert ratio == pytest.approx(np.std(B, ddof=1) / np.std(A, ddof=1))
    direct = stats.bootstrap(
        (np.array(B), np.array(A)), lambda x, y, axis: x.std(axis=axis, ddof=1) / y.std(axis=axis, ddof=1),
        n_resamples=N_RESAMPLES, method="percentile", vectorized=True, rng=np.random.default_rng(4),
    )  # fmt: skip
    assert (low, high) == pytest.approx((direct.confidence_interval.low, direct.confidence_interval.high))
    assert low < ratio < high


def test_spread_ratio_bad_input(scores):
    with pytest.raises(ValueError, match="unknown condition"):
        spread_ratio(scores, "b", "standalone")
    flat = scores.assign(test_accuracy=0.5)
    with pytest.raises(ValueError, match="a spread in 'a'"):
        spread_ratio(flat, "b", "a")
    with pytest.raises(ValueError, match="confidence_level"):
        spread_ratio(scores, "b", "a", confidence_level=2)


def test_gain_difference_matches_means_and_scipy(scores):
    other = scores.assign(test_accuracy=scores["test_accuracy"][::-1].to_numpy())
    estimate, low, high = gain_difference(scores, other, "b", "a", seed=5)

    def gain(f):
        return (
            f.loc[f.condition == "b", "test_accuracy"].mean()
            - f.loc[f.condition == "a", "test_accuracy"].mean()
        )

    assert estimate == pytest.approx(gain(scores) - gain(other))
    samples = [
        f.loc[f.condition == c, "test_accuracy"].to_numpy() for f in (scores, other) for c in ("b", "a")
    ]
    direct = stats.bootstrap(
        samples, lambda a, b, c, d, axis: a.mean(axis) - b.mean(axis) - c.mean(axis) + d.mean(axis),
        n_resamples=N_RESAMPLES, method="percentile", vectorized=True, rng=np.random.default_rng(5),
    )  # fmt: skip
    assert (low, high) == pytest.approx((direct.confidence_interval.low, direct.confidence_interval.high))


def test_gain_difference_of_identical_frames_is_zero(scores):
    estimate, low, high = gain_difference(scores, scores, "b", "a")
    assert estimate == 0 and low < 0 < high
    with pytest.raises(ValueError, match="unknown condition"):
        gain_difference(scores, scores, "fixed=1", "a")
    with pytest.raises(ValueError, match="confidence_level"):
        gain_difference(scores, scores, "b", "a", confidence_level=0)


@pytest.fixture
def grid(scores):
    """Two sizes, each with the conditions a, b and c; the second size shifted up by 0.1."""
    return pd.concat(
        [scores.assign(size=10), scores.assign(size=20, test_accuracy=scores["test_accuracy"] + 0.1)]
    )


def test_summarize_within_equals_summarize_per_group(grid, scores):
    table = summarize_within(grid, "size")
    assert table.index.names == ["size", "condition"]
    pd.testing.assert_frame_equal(table.loc[10], summarize(scores))
    assert np.allclose(table.loc[20, "mean"], summarize(scores)["mean"] + 0.1)
    two_keys = summarize_within(grid.assign(net="x"), ["net", "size"])
    assert two_keys.index.names == ["net", "size", "condition"]


def test_compare_within_adjusts_over_all_groups(grid, scores):
    table = compare_within(grid, "size", "a", "b")
    assert table.index.tolist() == [10, 20]
    alone = compare_to(scores[scores["condition"].isin(["a", "b"])], "b", effect_size=False).loc["a"]
    for column in ("mean_difference", "difference_ci_low", "difference_ci_high", "p_value"):
        assert table.loc[10, column] == pytest.approx(alone[column])
    assert np.allclose(table["p_holm"], multipletests(table["p_value"], method="holm")[1])


def test_within_bad_input(grid):
    with pytest.raises(ValueError, match="within must name columns"):
        summarize_within(grid, "missing")
    with pytest.raises(ValueError, match="lacks 'a' or 'z'"):
        compare_within(grid, "size", "a", "z")
    with pytest.raises(ValueError, match="no scores"):
        compare_within(grid.iloc[:0], "size", "a", "b")
    with pytest.raises(TypeError, match="DataFrame"):
        summarize_within([1, 2], "size")


def test_fit_line_matches_scipy_linregress():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = 0.5 * x + rng.normal(scale=0.3, size=40)
    fit = fit_line(x, y)
    reference = stats.linregress(x, y)
    assert fit.slope == pytest.approx(reference.slope)
    assert fit.p_value == pytest.approx(reference.pvalue)
    assert fit.r_squared == pytest.approx(reference.rvalue**2)
    half = stats.t.ppf(0.975, 38) * reference.stderr
    assert (fit.slope_ci_low, fit.slope_ci_high) == pytest.approx(
        (reference.slope - half, reference.slope + half)
    )
    band = fit.band
    assert np.allclose(band["fit"], reference.intercept + reference.slope * band["x"])
    assert (band["ci_low"] < band["fit"]).all() and (band["fit"] < band["ci_high"]).all()
    assert fit_line(x, y, confidence_level=0.99).slope_ci_low < fit.slope_ci_low


def test_fit_line_with_a_control_recovers_the_partial_slope():
    rng = np.random.default_rng(1)
    control = rng.normal(size=200)
    x = control + rng.normal(scale=0.5, size=200)  # x is confounded with the control
    y = 2.0 * control + rng.normal(scale=0.1, size=200)  # y depends on the control only
    assert fit_line(x, y).slope > 1  # the plain fit is fooled
    adjusted = fit_line(x, y, controls=pd.DataFrame({"control": control}))
    design = np.column_stack([np.ones(200), x, control])
    coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
    assert adjusted.slope == pytest.approx(coefficients[1])
    assert abs(adjusted.slope) < 0.1 and adjusted.slope_ci_high - adjusted.slope_ci_low < 0.1
    # The line is drawn with the control at its mean.
    assert adjusted.intercept == pytest.approx(coefficients[0] + coefficients[2] * control.mean())


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "message"),
    [
        ([1, 2], [1, 2], {}, "at least 3"),
        ([1, 2, 3], [1, 2], {}, "one length"),
        ([1, 1, 1], [1, 2, 3], {}, "x must vary"),
        ([1, 2, np.nan], [1, 2, 3], {}, "finite"),
        ([1, 2, 3], [1, 2, 3], {"controls": pd.DataFrame({"c": [1, 2]})}, "one row per point"),
        ([1, 2, 3], [1, 2, 3], {"controls": pd.DataFrame({"x": [1, 2, 3]})}, "no column 'x'"),
    ],
)
def test_fit_line_bad_input(x, y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_line(x, y, **kwargs)
