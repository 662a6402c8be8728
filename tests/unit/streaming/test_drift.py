"""Univariate drift from a batch's summaries against ``univariate_drift`` on the whole frame.

A reference of 120,000 rows and a batch of 150,000 (a shifted skewed feature, an unchanged one,
one with a small shift and more missing values, a constant one with infinite values, one all
missing in the batch; categories with new ones and missing values, and many categories of which
the rare ones are grouped), the batch summarised in three partitions of four chunks each and
merged.

The KLL sketches are randomised and cannot be seeded, so nothing here compares against a fixed
number that a sketch produces: every inexact field is compared with the bound the module
returns. Those bounds come from the bin counts (certain) and are narrowed by a sketch only where
the batch crowds into one reference bin, by more than the sketch's rank error at 99 %
confidence; these features never crowd a bin (each holds 0.1 % of the reference and at most a
few times that of the batch), so the comparisons do not fail by chance.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest

from include.drift.reference import build_reference_profile
from include.drift.rule import DriftRule
from include.drift.univariate import univariate_drift
from include.errors import DataValidationError
from include.streaming.columns import CategorySummary, NumericSummary, reference_edges
from include.streaming.drift import FLAGS, summary_drift

NUMERIC = ["amount", "age", "score", "constant", "empty"]
CATEGORICAL = ["channel", "country"]
COUNTRIES = [f"c{i:02d}" for i in range(60)]


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(14)

    def frame(rows: int, *, scale: float, shift: float, missing: float, new: bool) -> dict:
        score = rng.normal(shift, 1.0, rows)
        score[rng.random(rows) < missing] = np.nan
        channels = ["web", "store", "phone", "app", "kiosk", None]
        shares = [0.45, 0.3, 0.2, 0.03, 0.01, 0.01] if new else [0.5, 0.3, 0.18, 0, 0, 0.02]
        weights = 1 / np.arange(1, len(COUNTRIES) + 1) ** 1.2
        return {
            "amount": rng.gamma(2.0, scale, rows),
            "age": rng.normal(40, 12, rows),
            "score": score,
            "constant": np.ones(rows),
            "empty": rng.normal(0, 1, rows),
            "channel": rng.choice(np.array(channels, dtype=object), rows, p=shares),
            "country": rng.choice(COUNTRIES, rows, p=weights / weights.sum()),
        }

    reference = pd.DataFrame(frame(120_000, scale=30, shift=0.0, missing=0.01, new=False))
    current = pd.DataFrame(frame(150_000, scale=36, shift=0.05, missing=0.06, new=True))
    current.loc[current.index[:30], "constant"] = np.inf
    current["empty"] = np.nan
    return reference, current


REFERENCE, CURRENT = _frames()
PROFILE = build_reference_profile(REFERENCE, numeric=NUMERIC, categorical=CATEGORICAL)


def _split(frame: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    bounds = np.linspace(0, len(frame), parts + 1).astype(int)
    return [frame.iloc[start:end] for start, end in itertools.pairwise(bounds)]


def _summaries() -> tuple[dict[str, NumericSummary], dict[str, CategorySummary]]:
    """The batch's summaries merged from three partitions, each summarised in four chunks."""
    edges = {feature.name: reference_edges(feature) for feature in PROFILE.numeric}
    numeric: dict[str, NumericSummary] = {}
    categorical: dict[str, CategorySummary] = {}
    for partition in _split(CURRENT, 3):
        part_numeric = {name: NumericSummary.empty(name, edges[name]) for name in NUMERIC}
        part_categorical = {name: CategorySummary(name) for name in CATEGORICAL}
        for chunk in _split(partition, 4):
            for name, summary in {**part_numeric, **part_categorical}.items():
                summary.update(chunk[name])
        for whole, part in ((numeric, part_numeric), (categorical, part_categorical)):
            for name, summary in part.items():
                whole[name] = whole[name].merge(summary) if name in whole else summary
    return numeric, categorical


NUMERIC_SUMMARIES, CATEGORICAL_SUMMARIES = _summaries()


@pytest.fixture(scope="module")
def compared():
    expected = univariate_drift(PROFILE, CURRENT)
    streamed, bounds = summary_drift(PROFILE, NUMERIC_SUMMARIES, CATEGORICAL_SUMMARIES)
    return expected, streamed, bounds


