"""Pearson chi-square test of homogeneity: are two category count vectors one distribution?"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats


class ChiSquareResult(NamedTuple):
    """Pearson's statistic, its p-value and the degrees of freedom (categories kept − 1)."""

    statistic: float
    pvalue: float
    dof: int


def chi_square_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> ChiSquareResult:
    """Chi-square test on the 2×k table of counts, equal to ``chi2_contingency(correction=False)``.

    Measures how far the counts of each category on each side are from what one shared
    distribution would give: ``Σ (observed − expected)² / expected``. Direction: the statistic
    grows with drift; a *small* p-value is evidence of drift. The inputs are counts, not shares:
    the same share difference is strong evidence on a million rows and none on ten, and only
    counts carry that (feeding shares, as DSS does, ignores sample size).

    Categories with no count on either side are dropped. When a single category remains there
    is nothing to compare: statistic 0, p-value 1, no degrees of freedom (no evidence of drift),
    as scipy does for a degenerate table. A side without any count is an error.
    """
    reference = np.asarray(reference_counts, dtype=np.float64)
    current = np.asarray(current_counts, dtype=np.float64)
    if reference.shape != current.shape or reference.ndim != 1 or reference.size == 0:
        raise ValueError(
            f"need two count vectors of one non-zero length, got shapes {reference.shape} and "
            f"{current.shape}"
        )
    table = np.stack([reference, current])
    if not np.all(table >= 0):  # also refuses NaN
        raise ValueError("counts must be non-negative numbers")
    if not np.all(np.isfinite(table)):
        raise ValueError("counts must be finite")
    side_totals = table.sum(axis=1)
    if np.any(side_totals == 0):
        raise ValueError("both sides need at least one count")
    table = table[:, table.sum(axis=0) > 0]
    dof = table.shape[1] - 1
    if dof == 0:
        return ChiSquareResult(0.0, 1.0, 0)
    expected = np.outer(side_totals, table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return ChiSquareResult(statistic, float(stats.chi2.sf(statistic, dof)), dof)
