"""The drift analysis as stored with the evaluation, read by the drift report and the MES page.

``DriftDocument`` is the JSON kept in the evaluation's ``drift`` (its keys and values are the
store's contract): the reference and the batch described, the drift settings, the domain
classifier's result with its verdict, one row per feature (its statistics beside both
importances), the drifted and riskiest features, prediction drift and performance drift.
:meth:`include.drift.analysis.DriftAnalysis.document` builds it; ``model_validate`` reads a
stored one back.

:meth:`DriftDocument.read` reads back *any* stored analysis: one written by an earlier version
of the package (without the fields added since), a partial one, or one with values of another
type. Every part is optional, so what is missing reads as its default; what does not fit its
type (a feature that is not a record, a number that is text) reads as absent, as if it were not
stored; a non-finite number reads as None, as the store keeps it. The reader checks the
analysis once, so its readers (the drift report) use typed attributes and check nothing. The
parts the document keeps as plain mappings (the two sides, the settings, a metric's change, a
histogram) have typed views read the same way (:class:`Side`, :class:`StoredSettings`,
:class:`MetricChange`, :class:`Histogram`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, ValidationError

from include.drift.domain_classifier import RiskyFeature
from include.drift.feature_drift import FeatureDrift
from include.json_records import JsonFloat, JsonRecord, json_record

Number = JsonFloat | None


def _none_if_empty(value: Any) -> Any:
    """An empty mapping is no part at all (the report leaves its section out)."""
    return None if isinstance(value, Mapping) and not value else value


class StoredPart(JsonRecord):
    """:meth:`read`: the record from any stored form. Every field of a stored part has a
    default, so reading never fails: a record in a list that lacks a required field of its own
    (a riskiest feature without its importances) is left out of the list."""

    @classmethod
    def read(cls, data: Any) -> Self:
        """The record from ``data`` with what does not fit left out (it reads as its default);
        anything but a mapping reads as the record with every default."""
        data = _as_stored(data) if isinstance(data, Mapping) else {}
        while True:
            try:
                return cls.model_validate(data)
            except ValidationError as error:
                pruned = _without(data, [_unfit(e["loc"], e["type"]) for e in error.errors()])
                if pruned == data:  # nothing left to leave out (a part without a default)
                    raise
                data = pruned


def _as_stored(value: Any) -> Any:
    """The value as the store keeps it: NaN and ±inf as None (an open histogram edge),
    mappings as dicts and sequences as lists, so that parts can be left out."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: _as_stored(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_as_stored(item) for item in value]
    return value


def _unfit(loc: tuple[Any, ...], kind: str) -> tuple[Any, ...]:
    """Where the value to leave out is: the value itself, or the record a required field of
    which is missing."""
    return loc[:-1] if kind == "missing" else loc


_LEFT_OUT = object()


def _without(data: Any, locations: list[tuple[Any, ...]]) -> Any:
    """``data`` without the values at ``locations`` (the whole of it for an empty one)."""
    if any(not loc for loc in locations):
        return data
    first: dict[Any, list[tuple[Any, ...]]] = {}
    for loc in locations:
        first.setdefault(loc[0], []).append(loc[1:])
    if isinstance(data, dict):
        return {
            key: _without(value, first[key]) if key in first else value
            for key, value in data.items()
            if not (key in first and () in first[key])
        }
    if isinstance(data, list):
        kept = [
            (_without(value, first[index]) if () not in first[index] else _LEFT_OUT)
            if index in first
            else value
            for index, value in enumerate(data)
        ]
        return [value for value in kept if value is not _LEFT_OUT]
    return data


@json_record(kw_only=True)
class StoredDataDrift(StoredPart):
    """The domain classifier's result (:class:`include.drift.domain_classifier.DataDrift`'s
    fields) with its one-line verdict (at the default level); each part may be missing from a
    partial analysis."""

    value: Number = None
    ci_low: Number = None
    ci_high: Number = None
    pvalue: Number = None
    rows_per_side: int | None = None
    train_rows: int | None = None
    test_rows: int | None = None
    feature_importance: dict[str, Number] = field(default_factory=dict)
    verdict: str | None = None


