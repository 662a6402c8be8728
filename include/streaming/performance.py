"""The realised performance metrics of a batch from its merged :class:`ScoreSummary` (issue 14).

:func:`summary_metrics` returns the :class:`~include.evaluation.metrics.PerformanceMetrics` that
:func:`~include.evaluation.metrics.binary_metrics` computes from the labelled rows in memory,
built by the same code from the summary's counts and sums:

- exactly equal: the confusion matrix and every metric computed from it (precision, recall, F1,
  accuracy, MCC, Hamming loss, cost-matrix gain, positive and predicted positive rates), their
  Wilson intervals, the undefined reasons and the notes;
- equal up to floating-point rounding: the log loss and the calibration loss (their sums are
  added in another order);
- within a bound computed from the summary, returned in :attr:`SummaryMetrics.bounds`: the AUC,
  the ends of its DeLong interval and the top-decile lift. Each bound is certain, not
  probabilistic: ``|value − binary_metrics' value| ≤ bound`` for any order of the rows.

Measured at 100,000 rows (``tests/unit/streaming/test_performance.py``'s batches): the AUC's and
its interval ends' bounds are 3e-6 to 7e-6 for fraud-like and balanced scores and 2e-4 when both
classes' scores share one band 0.05 wide, the actual differences 1e-8 to 2e-6. The lift's bound
is 0 unless the top decile ends inside a bin holding both classes, as with many tied scores.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from include.config import CostMatrix
from include.errors import DataValidationError
from include.evaluation.intervals import Z, hanley_mcneil_variance
from include.evaluation.metrics import (
    LIFT_FRACTION_DENOMINATOR,
    PerformanceMetrics,
    calibration_error,
    performance_metrics,
    undefined_reasons,
)
from include.streaming.scores import AucEstimate, ScoreSummary


class SummaryMetrics(NamedTuple):
    """The metrics, and for those that the bins can only bound, the bound.

    ``bounds`` maps ``auc``, ``auc_ci_low``, ``auc_ci_high`` and ``lift`` (those the batch
    defines) to the largest possible distance between the value in ``metrics`` and the value
    ``binary_metrics`` returns for the same labelled rows.
    """

    metrics: PerformanceMetrics
    bounds: dict[str, float]


def summary_metrics(summary: ScoreSummary, *, cost_matrix: CostMatrix) -> SummaryMetrics:
    """Every performance metric of the summary's labelled rows at its threshold.

    Unlabelled rows are left out, as the in-memory evaluation leaves them out. A summary without
    a labelled row raises :class:`DataValidationError`, as ``binary_metrics`` does for no rows:
    there is no realised performance to report (accuracy, the rates and the calibration loss
    would all be 0/0), and the evaluation records that no row was labelled instead.
    """
    rows = summary.labelled_rows
    if rows == 0:
        raise DataValidationError(
            f"the score summary holds no labelled row ({summary.rows} rows without a label): "
            "realised performance needs labels; evaluate the batch again once labels arrive"
        )
    matrix = summary.confusion()
    undefined = undefined_reasons(matrix)
    bounds: dict[str, float] = {}
    auc = auc_bounds = None
    if "auc" not in undefined:
        estimate = summary.auc()
        auc = estimate.value
        auc_bounds, ends_bound = _auc_interval(summary, estimate)
        bounds |= {"auc": estimate.bound, "auc_ci_low": ends_bound, "auc_ci_high": ends_bound}
    lift = None
    if "lift" not in undefined:
        lift, bounds["lift"] = _top_decile_lift(summary)
    metrics = performance_metrics(
        matrix,
        threshold=summary.threshold,
        cost_matrix=cost_matrix,
        auc=auc,
        auc_bounds=auc_bounds,
        log_loss=None if "log_loss" in undefined else -float(summary.log_likelihood.sum()) / rows,
        lift=lift,
        calibration_loss=calibration_error(
            summary.calibration_scores, summary.calibration_positives, rows
        ),
    )
    return SummaryMetrics(metrics, bounds)


def _auc_interval(summary: ScoreSummary, auc: AucEstimate) -> tuple[tuple[float, float], float]:
    """DeLong's 95 % interval of the AUC with the rows of a bin as tied scores, and the largest
    distance of either end from the interval ``auc_interval`` gives on the rows themselves.

    Each positive's placement (share of negatives ranked below it, ties one half) is off by at
    most half its bin's share of negatives, ``e = neg_bin / 2N``; each negative's likewise. A
    standard deviation is a norm of the deviations from the mean, so it moves by at most the
    norm of those errors: the standard error by at most ``√(Σ pos·e²/(P−1)/P + Σ neg·e'²/(N−1)/N)``.
    An end of the interval, AUC ± Z·SE, moves by at most the AUC's bound plus Z times that.
    With a single row of a class the interval is Hanley and McNeil's, a function of the AUC
    alone whose variance changes by at most ``2(P+N)/(P·N)`` per unit of AUC: its standard
    error by at most ``√(2(P+N)·bound/(P·N))``.
    """
    pos, neg = summary.positives, summary.negatives
    m, n = int(pos.sum()), int(neg.sum())
    if m < 2 or n < 2:
        variance = hanley_mcneil_variance(auc.value, m, n)
        error = math.sqrt(2.0 * (m + n) * auc.bound / (m * n))
    else:
        filled = np.flatnonzero(pos + neg)
        pos, neg = pos[filled].astype(np.float64), neg[filled].astype(np.float64)
        # placements: the other class's rows in lower bins, and half of those in the same bin
        v10 = (np.cumsum(neg) - neg / 2) / n
        v01 = (m - np.cumsum(pos) + pos / 2) / m
        variance = _weighted_variance(v10, pos) / m + _weighted_variance(v01, neg) / n
        error = math.sqrt(
            np.dot(pos, (neg / (2 * n)) ** 2) / (m - 1) / m
            + np.dot(neg, (pos / (2 * m)) ** 2) / (n - 1) / n
        )
    half = Z * math.sqrt(max(variance, 0.0))
    interval = max(0.0, auc.value - half), min(1.0, auc.value + half)
    return interval, auc.bound + Z * error


def _weighted_variance(values: np.ndarray, weights: np.ndarray) -> float:
    """Sample variance (ddof 1) of ``values`` repeated ``weights`` times each."""
    total = weights.sum()
    mean = np.dot(weights, values) / total
    return float(np.dot(weights, (values - mean) ** 2) / (total - 1))


def _top_decile_lift(summary: ScoreSummary) -> tuple[float, float]:
    """The top-decile lift and its bound.

    The ``ceil(n / 10)`` highest scores take every labelled row of the bins above the one where
    the decile ends, and ``k`` rows of that bin. Which ``k`` depends on the scores inside the bin
    (and on row order for ties), which the bins do not keep: they hold between
    ``max(0, k − neg)`` and ``min(k, pos)`` positives. The value counts ``k·pos / (pos + neg)``
    (rows drawn at random from the bin), the bound is the distance to the farther extreme; it is
    0 when the decile ends on a bin's edge or the bin holds one class.
    """
    pos, neg = summary.positives, summary.negatives
    positives, rows = int(pos.sum()), summary.labelled_rows
    top = -(-rows // LIFT_FRACTION_DENOMINATOR)
    from_top = np.cumsum((pos + neg)[::-1])
    cut = summary.bins - 1 - int(np.searchsorted(from_top, top))
    in_bin, positives_in_bin = int(pos[cut] + neg[cut]), int(pos[cut])
    k = top - (int(from_top[summary.bins - 1 - cut]) - in_bin)
    taken = k * positives_in_bin / in_bin
    lowest, highest = max(0, k - int(neg[cut])), min(k, positives_in_bin)
    per_positive = 1.0 / top / (positives / rows)
    lift = ((int(pos[cut + 1 :].sum()) + taken) / top) / (positives / rows)
    return lift, max(taken - lowest, highest - taken) * per_positive
