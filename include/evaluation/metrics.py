"""Performance metrics of a binary classifier on one labelled batch.

Every metric of an evaluation (SPEC section 3) comes from one validation of the inputs and one
sort of the scores, so that a batch of a million rows is scored in a fraction of a second. The
definitions follow scikit-learn where scikit-learn has one; the others (cost-matrix gain, lift,
calibration loss) are stated in :class:`PerformanceMetrics`.

Labels are 0/1 with 1 the positive class (the caller maps its own labels first); ``proba`` is the
predicted probability of the positive class, and a row is predicted positive when
``proba >= threshold``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import numpy.typing as npt

from include.config import CostMatrix
from include.errors import DataValidationError
from include.evaluation.inputs import validated_scores_and_labels, validated_threshold
from include.evaluation.intervals import auc_interval, wilson_interval

LOG_LOSS_EPSILON = 1e-15
"""Probabilities are clipped to ``[eps, 1 - eps]`` before the logarithm of the log loss."""

LIFT_FRACTION_DENOMINATOR = 10
"""The lift is read on the top ``ceil(n / 10)`` scores: the first decile."""

CALIBRATION_BINS = 10
"""Equal-width probability bins of the calibration loss."""

FEW_FOR_AUC = 2
"""An AUC measured on this many positives (or negatives) or fewer comes with a warning note."""

NO_POSITIVE = "no positive in the batch"
NO_NEGATIVE = "no negative in the batch"
NO_PREDICTED_POSITIVE = "no predicted positive in the batch"
NO_PREDICTED_NEGATIVE = "no predicted negative in the batch"

INTERVAL_METRICS = ("auc", "accuracy", "precision", "recall")
"""Metrics stored with their 95 % interval, as ``<metric>_ci_low`` and ``<metric>_ci_high``."""


def undefined_text(reason: str) -> str:
    """How an undefined metric is shown: ``undefined (no positive in the batch)``."""
    return f"undefined ({reason})"


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of the four outcomes at the threshold (rows, not shares)."""

    true_positive: int
    false_positive: int
    true_negative: int
    false_negative: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class PerformanceMetrics:
    """Every performance metric of one evaluation. ↑ = higher is better, ↓ = lower is better.

    A metric that the batch cannot define is None, never a made-up 0.0 or NaN, and
    ``undefined`` says why (metric → reason, e.g. ``"recall": "no positive in the batch"``):

    - ``precision`` ↑: tp / (tp + fp); undefined with no predicted positive.
    - ``recall`` ↑: tp / (tp + fn); undefined with no actual positive.
    - ``f1`` ↑: 2·tp / (2·tp + fp + fn), the harmonic mean of precision and recall; undefined with
      no actual positive (recall is); 0 when positives exist but none is predicted.
    - ``accuracy`` ↑: (tp + tn) / n.
    - ``mcc`` ↑ (−1 … 1): Matthews correlation coefficient
      (tp·tn − fp·fn) / √((tp+fp)(tp+fn)(tn+fp)(tn+fn)); undefined when a factor is 0: no actual
      positive, no actual negative, no predicted positive or no predicted negative.
    - ``hamming_loss`` ↓: share of misclassified rows, (fp + fn) / n = 1 − accuracy.
    - ``cost_matrix_gain`` ↑: mean gain per row,
      (tp·g_tp + tn·g_tn + fp·g_fp + fn·g_fn) / n with the gains of the :class:`CostMatrix`.
    - ``auc`` ↑ (0.5 = random): area under the ROC curve, tied scores counting one half
      (Mann–Whitney); undefined with one class. From ``FEW_FOR_AUC`` positives (or negatives)
      or fewer it comes with a warning in ``notes``.
    - ``log_loss`` ↓: mean of −[y·ln p + (1 − y)·ln(1 − p)], p clipped to [1e-15, 1 − 1e-15];
      undefined with one class (as in scikit-learn: it rewards nothing but confidence then).
    - ``lift`` ↑ (1 = random): cumulative lift of the top decile — the positive rate among the
      ``ceil(n / 10)`` highest scores (ties at the cut broken by row order) divided by the overall
      positive rate; undefined with no actual positive.
    - ``calibration_loss`` ↓: expected calibration error over 10 equal-width probability bins
      ``[k/10, (k+1)/10)`` (the last one closed), Σ (n_bin / n)·|mean(p in bin) − mean(y in bin)|.

    ``positive_rate`` is the share of actual positives (the label share) and
    ``predicted_positive_rate`` the share predicted positive at ``threshold``.

    95 % intervals (``<metric>_ci_low``, ``<metric>_ci_high``) of accuracy, precision and recall
    are Wilson score intervals, that of the AUC DeLong's (see ``include.evaluation.intervals``);
    an undefined metric has none.
    """

    precision: float | None
    recall: float | None
    f1: float | None
    accuracy: float
    mcc: float | None
    hamming_loss: float
    cost_matrix_gain: float
    auc: float | None
    log_loss: float | None
    lift: float | None
    calibration_loss: float
    threshold: float
    positive_rate: float
    predicted_positive_rate: float
    confusion_matrix: ConfusionMatrix
    auc_ci_low: float | None = None
    auc_ci_high: float | None = None
    accuracy_ci_low: float | None = None
    accuracy_ci_high: float | None = None
    precision_ci_low: float | None = None
    precision_ci_high: float | None = None
    recall_ci_low: float | None = None
    recall_ci_high: float | None = None
    undefined: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        """Metric name → value, for every metric the batch defines (undefined ones are absent)."""
        values = asdict(self)
        for key in ("confusion_matrix", "undefined", "notes"):
            del values[key]
        return {name: float(value) for name, value in values.items() if value is not None}


