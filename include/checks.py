"""Checks: read one metric of an evaluation and say whether it is OK, worth a warning, or an error.

A numeric range check compares a metric with up to four bounds, as Dataiku's "metric value in
numeric range" check does:

    value < hard_min  -> ERROR      value > hard_max  -> ERROR
    value < soft_min  -> WARNING    value > soft_max  -> WARNING
    otherwise         -> OK

A value exactly on a bound is in range: ``data_drift = 0.45`` passes the check ``data drift < 0.45``
(soft maximum 0.45); only values strictly beyond a bound warn or fail. A metric that is missing, or
is not a finite number (None, NaN, infinity, text, a boolean), gives ``EMPTY``: there is nothing to
judge, which is not the same as passing.

Several checks give one outcome, the worst: ERROR > WARNING > OK > EMPTY. EMPTY ranks lowest so
that a check with nothing to read never hides a real OK, WARNING or ERROR next to it.

Checks are frozen pydantic dataclasses whose validators raise ConfigurationError naming the
check (pydantic lets it through as it is). :func:`parse_checks` tells a check's kind by its keys,
refuses unknown keys and reads numbers templating renders as text, which the classes refuse.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Annotated, Any

import pydantic.dataclasses
from pydantic import Field, PlainValidator, SkipValidation, ValidationInfo, model_validator

from include.check_results import (
    CheckOutcome,
    CheckResult,
    _fmt,
    _number,
    _read_metric,
    format_table,
    worst_outcome,
)
from include.errors import ConfigurationError
from include.metric_catalog import ESTIMATED_METRICS

# the results' names, importable from here as before they had a module of their own
__all__ = [
    "Check",
    "CheckOutcome",
    "CheckResult",
    "CustomCheck",
    "NumericRangeCheck",
    "ValueInSetCheck",
    "empty_results",
    "format_table",
    "parse_checks",
    "run_checks",
    "validate_declared_checks",
    "worst_outcome",
]


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"a check needs a name (a non-empty string), got {name!r}")
    return name


def _metric_name(metric: Any, info: ValidationInfo) -> str:
    if not isinstance(metric, str) or not metric.strip():
        raise ConfigurationError(
            f"check {info.data['name']!r} needs a metric (the name of a metric, a string), "
            f"got {metric!r}"
        )
    return metric


def _bound(value: Any, info: ValidationInfo) -> float | None:
    if value is None:
        return None
    number = _number(value)
    if number is None:
        raise ConfigurationError(
            f"check {info.data['name']!r}: {info.field_name} = {value!r} is not a finite number"
        )
    return number


CheckName = Annotated[str, PlainValidator(_check_name)]
MetricName = Annotated[str, PlainValidator(_metric_name)]
Bound = Annotated[float | None, PlainValidator(_bound)]


@pydantic.dataclasses.dataclass(frozen=True)
class NumericRangeCheck:
    """A metric between optional hard and soft bounds (bounds themselves are in range)."""

    name: CheckName
    metric: MetricName
    hard_min: Bound = None
    soft_min: Bound = None
    soft_max: Bound = None
    hard_max: Bound = None

    @model_validator(mode="after")
    def _given_and_ordered(self) -> NumericRangeCheck:
        given = [(key, value) for key, value in self._bounds() if value is not None]
        if not given:
            raise ConfigurationError(
                f"check {self.name!r} has no bound: give at least one of "
                "hard_min, soft_min, soft_max, hard_max"
            )
        for (low_key, low), (high_key, high) in itertools.pairwise(given):
            if low > high:
                raise ConfigurationError(
                    f"check {self.name!r}: {low_key} = {low:g} is above {high_key} = {high:g}; "
                    "bounds must be ordered hard_min <= soft_min <= soft_max <= hard_max"
                )
        return self

    def _bounds(self) -> list[tuple[str, float | None]]:
        return [
            ("hard_min", self.hard_min),
            ("soft_min", self.soft_min),
            ("soft_max", self.soft_max),
            ("hard_max", self.hard_max),
        ]

    def run(self, metrics: Mapping[str, Any]) -> CheckResult:
        value, problem = _read_metric(metrics, self.metric)
        if value is None:
            return CheckResult(self.name, self.metric, CheckOutcome.EMPTY, None, problem)
        shown = f"{self.metric} = {_fmt(value)}"
        # Hard bounds first: a value beyond a hard bound is also beyond the soft one.
        for outcome, bound, label, beyond in (
            (CheckOutcome.ERROR, self.hard_min, "below the hard minimum", operator.lt),
            (CheckOutcome.ERROR, self.hard_max, "above the hard maximum", operator.gt),
            (CheckOutcome.WARNING, self.soft_min, "below the soft minimum", operator.lt),
            (CheckOutcome.WARNING, self.soft_max, "above the soft maximum", operator.gt),
        ):
            if bound is not None and beyond(value, bound):
                message = f"{shown} is {label} {_fmt(bound)}"
                return CheckResult(self.name, self.metric, outcome, value, message)
        bounds = ", ".join(
            f"{key.replace('_', ' ')} {_fmt(bound)}"
            for key, bound in self._bounds()
            if bound is not None
        )
        message = f"{shown} is in range ({bounds})"
        return CheckResult(self.name, self.metric, CheckOutcome.OK, value, message)


def _allowed(values: Any, info: ValidationInfo) -> frozenset[float]:
    name = info.data["name"]
    if not values:
        raise ConfigurationError(f"check {name!r}: allowed must list at least one value")
    bad = [item for item in values if _number(item) is None]
    if bad:
        raise ConfigurationError(
            f"check {name!r}: allowed values must be finite numbers, got {bad[0]!r}"
        )
    return frozenset(_number(item) for item in values)


def _outcome_if_not(outcome: Any, info: ValidationInfo) -> CheckOutcome:
    if outcome not in (CheckOutcome.WARNING, CheckOutcome.ERROR):
        raise ConfigurationError(
            f"check {info.data['name']!r}: outcome_if_not must be WARNING or ERROR, got {outcome!r}"
        )
    return CheckOutcome(outcome)


@pydantic.dataclasses.dataclass(frozen=True)
class ValueInSetCheck:
    """A metric whose value must be one of ``allowed``; any other value gives ``outcome_if_not``."""

    name: CheckName
    metric: MetricName
    allowed: Annotated[frozenset[float], PlainValidator(_allowed)]
    outcome_if_not: Annotated[CheckOutcome, PlainValidator(_outcome_if_not)] = CheckOutcome.WARNING

    def run(self, metrics: Mapping[str, Any]) -> CheckResult:
        value, problem = _read_metric(metrics, self.metric)
        if value is None:
            return CheckResult(self.name, self.metric, CheckOutcome.EMPTY, None, problem)
        allowed = "{" + ", ".join(_fmt(item) for item in sorted(self.allowed)) + "}"
        if value in self.allowed:
            message = f"{self.metric} = {_fmt(value)} is one of {allowed}"
            return CheckResult(self.name, self.metric, CheckOutcome.OK, value, message)
        message = f"{self.metric} = {_fmt(value)} is not one of {allowed}"
        return CheckResult(self.name, self.metric, self.outcome_if_not, value, message)


CustomFunction = Callable[[Mapping[str, float]], "CheckOutcome | str | tuple[CheckOutcome, str]"]


def _function(function: Any, info: ValidationInfo) -> CustomFunction:
    if not callable(function):
        raise ConfigurationError(
            f"check {info.data['name']!r}: function must be callable, got {function!r}"
        )
    return function


@pydantic.dataclasses.dataclass(frozen=True)
class CustomCheck:
    """A Python function of all the evaluation's metrics returning an outcome (and a message).

    A function that raises, or returns something that is not an outcome, gives ``ERROR``: a check
    that cannot run must not pass silently. ``metric`` only labels the result (taken as given).
    """

    name: CheckName
    function: Annotated[CustomFunction, PlainValidator(_function)] = Field(repr=False)
    metric: SkipValidation[str | None] = None

    def run(self, metrics: Mapping[str, Any]) -> CheckResult:
        try:
            returned = self.function(metrics)
        except Exception as exc:
            message = f"the check function raised {type(exc).__name__}: {exc}"
            return CheckResult(self.name, self.metric, CheckOutcome.ERROR, None, message)
        outcome, message = returned if isinstance(returned, tuple) else (returned, "")
        try:
            outcome = CheckOutcome(outcome.upper() if isinstance(outcome, str) else outcome)
        except ValueError:
            message = (
                f"the check function returned {returned!r}; expected a CheckOutcome "
                "or (CheckOutcome, message)"
            )
            return CheckResult(self.name, self.metric, CheckOutcome.ERROR, None, message)
        value = _number(metrics.get(self.metric)) if self.metric else None
        return CheckResult(self.name, self.metric, outcome, value, str(message or outcome.value))


Check = NumericRangeCheck | ValueInSetCheck | CustomCheck

_RANGE_KEYS = ("hard_min", "soft_min", "soft_max", "hard_max")
_SET_KEYS = ("allowed", "outcome_if_not")


def parse_checks(specs: Sequence[Mapping[str, Any] | Check]) -> list[Check]:
    """Build checks from plain dicts, as a DAG writes them (after templating).

    ``{"name": "data drift < 0.45", "metric": "data_drift", "soft_max": 0.45}`` is a numeric
    range check (keys ``hard_min``, ``soft_min``, ``soft_max``, ``hard_max``);
    ``{"name": ..., "metric": ..., "allowed": [0, 1], "outcome_if_not": "ERROR"}`` a value in set
    check; ``{"name": ..., "function": callable}`` a custom check. Numbers may be strings, as
    templating renders them (``"0.45"``). Check objects pass through unchanged. Raises
    ConfigurationError naming the check and the key at fault.
    """
    if isinstance(specs, (str, bytes, Mapping)) or not isinstance(specs, Iterable):
        raise ConfigurationError(
            f"checks must be a list of check definitions (dicts), got {type(specs).__name__}"
        )
    checks: list[Check] = []
    for position, spec in enumerate(specs, start=1):
        check = spec if isinstance(spec, Check) else _parse_one(position, spec)
        if any(existing.name == check.name for existing in checks):
            raise ConfigurationError(
                f"two checks are named {check.name!r}: give each check its own name"
            )
        checks.append(check)
    if not checks:
        raise ConfigurationError("no checks given: list at least one check")
    return checks


def _parse_one(position: int, spec: Any) -> Check:
    if not isinstance(spec, Mapping):
        raise ConfigurationError(
            f"check #{position} must be a dict such as "
            '{"name": "data drift < 0.45", "metric": "data_drift", "soft_max": 0.45}, '
            f"got {spec!r}"
        )
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"check #{position} needs a 'name' (a non-empty string)")
    label = f"check {name!r}"
    if "function" in spec:
        _refuse_unknown(label, spec, {"name", "function", "metric"})
        return CustomCheck(name=name, function=spec["function"], metric=spec.get("metric"))
    metric = spec.get("metric")
    if not isinstance(metric, str) or not metric.strip():
        raise ConfigurationError(f"{label} needs a 'metric' (the name of a metric, a string)")
    if "allowed" in spec:
        _refuse_unknown(label, spec, {"name", "metric", *_SET_KEYS})
        allowed = spec["allowed"]
        if isinstance(allowed, (str, bytes, Mapping)) or not isinstance(allowed, Iterable):
            raise ConfigurationError(f"{label}: 'allowed' must be a list of numbers")
        values = frozenset(_parse_number(label, "allowed", item) for item in allowed)
        outcome = spec.get("outcome_if_not", CheckOutcome.WARNING)
        try:
            outcome = CheckOutcome(str(outcome).strip().upper())
        except ValueError:
            raise ConfigurationError(
                f"{label}: 'outcome_if_not' must be WARNING or ERROR, got {outcome!r}"
            ) from None
        return ValueInSetCheck(name=name, metric=metric, allowed=values, outcome_if_not=outcome)
    _refuse_unknown(label, spec, {"name", "metric", *_RANGE_KEYS})
    bounds = {key: _parse_number(label, key, spec[key]) for key in _RANGE_KEYS if key in spec}
    return NumericRangeCheck(name=name, metric=metric, **bounds)


def _refuse_unknown(label: str, spec: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(str(key) for key in spec if key not in known)
    if unknown:
        raise ConfigurationError(
            f"{label}: unknown key {unknown[0]!r}; a check takes {', '.join(sorted(known))}"
        )


def _parse_number(label: str, key: str, raw: Any) -> float:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        # Often a template that rendered nothing: a bound the user meant would go unchecked.
        raise ConfigurationError(
            f"{label}: {key} is empty ({raw!r}): give a number, or leave {key} out for no such "
            "bound"
        )
    number = _number(raw.strip() if isinstance(raw, str) else raw, allow_text=True)
    if number is None:
        raise ConfigurationError(f"{label}: {key} = {raw!r} is not a finite number")
    return number


IN_SAMPLE_NOTE = "in-sample evaluation: metrics are optimistic"


def run_checks(
    checks: Iterable[Check],
    metrics: Mapping[str, Any],
    *,
    labels: Mapping[str, str] | None = None,
) -> list[CheckResult]:
    """Run every check on one evaluation's metrics, in order.

    A check of a metric the evaluation lacks says why when it can: undefined on the batch
    (``undefined:<metric>``), an untrusted estimate (``untrusted:<metric>``), or no label yet
    (``label_share`` 0, for realised performance); every message of an in-sample evaluation (metric
    ``in_sample`` = 1) says so.
    """
    results = [check.run(metrics) for check in checks]
    in_sample = _number(metrics.get("in_sample")) == 1.0
    labels = labels or {}
    annotated = []
    for result in results:
        message = result.message
        if result.value is None and result.metric not in metrics:
            message = _why_absent(result.metric, metrics, labels) or message
        if in_sample:
            message = f"{message} ({IN_SAMPLE_NOTE})"
        annotated.append(replace(result, message=message))
    return annotated


def _why_absent(metric: str | None, metrics: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """Why an evaluation has no value for ``metric``, when its labels say: undefined on this
    batch, an estimate that cannot be trusted, or no row labelled yet."""
    if labels.get(f"undefined:{metric}"):
        return f"{metric} is undefined ({labels[f'undefined:{metric}']})"
    if labels.get(f"untrusted:{metric}"):
        return f"{metric} is not estimated: it cannot be trusted ({labels[f'untrusted:{metric}']})"
    if metric in REALISED_PERFORMANCE and _number(metrics.get("label_share")) == 0.0:
        return (
            f"{metric} is not measured: no row of the batch is labelled yet (label share 0); "
            f"check estimated_{metric} to watch it before the labels land"
        )
    return None


# Realised performance metrics, which have an estimate before the labels land.
REALISED_PERFORMANCE = tuple(name.removeprefix("estimated_") for name in ESTIMATED_METRICS)


def empty_results(checks: Iterable[Check], reason: str) -> list[CheckResult]:
    """Every check EMPTY, for when there is no evaluation to read at all."""
    return [
        CheckResult(check.name, check.metric, CheckOutcome.EMPTY, None, reason) for check in checks
    ]


def validate_declared_checks(specs: Sequence[Mapping[str, Any]], config: Any) -> list[Check]:
    """Parse a model's declared checks and refuse any on a metric no evaluation can have.

    ``config`` is the model's configuration (its features name the per-feature metrics).
    Raises ConfigurationError naming the check and what is wrong.
    """
    from include.metric_catalog import unknown_metric_message

    checks = parse_checks(list(specs))
    for check in checks:
        if check.metric is None:
            continue
        problem = unknown_metric_message(check.metric, config.features)
        if problem:
            raise ConfigurationError(f"check {check.name!r}: {problem}")
    return checks
