"""Multiple-testing corrections: p-values of many features tested together."""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

Correction = Literal["none", "bonferroni", "holm", "benjamini-hochberg"]
CORRECTIONS: tuple[str, ...] = get_args(Correction)


def adjust_pvalues(pvalues: np.ndarray, method: Correction = "none") -> np.ndarray:
    """p-values adjusted for testing several features at once; a small one still means drift.

    - ``none``: unchanged.
    - ``bonferroni``: ``min(1, p·m)``; controls the chance of flagging any feature by accident
      (family-wise error), conservative when features are many or correlated.
    - ``holm``: Holm's step-down Bonferroni; the same guarantee as ``bonferroni`` and never less
      powerful (equal to ``statsmodels``' ``multipletests(method="holm")``).
    - ``benjamini-hochberg``: equal to ``scipy.stats.false_discovery_control(p, method="bh")``;
      controls the expected share of false alarms among the flagged features.

    Adjusted p-values are never smaller than the raw ones. ``m`` is the number of p-values that
    are not NaN: a NaN (a feature that could not be tested) stays NaN and does not count.
    """
    if method not in CORRECTIONS:
        raise ValueError(f"unknown correction {method!r}; use one of {', '.join(CORRECTIONS)}")
    adjusted = np.array(pvalues, dtype=np.float64).reshape(-1)
    tested = ~np.isnan(adjusted)
    known = adjusted[tested]
    if np.any((known < 0) | (known > 1)):
        raise ValueError("p-values must lie between 0 and 1")
    if method == "bonferroni":
        adjusted[tested] = np.minimum(known * known.size, 1.0)
    elif method == "holm" and known.size > 1:
        adjusted[tested] = _holm(known)
    elif method == "benjamini-hochberg" and known.size > 1:
        adjusted[tested] = _benjamini_hochberg(known)
    return adjusted


def _benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values, computed as scipy does (so results agree to the last bit)."""
    count = pvalues.size
    order = np.argsort(pvalues)
    scaled = pvalues[order] * (count / np.arange(1, count + 1, dtype=np.float64))
    # each adjusted value is the smallest scaled value at its rank or above
    np.minimum.accumulate(scaled[::-1], out=scaled[::-1])
    adjusted = np.empty_like(scaled)
    adjusted[order] = scaled
    return np.clip(adjusted, 0.0, 1.0)


def _holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values: the i-th smallest times ``m − i + 1``, made non-decreasing."""
    count = pvalues.size
    order = np.argsort(pvalues, kind="stable")
    scaled = pvalues[order] * (count - np.arange(count, dtype=np.float64))
    np.maximum.accumulate(scaled, out=scaled)
    adjusted = np.empty_like(scaled)
    adjusted[order] = scaled
    return np.clip(adjusted, 0.0, 1.0)
