"""include/drift/report_format: the report reads any stored analysis and writes its numbers."""

from __future__ import annotations

import math

import pytest

from include.drift.report_format import (
    as_edge,
    as_mapping,
    as_number,
    as_records,
    as_strings,
    format_metric,
    format_number,
    format_statistic,
)


@pytest.mark.parametrize("value", [None, True, "n/a", math.nan, math.inf, [1], {}])
def test_anything_but_a_finite_number_reads_as_absent(value) -> None:
    assert as_number(value) is None


def test_numbers_and_numeric_text_read_as_floats() -> None:
    assert [as_number(v) for v in (3, 0.25, "1e-3")] == [3.0, 0.25, 0.001]


def test_an_open_edge_is_none_whether_stored_as_none_or_infinity() -> None:
    assert [as_edge(v) for v in (None, -math.inf, math.inf, "x", 2)] == [
        None,
        None,
        None,
        None,
        2.0,
    ]


def test_parts_of_another_type_read_as_empty() -> None:
    assert as_mapping(["a"]) == {}
    assert as_records("text") == []
    assert as_records([{"a": 1}, "b", 2]) == [{"a": 1}]
    assert as_strings("ab") == []
    assert as_strings(["a", 1]) == ["a", "1"]


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
