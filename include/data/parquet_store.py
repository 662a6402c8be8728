"""Datasets as Parquet files: one ``<name>.parquet`` per dataset in a folder.

A write goes to a temporary file in the same folder and then replaces the old file in one
``os.replace``, so readers see either the old or the new dataset, never a half-written one. A read
for one period hands the date filter to Parquet, which skips row groups outside the period. The
datasets that ``generate`` wrote are recorded, with their checksums, in ``.mes-generated.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from include.data.batches import period_bounds, select_period
from include.data.store_common import (
    DATASET_NAME,
    arrow_table,
    as_objects,
    check_columns,
    check_dataset_name,
    dataset_not_found,
)
from include.errors import StoreError
from include.files import write_atomically
from include.periods import Period

# Row groups of this size let a period read skip most of a date-ordered file, and be read in
# parallel.
ROW_GROUP_ROWS = 131_072
# Which datasets `generate` wrote, with their checksums (include.tutorial.provenance).
PROVENANCE_FILE = ".mes-generated.json"


class ParquetDatasetStore:
    """One ``<name>.parquet`` file per dataset in a folder, created on the first write."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"parquet files in {self.root}"

    def path(self, name: str) -> Path:
        return self.root / f"{check_dataset_name(name)}.parquet"

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            path.stem
            for path in self.root.glob("*.parquet")
            if path.is_file() and DATASET_NAME.fullmatch(path.stem)
        )

    def write(self, name: str, frame: pd.DataFrame) -> None:
        target = self.path(name)
        table = arrow_table(name, frame)
        # The new file is complete and on disk before it takes the old one's place.
        write_atomically(
            target, lambda handle: pq.write_table(table, handle, row_group_size=ROW_GROUP_ROWS)
        )

    def generated_records(self) -> dict[str, dict[str, Any]]:
        """The provenance records of the datasets that ``generate`` wrote here, by name."""
        path = self.root / PROVENANCE_FILE
        try:
            records = json.loads(path.read_text()).get("datasets", {})
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, AttributeError):
            return {}  # unreadable: nothing counts as generated, so nothing is overwritten
        return records if isinstance(records, dict) else {}

    def record_generated(self, name: str, record: dict[str, Any]) -> None:
        """Keep ``record`` as the provenance of dataset ``name`` (replacing the previous one)."""
        records = {**self.generated_records(), check_dataset_name(name): record}
        text = json.dumps({"datasets": records}, indent=2, sort_keys=True).encode()
        write_atomically(self.root / PROVENANCE_FILE, lambda handle: handle.write(text))

    def read(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        date_column: str | None = None,
        period: Period | None = None,
    ) -> pd.DataFrame:
        path = self.path(name)
        if not path.is_file():
            raise dataset_not_found(name, self.describe(), self.names())
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError) as exc:
            raise StoreError(f"cannot read dataset {name!r} from {path}: {exc}") from None
        wanted = check_columns(name, schema.names, columns, date_column, period)
        row_filter, filter_later = None, False
        if period is not None:
            field = schema.field(date_column)
            if pa.types.is_timestamp(field.type) or pa.types.is_date(field.type):
                row_filter = _period_filter(field, period)
            else:
                filter_later = True
        load = wanted
        if filter_later and wanted is not None and date_column not in wanted:
            load = [*wanted, date_column]
        try:
            frame = pq.read_table(path, columns=load, filters=row_filter).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise StoreError(f"cannot read dataset {name!r} from {path}: {exc}") from None
        # Arrow gives text back as pandas' string dtype; a column written as objects stays so.
        for column in _object_columns(schema):
            if column in frame.columns and pd.api.types.is_string_dtype(frame[column].dtype):
                frame[column] = as_objects(frame[column])
        if filter_later:
            frame = select_period(frame, date_column, period)
            if wanted is not None:
                frame = frame[wanted]
        return frame.reset_index(drop=True)


def _period_filter(field: pa.Field, period: Period) -> pc.Expression:
    if pa.types.is_date(field.type):
        start, end = period.start, period.end
    else:
        bounds = period_bounds(period, field.type.tz)
        start, end = (bound.to_pydatetime() for bound in bounds)
    column = pc.field(field.name)
    return (column >= pa.scalar(start, type=field.type)) & (column < pa.scalar(end, field.type))


def _object_columns(schema: pa.Schema) -> list[str]:
    """Columns that pandas wrote from the ``object`` dtype, per the file's pandas metadata."""
    columns = (schema.pandas_metadata or {}).get("columns", [])
    return [column["name"] for column in columns if column.get("numpy_type") == "object"]
