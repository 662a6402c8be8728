from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from include.config import load_config
from include.data.batches import select_period
from include.drift.stats.psi import decile_psi
from include.drift.univariate import (
    FeatureDrift,
    ReferenceProfile,
    build_reference_profile,
    univariate_drift,
)
from include.errors import DataValidationError, EmptyBatchError
from include.periods import Period
from include.tutorial.generator import generate_tables
from include.tutorial.prepare import prepare_transactions


def drift_of(reference, current, *, numeric=(), categorical=(), **options) -> list[FeatureDrift]:
    profile = build_reference_profile(
        pd.DataFrame(reference), numeric=list(numeric), categorical=list(categorical)
    )
    return univariate_drift(profile, pd.DataFrame(current), **options)


def one(reference, current, **options) -> FeatureDrift:
    (drift,) = drift_of({"x": reference}, {"x": current}, **options)
    return drift


def numeric(reference, current, **options) -> FeatureDrift:
    return one(reference, current, numeric=["x"], **options)


def categorical(reference, current, **options) -> FeatureDrift:
    return one(reference, current, categorical=["x"], **options)


def is_json_ready(drift: FeatureDrift) -> bool:
    json.dumps(drift.to_dict(), allow_nan=False)
    return True


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


@pytest.mark.parametrize("size", [3_000, 20_000])
def test_numeric_statistics_equal_scipy_on_the_finite_values(rng, size):
    reference = rng.normal(size=size)
    current = rng.normal(0.05, 1.1, size=size + 500)
    reference[:10], current[:20], current[20:23] = np.nan, np.nan, [np.inf, -np.inf, np.inf]
    finite_ref, finite_cur = reference[np.isfinite(reference)], current[np.isfinite(current)]

    drift = numeric(reference, current, correction="none")

    expected = stats.ks_2samp(finite_ref, finite_cur)
    assert drift.kind == "numeric"
    assert drift.ks_statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert drift.ks_pvalue == pytest.approx(expected.pvalue, abs=1e-12)
    assert drift.wasserstein == pytest.approx(
        stats.wasserstein_distance(finite_ref, finite_cur), rel=1e-12
    )
    assert drift.psi == decile_psi(np.sort(finite_ref), np.sort(finite_cur))[0]
    assert drift.pvalue_adjusted == drift.ks_pvalue
    assert (drift.reference_rows, drift.current_rows) == (size, size + 500)
    assert drift.reference_missing_share == 10 / size
    assert drift.current_missing_share == 20 / (size + 500)
    assert (drift.reference_infinite, drift.current_infinite) == (0, 3)
    assert drift.chi2_statistic is None
    assert drift.note is None


def test_numeric_histogram_shares_bins_with_open_outer_ones(rng):
    drift = numeric(rng.normal(size=5_000), rng.normal(10, size=300))

    histogram = drift.histogram
    assert len(histogram["edges"]) == 23
    assert histogram["edges"][0] == -math.inf
    assert histogram["edges"][-1] == math.inf
    assert len(histogram["reference"]) == len(histogram["current"]) == 22
    assert histogram["current"][-1] == 1.0  # every value far above the reference range
    assert sum(histogram["reference"]) == pytest.approx(1.0)
    assert drift.to_dict()["histogram"]["edges"][0] is None
    assert is_json_ready(drift)


def test_categorical_chi_square_on_counts_with_missing_as_a_category():
    reference = ["a"] * 500 + ["b"] * 300 + [None] * 200
    current = ["a"] * 40 + ["b"] * 50 + [None] * 5 + ["c"] * 5

    drift = categorical(reference, current)

    expected = stats.chi2_contingency(
        np.array([[500, 300, 200, 0], [40, 50, 5, 5]]), correction=False
    )
    assert drift.kind == "categorical"
    assert drift.chi2_statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert drift.chi2_pvalue == pytest.approx(expected.pvalue, rel=1e-12)
    assert drift.chi2_dof == 3
    assert drift.new_categories == ("c",)
    assert drift.vanished_categories == ()
    assert drift.reference_missing_share == 0.2
    assert drift.current_missing_share == 0.05
    shares_ref, shares_cur = np.array([0.5, 0.3, 0.2, 0.001]), np.array([0.4, 0.5, 0.05, 0.05])
    assert drift.psi == pytest.approx(
        np.sum((shares_cur - shares_ref) * np.log(shares_cur / shares_ref)), rel=1e-12
    )
    assert drift.ks_statistic is None
    assert drift.histogram == {
        "categories": ["a", "b", "(missing)", "c"],
        "reference": [0.5, 0.3, 0.2, 0.0],
        "current": [0.4, 0.5, 0.05, 0.05],
    }
    assert is_json_ready(drift)


def test_categories_are_compared_as_text_and_vanished_ones_listed():
    drift = categorical([1, 2, 3] * 100, ["1", "2"] * 150)

    assert drift.new_categories == ()
    assert drift.vanished_categories == ("3",)


