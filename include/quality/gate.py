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
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from include.config import MonitoringConfig
from include.errors import ConfigurationError, DataValidationError, ModelIntegrityError
from include.model.features import missing_labels
from include.quality.usability import (
    closest_column,
    percent,
    plain,
    plural,
    raise_if_unusable,
)

if TYPE_CHECKING:
    from types import ModuleType

DEFAULT_TOLERANCE = 0.001
"""Share of a column's values that may break an expectation, beyond the share the reference itself
broke it by, before it is a warning (0.1 %). A batch larger than its reference always has a few
values just past the reference's extremes; that alone is not worth a warning."""

MIN_REFERENCE_ROWS = 200
"""Fewest reference rows from which numeric ranges and category sets are learned. Below, the
range of n values leaves out a large share of new values by chance alone (on average 2 / (n + 1);
up to 14 % for 19 rows at the 95 % level), so those expectations are skipped with a note."""

CONFIDENCE = 0.95

EXPECTATIONS_FORMAT = 1

_RANGE = "expect_column_values_to_be_between"
_CATEGORIES = "expect_column_values_to_be_in_set"
_NOT_NULL = "expect_column_values_to_not_be_null"
_SHORT_NAMES = {_RANGE: "out of range", _CATEGORIES: "new categories", _NOT_NULL: "missing values"}
_EXAMPLES = 3


@dataclass(frozen=True)
class NumericRange:
    """One numeric feature of the reference: its kind and its smallest and largest finite values."""

    kind: str  # "integer", "float" or "boolean"
    minimum: float | None  # None when the reference holds no finite value
    maximum: float | None


