"""How the drift report writes its numbers: p-values, counts, statistics and metrics for reading.

The report reads the stored analysis once into the typed document
(:class:`include.drift.document.DriftDocument`), so the numbers it formats are floats or None;
the formatters still take any value and write "n/a" for anything but a finite number (None,
NaN, text), never fail.
"""

from __future__ import annotations

import math
from typing import Any

NA = "n/a"
SMALLEST_PVALUE = 1e-16  # below this a p-value is rounding noise: all that is known is "tiny"


def _finite(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, text, NaN, infinite, a bool)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def format_pvalue(value: Any) -> str:
    """A p-value as people read them: "< 1e-16", "3.2e-05", "0.012", "0.41"."""
    p = _finite(value)
    if p is None:
        return NA
    if p < SMALLEST_PVALUE:
        return "< 1e-16"
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.2g}"


def format_number(value: Any) -> str:
    """Three significant digits; counts and large values with thousands separators."""
    number = _finite(value)
    if number is None:
        return NA
    if isinstance(value, int) or abs(number) >= 1000:
        return f"{number:,.0f}"
    if number != 0 and abs(number) < 0.001:
        return f"{number:.2e}"
    return f"{number:.3g}"


def format_statistic(value: Any) -> str:
    """A statistic on a 0-to-a-few scale (PSI, KS, importance) to three decimals, for columns."""
    number = _finite(value)
    if number is None:
        return NA
    if 0 < abs(number) < 0.0005:
        return "< 0.001"
    return f"{number:.3f}" if abs(number) < 1000 else format_number(number)


def format_metric(value: Any, *, signed: bool = False) -> str:
    number = _finite(value)
    if number is None:
        return NA
    if abs(number) >= 1000:
        return format_number(number)
    return f"{number:+.3f}".replace("-", "−") if signed else f"{number:.3f}"
