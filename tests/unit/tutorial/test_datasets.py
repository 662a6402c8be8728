"""include/tutorial/datasets: the tutorial's datasets written, again, and never over others'."""

from __future__ import annotations

import pandas as pd
import pytest

from include.data.parquet_store import ParquetDatasetStore
from include.tutorial.datasets import generate_tutorial_data
from include.tutorial.provenance import ForeignDatasetError

ROWS = 400  # transactions a quarter: enough for every table, fast to generate


@pytest.fixture
def datasets(tmp_path) -> ParquetDatasetStore:
    return ParquetDatasetStore(tmp_path / "datasets")


def test_the_tutorial_data_is_written_with_its_row_counts(datasets):
    counts = generate_tutorial_data(datasets, transactions_per_quarter=ROWS)
    assert counts["transactions"] == counts["transactions_prepared"] == 4 * ROWS
    assert set(counts) == set(datasets.names())
    for name, rows in counts.items():
        assert len(datasets.read(name)) == rows


def test_generating_again_is_allowed_and_deterministic(datasets):
    generate_tutorial_data(datasets, transactions_per_quarter=ROWS, seed=3)
    first = datasets.read("transactions_prepared")
    generate_tutorial_data(datasets, transactions_per_quarter=ROWS, seed=3)
    pd.testing.assert_frame_equal(datasets.read("transactions_prepared"), first)


def test_a_dataset_generate_did_not_write_is_never_overwritten(datasets):
    mine = pd.DataFrame({"x": [1, 2]})
    datasets.write("merchants", mine)
    with pytest.raises(ForeignDatasetError, match="'merchants' \\(not written by generate\\)"):
        generate_tutorial_data(datasets, transactions_per_quarter=ROWS)
    assert datasets.names() == ["merchants"]
    pd.testing.assert_frame_equal(datasets.read("merchants"), mine)
