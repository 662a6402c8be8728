from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from include.drift.stats.corrections import adjust_pvalues

PVALUES = np.array([0.001, 0.04, 0.03, 0.5, 0.04, 0.9, 0.0])


def test_none_returns_the_pvalues_unchanged_as_a_copy():
    adjusted = adjust_pvalues(PVALUES, "none")

    np.testing.assert_array_equal(adjusted, PVALUES)
    assert adjusted is not PVALUES


def test_bonferroni_multiplies_by_the_number_of_tests_capped_at_one():
    adjusted = adjust_pvalues(PVALUES, "bonferroni")

    np.testing.assert_array_equal(adjusted, np.minimum(PVALUES * 7, 1.0))


def test_holm_steps_down_from_the_smallest_pvalue():
    adjusted = adjust_pvalues(PVALUES, "holm")

    # sorted: 0.0·7, 0.001·6, 0.03·5, 0.04·4, 0.04·3 (raised to 0.16), 0.5·2, 0.9·1 (raised to 1)
    np.testing.assert_allclose(adjusted, [0.006, 0.16, 0.15, 1.0, 0.16, 1.0, 0.0])
    assert np.all(adjusted >= PVALUES)
    assert np.all(adjusted <= adjust_pvalues(PVALUES, "bonferroni"))


@pytest.mark.parametrize("size", [2, 5, 40])
def test_benjamini_hochberg_equals_scipy(size):
    rng = np.random.default_rng(size)
    pvalues = np.concatenate([rng.random(size) ** 3, rng.random(size).round(1)])  # with ties

    adjusted = adjust_pvalues(pvalues, "benjamini-hochberg")

    np.testing.assert_allclose(
        adjusted, stats.false_discovery_control(pvalues, method="bh"), rtol=1e-15
    )
    assert np.all(adjusted >= pvalues)


@pytest.mark.parametrize("method", ["none", "bonferroni", "holm", "benjamini-hochberg"])
def test_nan_pvalues_pass_through_and_are_not_counted(method):
    with_nan = np.array([0.01, np.nan, 0.02, np.nan, 0.5])
    tested = with_nan[~np.isnan(with_nan)]

    adjusted = adjust_pvalues(with_nan, method)

    assert np.isnan(adjusted[[1, 3]]).all()
    np.testing.assert_array_equal(adjusted[[0, 2, 4]], adjust_pvalues(tested, method))


def test_single_and_no_pvalue():
    assert adjust_pvalues([0.2], "benjamini-hochberg").tolist() == [0.2]
    assert adjust_pvalues([0.2], "bonferroni").tolist() == [0.2]
    assert adjust_pvalues([], "bonferroni").size == 0


def test_unknown_method_and_invalid_pvalues_are_refused():
    with pytest.raises(ValueError, match="unknown correction 'sidak'"):
        adjust_pvalues(PVALUES, "sidak")
    with pytest.raises(ValueError, match="between 0 and 1"):
        adjust_pvalues([0.5, 1.5], "bonferroni")
