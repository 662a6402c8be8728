"""Wasserstein-1 distance: how far, in the feature's units, one distribution lies from another."""

from __future__ import annotations

import numpy as np

from include.drift.stats.binning import sorted_quantiles
from include.drift.stats.ecdf import JointEcdf, joint_ecdf


def wasserstein_distance(
    reference_sorted: np.ndarray,
    current_sorted: np.ndarray,
    *,
    ecdf: JointEcdf | None = None,
) -> float:
    """Earth mover's distance between two samples, equal to ``scipy.stats.wasserstein_distance``.

    Measures the area between the two empirical CDFs, ``∫ |F_reference − F_current| dx``: the
    average distance each unit of probability must move to turn one sample into the other, in
    the units of the feature. Direction: 0 means identical samples, larger means more drift; it
    has no fixed scale, so compare it across periods of one feature, not across features.

    Both arrays are sorted, finite and non-empty; ``ecdf`` may pass :func:`joint_ecdf` of the same
    two arrays when the caller computes it anyway (for the Kolmogorov–Smirnov test).
    """
    if ecdf is None:
        ecdf = joint_ecdf(reference_sorted, current_sorted)
    widths = np.diff(ecdf.values)
    return float(np.dot(np.abs(ecdf.cdf_gap[:-1]), widths))


def reference_spread(reference_sorted: np.ndarray) -> tuple[float, str] | None:
    """The scale that turns a Wasserstein distance into an effect size: the reference's
    interquartile range, its standard deviation when the IQR is 0 (a feature mostly one value),
    None for a constant reference. Returns ``(spread, "IQR" or "std")``.

    The IQR ignores the tails, so one extreme value in the reference does not make every shift
    look small (for a normal distribution IQR = 1.35 standard deviations).
    """
    low, high = sorted_quantiles(reference_sorted, np.array([0.25, 0.75]))
    if high > low:
        return float(high - low), "IQR"
    std = float(np.std(reference_sorted))
    return (std, "std") if std > 0 else None
