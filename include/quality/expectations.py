"""What a batch is expected to look like, derived once from the model's reference data.

``derive_expectations`` records the reference's numeric ranges, categories, label classes and
missing-value shares in a ``ReferenceExpectations``, saved as JSON beside the model (the
``quality_expectations`` of its metadata; ``to_dict``/``from_dict``). ``allowed_shares`` says how
many of a batch's values each expectation lets break it for a reference of that many rows, as
:mod:`include.quality.gate` explains.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pydantic import ValidationError, model_validator

from include.config import MonitoringConfig
from include.errors import ConfigurationError, DataValidationError, ModelIntegrityError
from include.json_records import JsonFloat, JsonRecord, json_record
from include.quality.usability import plain, plural, raise_if_unusable

MIN_REFERENCE_ROWS = 200
"""Fewest reference rows from which numeric ranges and category sets are learned. Below, the
range of n values leaves out a large share of new values by chance alone (on average 2 / (n + 1);
up to 14 % for 19 rows at the 95 % level), so those expectations are skipped with a note."""

CONFIDENCE = 0.95

EXPECTATIONS_FORMAT = 1


@json_record()
class NumericRange(JsonRecord):
    """One numeric feature of the reference: its kind and its smallest and largest finite values."""

    kind: str  # "integer", "float" or "boolean"
    minimum: JsonFloat | None  # None when the reference holds no finite value
    maximum: JsonFloat | None


@json_record()
class ReferenceExpectations(JsonRecord):
    """What a batch is expected to look like, derived once from the model's reference data."""

    label: str
    label_values: tuple[int | str, ...]
    date_column: str
    numeric: dict[str, NumericRange]
    categorical: dict[str, tuple[str, ...]]  # the categories seen, as text
    missing_share: dict[str, JsonFloat]  # of each feature and of the date column
    row_count: int
    # share of the reference's non-missing values whose category it shows once; absent in
    # expectations saved before it was recorded (then 0)
    singleton_share: dict[str, JsonFloat] = field(default_factory=dict)
    # the version of this layout, saved with it, so that another one is refused when read
    format: Literal[1] = EXPECTATIONS_FORMAT

    @model_validator(mode="before")
    @classmethod
    def _saved_with_its_format(cls, data: Any) -> Any:
        # a saved document says its format (a constructor call need not: it is the current one)
        if isinstance(data, Mapping) and "format" not in data:
            raise ValueError("format is missing")
        return data

    @property
    def learns_ranges(self) -> bool:
        """Whether the reference is large enough to learn numeric ranges and category sets."""
        return self.row_count >= MIN_REFERENCE_ROWS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable mapping (``model_dump(mode="json")``, under the name its callers
        and tests use); ``from_dict`` reads it back."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceExpectations:
        """Read expectations saved with ``to_dict``; ModelIntegrityError when they are malformed."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'the document'}: {error['msg']}"
                for error in exc.errors()
            )
            raise ModelIntegrityError(
                f"saved reference expectations are malformed ({problems}); "
                "derive them again from the reference data with derive_expectations"
            ) from None


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
