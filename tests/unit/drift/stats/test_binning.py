"""include/drift/stats/binning: quantiles and bin counts of a sorted array, against numpy/pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.drift.stats.binning import bin_counts, bin_shares, sorted_quantiles

QUANTILES = np.linspace(0, 1, 11)


@pytest.mark.parametrize("size", [1, 2, 7, 100, 1001])
def test_quantiles_are_numpys_bit_for_bit(size):
    values = np.sort(np.random.default_rng(size).normal(size=size))
    np.testing.assert_array_equal(
        sorted_quantiles(values, QUANTILES), np.quantile(values, QUANTILES)
    )


def test_quantiles_with_ties_and_integers_are_numpys():
    values = np.sort(np.array([3, 1, 1, 1, 2, 2, 9, 9, 9, 9]))
    quantiles = np.array([0.0, 0.1, 0.33, 0.5, 0.77, 0.999, 1.0])
    np.testing.assert_array_equal(
        sorted_quantiles(values, quantiles), np.quantile(values, quantiles)
    )


def test_quantiles_are_monotone_and_exact_at_the_ends():
    values = np.sort(np.random.default_rng(0).exponential(size=333))
    result = sorted_quantiles(values, np.linspace(0, 1, 101))
    assert result[0] == values[0]
    assert result[-1] == values[-1]
    assert np.all(np.diff(result) >= 0)


def test_quantiles_of_nothing_are_refused():
    with pytest.raises(ValueError, match="empty"):
        sorted_quantiles(np.array([]), QUANTILES)


def test_counts_match_pandas_cut_closed_on_the_right():
    values = np.sort(np.random.default_rng(1).integers(0, 10, size=500).astype(float))
    edges = np.array([1.0, 2.5, 5.0, 8.0])
    bins = pd.cut(values, np.concatenate(([-np.inf], edges, [np.inf])), right=True)
    expected = pd.Series(bins).value_counts(sort=False).sort_index().to_numpy()
    np.testing.assert_array_equal(bin_counts(values, edges), expected)


def test_a_value_on_an_edge_falls_in_the_lower_bin():
    np.testing.assert_array_equal(bin_counts(np.array([1.0, 2.0, 3.0]), np.array([2.0])), [2, 1])


def test_counts_have_one_more_bin_than_edges_and_sum_to_the_size():
    values = np.sort(np.random.default_rng(2).normal(size=77))
    counts = bin_counts(values, np.array([-1.0, 0.0, 1.0]))
    assert counts.shape == (4,)
    assert counts.sum() == 77


def test_no_edges_is_one_bin_of_everything():
    np.testing.assert_array_equal(bin_counts(np.array([1.0, 2.0]), np.array([])), [2])


def test_counts_of_an_empty_array_are_zeros():
    np.testing.assert_array_equal(bin_counts(np.array([]), np.array([0.0, 1.0])), [0, 0, 0])


def test_shares_are_counts_over_the_size_and_sum_to_one():
    values = np.array([0.0, 1.0, 1.0, 5.0])
    shares = bin_shares(values, np.array([0.5, 2.0]))
    np.testing.assert_array_equal(shares, [0.25, 0.5, 0.25])
    assert shares.sum() == 1.0


def test_shares_of_an_empty_array_are_refused():
    with pytest.raises(ValueError, match="empty"):
        bin_shares(np.array([]), np.array([0.0]))
