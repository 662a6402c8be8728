"""Which path a batch takes: held whole within ``streaming.memory_rows``, sampled beyond it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.config import parse_config
from include.data.sources import CsvRows, ParquetRows
from include.periods import Period
from include.streaming.batch import MIN_REFERENCE_ROWS, read_batch, read_reference

Q1 = Period.parse("2017Q1")


def config(**streaming):
    return parse_config(
        {
            "name": "churn",
            "label": "churned",
            "date_column": "day",
            "reference_period": "2017Q1",
            "batch_periods": ["2017Q2"],
            "numeric_features": ["amount"],
            "model": {"source": "predictions", "score_column": "score"},
            "streaming": {"chunk_rows": 1_000, **streaming},
        }
    )


def quarter(rows: int, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2017-01-01") + pd.to_timedelta(rng.integers(0, 90, rows), unit="D")
    return pd.DataFrame(
        {
            "day": day,
            "amount": rng.gamma(2.0, 50.0, rows),
            "score": rng.random(rows),
            "churned": rng.integers(0, 2, rows),
        }
    )


def test_a_batch_within_the_limit_is_its_chunks_put_together(tmp_path) -> None:
    quarter(4_500).to_parquet(tmp_path / "rows.parquet", row_group_size=1_000)
    source = ParquetRows(tmp_path / "rows.parquet", date_column="day")

    batch = read_batch(None, source, config(memory_rows=10_000), Q1)

    pd.testing.assert_frame_equal(batch, source.read(period=Q1))


def test_a_csv_batch_within_the_limit_is_the_file_read_whole(tmp_path) -> None:
    rows = quarter(2_500)
    rows["amount"] = rows["amount"].round().astype("int64").astype(object)
    rows.loc[2_400, "amount"] = 0.5  # a float only in the last chunk
    rows.to_csv(tmp_path / "rows.csv", index=False)
    source = CsvRows(tmp_path / "rows.csv", date_column="day", numeric_columns=["amount"])

    batch = read_batch(None, source, config(memory_rows=10_000), Q1)

    assert batch["amount"].dtype == np.float64
    pd.testing.assert_frame_equal(batch, source.read(period=Q1))


def test_a_reference_within_the_limit_is_kept_whole(tmp_path) -> None:
    quarter(3_000).to_parquet(tmp_path / "rows.parquet", row_group_size=1_000)
    source = ParquetRows(tmp_path / "rows.parquet", date_column="day")

    rows, note = read_reference(source, config(memory_rows=0), Q1)

    assert (len(rows), note) == (3_000, None)


def test_a_reference_beyond_the_limit_is_a_seeded_uniform_sample_in_date_order(tmp_path) -> None:
    total = MIN_REFERENCE_ROWS + 20_000
    quarter(total).to_parquet(tmp_path / "rows.parquet", row_group_size=10_000)
    source = ParquetRows(tmp_path / "rows.parquet", date_column="day")

    rows, note = read_reference(source, config(memory_rows=0), Q1)
    again, _ = read_reference(source, config(memory_rows=0), Q1)

    assert len(rows) == MIN_REFERENCE_ROWS
    assert note == (
        f"a uniform sample of {MIN_REFERENCE_ROWS:,} of the reference period's {total:,} rows "
        "(streaming.memory_rows)"
    )
    assert rows["day"].is_monotonic_increasing
    pd.testing.assert_frame_equal(rows, again)
    assert rows["amount"].mean() == pytest.approx(source.read()["amount"].mean(), rel=0.02)
