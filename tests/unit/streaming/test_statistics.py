"""summary_statistics against column_statistics on the concatenated batch.

Every assertion but one is deterministic: exact fields, bounds that hold with certainty
(``sketch=False``: exact counts only), the HyperLogLog (hashed with a fixed seed) and the
rounding of the moments. The KLL-narrowed bounds (``sketch=True``) hold with the sketch's stated
99 % confidence per column: they are asserted on one column only
(``test_a_million_rows_within_the_sketch_bounds``), so the suite fails by chance at most 1 % of
the time.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from include.drift.reference import build_reference_profile
from include.evaluation.profile import QUANTILES, ColumnStatistics, column_statistics
from include.streaming.columns import (
    EXACT_DISTINCT,
    CategorySummary,
    NumericSummary,
    reference_edges,
)
from include.streaming.statistics import summary_statistics

NUMERIC = ["amount", "items", "shifted", "constant", "offset"]
CATEGORICAL = ["country", "code", "mixed"]


def _reference(rows: int = 20_000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "amount": rng.lognormal(3.0, 1.0, rows),
            "items": rng.integers(0, 40, rows).astype(float),
            "shifted": rng.normal(0.0, 1.0, rows),
            "constant": np.full(rows, 7.0),
            "offset": 1e9 + rng.normal(0.0, 1.0, rows),
        }
    )


def _batch(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.2, 1.1, rows)
    amount[rng.random(rows) < 0.02] = np.nan
    amount[rng.random(rows) < 0.002] = np.inf
    amount[rng.random(rows) < 0.001] = -np.inf
    # 26 letters with equal weights plus rarer ones: more than top_k, and ties on small batches
    letters = [chr(ord("a") + i) for i in range(26)]
    country = rng.choice([*letters, "ZZ", "YY"], rows, p=[0.037] * 26 + [0.019, 0.019])
    code = rng.integers(0, 15, rows).astype(float)
    code[rng.random(rows) < 0.05] = np.nan
    mixed = np.array(["7", 7, 10, 2, "x"], dtype=object)[rng.integers(0, 5, rows)]
    return pd.DataFrame(
        {
            "amount": amount,
            "items": rng.integers(0, 50, rows).astype(float),  # partly beyond the reference
            "shifted": rng.normal(30.0, 4.0, rows),  # far outside the reference
            "constant": np.full(rows, 7.0),
            "offset": 1e9 + rng.normal(0.5, 2.0, rows),
            "country": country,
            "code": code,
            "mixed": pd.Series(mixed, dtype=object),
        }
    )


PROFILE = build_reference_profile(_reference(), numeric=NUMERIC, categorical=[])
EDGES = {feature.name: reference_edges(feature) for feature in PROFILE.numeric}


def _summarise(frame: pd.DataFrame, chunks: int, numeric=NUMERIC, categorical=CATEGORICAL):
    """One partition read in ``chunks`` chunks, saved as JSON and read back."""
    summaries_n = {name: NumericSummary.empty(name, EDGES[name]) for name in numeric}
    summaries_c = {name: CategorySummary(name) for name in categorical}
    bounds = np.linspace(0, len(frame), chunks + 1).astype(int)
    for start, end in itertools.pairwise(bounds):
        chunk = frame.iloc[start:end]
        for name, summary in summaries_n.items():
            summary.update(chunk[name])
        for name, summary in summaries_c.items():
            summary.update(chunk[name])
    travel = lambda summary: json.loads(json.dumps(summary.to_dict()))  # noqa: E731
    return (
        {n: NumericSummary.from_dict(travel(s)) for n, s in summaries_n.items()},
        {n: CategorySummary.from_dict(travel(s)) for n, s in summaries_c.items()},
    )


def _merged(frame: pd.DataFrame, partitions: int, chunks: int, **columns):
    bounds = np.linspace(0, len(frame), partitions + 1).astype(int)
    parts = [
        _summarise(frame.iloc[start:end], chunks, **columns)
        for start, end in itertools.pairwise(bounds)
    ]
    parts = parts[1::2] + parts[::2]  # merged in another order than read
    numeric, categorical = parts[0]
    for other_numeric, other_categorical in parts[1:]:
        numeric = {name: s.merge(other_numeric[name]) for name, s in numeric.items()}
        categorical = {name: s.merge(other_categorical[name]) for name, s in categorical.items()}
    return numeric, categorical


def _errors(expected: ColumnStatistics, actual: ColumnStatistics) -> dict[str, float]:
    """Distance of each bounded field of a numeric column to the in-memory value."""
    errors = {"distinct": abs(expected.distinct - actual.distinct)}
    if expected.mean is None:
        return errors | {f"quantiles.{key}": 0.0 for key in QUANTILES}
    errors["mean"] = abs(expected.mean - actual.mean)
    errors["std"] = abs(expected.std - actual.std)
    for key in QUANTILES:
        errors[f"quantiles.{key}"] = abs(expected.quantiles[key] - actual.quantiles[key])
    pairs = zip(expected.histogram.counts, actual.histogram.counts, strict=True)
    errors["histogram.counts"] = max(abs(a - b) for a, b in pairs)
    return errors


def _assert_exact_fields(expected: ColumnStatistics, actual: ColumnStatistics) -> None:
    assert (actual.name, actual.kind, actual.count, actual.missing, actual.infinite) == (
        expected.name,
        expected.kind,
        expected.count,
        expected.missing,
        expected.infinite,
    )
    assert (actual.min, actual.max) == (expected.min, expected.max)
    if expected.histogram is not None:
        assert actual.histogram.edges == expected.histogram.edges
        assert sum(actual.histogram.counts) == sum(expected.histogram.counts)
        assert min(actual.histogram.counts) >= 0


@pytest.fixture(scope="module")
def batch() -> pd.DataFrame:
    return _batch(60_000, seed=2)


@pytest.fixture(scope="module")
def compared(batch):
    numeric, categorical = _merged(batch, partitions=3, chunks=4)
    expected = column_statistics(batch, numeric=NUMERIC, categorical=CATEGORICAL)
    return expected, numeric, categorical


def test_exact_fields_and_categorical_columns_equal_the_in_memory_ones(compared):
    expected, numeric, categorical = compared
    actual, bounds = summary_statistics(numeric, categorical)

    assert [record.name for record in actual] == NUMERIC + CATEGORICAL
    for want, got in zip(expected, actual, strict=True):
        _assert_exact_fields(want, got)
        if want.kind == "categorical":
            assert got == want
            assert set(bounds[want.name].values()) == {0.0}
    # the values keep the in-memory types: floats for a float column, 7 and "7" apart
    by_name = {record.name: record for record in actual}
    assert all(type(top.value) is float for top in by_name["code"].top_values)
    assert {top.value for top in by_name["mixed"].top_values} == {"7", 7, 10, 2, "x"}
    assert by_name["country"].others_share > 0


def test_every_numeric_field_is_within_its_certain_bound(compared):
    expected, numeric, categorical = compared
    actual, bounds = summary_statistics(numeric, categorical, sketch=False)

    for want, got in zip(expected[: len(NUMERIC)], actual, strict=False):
        for field, error in _errors(want, got).items():
            assert error <= bounds[want.name][field], (want.name, field, error)


def test_counts_on_the_reference_edges_make_integer_and_constant_columns_exact(compared):
    expected, numeric, categorical = compared
    actual, bounds = summary_statistics(numeric, categorical, sketch=False)
    want = {record.name: record for record in expected}
    got = {record.name: record for record in actual}

    # a constant: every quantile and the histogram exact
    assert got["constant"].quantiles == want["constant"].quantiles
    assert got["constant"].histogram == want["constant"].histogram
    assert got["constant"].distinct == 1
    assert bounds["constant"]["histogram.counts"] == 0
    # integer values: the kept distinct values pin the order statistics inside the reference
    for key in ("p01", "p05", "p25", "p50", "p75"):
        assert bounds["items"][f"quantiles.{key}"] == 0
        assert got["items"].quantiles[key] == want["items"].quantiles[key]
    assert got["items"].distinct == want["items"].distinct == 50
    assert bounds["items"]["distinct"] == 0
    # continuous values inside the reference: quantiles within a small share of the range
    spread = want["amount"].quantiles["p75"] - want["amount"].quantiles["p25"]
    assert bounds["amount"]["quantiles.p50"] < 0.01 * spread


def test_many_distinct_values_are_counted_by_the_hll_within_its_bound(compared, batch):
    expected, numeric, _ = compared
    actual, bounds = summary_statistics(numeric, {})
    for name in ("amount", "shifted", "offset"):
        assert numeric[name].distinct_values is None
        want = next(record for record in expected if record.name == name)
        got = next(record for record in actual if record.name == name)
        assert 0 < bounds[name]["distinct"] <= 0.06 * want.distinct
        assert abs(got.distinct - want.distinct) <= bounds[name]["distinct"]
    # more distinct integers than EXACT_DISTINCT, each repeated: the estimate is not capped
    values = pd.DataFrame({"items": np.repeat(np.arange(3 * EXACT_DISTINCT, dtype=float), 3)})
    summaries, _ = _merged(
        values.sample(frac=1, random_state=3), 2, 3, numeric=["items"], categorical=[]
    )
    (got,), bounds = summary_statistics(summaries, {})
    assert abs(got.distinct - 3 * EXACT_DISTINCT) <= bounds["items"]["distinct"]
    assert bounds["items"]["distinct"] <= 0.06 * 3 * EXACT_DISTINCT


def test_moments_far_from_zero_stay_within_their_rounding_bound(compared):
    expected, numeric, _categorical = compared
    actual, bounds = summary_statistics(numeric, {})
    want = next(record for record in expected if record.name == "offset")
    got = next(record for record in actual if record.name == "offset")
    assert abs(got.mean - want.mean) <= bounds["offset"]["mean"] <= 1e-3
    assert abs(got.std - want.std) <= bounds["offset"]["std"] <= 1e-3 * want.std
    for name in ("amount", "items", "constant"):
        assert bounds[name]["mean"] < 1e-9 * max(abs(want.min), abs(want.max), 1.0)


def test_a_small_batch_is_exact_in_every_field():
    frame = _batch(300, seed=4)
    numeric, categorical = _merged(frame, partitions=3, chunks=2)
    assert not numeric["amount"].sketch.is_estimation_mode()
    actual, bounds = summary_statistics(numeric, categorical)

    assert actual == column_statistics(frame, numeric=NUMERIC, categorical=CATEGORICAL)
    assert all(set(fields.values()) == {0.0} for fields in bounds.values())


def test_columns_without_finite_values_and_without_rows():
    frame = pd.DataFrame(
        {
            "amount": [np.nan, np.inf, np.nan, -np.inf, np.inf, np.nan],
            "country": [None, None, "a", None, "b", "a"],
        }
    )
    numeric, categorical = _merged(frame, 2, 2, numeric=["amount"], categorical=["country"])
    actual, _ = summary_statistics(numeric, categorical)
    assert actual == column_statistics(frame, numeric=["amount"], categorical=["country"])
    assert actual[0].distinct == 2
    assert actual[0].infinite == 3

    empty = frame.iloc[:0]
    numeric, categorical = _summarise(empty, 1, numeric=["amount"], categorical=["country"])
    actual, _ = summary_statistics(numeric, categorical)
    assert actual == column_statistics(empty, numeric=["amount"], categorical=["country"])


def test_integer_chunks_and_float_chunks_of_one_column_give_the_concatenated_types():
    # an integer code column turns float in the chunk that has a missing value
    chunks = [
        pd.DataFrame({"code": pd.Series([10, 2, 2, 10, 3], dtype="int64")}),
        pd.DataFrame({"code": pd.Series([2.0, np.nan, 10.0, 3.0])}),
        pd.DataFrame({"code": pd.Series([3, 10], dtype="int64")}),
    ]
    summaries = []
    for chunk in chunks:
        summary = CategorySummary("code")
        summary.update(chunk["code"])
        summaries.append(CategorySummary.from_dict(json.loads(json.dumps(summary.to_dict()))))
    merged = summaries[2].merge(summaries[0]).merge(summaries[1])
    (actual,), _ = summary_statistics({}, {"code": merged}, top_k=2)
    whole = pd.concat(chunks, ignore_index=True)
    (expected,) = column_statistics(whole, numeric=[], categorical=["code"], top_k=2)

    assert actual == expected
    assert [top.value for top in actual.top_values] == [10.0, 2.0]  # ties by value, numerically
    assert all(type(top.value) is float for top in actual.top_values)


def test_a_million_rows_within_the_sketch_bounds():
    """The one probabilistic assertion: KLL's 99 % confidence on its largest rank error."""
    rng = np.random.default_rng(9)
    rows = 1_000_000
    frame = pd.DataFrame({"shifted": rng.normal(30.0, 4.0, rows)})
    numeric, _ = _merged(frame, partitions=4, chunks=2, numeric=["shifted"], categorical=[])
    (expected,) = column_statistics(frame, numeric=["shifted"], categorical=[])
    (narrow,), bounds = summary_statistics(numeric, {})
    (_,), certain = summary_statistics(numeric, {}, sketch=False)

    _assert_exact_fields(expected, narrow)
    for field, error in _errors(expected, narrow).items():
        assert error <= bounds["shifted"][field], (field, error)
    # outside the reference only the sketch bounds the quantiles well: within 0.25 σ
    for key in ("p05", "p25", "p50", "p75", "p95"):
        assert bounds["shifted"][f"quantiles.{key}"] < 1.0
        assert bounds["shifted"][f"quantiles.{key}"] < certain["shifted"][f"quantiles.{key}"]
    assert bounds["shifted"]["histogram.counts"] <= 2 * 0.0068 * rows + 2