def test_categorical_histogram_keeps_the_20_largest_and_sums_the_others():
    reference = [f"c{i:02d}" for i in range(30) for _ in range(30 - i)]

    drift = categorical(reference, reference)

    assert drift.histogram["categories"] == [f"c{i:02d}" for i in range(20)] + ["(others)"]
    assert sum(drift.histogram["reference"]) == pytest.approx(1.0)
    assert drift.histogram["current"][-1] == pytest.approx(sum(range(1, 11)) / len(reference))


def test_flags_follow_alpha_and_the_psi_threshold(rng):
    reference = rng.normal(size=2_000)
    shifted = numeric(reference, rng.normal(1.0, size=2_000))
    stable = numeric(reference, rng.normal(size=2_000))
    lenient = numeric(reference, rng.normal(1.0, size=2_000), alpha=1e-300, psi_threshold=100)

    assert (shifted.pvalue_drifted, shifted.psi_drifted, shifted.drifted) == (True, True, True)
    assert (stable.pvalue_drifted, stable.psi_drifted, stable.drifted) == (False, False, False)
    assert lenient.drifted is False


def test_correction_is_applied_across_all_features(rng):
    frames = (
        {"a": rng.normal(size=500), "b": rng.normal(size=500), "c": rng.choice(["x", "y"], 500)},
        {"a": rng.normal(0.2, size=400), "b": rng.normal(size=400), "c": rng.choice(["x"], 400)},
    )
    options = {"numeric": ["a", "b"], "categorical": ["c"]}

    raw = drift_of(*frames, **options, correction="none")
    bonferroni = drift_of(*frames, **options, correction="bonferroni")
    bh = drift_of(*frames, **options, correction="benjamini-hochberg")

    pvalues = np.array([d.pvalue for d in raw])
    assert [d.pvalue_adjusted for d in raw] == pvalues.tolist()
    assert [d.pvalue_adjusted for d in bonferroni] == np.minimum(pvalues * 3, 1).tolist()
    np.testing.assert_allclose(
        [d.pvalue_adjusted for d in bh], stats.false_discovery_control(pvalues), rtol=1e-15
    )
    assert [d.pvalue for d in bonferroni] == pvalues.tolist()


def test_untestable_features_do_not_count_in_the_correction(rng):
    frames = (
        {"a": rng.normal(size=300), "gone": rng.normal(size=300)},
        {"a": rng.normal(0.1, size=300), "gone": [np.nan] * 300},
    )

    a, gone = drift_of(*frames, numeric=["a", "gone"], correction="bonferroni")

    # tested: a's distribution and gone's missing share; neither a's missing share (none on
    # either side) nor gone's distribution (no value in the batch) counts
    assert a.pvalue_adjusted == min(1.0, a.ks_pvalue * 2)
    assert a.missing_pvalue is None
    assert gone.pvalue_adjusted is None
    assert gone.missing_pvalue_adjusted == min(1.0, gone.missing_pvalue * 2)


# --- edge cases -----------------------------------------------------------------------------


def test_same_constant_on_both_sides_is_no_drift():
    drift = numeric([5.0] * 50, [5.0] * 20)

    assert (drift.ks_statistic, drift.ks_pvalue, drift.wasserstein, drift.psi) == (0, 1, 0, 0)
    assert drift.drifted is False
    assert "single value" in drift.note


def test_a_constant_that_changes_is_drift():
    drift = numeric([5.0] * 200, [6.0] * 200)

    assert drift.ks_statistic == 1.0
    assert drift.wasserstein == 1.0
    assert drift.pvalue_drifted
    assert drift.psi_drifted


@pytest.mark.parametrize(
    ("reference", "current", "side"),
    [
        ([1.0, 2.0, 3.0], [np.nan, np.inf], "current batch"),
        ([np.nan] * 3, [1.0, 2.0], "reference"),
        ([None] * 3, [None] * 2, "reference nor in the current batch"),
    ],
)
def test_a_numeric_feature_without_finite_values_gets_no_statistics_and_a_note(
    reference, current, side
):
    drift = numeric(reference, current)

    assert drift.ks_statistic is drift.ks_pvalue is drift.wasserstein is drift.psi is None
    assert drift.pvalue_adjusted is None
    assert drift.drifted is False
    assert f"no finite value in the {side}" in drift.note
    assert is_json_ready(drift)


def test_all_missing_categorical_is_a_category_of_its_own():
    drift = categorical(["a", "b"] * 100, [None] * 100)

    assert drift.new_categories == ("(missing)",)
    assert drift.vanished_categories == ("a", "b")
    assert drift.current_missing_share == 1.0
    assert drift.pvalue_drifted
    assert drift.psi_drifted


