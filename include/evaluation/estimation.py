"""Performance without labels: estimated from the model's calibrated scores (as NannyML's CBPE).

A batch whose labels have not arrived still has its scores. If a score, once calibrated, is the
probability that the row is positive, the labels are independent Bernoulli draws ``y_i ~ B(p_i)``
and every count of the confusion matrix has a known expectation and variance. So:

1. **Calibrate on the reference** (:func:`fit_calibration`): the labelled rows where the model is
   known (a trained model's held-out test split, an external model's labelled reference). The
   map from score to probability is an isotonic regression (pool-adjacent-violators), NannyML's
   default, *centred* (Oron and Flournoy, 2017): each block of constant rate becomes one knot at
   its rows' mean score, linear between knots, flat beyond the first and the last. NannyML's step
   function ties every score of a block, so its expected AUC counts each pair inside a block as
   a coin toss where the realised AUC ranks it: a downward bias that the knots avoid. Isotonic
   rather than Platt scaling, whatever the reference's size: isotonic assumes only that a higher
   score never means a lower chance of being positive, which every ranking model promises, where
   Platt also assumes a logistic shape that forests and boosted trees seldom have. Its noise on a
   small reference is measured (step 4) and carried into the intervals, where a wrong shape's
   bias would not show: with 300 reference rows the intervals still hold the realised metric in
   96-99 % of synthetic batches. A reference with fewer than ``MIN_REFERENCE_CLASS_ROWS`` of a
   class gets no estimate. Each block's rate is smoothed, ``(positives + 1/2) / (rows + 1)``
   (Krichevsky–Trofimov), and blocks are pooled again where that broke monotonicity: no
   probability is exactly 0 or 1, since a block of 500 negatives does not prove the next row
   negative.

2. **Expected confusion matrix**: with ``p_i`` calibrated and ``ŷ_i = score_i >= threshold``,
   ``E[TP] = Σ p_i ŷ_i``, ``E[FP] = Σ (1 - p_i) ŷ_i``, ``E[FN] = Σ p_i (1 - ŷ_i)``,
   ``E[TN] = Σ (1 - p_i)(1 - ŷ_i)`` — exact for a perfectly calibrated score. Accuracy and
   precision are linear in the labels (precision's denominator, the predicted positives, is known),
   so their estimates are exact expectations; recall and F1 are ratios of expectations.

3. **Expected ROC AUC**: rows sorted by their *original* score (the realised AUC ranks those, and
   calibration's pooled blocks would tie them), ties grouped. The expected number of correctly
   ranked (positive, negative) pairs is ``Σ_j p_j · Σ_{i below j} (1 - p_i)``, half for tied
   pairs; it is divided by the expected number of pairs ``E[P·N] = E[P]·E[N] - Σ p_i(1 - p_i)``.
   This is the trapezoid area of the expected ROC curve, with the self-pairs a row's own tie
   would add left out.

4. **95 % intervals** say where the *realised* metric will fall once the labels land. Two
   independent errors make it up: the labels' own randomness given ``p``, and the calibration's
   error (its rates come from finite reference blocks). Each metric ``M`` is written as a function
   of the labels; its gradient ``g_i = ∂M/∂y_i`` at ``y = p`` is exact for accuracy and precision
   and gives the delta method for recall, F1 and the AUC (the AUC's ``g_i`` is the expected
   negatives ranked below row ``i`` less the expected positives above it, less the AUC times
   ``E[N] - E[P]``, over ``E[P·N]``: DeLong's structural components with labels, not rows, as the
   random part). Then ``Var = Σ g_i² p_i(1 - p_i) + Σ_b (Σ_i g_i w_ib)² r_b(1 - r_b)/m_b``, the
   second sum over the calibration's blocks (rate ``r_b`` from ``m_b`` reference rows, ``w_ib``
   the weight of knot ``b`` in row ``i``'s interpolated probability), treating the blocks as
   independent: slightly conservative (on synthetic truth the squared errors average 0.6-1.0
   times the variance). The interval is ``M ± 1.96·√(Var + τ²)`` clipped to [0, 1], ``τ²`` the
   drift term of step 5 (0 without it). Coverage is
   measured in ``tests/unit/evaluation/test_estimation.py`` (synthetic truth) and
   ``benchmarks/performance_estimation.py`` (the tutorial, the Seattle example, NannyML beside).

5. **The calibration's instability over time**, measured on the reference itself when its rows'
   dates are given. Step 4 assumes that P(label | score) is one fixed curve; where it moves with
   the seasons (the same Seattle temperatures mean more rain in winter), a batch's error has a
   part that no count of reference rows removes: the distance between this period's curve and
   the reference's average one. The reference shows how large that part is, if it spans time: its
   rows are cut by date into chunks (calendar months with at least ``MIN_DRIFT_CHUNK_ROWS`` rows
   when there are ``MIN_DRIFT_CHUNKS`` of them, otherwise up to ``MAX_DRIFT_CHUNKS`` equal runs
   in date order), and each chunk ``c`` is estimated (steps 2-4) with the calibration fitted on
   the *other* chunks, so that the chunk's own labels do not pull its estimate towards them. Its
   error ``d_c`` (realised minus estimated) then has variance ``V_c + τ²``: ``V_c`` the step-4
   variance (its labels and that calibration's error, both independent of the chunk's labels),
   ``τ²`` the between-period variance sought. The method of moments (DerSimonian and Laird, 1986,
   with the mean error known to be zero, since a steady drift away from the reference counts as
   error too): ``E[Σ d_c²/V_c] = K + τ² Σ 1/V_c`` over the ``K`` chunks where the metric is
   defined, so ``τ² = max(0, (Σ d_c²/V_c - K) / Σ 1/V_c)``, per metric (at the model's threshold,
   given when fitting). It is stored in the calibration (``drift``) and added to every estimate's
   variance; ``0`` within noise on a reference whose relation holds still, so such intervals stay
   as step 4 makes them. A calibration stored without it, or fitted without dates or with fewer
   than ``MIN_DRIFT_CHUNKS`` chunks, has none. With a dozen chunks ``τ²`` is itself uncertain (a
   χ² with about K degrees of freedom), and the term sees only the drift *within* the reference's
   span: a reference that is the model's own training rows looks stable from inside, however
   overconfident its scores are elsewhere.

6. **The track record**, measured on the batches once their labels land
   (``include/evaluation/track_record.py``): the same method of moments over the version's
   earlier, fully labelled periods, each one's stored estimate and interval against its realised
   value, gives the variance the intervals missed; :meth:`PerformanceEstimate.widened` adds it.
   This is what sees the overconfident reference of step 5, from the first period it misses.

**When not to trust it** (the metrics are then absent from the estimate, with the reason):

- the reference holds fewer than ``MIN_REFERENCE_CLASS_ROWS`` positives or negatives;
- the calibration is poor on the reference: fitted on four fifths of the reference, it is checked
  on the fifth left out, for each fifth in turn. The held-out rows are cut into bins by score and
  each bin's positives are compared with the calibrated expectation, ``z = (O - E)/sd`` with the
  sd of step 4 (labels and calibration). The calibration is poor when ``Σ z²`` is significant
  (χ², p < ``POOR_CALIBRATION_P_VALUE``) *and* the cross-validated expected calibration error
  (ECE, Σ_bins |O - E| / n) is material (> ``POOR_CALIBRATION_ECE``): a score that is not
  monotone in the label rate, or a relation the reference cannot pin down. Significance alone
  would refuse a million-row reference for a trivial miss; the ECE alone would refuse every small
  reference for its noise. The check cannot see a reference that is the model's own training
  rows, where scores look better than they will be: calibrate on rows the model never learned
  from;
- more than ``OUT_OF_RANGE_LIMIT`` of the batch's scores lie outside the reference's score range,
  where the calibration knows nothing (it stays flat there); rows outside can shift any count by
  at most their share, so 1 % bounds that error at one point of accuracy. The limit adds the
  share that falls outside by chance, 2/(m + 1) for a reference of m rows, and a small batch is
  refused only when its count outside is also more than chance gives (binomial, p < 0.001):
  one extreme day of a 30-day month is 3 % of it, and no shift;
- metric by metric, when the realised value may well be undefined: precision with no predicted
  positive, recall and F1 with fewer than ``MIN_EXPECTED_CLASS_ROWS`` expected positives, the AUC
  with fewer than that of either class.

Like every CBPE, the estimate assumes that the score still means what it meant on the reference
(no concept drift): a batch whose fraud patterns changed while its scores did not is estimated as
if nothing had changed. Only the labels can show that, which is why the realised value is kept
beside the estimate once they land.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import binom

from include.errors import DataValidationError, EmptyBatchError
from include.evaluation.calibration import CALIBRATION_KEY, METRICS, Calibration
from include.evaluation.expected_metrics import (
    MIN_EXPECTED_CLASS_ROWS as MIN_EXPECTED_CLASS_ROWS,  # re-exported: the docstring's limit
)
from include.evaluation.expected_metrics import _moments
from include.evaluation.inputs import validated_scores_and_labels, validated_threshold
from include.evaluation.intervals import Z
from include.evaluation.track_record import TRACK_SD_SUFFIX

MIN_REFERENCE_CLASS_ROWS = 30
"""Fewer reference positives (or negatives) than this: no estimate. Below it the isotonic fit
rests on a handful of blocks and its own cross-validation (five folds) has a few rows a class."""

OUT_OF_RANGE_LIMIT = 0.01
OUT_OF_RANGE_P_VALUE = 0.001
"""Scores outside the reference's range: no estimate when their share exceeds 1 % plus the
share chance puts there, and their count is more than chance gives at this p-value (a month of
30 rows is not refused for one extreme day)."""

POOR_CALIBRATION_P_VALUE = 0.001
POOR_CALIBRATION_ECE = 0.01
"""Poor calibration: cross-validated miss significant at this p-value and larger than this ECE."""


# A version keeps its id (its content's hash) when trained or registered again, so the folder
# must go first for it to be saved again with a calibration.
NO_CALIBRATION = (
    "this model version was saved before score calibrations were kept, so its performance "
    "cannot be estimated without labels: delete its folder under MES_MODELS (make clean, for the "
    "tutorial) and train or register it again"
)


@dataclass(frozen=True)
class PerformanceEstimate:
    """Estimated performance of one unlabelled batch.

    ``values``: ``estimated_<metric>`` with ``estimated_<metric>_ci_low`` / ``_ci_high`` (95 %)
    for each metric of :data:`METRICS` that can be trusted. ``untrusted``: metric (or ``"all"``)
    → why it is not estimated; such metrics are absent from ``values``. ``expected_confusion``:
    the expected counts (floats) behind the estimates, empty when nothing was estimated.
    """

    values: dict[str, float]
    untrusted: dict[str, str]
    expected_confusion: dict[str, float] = field(default_factory=dict)
    # metric → the variance behind its interval (steps 4 and 5)
    variances: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        return dict(self.values)

    def widened(self, extra: Mapping[str, float]) -> PerformanceEstimate:
        """The intervals with ``extra`` variance per metric (``track_record.py``), estimates as
        they were; each estimated metric gets ``estimated_<metric>_track_sd`` (0 without any)."""
        values = dict(self.values)
        for metric, variance in self.variances.items():
            key, added = f"estimated_{metric}", max(extra.get(metric, 0.0), 0.0)
            value, half = values[key], Z * math.sqrt(variance + added)
            values[f"{key}_ci_low"] = max(0.0, value - half)
            values[f"{key}_ci_high"] = min(1.0, value + half)
            values[key + TRACK_SD_SUFFIX] = math.sqrt(added)
        return replace(self, values=values)


def estimate_performance(
    calibration: Calibration,
    scores: npt.ArrayLike,
    threshold: float,
    *,
    predicted: npt.ArrayLike | None = None,
) -> PerformanceEstimate:
    """Estimated AUC, accuracy, precision, recall and F1 of a batch from its scores alone.

    A row is predicted positive when its score is at or above ``threshold``, unless ``predicted``
    gives the classes (0/1, e.g. a predictions source's own column). Raises
    :class:`DataValidationError` for scores that are not probabilities and
    :class:`EmptyBatchError` for an empty batch.
    """
    s = _validated_scores(scores)
    threshold = validated_threshold(threshold)
    given = None if predicted is None else _validated_predicted(predicted, s.size)
    reason = _untrusted_reason(calibration, s)
    if reason:
        return PerformanceEstimate(values={}, untrusted={"all": reason})
    # Every metric is blind to row order: work on the scores sorted, as the AUC needs them.
    if given is None:
        s = np.sort(s)
        flagged = np.zeros(s.size, dtype=bool)
        flagged[np.searchsorted(s, threshold, side="left") :] = True
    else:
        order = np.argsort(s)
        s, flagged = s[order], given[order]
    return _estimate(calibration, s, flagged)


def estimate_for_version(
    metadata: Mapping[str, Any], scores: npt.ArrayLike, *, predicted: npt.ArrayLike | None = None
) -> PerformanceEstimate:
    """:func:`estimate_performance` with a model version's stored calibration and threshold.

    A version saved before calibrations were stored gets no estimate, with the reason
    :data:`NO_CALIBRATION`; a malformed one raises :class:`ModelIntegrityError`.
    """
    stored = metadata.get(CALIBRATION_KEY)
    if stored is None:
        _validated_scores(scores)
        return PerformanceEstimate(values={}, untrusted={"all": NO_CALIBRATION})
    calibration = Calibration.from_dict(stored)
    return estimate_performance(calibration, scores, metadata["threshold"], predicted=predicted)


def _estimate(
    calibration: Calibration,
    s: np.ndarray,
    flagged: np.ndarray,
    weights: np.ndarray | None = None,
) -> PerformanceEstimate:
    """The estimates of a batch whose scores ``s`` come sorted; ``weights``: each score stands
    for that many tied rows (``expected_metrics._moments``), None for one row each."""
    variances, untrusted, confusion = _moments(calibration, s, flagged, weights)
    values: dict[str, float] = {}
    total: dict[str, float] = {}
    for metric in METRICS:
        if metric not in variances:
            continue
        value, var = variances[metric]
        total[metric] = max(var + calibration.drift.get(metric, 0.0), 0.0)
        half = Z * math.sqrt(total[metric])
        values[f"estimated_{metric}"] = value
        values[f"estimated_{metric}_ci_low"] = max(0.0, value - half)
        values[f"estimated_{metric}_ci_high"] = min(1.0, value + half)
    return PerformanceEstimate(
        values=values,
        untrusted={metric: untrusted[metric] for metric in METRICS if metric in untrusted},
        expected_confusion=confusion,
        variances=total,
    )


def _untrusted_reason(calibration: Calibration, s: np.ndarray) -> str | None:
    """Why no metric of this batch can be estimated, or None."""
    low, high = calibration.score_min, calibration.score_max
    outside = int(np.count_nonzero((s < low) | (s > high)))
    return _untrusted_for_counts(calibration, outside, s.size)


def _untrusted_for_counts(calibration: Calibration, outside: int, size: int) -> str | None:
    """:func:`_untrusted_reason` of a batch of ``size`` scores, ``outside`` of them outside the
    reference's score range: all it reads of the scores."""
    rows, positives = calibration.reference_rows, calibration.reference_positives
    for count, kind in ((positives, "positive"), (rows - positives, "negative")):
        if count < MIN_REFERENCE_CLASS_ROWS:
            return (
                f"the reference holds {count} {kind} label(s), fewer than "
                f"{MIN_REFERENCE_CLASS_ROWS}: too few to calibrate the scores; register or train "
                "on a larger labelled reference"
            )
    quality = calibration.quality
    if not quality:
        return "the calibration's quality was not measured on the reference: register/train again"
    if quality["p_value"] < POOR_CALIBRATION_P_VALUE and quality["ece"] > POOR_CALIBRATION_ECE:
        return (
            "the calibration is poor on the reference: on held-out reference rows the calibrated "
            f"scores missed the label rate by {quality['ece']:.3f} on average (cross-validated "
            f"ECE, limit {POOR_CALIBRATION_ECE}), beyond chance (p = {quality['p_value']:.1e}); "
            "the scores do not rank the rows by their chance of being positive well enough"
        )
    low, high = calibration.score_min, calibration.score_max
    # 2/(m + 1): the chance that a row of the reference's own distribution falls outside its range
    chance = 2.0 / (rows + 1)
    limit = OUT_OF_RANGE_LIMIT + chance
    if outside > limit * size and binom.sf(outside - 1, size, chance) < OUT_OF_RANGE_P_VALUE:
        return (
            f"{outside / size:.1%} of the batch's scores ({outside:,} of {size:,}) lie "
            f"outside the reference's score range [{low:.4g}, {high:.4g}] (limit {limit:.1%}): "
            "the calibration knows nothing there; the model's scores have shifted since the "
            "reference"
        )
    return None


def _validated_scores(scores: npt.ArrayLike) -> np.ndarray:
    s = np.asarray(scores)
    if s.ndim == 1 and s.size == 0:
        raise EmptyBatchError("no rows: the batch has no scores to estimate performance from")
    return validated_scores_and_labels(np.zeros(s.shape[0] if s.ndim else 1, dtype=bool), s)[1]


def _validated_predicted(predicted: npt.ArrayLike, rows: int) -> np.ndarray:
    classes = np.asarray(predicted)
    if classes.shape != (rows,):
        raise DataValidationError(
            f"predicted classes have shape {classes.shape}, the scores {rows} rows"
        )
    return validated_scores_and_labels(classes, np.zeros(rows))[0]
