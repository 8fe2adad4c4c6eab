import numpy as np
import pytest

from helpers.experiments import (
    CONDITIONS,
    Comparison,
    Condition,
    _draw_subsets,
    parse_condition,
    run_comparison,
    train_sources,
)
from helpers.problems import make_problem


@pytest.fixture(scope="module")
def problems():
    return make_problem(1, n_samples=120, n_train=60), make_problem(2, n_samples=120, n_train=60)


@pytest.fixture(scope="module")
def single(problems):
    return run_comparison(*problems, repeats=3, num_epochs=4, seed=1)


def test_frozen_layers():
    assert parse_condition("standalone").n_frozen is None
    assert [parse_condition(f"fixed={n}").n_frozen for n in range(3)] == [0, 1, 2]
    for bad in ("fixed=", "fixed=x", "transfer", 3):
        with pytest.raises(ValueError, match="unknown condition"):
            parse_condition(bad)


def test_scores_are_tidy(single):
    assert isinstance(single, Comparison)
    scores = single.scores
    assert list(scores.columns) == [
        "condition", "replica", "source_replica", "test_accuracy", "test_loss", "train_accuracy",
    ]  # fmt: skip
    assert scores["condition"].tolist() == [c for c in CONDITIONS for _ in range(3)]
    assert scores["replica"].tolist() == [0, 1, 2] * 4
    assert scores["test_accuracy"].between(0, 1).all() and scores["train_accuracy"].between(0, 1).all()


def test_single_source_design(single):
    transfer = single.scores[single.scores["condition"] != "standalone"]
    assert set(transfer["source_replica"]) == {0}
    assert single.scores.loc[single.scores["condition"] == "standalone", "source_replica"].isna().all()
    assert len(single.sources) == 1


def test_fresh_sources_design(problems):
    fresh = run_comparison(
        *problems, repeats=3, num_epochs=2, fresh_sources=True, conditions=["fixed=1"], seed=1
    )
    assert fresh.scores["source_replica"].tolist() == [0, 1, 2]
    assert len(fresh.sources) == 3 and fresh.sources["test_accuracy"].between(0, 1).all()


def test_history_has_every_model_and_epoch(single):
    history = single.history
    assert len(history) == 12 * 4
    assert list(history.columns[:3]) == ["condition", "replica", "epoch"]
    last = history[history["epoch"] == 4].reset_index(drop=True)
    assert (last["val_accuracy"] - single.scores["test_accuracy"]).abs().max() < 1e-6


def test_same_seed_same_scores(problems, single):
    again = run_comparison(*problems, repeats=3, num_epochs=4, seed=1)
    assert again.scores.equals(single.scores)
    other = run_comparison(*problems, repeats=3, num_epochs=4, seed=2)
    assert not other.scores["test_accuracy"].equals(single.scores["test_accuracy"])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"repeats": 0}, ValueError, r"repeats must be in 1\.\., got 0"),
        ({"conditions": []}, ValueError, "non-empty sequence of condition names"),
        ({"conditions": "standalone"}, ValueError, "non-empty sequence"),
        ({"conditions": ["fixed=3"]}, ValueError, "freezes more layers than the 2 hidden ones"),
        ({"conditions": ["bogus"]}, ValueError, "unknown condition 'bogus'"),
        ({"num_epochs": 0}, ValueError, "num_epochs"),
        ({"lr": 0}, ValueError, "lr must be a finite number above 0"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_arguments(problems, kwargs, error, message):
    with pytest.raises(error, match=message):
        run_comparison(*problems, **kwargs)


def test_bad_problems(problems):
    with pytest.raises(TypeError, match="source must be a Problem"):
        run_comparison("p1", problems[1])
    with pytest.raises(ValueError, match="same numbers of features and classes"):
        run_comparison(problems[0], make_problem(2, n_classes=4, n_samples=50, n_train=25))


def test_parse_condition():
    assert parse_condition("standalone") == Condition("standalone", None)
    assert parse_condition("fixed=2+new") == Condition("fixed=2+new", 2, None, True)
    assert parse_condition("fixed=0+keep=1") == Condition("fixed=0+keep=1", 0, 1, False)
    assert parse_condition("fixed=1+keep=1+new") == Condition("fixed=1+keep=1+new", 1, 1, True)
    for bad in ("fixed=1+new+new", "fixed=1+keep=x", "fixed=1+keep=1+keep=2", "fixed=1+more", "new"):
        with pytest.raises(ValueError, match="unknown condition"):
            parse_condition(bad)


def test_variants_train_with_their_own_structure(problems):
    conditions = ["standalone", "fixed=2", "fixed=2+new", "fixed=0+keep=1"]
    result = run_comparison(*problems, repeats=2, num_epochs=3, conditions=conditions, seed=3)
    assert result.scores["condition"].tolist() == [c for c in conditions for _ in range(2)]
    assert result.history.groupby("condition", sort=False).size().tolist() == [6] * 4
    last = result.history[result.history["epoch"] == 3].reset_index(drop=True)
    assert (last["val_accuracy"] - result.scores["test_accuracy"]).abs().max() < 1e-6


def test_keep_must_lie_between_frozen_and_hidden(problems):
    with pytest.raises(ValueError, match="must keep between the frozen layers"):
        run_comparison(*problems, conditions=["fixed=2+keep=1"])
    with pytest.raises(ValueError, match="must keep between the frozen layers"):
        run_comparison(*problems, conditions=["fixed=0+keep=3"])


def test_train_sources_equals_the_sources_run_comparison_trains(problems):
    stack = train_sources(problems[0], 3, num_epochs=4, seed=1)
    assert stack.n_replicas == 3
    own = run_comparison(*problems, repeats=3, num_epochs=4, fresh_sources=True, seed=1)
    given = run_comparison(*problems, repeats=3, num_epochs=4, seed=1, sources=stack)
    assert given.sources.equals(own.sources)
    transfer = own.scores["condition"] != "standalone"
    assert given.scores[transfer].equals(own.scores[transfer])


def test_given_sources_must_fit(problems):
    with pytest.raises(TypeError, match="sources must be a Stack"):
        run_comparison(*problems, repeats=3, sources="model")
    with pytest.raises(ValueError, match="1 or repeats = 3 models"):
        run_comparison(*problems, repeats=3, sources=train_sources(problems[0], 2, num_epochs=1))
    with pytest.raises(ValueError, match="layer widths"):
        run_comparison(
            *problems, repeats=2, sources=train_sources(problems[0], 2, hidden_sizes=(4,), num_epochs=1)
        )
    with pytest.raises(ValueError, match="n_sources"):
        train_sources(problems[0], 0)
    with pytest.raises(TypeError, match="source must be a Problem"):
        train_sources("p1", 2)


def test_n_train_gives_each_repeat_its_own_sample(problems):
    source, target = problems
    result = run_comparison(
        source, target, repeats=3, num_epochs=5, n_train=10, validate=False, seed=4,
        conditions=["standalone", "fixed=0"],
    )  # fmt: skip
    assert "val_accuracy" not in result.history.columns
    # Training accuracy is measured on each model's own 10 rows: a multiple of 1/10.
    assert np.allclose(result.scores["train_accuracy"] * 10, np.round(result.scores["train_accuracy"] * 10))
    # The samples differ between repeats and are shared by the conditions of a repeat.
    samples = _draw_subsets(len(target.X_train), 3, 10, 4)
    assert len({tuple(sorted(sample)) for sample in samples}) == 3
    with pytest.raises(ValueError, match="n_train"):
        run_comparison(source, target, n_train=61)
