from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.errors import DataValidationError
from include.evaluation.profile import (
    QUANTILES,
    ColumnStatistics,
    column_statistics,
    sample_rows,
)


def one(frame: pd.DataFrame, *, numeric=(), categorical=(), **options) -> ColumnStatistics:
    (stats,) = column_statistics(frame, numeric=numeric, categorical=categorical, **options)
    return stats


def is_json_ready(stats: ColumnStatistics) -> bool:
    json.dumps(stats.to_dict(), allow_nan=False)
    return True


@pytest.fixture
def numeric_values() -> np.ndarray:
    rng = np.random.default_rng(7)
    values = rng.lognormal(size=5_000).round(2)  # ties, skew
    values[rng.random(values.size) < 0.05] = np.nan
    values[[3, 10]] = np.inf
    values[20] = -np.inf
    return values


def test_numeric_statistics_match_numpy_and_pandas(numeric_values):
    finite = numeric_values[np.isfinite(numeric_values)]

    stats = one(pd.DataFrame({"amount": numeric_values}), numeric=["amount"])

    assert stats.kind == "numeric"
    assert stats.count == numeric_values.size
    assert stats.missing == int(np.isnan(numeric_values).sum())
    assert stats.infinite == 3
    assert stats.distinct == pd.Series(numeric_values).nunique(dropna=True)
    assert stats.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert stats.std == pytest.approx(pd.Series(finite).std(), rel=1e-12)
    assert stats.min == finite.min()
    assert stats.max == finite.max()
    assert list(stats.quantiles) == ["p01", "p05", "p25", "p50", "p75", "p95", "p99"]
    expected = np.quantile(finite, list(QUANTILES.values()), method="linear")
    assert list(stats.quantiles.values()) == pytest.approx(expected, rel=1e-12)
    counts, edges = np.histogram(finite, bins=20)
    assert stats.histogram.counts == tuple(counts)
    assert stats.histogram.edges == pytest.approx(tuple(edges))
    assert sum(stats.histogram.counts) == finite.size
    assert is_json_ready(stats)


def test_histogram_bins_follow_numpy_at_the_edges():
    values = np.array([0.0, 1.0, 2.0, 2.5, 3.0, 4.0])  # values sitting exactly on edges
    stats = one(pd.DataFrame({"x": values}), numeric=["x"], bins=4)
    counts, edges = np.histogram(values, bins=4)
    assert stats.histogram.counts == tuple(counts) == (1, 1, 2, 2)
    assert stats.histogram.edges == tuple(edges)


def test_constant_column_has_zero_spread_and_numpys_unit_histogram():
    stats = one(pd.DataFrame({"x": [3.0] * 5}), numeric=["x"])
    counts, edges = np.histogram(np.full(5, 3.0), bins=20)
    assert (stats.min, stats.max, stats.std, stats.distinct) == (3.0, 3.0, 0.0, 1)
    assert set(stats.quantiles.values()) == {3.0}
    assert stats.histogram.counts == tuple(counts)
    assert stats.histogram.edges == pytest.approx(tuple(edges))


def test_single_value_has_no_sample_standard_deviation():
    stats = one(pd.DataFrame({"x": [np.nan, 2.0]}), numeric=["x"])
    assert stats.std is None
    assert stats.mean == 2.0
    assert stats.to_dict()["std"] is None


def test_all_missing_numeric_column_has_counts_and_no_moments():
    stats = one(pd.DataFrame({"x": [np.nan, np.nan, np.inf]}), numeric=["x"])
    assert (stats.count, stats.missing, stats.infinite, stats.distinct) == (3, 2, 1, 1)
    assert stats.mean is stats.std is stats.min is stats.max is stats.histogram is None
    assert stats.quantiles == dict.fromkeys(QUANTILES)
    assert is_json_ready(stats)


