"""When a feature is flagged "drifted": a change both significant and material (SPEC section 3).

Each feature is tested for two changes: of its distribution (numeric: Kolmogorov–Smirnov on the
finite values; categorical: chi-square on grouped category counts) and of its missing share
(two-proportion test). A change is *significant* when its p-value, adjusted across every test of
the batch, is at most ``alpha``, and *material* when its effect size reaches a threshold that
means the same at every sample size:

- numeric distribution: Wasserstein distance divided by the reference's IQR (std when the IQR is
  0) — how far values moved, in units of the reference's spread;
- categorical distribution: Jensen–Shannon distance (bits, 0…1) over grouped categories;
- missing share: Cohen's h of the two shares.

A p-value alone flags trivial shifts on a million rows; an effect size alone flags chance on a
few dozen. Where a side holds fewer than ``min_rows_for_effect_size`` values the effect size is
mostly noise: the flag rests on significance alone and the record says so (the size compared is
the harmonic mean of the two sides, see :meth:`DriftRule.trusts_effect_size`).

The defaults come from ``benchmarks/drift_flags.py`` (table in ``benchmarks/README.md``): at
every size from 100 to 1,000,000 rows a side they flag at most alpha of undrifted features and,
from 1,000 rows, detect at least 95 % of the small material shifts it plants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from include.drift.stats.corrections import CORRECTIONS, Correction

ALPHA = 0.05
CORRECTION: Correction = "benjamini-hochberg"
"""Benjamini–Hochberg across every test of a batch. Measured (benchmark, table 2; 100-200 runs
a size): without a correction undrifted features are flagged above alpha at 100 and 300 rows
(0.053, 0.065: chi-square on sparse categories runs hot); Holm and BH both stay under it at every
size (at most 0.008 and 0.027), and BH detects more of the planted material shifts below 1,000
rows (0.78 against 0.67 at 300 rows) and as many from 1,000 (0.997 against 0.992)."""
WASSERSTEIN_THRESHOLD = 0.1
"""Wasserstein / reference IQR: 0.1 = a tenth of the IQR (0.135 standard deviations of a normal
distribution). Measured (table 1): at 1,000 rows a side 95 % of undrifted features score under
0.107 and 95 % of the smallest material shifts (location +0.25 sd, scale × 1.5) over 0.139; from
10,000 rows 0.034 or less against 0.17 or more. The tutorial's card_latitude (PSI 0.006, KS
p 0.008 on 20,000 rows) scores 0.03, card_age 0.5."""
JENSEN_SHANNON_THRESHOLD = 0.05
"""Jensen–Shannon distance (bits) over grouped categories. The smallest material shift (four
categories, 12 points moved, PSI 0.07) scores 0.076 at its 5th percentile at 1,000 rows and 0.10
from 10,000; undrifted features 0.031 at the 95th percentile at 10,000 rows (0.113 at 1,000,
where significance does the work). Evidently's 0.1 misses that shift from 10,000 rows on."""
MISSING_THRESHOLD = 0.2
"""Cohen's h, Cohen's "small" change: 0 → 1 % missing, 10 → 14 %, 50 → 60 %. Undrifted missing
shares score under 0.123 at the 95th percentile from 100 rows; the 0 → 5 % rise 0.28 and more."""
MIN_ROWS_FOR_EFFECT_SIZE = 1_000
"""Below this many values a side (harmonic mean of the two sides), chance alone gives effect
sizes above the threshold: the 95th percentile of Wasserstein / IQR on undrifted features is
0.32 at 100 rows, 0.19 at 300 and 0.107 at 1,000 (table 1). Below it the flag rests on the
p-value alone, which flagged at most 0.027 of undrifted features at 100 and 300 rows."""
RARE_CATEGORY_SHARE = 0.005
MAX_CATEGORIES = 50
"""Categories below 0.5 % of the reference rows, or beyond its 50 largest, are grouped into
``(other)`` (unseen ones into ``(new)``) before the chi-square test and the distances."""
PSI_THRESHOLD = 0.2
"""A PSI above this is reported (``psi_drifted``), as the usual reading of "a significant
shift"; it no longer flags a feature by itself."""


@dataclass(frozen=True, kw_only=True)
class DriftRule:
    """The thresholds of the flag; defaults and their reasons in the module docstring."""

    alpha: float = ALPHA
    correction: Correction = CORRECTION
    wasserstein_threshold: float = WASSERSTEIN_THRESHOLD
    jensen_shannon_threshold: float = JENSEN_SHANNON_THRESHOLD
    missing_threshold: float = MISSING_THRESHOLD
    min_rows_for_effect_size: int = MIN_ROWS_FOR_EFFECT_SIZE
    rare_category_share: float = RARE_CATEGORY_SHARE
    max_categories: int = MAX_CATEGORIES
    psi_threshold: float = PSI_THRESHOLD

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must lie between 0 and 1, got {self.alpha}")
        if not self.psi_threshold > 0:
            raise ValueError(f"psi_threshold must be > 0, got {self.psi_threshold}")
        if self.correction not in CORRECTIONS:
            raise ValueError(
                f"unknown correction {self.correction!r}; use one of {', '.join(CORRECTIONS)}"
            )
        for name in ("wasserstein_threshold", "jensen_shannon_threshold", "missing_threshold"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.min_rows_for_effect_size < 0 or self.max_categories < 1:
            raise ValueError("min_rows_for_effect_size must be >= 0 and max_categories >= 1")
        if not 0 <= self.rare_category_share < 1:
            raise ValueError(
                f"rare_category_share must lie in [0, 1), got {self.rare_category_share}"
            )

    @classmethod
    def from_settings(cls, settings: Any) -> DriftRule:
        """The rule of a configuration's ``DriftSettings`` (any object with these attributes)."""
        names = cls.__dataclass_fields__
        return cls(**{name: getattr(settings, name) for name in names if hasattr(settings, name)})

    def trusts_effect_size(self, reference_size: int, current_size: int) -> bool:
        """Whether the two sides hold enough values for an effect size to mean something: their
        harmonic mean ``2·n·m / (n + m)`` reaches ``min_rows_for_effect_size``.

        The chance spread of a two-sample effect size follows ``1/n + 1/m``, so the harmonic mean
        is the size of two equal sides that would be as noisy (how the threshold was measured):
        600 reference rows against 3,000 count as 1,000 a side, 19 against a million as 38.
        """
        if min(reference_size, current_size) <= 0:
            return False
        harmonic = 2 * reference_size * current_size / (reference_size + current_size)
        return harmonic >= self.min_rows_for_effect_size
