"""The global data drift: a random forest telling the current batch from the reference."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.config import load_config
from include.data.batches import select_period
from include.drift.domain_classifier import (
    DataDrift,
    RiskyFeature,
    domain_classifier_drift,
    riskiest_features,
    top_categories,
    wilson_interval,
)
from include.errors import DataValidationError
from include.periods import Period
from include.tutorial.generator import generate_tables
from include.tutorial.prepare import prepare_transactions

ROOT = Path(__file__).resolve().parents[3]
NUMERIC = ["amount", "age", "score"]
CATEGORICAL = ["colour", "channel"]
COLOURS = ["red", "green", "blue", "white", "black"]


def batch(
    rows: int,
    seed: int,
    *,
    age_shift: float = 0.0,
    colour_shares: tuple[float, ...] = (0.4, 0.25, 0.15, 0.1, 0.1),
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.lognormal(3.0, 1.0, rows),
            "age": rng.normal(45.0 + age_shift, 12.0, rows),
            "score": rng.normal(650.0, 60.0, rows).round(),
            "colour": pd.Series(rng.choice(COLOURS, rows, p=colour_shares), dtype="str"),
            "channel": rng.choice(["web", "shop"], rows).astype(object),
        }
    )


def drift(reference: pd.DataFrame, current: pd.DataFrame, **kwargs) -> DataDrift:
    kwargs.setdefault("numeric", NUMERIC)
    kwargs.setdefault("categorical", CATEGORICAL)
    return domain_classifier_drift(reference, current, **kwargs)


def top_feature(result: DataDrift) -> str:
    return max(result.feature_importance, key=result.feature_importance.__getitem__)


# --- the data drift value ------------------------------------------------------------------------


def test_identical_distributions_give_an_accuracy_near_one_half() -> None:
    result = drift(batch(3000, seed=1), batch(3000, seed=2))

    assert result.value == pytest.approx(0.5, abs=0.04)
    assert result.ci_low <= 0.5 <= result.ci_high
    assert result.pvalue > 0.05
    assert not result.drifted()
    assert result.verdict().startswith("no significant drift (accuracy 0.")


def test_a_strong_shift_in_one_numeric_feature_is_found_and_blamed_on_it() -> None:
    result = drift(batch(3000, seed=1), batch(3000, seed=2, age_shift=15.0))

    assert result.value > 0.7
    assert result.ci_low > 0.5
    assert result.pvalue < 1e-6
    assert top_feature(result) == "age"
    assert result.verdict() == (
        f"drift detected (accuracy {result.value:.2f}, 95 % CI "
        f"{result.ci_low:.2f}–{result.ci_high:.2f}, p < 0.001)"
    )


def test_a_shift_in_a_categorical_feature_is_summed_back_to_that_feature() -> None:
    result = drift(
        batch(3000, seed=1), batch(3000, seed=2, colour_shares=(0.1, 0.1, 0.15, 0.25, 0.4))
    )

    assert result.value > 0.6
    assert result.pvalue < 1e-6
    assert top_feature(result) == "colour"
    assert set(result.feature_importance) == set(NUMERIC + CATEGORICAL)
    assert sum(result.feature_importance.values()) == pytest.approx(1.0)


def test_feature_importance_is_listed_largest_first() -> None:
    importance = drift(batch(1000, seed=1), batch(1000, seed=2, age_shift=8.0)).feature_importance

    assert list(importance.values()) == sorted(importance.values(), reverse=True)


def test_the_confidence_interval_is_wilsons_around_the_hold_out_accuracy() -> None:
    result = drift(batch(1000, seed=1), batch(1000, seed=2, age_shift=5.0))
    correct = round(result.value * result.test_rows)

    assert (result.ci_low, result.ci_high) == wilson_interval(correct, result.test_rows)
    assert result.ci_low < result.value < result.ci_high


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0)],
)
def test_wilson_interval_matches_published_values(
    successes: int, trials: int, low: float, high: float
) -> None:
    assert wilson_interval(successes, trials) == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_matches_a_hand_computation() -> None:
    # 62 of 100 at 95 %, written in the other textbook form:
    # (k + z²/2) / (n + z²) ± z·√n / (n + z²) · √(p(1 − p) + z²/4n)
    k, n, z = 62, 100, 1.959963984540054
    p = k / n
    centre = (k + z * z / 2) / (n + z * z)
    half = z * math.sqrt(n) / (n + z * z) * math.sqrt(p * (1 - p) + z * z / (4 * n))

    assert wilson_interval(k, n) == pytest.approx((centre - half, centre + half), rel=1e-12)
    assert wilson_interval(k, n) == pytest.approx((0.5221, 0.7090), abs=5e-5)


def test_wilson_interval_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError, match="at least one trial"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match=r"0\.\.10"):
        wilson_interval(11, 10)


def test_the_result_is_plain_json() -> None:
    result = drift(batch(200, seed=1), batch(200, seed=2))

    decoded = json.loads(json.dumps(result.to_dict()))

    assert decoded["value"] == result.value
    assert decoded["pvalue"] == result.pvalue
    assert decoded["rows_per_side"] == 200
    assert decoded["feature_importance"] == result.feature_importance


# --- sampling and determinism -------------------------------------------------------------------


def test_the_same_inputs_and_seed_give_the_same_result() -> None:
    reference, current = batch(2000, seed=1), batch(3000, seed=2, age_shift=3.0)

    first = drift(reference, current, sample_size=1500, seed=5)

    assert drift(reference, current, sample_size=1500, seed=5) == first
    assert drift(reference, current, sample_size=1500, seed=6) != first


def test_the_result_is_the_same_in_another_process() -> None:
    # Another interpreter, with another string-hash seed, must find exactly the same figures.
    case = """
