"""The model's scores and labels of a batch, kept as counts per score bin, chunk by chunk.

The bins are a fine grid with the model's threshold as one of its edges, so the confusion matrix at
the threshold is exact (a score equal to the threshold is predicted positive, as
:func:`include.evaluation.metrics.binary_metrics`). The grid overlays two grids: equal-width bins
of ``2^-16`` over [0, 1], and bins of relative width ``2^-10`` of the distance to the nearer end
(0 or 1), read off the bits of the float. The second matters for imbalanced problems (fraud,
churn), where most scores of both classes crowd into the lowest hundredth of the range; the first
covers the middle. Every step of the binning is exact in floating point, so a higher score never
lands in a lower bin. The ROC AUC read from the bins can only mis-rank a positive and a negative
that share a bin, so its error bound is computed from the summary itself.

Beside the bins, the labelled rows' sums that the log loss and the calibration loss need: the
log-likelihood of each class (clipped as the log loss clips it) and, per calibration bin, the sum
of the scores and the number of positives. :mod:`include.streaming.performance` turns a summary
into the realised performance metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple

import numpy as np
import numpy.typing as npt
from pydantic import PlainValidator, model_validator

from include.errors import ConfigurationError, DataValidationError
from include.evaluation.metrics import (
    CALIBRATION_BINS,
    ConfusionMatrix,
    calibration_bins,
    log_likelihoods,
)
from include.streaming import encoding

UNIFORM_BITS = 16
"""Equal-width part of the grid: ``2^16`` bins of width 1.5e-5."""
RELATIVE_BITS = 10
"""Relative part: each binade ``[2^-e, 2^(1-e))`` of the distance to the nearer end is cut into
``2^10`` bins, width 0.1 % of that distance (1e-6 wide at a score of 0.001)."""
_FLOOR_BITS = int(np.float64(2.0**-40).view(np.int64))
_HALF_BITS = int(np.float64(0.5).view(np.int64))
"""Distances below ``2^-40`` share the outermost bins; 0.5 is the largest distance."""

_FORMAT = "mes-score-summary"
_VERSION = 2


class AucEstimate(NamedTuple):
    """The ROC AUC from the bins and the largest possible distance to the exact AUC."""

    value: float
    bound: float


@dataclass(eq=False)
class ScoreSummary:
    """Counts of positives, negatives and unlabelled rows per score bin at one threshold.

    Start from :meth:`empty`, feed chunks to :meth:`update` (in place), combine partitions with
    :meth:`merge` (a new summary; associative and commutative, since it adds counts). The bins
    ``0 … below − 1`` hold scores under the threshold, the others scores at or above it. About
    145,000 bins: 3.5 MB of counts in memory, far less packed (mostly empty bins compress away).

    Of the labelled rows it also keeps ``log_likelihood`` (Σ ln(1 − p) over the negatives, Σ ln p
    over the positives, p clipped to [1e-15, 1 − 1e-15]), ``calibration_scores`` (Σ p per
    calibration bin ``[k/10, (k+1)/10)``) and ``calibration_positives`` (positives per
    calibration bin). Counts merge exactly; these float sums up to rounding (a merge adds two
    floats, so the order of merges can change the last bits).

    The AUC's bound is about ``∫ width(s)·f₊(s)·f₋(s) ds / 2`` (``f`` the densities of the two
    classes' scores). Measured at a million rows: 2e-6 to 4e-5 for separated, overlapping or
    imbalanced classes crowding near 0 or 1; 2e-4 for a model whose scores of both classes fall
    in one band 0.05 wide in the middle (densities of 40), where the equal-width part is all
    there is.
    """

    threshold: float
    uniform_bits: int
    relative_bits: int
    positives: np.ndarray
    negatives: np.ndarray
    unlabelled: np.ndarray
    log_likelihood: np.ndarray
    calibration_scores: np.ndarray
    calibration_positives: np.ndarray

    @classmethod
    def empty(
        cls,
        threshold: float,
        *,
        uniform_bits: int = UNIFORM_BITS,
        relative_bits: int = RELATIVE_BITS,
    ) -> ScoreSummary:
        """A summary of no rows on the grid anchored on ``threshold``."""
        threshold = _checked_threshold(threshold)
        zeros = np.zeros(_bins(uniform_bits, relative_bits), dtype=np.int64)
        return cls(
            threshold,
            uniform_bits,
            relative_bits,
            zeros,
            zeros.copy(),
            zeros.copy(),
            np.zeros(2),
            np.zeros(CALIBRATION_BINS),
            np.zeros(CALIBRATION_BINS, dtype=np.int64),
        )

    @property
    def bins(self) -> int:
        return self.positives.size

    @property
    def below(self) -> int:
        """Number of bins under the threshold: a score ``s < t`` gets a bin ``≤ key(t)``, a score
        ``s ≥ t`` one ``≥ key(t) + 1`` (see :meth:`_bin_index`)."""
        return int(self._key(np.array([self.threshold]))[0]) + 1

    @property
    def rows(self) -> int:
        return self.labelled_rows + int(self.unlabelled.sum())

    @property
    def labelled_rows(self) -> int:
        return int(self.positives.sum() + self.negatives.sum())

    def update(self, scores: npt.ArrayLike, labels: npt.ArrayLike | None = None) -> None:
        """Add a chunk: scores in [0, 1]; labels 0/1, NaN or None for a row without a label
        (``labels=None``: no row has one). DataValidationError for anything else."""
        p = _checked_scores(scores)
        index = self._bin_index(p)
        if labels is None:
            self.unlabelled += np.bincount(index, minlength=self.bins)
            return
        known, positive = _checked_labels(labels, p.size)
        self.positives += np.bincount(index[known & positive], minlength=self.bins)
        self.negatives += np.bincount(index[known & ~positive], minlength=self.bins)
        self.unlabelled += np.bincount(index[~known], minlength=self.bins)
        scored, label = p[known], positive[known]
        likelihoods = log_likelihoods(label, scored)
        self.log_likelihood += (likelihoods[~label].sum(), likelihoods[label].sum())
        calibration = calibration_bins(scored)
        self.calibration_scores += np.bincount(
            calibration, weights=scored, minlength=CALIBRATION_BINS
        )
        self.calibration_positives += np.bincount(calibration[label], minlength=CALIBRATION_BINS)

    def merge(self, other: ScoreSummary) -> ScoreSummary:
        """The summary of both batches; ConfigurationError unless both share threshold and grid."""
        if not isinstance(other, ScoreSummary):
            raise ConfigurationError(f"cannot merge a ScoreSummary with {type(other).__name__}")
        if other._grid != self._grid:
            raise ConfigurationError(
                "cannot merge score summaries of different thresholds or grids "
                f"(threshold, uniform bits, relative bits): {self._grid} and {other._grid}; "
                "summarise every partition with the same model version and grid"
            )
        return ScoreSummary(
            *self._grid,
            self.positives + other.positives,
            self.negatives + other.negatives,
            self.unlabelled + other.unlabelled,
            self.log_likelihood + other.log_likelihood,
            self.calibration_scores + other.calibration_scores,
            self.calibration_positives + other.calibration_positives,
        )

    def confusion(self) -> ConfusionMatrix:
        """The confusion matrix of the labelled rows at the threshold, exactly."""
        below = self.below
        return ConfusionMatrix(
            true_positive=int(self.positives[below:].sum()),
            false_positive=int(self.negatives[below:].sum()),
            true_negative=int(self.negatives[:below].sum()),
            false_negative=int(self.positives[:below].sum()),
        )

    def predicted_positive_rate(self) -> float:
        """Share of all rows, labelled or not, scored at or above the threshold; exact."""
        rows = self.rows
        if rows == 0:
            raise DataValidationError("the score summary holds no rows: summarise a batch first")
        flagged = self.positives[self.below :] + self.negatives[self.below :]
        return float((flagged.sum() + self.unlabelled[self.below :].sum()) / rows)

    def auc(self) -> AucEstimate:
        """ROC AUC of the labelled rows, a positive and a negative sharing a bin counting one
        half, and its bound.

        Bins order scores, so a pair in different bins is ranked as the exact AUC ranks it; a
        pair sharing a bin counts 1/2 where the exact AUC counts 0, 1/2 or 1. Hence
        ``|value − exact| ≤ bound = Σ_bins pos·neg / (2·P·N)``, a certain bound, not a
        probabilistic one. Undefined (DataValidationError) without both classes, as in
        ``binary_metrics``.
        """
        total_positives, total_negatives = int(self.positives.sum()), int(self.negatives.sum())
        if total_positives == 0 or total_negatives == 0:
            missing = "positive" if total_positives == 0 else "negative"
            raise DataValidationError(f"the AUC is undefined: no labelled {missing} in the batch")
        negatives_below = np.cumsum(self.negatives) - self.negatives
        shared = int(np.dot(self.positives, self.negatives))
        twice_area = 2 * int(np.dot(self.positives, negatives_below)) + shared
        pairs = 2.0 * total_positives * total_negatives
        return AucEstimate(twice_area / pairs, shared / pairs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe document; :meth:`from_dict` reads it back."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "threshold": self.threshold,
            "uniform_bits": self.uniform_bits,
            "relative_bits": self.relative_bits,
            "positives": encoding.pack_counts(self.positives),
            "negatives": encoding.pack_counts(self.negatives),
            "unlabelled": encoding.pack_counts(self.unlabelled),
            "log_likelihood": self.log_likelihood.tolist(),
            "calibration_scores": self.calibration_scores.tolist(),
            "calibration_positives": self.calibration_positives.tolist(),
        }

    @classmethod
    def from_dict(cls, document: Any) -> ScoreSummary:
        """The summary :meth:`to_dict` wrote; DataValidationError saying what is malformed."""
        entry = encoding.read(_ScoreDocument, document, _FORMAT, _VERSION)
        return cls(**dict(entry))  # the document's entries are the summary's fields

    @property
    def _grid(self) -> tuple[float, int, int]:
        return self.threshold, self.uniform_bits, self.relative_bits

    def _bin_index(self, p: np.ndarray) -> np.ndarray:
        """Each score's bin: :meth:`_key`, plus one at or above the threshold. Both terms are
        non-decreasing in the score, so the bins keep the scores' order and the threshold is
        an edge."""
        return self._key(p) + (p >= self.threshold)

    def _key(self, p: np.ndarray) -> np.ndarray:
        """The sum of the two grids' indices (each non-decreasing in the score, exactly):
        ``floor(p·2^u)`` (a power-of-two product is exact), and the binade-and-leading-bits
        index of the distance to the nearer end, whose float bits order like its value (``1 − p``
        is exact for ``p ≥ 0.5``), counted up below 0.5 and down above it."""
        uniform = np.floor(p * 2.0**self.uniform_bits).astype(np.int64)
        shift = 52 - self.relative_bits
        half = (_HALF_BITS - _FLOOR_BITS) >> shift
        distance = np.minimum(p, 1.0 - p).view(np.int64)
        relative = (np.clip(distance, _FLOOR_BITS, _HALF_BITS) - _FLOOR_BITS) >> shift
        return uniform + np.where(p < 0.5, relative, 2 * half - relative)


def _numbers(size: int, *, counts: bool = False) -> PlainValidator:
    """A list of ``size`` finite numbers (or counts), as an array."""
    read = encoding.as_count if counts else encoding.as_number

    def check(values: Any) -> np.ndarray:
        if not isinstance(values, list) or len(values) != size:
            raise ValueError(f"must be a list of {size} numbers")
        return np.array([read(value) for value in values], dtype=np.int64 if counts else np.float64)

    return PlainValidator(check)


class _ScoreDocument(encoding.Document):
    """What :meth:`ScoreSummary.to_dict` writes, in the order of the summary's fields: the
    bins of the grid the threshold and bits give, and sums that :meth:`ScoreSummary.update`
    can have added up for those bins' counts."""

    threshold: encoding.Number
    uniform_bits: encoding.Count
    relative_bits: encoding.Count
    positives: encoding.PackedCounts
    negatives: encoding.PackedCounts
    unlabelled: encoding.PackedCounts
    log_likelihood: Annotated[np.ndarray, _numbers(2)]
    calibration_scores: Annotated[np.ndarray, _numbers(CALIBRATION_BINS)]
    calibration_positives: Annotated[np.ndarray, _numbers(CALIBRATION_BINS, counts=True)]

    @model_validator(mode="after")
    def _agrees(self) -> _ScoreDocument:
        try:
            _checked_threshold(self.threshold)
            bins = _bins(self.uniform_bits, self.relative_bits)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None
        for part in ("positives", "negatives", "unlabelled"):
            if getattr(self, part).size != bins:
                raise ValueError(f"{part}: expected {bins} counts, got {getattr(self, part).size}")
        if np.any(self.log_likelihood > 0.0):
            raise ValueError("a log-likelihood sum is positive")
        if np.any(self.calibration_scores < 0.0):
            raise ValueError("a calibration bin's sum of scores is negative")
        if self.calibration_positives.sum() != self.positives.sum():
            raise ValueError(
                f"the calibration bins hold {self.calibration_positives.sum()} positives, the "
                f"score bins {self.positives.sum()}"
            )
        return self