def binary_metrics(
    y_true: npt.ArrayLike,
    proba: npt.ArrayLike,
    *,
    threshold: float,
    cost_matrix: CostMatrix,
) -> PerformanceMetrics:
    """All performance metrics of ``proba`` against the 0/1 labels ``y_true`` at ``threshold``.

    Raises :class:`DataValidationError` when the inputs are empty, of different lengths, when a
    label is not 0/1, a probability is outside [0, 1] or NaN, or the threshold is not in [0, 1].
    """
    y, p = validated_scores_and_labels(y_true, proba)
    threshold = validated_threshold(threshold)
    positives = int(np.count_nonzero(y))
    predicted = p >= threshold
    tp = int(np.count_nonzero(predicted & y))
    fp = int(np.count_nonzero(predicted)) - tp
    matrix = ConfusionMatrix(
        true_positive=tp,
        false_positive=fp,
        true_negative=y.size - positives - fp,
        false_negative=positives - tp,
    )
    undefined = undefined_reasons(matrix)
    auc = None if "auc" in undefined else _roc_auc(y, p, positives)
    return performance_metrics(
        matrix,
        threshold=threshold,
        cost_matrix=cost_matrix,
        auc=auc,
        auc_bounds=None if auc is None else auc_interval(y, p, auc),
        log_loss=None if "log_loss" in undefined else _log_loss(y, p),
        lift=None if "lift" in undefined else _top_decile_lift(y, p, positives),
        calibration_loss=_calibration_loss(y, p),
    )


