"""How the estimates of a model version held up once their periods' labels landed.

An estimate's interval (``estimation.py``, steps 4 and 5) is only as good as the calibration
behind it. Step 5 measures how much the calibration moves between the reference's own months,
but it cannot see a reference that flatters the model: a model calibrated on its own training
rows (a forest scores those rows with a confidence it has nowhere else) looks stable from
inside, and every interval is too narrow by the same amount, month after month.

The labels show it when they land. Each earlier period of the same model version whose labels are
all in is a test of the estimator: its stored estimate ``e_c``, its interval, and now its realised
value ``r_c``. The error ``d_c = r_c - e_c`` has variance ``V_c + τ²``, ``V_c`` the variance the
interval allowed (``(half-width / 1.96)²``, the track-record term that period already carried
taken out) and ``τ²`` what it did not see. The method of moments of step 5 (DerSimonian and
Laird, the mean error known to be zero) over the ``K`` most recent such periods gives
``τ² = max(0, (Σ d_c²/V_c - K) / Σ 1/V_c)``, added to the variance of the next estimates. It is
counted only when the errors are larger than the intervals allow beyond chance (``Σ d_c²/V_c``
above the 95th percentile of a χ² with ``K`` degrees of freedom), and is 0 otherwise, so that a
calibration that holds keeps its intervals rather than seeing them widened by noise; a period
missed by far more than its interval is enough. The estimate itself is unchanged (its error is
the track record's evidence, not something to subtract), only its interval widens to what the
labels showed.

Only periods before the one being estimated count, and only fully labelled ones (realised metrics
from part of a batch are a sample of it, not its value).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from scipy.stats import chi2

from include.evaluation.intervals import Z

METRICS = ("auc", "accuracy", "precision", "recall", "f1")
"""The estimated metrics (as ``estimation.METRICS``, kept here to spare this module numpy)."""

TRACK_SD_SUFFIX = "_track_sd"
"""``estimated_<metric>_track_sd``: the standard deviation the track record added to an interval."""

MAX_PERIODS = 12
"""The most recent labelled periods the track record reads: a calibration that failed a year ago
and was replaced by a new model version does not weigh on it (versions are apart anyway)."""

MIN_LABEL_SHARE = 0.999
"""A period counts once (nearly) all its rows are labelled."""

SIGNIFICANCE = 0.05
"""The errors widen the intervals only when ``Σ d²/V`` is beyond chance at this level (χ² with
``K`` degrees of freedom): one period's error of 1.5 sd is no evidence against its interval."""


@dataclass(frozen=True)
class LandedEstimate:
    """One earlier period: its estimate, the variance its interval allowed, its realised value."""

    period: str
    estimated: float
    variance: float
    realised: float

    @property
    def missed(self) -> bool:
        """Whether the realised value fell outside the 95 % interval."""
        return abs(self.realised - self.estimated) > Z * math.sqrt(self.variance)


@dataclass(frozen=True)
class TrackRecord:
    """Per metric: the extra variance (``τ²``) and the labelled periods it was measured on."""

    variance: Mapping[str, float]
    periods: Mapping[str, tuple[LandedEstimate, ...]]

    def describe(self) -> str | None:
        """A note for the evaluation when any interval was widened, else None."""
        widened = [m for m in METRICS if self.variance.get(m, 0.0) > 0.0]
        if not widened:
            return None
        parts = []
        for metric in widened:
            landed = self.periods[metric]
            missed = sum(1 for period in landed if period.missed)
            parts.append(
                f"{metric} ±{Z * math.sqrt(self.variance[metric]):.3f} "
                f"({missed} of {len(landed)} missed)"
            )
        return (
            "the estimates' intervals are widened by the track record of earlier periods whose "
            "labels landed: their realised values fell further from the estimates than their "
            f"intervals allow, beyond chance: {', '.join(parts)}. The calibration does not hold "
            "as well as the reference suggested (is the reference the model's own training rows?)"
        )


NO_TRACK_RECORD = TrackRecord(variance={}, periods={})


def extra_variance(landed: Iterable[LandedEstimate]) -> float:
    """``τ²``: the variance of the errors beyond what the intervals allowed; 0 when the errors
    are within what chance gives (``Σ d²/V`` below its χ² critical value, see the module
    docstring)."""
    landed = list(landed)
    statistic = sum((p.realised - p.estimated) ** 2 / p.variance for p in landed)
    if not landed or chi2.sf(statistic, len(landed)) >= SIGNIFICANCE:
        return 0.0
    inverse = sum(1.0 / period.variance for period in landed)
    return max(0.0, (statistic - len(landed)) / inverse)


def track_record(landed: Mapping[str, list[LandedEstimate]]) -> TrackRecord:
    """The track record of each metric from its landed periods (the most recent last)."""
    periods = {metric: tuple(items[-MAX_PERIODS:]) for metric, items in landed.items() if items}
    return TrackRecord(
        variance={metric: extra_variance(items) for metric, items in periods.items()},
        periods=periods,
    )


def landed_estimate(
    period: str, metrics: Mapping[str, float], metric: str
) -> LandedEstimate | None:
    """A stored evaluation's estimate of ``metric`` beside its realised value, or None.

    None when either is missing or not finite, or when the interval is clipped on both sides
    (its width then says nothing of the variance).
    """
    key = f"estimated_{metric}"
    names = (key, f"{key}_ci_low", f"{key}_ci_high", metric)
    values = [metrics.get(name) for name in names]
    if any(value is None or not math.isfinite(value) for value in values):
        return None
    estimated, low, high, realised = (float(value) for value in values)
    # The interval is estimate ± half clipped to [0, 1]: the side that was not clipped is whole.
    half = max(estimated - low, high - estimated)
    if (low <= 0.0 and high >= 1.0) or half <= 0.0:
        return None
    track_sd = float(metrics.get(key + TRACK_SD_SUFFIX) or 0.0)
    variance = (half / Z) ** 2 - track_sd**2
    if not math.isfinite(variance) or variance <= 0.0:
        return None
    return LandedEstimate(period, estimated, variance, realised)


class PastEvaluation(Protocol):
    """What the track record reads of a stored evaluation (``mes.records.EvaluationSummary``)."""

    @property
    def name(self) -> str: ...

    @property
    def period_start(self) -> datetime: ...

    @property
    def metrics(self) -> Mapping[str, float]: ...


def from_history(evaluations: Iterable[PastEvaluation], before: date) -> TrackRecord:
    """The track record of the evaluations of periods starting before ``before``.

    ``evaluations`` are one model version's, in period order; a period stored twice (it cannot
    be, one evaluation per version and period) would count twice.
    """
    landed: dict[str, list[LandedEstimate]] = {metric: [] for metric in METRICS}
    for evaluation in evaluations:
        start = evaluation.period_start
        if (start.date() if isinstance(start, datetime) else start) >= before:
            continue
        if float(evaluation.metrics.get("label_share", 0.0) or 0.0) < MIN_LABEL_SHARE:
            continue
        for metric in METRICS:
            found = landed_estimate(evaluation.name, evaluation.metrics, metric)
            if found is not None:
                landed[metric].append(found)
    return track_record(landed)