def test_numeric_summaries_keep_the_new_fields_through_json_and_merges():
    frame = _batch(5_000, seed=6)
    whole, _ = _summarise(frame, 1, numeric=["amount", "items"], categorical=[])
    merged, _ = _merged(frame, 3, 3, numeric=["amount", "items"], categorical=[])
    for name in ("amount", "items"):
        assert merged[name].positive_infinite == whole[name].positive_infinite
        assert merged[name].parts == 9
        assert whole[name].parts == 1
        document = merged[name].to_dict()
        restored = NumericSummary.from_dict(json.loads(json.dumps(document)))
        sketch = document.pop("distinct_sketch")  # the HLL's bytes may differ, not its state
        assert restored.to_dict() | {"distinct_sketch": sketch} == document | {
            "distinct_sketch": sketch
        }
        estimate = restored.distinct_sketch.get_estimate()
        assert estimate == merged[name].distinct_sketch.get_estimate()
    assert np.array_equal(merged["items"].distinct_values, np.arange(50.0))
    assert merged["amount"].distinct_values is None
    assert merged["amount"].positive_infinite == int(np.isposinf(frame["amount"]).sum()) > 0


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="top_k"):
        summary_statistics({}, {}, top_k=-1)
    with pytest.raises(ValueError, match="bins"):
        summary_statistics({}, {}, bins=0)
