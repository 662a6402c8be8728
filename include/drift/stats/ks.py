"""Two-sample Kolmogorov–Smirnov test: do two samples come from the same distribution?"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats

from include.drift.stats.ecdf import JointEcdf, joint_ecdf

EXACT_MAX_SIZE = 10_000
"""scipy's ``method="auto"`` uses the exact distribution when neither sample is larger."""

_SERIES_CHUNK = 1_000_000
"""Terms of Smirnov's series summed at a time, to bound memory for huge samples."""


class KsResult(NamedTuple):
    """Largest gap between the two empirical CDFs (0…1) and the two-sided p-value."""

    statistic: float
    pvalue: float


def ks_two_sample(
    reference_sorted: np.ndarray,
    current_sorted: np.ndarray,
    *,
    ecdf: JointEcdf | None = None,
) -> KsResult:
    """Two-sided two-sample Kolmogorov–Smirnov test, equal to ``scipy.stats.ks_2samp``.

    Measures the largest vertical distance ``D`` between the empirical CDFs of the two samples.
    Direction: ``D`` grows with drift (0 = identical samples, 1 = disjoint ranges); the p-value
    is the chance of a ``D`` at least this large when both samples come from one continuous
    distribution, so a *small* p-value is evidence of drift. With large samples tiny, harmless
    shifts give small p-values: read ``D`` and the PSI beside it.

    Both arrays are sorted, finite and non-empty. ``ecdf`` may pass :func:`joint_ecdf` of the
    same two arrays when the caller computes it anyway (for the Wasserstein distance).
    As scipy: the exact distribution when both samples have at most 10,000 values (computed by
    scipy itself, which falls back to the asymptotic one when that fails), otherwise
    ``kstwo.sf(D, round(n·m / (n + m)))`` (see :func:`kstwo_sf`).
    """
    n_reference, n_current = reference_sorted.size, current_sorted.size
    if n_reference == 0 or n_current == 0:
        raise ValueError(f"both samples need values, got {n_reference} and {n_current}")
    if max(n_reference, n_current) <= EXACT_MAX_SIZE:
        exact = stats.ks_2samp(reference_sorted, current_sorted)
        return KsResult(float(exact.statistic), float(exact.pvalue))
    if ecdf is None:
        ecdf = joint_ecdf(reference_sorted, current_sorted)
    statistic = float(np.max(np.abs(ecdf.cdf_gap), where=ecdf.run_ends, initial=0.0))
    larger, smaller = sorted([float(n_reference), float(n_current)], reverse=True)
    effective_size = larger * smaller / (larger + smaller)
    return KsResult(statistic, kstwo_sf(statistic, float(np.round(effective_size))))


def kstwo_sf(statistic: float, n: float) -> float:
    """``scipy.stats.kstwo.sf(statistic, n)``, with its slowest branch summed faster.

    When ``n > 140`` and ``2.2 <= n·D² < 370`` (a p-value between about 0.025 and 1e-320)
    scipy returns twice Smirnov's one-sided series, summed term by term in double-double
    arithmetic: 0.35 s for n = 500,000 (a million rows a side), on every moderately drifted
    feature of a large batch. Here the same series is summed as one vector of binomial
    probabilities, about 6x faster; the two agree to about 1e-14 relative (tests compare
    them). Every other case is scipy's own code.
    """
    t = n * statistic
    # the branch conditions of scipy.stats._ksstats._kolmogn, in the same arithmetic
    if n > 140 and 1.0 < t < n - 1 and statistic < 0.5 and 2.2 <= t * statistic < 370.0:
        return min(max(2.0 * _smirnov_series(int(n), statistic), 0.0), 1.0)
    return float(np.clip(stats.kstwo.sf(statistic, n), 0.0, 1.0))


def _smirnov_series(n: int, d: float) -> float:
    """One-sided ``P(D+ >= d)`` by Birnbaum and Tingey's sum over ``v = 0 … ⌊n(1 − d)⌋`` of
    ``C(n, v)·d·(d + v/n)^(v−1)·(1 − d − v/n)^(n−v)``, each term being
    ``(d / p)·Binomial(n, p).pmf(v)`` with ``p = d + v/n``."""
    last = math.floor(n * (1.0 - d))
    total = 0.0
    for start in range(0, last + 1, _SERIES_CHUNK):
        v = np.arange(start, min(start + _SERIES_CHUNK, last + 1), dtype=np.float64)
        p = d + v / n
        total += float(np.sum(stats.binom.pmf(v, n, p) * (d / p)))
    return total