import numpy as np
import pandas as pd
from include.drift.domain_classifier import domain_classifier_drift
rng = np.random.default_rng(11)
reference = pd.DataFrame({"x": rng.normal(0, 1, 1500), "k": rng.choice(list("abc"), 1500)})
current = pd.DataFrame({"x": rng.normal(0.3, 1, 1500), "k": rng.choice(list("abcd"), 1500)})
result = domain_classifier_drift(reference, current, numeric=["x"], categorical=["k"])
"""
    here: dict = {}
    exec(case, here)
    output = subprocess.run(
        [sys.executable, "-c", case + "import json; print(json.dumps(result.to_dict()))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"},
    ).stdout

    assert json.loads(output) == here["result"].to_dict()


def test_both_sides_are_sampled_down_to_the_smaller_one() -> None:
    result = drift(batch(100, seed=1), batch(10_000, seed=2))

    assert result.rows_per_side == 100
    assert (result.train_rows, result.test_rows) == (140, 60)


def test_both_sides_are_capped_at_the_sample_size() -> None:
    result = drift(batch(3000, seed=1), batch(2000, seed=2), sample_size=500)

    assert result.rows_per_side == 500
    assert result.train_rows + result.test_rows == 1000
    assert result.test_rows == 300


def test_rows_are_read_by_position_whatever_the_index() -> None:
    reference, current = batch(500, seed=1), batch(800, seed=2, age_shift=15.0)
    shuffled = current.set_axis(np.arange(800)[::-1] * 7 + 3)

    assert drift(reference, shuffled) == drift(reference, current)


# --- categories ---------------------------------------------------------------------------------


def test_at_most_twenty_categories_get_their_own_column() -> None:
    counts = {f"c{i:02d}": 10 for i in range(50)}

    assert top_categories(counts) == [f"c{i:02d}" for i in range(20)]


def test_a_dominant_category_needs_no_other_columns() -> None:
    assert top_categories({"rare": 2, "usual": 96, "odd": 2}) == ["usual"]


def test_only_as_many_categories_as_cover_95_percent() -> None:
    assert top_categories({"a": 70, "b": 25, "c": 4, "d": 1}) == ["a", "b"]
    assert top_categories({"a": 50, "b": 30, "c": 20}) == ["a", "b", "c"]
    assert top_categories({"b": 5, "a": 5, "z": 0}, coverage=0.5) == ["a"]


def test_a_shift_into_rare_categories_is_seen_through_others() -> None:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"shop": rng.choice([f"usual{i:02d}" for i in range(20)], 2000)})
    current = pd.DataFrame({"shop": rng.choice([f"rare{i:03d}" for i in range(100)], 2000)})

    result = domain_classifier_drift(reference, current, numeric=[], categorical=["shop"])

    assert result.value > 0.95
    assert result.feature_importance == {"shop": pytest.approx(1.0)}


def test_values_unseen_in_training_count_as_others_not_as_drift() -> None:
    # Every row has its own identifier: the hold-out rows hold only values never trained on.
    reference = pd.DataFrame({"row_id": [f"id{i}" for i in range(2000)]})
    current = pd.DataFrame({"row_id": [f"id{i}" for i in range(2000, 4000)]})

    result = domain_classifier_drift(reference, current, numeric=[], categorical=["row_id"])

    assert result.value == pytest.approx(0.5, abs=0.05)
    assert result.pvalue > 0.05


def test_categories_are_compared_as_text() -> None:
    rng = np.random.default_rng(4)
    codes = rng.choice([7, 8, 9], 2000)
    reference = pd.DataFrame({"code": codes[:1000]})
    with_missing = np.where(np.arange(1000) % 2 == 0, codes[1000:].astype(float), np.nan)
    as_floats = pd.DataFrame({"code": with_missing})
    as_text = pd.DataFrame({"code": pd.Series(codes[1000:].astype(str), dtype=object)})

    same = domain_classifier_drift(reference, as_text, numeric=[], categorical=["code"])
    half_missing = domain_classifier_drift(reference, as_floats, numeric=[], categorical=["code"])

    assert same.pvalue > 0.05
    # 7.0 is "7": only the missing half of the current rows tells the batches apart.
    assert half_missing.value == pytest.approx(0.75, abs=0.05)


# --- missing values -----------------------------------------------------------------------------


def test_missing_categorical_values_are_a_category_of_their_own() -> None:
    reference = batch(2000, seed=1)
    current = batch(2000, seed=2)
    current["channel"] = current["channel"].where(np.arange(2000) % 2 == 0, None)

    result = drift(reference, current)

    assert result.value > 0.7
    assert top_feature(result) == "channel"


def test_missing_and_infinite_numbers_are_imputed_without_error() -> None:
    reference, current = batch(1000, seed=1), batch(1000, seed=2)
    reference.loc[::7, "amount"] = np.nan
    current.loc[::5, "amount"] = np.inf
    current.loc[1::5, "amount"] = -np.inf
    current["score"] = current["score"].astype("Int64")
    current.loc[::3, "score"] = pd.NA
    reference["age"] = np.nan
    current["age"] = np.nan
    current.loc[::4, "colour"] = None

    result = drift(reference, current)

    assert 0.5 < result.value <= 1.0
    assert result.feature_importance["age"] == 0.0


def test_numbers_written_as_text_are_read() -> None:
    reference, current = batch(500, seed=1), batch(500, seed=2)
    as_text = current.assign(age=current["age"].astype(str).astype("str"))

    assert drift(reference, as_text) == drift(reference, current)


def test_a_forest_with_nothing_to_split_on_reports_no_drift() -> None:
    same = pd.DataFrame({"flat": [1.0] * 10, "kind": ["a"] * 10})

    result = domain_classifier_drift(same, same, numeric=["flat"], categorical=["kind"])

    assert result.value == pytest.approx(0.5, abs=0.2)
    assert result.feature_importance == {"flat": 0.0, "kind": 0.0}
    assert result.pvalue > 0.05


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["reference", "current"])
def test_a_missing_feature_is_named_with_its_side(side: str) -> None:
    frames = {"reference": batch(50, seed=1), "current": batch(50, seed=2)}
    frames[side] = frames[side].drop(columns="age")

    with pytest.raises(DataValidationError, match=rf"the {side} batch has no column\(s\) 'age'"):
        drift(frames["reference"], frames["current"])


@pytest.mark.parametrize("side", ["reference", "current"])
def test_an_empty_side_is_refused(side: str) -> None:
    frames = {"reference": batch(50, seed=1), "current": batch(50, seed=2)}
    frames[side] = frames[side].iloc[:0]

    with pytest.raises(DataValidationError, match=f"the {side} batch has no rows"):
        drift(frames["reference"], frames["current"])


def test_too_few_rows_to_split_are_refused_saying_how_many_are_needed() -> None:
    with pytest.raises(DataValidationError, match=r"has 9 row.*at least 10 on each side"):
        drift(batch(50, seed=1), batch(9, seed=2))


def test_ten_rows_a_side_are_enough() -> None:
    assert drift(batch(10, seed=1), batch(10, seed=2)).test_rows == 6


def test_text_in_a_numeric_feature_is_refused_with_an_example() -> None:
    current = batch(50, seed=2).astype({"age": object})
    current.loc[:, "age"] = "unknown"

    with pytest.raises(
        DataValidationError, match=r"'age' of the current batch holds text, e.g. 'unk"
    ):
        drift(batch(50, seed=1), current)


def test_dates_in_a_numeric_feature_are_refused() -> None:
    reference = batch(50, seed=1).assign(age=pd.Timestamp("2017-01-01"))

    with pytest.raises(DataValidationError, match="'age' of the reference batch has dtype date"):
        drift(reference, batch(50, seed=2))


@pytest.mark.parametrize(
    ("numeric", "categorical", "message"),
    [
        ([], [], "no features"),
        (["age", "age"], [], "listed twice"),
        (["age"], ["age"], "listed twice or as both types"),
        ("age", [], "lists of feature names"),
    ],
)
def test_bad_feature_lists_are_refused(numeric, categorical, message: str) -> None:
    with pytest.raises(DataValidationError, match=message):
        drift(batch(50, seed=1), batch(50, seed=2), numeric=numeric, categorical=categorical)


def test_a_sample_size_too_small_to_split_is_refused() -> None:
    with pytest.raises(DataValidationError, match="sample_size must be at least 10"):
        drift(batch(50, seed=1), batch(50, seed=2), sample_size=5)


# --- riskiest features --------------------------------------------------------------------------


def test_the_riskiest_features_are_high_on_both_lists() -> None:
    drifting = {"age": 0.5, "score": 0.3, "amount": 0.15, "colour": 0.05}
    model = {"age": 0.1, "score": 0.5, "amount": 0.3, "colour": 0.1}

    risky = riskiest_features(drifting, model, top=3)

    # risk: score √(0.6 · 1) = 0.77, age √(1 · 0.2) = 0.45, amount √(0.3 · 0.6) = 0.42
    assert [r.feature for r in risky] == ["score", "age", "amount"]
    assert risky[0] == RiskyFeature("score", 0.3, 0.5, pytest.approx(math.sqrt(0.6)))
    assert risky[2].risk == pytest.approx(math.sqrt(0.3 * 0.6))


def test_riskiest_features_break_ties_by_name_and_leave_out_zero_risk() -> None:
    drifting = {"b": 1.0, "a": 1.0, "c": 1.0, "only_drift": 1.0}
    model = {"a": 2.0, "b": 2.0, "c": -0.1, "only_model": 2.0}

    assert [r.feature for r in riskiest_features(drifting, model)] == ["a", "b"]
    assert riskiest_features(drifting, dict.fromkeys(model, 0.0)) == []


def test_riskiest_features_refuses_nonsense() -> None:
    with pytest.raises(DataValidationError, match="model importance of feature 'a' is nan"):
        riskiest_features({"a": 1.0}, {"a": float("nan")})
    with pytest.raises(ValueError, match="top must be at least 1"):
        riskiest_features({"a": 1.0}, {"a": 1.0}, top=0)


# --- the tutorial data --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tutorial_drift() -> dict[str, DataDrift]:
    config = load_config()
    data = prepare_transactions(generate_tables(transactions_per_quarter=5000, seed=7))
    reference = select_period(data, config.date_column, Period.parse("2017Q1"))
    return {
        quarter: domain_classifier_drift(
            reference,
            select_period(data, config.date_column, Period.parse(quarter)),
            numeric=config.numeric_features,
            categorical=config.categorical_features,
            sample_size=config.drift.sample_size,
            seed=config.drift.seed,
        )
        for quarter in ("2017Q2", "2017Q3", "2017Q4")
    }


def test_tutorial_data_drift_grows_through_the_year(tutorial_drift: dict[str, DataDrift]) -> None:
    q2, q3, q4 = (tutorial_drift[q] for q in ("2017Q2", "2017Q3", "2017Q4"))

    assert q2.value < q3.value < q4.value
    assert q4.drifted(alpha=0.05)
    assert q4.value > 0.65


def test_tutorial_q4_drift_lies_in_card_age_and_fico_score(
    tutorial_drift: dict[str, DataDrift],
) -> None:
    top_three = list(tutorial_drift["2017Q4"].feature_importance)[:3]

    assert {"card_age", "card_fico_score"} <= set(top_three)