def test_a_single_category_on_both_sides_is_no_drift():
    drift = categorical(["a"] * 100, ["a"] * 7)

    assert (drift.chi2_statistic, drift.chi2_pvalue, drift.chi2_dof, drift.psi) == (0, 1, 0, 0)
    assert drift.drifted is False
    assert "single category" in drift.note


def test_a_new_category_is_reported_not_dropped():
    drift = categorical(["a", "b"] * 500, ["a", "b"] * 450 + ["z"] * 100)

    assert drift.new_categories == ("z",)
    assert drift.chi2_dof == 2
    assert drift.drifted is True


@pytest.mark.parametrize("reference_size", [1_000, 50_000])
def test_a_batch_of_three_rows_gives_statistics_and_a_note(rng, reference_size):
    reference, current = rng.normal(size=reference_size), [0.1, -0.2, 3.0]

    drift = numeric(reference, current)

    assert drift.ks_pvalue == pytest.approx(stats.ks_2samp(reference, current).pvalue, abs=1e-12)
    assert drift.psi > 0.2  # a few rows leave most bins empty: PSI alone would cry drift
    assert drift.pvalue_drifted is False
    assert f"{reference_size:,} finite values in the reference and 3 in the current" in drift.note
    assert "the flag rests on the p-value alone" in drift.note


def test_a_feature_missing_from_the_batch_is_named():
    profile = build_reference_profile(
        pd.DataFrame({"card_age": [1, 2], "program": ["a", "b"]}),
        numeric=["card_age"],
        categorical=["program"],
    )

    with pytest.raises(DataValidationError, match=r"\['program'\] missing from the current"):
        univariate_drift(profile, pd.DataFrame({"card_age": [3]}))


def test_text_in_a_numeric_feature_is_named():
    profile = build_reference_profile(
        pd.DataFrame({"fico": [700, 710]}), numeric=["fico"], categorical=[]
    )

    with pytest.raises(DataValidationError, match="feature 'fico' is listed as numeric"):
        univariate_drift(profile, pd.DataFrame({"fico": ["700", "n/a"]}))


def test_an_empty_batch_and_bad_settings_are_refused():
    profile = build_reference_profile(pd.DataFrame({"x": [1.0]}), numeric=["x"], categorical=[])

    with pytest.raises(EmptyBatchError, match="no rows"):
        univariate_drift(profile, pd.DataFrame({"x": []}))
    for options, message in (
        ({"alpha": 0}, "alpha must lie between 0 and 1"),
        ({"psi_threshold": -1}, "psi_threshold must be > 0"),
        ({"correction": "sidak"}, "unknown correction 'sidak'"),
    ):
        with pytest.raises(ValueError, match=message):
            univariate_drift(profile, pd.DataFrame({"x": [1.0]}), **options)


def test_a_loaded_profile_gives_the_same_results(tmp_path, rng):
    reference = pd.DataFrame({"x": rng.normal(size=3_000), "c": rng.choice(["a", "b"], 3_000)})
    current = pd.DataFrame({"x": rng.normal(0.1, size=2_000), "c": rng.choice(["a", "c"], 2_000)})
    profile = build_reference_profile(reference, numeric=["x"], categorical=["c"])
    profile.save(tmp_path)

    loaded = univariate_drift(ReferenceProfile.load(tmp_path), current)

    assert [d.to_dict() for d in loaded] == [
        d.to_dict() for d in univariate_drift(profile, current)
    ]


# --- the tutorial data ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tutorial_drift() -> dict[str, dict[str, FeatureDrift]]:
    config = load_config()
    data = prepare_transactions(generate_tables(transactions_per_quarter=5_000, seed=7))
    reference = select_period(data, config.date_column, Period.parse("2017Q1"))
    profile = build_reference_profile(
        reference, numeric=config.numeric_features, categorical=config.categorical_features
    )
    return {
        quarter: {
            d.feature: d
            for d in univariate_drift(
                profile, select_period(data, config.date_column, Period.parse(quarter))
            )
        }
        for quarter in ("2017Q2", "2017Q3", "2017Q4")
    }


@pytest.mark.parametrize("feature", ["card_age", "card_fico_score"])
def test_tutorial_card_features_drift_more_each_quarter(tutorial_drift, feature):
    q2, q3, q4 = (tutorial_drift[q][feature] for q in ("2017Q2", "2017Q3", "2017Q4"))

    assert q4.pvalue_drifted
    assert q4.psi_drifted
    assert q2.psi < q3.psi < q4.psi


@pytest.mark.parametrize("feature", ["purchase_amount", "card_reward_program"])
def test_tutorial_stable_features_are_not_psi_flagged(tutorial_drift, feature):
    assert not any(tutorial_drift[q][feature].psi_drifted for q in tutorial_drift)


def test_tutorial_results_are_json_ready(tutorial_drift):
    assert all(is_json_ready(d) for drifts in tutorial_drift.values() for d in drifts.values())
