"""The flag at the edges: sample sizes, missing shares and high cardinality (issue 11)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.config import DriftSettings
from include.drift.rule import DriftRule
from include.drift.univariate import FeatureDrift, build_reference_profile, univariate_drift


def drift_of(reference, current, *, numeric=(), categorical=(), **options) -> list[FeatureDrift]:
    profile = build_reference_profile(
        pd.DataFrame(reference), numeric=list(numeric), categorical=list(categorical)
    )
    return univariate_drift(profile, pd.DataFrame(current), **options)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2026)


def test_the_settings_and_the_rule_have_the_same_defaults():
    assert DriftRule.from_settings(DriftSettings()) == DriftRule()


def test_a_trivial_shift_on_a_million_rows_is_significant_but_not_material(rng):
    (drift,) = drift_of(
        {"x": rng.normal(size=1_000_000)}, {"x": rng.normal(0.02, size=1_000_000)}, numeric=["x"]
    )

    assert drift.pvalue_adjusted < 1e-10
    assert drift.pvalue_drifted
    assert drift.material is False
    assert drift.effect_size < 0.1
    assert drift.drifted is False
    assert drift.flag_basis == "significance and effect size"


def test_a_material_shift_is_flagged_at_a_thousand_rows(rng):
    (location, scale, shares) = drift_of(
        {
            "location": rng.normal(size=1_000),
            "scale": rng.normal(size=1_000),
            "shares": rng.choice(list("abcd"), 1_000, p=[0.4, 0.3, 0.2, 0.1]),
        },
        {
            "location": rng.normal(0.25, size=1_000),
            "scale": rng.normal(scale=1.5, size=1_000),
            "shares": rng.choice(list("abcd"), 1_000, p=[0.28, 0.36, 0.24, 0.12]),
        },
        numeric=["location", "scale"],
        categorical=["shares"],
    )

    for drift in (location, scale, shares):
        assert drift.drifted, drift.feature
        assert drift.material is True
        assert drift.flag_basis == "significance and effect size"


def test_a_feature_going_all_missing_is_drifted(rng):
    numeric, categorical = drift_of(
        {"n": rng.normal(size=5_000), "c": rng.choice(list("ab"), 5_000)},
        {"n": [np.nan] * 3_000, "c": [None] * 3_000},
        numeric=["n"],
        categorical=["c"],
    )

    assert numeric.drifted
    assert numeric.missing_drifted
    assert numeric.ks_pvalue is None  # no value to compare the distribution with
    assert numeric.missing_share_change == 1.0
    assert numeric.missing_effect_size == pytest.approx(np.pi)
    assert categorical.drifted
    assert categorical.missing_drifted
    assert categorical.distribution_drifted


def test_a_small_rise_of_the_missing_share_is_drifted_and_a_trivial_one_not(rng):
    values = rng.normal(size=20_000)
    rise, trivial = drift_of(
        {"rise": values, "trivial": np.where(rng.random(20_000) < 0.05, np.nan, values)},
        {
            "rise": np.where(rng.random(20_000) < 0.05, np.nan, values),
            "trivial": np.where(rng.random(20_000) < 0.055, np.nan, values),
        },
        numeric=["rise", "trivial"],
    )

    assert rise.missing_drifted
    assert rise.drifted
    assert not rise.distribution_drifted
    assert not trivial.missing_drifted


def test_fifty_thousand_categories_with_a_batch_ninety_percent_unseen_drift(rng):
    reference = rng.integers(0, 50_000, 200_000).astype(str)
    seen = rng.integers(0, 50_000, 20_000)
    current = np.where(rng.random(20_000) < 0.9, seen + 50_000, seen).astype(str)

    (drift,) = drift_of({"c": reference}, {"c": current}, categorical=["c"])

    assert drift.drifted
    assert drift.new_share == pytest.approx(0.9, abs=0.01)
    assert drift.new_category_count > 10_000
    assert len(drift.new_categories) == 100  # listed up to 100; the count says how many
    assert drift.chi2_pvalue < 1e-100
    assert drift.psi > 1
    assert drift.effect_size > 0.5


def test_a_nineteen_row_reference_flags_on_significance_alone_and_says_so(rng):
    reference = rng.normal(size=19)
    seasonal, moved = drift_of(
        {"seasonal": reference, "moved": reference},
        {"seasonal": rng.normal(0.3, size=90), "moved": rng.normal(3.0, size=90)},
        numeric=["seasonal", "moved"],
    )

    for drift in (seasonal, moved):
        assert drift.flag_basis == "significance alone"
        assert drift.effect_size_trusted is False
        assert drift.material is None
        assert "only 19 finite values in the reference" in drift.note
        assert "the flag rests on the p-value alone" in drift.note
    assert seasonal.pvalue_adjusted > 0.05
    assert not seasonal.drifted
    assert moved.drifted


def test_a_large_psi_on_few_rows_without_significance_is_not_drifted(rng):
    (drift,) = drift_of({"x": rng.normal(size=19)}, {"x": rng.normal(size=90)}, numeric=["x"])

    assert drift.psi_drifted  # reported: 19 rows leave the decile bins noisy
    assert not drift.pvalue_drifted
    assert not drift.drifted


def test_thresholds_are_configurable(rng):
    frames = ({"x": rng.normal(size=5_000)}, {"x": rng.normal(0.15, size=5_000)})

    (default,) = drift_of(*frames, numeric=["x"])
    (strict,) = drift_of(*frames, numeric=["x"], wasserstein_threshold=0.5)
    (no_effect,) = drift_of(*frames, numeric=["x"], min_rows_for_effect_size=10_000)

    assert default.drifted
    assert not strict.drifted
    assert no_effect.drifted
    assert no_effect.flag_basis == "significance alone"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"wasserstein_threshold": -1}, "wasserstein_threshold must be >= 0"),
        ({"rare_category_share": 1.0}, "rare_category_share must lie in"),
        ({"max_categories": 0}, "max_categories >= 1"),
    ],
)
def test_bad_thresholds_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        DriftRule(**options)
