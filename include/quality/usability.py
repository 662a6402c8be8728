"""Whether a frame can be used at all: the fatal checks run before any expectation.

A batch (or the reference it is compared with) is unusable when it has no rows, lacks a required
column, holds text in a numeric feature, has a label outside its classes, or dates that do not
parse. A batch's label may be missing, on some rows or as a whole column: labels arrive late, and
rows without one are evaluated without realised performance. The reference's label may not.

These are checked with pandas, which is fast and gives clearer messages than a failed
expectation, and every problem found is raised together in one ``DataValidationError`` that says
what to do about each. The small helpers at the end write counts, shares and example values the
same way in every message of the quality gate.
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from include.config import MonitoringConfig
from include.errors import DataValidationError, EmptyBatchError
from include.model.features import missing_labels

_NUMBER_KINDS = {"integer", "floating", "mixed-integer-float", "decimal", "boolean", "empty"}
_SHOWN_COLUMNS = 12
_EXAMPLES = 3
_SKIP_LABEL = (
    "or leave the label empty (null) where it is not known: unlabelled rows are evaluated "
    "without realised performance"
)


def raise_if_unusable(
    frame: pd.DataFrame,
    config: MonitoringConfig,
    *,
    label_values: tuple[int | str, ...] | None,
    check_label: bool = True,
) -> None:
    """Raise EmptyBatchError or one DataValidationError listing every fatal problem of ``frame``.

    ``label_values`` are the label's allowed classes; None when ``frame`` is the reference the
    classes are being derived from (its label is then required and checked for missing values).
    A batch's label (``label_values`` given) may be absent or missing on any row; where it is
    there it must be one of the classes, unless ``check_label`` is False.
    """
    what = "reference" if label_values is None else "batch"
    if len(frame) == 0:
        raise EmptyBatchError(
            f"the {what} has no rows, so there is nothing to validate or evaluate; "
            "check that data was loaded for its period"
        )
    problems = _problems(frame, config, label_values=label_values, check_label=check_label)
    if problems:
        raise DataValidationError(
            f"the {what} of {plural(len(frame), 'row')} cannot be used "
            f"({plural(len(problems), 'problem')}; fix the data or the configuration, then run "
            "again):\n" + "\n".join(f"  - {problem}" for problem in problems)
        )


def holds_numbers(series: pd.Series) -> bool:
    """True for numeric and boolean columns, and object columns of numbers (e.g. Decimal)."""
    if ptypes.is_bool_dtype(series):
        return True
    if ptypes.is_numeric_dtype(series):
        return not ptypes.is_complex_dtype(series)
    return ptypes.is_object_dtype(series) and (
        ptypes.infer_dtype(series, skipna=True) in _NUMBER_KINDS
    )


def _problems(
    frame: pd.DataFrame,
    config: MonitoringConfig,
    *,
    label_values: tuple[int | str, ...] | None,
    check_label: bool,
) -> list[str]:
    required_label = label_values is None  # the reference: its label is what batches are held to
    wanted = [*config.required_columns, *([config.label] if required_label else [])]
    checked = [*wanted, *([config.label] if check_label and not required_label else [])]
    duplicated = set(frame.columns[frame.columns.duplicated()])
    problems = [
        f"column {name!r} appears more than once; keep one of them"
        for name in checked
        if name in duplicated
    ]
    problems += [_missing(name, frame, config) for name in wanted if name not in frame.columns]
    usable = {name for name in checked if name in frame.columns and name not in duplicated}
    for name in config.numeric_features:
        if name in usable and (problem := _numeric_problem(frame[name], name)):
            problems.append(problem)
    if config.label in usable:
        problems += _label_problems(frame[config.label], config.label, label_values)
    if config.date_column in usable and (problem := _date_problem(frame[config.date_column])):
        problems.append(f"date column {config.date_column!r} {problem}")
    return problems


def _missing(name: str, frame: pd.DataFrame, config: MonitoringConfig) -> str:
    """A missing column, with the closest unclaimed column of the frame as a suggestion."""
    close = closest_column(name, frame, config)
    candidates = _unclaimed(frame, config)
    if close:
        hint = f"did you mean {close!r}? rename the column or fix the configuration"
    else:
        shown = ", ".join(repr(c) for c in candidates[:_SHOWN_COLUMNS]) or "none"
        if len(candidates) > _SHOWN_COLUMNS:
            shown += f" and {len(candidates) - _SHOWN_COLUMNS} more"
        hint = (
            f"columns not named in the configuration: {shown}; "
            "add the column or fix the configuration"
        )
    if name == config.label:
        return f"label column {name!r} is missing ({hint})"
    role = "date column" if name == config.date_column else "feature"
    return f"{role} {name!r} is missing; {hint}"


def closest_column(name: str, frame: pd.DataFrame, config: MonitoringConfig) -> str | None:
    """The frame's column not named in the configuration that is most likely ``name``
    misspelt (the same but for case first), or None."""
    candidates = _unclaimed(frame, config)
    same_but_case = [c for c in candidates if c.casefold() == name.casefold()]
    close = same_but_case or difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def _unclaimed(frame: pd.DataFrame, config: MonitoringConfig) -> list[str]:
    claimed = {*config.required_columns, config.label, config.id_column}
    return [str(c) for c in frame.columns if c not in claimed]


def _numeric_problem(series: pd.Series, name: str) -> str | None:
    if holds_numbers(series):
        return None
    remedy = "convert it to numbers, or list it under categorical_features if it is a category"
    if not (ptypes.is_object_dtype(series) or ptypes.is_string_dtype(series)):
        return f"numeric feature {name!r} has dtype {series.dtype}, not numbers; {remedy}"
    sample = series.dropna().head(10_000)  # enough for examples, cheap on a large batch
    not_numbers = sample[pd.to_numeric(sample, errors="coerce").isna()]
    if not_numbers.empty:
        return (
            f"numeric feature {name!r} holds numbers stored as text (dtype {series.dtype}); "
            "cast it to a numeric type (e.g. pandas.to_numeric) before validation"
        )
    return (
        f"numeric feature {name!r} has dtype {series.dtype} and values that are not numbers, "
        f"e.g. {examples(not_numbers)}; {remedy}"
    )


def _label_problems(
    series: pd.Series, name: str, label_values: tuple[int | str, ...] | None
) -> list[str]:
    if label_values is None:  # the reference: every row labelled
        missing = int(series.isna().sum())
        if not missing:
            return []
        return [
            f"label {name!r} has {plural(missing, 'missing value')} "
            f"({percent(missing / len(series))}); drop or fill those rows"
        ]
    outside = series[~missing_labels(series) & ~series.isin(label_values)]
    if not len(outside):
        return []
    classes = ", ".join(repr(v) for v in label_values)
    return [
        f"label {name!r} has {plural(len(outside), 'value')} outside the classes "
        f"[{classes}] (dtype {series.dtype}), e.g. {examples(outside)}; map the label "
        f"to those classes, {_SKIP_LABEL}"
    ]


def _date_problem(series: pd.Series) -> str | None:
    """Why the column cannot be read as dates, or None when it can."""
    if ptypes.is_datetime64_any_dtype(series):
        return None
    if not (ptypes.is_object_dtype(series) or ptypes.is_string_dtype(series)):
        return f"has dtype {series.dtype}, not dates; store it as datetimes or as YYYY-MM-DD text"
    try:
        failed = series.notna() & pd.to_datetime(series, errors="coerce").isna()
        if failed.any():  # a second, slower pass for text mixing several date formats
            again = pd.to_datetime(series[failed], errors="coerce", format="mixed")
            failed &= again.isna().reindex(series.index, fill_value=False)
    except (ValueError, TypeError, OverflowError) as exc:
        return f"cannot be parsed as dates ({exc}); write dates as YYYY-MM-DD"
    if not failed.any():
        return None
    count = int(failed.sum())
    return (
        f"has {plural(count, 'unparseable value')} ({percent(count / len(series))}), "
        f"e.g. {examples(series[failed])}; fix or drop those rows, or write dates as YYYY-MM-DD"
    )


# --- how messages write things ---------------------------------------------------------------


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds; booleans and integral floats as ints."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or (isinstance(value, float) and value.is_integer()):
        return int(value)
    return value


def examples(values: pd.Series) -> str:
    """The most frequent values with their counts: ``'x' (12 rows), 'y' (1 row)``."""
    counts = values.value_counts().loc[lambda c: c > 0].head(_EXAMPLES)
    return ", ".join(f"{plain(v)!r} ({plural(n, 'row')})" for v, n in counts.items())


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def percent(share: float) -> str:
    return "<0.01%" if 0 < share < 0.0001 else f"{share:.2%}"