def _bins(uniform_bits: Any, relative_bits: Any) -> int:
    """The number of bins of the grid; ConfigurationError unless both are ints from 1 to 20."""
    for name, bits in (("uniform_bits", uniform_bits), ("relative_bits", relative_bits)):
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 20:
            raise ConfigurationError(f"{name} must be an int from 1 to 20, got {bits!r}")
    half = (_HALF_BITS - _FLOOR_BITS) >> (52 - relative_bits)
    return 2**uniform_bits + 2 * half + 2


def _checked_threshold(threshold: Any) -> float:
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise ConfigurationError(f"threshold must be a number, got {threshold!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"threshold must lie in [0, 1], got {threshold!r}")
    return value


def _checked_scores(scores: npt.ArrayLike) -> np.ndarray:
    try:
        p = np.asarray(scores, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DataValidationError(
            "scores must be probabilities between 0 and 1; got values that are not numbers"
        ) from None
    if p.size and not (np.all(p >= 0.0) and np.all(p <= 1.0)):  # NaN fails both
        bad = p[~((p >= 0.0) & (p <= 1.0))]
        raise DataValidationError(
            f"{bad.size} scores are NaN or outside [0, 1], such as {bad[:3].tolist()}; pass "
            "probabilities of the positive class for every row"
        )
    return p


def _checked_labels(labels: npt.ArrayLike, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(row has a label, label is 1) from 0/1 labels where NaN or None means no label."""
    try:
        y = np.asarray(labels, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DataValidationError(
            "labels must be 0, 1 or missing; got values that are not numbers: map them to 0/1"
        ) from None
    if y.size != size:
        raise DataValidationError(f"{size} scores but {y.size} labels: pass one label per row")
    known = ~np.isnan(y)
    positive = y == 1.0
    wrong = known & ~positive & (y != 0.0)
    if np.any(wrong):
        raise DataValidationError(
            f"labels must be 0, 1 or missing; found {int(wrong.sum())} other values such as "
            f"{np.unique(y[wrong])[:3].tolist()}: map the labels to 0/1 first"
        )
    return known, positive
