from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import distance

from include.drift.stats.jensen_shannon import jensen_shannon_distance


@pytest.mark.parametrize("size", [2, 5, 60])
def test_equals_scipy_in_bits(size):
    rng = np.random.default_rng(size)
    reference, current = rng.random(size), rng.random(size)
    reference[0] = 0.0  # an empty category is fine: no floor is needed

    expected = distance.jensenshannon(reference, current, base=2)
    assert jensen_shannon_distance(reference, current) == pytest.approx(expected, rel=1e-12)


def test_same_shares_are_zero_and_disjoint_ones_one():
    assert jensen_shannon_distance([0.2, 0.8], [0.2, 0.8]) == 0.0
    assert jensen_shannon_distance([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)


def test_bad_shares_are_refused():
    with pytest.raises(ValueError, match="one length"):
        jensen_shannon_distance([0.5, 0.5], [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        jensen_shannon_distance([0.5, -0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="positive share"):
        jensen_shannon_distance([0.0, 0.0], [0.5, 0.5])