@dataclass(frozen=True)
class ReferenceExpectations:
    """What a batch is expected to look like, derived once from the model's reference data."""

    label: str
    label_values: tuple[int | str, ...]
    date_column: str
    numeric: dict[str, NumericRange]
    categorical: dict[str, tuple[str, ...]]  # the categories seen, as text
    missing_share: dict[str, float]  # of each feature and of the date column
    row_count: int
    # share of the reference's non-missing values whose category it shows once; absent in
    # expectations saved before it was recorded (then 0)
    singleton_share: dict[str, float] = field(default_factory=dict)

    @property
    def learns_ranges(self) -> bool:
        """Whether the reference is large enough to learn numeric ranges and category sets."""
        return self.row_count >= MIN_REFERENCE_ROWS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable mapping; ``from_dict`` reads it back."""
        return {"format": EXPECTATIONS_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceExpectations:
        """Read expectations saved with ``to_dict``; ModelIntegrityError when they are malformed."""
        try:
            if data["format"] != EXPECTATIONS_FORMAT:
                raise ValueError(f"format {data['format']!r} is not {EXPECTATIONS_FORMAT}")
            return cls(
                label=str(data["label"]),
                label_values=tuple(data["label_values"]),
                date_column=str(data["date_column"]),
                numeric={
                    str(name): NumericRange(
                        kind=str(item["kind"]),
                        minimum=_optional_float(item["minimum"]),
                        maximum=_optional_float(item["maximum"]),
                    )
                    for name, item in data["numeric"].items()
                },
                categorical={
                    str(name): tuple(str(v) for v in values)
                    for name, values in data["categorical"].items()
                },
                missing_share={str(k): float(v) for k, v in data["missing_share"].items()},
                row_count=int(data["row_count"]),
                singleton_share={
                    str(k): float(v) for k, v in (data.get("singleton_share") or {}).items()
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelIntegrityError(
                f"saved reference expectations are malformed ({type(exc).__name__}: {exc}); "
                "derive them again from the reference data with derive_expectations"
            ) from None


@dataclass(frozen=True)
class QualityFinding:
    """One failed expectation: the column, the expectation, and how many values broke it."""

    column: str
    expectation: str  # the Great Expectations expectation type
    message: str
    unexpected_count: int
    unexpected_share: float  # of the non-missing values; of all rows for missing values
    details: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable specifics

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QualityReport:
    """The non-fatal outcome of validating one batch."""

    row_count: int
    warnings: tuple[QualityFinding, ...] = ()
    label_checked: bool = True
    notes: tuple[str, ...] = ()  # what was not checked, and why
    # rows whose label is known (labels arrive late); None when the label was not checked
    labelled_rows: int | None = None

    @property
    def passed(self) -> bool:
        """True when no expectation failed."""
        return not self.warnings

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "row_count": self.row_count,
            "label_checked": self.label_checked,
            "labelled_rows": self.labelled_rows,
            "warnings": [finding.to_dict() for finding in self.warnings],
            "notes": list(self.notes),
            "summary": self.summary(),
        }

    def summary(self) -> str:
        """One line for a task log."""
        label = "" if self.label_checked else " (label not checked)"
        notes = "".join(f"; {note}" for note in self.notes)
        if self.passed:
            return (
                f"data quality passed: {plural(self.row_count, 'row')}, no warnings{label}{notes}"
            )
        items = "; ".join(
            f"{w.column} not checked"
            if "error" in w.details
            else f"{w.column} {_SHORT_NAMES.get(w.expectation, w.expectation)} "
            f"({w.unexpected_count:,}, {percent(w.unexpected_share)})"
            for w in self.warnings
        )
        return (
            f"data quality: {plural(len(self.warnings), 'warning')} on "
            f"{plural(self.row_count, 'row')}{label}: {items}{notes}"
        )


def derive_expectations(reference: pd.DataFrame, config: MonitoringConfig) -> ReferenceExpectations:
    """Record what the reference data looks like; DataValidationError when it is unusable."""
    raise_if_unusable(reference, config, label_values=None)
    numeric = {}
    for name in config.numeric_features:
        values = _as_numbers(reference[name])
        finite = values[np.isfinite(values)]
        numeric[name] = NumericRange(
            kind="boolean" if ptypes.is_bool_dtype(reference[name]) else _number_kind(finite),
            minimum=float(finite.min()) if len(finite) else None,
            maximum=float(finite.max()) if len(finite) else None,
        )
    return ReferenceExpectations(
        label=config.label,
        label_values=_label_classes(reference[config.label], config),
        date_column=config.date_column,
        numeric=numeric,
        categorical={
            name: tuple(_as_categories(reference[name]).cat.categories)
            for name in config.categorical_features
        },
        missing_share={
            name: float(reference[name].isna().mean()) for name in config.required_columns
        },
        row_count=len(reference),
        singleton_share={
            name: _singleton_share(reference[name]) for name in config.categorical_features
        },
    )


def _singleton_share(series: pd.Series) -> float:
    counts = _as_categories(series).value_counts()
    seen = int(counts.sum())
    return float((counts == 1).sum() / seen) if seen else 0.0


def allowed_shares(expectations: ReferenceExpectations, tolerance: float) -> dict[str, float]:
    """The share of a batch's values each kind of expectation lets break it, for this reference.

    ``range``: tolerance plus the 95 % quantile of Beta(2, n − 1), the share of new values from
    the reference's own distribution that fall outside the range of its n values (1.2 % for 400
    rows, 0.05 % for 10,000). ``missing:<column>``: tolerance plus the Wilson 95 % upper bound of
    the reference's missing share. ``categories:<column>``: tolerance plus the share of the
    reference's values in categories it shows once.
    """
    from scipy.stats import beta

    from include.evaluation.intervals import wilson_interval

    n = expectations.row_count
    shares = {"range": tolerance + float(beta.ppf(CONFIDENCE, 2, max(n - 1, 1)))}
    for name, share in expectations.missing_share.items():
        bounds = wilson_interval(round(share * n), n)
        shares[f"missing:{name}"] = tolerance + (bounds[1] if bounds else share)
    for name in expectations.categorical:
        shares[f"categories:{name}"] = tolerance + expectations.singleton_share.get(name, 0.0)
    return shares


def small_reference_note(expectations: ReferenceExpectations) -> str | None:
    """Why ranges and categories were not checked, or None when they were."""
    if expectations.learns_ranges:
        return None
    return (
        f"ranges and categories not checked: the reference holds "
        f"{plural(expectations.row_count, 'row')}, too few to learn them (at least "
        f"{MIN_REFERENCE_ROWS}); a new value outside the range of so few is expected by chance"
    )


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


def _label_classes(series: pd.Series, config: MonitoringConfig) -> tuple[int | str, ...]:
    """The label's two classes: the reference's values, completed by the positive class."""
    seen = {plain(v) for v in series.dropna().unique()}
    shown = ", ".join(repr(v) for v in sorted(seen, key=str))
    if len(seen) > 2:
        raise DataValidationError(
            f"the reference label {config.label!r} has {len(seen)} values ({shown}), but a "
            "binary classifier's label has two; check the label column"
        )
    classes = seen | {config.positive_class}
    if len(classes) > 2:
        raise ConfigurationError(
            f"positive_class {config.positive_class!r} is not one of the reference label's "
            f"values ({shown}); set positive_class to one of them"
        )
    if classes <= {0, 1}:  # a 0/1 label whose reference shows one class only
        classes = {0, 1}
    if len(classes) < 2:
        raise DataValidationError(
            f"the reference label {config.label!r} shows only the class {shown}; a binary "
            "classifier's reference data needs both classes"
        )
    return tuple(sorted(classes, key=lambda c: (isinstance(c, str), c)))


def _check_derived_for(config: MonitoringConfig, expectations: ReferenceExpectations) -> None:
    mismatches = [
        f"{what}: expectations {theirs}, configuration {ours}"
        for what, theirs, ours in (
            ("numeric features", sorted(expectations.numeric), sorted(config.numeric_features)),
            (
                "categorical features",
                sorted(expectations.categorical),
                sorted(config.categorical_features),
            ),
            ("label", repr(expectations.label), repr(config.label)),
            ("date column", repr(expectations.date_column), repr(config.date_column)),
        )
        if theirs != ours
    ]
    if mismatches:
        raise ConfigurationError(
            "the reference expectations were derived for another configuration ("
            + "; ".join(mismatches)
            + "); derive them again from the reference data with derive_expectations"
        )


# --- columns as the checks read them ---------------------------------------------------------


def _as_numbers(series: pd.Series) -> pd.Series:
    """The column as numpy numbers (nullable, boolean and Decimal columns become float64)."""
    if series.dtype.kind in "iuf":
        return series
    return pd.to_numeric(series, errors="coerce").astype("float64")


def _number_kind(finite: pd.Series) -> str:
    return "integer" if bool((finite == np.floor(finite)).all()) else "float"


def _as_categories(series: pd.Series) -> pd.Series:
    """The column as a pandas categorical of text, so that 12, 12.0 and '12' are one category."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    categories, inverse = np.unique(
        np.array([str(plain(v)) for v in uniques], dtype=object), return_inverse=True
    )
    codes = np.append(inverse, -1)[codes]  # the missing-value code -1 picks the appended -1
    categorical = pd.Categorical.from_codes(codes, categories=categories.astype(str))
    return pd.Series(categorical, index=series.index, name=series.name)


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


