"""Run the book's experiments from a terminal: ``python -m helpers EXPERIMENT [options]``.

Each run writes, into ``--output DIR``: ``results.csv`` (one row per trained model),
``figure.png`` (the chapter's figure) and ``run.json`` (the exact parameters and package
versions), then prints the summary table. Bad input exits with status 2 and a one-line
message after the usage, before anything is trained or written.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from helpers.experiments import MAX_SEED

PACKAGES = (
    "tensorflow",
    "keras",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "statsmodels",
    "joblib",
    "dask",
)


@dataclass(frozen=True)
class Outcome:
    """What an experiment hands back for writing: the per-model scores, a summary, a figure."""

    results: pd.DataFrame
    summary: pd.DataFrame
    figure: object


# -- argument types: each raises ArgumentTypeError, which argparse turns into exit status 2


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed(text: str) -> int:
    """A seed: an integer from 0 to MAX_SEED."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"seeds must be in 0..{MAX_SEED}, got {value}")
    return value


def int_list(text: str) -> list[int]:
    """Comma-separated positive integers, or a range 'a-b' (both ends included)."""
    try:
        if "-" in text.strip("-") and "," not in text:
            low, high = (int(part) for part in text.split("-"))
            values = list(range(low, high + 1))
        else:
            values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list like '10,20,50' or a range like '2-101'"
        ) from None
    if not values or min(values) < 0 or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"{text!r} must list distinct integers of 0 or more")
    return values


