from __future__ import annotations

import math

import numpy as np
import pytest

from include.drift.stats.binning import bin_counts, sorted_quantiles
from include.drift.stats.psi import DECILES, decile_edges, decile_psi, population_stability_index

TEN = np.arange(1.0, 11.0)  # deciles 1.9, 2.8, …, 9.1: one reference value per bin


def test_equal_shares_give_zero():
    assert population_stability_index([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_hand_worked_two_bins():
    # (0.25 - 0.5)·ln(0.5) + (0.75 - 0.5)·ln(1.5) = 0.25·ln 3
    psi = population_stability_index([0.5, 0.5], [0.25, 0.75])

    assert psi == pytest.approx(0.25 * math.log(3), rel=1e-12)


def test_empty_bins_are_floored_not_renormalised():
    # [1, 0] → [1, 0.001] and [0, 1] → [0.001, 1]: twice 0.999·ln(1000)
    psi = population_stability_index([1.0, 0.0], [0.0, 1.0])

    assert psi == pytest.approx(2 * 0.999 * math.log(1000), rel=1e-12)
    assert population_stability_index([1.0, 0.0], [0.0, 1.0], floor=0.01) == pytest.approx(
        2 * 0.99 * math.log(100), rel=1e-12
    )


def test_psi_is_symmetric_and_grows_with_the_shift():
    base = [0.25, 0.25, 0.25, 0.25]
    small, large = [0.3, 0.25, 0.25, 0.2], [0.5, 0.25, 0.15, 0.1]

    assert population_stability_index(base, small) == pytest.approx(
        population_stability_index(small, base), rel=1e-14
    )
    assert 0 < population_stability_index(base, small) < population_stability_index(base, large)


@pytest.mark.parametrize(
    ("reference", "current", "floor", "message"),
    [
        ([0.5, 0.5], [1.0], 0.001, "two share vectors of one length"),
        ([0.5, 0.5], [-0.1, 1.1], 0.001, "non-negative"),
        ([1.0], [1.0], 0.0, "floor must be > 0"),
    ],
)
def test_invalid_shares_are_refused(reference, current, floor, message):
    with pytest.raises(ValueError, match=message):
        population_stability_index(reference, current, floor)


@pytest.mark.parametrize("discrete", [False, True])
def test_decile_edges_are_numpys_linear_deciles_each_once(discrete):
    rng = np.random.default_rng(4)
    values = np.sort(rng.integers(0, 4, 1_001) * 1.0 if discrete else rng.normal(size=1_001))

    edges = decile_edges(values)

    np.testing.assert_array_equal(edges, np.unique(np.quantile(values, DECILES)))
    assert np.all(np.diff(edges) > 0)
    np.testing.assert_array_equal(
        sorted_quantiles(values, np.linspace(0, 1, 41)), np.quantile(values, np.linspace(0, 1, 41))
    )


def test_hand_worked_decile_psi():
    # current: five values in the lowest bin, five in the highest, the 8 bins between empty
    current = np.array([1.0] * 5 + [10.0] * 5)

    psi, edges = decile_psi(TEN, current)

    np.testing.assert_allclose(edges, np.arange(1.9, 9.2, 0.9), rtol=1e-12)
    expected = 2 * (0.5 - 0.1) * math.log(5) + 8 * (0.001 - 0.1) * math.log(0.001 / 0.1)
    assert psi == pytest.approx(expected, rel=1e-12)


def test_a_value_equal_to_an_edge_falls_in_the_bin_below_it():
    counts = bin_counts(np.array([1.9, 1.9000001, 9.1]), decile_edges(TEN))

    assert counts.tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 1, 0]


def test_values_beyond_the_reference_range_land_in_the_open_outer_bins():
    psi, edges = decile_psi(TEN, np.array([-1e9, 1e9]))

    assert bin_counts(np.array([-1e9, 1e9]), edges).tolist() == [1] + [0] * 8 + [1]
    assert math.isfinite(psi)


def test_discrete_reference_repeats_no_edge():
    binary = np.array([0.0] * 3 + [1.0] * 7)  # deciles 0, 0, 0.7, 1, 1, …

    psi, edges = decile_psi(binary, np.ones(4))

    assert edges.tolist() == [0.0, pytest.approx(0.7), 1.0]
    # bins (−inf, 0], (0, 0.7], (0.7, 1], (1, inf): reference 0.3, 0, 0.7, 0; current 0, 0, 1, 0
    expected = (0.001 - 0.3) * math.log(0.001 / 0.3) + (1 - 0.7) * math.log(1 / 0.7)
    assert psi == pytest.approx(expected, rel=1e-12)


def test_constant_reference_gives_one_edge_and_zero_psi_against_itself():
    constant = np.full(10, 5.0)

    psi, edges = decile_psi(constant, constant)

    assert edges.tolist() == [5.0]
    assert psi == 0.0
