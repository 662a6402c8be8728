"""The data quality gate: check a batch against what the model's reference data looked like.

The reference is the held-out test split of the training period. ``derive_expectations`` records
its numeric ranges, categories, label classes and missing-value shares in a JSON-serialisable
``ReferenceExpectations``, saved beside the model. ``validate_batch`` checks each batch before it
is evaluated:

- problems that make the batch unusable (no rows, missing columns, text in a numeric feature, a
  label outside its classes, unparseable dates) raise one ``DataValidationError`` listing them all
  (see ``include.quality.usability``), before Great Expectations is even imported; a label not
  known yet (missing on some rows, or no label column) is not one of them: the report counts the
  labelled rows;
- everything else runs as a Great Expectations suite, and each failed expectation comes back as a
  warning in a ``QualityReport``: numeric values outside the reference range, categories the
  reference never showed, more missing values than the reference had.

What a reference of n rows can say depends on n, and the share of values each expectation lets
pass says so (see ``allowed_shares``): beyond ``tolerance``, the share of new values that fall
outside the range of n reference values at the 95 % level (distribution-free: that share follows
a Beta(2, n − 1)), the share of the reference's categories seen only once (Good–Turing's estimate
of what a new row shows that the reference did not), and the Wilson 95 % upper bound of the
reference's missing share. Below ``MIN_REFERENCE_ROWS`` rows ranges and categories are not
learned at all: the report says so instead of warning at every batch.

Great Expectations takes seconds to import, so it is imported only when a batch is validated.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from include.config import MonitoringConfig
from include.errors import ConfigurationError
from include.model.features import missing_labels
from include.quality.expectations import (
    MIN_REFERENCE_ROWS,
    NumericRange,
    ReferenceExpectations,
    _as_categories,
    _as_numbers,
    _check_derived_for,
    allowed_shares,
    derive_expectations,
    small_reference_note,
)
from include.quality.findings import (
    _CATEGORIES,
    _EXAMPLES,
    _RANGE,
    QualityFinding,
    QualityReport,
    category_finding,
    missing_finding,
    range_finding,
)
from include.quality.usability import closest_column, percent, plural, raise_if_unusable

if TYPE_CHECKING:
    from types import ModuleType

# the records and helpers of the gate, importable from here as before they had modules of their own
__all__ = [
    "DEFAULT_TOLERANCE",
    "MIN_REFERENCE_ROWS",
    "NumericRange",
    "QualityFinding",
    "QualityReport",
    "ReferenceExpectations",
    "allowed_shares",
    "category_finding",
    "derive_expectations",
    "label_note",
    "missing_finding",
    "range_finding",
    "small_reference_note",
    "validate_batch",
]

DEFAULT_TOLERANCE = 0.001
"""Share of a column's values that may break an expectation, beyond the share the reference itself
broke it by, before it is a warning (0.1 %). A batch larger than its reference always has a few
values just past the reference's extremes; that alone is not worth a warning."""


def validate_batch(
    batch: pd.DataFrame,
    expectations: ReferenceExpectations,
    config: MonitoringConfig,
    *,
    check_label: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
) -> QualityReport:
    """Check a batch before evaluation: raise on unusable data, report everything else.

    The label may be missing on any row, or absent: labels arrive late. Where it is there it must
    be one of the reference's classes; the report counts the labelled rows and says in a note
    how many are not labelled yet. With ``check_label=False`` the label is not read at all
    (evaluation without labels: performance is skipped). ``tolerance`` is the share of a
    column's values that may break an expectation before it becomes a warning (see
    ``DEFAULT_TOLERANCE``).
    """
    _check_derived_for(config, expectations)
    if not 0.0 <= tolerance < 1.0:
        raise ConfigurationError(f"tolerance must be at least 0 and below 1, not {tolerance}")
    raise_if_unusable(
        batch, config, label_values=expectations.label_values, check_label=check_label
    )
    frame = _frame_to_check(batch, expectations)
    gx = _great_expectations()
    result = _run_suite(gx, frame, _suite(gx, expectations, tolerance))
    findings = tuple(
        _finding(item, frame, expectations)
        for item in result.results
        if not item.success or _raised(item)
    )
    labelled = _labelled_rows(batch, config) if check_label else None
    notes = (small_reference_note(expectations), _label_note(batch, config, labelled))
    return QualityReport(
        row_count=len(batch),
        warnings=findings,
        label_checked=check_label,
        notes=tuple(note for note in notes if note),
        labelled_rows=labelled,
    )


def _labelled_rows(batch: pd.DataFrame, config: MonitoringConfig) -> int:
    if config.label not in batch.columns:
        return 0
    return int((~missing_labels(batch[config.label])).sum())


def _label_note(batch: pd.DataFrame, config: MonitoringConfig, labelled: int | None) -> str | None:
    """How much of the batch is labelled, when not all of it (None when all is, or unchecked)."""
    return label_note(len(batch), batch.iloc[:0], config, labelled)