def range_finding(
    column: str,
    count: int,
    share: float,
    bounds: NumericRange,
    *,
    below: int,
    above: int,
    observed: tuple[Any, Any],
) -> QualityFinding:
    """The finding of values outside ``bounds``: ``observed`` is the column's smallest and
    largest non-missing value (infinite ones included)."""
    low, high = observed
    details = {
        "expected_min": bounds.minimum,
        "expected_max": bounds.maximum,
        "observed_min": _finite_or_none(low),
        "observed_max": _finite_or_none(high),
        "below": below,
        "above": above,
    }
    message = (
        f"{column}: {_counted(count, share)} outside the reference range [{bounds.minimum:g}, "
        f"{bounds.maximum:g}] ({below:,} below, {above:,} above); observed {low:g} to {high:g}"
    )
    return QualityFinding(column, _RANGE, message, count, share, details)


def category_finding(
    column: str, count: int, share: float, new_categories: int, largest: list[tuple[Any, int]]
) -> QualityFinding:
    """The finding of values in categories the reference never showed: ``largest`` lists the
    new categories with their rows, most rows first (ties in category order), as
    ``value_counts`` does; the first few are the examples."""
    shown = largest[:_EXAMPLES]
    details = {
        "new_categories": new_categories,
        "examples": {str(k): int(v) for k, v in shown},
    }
    written = ", ".join(f"{plain(v)!r} ({plural(n, 'row')})" for v, n in shown)
    message = (
        f"{column}: {_counted(count, share)} in "
        f"{plural(new_categories, 'category', 'categories')} not seen in the reference, "
        f"e.g. {written}"
    )
    return QualityFinding(column, _CATEGORIES, message, count, share, details)


def missing_finding(column: str, count: int, share: float, reference: float) -> QualityFinding:
    """The finding of more missing values than the reference had (``reference``, its share)."""
    message = (
        f"{column}: {plural(count, 'missing value')} ({percent(share)}; the reference had "
        f"{percent(reference)})"
    )
    return QualityFinding(column, _NOT_NULL, message, count, share, {"reference_share": reference})


def _counted(count: int, share: float) -> str:
    return f"{plural(count, 'value')} ({percent(share)})"


def _optional_float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _finite_or_none(value: Any) -> float | None:
    """A float JSON can hold: None for missing and infinite values."""
    number = _optional_float(value)
    return number if number is not None and np.isfinite(number) else None