def performance_metrics(
    matrix: ConfusionMatrix,
    *,
    threshold: float,
    cost_matrix: CostMatrix,
    auc: float | None,
    auc_bounds: tuple[float, float] | None,
    log_loss: float | None,
    lift: float | None,
    calibration_loss: float,
) -> PerformanceMetrics:
    """The metrics of a batch from its confusion matrix and the metrics that need the scores.

    Everything the confusion matrix defines (precision … cost-matrix gain, the rates, the Wilson
    intervals, the undefined reasons and the AUC's note) is computed here, so that every path
    that counts the same matrix (in memory, or merged from streaming summaries) reports the same
    numbers. The caller passes the AUC, its interval, log loss and lift as None exactly where
    :func:`undefined_reasons` says they are undefined.
    """
    tp, fp = matrix.true_positive, matrix.false_positive
    tn, fn = matrix.true_negative, matrix.false_negative
    positives, negatives = tp + fn, tn + fp
    n = positives + negatives
    gain = (
        tp * cost_matrix.true_positive
        + tn * cost_matrix.true_negative
        + fp * cost_matrix.false_positive
        + fn * cost_matrix.false_negative
    ) / n
    undefined = undefined_reasons(matrix)
    intervals = {
        "accuracy": wilson_interval(tp + tn, n),
        "precision": wilson_interval(tp, tp + fp),
        "recall": wilson_interval(tp, tp + fn),
        "auc": auc_bounds,
    }
    return PerformanceMetrics(
        precision=tp / (tp + fp) if tp + fp else None,
        recall=tp / positives if positives else None,
        f1=2 * tp / (2 * tp + fp + fn) if positives else None,
        accuracy=(tp + tn) / n,
        mcc=None if "mcc" in undefined else _matthews(tp, fp, tn, fn),
        hamming_loss=(fp + fn) / n,
        cost_matrix_gain=float(gain),
        auc=auc,
        log_loss=log_loss,
        lift=lift,
        calibration_loss=calibration_loss,
        threshold=threshold,
        positive_rate=positives / n,
        predicted_positive_rate=(tp + fp) / n,
        confusion_matrix=matrix,
        **{
            f"{name}_ci_{side}": bounds[index]
            for name, bounds in intervals.items()
            if bounds is not None
            for index, side in enumerate(("low", "high"))
        },
        undefined=undefined,
        notes=_auc_notes(positives, negatives) if auc is not None else {},
    )


def undefined_reasons(matrix: ConfusionMatrix) -> dict[str, str]:
    """Metric → why a batch with this confusion matrix cannot define it, for those it cannot."""
    positives = matrix.true_positive + matrix.false_negative
    negatives = matrix.true_negative + matrix.false_positive
    predicted_positives = matrix.true_positive + matrix.false_positive
    reasons: dict[str, str] = {}
    if predicted_positives == 0:
        reasons["precision"] = NO_PREDICTED_POSITIVE
    one_class = NO_POSITIVE if positives == 0 else NO_NEGATIVE if negatives == 0 else None
    if positives == 0:
        reasons |= dict.fromkeys(("recall", "f1", "lift"), NO_POSITIVE)
    if one_class:
        reasons |= dict.fromkeys(("auc", "log_loss", "mcc"), one_class)
    elif predicted_positives == 0:
        reasons["mcc"] = NO_PREDICTED_POSITIVE
    elif predicted_positives == positives + negatives:
        reasons["mcc"] = NO_PREDICTED_NEGATIVE
    return dict(sorted(reasons.items(), key=lambda item: _ORDER.index(item[0])))


_ORDER = ("precision", "recall", "f1", "mcc", "auc", "log_loss", "lift")


def _auc_notes(positives: int, negatives: int) -> dict[str, str]:
    """A warning when the AUC rests on a handful of rows of one class."""
    fewest, kind = min((positives, "positive"), (negatives, "negative"))
    if fewest > FEW_FOR_AUC:
        return {}
    rows = f"{fewest} {kind}" + ("s" if fewest > 1 else "")
    return {
        "auc": f"AUC from {rows} only: it ranks {'that row' if fewest == 1 else 'those rows'} "
        "against the other class and can swing widely from one batch to the next (see its "
        "interval)"
    }