def test_every_field_is_the_in_memory_one_or_within_its_bound(compared):
    expected, streamed, bounds = compared

    assert [d.feature for d in streamed] == [d.feature for d in expected]
    for exact, estimate in zip(expected, streamed, strict=True):
        bounded = bounds.get(exact.feature, {})
        for field in dataclasses.fields(exact):
            mine, theirs = getattr(estimate, field.name), getattr(exact, field.name)
            if field.name in bounded:
                assert abs(mine - theirs) <= bounded[field.name], (exact.feature, field.name)
            else:
                assert mine == theirs, (exact.feature, field.name)


def test_only_the_ks_test_and_the_distance_are_bounded_and_no_drift_flag_is_in_doubt(compared):
    _, streamed, bounds = compared
    inexact = {"ks_statistic", "ks_pvalue", "wasserstein", "effect_size"}
    # the unchanged "age" (KS p about 0.13) may be significant at the far end of its KS bound:
    # its pvalue_drifted is in doubt, but no effect size is near a threshold, so no drift flag
    derived = {"pvalue_adjusted", "missing_pvalue_adjusted", "pvalue_drifted"}

    assert set(bounds) <= {*NUMERIC, *CATEGORICAL}
    for feature in ("amount", "age", "score"):
        assert inexact <= set(bounds[feature]) <= inexact | derived
    for feature in ("constant", "empty", *CATEGORICAL):
        assert set(bounds.get(feature, {})) <= derived | {
            "ks_statistic",
            "ks_pvalue",
            "wasserstein",
        }
    assert not any((set(FLAGS) - {"pvalue_drifted"}) & set(entry) for entry in bounds.values())
    # the 0.1 % reference bins keep the bounds far below the thresholds they are read against
    assert max(bounds[f]["ks_statistic"] for f in ("amount", "age", "score")) <= 0.0015
    assert max(bounds[f]["effect_size"] for f in ("amount", "age", "score")) <= 0.02
    flags = {d.feature: d.drifted for d in streamed}
    assert flags == {
        "amount": True,
        "age": False,
        "score": True,  # its missing share
        "constant": False,
        "empty": True,
        "channel": True,
        "country": False,
    }


def test_a_flag_on_the_edge_of_its_threshold_is_reported_in_doubt(compared):
    _, streamed, _ = compared
    amount = next(d for d in streamed if d.feature == "amount")
    on_the_edge = DriftRule(wasserstein_threshold=amount.effect_size)

    _, bounds = summary_drift(PROFILE, NUMERIC_SUMMARIES, CATEGORICAL_SUMMARIES, rule=on_the_edge)

    assert bounds["amount"]["material"] == 1.0
    assert bounds["amount"]["distribution_drifted"] == 1.0
    assert "material" not in bounds["age"]


def test_absent_features_and_summaries_of_other_batches_are_refused():
    without_age = {n: s for n, s in NUMERIC_SUMMARIES.items() if n != "age"}
    with pytest.raises(DataValidationError, match="age"):
        summary_drift(PROFILE, without_age, CATEGORICAL_SUMMARIES)

    partial = CategorySummary("country")
    partial.update(CURRENT["country"].head(100))
    with pytest.raises(DataValidationError, match="different rows"):
        summary_drift(PROFILE, NUMERIC_SUMMARIES, {**CATEGORICAL_SUMMARIES, "country": partial})


def test_small_sides_leave_the_ks_pvalue_open():
    # with at most 10,000 values a side the in-memory p-value is scipy's exact one, which a
    # summary cannot give: the bound says the p-value may be anything
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 5_000)})
    current = pd.DataFrame({"x": rng.normal(0, 1, 4_000)})
    profile = build_reference_profile(reference, numeric=["x"], categorical=[])
    summary = NumericSummary.empty("x", reference_edges(profile.numeric[0]))
    summary.update(current["x"])

    (exact,) = univariate_drift(profile, current)
    (estimate,), bounds = summary_drift(profile, {"x": summary}, {})

    pvalue, bound = estimate.ks_pvalue, bounds["x"]["ks_pvalue"]
    assert pvalue - bound <= 0.0
    assert pvalue + bound >= 1.0
    assert abs(estimate.ks_statistic - exact.ks_statistic) <= bounds["x"]["ks_statistic"]
    assert estimate.psi == exact.psi
