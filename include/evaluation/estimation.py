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
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import isotonic_regression
from scipy.stats import binom, chi2, rankdata

from include.errors import DataValidationError, EmptyBatchError, ModelIntegrityError
from include.evaluation.expected_metrics import (
    MIN_EXPECTED_CLASS_ROWS as MIN_EXPECTED_CLASS_ROWS,  # re-exported: the docstring's limit
)
from include.evaluation.expected_metrics import _CalibrationSpread, _moments
from include.evaluation.intervals import Z
from include.evaluation.metrics import _validated, _validated_threshold
from include.evaluation.track_record import TRACK_SD_SUFFIX

METRICS = ("auc", "accuracy", "precision", "recall", "f1")
"""The estimated metrics, stored as ``estimated_<metric>`` with ``_ci_low`` and ``_ci_high``."""

CALIBRATION_KEY = "calibration"
"""The key of a model version's metadata that holds :meth:`Calibration.to_dict`."""

CALIBRATION_FORMAT = 1
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

MIN_DRIFT_CHUNKS = 4
MIN_DRIFT_CHUNK_ROWS = 20
MAX_DRIFT_CHUNKS = 12
"""The reference's time chunks for step 5: at least 4 of at least 20 rows, months or at most 12
equal runs; fewer chunks give no drift term."""

_MIN_VARIANCE = 1e-9
CALIBRATION_FOLDS = 5
_SMOOTHING = 0.5
_FOLD_SEED = 20_170_101

# A version keeps its id (its content's hash) when trained or registered again, so the folder
# must go first for it to be saved again with a calibration.
NO_CALIBRATION = (
    "this model version was saved before score calibrations were kept, so its performance "
    "cannot be estimated without labels: delete its folder under MES_MODELS (make clean, for the "
    "tutorial) and train or register it again"
)


