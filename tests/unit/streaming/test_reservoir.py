from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from include.errors import ConfigurationError
from include.streaming.reservoir import Reservoir


def _frame(start: int, stop: int) -> pd.DataFrame:
    rows = np.arange(start, stop)
    return pd.DataFrame({"row": rows, "double": rows * 2.0}, index=rows)


def _partition_sample(seed: int, size: int = 5) -> set[int]:
    """Rows 0–4 and 5–19 summarised by two tasks (chunks of uneven size), then merged."""
    first = Reservoir(size, seed=(seed, 0))
    first.update(_frame(0, 2))
    first.update(_frame(2, 5))
    second = Reservoir(size, seed=(seed, 1))
    for start in range(5, 20, 4):
        second.update(_frame(start, min(start + 4, 20)))
    return set(first.merge(second).sample()["row"])


def test_merged_partitions_give_every_row_the_same_chance():
    # 600 seeded runs: each of the 20 rows should be sampled 600 · 5/20 = 150 times
    included = np.zeros(20)
    for seed in range(600):
        included[list(_partition_sample(seed))] += 1
    _, pvalue = stats.chisquare(included)

    assert included.sum() == 600 * 5
    assert pvalue > 0.01


def test_merge_equals_one_reservoir_over_the_same_keys():
    # one reservoir over rows 0–99 versus the same keys split as two partitions would draw them
    keys = np.random.default_rng(3).random(100)
    whole = set(np.argsort(keys)[:10])
    parts = []
    for rows in (slice(0, 37), slice(37, 100)):
        part = Reservoir(10, seed=0)
        part._generator = _Fixed(keys[rows])
        part.update(_frame(rows.start, rows.stop))
        parts.append(part)

    assert set(parts[0].merge(parts[1]).sample()["row"]) == whole
    assert set(parts[1].merge(parts[0]).sample()["row"]) == whole


class _Fixed:
    """A key stream that hands out given keys, to compare with a sort of all keys."""

    def __init__(self, keys: np.ndarray) -> None:
        self._keys = keys

    def random(self, count: int) -> np.ndarray:
        drawn, self._keys = self._keys[:count], self._keys[count:]
        return drawn


def test_small_streams_and_empty_chunks_are_kept_whole():
    reservoir = Reservoir(10, seed=1)
    reservoir.update(_frame(0, 0))
    reservoir.update(_frame(0, 4))
    reservoir.update(_frame(4, 4))

    sample = reservoir.sample()
    assert sorted(sample["row"]) == [0, 1, 2, 3]
    assert list(sample.columns) == ["row", "double"]
    assert reservoir.seen == 4
    assert np.array_equal(sample["double"], sample["row"] * 2.0)


def test_the_same_seed_gives_the_same_sample():
    def run(seed):
        reservoir = Reservoir(50, seed=seed)
        for start in range(0, 10_000, 1_000):
            reservoir.update(_frame(start, start + 1_000))
        return list(reservoir.sample().index)

    assert run((7, 0)) == run((7, 0))
    assert run((7, 0)) != run((7, 1))


def test_mismatched_merges_and_bad_sizes_are_refused():
    reservoir = Reservoir(5, seed=0)
    reservoir.update(_frame(0, 3))
    other = Reservoir(5, seed=1)
    other.update(pd.DataFrame({"elsewhere": [1]}))

    with pytest.raises(ConfigurationError, match="different columns"):
        reservoir.merge(other)
    with pytest.raises(ConfigurationError, match="reservoir of 5 rows with 6"):
        reservoir.merge(Reservoir(6, seed=0))
    with pytest.raises(ConfigurationError, match="positive int"):
        Reservoir(0, seed=0)
    with pytest.raises(ConfigurationError, match="merge result"):
        reservoir.merge(Reservoir(5, seed=2)).update(_frame(0, 1))
    with pytest.raises(ConfigurationError, match="seen no chunk"):
        Reservoir(5, seed=0).sample()
