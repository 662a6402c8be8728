"""How the drift report reads the stored analysis and writes its numbers.

The analysis comes back from the MES as JSON written by any version of the package, so every part
of it may be missing or of another type: the readers here turn anything unexpected into "absent"
(an empty mapping or list, None), and the formatters write "n/a" for it, never fail.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

NA = "n/a"
SMALLEST_PVALUE = 1e-16  # below this a p-value is rounding noise: all that is known is "tiny"


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_records(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [item for item in value if isinstance(item, Mapping)]
    return []


def as_number(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, text, NaN, infinite, a bool)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def as_edge(value: Any) -> float | None:
    """A histogram edge; None (JSON has no infinity) or ±inf means an open outer bin."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def as_strings(value: Any) -> list[str]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [str(item) for item in value]
    return []


# --- formatting -------------------------------------------------------------------------------


def format_pvalue(value: Any) -> str:
    """A p-value as people read them: "< 1e-16", "3.2e-05", "0.012", "0.41"."""
    p = as_number(value)
    if p is None:
        return NA
    if p < SMALLEST_PVALUE:
        return "< 1e-16"
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.2g}"


def format_number(value: Any) -> str:
    """Three significant digits; counts and large values with thousands separators."""
    number = as_number(value)
    if number is None:
        return NA
    if isinstance(value, int) or abs(number) >= 1000:
        return f"{number:,.0f}"
    if number != 0 and abs(number) < 0.001:
        return f"{number:.2e}"
    return f"{number:.3g}"


def format_statistic(value: Any) -> str:
    """A statistic on a 0-to-a-few scale (PSI, KS, importance) to three decimals, for columns."""
    number = as_number(value)
    if number is None:
        return NA
    if 0 < abs(number) < 0.0005:
        return "< 0.001"
    return f"{number:.3f}" if abs(number) < 1000 else format_number(number)


def format_metric(value: Any, *, signed: bool = False) -> str:
    number = as_number(value)
    if number is None:
        return NA
    if abs(number) >= 1000:
        return format_number(number)
    return f"{number:+.3f}".replace("-", "−") if signed else f"{number:.3f}"
