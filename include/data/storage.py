"""Datasets read and written by name, as Parquet files or as PostgreSQL tables.

This is the tutorial's "remap connections" step: the same pipeline reads and writes its datasets
through a :class:`DatasetStore`, and only the location given to :func:`open_dataset_store` decides
whether they live in a folder of Parquet files or in a PostgreSQL schema. Writes replace a dataset
all at once, so a failed write leaves the previous version readable. Reads can ask for one period,
and the backend filters the rows itself (Parquet row-group filters, an SQL ``WHERE``) instead of
loading the whole dataset. A frame's index is not stored; frames come back indexed 0..n-1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from include.data.parquet_store import ParquetDatasetStore
from include.data.postgres_store import PostgresDatasetStore
from include.errors import ConfigurationError
from include.paths import mes_home
from include.periods import Period

__all__ = [
    "DatasetStore",
    "ParquetDatasetStore",
    "PostgresDatasetStore",
    "open_dataset_store",
]

POSTGRES_SCHEMES = ("postgresql", "postgres")


@runtime_checkable
class DatasetStore(Protocol):
    """Named tabular datasets: written whole, read whole or one period at a time."""

    def write(self, name: str, frame: pd.DataFrame) -> None:
        """Store ``frame`` as dataset ``name``, replacing any previous version all at once."""

    def read(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        date_column: str | None = None,
        period: Period | None = None,
    ) -> pd.DataFrame:
        """Dataset ``name`` (only ``columns`` if given; only rows of ``period`` if given)."""

    def exists(self, name: str) -> bool:
        """Whether dataset ``name`` is stored."""

    def names(self) -> list[str]:
        """The stored datasets, sorted."""

    def describe(self) -> str:
        """Where the datasets live, for logs and messages (never a password)."""


def open_dataset_store(location: str | os.PathLike[str] | None) -> DatasetStore:
    """The store at ``location``: a ``postgresql://`` URL, a folder, or None for the default.

    The default (also for an empty string, as from an unset variable) is the folder
    ``$MES_HOME/datasets``; ``MES_HOME`` defaults to ``<repo>/.mes``.
    """
    text = "" if location is None else os.fspath(location).strip()
    if not text:
        return ParquetDatasetStore(mes_home() / "datasets")
    scheme = text.split("://", 1)[0].split("+", 1)[0].lower() if "://" in text else None
    if scheme in POSTGRES_SCHEMES:
        return PostgresDatasetStore(text)
    if scheme is not None:
        raise ConfigurationError(
            f"cannot open a dataset store at {scheme}://...: give a folder for Parquet files or a "
            "postgresql://user:password@host:port/dbname URL"
        )
    return ParquetDatasetStore(Path(text).expanduser())