def test_nullable_and_integer_numeric_columns():
    frame = pd.DataFrame(
        {
            "age": pd.array([30, None, 40, 50], dtype="Int64"),
            "count": np.array([1, 2, 2, 3]),
            "flag": [True, False, True, True],
        }
    )
    age, count, flag = column_statistics(frame, numeric=["age", "count", "flag"], categorical=[])
    assert (age.missing, age.mean, age.distinct) == (1, 40.0, 3)
    assert (count.distinct, count.quantiles["p50"]) == (3, 2.0)
    assert flag.mean == 0.75
    assert all(type(value) is float for value in age.quantiles.values())


def test_categorical_top_values_match_value_counts():
    rng = np.random.default_rng(3)
    values = pd.Series(rng.choice([f"s{i}" for i in range(30)], size=4_000).astype(object))
    values[rng.random(values.size) < 0.1] = None

    stats = one(pd.DataFrame({"sector": values}), categorical=["sector"], top_k=10)

    counts = values.value_counts()
    assert stats.kind == "categorical"
    assert (stats.count, stats.missing, stats.distinct) == (4_000, values.isna().sum(), 30)
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]
    assert [(t.value, t.count) for t in stats.top_values] == top
    assert [t.share for t in stats.top_values] == pytest.approx([c / 4_000 for _, c in top])
    in_top = sum(c for _, c in top)
    assert stats.others_share == pytest.approx((counts.sum() - in_top) / 4_000)
    shares = sum(t.share for t in stats.top_values) + stats.others_share
    assert shares + stats.missing / stats.count == pytest.approx(1.0)
    assert is_json_ready(stats)


def test_categorical_ties_are_broken_by_value():
    frame = pd.DataFrame({"c": ["b", "a", "c", "b", "a", "d", "c", "e"]})
    stats = one(frame, categorical=["c"], top_k=3)
    assert [(t.value, t.count) for t in stats.top_values] == [("a", 2), ("b", 2), ("c", 2)]
    assert stats.others_share == pytest.approx(2 / 8)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([True, False, True, None], [(True, 2), (False, 1)]),
        ([3, 1, 3, 2], [(3, 2), (1, 1), (2, 1)]),
        (pd.array([3, None, 3], dtype="Int64"), [(3, 2)]),
        ([1, "a", "a", 2.5], [("a", 2), (1, 1), (2.5, 1)]),
    ],
    ids=["boolean", "integer", "nullable-integer", "mixed"],
)
def test_categorical_values_keep_their_json_type(values, expected):
    stats = one(pd.DataFrame({"c": pd.Series(values, dtype=None)}), categorical=["c"])
    assert [(t.value, t.count) for t in stats.top_values] == expected
    assert [type(t.value) for t in stats.top_values] == [type(v) for v, _ in expected]
    assert is_json_ready(stats)


def test_pandas_categorical_ignores_unused_categories():
    values = pd.Categorical(["x", "y", "x", None], categories=["z", "y", "x"])
    stats = one(pd.DataFrame({"c": values}), categorical=["c"])
    assert stats.distinct == 2
    assert stats.missing == 1
    assert [(t.value, t.count) for t in stats.top_values] == [("x", 2), ("y", 1)]


def test_all_missing_categorical_column():
    stats = one(pd.DataFrame({"c": [None, None]}, dtype=object), categorical=["c"])
    assert (stats.count, stats.missing, stats.distinct) == (2, 2, 0)
    assert stats.top_values == ()
    assert stats.others_share == 0.0


def test_empty_frame_gives_zero_counts():
    frame = pd.DataFrame({"x": pd.Series([], dtype=float), "c": pd.Series([], dtype=object)})
    x, c = column_statistics(frame, numeric=["x"], categorical=["c"])
    assert (x.count, x.missing, x.distinct, x.mean, x.histogram) == (0, 0, 0, None, None)
    assert (c.count, c.missing, c.distinct, c.top_values, c.others_share) == (0, 0, 0, (), None)
    assert is_json_ready(x)
    assert is_json_ready(c)