def choose_threshold(y_true: npt.ArrayLike, proba: npt.ArrayLike) -> float:
    """The threshold maximising F1, chosen among the distinct scores (used at training time).

    Predicting positive when ``proba >= threshold``; when several thresholds reach the same F1,
    the highest (fewest rows flagged) wins. Raises :class:`DataValidationError` when there is no
    positive label, since every threshold then has F1 = 0.
    """
    y, p = validated_scores_and_labels(y_true, proba)
    positives = int(np.count_nonzero(y))
    if positives == 0:
        raise DataValidationError(
            "cannot choose a threshold: no row has the positive label (1); "
            "the split used to choose it must contain positives"
        )
    scores, true_positives, flagged = _cumulative_counts_by_score(y, p)
    f1 = 2.0 * true_positives / (positives + flagged)
    # argmax returns the first maximum: scores run from high to low, so the highest threshold.
    return float(scores[int(np.argmax(f1))])


def _cumulative_counts_by_score(
    y: np.ndarray, p: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each distinct score s, from high to low: s, #positives with p >= s, #rows with p >= s."""
    order = np.argsort(p)[::-1]
    sorted_scores = p[order]
    cumulative_positives = np.cumsum(y[order], dtype=np.int64)
    # last index of each run of equal scores
    ends = np.flatnonzero(np.diff(sorted_scores))
    ends = np.append(ends, sorted_scores.size - 1)
    return sorted_scores[ends], cumulative_positives[ends], ends + 1


def _roc_auc(y: np.ndarray, p: np.ndarray, positives: int) -> float:
    negatives = y.size - positives
    _, tps, flagged = _cumulative_counts_by_score(y, p)
    fps = flagged - tps
    # trapezoids between consecutive ROC points, in integer units of (1 / positives·negatives)
    tps = np.concatenate(([0], tps))
    fps = np.concatenate(([0], fps))
    twice_area = np.sum(np.diff(fps) * (tps[1:] + tps[:-1]))
    return float(twice_area / (2.0 * positives * negatives))


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    return float(-np.mean(log_likelihoods(y, p)))


def log_likelihoods(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each row's ln p (positive) or ln(1 − p) (negative), p clipped as the log loss clips it."""
    likelihood = np.where(y, p, 1.0 - p)
    np.clip(likelihood, LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON, out=likelihood)
    return np.log(likelihood)


def _top_decile_lift(y: np.ndarray, p: np.ndarray, positives: int) -> float:
    n = y.size
    top = -(-n // LIFT_FRACTION_DENOMINATOR)  # ceil(n / 10) without floating-point error
    cut = np.partition(p, n - top)[n - top]  # the top-th highest score
    above = p > cut
    taken_above = int(np.count_nonzero(above))
    positives_above = int(np.count_nonzero(y & above))
    # rows tied at the cut enter in row order until the decile is full
    tied = np.flatnonzero(p == cut)[: top - taken_above]
    positives_top = positives_above + int(np.count_nonzero(y[tied]))
    return (positives_top / top) / (positives / n)


def _calibration_loss(y: np.ndarray, p: np.ndarray) -> float:
    bins = calibration_bins(p)
    predicted = np.bincount(bins, weights=p, minlength=CALIBRATION_BINS)
    observed = np.bincount(bins, weights=y, minlength=CALIBRATION_BINS)
    return calibration_error(predicted, observed, y.size)


def calibration_bins(p: np.ndarray) -> np.ndarray:
    """Each probability's calibration bin ``[k/10, (k+1)/10)``, 1.0 in the last one."""
    return np.minimum((p * CALIBRATION_BINS).astype(np.intp), CALIBRATION_BINS - 1)


def calibration_error(predicted: np.ndarray, observed: np.ndarray, rows: int) -> float:
    """The calibration loss from the sums of p and of y per calibration bin, over ``rows``."""
    # (n_bin / n)·|mean p − mean y| = |Σ p − Σ y| / n within each bin
    return float(np.sum(np.abs(predicted - observed)) / rows)


def _matthews(tp: int, fp: int, tn: int, fn: int) -> float:
    denominator = float(tp + fp) * float(tp + fn) * float(tn + fp) * float(tn + fn)
    return (float(tp) * tn - float(fp) * fn) / math.sqrt(denominator)
