from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from include.drift.stats.chi_square import chi_square_counts


@pytest.mark.parametrize("categories", [2, 3, 7, 30])
def test_matches_scipy_chi2_contingency_without_correction(categories):
    rng = np.random.default_rng(categories)
    reference = rng.integers(1, 500, categories)
    current = rng.integers(1, 300, categories)

    result = chi_square_counts(reference, current)
    expected = stats.chi2_contingency(np.array([reference, current]), correction=False)

    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.pvalue == pytest.approx(expected.pvalue, rel=1e-12, abs=1e-300)
    assert result.dof == expected.dof == categories - 1


def test_categories_empty_on_both_sides_are_dropped():
    result = chi_square_counts([10, 0, 30, 5], [12, 0, 20, 0])
    expected = stats.chi2_contingency(np.array([[10, 30, 5], [12, 20, 0]]), correction=False)

    assert result.dof == 2
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.pvalue == pytest.approx(expected.pvalue, rel=1e-12)


def test_a_single_category_is_no_evidence_of_drift():
    assert chi_square_counts([100, 0], [3, 0]) == (0.0, 1.0, 0)


def test_counts_not_shares_the_same_shift_on_more_rows_is_stronger_evidence():
    few = chi_square_counts([50, 50], [40, 60])
    many = chi_square_counts([5_000, 5_000], [4_000, 6_000])

    assert few.pvalue > 0.05
    assert many.pvalue < 1e-12
    assert many.statistic == pytest.approx(100 * few.statistic)


@pytest.mark.parametrize(
    ("reference", "current", "message"),
    [
        ([0, 0], [1, 2], "both sides need at least one count"),
        ([1, -2], [1, 2], "non-negative"),
        ([1, np.nan], [1, 2], "non-negative"),
        ([1, 2], [1, 2, 3], "two count vectors of one non-zero length"),
        ([], [], "two count vectors of one non-zero length"),
    ],
)
def test_invalid_counts_are_refused(reference, current, message):
    with pytest.raises(ValueError, match=message):
        chi_square_counts(reference, current)
