"""Statistics of repeated experiments: intervals, tests, effect sizes and verdicts (scipy, statsmodels)."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

N_RESAMPLES = 9_999


def _check_level(confidence_level: float) -> float:
    if isinstance(confidence_level, bool) or not isinstance(confidence_level, int | float):
        raise TypeError(f"confidence_level must be a number, got {confidence_level!r}")
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level}")
    return float(confidence_level)


def _groups(
    frame: pd.DataFrame, value: str, by: str, names: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """The values of each group, in order of appearance (or of ``names``), checked to be usable."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    for column in (value, by):
        if column not in frame.columns:
            raise ValueError(f"frame has no column {column!r}; it has {list(frame.columns)}")
    if frame.empty:
        raise ValueError("frame holds no scores")
    known = list(dict.fromkeys(frame[by]))
    names = known if names is None else list(names)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown {by} {unknown}; the frame has {known}")
    groups = {name: frame.loc[frame[by] == name, value].to_numpy(dtype=float) for name in names}
    for name, values in groups.items():
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{by} {name!r} has scores that are not finite")
    return groups


def mean_interval(values: np.ndarray, confidence_level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """A bootstrap (BCa) confidence interval of the mean of ``values``."""
    confidence_level = _check_level(confidence_level)
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        raise ValueError("values is empty: no interval without scores")
    if np.ptp(values) == 0:  # every resample has the same mean
        return float(values[0]), float(values[0])
    result = stats.bootstrap(
        (values,),
        np.mean,
        confidence_level=confidence_level,
        n_resamples=N_RESAMPLES,
        method="BCa",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def summarize(
    frame: pd.DataFrame,
    value: str = "test_accuracy",
    by: str = "condition",
    confidence_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Per group: n, mean, std, median, and a bootstrap confidence interval of the mean."""
    confidence_level = _check_level(confidence_level)
    rows = []
    for name, values in _groups(frame, value, by).items():
        low, high = mean_interval(values, confidence_level, seed)
        rows.append(
            {
                by: name,
                "n": len(values),
                "mean": values.mean(),
                "std": values.std(ddof=1) if len(values) > 1 else np.nan,
                "median": np.median(values),
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows).set_index(by)


def _cliffs_delta(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Cliff's delta, P(X > Y) - P(X < Y), from the Mann-Whitney U statistic of x."""
    u = stats.mannwhitneyu(x, y, axis=axis, method="asymptotic").statistic
    return 2 * u / (x.shape[axis] * y.shape[axis]) - 1


def _difference_of_means(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _two_sample_interval(statistic, x, y, confidence_level, seed) -> tuple[float, float]:
    """Percentile bootstrap interval of a two-sample statistic, resampling each sample."""
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        value = float(statistic(x, y))
        return value, value
    result = stats.bootstrap(
        (x, y),
        statistic,
        confidence_level=confidence_level,
        n_resamples=N_RESAMPLES,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def compare_to(
    frame: pd.DataFrame,
    reference: str,
    value: str = "test_accuracy",
    by: str = "condition",
    confidence_level: float = 0.95,
    seed: int = 0,
    effect_size: bool = True,
) -> pd.DataFrame:
    """Every other group against ``reference``: difference of means, Mann-Whitney U, Holm, Cliff's delta.

    The p-values are two-sided and Holm-adjusted over the comparisons made; both the
    difference of means and Cliff's delta (from -1 to 1: the chance that a score of the group
    beats one of the reference, minus the reverse) come with percentile bootstrap intervals.
    ``effect_size=False`` leaves out Cliff's delta, whose interval is the slow part.
    """
    confidence_level = _check_level(confidence_level)
    groups = _groups(frame, value, by)
    if reference not in groups:
        raise ValueError(f"unknown {by} {reference!r}; the frame has {list(groups)}")
    if len(groups) < 2:
        raise ValueError(f"nothing to compare with {reference!r}: the frame has no other {by}")
    rows = [
        {by: name, "reference": reference}
        | _compare(name, values, reference, groups[reference], confidence_level, seed, effect_size)
        for name, values in groups.items()
        if name != reference
    ]
    return _with_holm(pd.DataFrame(rows).set_index(by))


def _compare(name, values, reference, base, confidence_level, seed, effect_size) -> dict:
    """One group against the reference: difference of means, Mann-Whitney U and Cliff's delta."""
    if len(values) < 2 or len(base) < 2:
        raise ValueError(f"comparing {name!r} with {reference!r} needs at least two scores in each")
    test = stats.mannwhitneyu(values, base, alternative="two-sided")
    diff_low, diff_high = _two_sample_interval(_difference_of_means, values, base, confidence_level, seed)
    row = {
        "mean_difference": values.mean() - base.mean(),
        "difference_ci_low": diff_low,
        "difference_ci_high": diff_high,
        "u_statistic": float(test.statistic),
        "p_value": float(test.pvalue),
    }
    if effect_size:
        delta_low, delta_high = _two_sample_interval(_cliffs_delta, values, base, confidence_level, seed)
        row.update(
            cliffs_delta=float(_cliffs_delta(values, base)), delta_ci_low=delta_low, delta_ci_high=delta_high
        )
    return row


def _with_holm(result: pd.DataFrame) -> pd.DataFrame:
    """The comparisons with their Holm-adjusted p-values inserted after the raw ones."""
    # One call for all the comparisons: statsmodels' multipletests runs the garbage collector.
    adjusted = multipletests(result["p_value"], method="holm")[1]
    result.insert(result.columns.get_loc("p_value") + 1, "p_holm", adjusted)
    return result


def _std_ratio(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.std(x, axis=axis, ddof=1) / np.std(y, axis=axis, ddof=1)


def spread_ratio(
    frame: pd.DataFrame,
    name: str,
    reference: str,
    value: str = "test_accuracy",
    by: str = "condition",
    confidence_level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """The ratio of standard deviations, ``name`` over ``reference``, with a percentile bootstrap interval."""
    confidence_level = _check_level(confidence_level)
    groups = _groups(frame, value, by, [name, reference])
    x, y = groups[name], groups[reference]
    if len(x) < 2 or len(y) < 2 or np.ptp(y) == 0:
        raise ValueError(
            f"a spread ratio needs two or more scores in each group and a spread in {reference!r}"
        )
    low, high = _two_sample_interval(_std_ratio, x, y, confidence_level, seed)
    return float(_std_ratio(x, y)), low, high


def _gain_difference(a, b, c, d, axis=-1):
    return (np.mean(a, axis=axis) - np.mean(b, axis=axis)) - (np.mean(c, axis=axis) - np.mean(d, axis=axis))


def gain_difference(
    first: pd.DataFrame,
    second: pd.DataFrame,
    name: str,
    reference: str,
    value: str = "test_accuracy",
    by: str = "condition",
    confidence_level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """How much larger the gain of ``name`` over ``reference`` is in ``first`` than in ``second``.

    The gain is a difference of means; the result is the difference of the two gains with a
    percentile bootstrap interval that resamples all four groups independently.
    """
    confidence_level = _check_level(confidence_level)
    a, b = _groups(first, value, by, [name, reference]).values()
    c, d = _groups(second, value, by, [name, reference]).values()
    estimate = float(_gain_difference(a, b, c, d))
    if all(np.ptp(g) == 0 for g in (a, b, c, d)):
        return estimate, estimate, estimate
    result = stats.bootstrap(
        (a, b, c, d),
        _gain_difference,
        confidence_level=confidence_level,
        n_resamples=N_RESAMPLES,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    return estimate, float(result.confidence_interval.low), float(result.confidence_interval.high)


def verdict(low: float, high: float, threshold: float = 0.0) -> str:
    """'holds' if an interval lies above ``threshold``, 'does not hold' if below, else 'inconclusive'."""
    if not low <= high:
        raise ValueError(f"an interval needs low <= high, got ({low}, {high})")
    if low > threshold:
        return "holds"
    if high < threshold:
        return "does not hold"
    return "inconclusive"


def curve_band(
    history: pd.DataFrame,
    metric: str = "val_accuracy",
    by: str = "condition",
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """Per group and epoch: the mean of ``metric`` over replicas with a t-interval of that mean."""
    confidence_level = _check_level(confidence_level)
    for column in (metric, by, "epoch"):
        if column not in history.columns:
            raise ValueError(f"history has no column {column!r}")
    if history.empty:
        raise ValueError("history holds no rows")
    grouped = history.groupby([by, "epoch"], sort=False)[metric]
    band = grouped.agg(mean="mean", sem="sem", n="count").reset_index()
    half = stats.t.ppf(0.5 + confidence_level / 2, band["n"] - 1) * band["sem"]
    band["ci_low"], band["ci_high"] = band["mean"] - half, band["mean"] + half
    return band.drop(columns="sem")


def epochs_to_reach(
    history: pd.DataFrame, level: float, metric: str = "val_accuracy", by: str | None = None
) -> pd.Series:
    """Per replica (and ``by`` group): the first epoch whose ``metric`` reaches ``level``, NaN if none."""
    keys = ["replica"] if by is None else [by, "replica"]
    for column in (metric, "epoch", *keys):
        if column not in history.columns:
            raise ValueError(f"history has no column {column!r}")
    every = history[keys].drop_duplicates().set_index(keys).index
    first = history[history[metric] >= level].groupby(keys, sort=False)["epoch"].min()
    return first.reindex(every).astype(float).rename("epochs")


def _split(frame: pd.DataFrame, within: str | Sequence[str]) -> tuple[list[str], list]:
    """The column names of ``within`` and the frame's groups along them, in order of appearance."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    keys = [within] if isinstance(within, str) else list(within)
    missing = [key for key in keys if key not in frame.columns]
    if not keys or missing:
        raise ValueError(f"within must name columns of the frame; {missing or within!r} is not one")
    if frame.empty:
        raise ValueError("frame holds no scores")
    return keys, list(frame.groupby(keys if len(keys) > 1 else keys[0], sort=False))


def summarize_within(
    frame: pd.DataFrame,
    within: str | Sequence[str],
    value: str = "test_accuracy",
    by: str = "condition",
    confidence_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`summarize` within each value of the column(s) ``within``: one row per (within, by)."""
    keys, groups = _split(frame, within)
    parts = []
    for key, group in groups:
        part = summarize(group, value, by, confidence_level, seed).reset_index()
        for column, k in zip(keys, key if len(keys) > 1 else [key], strict=True):
            part.insert(keys.index(column), column, k)
        parts.append(part)
    return pd.concat(parts, ignore_index=True).set_index([*keys, by])


def compare_within(
    frame: pd.DataFrame,
    within: str | Sequence[str],
    name: str,
    reference: str,
    value: str = "test_accuracy",
    by: str = "condition",
    confidence_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """``name`` against ``reference`` within each value of ``within``: difference of means with its
    bootstrap interval, and Mann-Whitney p-values Holm-adjusted over all the groups compared."""
    confidence_level = _check_level(confidence_level)
    keys, groups = _split(frame, within)
    rows = []
    for key, group in groups:
        pair = _groups(group, value, by)
        if name not in pair or reference not in pair:
            raise ValueError(f"the group {within} = {key!r} lacks {name!r} or {reference!r}")
        row = _compare(
            name, pair[name], reference, pair[reference], confidence_level, seed, effect_size=False
        )
        rows.append(dict(zip(keys, key if len(keys) > 1 else [key], strict=True)) | row)
    return _with_holm(pd.DataFrame(rows).set_index(keys)).drop(columns=["u_statistic"])


@dataclass(frozen=True)
class LineFit:
    """A least-squares line ``y = intercept + slope * x`` (other terms held at their means)."""

    slope: float
    slope_ci_low: float
    slope_ci_high: float
    intercept: float
    r_squared: float
    p_value: float
    #: The fitted line on a grid of x with its confidence band: columns x, fit, ci_low, ci_high.
    band: pd.DataFrame


def fit_line(
    x: Sequence[float],
    y: Sequence[float],
    controls: pd.DataFrame | None = None,
    confidence_level: float = 0.95,
) -> LineFit:
    """Ordinary least squares of ``y`` on ``x`` (and ``controls``, if given), with the slope's
    confidence interval and the band of the fitted mean (statsmodels)."""
    import statsmodels.api as sm

    confidence_level = _check_level(confidence_level)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 3:
        raise ValueError(f"x and y must be 1-D of one length, at least 3, got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.ptp(x) == 0:
        raise ValueError("x and y must be finite, and x must vary")
    design = pd.DataFrame({"x": x})
    if controls is not None:
        if not isinstance(controls, pd.DataFrame) or len(controls) != len(x) or "x" in controls.columns:
            raise ValueError("controls must be a DataFrame with one row per point and no column 'x'")
        design = design.join(controls.reset_index(drop=True).astype(float))
    model = sm.OLS(y, sm.add_constant(design)).fit()
    alpha = 1 - confidence_level
    low, high = model.conf_int(alpha).loc["x"]
    grid = pd.DataFrame({"x": np.linspace(x.min(), x.max(), 50)})
    for column in design.columns.drop("x"):
        grid[column] = design[column].mean()
    prediction = model.get_prediction(sm.add_constant(grid, has_constant="add")).summary_frame(alpha)
    band = pd.DataFrame(
        {
            "x": grid["x"],
            "fit": prediction["mean"].to_numpy(),
            "ci_low": prediction["mean_ci_lower"].to_numpy(),
            "ci_high": prediction["mean_ci_upper"].to_numpy(),
        }
    )
    intercept = float(
        model.params["const"] + sum(model.params[c] * design[c].mean() for c in design.columns[1:])
    )
    return LineFit(
        slope=float(model.params["x"]),
        slope_ci_low=float(low),
        slope_ci_high=float(high),
        intercept=intercept,
        r_squared=float(model.rsquared),
        p_value=float(model.pvalues["x"]),
        band=band,
    )
