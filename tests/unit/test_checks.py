"""Checks on evaluation metrics: outcomes at every bound, EMPTY, the worst outcome, parsing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from include.checks import (
    CheckOutcome,
    CheckResult,
    CustomCheck,
    NumericRangeCheck,
    ValueInSetCheck,
    empty_results,
    format_table,
    parse_checks,
    run_checks,
    worst_outcome,
)
from include.errors import ConfigurationError

OK, WARNING, ERROR, EMPTY = (
    CheckOutcome.OK,
    CheckOutcome.WARNING,
    CheckOutcome.ERROR,
    CheckOutcome.EMPTY,
)

TUTORIAL_CHECK = NumericRangeCheck(name="data drift < 0.45", metric="data_drift", soft_max=0.45)


def outcome(check, value) -> CheckOutcome:
    return check.run({check.metric: value}).outcome


# -- the tutorial's check ----------------------------------------------------------------------


def test_tutorial_check_warns_on_quarter_four_drift():
    result = TUTORIAL_CHECK.run({"data_drift": 0.512, "auc": 0.81})

    assert result.outcome is WARNING
    assert result.value == 0.512
    assert result.message == "data_drift = 0.512 is above the soft maximum 0.45"


@pytest.mark.parametrize(("drift", "expected"), [(0.51, WARNING), (0.40, OK)])
def test_tutorial_check(drift, expected):
    assert outcome(TUTORIAL_CHECK, drift) is expected


# -- numeric ranges: every bound ---------------------------------------------------------------

FULL_RANGE = NumericRangeCheck(
    name="auc in range", metric="auc", hard_min=0.5, soft_min=0.6, soft_max=0.9, hard_max=0.95
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.49, ERROR),  # below the hard minimum
        (0.5, WARNING),  # on the hard minimum: not below it, but below the soft minimum
        (0.55, WARNING),  # between hard and soft minimum
        (0.6, OK),  # on the soft minimum: in range
        (0.75, OK),
        (0.9, OK),  # on the soft maximum: in range
        (0.92, WARNING),  # between soft and hard maximum
        (0.95, WARNING),  # on the hard maximum: above the soft maximum only
        (0.96, ERROR),  # above the hard maximum
        (-1e9, ERROR),
        (1e9, ERROR),
    ],
)
def test_range_outcome_at_each_bound(value, expected):
    assert outcome(FULL_RANGE, value) is expected


def test_value_exactly_on_a_bound_is_in_range():
    assert outcome(TUTORIAL_CHECK, 0.45) is OK
    assert outcome(NumericRangeCheck(name="floor", metric="m", hard_min=0.0), 0.0) is OK
    assert outcome(NumericRangeCheck(name="cap", metric="m", hard_max=1), 1) is OK


def test_equal_soft_and_hard_bounds_go_straight_to_error():
    check = NumericRangeCheck(name="strict", metric="m", soft_max=0.5, hard_max=0.5)

    assert outcome(check, 0.5) is OK
    assert outcome(check, 0.5000001) is ERROR


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (FULL_RANGE, 0.4, "auc = 0.4 is below the hard minimum 0.5"),
        (FULL_RANGE, 0.55, "auc = 0.55 is below the soft minimum 0.6"),
        (FULL_RANGE, 0.93, "auc = 0.93 is above the soft maximum 0.9"),
        (FULL_RANGE, 0.97, "auc = 0.97 is above the hard maximum 0.95"),
        (
            FULL_RANGE,
            0.8,
            "auc = 0.8 is in range (hard min 0.5, soft min 0.6, soft max 0.9, hard max 0.95)",
        ),
        (TUTORIAL_CHECK, 0.4, "data_drift = 0.4 is in range (soft max 0.45)"),
    ],
)
def test_message_names_the_value_and_the_bound(check, value, message):
    assert check.run({check.metric: value}).message == message


def test_integers_and_numpy_like_numbers_are_read_as_floats():
    result = TUTORIAL_CHECK.run({"data_drift": 1})

    assert result.outcome is WARNING
    assert isinstance(result.value, float)


# -- EMPTY: nothing to judge -------------------------------------------------------------------


@pytest.mark.parametrize(
    "metrics",
    [
        {},
        {"auc": 0.8},
        {"data_drift": None},
        {"data_drift": math.nan},
        {"data_drift": math.inf},
        {"data_drift": "0.5"},
        {"data_drift": "high"},
        {"data_drift": True},
        {"data_drift": [0.5]},
    ],
    ids=["no metrics", "other metric", "None", "NaN", "inf", "text number", "text", "bool", "list"],
)
@pytest.mark.parametrize(
    "check",
    [
        TUTORIAL_CHECK,
        ValueInSetCheck(name="drift flag", metric="data_drift", allowed=frozenset({0.5})),
    ],
    ids=["range", "in set"],
)
def test_missing_or_non_numeric_metric_is_empty(check, metrics):
    result = check.run(metrics)

    assert result.outcome is EMPTY
    assert result.value is None
    assert "data_drift" in result.message


def test_empty_message_says_why():
    assert TUTORIAL_CHECK.run({}).message == "metric data_drift is missing from the evaluation"
    assert TUTORIAL_CHECK.run({"data_drift": math.nan}).message == (
        "data_drift = nan is not a finite number"
    )


def test_empty_results_give_every_check_the_reason():
    results = empty_results([TUTORIAL_CHECK, FULL_RANGE], "the store 'the_MES' holds no evaluation")

    assert [r.outcome for r in results] == [EMPTY, EMPTY]
    assert {r.message for r in results} == {"the store 'the_MES' holds no evaluation"}
    assert [r.metric for r in results] == ["data_drift", "auc"]


# -- value in a set ----------------------------------------------------------------------------


def test_value_in_set():
    check = ValueInSetCheck(name="two classes", metric="n_classes", allowed=frozenset({2}))

    assert outcome(check, 2.0) is OK
    result = check.run({"n_classes": 1.0})
    assert result.outcome is WARNING
    assert result.message == "n_classes = 1 is not one of {2}"


def test_value_not_in_set_can_be_an_error():
    check = ValueInSetCheck(
        name="two classes", metric="n_classes", allowed=frozenset({2}), outcome_if_not=ERROR
    )

    assert outcome(check, 3) is ERROR


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"allowed": frozenset()}, "at least one value"),
        ({"allowed": frozenset({"two"})}, "finite numbers"),
        ({"allowed": frozenset({2}), "outcome_if_not": OK}, "WARNING or ERROR"),
    ],
)
def test_value_in_set_refuses_bad_definitions(kwargs, error):
    with pytest.raises(ConfigurationError, match=error):
        ValueInSetCheck(name="classes", metric="n_classes", **kwargs)


# -- custom checks -----------------------------------------------------------------------------


def drift_worse_than_auc(metrics):
    if metrics["data_drift"] > metrics["auc"]:
        return CheckOutcome.WARNING, "drift is above the AUC"
    return CheckOutcome.OK


def test_custom_check_reads_all_metrics():
    check = CustomCheck(name="drift vs auc", function=drift_worse_than_auc)

    warned = check.run({"data_drift": 0.9, "auc": 0.8})
    assert (warned.outcome, warned.message) == (WARNING, "drift is above the AUC")
    passed = check.run({"data_drift": 0.5, "auc": 0.8})
    assert (passed.outcome, passed.message) == (OK, "OK")


def test_custom_check_may_return_the_outcome_name():
    check = CustomCheck(name="always warn", function=lambda metrics: "warning")

    assert check.run({}).outcome is WARNING


def test_custom_check_that_raises_is_an_error():
    result = CustomCheck(name="drift vs auc", function=drift_worse_than_auc).run({"auc": 0.8})

    assert result.outcome is ERROR
    assert result.message == "the check function raised KeyError: 'data_drift'"


def test_custom_check_returning_nonsense_is_an_error():
    result = CustomCheck(name="nonsense", function=lambda metrics: 42).run({})

    assert result.outcome is ERROR
    assert "returned 42" in result.message


def test_custom_check_needs_a_function():
    with pytest.raises(ConfigurationError, match="callable"):
        CustomCheck(name="no function", function="not a function")


# -- definitions are validated when built ------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "error"),
    [
        ({}, "has no bound"),
        ({"soft_min": 0.7, "hard_min": 0.8}, "hard_min = 0.8 is above soft_min = 0.7"),
        ({"soft_max": 0.5, "soft_min": 0.6}, "soft_min = 0.6 is above soft_max = 0.5"),
        ({"soft_max": 0.9, "hard_max": 0.8}, "soft_max = 0.9 is above hard_max = 0.8"),
        ({"hard_min": 0.9, "hard_max": 0.1}, "hard_min = 0.9 is above hard_max = 0.1"),
        ({"soft_max": math.nan}, "not a finite number"),
        ({"soft_max": "0.45"}, "not a finite number"),
    ],
)
def test_range_bounds_must_be_given_and_ordered(bounds, error):
    with pytest.raises(ConfigurationError, match=error):
        NumericRangeCheck(name="auc", metric="auc", **bounds)


@pytest.mark.parametrize(("name", "metric"), [("", "auc"), ("  ", "auc"), ("auc", ""), ("auc", 3)])
def test_checks_need_a_name_and_a_metric(name, metric):
    with pytest.raises(ConfigurationError, match="needs a"):
        NumericRangeCheck(name=name, metric=metric, soft_max=1)


def test_checks_are_immutable():
    with pytest.raises(AttributeError):
        TUTORIAL_CHECK.soft_max = 0.6


def test_checks_hold_typed_values():
    check = NumericRangeCheck("auc", "auc", 0, soft_max=np.float32(0.5))
    in_set = ValueInSetCheck("classes", "n", [2, 3.0], "ERROR")

    assert (type(check.hard_min), type(check.soft_max)) == (float, float)
    assert check.soft_max == 0.5
    assert in_set.allowed == frozenset({2.0, 3.0})
    assert in_set.outcome_if_not is ERROR


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: NumericRangeCheck(name=3, metric="auc", soft_max=1), "a check needs a name"),
        (lambda: NumericRangeCheck("auc", None, soft_max=1), "check 'auc' needs a metric"),
        (lambda: NumericRangeCheck("auc", "auc", soft_max=[1]), r"soft_max = \[1\] is not a"),
        (lambda: ValueInSetCheck("n", "n", [None]), "allowed values must be finite numbers"),
        (lambda: CustomCheck("c", function=None), "check 'c': function must be callable"),
    ],
)
def test_a_wrong_type_is_a_configuration_error_naming_the_check(build, error):
    with pytest.raises(ConfigurationError, match=error):
        build()


# -- several checks, one outcome ---------------------------------------------------------------


def result(outcome: CheckOutcome) -> CheckResult:
    return CheckResult(name=outcome.value, metric="m", outcome=outcome, value=None, message="")


@pytest.mark.parametrize(
    ("outcomes", "worst"),
    [
        ([], EMPTY),
        ([EMPTY], EMPTY),
        ([EMPTY, OK], OK),
        ([OK, EMPTY, OK], OK),
        ([OK, WARNING, EMPTY], WARNING),
        ([WARNING, ERROR, OK], ERROR),
        ([ERROR, EMPTY], ERROR),
    ],
)
def test_worst_outcome(outcomes, worst):
    assert worst_outcome([result(o) for o in outcomes]) is worst


def test_run_checks_keeps_the_order_of_the_checks():
    metrics = {"data_drift": 0.51, "auc": 0.97}

    results = run_checks([TUTORIAL_CHECK, FULL_RANGE], metrics)

    assert [(r.name, r.outcome) for r in results] == [
        ("data drift < 0.45", WARNING),
        ("auc in range", ERROR),
    ]
    assert worst_outcome(results) is ERROR


def test_outcome_is_a_plain_string_for_xcom_and_logs():
    assert str(WARNING) == "WARNING"
    assert WARNING == "WARNING"
    assert [o.severity for o in (EMPTY, OK, WARNING, ERROR)] == [0, 1, 2, 3]


def test_result_to_dict():
    assert TUTORIAL_CHECK.run({"data_drift": 0.512}).to_dict() == {
        "name": "data drift < 0.45",
        "metric": "data_drift",
        "outcome": "WARNING",
        "value": 0.512,
        "message": "data_drift = 0.512 is above the soft maximum 0.45",
    }


def test_format_table():
    results = run_checks([TUTORIAL_CHECK, FULL_RANGE], {"data_drift": 0.512})

    assert format_table(results).splitlines() == [
        "check              metric      value  outcome  message",
        "-----------------  ----------  -----  -------  -------",
        "data drift < 0.45  data_drift  0.512  WARNING  data_drift = 0.512 is above the soft "
        "maximum 0.45",
        "auc in range       auc         -      EMPTY    metric auc is missing from the evaluation",
    ]


# -- parsing definitions from a DAG ------------------------------------------------------------


def test_parse_the_tutorial_check():
    [check] = parse_checks(
        [{"name": "data drift < 0.45", "metric": "data_drift", "soft_max": 0.45}]
    )

    assert check == TUTORIAL_CHECK


def test_parse_numbers_rendered_as_text_by_templating():
    [check] = parse_checks(
        [{"name": "auc", "metric": "auc", "hard_min": " 0.5 ", "soft_min": "6e-1"}]
    )

    assert (check.hard_min, check.soft_min, check.soft_max) == (0.5, 0.6, None)


@pytest.mark.parametrize("empty", ["", "  ", None])
def test_an_empty_bound_is_refused_not_dropped(empty):
    # A template that rendered nothing would otherwise leave a bound the user meant unchecked.
    spec = {"name": "auc", "metric": "auc", "hard_min": 0.5, "soft_max": empty}

    with pytest.raises(ConfigurationError, match=r"check 'auc': soft_max is empty"):
        parse_checks([spec])


def test_parse_value_in_set():
    [check] = parse_checks(
        [{"name": "classes", "metric": "n", "allowed": ["2", 3], "outcome_if_not": "error"}]
    )

    assert check == ValueInSetCheck(
        name="classes", metric="n", allowed=frozenset({2.0, 3.0}), outcome_if_not=ERROR
    )


def test_parse_custom_check_and_check_objects():
    checks = parse_checks(
        [
            {"name": "drift vs auc", "function": drift_worse_than_auc, "metric": "data_drift"},
            FULL_RANGE,
        ]
    )

    assert checks[0] == CustomCheck("drift vs auc", drift_worse_than_auc, metric="data_drift")
    assert checks[1] is FULL_RANGE


@pytest.mark.parametrize(
    ("specs", "error"),
    [
        ("data drift < 0.45", "must be a list"),
        ({"name": "x", "metric": "m", "soft_max": 1}, "must be a list"),
        ([], "no checks given"),
        (["data drift < 0.45"], "check #1 must be a dict"),
        ([{"metric": "data_drift", "soft_max": 0.45}], "check #1 needs a 'name'"),
        ([{"name": "drift", "soft_max": 0.45}], "check 'drift' needs a 'metric'"),
        (
            [{"name": "drift", "metric": "data_drift", "soft_maximum": 0.45}],
            "check 'drift': unknown key 'soft_maximum'",
        ),
        (
            [{"name": "drift", "metric": "data_drift", "soft_max": "high"}],
            "check 'drift': soft_max = 'high' is not a finite number",
        ),
        (
            [{"name": "drift", "metric": "data_drift", "soft_max": True}],
            "check 'drift': soft_max = True is not a finite number",
        ),
        (
            [{"name": "drift", "metric": "data_drift", "soft_max": "nan"}],
            "soft_max = 'nan' is not a finite number",
        ),
        ([{"name": "drift", "metric": "data_drift"}], "check 'drift' has no bound"),
        (
            [{"name": "drift", "metric": "data_drift", "soft_max": "0.9", "hard_max": "0.8"}],
            "check 'drift': soft_max = 0.9 is above hard_max = 0.8",
        ),
        (
            [{"name": "classes", "metric": "n", "allowed": [2], "soft_max": 3}],
            "check 'classes': unknown key 'soft_max'",
        ),
        ([{"name": "classes", "metric": "n", "allowed": "2"}], "'allowed' must be a list"),
        ([{"name": "classes", "metric": "n", "allowed": ["two"]}], "allowed = 'two' is not a"),
        (
            [{"name": "classes", "metric": "n", "allowed": [2], "outcome_if_not": "FATAL"}],
            "'outcome_if_not' must be WARNING or ERROR",
        ),
        (
            [
                {"name": "drift", "metric": "data_drift", "soft_max": 0.45},
                {"name": "drift", "metric": "auc", "hard_min": 0.5},
            ],
            "two checks are named 'drift'",
        ),
    ],
)
def test_parse_errors_name_the_check_and_the_key(specs, error):
    with pytest.raises(ConfigurationError) as raised:
        parse_checks(specs)

    assert error in str(raised.value)


def test_checks_of_an_in_sample_evaluation_say_so() -> None:
    check = NumericRangeCheck("auc floor", "auc", soft_min=0.7)
    (result,) = run_checks([check], {"auc": 0.97, "in_sample": 1.0})
    assert result.outcome is CheckOutcome.OK
    assert result.message.endswith("(in-sample evaluation: metrics are optimistic)")
    (result,) = run_checks([check], {"auc": 0.97, "in_sample": 0.0})
    assert "in-sample" not in result.message


def test_a_check_of_an_undefined_metric_says_why() -> None:
    check = NumericRangeCheck("recall floor", "recall", soft_min=0.5)
    labels = {"undefined:recall": "no positive in the batch"}
    (result,) = run_checks([check], {"auc": 0.8}, labels=labels)
    assert result.outcome is CheckOutcome.EMPTY
    assert result.message == "recall is undefined (no positive in the batch)"


def test_a_check_of_an_untrusted_estimate_says_why() -> None:
    check = NumericRangeCheck("estimated auc floor", "estimated_auc", soft_min=0.8)
    labels = {"untrusted:estimated_auc": "12 % of the batch's scores lie outside the reference's"}
    (result,) = run_checks([check], {"row_count": 500.0}, labels=labels)
    assert result.outcome is CheckOutcome.EMPTY
    assert result.message == (
        "estimated_auc is not estimated: it cannot be trusted (12 % of the batch's scores lie "
        "outside the reference's)"
    )


def test_a_check_of_realised_performance_before_any_label_points_at_the_estimate() -> None:
    check = NumericRangeCheck("auc floor", "auc", soft_min=0.8)
    metrics = {"label_share": 0.0, "estimated_auc": 0.74}
    (result,) = run_checks([check], metrics, labels={})
    assert result.outcome is CheckOutcome.EMPTY
    assert "no row of the batch is labelled yet (label share 0)" in result.message
    assert "check estimated_auc to watch it before the labels land" in result.message
    (estimated,) = run_checks([NumericRangeCheck("est", "estimated_auc", soft_min=0.8)], metrics)
    assert estimated.outcome is CheckOutcome.WARNING
