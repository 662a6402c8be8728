from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from include.drift.stats.proportions import cohens_h, two_proportions


def test_z_test_equals_the_chi_square_test_of_the_two_by_two_table():
    result = two_proportions(120, 1_000, 90, 1_200)

    table = np.array([[120, 880], [90, 1_110]])
    expected = stats.chi2_contingency(table, correction=False).pvalue
    assert result.pvalue == pytest.approx(expected, rel=1e-9)
    assert result.difference == pytest.approx(0.075 - 0.12)
    assert (result.reference_share, result.current_share) == (0.12, 0.075)


def test_small_expected_counts_use_fishers_exact_test():
    result = two_proportions(0, 19, 3, 90)

    assert result.pvalue == pytest.approx(stats.fisher_exact([[0, 19], [3, 87]]).pvalue)


def test_nothing_to_test_when_both_sides_share_none_or_all():
    assert two_proportions(0, 50, 0, 70).pvalue == 1.0
    assert two_proportions(50, 50, 70, 70).pvalue == 1.0


def test_cohens_h_means_the_same_near_zero_and_near_a_half():
    assert cohens_h(0.0, 1.0) == pytest.approx(math.pi)
    assert cohens_h(0.0, 0.01) == pytest.approx(0.2003, abs=1e-4)
    assert cohens_h(0.5, 0.6) == pytest.approx(0.2014, abs=1e-4)
    assert cohens_h(0.6, 0.5) == -cohens_h(0.5, 0.6)


def test_counts_out_of_range_are_refused():
    with pytest.raises(ValueError, match="both sides need rows"):
        two_proportions(0, 0, 1, 2)
    with pytest.raises(ValueError, match="between 0 and their totals"):
        two_proportions(3, 2, 1, 2)
