"""The command-line runner: every experiment end to end, bad input, atomic writes, Dask."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import cli

TINY = ["--repeats", "2", "--epochs", "2", "--seed", "3"]

RUNS = {
    "comparison": ["--conditions", "standalone,fixed=1"],
    "reverse": ["--conditions", "standalone,fixed=0"],
    "new-layer": [],
    "reinit": [],
    "layer-by-layer": ["--hidden-sizes", "3,3"],
    "data-scarcity": ["--sizes", "5,10", "--updates", "4", "--chunk-size", "1"],
    "similarity": ["--target-seeds", "2-5", "--chunk-size", "3", "--conditions", "standalone,fixed=1"],
}


def run(argv, capsys):
    """main(argv) in this process: its exit status, stdout and stderr."""
    try:
        status = cli.main(argv)
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("experiment", list(RUNS))
def test_each_experiment_writes_its_three_files(experiment, tmp_path, capsys):
    output = tmp_path / "out"
    status, out, _ = run([experiment, *TINY, *RUNS[experiment], "--output", str(output)], capsys)
    assert status == 0
    assert sorted(p.name for p in output.iterdir()) == ["figure.png", "results.csv", "run.json"]
    results = pd.read_csv(output / "results.csv")
    assert "test_accuracy" in results.columns and results["test_accuracy"].between(0, 1).all()
    record = json.loads((output / "run.json").read_text())
    assert record["parameters"]["experiment"] == experiment and record["parameters"]["repeats"] == 2
    assert record["packages"]["tensorflow"] and record["python"]
    assert (output / "figure.png").read_bytes()[:4] == b"\x89PNG"
    assert "wrote" in out and len(out.splitlines()) > 2  # the summary table, then the files


def test_same_seed_same_results_and_overwrite(tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    argv = ["data-scarcity", *TINY, "--sizes", "5,10", "--updates", "4"]
    assert run([*argv, "--chunk-size", "1", "--output", str(first)], capsys)[0] == 0
    assert run([*argv, "--chunk-size", "2", "--output", str(second)], capsys)[0] == 0
    pd.testing.assert_frame_equal(pd.read_csv(first / "results.csv"), pd.read_csv(second / "results.csv"))
    assert run([*argv, "--output", str(second), "--overwrite"], capsys)[0] == 0


def assert_refused(status, err, message):
    assert status == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith("usage:")
    assert message in lines[-1] and lines[-1].startswith("blobs-transfer")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bogus"], "invalid choice: 'bogus'"),
        (["comparison", "--repeats", "0"], "must be at least 1, got 0"),
        (["comparison", "--repeats", "-3"], "must be at least 1, got -3"),
        (["comparison", "--seed", "-1"], "seeds must be in 0.."),
        (["comparison", "--target-seed", "-5"], "seeds must be in 0.."),
        (["comparison", "--conditions", "fixed=x"], "unknown condition"),
        (["data-scarcity", "--sizes", "10,600"], "sizes must be in 1..500, got [600]"),
        (["similarity", "--target-seeds", "1-5"], "must not include the source seed"),
    ],
)
def test_bad_input_exits_2_with_usage_and_writes_nothing(argv, message, tmp_path, capsys):
    output = tmp_path / "out"
    status, _, err = run([*argv, "--output", str(output)], capsys)
    assert_refused(status, err, message)
    assert not output.exists()


def test_a_non_empty_output_needs_overwrite(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    status, _, err = run(["comparison", *TINY, "--output", str(tmp_path)], capsys)
    assert_refused(status, err, "is not empty; pass --overwrite")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_an_unwritable_output_is_refused(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    status, _, err = run(["comparison", *TINY, "--output", str(blocker / "out")], capsys)
    assert_refused(status, err, "cannot be written")
    status, _, err = run(["comparison", *TINY, "--output", str(blocker)], capsys)
    assert_refused(status, err, "is a file, not a directory")
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_the_module_and_the_console_script_exit_2_on_an_unknown_experiment(tmp_path):
    script = Path(sys.executable).with_name("blobs-transfer")
    for command in ([sys.executable, "-m", "helpers"], [str(script)]):
        result = subprocess.run(
            [*command, "bogus", "--output", str(tmp_path / "x")], capture_output=True, text=True
        )
        assert result.returncode == 2
        assert result.stderr.startswith("usage: blobs-transfer") and "invalid choice" in result.stderr
        assert "Traceback" not in result.stderr
    assert subprocess.run([str(script), "--help"], capture_output=True).returncode == 0


def test_a_write_that_fails_leaves_no_file(tmp_path):
    def half_then_fail(path):
        Path(path).write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cli.write_atomically(tmp_path / "results.csv", half_then_fail)
    assert list(tmp_path.iterdir()) == []
    cli.write_atomically(tmp_path / "results.csv", lambda path: Path(path).write_text("whole"))
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]


def test_an_interrupted_run_writes_nothing(tmp_path, capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.EXPERIMENTS, "comparison", ("interrupted", interrupted))
    with pytest.raises(KeyboardInterrupt):
        cli.main(["comparison", "--output", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_int_list_parses_lists_and_ranges():
    assert cli.int_list("10,20,50") == [10, 20, 50]
    assert cli.int_list("2-5") == [2, 3, 4, 5]
    for bad in ("a,b", "5-x", "3,3", "-4"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"list|distinct"):
            cli.int_list(bad)
    assert cli.widths("8,8") == [8, 8]
    with pytest.raises(argparse.ArgumentTypeError, match="widths of at least 1"):
        cli.widths("8,0")


def test_a_sweep_on_a_dask_cluster_equals_the_in_process_run(tmp_path, capsys):
    from distributed import LocalCluster

    argv = ["similarity", *TINY, "--target-seeds", "2-7", "--conditions", "standalone,fixed=0"]
    assert run([*argv, "--chunk-size", "6", "--output", str(tmp_path / "local")], capsys)[0] == 0
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        assert len(cluster.workers) == 2
        status, _, err = run(
            [
                *argv,
                "--chunk-size",
                "2",
                "--scheduler",
                cluster.scheduler_address,
                "--output",
                str(tmp_path / "dask"),
            ],
            capsys,
        )
    assert status == 0, err
    assert "3/3" in err  # the progress bar counted the three chunks
    local = pd.read_csv(tmp_path / "local" / "results.csv")
    dask = pd.read_csv(tmp_path / "dask" / "results.csv")
    pd.testing.assert_frame_equal(local, dask)
    assert json.loads((tmp_path / "dask" / "run.json").read_text())["parameters"]["scheduler"] is not None
