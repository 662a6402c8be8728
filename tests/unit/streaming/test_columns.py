from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.drift.columns import MISSING_CATEGORY, count_categories
from include.drift.reference import build_reference_profile
from include.drift.stats.binning import bin_counts
from include.errors import ConfigurationError, DataValidationError, EmptyBatchError
from include.streaming.columns import (
    CategorySummary,
    NumericSummary,
    reference_edges,
)


@pytest.fixture(scope="module")
def reference():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"amount": rng.lognormal(3.0, 1.0, 50_000)})
    return build_reference_profile(frame, numeric=["amount"], categorical=[]).numeric[0]


def _batch(rows: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(3.2, 1.1, rows)
    values[rng.random(rows) < 0.01] = np.nan
    values[rng.random(rows) < 0.001] = np.inf
    return pd.Series(values)


def _summarise(values, edges: np.ndarray, chunks: int = 1) -> NumericSummary:
    summary = NumericSummary.empty("amount", edges)
    for part in np.array_split(np.asarray(values), chunks):
        summary.update(pd.Series(part))
    return summary


def test_edges_hold_the_deciles_and_histogram_edges(reference):
    edges = reference_edges(reference)

    assert np.all(np.diff(edges) > 0)
    assert np.isin(reference.decile_edges, edges).all()
    assert np.isin(reference.histogram_edges, edges).all()
    # about 0.1 % of the reference per bin
    shares = bin_counts(reference.values, edges) / reference.values.size
    assert shares.max() <= 0.0011


def test_partitions_merged_equal_one_pass_and_the_exact_values(reference):
    edges = reference_edges(reference)
    batch = _batch(200_000, seed=6)
    whole = _summarise(batch, edges, chunks=5)
    parts = [_summarise(part, edges, chunks=2) for part in np.array_split(batch, 4)]
    merged = parts[3].merge(parts[1]).merge(parts[0].merge(parts[2]))

    values = batch.to_numpy()
    finite = np.sort(values[np.isfinite(values)])
    assert np.array_equal(merged.counts, whole.counts)
    assert np.array_equal(merged.counts, bin_counts(finite, edges))
    assert (merged.rows, merged.missing, merged.infinite) == (
        values.size,
        int(np.isnan(values).sum()),
        int(np.isinf(values).sum()),
    )
    assert (merged.minimum, merged.maximum) == (finite[0], finite[-1])
    assert merged.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert merged.variance() == pytest.approx(finite.var(), rel=1e-12)
    assert merged.variance(ddof=1) == pytest.approx(finite.var(ddof=1), rel=1e-12)
    assert merged.sketch.n == finite.size


def test_merge_order_does_not_matter_for_counts_and_moments(reference):
    edges = reference_edges(reference)
    parts = [_summarise(part, edges) for part in np.array_split(_batch(30_000, seed=7), 3)]
    left = parts[0].merge(parts[1]).merge(parts[2])
    right = parts[2].merge(parts[1].merge(parts[0]))

    assert np.array_equal(left.counts, right.counts)
    assert (left.rows, left.missing, left.infinite) == (right.rows, right.missing, right.infinite)
    assert left.mean == pytest.approx(right.mean, rel=1e-13)
    assert left.m2 == pytest.approx(right.m2, rel=1e-12)


def test_all_missing_and_empty_chunks(reference):
    summary = NumericSummary.empty("amount", reference_edges(reference))
    summary.update(pd.Series([], dtype=float))
    summary.update(pd.Series([np.nan, None, np.inf], dtype=object))

    assert (summary.rows, summary.missing, summary.infinite, summary.finite) == (3, 2, 1, 0)
    with pytest.raises(EmptyBatchError, match="too few finite values"):
        summary.variance()
    restored = NumericSummary.from_dict(json.loads(json.dumps(summary.to_dict())))
    assert restored.to_dict() == summary.to_dict()
    merged = summary.merge(_summarise(pd.Series([1.0, 3.0]), summary.edges))
    assert (merged.rows, merged.mean, merged.minimum) == (5, 2.0, 1.0)


def test_a_reference_without_finite_values_gives_one_open_bin():
    frame = pd.DataFrame({"x": [np.nan, np.nan]})
    profile = build_reference_profile(frame, numeric=["x"], categorical=[]).numeric[0]
    summary = NumericSummary.empty("x", reference_edges(profile))
    summary.update(pd.Series([1.0, 2.0]))

    assert summary.counts.tolist() == [2]


def test_non_numbers_are_refused(reference):
    with pytest.raises(DataValidationError, match="listed as numeric"):
        NumericSummary.empty("amount", reference_edges(reference)).update(pd.Series(["a", "b"]))
    with pytest.raises(ConfigurationError, match="strictly ascending"):
        NumericSummary.empty("amount", np.array([1.0, 1.0]))


def test_merging_other_features_or_edges_is_refused(reference):
    edges = reference_edges(reference)

    with pytest.raises(ConfigurationError, match="different edges"):
        NumericSummary.empty("amount", edges).merge(NumericSummary.empty("amount", edges[1:]))
    with pytest.raises(ConfigurationError, match="of 'amount' with the NumericSummary of 'age'"):
        NumericSummary.empty("amount", edges).merge(NumericSummary.empty("age", edges))
    with pytest.raises(ConfigurationError, match="CategorySummary"):
        NumericSummary.empty("amount", edges).merge(CategorySummary("amount"))


def test_numeric_round_trip_through_json(reference):
    summary = _summarise(_batch(20_000, seed=8), reference_edges(reference))
    restored = NumericSummary.from_dict(json.loads(json.dumps(summary.to_dict())))

    assert restored.to_dict() == summary.to_dict()
    assert restored.sketch.get_quantiles([0.5]) == summary.sketch.get_quantiles([0.5])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("sketch"), "'sketch' is missing"),
        (lambda d: d.update(version=2), "version 2"),
        (lambda d: d.update(name=3), "name 3 is not text"),
        (lambda d: d.update(rows=d["rows"] + 1), "do not agree"),
        (lambda d: d.update(mean=float("nan")), "not a finite number"),
        (lambda d: d.update(minimum=None), "None is not a finite number"),
        (lambda d: d.update(sketch="eJwDAAAAAAE="), "sketch cannot be read"),
        (lambda d: d.update(counts="eJwDAAAAAAE="), "expected 1025 counts"),
    ],
)
def test_malformed_numeric_documents_are_refused(reference, change, message):
    edges = reference_edges(reference)
    document = _summarise(pd.Series([1.0, 50.0, np.nan]), edges).to_dict()
    change(document)

    with pytest.raises(DataValidationError, match=message):
        NumericSummary.from_dict(document)


