"""A uniform random sample of fixed size from a stream of row chunks, mergeable exactly.

Every row gets a key drawn uniformly from [0, 1); the sample is the ``k`` rows with the smallest
keys. Keys are independent of the rows, so any ``k`` rows are equally likely to hold the
smallest ones: a uniform sample without replacement. Two reservoirs of disjoint parts merge into
the ``k`` smallest keys of their union, which is the sample one reservoir over both parts would
have kept from the same keys, hence again uniform. The domain classifier and the stored sample
read it.

Each partition needs its own stream of keys: a caller derives the seeds as
``(evaluation_seed, partition_index)``, which NumPy's ``SeedSequence`` turns into independent
streams. Two partitions with one seed would draw the same keys and favour rows at the same
positions in each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from include.errors import ConfigurationError


@dataclass(eq=False)
class Reservoir:
    """Up to ``size`` rows of a stream, a uniform sample of all rows seen.

    ``rows`` are the sampled rows with their original index, ``keys`` their keys (ascending),
    ``seen`` the number of rows offered. Memory: the ``size`` rows and their keys. ``seed`` is
    None for a merge result, which takes no more rows.
    """

    size: int
    seed: int | Sequence[int] | None
    rows: pd.DataFrame | None = None
    keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    seen: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ConfigurationError(f"the sample size must be a positive int, got {self.size!r}")
        self._generator = None if self.seed is None else np.random.default_rng(self.seed)

    def update(self, chunk: pd.DataFrame) -> None:
        """Offer a chunk of rows (in place); keys come from this reservoir's seeded stream."""
        if self._generator is None:
            raise ConfigurationError(
                "this reservoir has no seed (a merge result): offer rows to the partitions' "
                "reservoirs and merge them"
            )
        keys = self._generator.random(len(chunk))
        self.seen += len(chunk)
        if self.keys.size == self.size:
            # only rows whose key beats the largest kept key can enter
            entering = keys < self.keys[-1]
            chunk, keys = chunk[entering], keys[entering]
        self._keep_smallest(chunk, keys)

    def merge(self, other: Reservoir) -> Reservoir:
        """The reservoir of both streams (a new one, without a key stream of its own: merge
        results are merged further, not updated)."""
        if not isinstance(other, Reservoir) or other.size != self.size:
            raise ConfigurationError(
                f"cannot merge a reservoir of {self.size} rows with "
                f"{getattr(other, 'size', type(other).__name__)!r}: sample every partition with "
                "the same size"
            )
        if (
            self.rows is not None
            and other.rows is not None
            and list(self.rows.columns) != list(other.rows.columns)
        ):
            raise ConfigurationError(
                "cannot merge reservoirs of different columns: "
                f"{list(self.rows.columns)[:10]} and {list(other.rows.columns)[:10]}"
            )
        merged = Reservoir(self.size, seed=None)
        merged.rows, merged.keys, merged.seen = self.rows, self.keys, self.seen + other.seen
        if other.rows is not None:
            merged._keep_smallest(other.rows, other.keys)
        return merged

    def sample(self) -> pd.DataFrame:
        """The sampled rows (in key order, i.e. random order), at most ``size``."""
        if self.rows is None:
            raise ConfigurationError("the reservoir has seen no chunk yet: offer rows first")
        return self.rows

    def _keep_smallest(self, chunk: pd.DataFrame, keys: np.ndarray) -> None:
        if self.rows is None:
            self.rows = chunk.iloc[:0]
        if keys.size == 0:
            return
        pooled = pd.concat([self.rows, chunk]) if self.keys.size else chunk
        pooled_keys = np.concatenate((self.keys, keys))
        order = np.argsort(pooled_keys, kind="stable")[: self.size]
        self.rows, self.keys = pooled.iloc[order], pooled_keys[order]
