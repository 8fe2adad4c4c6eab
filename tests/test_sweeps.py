import numpy as np
import pandas as pd
import pytest

from helpers.experiments import train_sources
from helpers.problems import make_problem
from helpers.sweeps import (
    VARIANTS,
    cell_seed,
    centre_distance,
    layer_conditions,
    relabelled_accuracy,
    run_layer_sweep,
    run_similarity_sweep,
    run_size_sweep,
    updates_to_epochs,
)


@pytest.fixture(scope="module")
def problems():
    return make_problem(1, n_samples=120, n_train=60), make_problem(2, n_samples=120, n_train=60)


def test_cell_seed_is_stable_and_distinct():
    assert cell_seed(3, 1, 10) == cell_seed(3, 1, 10)
    seeds = {cell_seed(3, 1, size) for size in range(100)} | {cell_seed(4, 1, 10)}
    assert len(seeds) == 101
    with pytest.raises(ValueError, match="key"):
        cell_seed(3, -1)


def test_layer_conditions():
    assert layer_conditions(2) == {
        "fixed=1+keep=1": ("nB", 1), "fixed=0+keep=1": ("nB+", 1),
        "fixed=2+keep=2": ("nB", 2), "fixed=0+keep=2": ("nB+", 2),
    }  # fmt: skip
    with pytest.raises(ValueError, match="n_hidden"):
        layer_conditions(0)


def test_layer_sweep_has_every_variant_and_n(problems):
    frame = run_layer_sweep(*problems, hidden_sizes=(4, 4, 4), repeats=2, num_epochs=3, seed=1)
    counts = frame.groupby(["variant", "n_copied"]).size()
    assert counts[("baseB", 0)] == 2
    for variant in VARIANTS:
        assert [counts[(variant, n)] for n in (1, 2, 3)] == [2, 2, 2]
    assert len(frame) == 2 + 4 * 3 * 2
    assert frame["test_accuracy"].between(0, 1).all()
    again = run_layer_sweep(*problems, hidden_sizes=(4, 4, 4), repeats=2, num_epochs=3, seed=1)
    assert again.equals(frame)


def test_updates_to_epochs():
    assert updates_to_epochs(500) == 100  # the tutorial: 16 batches of 32 per epoch
    assert updates_to_epochs(10) == 1600
    assert updates_to_epochs(50, batch_size=32, num_updates=10) == 5
    with pytest.raises(ValueError, match="n_train"):
        updates_to_epochs(0)


def test_size_sweep_cells_do_not_depend_on_each_other(problems):
    both = run_size_sweep(*problems, [5, 20], repeats=2, num_updates=6, seed=2)
    assert both.groupby("n_train").size().to_dict() == {5: 6, 20: 6}
    assert both.set_index("n_train")["num_epochs"].groupby(level=0).first().to_dict() == {5: 6, 20: 6}
    alone = run_size_sweep(*problems, [20], repeats=2, num_updates=6, seed=2)
    pd.testing.assert_frame_equal(both[both["n_train"] == 20].reset_index(drop=True), alone)
    # Training accuracy is on each model's own rows: a multiple of 1/5 with 5 rows.
    five = both.loc[both["n_train"] == 5, "train_accuracy"] * 5
    assert np.allclose(five, np.round(five))


@pytest.mark.parametrize(
    ("sizes", "message"),
    [([], "non-empty"), (5, "non-empty"), ([0], "sizes"), ([61], "sizes"), ([5, 5], "repeat")],
)
def test_size_sweep_bad_sizes(problems, sizes, message):
    with pytest.raises(ValueError, match=message):
        run_size_sweep(*problems, sizes, repeats=2)


def test_centre_distance_matches_classes_first():
    problem = make_problem(1)
    assert centre_distance(problem, problem) == 0
    shifted = make_problem(1)
    object.__setattr__(shifted, "centers", problem.centers[::-1] + 1.0)  # relabelled and moved
    assert centre_distance(problem, shifted) == pytest.approx(np.sqrt(2))
    with pytest.raises(TypeError, match="target must be a Problem"):
        centre_distance(problem, "p")
    with pytest.raises(ValueError, match="same numbers"):
        centre_distance(problem, make_problem(1, n_classes=4))


def test_relabelled_accuracy_ignores_the_names_of_classes(problems):
    source = problems[0]
    stack = train_sources(source, 2, num_epochs=20, seed=0)
    relabelled = make_problem(1, n_samples=120, n_train=60)
    object.__setattr__(relabelled, "y_test", relabelled.y_test[:, [1, 2, 0]])
    plain = relabelled_accuracy(stack, source)
    assert np.allclose(relabelled_accuracy(stack, relabelled), plain)
    labels = source.labels_test
    from helpers.replicas import predict_stack

    raw = (predict_stack(stack, source.X_test).argmax(-1) == labels).mean(axis=1)
    assert np.all(plain >= raw)


def test_similarity_sweep(problems):
    source = problems[0]
    targets = [make_problem(seed, n_samples=120, n_train=60) for seed in (5, 6)]
    scores, similarity = run_similarity_sweep(source, targets, repeats=2, num_epochs=3, seed=3)
    assert scores.groupby("target_seed").size().to_dict() == {5: 6, 6: 6}
    assert similarity["target_seed"].tolist() == [5, 6]
    assert similarity["centre_distance"].tolist() == [centre_distance(source, t) for t in targets]
    assert similarity["source_accuracy"].between(0, 1).all()
    alone, _ = run_similarity_sweep(source, targets[1:], repeats=2, num_epochs=3, seed=3)
    pd.testing.assert_frame_equal(scores[scores["target_seed"] == 6].reset_index(drop=True), alone)
    with pytest.raises(ValueError, match="non-empty"):
        run_similarity_sweep(source, [], repeats=2)
    with pytest.raises(ValueError, match="distinct"):
        run_similarity_sweep(source, [targets[0], targets[0]], repeats=2)


def test_layer_sweep_cells_do_not_depend_on_each_other(problems):
    both = run_layer_sweep(*problems, repeats=2, num_epochs=2, seed=5)
    a = run_layer_sweep(*problems, repeats=2, num_epochs=2, seed=5, sources_from=["A"])
    b = run_layer_sweep(*problems, repeats=2, num_epochs=2, seed=5, sources_from=["B"])
    pd.testing.assert_frame_equal(pd.concat([a, b], ignore_index=True), both)
    assert set(a["variant"]) == {"baseB", "AnB", "AnB+"} and set(b["variant"]) == {"BnB", "BnB+"}
    for bad in ("A", [], ["C"]):
        with pytest.raises(ValueError, match="sources_from"):
            run_layer_sweep(*problems, repeats=2, sources_from=bad)
