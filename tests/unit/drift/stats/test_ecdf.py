"""include/drift/stats/ecdf: the merged sample and its CDF gap, against a direct computation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp, wasserstein_distance

from include.drift.stats.ecdf import joint_ecdf


def _direct_gap(reference: np.ndarray, current: np.ndarray, at: np.ndarray) -> np.ndarray:
    f_reference = np.searchsorted(reference, at, side="right") / reference.size
    f_current = np.searchsorted(current, at, side="right") / current.size
    return f_reference - f_current


def test_values_are_both_samples_merged_in_order():
    reference, current = np.array([1.0, 4.0, 6.0]), np.array([2.0, 3.0, 5.0, 7.0])
    joint = joint_ecdf(reference, current)
    np.testing.assert_array_equal(joint.values, [1, 2, 3, 4, 5, 6, 7])
    assert (joint.reference_size, joint.current_size) == (3, 4)


def test_the_gap_without_ties_is_the_difference_of_the_cdfs():
    reference, current = np.array([1.0, 4.0, 6.0]), np.array([2.0, 3.0, 5.0, 7.0])
    joint = joint_ecdf(reference, current)
    assert joint.run_ends.all()
    np.testing.assert_allclose(joint.cdf_gap, _direct_gap(reference, current, joint.values))
    assert joint.cdf_gap[-1] == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_gap_at_run_ends_is_exact_with_ties(seed):
    rng = np.random.default_rng(seed)
    reference = np.sort(rng.integers(0, 6, size=40).astype(float))
    current = np.sort(rng.integers(1, 8, size=25).astype(float))
    joint = joint_ecdf(reference, current)
    ends = joint.run_ends
    np.testing.assert_array_equal(joint.values[ends], np.unique(joint.values))
    np.testing.assert_allclose(
        joint.cdf_gap[ends], _direct_gap(reference, current, joint.values[ends]), atol=1e-12
    )


def test_run_ends_mark_the_last_of_equal_values():
    joint = joint_ecdf(np.array([1.0, 2.0, 2.0]), np.array([2.0, 3.0]))
    np.testing.assert_array_equal(joint.values, [1, 2, 2, 2, 3])
    np.testing.assert_array_equal(joint.run_ends, [True, False, False, True, True])


def test_the_largest_gap_is_the_ks_statistic():
    rng = np.random.default_rng(3)
    reference, current = np.sort(rng.normal(size=200)), np.sort(rng.normal(0.5, size=150))
    joint = joint_ecdf(reference, current)
    assert np.isclose(np.abs(joint.cdf_gap).max(), ks_2samp(reference, current).statistic)


def test_the_area_between_the_cdfs_is_the_wasserstein_distance():
    rng = np.random.default_rng(4)
    reference, current = np.sort(rng.normal(size=120)), np.sort(rng.normal(1, 2, size=90))
    joint = joint_ecdf(reference, current)
    area = np.sum(np.abs(joint.cdf_gap[:-1]) * np.diff(joint.values))
    assert np.isclose(area, wasserstein_distance(reference, current))


@pytest.mark.parametrize("sizes", [(0, 3), (3, 0), (0, 0)])
def test_an_empty_sample_is_refused(sizes):
    with pytest.raises(ValueError, match="both samples need values"):
        joint_ecdf(np.arange(sizes[0], dtype=float), np.arange(sizes[1], dtype=float))
