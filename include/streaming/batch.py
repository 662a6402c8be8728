"""Which path a period's batch takes: in memory (exact) or in chunks (bounded memory).

:func:`read_batch` reads the batch a chunk at a time (``RowSource.chunks``). While it holds at
most ``streaming.memory_rows`` rows it keeps them; if the source runs out first, the batch is
small enough for the exact in-memory evaluation and is returned as one frame (its chunks put
together, or, from a CSV file, read again whole so that its column types are decided on all of
it, as ``read`` does).
Past the limit it stops holding rows: the chunks held and the rest are summarised one at a time
(:func:`~include.streaming.partition.summarise_chunks`) into a
:class:`~include.streaming.partition.BatchSummary`, and memory no longer grows with the batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from include.config import MonitoringConfig
from include.data.sources import CsvRows, RowSource
from include.model.registry import SavedModel
from include.periods import Period
from include.streaming.partition import BatchSummary, summarise_chunks
from include.streaming.reservoir import Reservoir

MIN_REFERENCE_ROWS = 100_000
"""A reference is sampled to ``max(streaming.memory_rows, this)`` rows at the fewest: a
configuration that streams every batch (``memory_rows: 0``) still profiles a real reference."""


def read_batch(
    model: SavedModel,
    source: RowSource,
    config: MonitoringConfig,
    period: Period,
    *,
    labelled: bool = True,
) -> pd.DataFrame | BatchSummary:
    """The batch of ``period`` as a frame (at most ``memory_rows`` rows, possibly none), or as
    the summary of its rows (more)."""
    settings = config.streaming
    held, rest = _hold(source, period, settings.chunk_rows, settings.memory_rows)
    if rest is None:
        return _whole(source, period, held)
    return summarise_chunks(
        model, _drain(held, rest), config, seed=(config.model.seed, 0), labelled=labelled
    )


def _hold(
    source: RowSource, period: Period, chunk_rows: int, limit: int
) -> tuple[list[pd.DataFrame], Iterator[pd.DataFrame] | None]:
    """The period's chunks held until they pass ``limit`` rows: (all of them, None) when the
    source runs out first, else (those held, the chunks still to come)."""
    chunks = source.chunks(period=period, rows=chunk_rows)
    held: list[pd.DataFrame] = []
    total = 0
    for chunk in chunks:
        held.append(chunk)
        total += len(chunk)
        if total > limit:
            return held, chunks
    return held, None


def _whole(source: RowSource, period: Period, held: list[pd.DataFrame]) -> pd.DataFrame:
    """The batch from its chunks: put together where the source fixes each column's type
    (Parquet, PostgreSQL, the dataset store), read again whole from a CSV file, whose chunks
    each infer their own types."""
    if len(held) == 1:
        return held[0]
    if held and not isinstance(source, CsvRows):
        return pd.concat(held, ignore_index=True)
    held.clear()
    return source.read(period=period)


def read_reference(
    source: RowSource, config: MonitoringConfig, period: Period
) -> tuple[pd.DataFrame, str | None]:
    """The rows of the reference ``period``, and None; or, when it holds more rows than
    ``max(streaming.memory_rows, MIN_REFERENCE_ROWS)``, a uniform sample of that many (a
    reservoir over its chunks, seeded by ``model.seed``, in date order) and a sentence saying so.

    A model version is trained, profiled and calibrated once, on at most that many rows, so
    registering a version of a model whose reference period holds 100 million rows takes the
    memory of the limit, not of the period. Drift is then measured against the sample: the
    statistics compare with the rows the profile holds, and say how many.
    """
    limit = max(config.streaming.memory_rows, MIN_REFERENCE_ROWS)
    held, rest = _hold(source, period, config.streaming.chunk_rows, limit)
    if rest is None:
        return _whole(source, period, held), None
    sample = Reservoir(limit, seed=(config.model.seed, 2**31 - 1))
    for part in _drain(held, rest):
        sample.update(part)
    rows = sample.sample().sort_values(config.date_column, kind="stable")
    note = (
        f"a uniform sample of {limit:,} of the reference period's {sample.seen:,} rows "
        "(streaming.memory_rows)"
    )
    return rows.reset_index(drop=True), note


def _drain(held: list[pd.DataFrame], rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The held chunks (let go of one by one), then the rest."""
    while held:
        yield held.pop(0)
    yield from rest