def label_note(
    row_count: int, header: pd.DataFrame, config: MonitoringConfig, labelled: int | None
) -> str | None:
    """``_label_note`` of a batch of ``row_count`` rows whose columns are ``header``'s (a frame
    of any rows, e.g. none), so that a batch read in chunks gets the same note."""
    if labelled is None or labelled == row_count:
        return None
    if config.label not in header.columns:
        close = closest_column(config.label, header, config)
        hint = f" (did you mean {close!r}? rename the column or fix the configuration)"
        return f"no label column {config.label!r}: no row is labelled yet" + (hint if close else "")
    if not labelled:
        return f"label {config.label!r} missing on all {row_count:,} rows: not labelled yet"
    return (
        f"label {config.label!r} known on {plural(labelled, 'row')} of {row_count:,} "
        f"({percent(labelled / row_count)}): the others are not labelled yet"
    )


def _frame_to_check(batch: pd.DataFrame, expectations: ReferenceExpectations) -> pd.DataFrame:
    """Only the checked columns: numbers as numpy numbers, categories as categoricals of text."""
    batch = batch.reset_index(drop=True)
    columns = {name: _as_numbers(batch[name]) for name in expectations.numeric}
    columns |= {name: _as_categories(batch[name]) for name in expectations.categorical}
    columns[expectations.date_column] = batch[expectations.date_column]
    return pd.DataFrame(columns, copy=False)


# --- Great Expectations ----------------------------------------------------------------------


def _great_expectations() -> ModuleType:
    logger = logging.getLogger("great_expectations")
    if logger.level == logging.NOTSET:  # its INFO messages are noise in a task log
        logger.setLevel(logging.WARNING)
    with warnings.catch_warnings():  # deprecation warnings of its own dependencies
        warnings.simplefilter("ignore")
        import great_expectations

    return great_expectations


def _suite(gx: ModuleType, expectations: ReferenceExpectations, tolerance: float) -> list:
    gxe = gx.expectations
    allowed = allowed_shares(expectations, tolerance)

    def mostly(key: str) -> float:
        return max(0.0, 1.0 - allowed[key])

    suite: list = []
    if expectations.learns_ranges:
        suite += [
            gxe.ExpectColumnValuesToBeBetween(
                column=name,
                min_value=bounds.minimum,
                max_value=bounds.maximum,
                mostly=mostly("range"),
            )
            for name, bounds in expectations.numeric.items()
            if bounds.minimum is not None
        ]
        suite += [
            gxe.ExpectColumnValuesToBeInSet(
                column=name, value_set=list(values), mostly=mostly(f"categories:{name}")
            )
            for name, values in expectations.categorical.items()
            if values
        ]
    suite += [
        gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=mostly(f"missing:{name}"))
        for name in expectations.missing_share
    ]
    return suite


def _run_suite(gx: ModuleType, frame: pd.DataFrame, suite: list) -> Any:
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            progress_bars=ProgressBarsConfig(globally=False),
        ),
    )
    batch_definition = (
        context.data_sources.add_pandas("batch")
        .add_dataframe_asset("batch")
        .add_batch_definition_whole_dataframe("batch")
    )
    expectation_suite = context.suites.add(
        gx.ExpectationSuite(name="reference", expectations=suite)
    )
    # a validation definition builds the batch once (Batch.validate would build and hash it twice)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name="quality_gate", data=batch_definition, suite=expectation_suite)
    )
    # BASIC: counts and a few unexpected values, never the full unexpected lists
    return validation.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "BASIC", "partial_unexpected_count": _EXAMPLES},
    )


def _raised(item: Any) -> str | None:
    """The message of an exception raised while an expectation ran, or None."""
    info = item.exception_info or {}
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "unknown error")
    return None


def _finding(item: Any, frame: pd.DataFrame, expectations: ReferenceExpectations) -> QualityFinding:
    kind = item.expectation_config.type
    column = item.expectation_config.kwargs["column"]
    if error := _raised(item):
        message = f"{column}: not checked, great_expectations failed ({error})"
        return QualityFinding(column, kind, message, 0, 0.0, {"error": error})
    count = int(item.result.get("unexpected_count") or 0)
    share = float(item.result.get("unexpected_percent") or 0.0) / 100
    values = frame[column]
    if kind == _RANGE:
        bounds = expectations.numeric[column]
        return range_finding(
            column,
            count,
            share,
            bounds,
            below=int((values < bounds.minimum).sum()),
            above=int((values > bounds.maximum).sum()),
            observed=(values.min(), values.max()),
        )
    if kind == _CATEGORIES:
        new = values[values.notna() & ~values.isin(expectations.categorical[column])]
        counts = new.value_counts().loc[lambda c: c > 0]
        return category_finding(column, count, share, len(counts), list(counts.items()))
    return missing_finding(column, count, share, expectations.missing_share.get(column, 0.0))