def test_to_dict_has_the_keys_of_the_columns_kind():
    frame = pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]})
    x, c = column_statistics(frame, numeric=["x"], categorical=["c"])
    assert set(x.to_dict()) == {
        "name",
        "kind",
        "count",
        "missing",
        "distinct",
        "infinite",
        "mean",
        "std",
        "min",
        "max",
        "quantiles",
        "histogram",
    }
    assert set(c.to_dict()) == {
        "name",
        "kind",
        "count",
        "missing",
        "distinct",
        "top_values",
        "others_share",
    }
    assert c.to_dict()["top_values"][0] == {"value": "a", "count": 1, "share": 0.5}


def test_absent_column_is_named_in_the_error():
    frame = pd.DataFrame({"x": [1.0]})
    with pytest.raises(
        DataValidationError, match=r"feature\(s\) \['card_age'\] missing from the batch"
    ):
        column_statistics(frame, numeric=["x", "card_age"], categorical=[])


def test_column_listed_twice_is_refused():
    frame = pd.DataFrame({"x": [1.0]})
    with pytest.raises(DataValidationError, match="listed twice"):
        column_statistics(frame, numeric=["x"], categorical=["x"])


def test_text_in_a_numeric_column_is_refused():
    frame = pd.DataFrame({"x": ["1.5", "n/a"], "y": pd.Series(["a", 2], dtype=object)})
    with pytest.raises(DataValidationError, match="'x' is listed as numeric"):
        column_statistics(frame, numeric=["x"], categorical=[])
    with pytest.raises(DataValidationError, match="'y' is listed as numeric"):
        column_statistics(frame, numeric=["y"], categorical=[])


def test_sample_rows_is_deterministic_uniform_and_reindexed():
    frame = pd.DataFrame({"i": np.arange(10_000)}, index=np.arange(10_000) * 2)

    sample = sample_rows(frame, max_rows=1_000, seed=5)

    assert len(sample) == 1_000
    assert sample.index.tolist() == list(range(1_000))
    assert sample["i"].is_unique
    assert sample["i"].is_monotonic_increasing  # original order kept
    assert sample.equals(sample_rows(frame, max_rows=1_000, seed=5))
    assert not sample.equals(sample_rows(frame, max_rows=1_000, seed=6))
    assert 4_000 < sample["i"].mean() < 6_000


def test_sample_rows_keeps_a_small_frame_whole():
    frame = pd.DataFrame({"i": [5, 6, 7]}, index=[10, 11, 12])
    sample = sample_rows(frame, max_rows=3)
    assert sample["i"].tolist() == [5, 6, 7]
    assert sample.index.tolist() == [0, 1, 2]


def _stored_frame() -> pd.DataFrame:
    """The frame whose statistics tests/unit/stored/column_statistics.json holds."""
    rng = np.random.default_rng(7)
    n = 500
    amount = rng.normal(100, 20, n)
    amount[:5] = np.nan
    amount[5:7] = [np.inf, -np.inf]
    return pd.DataFrame(
        {
            "amount": amount,
            "age": rng.integers(18, 90, n),
            "constant": np.full(n, 3.0),
            "empty": np.full(n, np.nan),
            "plan": rng.choice(["basic", "gold", "silver", None], n),
            "flag": rng.choice([True, False], n),
            "code": rng.choice([11, 12, 13, 14], n),
        }
    )


def test_statistics_are_stored_as_the_earlier_code_stored_them_and_read_back():
    # stored by the code before the statistics were pydantic records (commit 06df9c2)
    path = Path(__file__).parents[1] / "stored" / "column_statistics.json"
    stored = json.loads(path.read_text())

    statistics = column_statistics(
        _stored_frame(),
        numeric=["amount", "age", "constant", "empty"],
        categorical=["plan", "flag", "code"],
        top_k=3,
        bins=5,
    )

    assert [column.to_dict() for column in statistics] == stored
    read_back = [ColumnStatistics.model_validate(document) for document in stored]
    assert [column.to_dict() for column in read_back] == stored
    assert read_back[5].top_values[0].value is False  # a boolean category stays a boolean
