"""The data quality gate of a batch read in chunks: counts that merge, the same report.

``validate_batch`` (``include.quality.gate``) runs three kinds of Great Expectations checks whose
results are all counts: values outside the reference's numeric range, categories outside its
set (both out of the column's non-missing values) and missing values (out of all rows). A
:class:`QualityTally` keeps those counts chunk by chunk and merges them by addition, so
partitions tallied by separate tasks give the tally of the whole batch, and :meth:`report`
returns the ``QualityReport`` that ``validate_batch`` returns on the concatenated batch: the
same row count, findings (column, expectation, counts, shares, details, message, in the order
Great Expectations lists them), notes and labelled rows, without Great Expectations.

Exact: every count, share and decision. A finding is made as Great Expectations makes it: when
``(considered − unexpected) / considered < mostly`` in floating point, with ``mostly = 1 −
allowed share`` (``allowed_shares``) and ``considered`` the non-missing values (all rows for
missing values), never on a column with nothing to consider; the share is Great Expectations'
``unexpected / considered * 100`` divided by 100, bit for bit. The observed extremes are the
smallest and largest non-missing values, infinite ones included, as ``values.min()`` is.

Not exact beyond a cap: a categorical feature keeps the rows of at most
:data:`MAX_NEW_CATEGORIES` distinct new categories (the most frequent, ties by text). Up to the
cap everything is exact. Beyond it, when a tally is updated or merged the smallest are dropped:
the count and share of values in new categories stay exact (they are counted apart), but
``details["new_categories"]`` becomes an upper bound (a dropped category that reappears is
counted again), the examples' rows lower bounds (rows dropped earlier are not added back), and
a category dropped early may be missing from the examples. Numbers are compared as float64, as
the gate's checks compare them; integers beyond 2**53 could round differently.

Not reproduced: an expectation that raises inside Great Expectations (a finding with an
``error`` detail in memory) cannot happen here, since no expectation is run.

Measured (two runs on 2 shared cores, the tutorial's Q2 with the test's out-of-range, infinite,
new-category and missing values repeated to 1,002,000 rows, Great Expectations imported
beforehand): ``validate_batch`` took 1.4-1.8 s; one update with the whole frame plus
:meth:`report` took 0.16-0.18 s (8-11 times faster), ten chunks of 100,000 rows 0.20-0.27 s.
The reports were equal. The fatal checks of ``raise_if_unusable``, run by both, took 0.01 s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from include.config import MonitoringConfig
from include.errors import ConfigurationError
from include.model.features import missing_labels
from include.quality.expectations import (
    ReferenceExpectations,
    _as_categories,
    _as_numbers,
    _check_derived_for,
    allowed_shares,
    small_reference_note,
)
from include.quality.findings import (
    _CATEGORIES,
    _NOT_NULL,
    _RANGE,
    QualityFinding,
    QualityReport,
    category_finding,
    missing_finding,
    range_finding,
)
from include.quality.gate import DEFAULT_TOLERANCE, label_note
from include.quality.usability import raise_if_unusable
from include.streaming import encoding
from include.streaming.quality_document import TallyDocument, extreme

MAX_NEW_CATEGORIES = 500
"""Distinct new categories kept per categorical feature, the most frequent; see the module."""

_FORMAT = "mes-quality-tally"
_VERSION = 1


@dataclass(eq=False)
class _NumericCounts:
    non_missing: int = 0
    below: int = 0
    above: int = 0
    minimum: float = math.inf  # of the non-missing values, infinite ones included
    maximum: float = -math.inf

    def merged(self, other: _NumericCounts) -> _NumericCounts:
        return _NumericCounts(
            self.non_missing + other.non_missing,
            self.below + other.below,
            self.above + other.above,
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
        )


@dataclass(eq=False)
class _CategoryCounts:
    non_missing: int = 0
    new_rows: int = 0  # all rows in new categories, exact whatever the cap dropped
    new: dict[str, int] = field(default_factory=dict)  # rows per kept new category
    dropped: int = 0  # distinct new categories dropped by the cap (summed over drops)

    def add(self, new: Mapping[str, int], dropped: int) -> None:
        for category, rows in new.items():
            self.new[category] = self.new.get(category, 0) + rows
        self.dropped += dropped
        if len(self.new) > MAX_NEW_CATEGORIES:
            kept = _largest(self.new)
            self.dropped += len(kept) - MAX_NEW_CATEGORIES
            self.new = dict(kept[:MAX_NEW_CATEGORIES])

    def merged(self, other: _CategoryCounts) -> _CategoryCounts:
        result = _CategoryCounts(
            self.non_missing + other.non_missing, self.new_rows + other.new_rows, dict(self.new)
        )
        result.dropped = self.dropped
        result.add(other.new, other.dropped)
        return result


def _largest(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Most rows first, ties in text order: ``value_counts`` of a categorical of text."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass(eq=False)
class QualityTally:
    """The counts the quality gate reads of a batch, chunk by chunk; see the module."""

    expectations: ReferenceExpectations
    config: MonitoringConfig
    check_label: bool
    rows: int = 0
    labelled: int = 0
    columns: list[str] = field(default_factory=list)  # every chunk's, in order of appearance
    missing: dict[str, int] = field(default_factory=dict)
    numeric: dict[str, _NumericCounts] = field(default_factory=dict)
    categorical: dict[str, _CategoryCounts] = field(default_factory=dict)

    @classmethod
    def empty(
        cls,
        expectations: ReferenceExpectations,
        config: MonitoringConfig,
        *,
        check_label: bool = True,
    ) -> QualityTally:
        """A tally of no rows; ConfigurationError when the expectations are of another
        configuration (as ``validate_batch``)."""
        _check_derived_for(config, expectations)
        return cls(
            expectations,
            config,
            check_label,
            missing=dict.fromkeys(expectations.missing_share, 0),
            numeric={name: _NumericCounts() for name in expectations.numeric},
            categorical={name: _CategoryCounts() for name in expectations.categorical},
        )

    def update(self, chunk: pd.DataFrame) -> None:
        """Add a chunk (in place); an empty chunk adds nothing. Raises the DataValidationError
        ``validate_batch`` raises on that chunk when it is unusable (its message counts the
        chunk's rows, not the batch's)."""
        if len(chunk) == 0:
            return
        expectations = self.expectations
        raise_if_unusable(
            chunk, self.config, label_values=expectations.label_values, check_label=self.check_label
        )
        self.rows += len(chunk)
        self.columns += [str(c) for c in chunk.columns if str(c) not in self.columns]
        if self.check_label and self.config.label in chunk.columns:
            self.labelled += int((~missing_labels(chunk[self.config.label])).sum())
        missing: dict[str, int] = {}
        for name, counts in self.numeric.items():
            values = _as_numbers(chunk[name]).to_numpy(dtype=np.float64, na_value=np.nan)
            present = values[~np.isnan(values)]
            missing[name] = values.size - present.size
            bounds = expectations.numeric[name]
            counts.non_missing += present.size
            if bounds.minimum is not None:
                counts.below += int((present < bounds.minimum).sum())
                counts.above += int((present > bounds.maximum).sum())
            if present.size:
                counts.minimum = min(counts.minimum, float(present.min()))
                counts.maximum = max(counts.maximum, float(present.max()))
        for name, counts in self.categorical.items():
            per_category = _as_categories(chunk[name]).value_counts(sort=False)
            per_category = per_category[per_category > 0]
            present = int(per_category.sum())
            missing[name] = len(chunk) - present
            new = per_category[~per_category.index.isin(expectations.categorical[name])]
            counts.non_missing += present
            counts.new_rows += int(new.sum())
            counts.add({str(k): int(v) for k, v in new.items()}, 0)
        for name in self.missing:
            if name not in missing:
                missing[name] = int(chunk[name].isna().sum())
            self.missing[name] += missing[name]

    def merge(self, other: QualityTally) -> QualityTally:
        """The tally of both (a new one); ConfigurationError for tallies of other expectations,
        another configuration or another ``check_label``."""
        if (
            not isinstance(other, QualityTally)
            or other.expectations.to_dict() != self.expectations.to_dict()
            or other.config != self.config
            or other.check_label != self.check_label
        ):
            raise ConfigurationError(
                "cannot merge quality tallies of different expectations, configurations or "
                "check_label: tally every partition with the same ones"
            )
        return QualityTally(
            self.expectations,
            self.config,
            self.check_label,
            self.rows + other.rows,
            self.labelled + other.labelled,
            self.columns + [c for c in other.columns if c not in self.columns],
            {name: rows + other.missing[name] for name, rows in self.missing.items()},
            {name: c.merged(other.numeric[name]) for name, c in self.numeric.items()},
            {name: c.merged(other.categorical[name]) for name, c in self.categorical.items()},
        )

    def report(self, *, tolerance: float = DEFAULT_TOLERANCE) -> QualityReport:
        """``validate_batch(batch, expectations, config, check_label=…, tolerance=…)`` of the
        whole batch; EmptyBatchError for a tally of no rows, as ``validate_batch`` raises."""
        if not 0.0 <= tolerance < 1.0:
            raise ConfigurationError(f"tolerance must be at least 0 and below 1, not {tolerance}")
        if self.rows == 0:
            raise_if_unusable(pd.DataFrame(), self.config, label_values=())
        allowed = allowed_shares(self.expectations, tolerance)
        findings = [
            finding
            for column, kind in _checks(self.expectations)
            if (finding := self._finding(column, kind, allowed))
        ]
        labelled = self.labelled if self.check_label else None
        header = pd.DataFrame(columns=self.columns)
        notes = (
            small_reference_note(self.expectations),
            label_note(self.rows, header, self.config, labelled),
        )
        return QualityReport(
            row_count=self.rows,
            warnings=tuple(findings),
            label_checked=self.check_label,
            notes=tuple(note for note in notes if note),
            labelled_rows=labelled,
        )

    def _finding(
        self, column: str, kind: str, allowed: Mapping[str, float]
    ) -> QualityFinding | None:
        if kind == _NOT_NULL:
            count, considered, key = self.missing[column], self.rows, f"missing:{column}"
        elif kind == _RANGE:
            numeric = self.numeric[column]
            count, considered, key = numeric.below + numeric.above, numeric.non_missing, "range"
        else:
            categories = self.categorical[column]
            count, considered = categories.new_rows, categories.non_missing
            key = f"categories:{column}"
        mostly = max(0.0, 1.0 - allowed[key])
        if considered == 0 or (float(considered) - float(count)) / float(considered) >= mostly:
            return None
        share = count / considered * 100 / 100
        if kind == _NOT_NULL:
            reference = self.expectations.missing_share.get(column, 0.0)
            return missing_finding(column, count, share, reference)
        if kind == _RANGE:
            return range_finding(
                column,
                count,
                share,
                self.expectations.numeric[column],
                below=numeric.below,
                above=numeric.above,
                observed=(numeric.minimum, numeric.maximum),
            )
        largest = _largest(categories.new)
        distinct = len(largest) + categories.dropped
        return category_finding(column, count, share, distinct, largest)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe document; :meth:`from_dict` reads it back."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "expectations": self.expectations.to_dict(),
            "config": self.config.model_dump(mode="json"),
            "check_label": self.check_label,
            "rows": self.rows,
            "labelled": self.labelled,
            "columns": list(self.columns),
            "missing": dict(self.missing),
            "numeric": {
                name: {
                    "non_missing": c.non_missing,
                    "below": c.below,
                    "above": c.above,
                    "minimum": extreme(c.minimum) if c.non_missing else None,
                    "maximum": extreme(c.maximum) if c.non_missing else None,
                }
                for name, c in self.numeric.items()
            },
            "categorical": {
                name: {
                    "non_missing": c.non_missing,
                    "new_rows": c.new_rows,
                    "new": dict(_largest(c.new)),
                    "dropped": c.dropped,
                }
                for name, c in self.categorical.items()
            },
        }

    @classmethod
    def from_dict(cls, document: Any) -> QualityTally:
        """The tally :meth:`to_dict` wrote; DataValidationError saying what is malformed."""
        try:
            entry = encoding.read(TallyDocument, document, _FORMAT, _VERSION)
            tally = cls.empty(entry.expectations, entry.config, check_label=entry.check_label)
        except ConfigurationError as exc:
            raise encoding.malformed(_FORMAT, f"its expectations or configuration: {exc}") from None
        tally.rows, tally.labelled, tally.columns = entry.rows, entry.labelled, list(entry.columns)
        tally.missing = {name: entry.missing[name] for name in tally.missing}
        for name, c in entry.numeric.items():
            extremes = (c.minimum, c.maximum) if c.non_missing else (math.inf, -math.inf)
            tally.numeric[name] = _NumericCounts(c.non_missing, c.below, c.above, *extremes)
        for name, c in entry.categorical.items():
            tally.categorical[name] = _CategoryCounts(c.non_missing, c.new_rows, dict(c.new))
            tally.categorical[name].dropped = c.dropped
        return tally


def _checks(expectations: ReferenceExpectations) -> list[tuple[str, str]]:
    """The gate's suite as (column, expectation), in the order Great Expectations reports it:
    grouped by column in order of first appearance, each column's in suite order."""
    suite: list[tuple[str, str]] = []
    if expectations.learns_ranges:
        suite += [(n, _RANGE) for n, b in expectations.numeric.items() if b.minimum is not None]
        suite += [(n, _CATEGORIES) for n, v in expectations.categorical.items() if v]
    suite += [(name, _NOT_NULL) for name in expectations.missing_share]
    columns = list(dict.fromkeys(column for column, _ in suite))
    return [check for column in columns for check in suite if check[0] == column]
