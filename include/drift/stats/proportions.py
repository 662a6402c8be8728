"""Two-proportion test: did the share of rows with some property (e.g. missing) change?"""

from __future__ import annotations

import math
from typing import NamedTuple

from scipy import stats

SMALL_EXPECTED_COUNT = 5
"""Below this expected count in a cell of the 2×2 table the normal approximation is poor: the
p-value comes from Fisher's exact test instead."""


class ProportionResult(NamedTuple):
    """The two shares, their difference (current − reference), Cohen's h and the p-value."""

    reference_share: float
    current_share: float
    difference: float
    cohens_h: float
    pvalue: float


def cohens_h(reference_share: float, current_share: float) -> float:
    """Cohen's h, ``2·asin(√current) − 2·asin(√reference)``: a change of shares on a scale that
    means the same near 0 %, 50 % and 100 % (0 → 1 % and 50 → 60 % are both about 0.2, Cohen's
    "small"; 0 → 100 % is π). Direction: 0 is no change; the sign is the direction of change,
    the magnitude grows with drift."""
    return 2.0 * math.asin(math.sqrt(current_share)) - 2.0 * math.asin(math.sqrt(reference_share))


def two_proportions(
    reference_count: int, reference_total: int, current_count: int, current_total: int
) -> ProportionResult:
    """Two-sided test that ``reference_count / reference_total`` and ``current_count /
    current_total`` are one share.

    The pooled two-proportion z-test (equal to the chi-square test of the 2×2 table without
    continuity correction); Fisher's exact test when an expected count is below
    :data:`SMALL_EXPECTED_COUNT`. A *small* p-value is evidence that the share changed. When
    both sides share 0 % or 100 % there is nothing to test: p = 1.
    """
    if reference_total <= 0 or current_total <= 0:
        raise ValueError(f"both sides need rows, got {reference_total} and {current_total}")
    if not (0 <= reference_count <= reference_total and 0 <= current_count <= current_total):
        raise ValueError("counts must lie between 0 and their totals")
    p_ref, p_cur = reference_count / reference_total, current_count / current_total
    result = {
        "reference_share": p_ref,
        "current_share": p_cur,
        "difference": p_cur - p_ref,
        "cohens_h": cohens_h(p_ref, p_cur),
    }
    hits, total = reference_count + current_count, reference_total + current_total
    if hits in (0, total):
        return ProportionResult(**result, pvalue=1.0)
    pooled = hits / total
    smallest = min(pooled, 1 - pooled) * min(reference_total, current_total)
    if smallest < SMALL_EXPECTED_COUNT:
        table = [
            [reference_count, reference_total - reference_count],
            [current_count, current_total - current_count],
        ]
        return ProportionResult(**result, pvalue=float(stats.fisher_exact(table).pvalue))
    spread = math.sqrt(pooled * (1 - pooled) * (1 / reference_total + 1 / current_total))
    z = (p_cur - p_ref) / spread
    return ProportionResult(**result, pvalue=float(min(1.0, 2 * stats.norm.sf(abs(z)))))