@json_record(kw_only=True)
class FeatureRow(FeatureDrift, StoredPart):
    """A feature's drift beside its drift importance (domain classifier) and model importance.

    Read back, a row may lack what :class:`FeatureDrift` requires (a partial analysis): those
    fields are optional here (a row without its name has the name "", shown as "n/a"), and
    ``drifted`` is None when not stored (the report then reads the flags that make it)."""

    feature: str = ""
    kind: Literal["numeric", "categorical"] | None = None
    reference_rows: int | None = None
    current_rows: int | None = None
    reference_missing_share: Number = None
    current_missing_share: Number = None
    drifted: bool | None = None
    drift_importance: Number = None
    model_importance: Number = None


@json_record(kw_only=True)
class PredictionDrift(StoredPart):
    """Drift of the model's output: predicted class shares (chi²) and probabilities (KS, PSI)."""

    reference_positive_share: Number = None
    current_positive_share: Number = None
    chi2_statistic: Number = None
    chi2_pvalue: Number = None
    proba_ks_statistic: Number = None
    proba_ks_pvalue: Number = None
    proba_wasserstein: Number = None
    proba_psi: Number = None
    drifted: bool = False
    histogram: dict[str, Any] | None = None
    class_histogram: dict[str, Any] | None = None


@json_record(kw_only=True)
class DriftDocument(StoredPart):
    """The stored analysis; ``performance_drift`` is :func:`performance_drift`'s mapping of
    metric to reference, current, change and, when known, intervals and significance. An empty
    ``data_drift`` or ``prediction_drift`` reads as None."""

    reference: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    data_drift: Annotated[StoredDataDrift | None, BeforeValidator(_none_if_empty)] = None
    features: list[FeatureRow] = field(default_factory=list)
    drifted_features: list[str] = field(default_factory=list)
    riskiest_features: list[RiskyFeature] = field(default_factory=list)
    prediction_drift: Annotated[PredictionDrift | None, BeforeValidator(_none_if_empty)] = None
    performance_drift: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``model_dump(mode="json")``: what the store keeps."""
        return self.model_dump(mode="json")


# --- typed views of the parts kept as plain mappings ---------------------------------------


@json_record(kw_only=True)
class Streamed(StoredPart):
    """How a batch evaluated in chunks was read, and the features whose flag its bounds leave
    undecided."""

    partitions: int | None = None
    in_doubt: tuple[str, ...] = ()


@json_record(kw_only=True)
class Side(StoredPart):
    """The reference or the batch (``document.reference``, ``document.current``)."""

    model_version: str | None = None
    period: str | None = None
    rows: Number = None
    description: str | None = None
    small: bool = False
    note: str | None = None
    streamed: Annotated[Streamed | None, BeforeValidator(_none_if_empty)] = None


@json_record(kw_only=True)
class StoredSettings(StoredPart):
    """The drift settings the analysis ran with (``document.settings``)."""

    alpha: Number = None
    psi_threshold: Number = None
    correction: str | None = None
    wasserstein_threshold: Number = None
    jensen_shannon_threshold: Number = None
    missing_threshold: Number = None


@json_record(kw_only=True)
class MetricChange(StoredPart):
    """One metric of ``document.performance_drift``: the reference's value against the batch's,
    their 95 % intervals when known, and why the batch's is undefined when it is."""

    reference: Number = None
    current: Number = None
    change: Number = None
    undefined: str | None = None
    significant: bool | None = None
    reference_ci_low: Number = None
    reference_ci_high: Number = None
    current_ci_low: Number = None
    current_ci_high: Number = None


@json_record(kw_only=True)
class Histogram(StoredPart):
    """A histogram of a feature or of the predicted probability: shares of the reference and
    the batch per category, or per bin between ``edges`` (None: an open outer edge)."""

    categories: tuple[str, ...] | None = None
    edges: tuple[Number, ...] = ()
    reference: tuple[Number, ...] = ()
    current: tuple[Number, ...] | None = None