def widths(text: str) -> list[int]:
    """Comma-separated layer widths, each at least 1 (repeats allowed: '8,8,8,8')."""
    try:
        values = [positive_int(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} must list widths of at least 1, like '8,8,8,8'") from None
    return values


def name_list(text: str) -> list[str]:
    """Comma-separated condition names, each checked by parse_condition."""
    from helpers.experiments import parse_condition

    names = [name.strip() for name in text.split(",") if name.strip()]
    try:
        for name in names:
            parse_condition(name)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not names:
        raise argparse.ArgumentTypeError("give at least one condition")
    return names


# -- running sweeps in chunks


def run_chunks(function: Callable, chunks: Sequence, scheduler: str | None, label: str) -> list:
    """``function(chunk)`` for every chunk through joblib, in order, with a progress bar.

    Without ``scheduler`` the chunks run one after another in this process; with the address
    of a Dask distributed scheduler they run on its workers.
    """
    import joblib
    from tqdm import tqdm

    def results(parallel: joblib.Parallel) -> list:
        calls = (joblib.delayed(function)(chunk) for chunk in chunks)
        bar = tqdm(parallel(calls), total=len(chunks), desc=label, unit="chunk", file=sys.stderr)
        return list(bar)

    if scheduler is None:
        return results(joblib.Parallel(n_jobs=1, return_as="generator"))
    from distributed import Client

    with Client(scheduler, timeout="30s") as client, joblib.parallel_config(backend="dask"):
        client.run(_quiet_worker)
        return results(joblib.Parallel(n_jobs=-1, return_as="generator"))


def _quiet_worker() -> None:
    """Import the helpers on a worker first, so that TensorFlow starts quietly there too."""
    import helpers  # noqa: F401


def chunked(values: Sequence, size: int) -> list[list]:
    """``values`` in consecutive chunks of at most ``size``."""
    return [list(values[i : i + size]) for i in range(0, len(values), size)]


# -- the experiments


def _problems(args: argparse.Namespace):
    from helpers.problems import make_problem

    return make_problem(args.source_seed), make_problem(args.target_seed)


def run_comparison_cli(args: argparse.Namespace) -> Outcome:
    from helpers.experiments import run_comparison
    from helpers.plots import plot_distributions
    from helpers.stats import summarize

    source, target = _problems(args)
    scores = run_comparison(
        source, target, repeats=args.repeats, conditions=args.conditions, fresh_sources=args.fresh_sources,
        num_epochs=args.epochs, seed=args.seed,
    ).scores  # fmt: skip
    return Outcome(scores, summarize(scores), plot_distributions(scores))


def run_reverse_cli(args: argparse.Namespace) -> Outcome:
    from helpers.experiments import run_comparison
    from helpers.plots import plot_distributions
    from helpers.stats import summarize_within

    problem1, problem2 = _problems(args)
    frames = []
    for direction, (source, target) in (("1 -> 2", (problem1, problem2)), ("2 -> 1", (problem2, problem1))):
        result = run_comparison(
            source, target, repeats=args.repeats, conditions=args.conditions, fresh_sources=True,
            num_epochs=args.epochs, seed=args.seed,
        )  # fmt: skip
        frames.append(result.scores.assign(direction=direction))
    scores = pd.concat(frames, ignore_index=True)
    both = scores.assign(**{"condition and direction": scores["condition"] + "\n" + scores["direction"]})
    return Outcome(
        scores, summarize_within(scores, "direction"), plot_distributions(both, by="condition and direction")
    )


def _fixed_conditions(conditions: Sequence[str]) -> Callable[[argparse.Namespace], Outcome]:
    """A comparison with fresh sources over a chapter's fixed set of conditions."""

    def run(args: argparse.Namespace) -> Outcome:
        args.conditions, args.fresh_sources = list(conditions), True
        return run_comparison_cli(args)

    return run


def _layer_chunk(chunk: tuple) -> pd.DataFrame:
    from helpers.problems import make_problem
    from helpers.sweeps import run_layer_sweep

    letter, source_seed, target_seed, hidden_sizes, repeats, epochs, sweep_seed = chunk
    return run_layer_sweep(
        make_problem(source_seed), make_problem(target_seed), hidden_sizes=hidden_sizes, repeats=repeats,
        num_epochs=epochs, seed=sweep_seed, sources_from=[letter],
    )  # fmt: skip


def run_layers_cli(args: argparse.Namespace) -> Outcome:
    from helpers.plots import plot_layer_sweeps
    from helpers.stats import summarize_within

    common = (
        args.source_seed,
        args.target_seed,
        tuple(args.hidden_sizes),
        args.repeats,
        args.epochs,
        args.seed,
    )
    parts = run_chunks(_layer_chunk, [(letter, *common) for letter in "AB"], args.scheduler, "layer sweep")
    scores = pd.concat(parts, ignore_index=True)
    summary = summarize_within(scores, "n_copied", by="variant")
    figure = plot_layer_sweeps({f"hidden layers {tuple(args.hidden_sizes)}": (scores, summary)})
    return Outcome(scores, summary, figure)


def _size_chunk(chunk: tuple) -> pd.DataFrame:
    from helpers.problems import make_problem
    from helpers.sweeps import run_size_sweep

    sizes, source_seed, target_seed, repeats, conditions, updates, sweep_seed = chunk
    return run_size_sweep(
        make_problem(source_seed), make_problem(target_seed), sizes, repeats=repeats, conditions=conditions,
        num_updates=updates, seed=sweep_seed,
    )  # fmt: skip


def run_sizes_cli(args: argparse.Namespace) -> Outcome:
    from helpers.plots import plot_size_sweep
    from helpers.stats import compare_within, summarize_within

    if "standalone" not in args.conditions or len(args.conditions) < 2:
        raise argparse.ArgumentTypeError(
            "data-scarcity needs 'standalone' and at least one transfer condition"
        )
    n_rows = len(_problems(args)[1].X_train)
    outside = [size for size in args.sizes if not 1 <= size <= n_rows]
    if outside:
        raise argparse.ArgumentTypeError(f"sizes must be in 1..{n_rows}, got {outside}")
    common = (args.source_seed, args.target_seed, args.repeats, args.conditions, args.updates, args.seed)
    chunks = [(sizes, *common) for sizes in chunked(args.sizes, args.chunk_size)]
    scores = pd.concat(run_chunks(_size_chunk, chunks, args.scheduler, "size sweep"), ignore_index=True)
    summary = summarize_within(scores, "n_train")
    level = 1 - 0.05 / len(args.sizes)
    gains = {
        condition: compare_within(scores, "n_train", condition, "standalone", confidence_level=level)
        for condition in args.conditions
        if condition != "standalone"
    }
    return Outcome(scores, summary, plot_size_sweep(summary, gains))


def _similarity_chunk(chunk: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    from helpers.problems import make_problem
    from helpers.sweeps import run_similarity_sweep

    target_seeds, source_seed, repeats, conditions, epochs, sweep_seed = chunk
    targets = [make_problem(target_seed) for target_seed in target_seeds]
    return run_similarity_sweep(
        make_problem(source_seed), targets, repeats=repeats, conditions=conditions, num_epochs=epochs,
        seed=sweep_seed,
    )  # fmt: skip


def run_similarity_cli(args: argparse.Namespace) -> Outcome:
    from helpers.plots import plot_relationships
    from helpers.stats import compare_within, fit_line

    if args.source_seed in args.target_seeds:
        raise argparse.ArgumentTypeError("the target seeds must not include the source seed")
    if "standalone" not in args.conditions or len(args.conditions) < 2:
        raise argparse.ArgumentTypeError("similarity needs 'standalone' and at least one transfer condition")
    if len(args.target_seeds) < 3:
        raise argparse.ArgumentTypeError("similarity needs at least 3 target seeds to fit a line")
    common = (args.source_seed, args.repeats, args.conditions, args.epochs, args.seed)
    chunks = [(seeds, *common) for seeds in chunked(args.target_seeds, args.chunk_size)]
    parts = run_chunks(_similarity_chunk, chunks, args.scheduler, "similarity sweep")
    scores = pd.concat([part[0] for part in parts], ignore_index=True)
    similarity = pd.concat([part[1] for part in parts], ignore_index=True).set_index("target_seed")
    transfer = next(condition for condition in args.conditions if condition != "standalone")
    gains = compare_within(scores, "target_seed", transfer, "standalone").join(similarity)
    gains["negative_transfer"] = (gains["p_holm"] < 0.05) & (gains["mean_difference"] < 0)
    fits = {measure: fit_line(gains[measure], gains["mean_difference"]) for measure in similarity.columns}
    figure = plot_relationships(
        gains,
        "mean_difference",
        fits,
        flagged="negative_transfer",
        ylabel=f"gain of {transfer} over standalone",
    )
    rows = {
        measure: {
            "slope": fit.slope,
            "ci_low": fit.slope_ci_low,
            "ci_high": fit.slope_ci_high,
            "R²": fit.r_squared,
        }
        for measure, fit in fits.items()
    }
    summary = pd.DataFrame(rows).T.rename_axis(f"gain of {transfer} against")
    summary["targets"] = len(gains)
    summary["negative transfer"] = int(gains["negative_transfer"].sum())
    return Outcome(scores, summary, figure)


EXPERIMENTS: dict[str, tuple[str, Callable[[argparse.Namespace], Outcome]]] = {
    "comparison": ("the tutorial's comparison of standalone and transfer", run_comparison_cli),
    "reverse": ("the comparison in both directions, fresh sources", run_reverse_cli),
    "new-layer": (
        "a new layer on frozen features",
        _fixed_conditions(["standalone", "fixed=2", "fixed=2+new"]),
    ),
    "reinit": (
        "the upper layers re-drawn",
        _fixed_conditions(["standalone", "fixed=1", "fixed=1+keep=1", "fixed=0", "fixed=0+keep=1"]),
    ),
    "layer-by-layer": ("Yosinski et al.'s AnB/BnB design, n = 0..depth", run_layers_cli),
    "data-scarcity": ("standalone and transfer against the target's training-set size", run_sizes_cli),
    "similarity": ("the gain of transfer against the similarity of many targets", run_similarity_cli),
}


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per experiment of the book."""
    parser = argparse.ArgumentParser(
        prog="blobs-transfer", description="Run an experiment of the book and save its results."
    )
    commands = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for name, (description, _) in EXPERIMENTS.items():
        command = commands.add_parser(name, help=description, description=description)
        command.set_defaults(parser=command)  # for error messages with this experiment's usage
        command.add_argument("--output", type=Path, required=True, metavar="DIR", help="where the results go")
        command.add_argument(
            "--overwrite", action="store_true", help="replace the results in a non-empty DIR"
        )
        command.add_argument("--repeats", type=positive_int, default=30, help="models per condition (30)")
        command.add_argument("--epochs", type=positive_int, default=100, help="training epochs (100)")
        command.add_argument("--seed", type=seed, default=0, help="seed of the run (0)")
        command.add_argument("--source-seed", type=seed, default=1, help="seed of the source problem (1)")
        if name != "similarity":
            command.add_argument("--target-seed", type=seed, default=2, help="seed of the target problem (2)")
        if name in ("comparison", "reverse", "data-scarcity", "similarity"):
            default = "standalone,fixed=0,fixed=1" + (",fixed=2" if name in ("comparison", "reverse") else "")
            command.add_argument(
                "--conditions", type=name_list, default=name_list(default), help=f"({default})"
            )
        if name == "comparison":
            command.add_argument("--fresh-sources", action="store_true", help="a new source model per repeat")
        if name == "layer-by-layer":
            command.add_argument("--hidden-sizes", type=widths, default=[8, 8, 8, 8], help="widths (8,8,8,8)")
        if name == "data-scarcity":
            command.add_argument("--sizes", type=int_list, default=[10, 20, 50, 100, 200, 500],
                                 help="target training-set sizes (10,20,50,100,200,500)")  # fmt: skip
            command.add_argument(
                "--updates", type=positive_int, default=1600, help="SGD updates per model (1600)"
            )
        if name == "similarity":
            command.add_argument("--target-seeds", type=int_list, default=int_list("2-101"),
                                 help="seeds of the target problems, a list or a range (2-101)")  # fmt: skip
        if name in ("layer-by-layer", "data-scarcity", "similarity"):
            command.add_argument("--chunk-size", type=positive_int, default=10, help="cells per chunk (10)")
            command.add_argument(
                "--scheduler", metavar="ADDRESS", help="a Dask scheduler to run the chunks on"
            )
    return parser


def check_output(parser: argparse.ArgumentParser, output: Path, overwrite: bool) -> None:
    """Exit with status 2 unless ``output`` can take the results."""
    if output.exists() and not output.is_dir():
        parser.error(f"--output {output} is a file, not a directory")
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        parser.error(f"--output {output} is not empty; pass --overwrite to replace its results")
    existing = output
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        parser.error(f"--output {output} cannot be written")


def write_atomically(path: Path, write: Callable[[str], None]) -> None:
    """Write ``path`` through a temporary file in its directory, renamed into place when complete."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(handle)
    try:
        write(temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; results are for sharing
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def save(outcome: Outcome, output: Path, parameters: dict) -> list[Path]:
    """Write results.csv, figure.png and run.json into ``output``, each atomically."""
    output.mkdir(parents=True, exist_ok=True)
    record = {
        "parameters": parameters,
        "python": platform.python_version(),
        "packages": {package: version(package) for package in PACKAGES},
    }
    files = {
        "results.csv": lambda path: outcome.results.to_csv(path, index=False),
        "figure.png": lambda path: outcome.figure.savefig(path, format="png", dpi=100),
        "run.json": lambda path: Path(path).write_text(json.dumps(record, indent=2, default=str) + "\n"),
    }
    for name, write in files.items():
        write_atomically(output / name, write)
    import matplotlib.pyplot as plt

    plt.close(outcome.figure)  # saved: free it, as a long session runs many experiments
    return [output / name for name in files]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the experiment, write its files and print its summary."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.parser
    check_output(command, args.output, args.overwrite)
    import matplotlib

    import helpers  # noqa: F401  (starts TensorFlow quietly)

    matplotlib.use("Agg")
    try:
        outcome = EXPERIMENTS[args.experiment][1](args)
    except argparse.ArgumentTypeError as error:
        command.error(str(error))
    except ValueError as error:  # a bad combination the helpers refuse, e.g. a size above 500
        command.error(str(error))
    parameters = {
        key: value for key, value in vars(args).items() if key not in ("output", "overwrite", "parser")
    }
    written = save(outcome, args.output, parameters)
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(outcome.summary.round(4).to_string())
    print("wrote " + ", ".join(str(path) for path in written))
    return 0
