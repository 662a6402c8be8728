from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from include.drift.stats.ecdf import joint_ecdf
from include.drift.stats.wasserstein import wasserstein_distance


@pytest.mark.parametrize(
    ("n_reference", "n_current", "ties"),
    [
        (1, 1, False),
        (3, 8, False),
        (500, 800, False),
        (20_000, 30_000, False),
        (5_000, 7_000, True),
    ],
)
def test_matches_scipy(n_reference, n_current, ties):
    rng = np.random.default_rng(n_reference)
    reference = rng.lognormal(size=n_reference)
    current = rng.lognormal(0.2, size=n_current)
    if ties:
        reference, current = reference.round(1), current.round(1)

    result = wasserstein_distance(np.sort(reference), np.sort(current))

    assert result == pytest.approx(stats.wasserstein_distance(reference, current), rel=1e-12)
    assert isinstance(result, float)


def test_hand_worked_example():
    # all mass moves from {0, 1, 3} to {5, 6, 8}: each point by 5
    assert wasserstein_distance(np.array([0.0, 1, 3]), np.array([5.0, 6, 8])) == 5.0


def test_direction_zero_for_identical_samples_and_the_shift_for_a_shifted_one():
    values = np.sort(np.random.default_rng(1).normal(size=1_000))

    assert wasserstein_distance(values, values) == 0.0
    assert wasserstein_distance(values, values + 2.5) == pytest.approx(2.5, rel=1e-12)


def test_a_precomputed_joint_ecdf_gives_the_same_result():
    rng = np.random.default_rng(2)
    reference, current = np.sort(rng.normal(size=900)), np.sort(rng.normal(size=1_100))

    shared = wasserstein_distance(reference, current, ecdf=joint_ecdf(reference, current))

    assert shared == wasserstein_distance(reference, current)


def test_empty_sample_is_refused():
    with pytest.raises(ValueError, match="both samples need values"):
        wasserstein_distance(np.array([1.0]), np.array([]))
