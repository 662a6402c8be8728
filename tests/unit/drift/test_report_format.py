"""include/drift/report_format: the report writes its numbers for reading, "n/a" for the rest."""

from __future__ import annotations

import math

import pytest

from include.drift.report_format import (
    NA,
    format_metric,
    format_number,
    format_pvalue,
    format_statistic,
)


@pytest.mark.parametrize("value", [None, True, "n/a", math.nan, math.inf, [1], {}])
def test_anything_but_a_finite_number_is_written_as_na(value) -> None:
    assert format_number(value) == NA
    assert format_pvalue(value) == NA
    assert format_statistic(value) == NA
    assert format_metric(value) == NA


def test_numbers_and_numeric_text_are_written_as_numbers() -> None:
    assert [format_number(v) for v in (3, 0.25, "1e-3")] == ["3", "0.25", "0.001"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(20000, "20,000"), (1234.5, "1,234"), (0.0001234, "1.23e-04"), (0.5, "0.5"), (None, "n/a")],
)
def test_numbers_are_written_with_three_significant_digits(value, shown) -> None:
    assert format_number(value) == shown


def test_statistics_have_three_decimals_and_tiny_ones_say_so() -> None:
    assert [format_statistic(v) for v in (0.1234, 0.0001, 0, 2500.0)] == [
        "0.123",
        "< 0.001",
        "0.000",
        "2,500",
    ]


def test_a_signed_metric_change_uses_a_true_minus() -> None:
    assert format_metric(-0.03, signed=True) == "−0.030"
    assert format_metric(0.05, signed=True) == "+0.050"
    assert format_metric(math.nan) == "n/a"