@dataclass(frozen=True, eq=False)
class Calibration:
    """Score → probability of the positive class, fitted on the reference's scores and labels.

    One knot per isotonic block, in score order: block ``b`` holds ``rows[b]`` reference rows of
    which ``positives[b]`` are positive, with mean score ``score[b]``, and maps that score to
    ``probability[b]``; scores between two knots are interpolated linearly, scores beyond the first
    or last knot get its probability. ``score_min`` and ``score_max`` are the reference's score
    range. ``quality`` is the cross-validated check of the module docstring (``chi2``, ``df``,
    ``p_value``, ``ece``); it is empty when the reference is too small to be checked.
    ``drift`` is the between-period variance of each metric's error measured on the reference's
    own time chunks (step 5 of the module docstring): metric → variance ≥ 0, plus ``chunks`` (how
    many chunks the reference gave) and ``threshold`` (the one the chunks were estimated at).
    Empty (no extra variance) when the reference's dates were not given, or gave too few chunks.
    """

    score: np.ndarray
    probability: np.ndarray
    rows: np.ndarray
    positives: np.ndarray
    score_min: float
    score_max: float
    quality: Mapping[str, float] = field(default_factory=dict)
    drift: Mapping[str, float] = field(default_factory=dict)

    @property
    def reference_rows(self) -> int:
        return int(self.rows.sum())

    @property
    def reference_positives(self) -> int:
        return int(self.positives.sum())

    def calibrated(self, scores: npt.ArrayLike) -> np.ndarray:
        """The calibrated probability of each score."""
        return np.interp(np.asarray(scores, dtype=np.float64), self.score, self.probability)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: lists of numbers, for a model version's metadata."""
        return {
            "method": "centred isotonic",
            "format": CALIBRATION_FORMAT,
            "score": self.score.tolist(),
            "probability": self.probability.tolist(),
            "rows": self.rows.tolist(),
            "positives": self.positives.tolist(),
            "score_min": self.score_min,
            "score_max": self.score_max,
            "quality": dict(self.quality),
            "drift": dict(self.drift),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Calibration:
        """The calibration :meth:`to_dict` wrote; :class:`ModelIntegrityError` when malformed."""
        if not isinstance(data, Mapping):
            _malformed(f"it is a {type(data).__name__}, not a mapping")
        if data.get("method") != "centred isotonic" or data.get("format") != CALIBRATION_FORMAT:
            _malformed(
                f"method {data.get('method')!r}, format {data.get('format')!r}: expected "
                f"'centred isotonic', format {CALIBRATION_FORMAT}"
            )
        knots = {name: _numbers(data, name) for name in _KNOT_LISTS}
        if len({values.size for values in knots.values()}) != 1 or knots["score"].size == 0:
            _malformed("its knot lists are empty or of different lengths")
        score, probability = knots["score"], knots["probability"]
        rows, positives = knots["rows"], knots["positives"]
        low, high = (float(_numbers(data, name, single=True)[0]) for name in _RANGE)
        if np.any(np.diff(score) <= 0) or score[0] < low or score[-1] > high:
            _malformed("its knots are not increasing scores within [score_min, score_max]")
        if np.any(probability <= 0) or np.any(probability >= 1) or np.any(np.diff(probability) < 0):
            _malformed("its probabilities are not increasing within (0, 1)")
        counts = np.r_[rows, positives]
        if np.any(counts != np.round(counts)) or np.any(rows < 1) or np.any(positives > rows):
            _malformed("its counts are not whole numbers with 0 <= positives <= rows")
        if np.any(positives < 0):
            _malformed("its counts are not whole numbers with 0 <= positives <= rows")
        quality = data.get("quality", {})
        if not isinstance(quality, Mapping) or not all(
            isinstance(key, str) and _is_number(value) and math.isfinite(value)
            for key, value in quality.items()
        ):
            _malformed("its quality is not a mapping of names to numbers")
        if quality and not set(_QUALITY) <= set(quality):
            _malformed(f"its quality lacks {sorted(set(_QUALITY) - set(quality))}")
        # calibrations stored before the drift term have none: no extra variance
        drift = data.get("drift", {})
        if not isinstance(drift, Mapping) or not all(
            isinstance(key, str) and _is_number(value) and math.isfinite(value) and value >= 0
            for key, value in drift.items()
        ):
            _malformed("its drift is not a mapping of names to numbers >= 0")
        return cls(
            score=_frozen(score),
            probability=_frozen(probability),
            rows=_frozen(rows.astype(np.int64)),
            positives=_frozen(positives.astype(np.int64)),
            score_min=low,
            score_max=high,
            quality={key: float(value) for key, value in quality.items()},
            drift={key: float(value) for key, value in drift.items()},
        )


_KNOT_LISTS = ("score", "probability", "rows", "positives")
_RANGE = ("score_min", "score_max")
_QUALITY = ("folds", "chi2", "df", "p_value", "ece")


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


def fit_calibration(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    times: npt.ArrayLike | None = None,
    threshold: float = 0.5,
) -> Calibration:
    """The isotonic calibration of ``scores`` (probabilities in [0, 1]) on ``labels`` (0/1).

    ``times``, the reference rows' dates (anything ``pandas.to_datetime`` reads: dates, timestamps,
    ISO strings), let the calibration measure its own instability over time (step 5 of the module
    docstring) at ``threshold``, the model's; without them there is no such term.
    Raises :class:`DataValidationError` for input that :func:`binary_metrics` would refuse, and
    for dates that are missing, unreadable or not one per row.
    A reference with a single class still gets a calibration: estimating from it says why not.
    """
    y, s = _validated(labels, scores)
    threshold = _validated_threshold(threshold)
    days = None if times is None else _validated_times(times, s.size)
    order = np.argsort(s)
    s, y = s[order], y[order]
    calibration = replace(_centred_isotonic(s, y), quality=_quality(s, y))
    if days is None:
        return calibration
    return replace(calibration, drift=_drift(s, y, days[order], threshold))


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
    threshold = _validated_threshold(threshold)
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


def _drift(s: np.ndarray, y: np.ndarray, days: np.ndarray, threshold: float) -> dict[str, float]:
    """The between-chunk variance of each metric's error on the reference (step 5).

    ``s`` comes sorted, ``y`` and ``days`` in the same order. Empty when fewer than
    ``MIN_DRIFT_CHUNKS`` chunks can be made.
    """
    chunks = _time_chunks(days)
    if len(chunks) < MIN_DRIFT_CHUNKS:
        return {}
    errors: dict[str, list[tuple[float, float]]] = {metric: [] for metric in METRICS}
    for members in chunks:  # each holds indices into the sorted scores, so stays sorted
        chunk_s, chunk_y = s[members], y[members]
        flagged = chunk_s >= threshold
        others = np.ones(s.size, dtype=bool)
        others[members] = False
        # calibrated on the other chunks: the chunk's labels do not pull its own estimate
        held_out = _centred_isotonic(s[others], y[others])
        moments, _, _ = _moments(held_out, chunk_s, flagged)
        actual = _realised(chunk_s, chunk_y, flagged)
        for metric, (value, variance) in moments.items():
            if metric in actual:
                errors[metric].append((actual[metric] - value, max(variance, _MIN_VARIANCE)))
    drift: dict[str, float] = {"chunks": float(len(chunks)), "threshold": threshold}
    for metric, pairs in errors.items():
        if len(pairs) < MIN_DRIFT_CHUNKS:
            continue
        error, variance = np.array(pairs).T
        weight = 1.0 / variance
        # E[Σ w d²] = K + τ² Σ w when d ~ N(0, V + τ²): the method of moments, as DerSimonian-Laird
        # with the mean error known to be zero (a drift away from the reference counts too)
        excess = float(weight @ error**2) - error.size
        drift[metric] = max(0.0, excess / float(weight.sum()))
    return drift


def _time_chunks(days: np.ndarray) -> list[np.ndarray]:
    """The reference's rows cut by time: calendar months, or equal consecutive runs.

    Months holding at least ``MIN_DRIFT_CHUNK_ROWS`` rows when there are ``MIN_DRIFT_CHUNKS`` of
    them (the rows of thinner months are left out); otherwise the rows in date order cut into
    equal runs of at least that many rows, at most ``MAX_DRIFT_CHUNKS``. Each chunk's indices come
    in increasing order.
    """
    months = days.astype("datetime64[M]")
    _, month_of_row, counts = np.unique(months, return_inverse=True, return_counts=True)
    full = np.flatnonzero(counts >= MIN_DRIFT_CHUNK_ROWS)
    if full.size >= MIN_DRIFT_CHUNKS:
        return [np.flatnonzero(month_of_row == month) for month in full]
    runs = min(MAX_DRIFT_CHUNKS, days.size // MIN_DRIFT_CHUNK_ROWS)
    if runs < MIN_DRIFT_CHUNKS:
        return []
    by_date = np.argsort(days, kind="stable")
    return [np.sort(members) for members in np.array_split(by_date, runs)]


def _realised(s: np.ndarray, y: np.ndarray, flagged: np.ndarray) -> dict[str, float]:
    """The metrics these labels give, those that are defined (AUC by the rank-sum formula)."""
    n, positives, k = s.size, int(y.sum()), int(flagged.sum())
    tp = int(np.count_nonzero(y & flagged))
    tn = int(np.count_nonzero(~y & ~flagged))
    actual = {"accuracy": (tp + tn) / n}
    if k:
        actual["precision"] = tp / k
    if positives:
        actual["recall"] = tp / positives
        actual["f1"] = 2.0 * tp / (positives + k)
    if 0 < positives < n:
        ranks = rankdata(s)
        actual["auc"] = (ranks[y].sum() - positives * (positives + 1) / 2) / (
            positives * (n - positives)
        )
    return actual


def _centred_isotonic(sorted_s: np.ndarray, sorted_y: np.ndarray) -> Calibration:
    """Centred isotonic regression (Oron and Flournoy, 2017) with smoothed rates, no quality.

    Pool-adjacent-violators gives blocks of constant rate; each block becomes one knot at its
    rows' mean score. A step function would tie every score of a block, so the expected AUC would
    count each pair inside a block as a coin toss where the realised AUC ranks them: the knots
    keep the scores' order, which the realised metrics are computed from. The scores come sorted.
    """
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    counts = np.diff(np.r_[starts, sorted_s.size]).astype(np.float64)
    hits = np.add.reduceat(sorted_y.astype(np.float64), starts)
    score_sums = sorted_s[starts] * counts
    cuts = isotonic_regression(hits / counts, weights=counts).blocks[:-1]
    rows, positives = np.add.reduceat(counts, cuts), np.add.reduceat(hits, cuts)
    score_sums = np.add.reduceat(score_sums, cuts)
    # smoothing may break monotonicity between small blocks: pool those again
    weights = rows + 2 * _SMOOTHING
    merged = isotonic_regression((positives + _SMOOTHING) / weights, weights=weights)
    cuts = merged.blocks[:-1]
    rows = np.add.reduceat(rows, cuts)
    return Calibration(
        score=_frozen(np.add.reduceat(score_sums, cuts) / rows),
        probability=_frozen(merged.x[cuts]),
        rows=_frozen(rows.astype(np.int64)),
        positives=_frozen(np.add.reduceat(positives, cuts).astype(np.int64)),
        score_min=float(sorted_s[0]),
        score_max=float(sorted_s[-1]),
    )


def _quality(s: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The cross-validated check of the module docstring; empty for a reference too small.

    ``s`` comes sorted, ``y`` in the same order.
    """
    positives = np.flatnonzero(y)
    negatives = np.flatnonzero(~y)
    if min(positives.size, negatives.size) < CALIBRATION_FOLDS:
        return {}
    rng = np.random.default_rng(_FOLD_SEED)
    fold = np.empty(s.size, dtype=np.intp)
    for members in (positives, negatives):  # stratified: each fold holds both classes
        fold[rng.permutation(members)] = np.arange(members.size) % CALIBRATION_FOLDS
    statistic = absolute_miss = 0.0
    cells = 0
    for k in range(CALIBRATION_FOLDS):
        held = fold == k
        calibration = _centred_isotonic(s[~held], y[~held])
        held_s, held_y = s[held], y[held]
        p = calibration.calibrated(held_s)
        spread = _CalibrationSpread(calibration, held_s)
        bins = int(np.clip(held_s.size // 30, 2, 10))
        for members in np.array_split(np.arange(held_s.size), bins):
            indicator = np.zeros(held_s.size)
            indicator[members] = 1.0
            miss = float(held_y[members].sum() - p[members].sum())
            var = float(p[members] @ (1.0 - p[members])) + spread.variance(indicator)
            statistic += miss * miss / var
            absolute_miss += abs(miss)
            cells += 1
    return {
        "folds": float(CALIBRATION_FOLDS),
        "chi2": statistic,
        "df": float(cells),
        "p_value": float(chi2.sf(statistic, cells)),
        "ece": absolute_miss / s.size,
    }


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
    return _validated(np.zeros(s.shape[0] if s.ndim else 1, dtype=bool), s)[1]


def _validated_times(times: npt.ArrayLike, rows: int) -> np.ndarray:
    """The reference rows' dates as ``datetime64[D]`` (time zones converted to UTC)."""
    values = times if isinstance(times, pd.Series) else pd.Series(list(np.asarray(times)))
    if len(values) != rows:
        raise DataValidationError(
            f"the reference rows' dates number {len(values)}, the scores {rows} rows"
        )
    try:
        stamps = pd.to_datetime(values, utc=True)
    except (TypeError, ValueError) as error:
        raise DataValidationError(
            f"the reference rows' dates cannot be read as dates: {error}"
        ) from None
    if stamps.isna().any():
        raise DataValidationError(
            f"{int(stamps.isna().sum())} reference row(s) have no date: every row needs one"
        )
    return stamps.dt.tz_localize(None).to_numpy().astype("datetime64[D]")


def _validated_predicted(predicted: npt.ArrayLike, rows: int) -> np.ndarray:
    classes = np.asarray(predicted)
    if classes.shape != (rows,):
        raise DataValidationError(
            f"predicted classes have shape {classes.shape}, the scores {rows} rows"
        )
    return _validated(classes, np.zeros(rows))[0]


def _numbers(data: Mapping[str, Any], name: str, *, single: bool = False) -> np.ndarray:
    values = data.get(name)
    if single:
        values = [values]
    if not isinstance(values, list) or not all(_is_number(v) for v in values):
        _malformed(f"{name!r} is not {'a number' if single else 'a list of numbers'}")
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        _malformed(f"{name!r} holds a value that is not finite")
    return array


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _malformed(why: str) -> NoReturn:
    raise ModelIntegrityError(
        f"the model version's stored calibration is malformed ({why}): register/train it again"
    )


def _frozen(values: np.ndarray) -> np.ndarray:
    values = np.ascontiguousarray(values)
    values.setflags(write=False)
    return values