def test_category_counts_merge_exactly_in_any_order():
    rng = np.random.default_rng(9)
    values = pd.Series(rng.choice(["a", "b", "c", None, 7, 7.0, np.nan], 60_000), dtype=object)
    parts = []
    for part in np.array_split(values.to_numpy(), 3):
        summary = CategorySummary("kind")
        for chunk in np.array_split(part, 4):
            summary.update(pd.Series(chunk, dtype=object))
        parts.append(summary)
    left = parts[0].merge(parts[1]).merge(parts[2])
    right = parts[2].merge(parts[0]).merge(parts[1])

    assert left.counts() == right.counts() == count_categories(values)
    assert list(left.counts()) == list(count_categories(values))


def test_all_missing_category_column_and_empty_chunk():
    summary = CategorySummary("kind")
    summary.update(pd.Series([], dtype=object))
    summary.update(pd.Series([None, np.nan]))

    assert summary.counts() == {MISSING_CATEGORY: 2}


def test_category_round_trip_and_malformed_documents():
    summary = CategorySummary("kind")
    summary.update(pd.Series(["x", "y", "x", None]))
    document = json.loads(json.dumps(summary.to_dict()))

    assert CategorySummary.from_dict(document).counts() == summary.counts()
    with pytest.raises(DataValidationError, match="rows of 'x'"):
        CategorySummary.from_dict(document | {"counts": {"x": -2}})
    with pytest.raises(DataValidationError, match="map category text to rows"):
        CategorySummary.from_dict(document | {"counts": [1, 2]})
    with pytest.raises(DataValidationError, match="expected a mapping"):
        CategorySummary.from_dict([document])
    with pytest.raises(ConfigurationError, match="'kind' with the CategorySummary of 'other'"):
        summary.merge(CategorySummary("other"))


def _stored(name: str) -> list[dict]:
    # written by NumericSummary/CategorySummary.to_dict at commit 70e39ca
    return json.loads((Path(__file__).parents[1] / "stored" / name).read_text())


def test_summaries_the_earlier_code_wrote_load_and_are_written_the_same():
    for document in _stored("numeric_summaries.json"):
        assert NumericSummary.from_dict(document).to_dict() == document
    for document in _stored("category_summaries.json"):
        assert CategorySummary.from_dict(document).to_dict() == document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(rows=True), "numeric summary of 'amount': rows: True is not a count"),
        (lambda d: d.update(distinct_values="!!"), "distinct_values: the packed data cannot be"),
        (lambda d: d.update(distinct_sketch=d["sketch"]), "the HLL sketch cannot be read"),
        (lambda d: d.update(maximum=None), "maximum: None is not a finite number"),
    ],
)
def test_a_malformed_entry_is_named(change, message):
    document = _stored("numeric_summaries.json")[0]
    change(document)

    with pytest.raises(DataValidationError, match=message):
        NumericSummary.from_dict(document)
