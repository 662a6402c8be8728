"""Population stability index: how much the shares of a binned distribution moved."""

from __future__ import annotations

import numpy as np

from include.drift.stats.binning import bin_shares, sorted_quantiles

DEFAULT_FLOOR = 0.001
"""Empty bins count as this share, so that ``ln(cur/ref)`` stays finite."""

DECILES = np.arange(1, 10) / 10
"""The 9 inner deciles 0.1 … 0.9 (``arange / 10`` gives the doubles nearest to them)."""


def population_stability_index(
    reference_shares: np.ndarray,
    current_shares: np.ndarray,
    floor: float = DEFAULT_FLOOR,
) -> float:
    """PSI of two share vectors over the same bins: ``Σ (cur − ref)·ln(cur / ref)``.

    Measures how much probability moved between bins, symmetric in the two sides (it is the
    symmetrised Kullback–Leibler divergence). Direction: 0 means the same shares, larger means
    more drift; the usual reading is below 0.1 stable, 0.1–0.2 some change, above 0.2 a
    significant shift. Each share is first raised to ``floor`` (shares are not renormalised), so
    an empty bin contributes a large but finite term. PSI ignores sample size: with a few rows
    per side most bins are empty and the PSI is large by chance.
    """
    if floor <= 0:
        raise ValueError(f"floor must be > 0, got {floor}")
    reference = np.asarray(reference_shares, dtype=np.float64)
    current = np.asarray(current_shares, dtype=np.float64)
    if reference.shape != current.shape or reference.ndim != 1 or reference.size == 0:
        raise ValueError(
            f"need two share vectors of one length, got shapes {reference.shape} and "
            f"{current.shape}"
        )
    if not (np.all(reference >= 0) and np.all(current >= 0)):  # also refuses NaN
        raise ValueError("shares must be non-negative numbers")
    reference = np.maximum(reference, floor)
    current = np.maximum(current, floor)
    return float(np.sum((current - reference) * np.log(current / reference)))


def decile_edges(reference_sorted: np.ndarray) -> np.ndarray:
    """The reference's 9 inner deciles (``numpy.quantile``, linear), repeated values once.

    Discrete data repeat deciles (a 0/1 feature may have only the edges 0 and 1): the bins
    between equal edges would always be empty, so each distinct edge is kept once.
    """
    return np.unique(sorted_quantiles(reference_sorted, DECILES))


def decile_psi(
    reference_sorted: np.ndarray,
    current_sorted: np.ndarray,
    floor: float = DEFAULT_FLOOR,
) -> tuple[float, np.ndarray]:
    """PSI over the reference's deciles, with open outer bins; returns ``(psi, inner edges)``.

    Bins are ``(−inf, e_0], (e_0, e_1], …, (e_last, +inf)``: closed on the right, so a value equal
    to an edge falls in the bin *below* it (the bin that edge closes), and every current value,
    however far outside the reference's range, lands in a bin. Each reference bin holds about
    10 % of the reference (fewer bins when deciles repeat). Direction and floor as
    :func:`population_stability_index`. Both arrays are sorted, finite and non-empty.
    """
    edges = decile_edges(reference_sorted)
    psi = population_stability_index(
        bin_shares(reference_sorted, edges), bin_shares(current_sorted, edges), floor
    )
    return psi, edges
