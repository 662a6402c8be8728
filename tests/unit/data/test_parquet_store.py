"""include/data/parquet_store: what the Parquet store does beyond the dataset store contract.

The contract both stores pass (tests/support/dataset_store_contract.py) runs against this store
in tests/unit/data/test_storage_parquet.py, with damaged files and row groups; these tests cover
the provenance records of ``generate``, the listing of a folder, and date columns of type date.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from include.data.parquet_store import PROVENANCE_FILE, ParquetDatasetStore
from include.errors import ConfigurationError
from include.periods import Period


@pytest.fixture
def store(tmp_path) -> ParquetDatasetStore:
    return ParquetDatasetStore(tmp_path / "datasets")


def test_a_store_whose_folder_does_not_exist_yet_holds_nothing(store):
    assert store.names() == []
    assert not store.exists("anything")
    assert store.generated_records() == {}
    assert store.describe() == f"parquet files in {store.root}"


def test_the_first_write_creates_the_folder_and_one_file_per_dataset(store):
    store.write("sales", pd.DataFrame({"x": [1]}))
    assert store.path("sales") == store.root / "sales.parquet"
    assert sorted(path.name for path in store.root.iterdir()) == ["sales.parquet"]


def test_names_list_only_parquet_files_with_valid_dataset_names(store):
    store.write("b", pd.DataFrame({"x": [1]}))
    store.write("a", pd.DataFrame({"x": [1]}))
    (store.root / "not-a-name.parquet").write_bytes(b"")
    (store.root / "notes.txt").write_text("x")
    (store.root / "folder.parquet").mkdir()
    assert store.names() == ["a", "b"]
    assert not store.exists("folder")


def test_paths_refuse_names_that_could_leave_the_folder(store):
    with pytest.raises(ConfigurationError, match="not valid"):
        store.path("../outside")


def test_provenance_records_are_kept_by_name_and_replaced(store):
    store.record_generated("sales", {"sha256": "1", "rows": 10})
    store.record_generated("merchants", {"sha256": "2"})
    store.record_generated("sales", {"sha256": "3"})
    assert store.generated_records() == {"merchants": {"sha256": "2"}, "sales": {"sha256": "3"}}
    saved = json.loads((store.root / PROVENANCE_FILE).read_text())
    assert saved == {"datasets": {"merchants": {"sha256": "2"}, "sales": {"sha256": "3"}}}


def test_provenance_names_are_checked(store):
    with pytest.raises(ConfigurationError, match="not valid"):
        store.record_generated("bad name", {})


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"datasets": [1]}', '"text"'], ids=repr)
def test_an_unreadable_provenance_file_means_nothing_counts_as_generated(store, content):
    store.root.mkdir(parents=True)
    (store.root / PROVENANCE_FILE).write_text(content)
    assert store.generated_records() == {}


def test_the_provenance_file_is_not_a_dataset(store):
    store.record_generated("sales", {})
    assert store.names() == []


def test_a_period_read_filters_a_date_column_of_type_date(store):
    days = [dt.date(2019, 3, 31), dt.date(2019, 4, 1), dt.date(2019, 6, 30), dt.date(2019, 7, 1)]
    store.write("daily", pd.DataFrame({"day": days, "n": [1, 2, 3, 4]}))
    batch = store.read("daily", columns=["n"], date_column="day", period=Period.parse("2019Q2"))
    assert batch["n"].tolist() == [2, 3]
    assert list(batch.columns) == ["n"]


def test_text_written_as_objects_reads_back_as_objects(store):
    store.write("t", pd.DataFrame({"text": pd.Series(["a", None], dtype=object)}))
    text = store.read("t")["text"]
    assert text.dtype == object
    assert text.tolist() == ["a", None]
