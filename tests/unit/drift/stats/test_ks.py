from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from include.drift.stats.ecdf import joint_ecdf
from include.drift.stats.ks import EXACT_MAX_SIZE, ks_two_sample, kstwo_sf


def assert_matches_scipy(reference: np.ndarray, current: np.ndarray) -> None:
    expected = stats.ks_2samp(reference, current)
    result = ks_two_sample(np.sort(reference), np.sort(current))
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert result.pvalue == pytest.approx(expected.pvalue, abs=1e-12)
    assert isinstance(result.statistic, float)
    assert isinstance(result.pvalue, float)


@pytest.mark.parametrize(("n_reference", "n_current"), [(1, 1), (1, 7), (50, 50), (300, 170)])
@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_small_samples_match_scipy_exact_method(n_reference, n_current, shift):
    rng = np.random.default_rng(n_reference + n_current)
    assert_matches_scipy(rng.normal(size=n_reference), rng.normal(shift, size=n_current))


def test_small_samples_with_ties_match_scipy():
    rng = np.random.default_rng(1)
    assert_matches_scipy(rng.integers(0, 5, 400).astype(float), rng.integers(1, 6, 333) * 1.0)


@pytest.mark.parametrize("shift", [0.0, 0.01, 0.04, 0.5])
def test_large_samples_match_scipy_asymptotic_method(shift):
    # 20k vs 30k rows, beyond scipy's exact method; kstwo.sf takes a different formula for
    # n·D² below 2.2 (Pelz–Good), up to 370 (Smirnov's sum) and beyond (0)
    rng = np.random.default_rng(2)
    assert_matches_scipy(rng.normal(size=20_000), rng.normal(shift, size=30_000))


@pytest.mark.parametrize("stretch", [1.0, 1.00005, 1.002])
def test_large_interleaved_samples_with_a_tiny_statistic_match_scipy(stretch):
    # D from 3e-5 to 2e-3: kstwo.sf's trivial, Ruben–Gambino and Durbin-matrix formulas
    assert_matches_scipy(np.linspace(0, 1, 20_000), np.linspace(0, stretch, 30_000))


def test_large_samples_with_ties_match_scipy():
    rng = np.random.default_rng(3)
    reference = rng.integers(300, 850, 20_000).astype(float)
    assert_matches_scipy(reference, rng.integers(305, 850, 30_000).astype(float))


def test_one_side_beyond_the_exact_limit_uses_the_asymptotic_method_as_scipy():
    rng = np.random.default_rng(4)
    assert_matches_scipy(rng.normal(size=EXACT_MAX_SIZE + 1), rng.normal(size=6))


@pytest.mark.parametrize("n", [141.0, 1_000.0, 12_000.0, 77_777.0])
@pytest.mark.parametrize("n_d_squared", [0.5, 2.19, 2.2, 5.0, 20.0, 100.0, 369.0, 371.0])
def test_kstwo_sf_equals_scipy_in_and_around_smirnovs_branch(n, n_d_squared):
    statistic = (n_d_squared / n) ** 0.5

    expected = stats.kstwo.sf(statistic, n)

    assert kstwo_sf(statistic, n) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_kstwo_sf_equals_scipy_for_a_million_rows_a_side():
    statistic = 0.004  # n·D² = 8: a tiny shift, a p-value of about 2e-7
    assert kstwo_sf(statistic, 500_000.0) == pytest.approx(
        stats.kstwo.sf(statistic, 500_000.0), rel=1e-12
    )


def test_a_precomputed_joint_ecdf_gives_the_same_result():
    rng = np.random.default_rng(5)
    reference = np.sort(rng.normal(size=12_000))
    current = np.sort(rng.normal(0.05, size=11_000))

    shared = ks_two_sample(reference, current, ecdf=joint_ecdf(reference, current))

    assert shared == ks_two_sample(reference, current)


def test_direction_identical_samples_do_not_drift_disjoint_ones_do():
    values = np.arange(20_000, dtype=float)

    same = ks_two_sample(values, values)
    disjoint = ks_two_sample(values, values + 1e6)

    assert same.statistic == 0.0
    assert same.pvalue == 1.0
    assert disjoint.statistic == 1.0
    assert disjoint.pvalue == 0.0


def test_two_sided_test_is_symmetric():
    rng = np.random.default_rng(6)
    a, b = np.sort(rng.normal(size=15_000)), np.sort(rng.normal(0.03, size=12_000))

    assert ks_two_sample(a, b) == ks_two_sample(b, a)


def test_empty_sample_is_refused():
    with pytest.raises(ValueError, match="both samples need values"):
        ks_two_sample(np.array([]), np.array([1.0]))
