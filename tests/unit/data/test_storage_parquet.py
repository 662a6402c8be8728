"""Datasets kept as Parquet files: the dataset store contract, plus damaged files and row groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from include.data import parquet_store
from include.data.storage import ParquetDatasetStore, open_dataset_store
from include.errors import StoreError
from tests.support.dataset_store_contract import DatasetStoreContract, StoreCase


@pytest.fixture
def store(tmp_path: Path) -> ParquetDatasetStore:
    return ParquetDatasetStore(tmp_path / "datasets")


def fail_writes_half_way(monkeypatch: pytest.MonkeyPatch) -> tuple[type[BaseException], str]:
    """The next Parquet writes put half a file out, then fail as a full disk would."""

    def fail_half_way(table: object, where: object, **_options: object) -> None:
        where.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(parquet_store.pq, "write_table", fail_half_way)
    return OSError, "disk full"


class TestParquetDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def case(self, tmp_path: Path) -> StoreCase:
        root = tmp_path / "datasets"
        store = open_dataset_store(root)
        assert isinstance(store, ParquetDatasetStore)
        return StoreCase(
            store=store,
            where=str(root),
            stored=lambda: sorted(path.name for path in root.iterdir()),
            entry=lambda name: f"{name}.parquet",
            break_writes=fail_writes_half_way,
        )


def test_a_damaged_file_is_reported_as_a_store_error(store: ParquetDatasetStore) -> None:
    store.root.mkdir(parents=True)
    (store.root / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(StoreError, match="cannot read dataset 'broken'"):
        store.read("broken")


def test_files_are_written_in_row_groups_so_period_reads_can_skip_them(
    store: ParquetDatasetStore,
) -> None:
    rows = 3 * parquet_store.ROW_GROUP_ROWS
    store.write("big", pd.DataFrame({"x": np.arange(rows)}))
    assert pq.ParquetFile(store.path("big")).metadata.num_row_groups == 3
