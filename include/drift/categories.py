"""Category counts grouped for the drift statistics: rare reference categories into ``(other)``,
categories the reference never saw into ``(new)``.

Without grouping, a feature with 50,000 categories of 0.002 % each keeps every share under the
PSI's empty-bin floor and spreads a chi-square test over 50,000 degrees of freedom: a batch whose
values are 90 % unseen looks stable. Grouped, the same batch is 90 % ``(new)`` against 0 %: its
drift is plain. The missing category is never grouped (its change is drift of its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from include.drift.columns import MISSING_CATEGORY

OTHER = "(other)"
"""Reference categories below the rare share or beyond the largest ``max_categories``."""
NEW = "(new)"
"""Categories of the current batch that the reference does not hold."""


@dataclass(frozen=True, eq=False)
class GroupedCounts:
    """Counts per group on each side, groups in the same order (kept categories by reference
    count, then ``(missing)``, ``(other)``, ``(new)`` when present)."""

    labels: tuple[str, ...]
    reference: np.ndarray
    current: np.ndarray


def group_categories(
    reference_counts: Mapping[str, int],
    current_counts: Mapping[str, int],
    *,
    rare_share: float,
    max_categories: int,
) -> GroupedCounts:
    """Group both sides' counts: keep the reference categories holding at least ``rare_share``
    of the reference rows, at most ``max_categories`` of them (largest first); the other
    reference categories become ``(other)`` and unseen ones ``(new)`` on both sides."""
    total = sum(reference_counts.values())
    ranked = sorted(
        (c for c in reference_counts if c != MISSING_CATEGORY),
        key=lambda c: (-reference_counts[c], c),
    )
    kept = [c for c in ranked if reference_counts[c] >= rare_share * total][:max_categories]
    kept_set = set(kept)
    groups = {c: [reference_counts[c], current_counts.get(c, 0)] for c in kept}
    groups[MISSING_CATEGORY] = [
        reference_counts.get(MISSING_CATEGORY, 0),
        current_counts.get(MISSING_CATEGORY, 0),
    ]
    other = [0, 0]
    new = [0, 0]
    for category, count in reference_counts.items():
        if category != MISSING_CATEGORY and category not in kept_set:
            other[0] += count
    for category, count in current_counts.items():
        if category == MISSING_CATEGORY or category in kept_set:
            continue
        if category in reference_counts:
            other[1] += count
        else:
            new[1] += count
    groups[OTHER], groups[NEW] = other, new
    labels = tuple(label for label, (ref, cur) in groups.items() if ref + cur > 0)
    return GroupedCounts(
        labels=labels,
        reference=np.array([groups[label][0] for label in labels], dtype=np.int64),
        current=np.array([groups[label][1] for label in labels], dtype=np.int64),
    )
