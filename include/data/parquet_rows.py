"""A user's rows in a Parquet file or folder (see ``sources.py``).

A folder is read as one dataset (many files, e.g. one per day; ``key=value`` folders as hive
partitions). The period filter goes to Parquet, which skips row groups and files outside it, when
the date column holds dates or timestamps; text dates are filtered after reading. Chunks are read
one row group at a time on the caller's thread (see ``ParquetRows.chunks`` for why).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from include.data.batches import period_bounds
from include.data.rows import CHUNK_ROWS, chunk_rows, columns_to_load, finish, first_line
from include.errors import DatasetNotFoundError, DataValidationError
from include.periods import Period


class ParquetRows:
    """A Parquet file, or a folder of Parquet files (read as one dataset, hive partitions too)."""

    def __init__(self, path: str | os.PathLike[str], *, date_column: str) -> None:
        self.path, self.date_column = Path(path), date_column

    def describe(self) -> str:
        kind = "folder" if self.path.is_dir() else "file"
        return f"Parquet {kind} {self.path}"

    def exists(self) -> bool:
        return self.path.is_file() or bool(self.path.is_dir() and self._files())

    def read(
        self, *, period: Period | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        scanner, wanted, filtered = self._scanner(period, columns)
        try:
            frame = scanner.to_table().to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(f"cannot read {self.describe()}: {exc}") from None
        return finish(frame, self.describe(), self.date_column, period, filtered, wanted)

    def chunks(
        self,
        *,
        period: Period | None = None,
        columns: Sequence[str] | None = None,
        rows: int = CHUNK_ROWS,
    ) -> Iterator[pd.DataFrame]:
        """One row group at a time, read on this thread, cut into frames of ``rows``.

        Not the dataset scanner: it reads ahead on background threads as far as the consumer
        lags, whatever its readahead settings (10,000,000 rows consumed at 0.3 s a chunk: 1.5 GiB
        peak), whereas a row group read here is all that is held. The row groups whose
        statistics (and the files whose hive partitions) rule out the period are not read.
        """
        rows = chunk_rows(rows)
        dataset = self._dataset()
        wanted, load, row_filter = self._selection(dataset, period, columns)
        where = self.describe()
        try:
            for fragment in dataset.get_fragments(filter=row_filter):
                for group in fragment.split_by_row_group(filter=row_filter, schema=dataset.schema):
                    table = group.to_table(
                        schema=dataset.schema, columns=load, filter=row_filter, use_threads=False
                    )
                    for batch in table.to_batches(max_chunksize=rows):
                        # One thread: converting on several grows the process by each thread's
                        # malloc arena (10,000,000 rows read: 1,048 MiB threaded, 381 MiB not).
                        frame = batch.to_pandas(use_threads=False)
                        frame = finish(
                            frame, where, self.date_column, period, row_filter is not None, wanted
                        )
                        if len(frame):
                            yield frame
                    del table
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(f"cannot read {where}: {exc}") from None

    def _selection(
        self, dataset: ds.Dataset, period: Period | None, columns: Sequence[str] | None
    ) -> tuple[list[str] | None, list[str] | None, ds.Expression | None]:
        """(the columns to return, the columns to load, the period as a filter Parquet can apply:
        None unless the date column holds dates or timestamps)."""
        wanted, load = columns_to_load(
            self.describe(), dataset.schema.names, columns, self.date_column, period
        )
        row_filter = None
        if period is not None:
            field = dataset.schema.field(self.date_column)
            if pa.types.is_timestamp(field.type) or pa.types.is_date(field.type):
                row_filter = _arrow_period_filter(field, period)
        return wanted, load, row_filter

    def _scanner(
        self, period: Period | None, columns: Sequence[str] | None
    ) -> tuple[ds.Scanner, list[str] | None, bool]:
        """(the scanner of the columns to load, the columns to return, whether the scanner keeps
        the period): the period goes to Parquet when the date column holds dates or timestamps."""
        dataset = self._dataset()
        wanted, load, row_filter = self._selection(dataset, period, columns)
        scanner = dataset.scanner(columns=load, filter=row_filter, batch_size=CHUNK_ROWS)
        return scanner, wanted, row_filter is not None

    def _files(self) -> list[Path]:
        """The folder's ``*.parquet`` files, skipping hidden and ``_``-prefixed ones."""
        return sorted(
            path
            for path in self.path.rglob("*.parquet")
            if path.is_file()
            and not any(part.startswith((".", "_")) for part in path.relative_to(self.path).parts)
        )

    def _dataset(self) -> ds.Dataset:
        if self.path.is_file():
            files, base = [self.path], None
        elif self.path.is_dir():
            files, base = self._files(), self.path
            if not files:
                raise DatasetNotFoundError(
                    f"the Parquet folder {self.path} holds no *.parquet files: put the data's "
                    "Parquet files there, or point data.path at the right folder"
                )
        else:
            raise DatasetNotFoundError(
                f"there is no Parquet file or folder at {self.path}: check data.path (relative "
                "paths are read from the configuration file's folder)"
            )
        names = [str(path) for path in files]
        try:
            if base is None:
                return ds.dataset(names[0], format="parquet")
            options = {
                "format": "parquet",
                "partitioning": ds.HivePartitioning.discover(),
                "partition_base_dir": str(base),
            }
            first = ds.dataset(names, **options)
            # Files written on different days may disagree on a column's type (int, then float):
            # read them all with the widest type.
            schema = pa.unify_schemas(
                [first.schema, *(pq.read_schema(name) for name in names)],
                promote_options="permissive",
            )
            return ds.dataset(names, schema=schema, **options)
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(
                f"cannot read {self.describe()} as Parquet: {first_line(exc)}"
            ) from None


def _arrow_period_filter(field: pa.Field, period: Period) -> pc.Expression:
    if pa.types.is_date(field.type):
        start, end = period.start, period.end
    else:
        start, end = (bound.to_pydatetime() for bound in period_bounds(period, field.type.tz))
    column = pc.field(field.name)
    return (column >= pa.scalar(start, type=field.type)) & (column < pa.scalar(end, field.type))
