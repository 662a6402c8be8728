"""Which path a period's batch takes: in memory (exact) or in chunks (bounded memory).

:func:`read_batch` reads the batch a chunk at a time (``RowSource.chunks``). While it holds at
most ``streaming.memory_rows`` rows it keeps them; if the source runs out first, the batch is
small enough for the exact in-memory evaluation and is returned as one frame (read again whole
when it came in several chunks, so its column types are decided on all of it, as ``read`` does).
Past the limit it stops holding rows: the chunks held and the rest are summarised one at a time
(:func:`~include.streaming.partition.summarise_chunks`) into a
:class:`~include.streaming.partition.BatchSummary`, and memory no longer grows with the batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from include.config import MonitoringConfig
from include.data.sources import RowSource
from include.model.registry import SavedModel
from include.periods import Period
from include.streaming.partition import BatchSummary, summarise_chunks


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
    chunks = source.chunks(period=period, rows=settings.chunk_rows)
    held: list[pd.DataFrame] = []
    total = 0
    for chunk in chunks:
        held.append(chunk)
        total += len(chunk)
        if total > settings.memory_rows:
            return summarise_chunks(
                model,
                _drain(held, chunks),
                config,
                seed=(config.model.seed, 0),
                labelled=labelled,
            )
    if len(held) == 1:
        return held[0]
    held.clear()
    return source.read(period=period)


def _drain(held: list[pd.DataFrame], rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The held chunks (let go of one by one), then the rest."""
    while held:
        yield held.pop(0)
    yield from rest
