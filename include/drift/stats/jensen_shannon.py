"""Jensen–Shannon distance: how far apart two category distributions are, on a 0-to-1 scale."""

from __future__ import annotations

import numpy as np


def jensen_shannon_distance(reference_shares: np.ndarray, current_shares: np.ndarray) -> float:
    """Square root of the Jensen–Shannon divergence in bits, equal to
    ``scipy.spatial.distance.jensenshannon(reference, current, base=2)``.

    Measures how distinguishable the two distributions are: 0 for the same shares, 1 for
    disjoint categories, whatever the number of categories; unlike the PSI it needs no floor for
    empty categories (an empty category contributes a finite amount). Direction: larger means
    more drift. It reads shares only: with few rows it is large by chance, so read it with the
    p-value of a test on counts. The shares are normalised to sum to 1.
    """
    reference = np.asarray(reference_shares, dtype=np.float64)
    current = np.asarray(current_shares, dtype=np.float64)
    if reference.shape != current.shape or reference.ndim != 1 or reference.size == 0:
        raise ValueError(
            f"need two share vectors of one length, got shapes {reference.shape} and "
            f"{current.shape}"
        )
    if not (np.all(reference >= 0) and np.all(current >= 0)):
        raise ValueError("shares must be non-negative numbers")
    if reference.sum() == 0 or current.sum() == 0:
        raise ValueError("both sides need a positive share")
    reference, current = reference / reference.sum(), current / current.sum()
    middle = (reference + current) / 2
    divergence = (_kl_bits(reference, middle) + _kl_bits(current, middle)) / 2
    return float(np.sqrt(max(divergence, 0.0)))


def _kl_bits(p: np.ndarray, q: np.ndarray) -> float:
    present = p > 0  # where p > 0, q = (p + other) / 2 > 0 too
    return float(np.sum(p[present] * np.log2(p[present] / q[present])))
