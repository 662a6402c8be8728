"""The inputs of every metric: 0/1 labels, probabilities and a threshold, checked once.

Each check raises a :class:`DataValidationError` that says what is wrong and what to do, so a
bad batch is refused before a metric is computed or stored.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from include.errors import DataValidationError


def validated_scores_and_labels(
    y_true: npt.ArrayLike, proba: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Labels as a boolean array and probabilities as float64, or a DataValidationError."""
    y = np.asarray(y_true)
    try:
        p = np.asarray(proba, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataValidationError(
            "predicted probabilities must be numbers between 0 and 1; "
            f"got values of type {np.asarray(proba).dtype}"
        ) from None
    if y.ndim != 1 or p.ndim != 1:
        raise DataValidationError(
            "labels and probabilities must be one-dimensional, one value per row; got shapes "
            f"{y.shape} and {p.shape} (pass only the positive-class column of predict_proba)"
        )
    if y.size != p.size:
        raise DataValidationError(
            f"labels and probabilities differ in length: {y.size} labels, {p.size} probabilities"
        )
    if y.size == 0:
        raise DataValidationError("no rows: labels and probabilities are empty")
    lowest, highest = p.min(), p.max()  # NaN propagates through both
    if math.isnan(lowest) or math.isnan(highest):
        raise DataValidationError(
            f"{int(np.count_nonzero(np.isnan(p)))} predicted probabilities are NaN; "
            "score every row before computing metrics"
        )
    if lowest < 0.0 or highest > 1.0:
        raise DataValidationError(
            f"predicted probabilities must lie in [0, 1]; found values from {lowest:g} to "
            f"{highest:g} (pass probabilities, not decision scores or logits)"
        )
    return zero_one_labels(y), p


def zero_one_labels(y: np.ndarray) -> np.ndarray:
    """0/1 (or boolean) labels as a boolean array; missing or other values are refused."""
    if y.dtype == np.bool_:
        return y
    if y.dtype.kind not in "iuf":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise DataValidationError(
                f"labels must be 0 or 1 (1 = positive class); got values of type {y.dtype} "
                f"such as {y[:3].tolist()}; map the labels to 0/1 first"
            ) from None
    is_one = y == 1
    valid = is_one | (y == 0)
    if not valid.all():
        if y.dtype.kind == "f" and np.isnan(y).any():
            raise DataValidationError(
                f"{int(np.count_nonzero(np.isnan(y)))} labels are missing (NaN); "
                "evaluate only labelled rows"
            )
        wrong = np.unique(y[~valid])
        raise DataValidationError(
            f"labels must be 0 or 1 (1 = positive class); found {int(np.count_nonzero(~valid))} "
            f"other values such as {wrong[:5].tolist()}; map the labels to 0/1 first"
        )
    return is_one


def validated_threshold(threshold: float) -> float:
    """A decision threshold as a float in [0, 1], or a DataValidationError."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise DataValidationError(f"threshold must be a number, got {threshold!r}") from None
    if not 0.0 <= value <= 1.0:
        raise DataValidationError(f"threshold must lie in [0, 1], got {threshold!r}")
    return value
