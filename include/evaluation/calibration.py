"""The score calibration of a model version: score -> probability of the positive class.

Fitted on the reference (steps 1 and 4 of ``estimation``'s docstring: a centred isotonic regression
with smoothed rates, and its cross-validated check), stored in the version's metadata under
``CALIBRATION_KEY`` and read back, validated, whenever a batch's performance is estimated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import isotonic_regression
from scipy.stats import chi2, rankdata

from include.errors import DataValidationError
from include.evaluation.expected_metrics import _CalibrationSpread, _moments
from include.evaluation.inputs import validated_scores_and_labels, validated_threshold
from include.evaluation.stored_calibration import CALIBRATION_FORMAT, read_stored_calibration

CALIBRATION_KEY = "calibration"
"""The key of a model version's metadata that holds :meth:`Calibration.to_dict`."""

CALIBRATION_FOLDS = 5
_SMOOTHING = 0.5
_FOLD_SEED = 20_170_101

METRICS = ("auc", "accuracy", "precision", "recall", "f1")
"""The estimated metrics, stored as ``estimated_<metric>`` with ``_ci_low`` and ``_ci_high``."""

MIN_DRIFT_CHUNKS = 4
MIN_DRIFT_CHUNK_ROWS = 20
MAX_DRIFT_CHUNKS = 12
"""The reference's time chunks for step 5: at least 4 of at least 20 rows, months or at most 12
equal runs; fewer chunks give no drift term."""

_MIN_VARIANCE = 1e-9


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
        stored = read_stored_calibration(data)
        return cls(
            score=_frozen(stored.score),
            probability=_frozen(stored.probability),
            rows=_frozen(stored.rows.astype(np.int64)),
            positives=_frozen(stored.positives.astype(np.int64)),
            score_min=stored.score_min,
            score_max=stored.score_max,
            quality=stored.quality,
            drift=stored.drift,
        )


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
    y, s = validated_scores_and_labels(labels, scores)
    threshold = validated_threshold(threshold)
    days = None if times is None else _validated_times(times, s.size)
    order = np.argsort(s)
    s, y = s[order], y[order]
    calibration = replace(centred_isotonic(s, y), quality=calibration_quality(s, y))
    if days is None:
        return calibration
    return replace(calibration, drift=_drift(s, y, days[order], threshold))


def centred_isotonic(sorted_s: np.ndarray, sorted_y: np.ndarray) -> Calibration:
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


def calibration_quality(s: np.ndarray, y: np.ndarray) -> dict[str, float]:
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
        calibration = centred_isotonic(s[~held], y[~held])
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


def _frozen(values: np.ndarray) -> np.ndarray:
    values = np.ascontiguousarray(values)
    values.setflags(write=False)
    return values


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
        held_out = centred_isotonic(s[others], y[others])
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
