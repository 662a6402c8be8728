"""The stored form of a score calibration, validated when a model version's metadata is read.

:class:`StoredCalibration` is the pydantic model of what ``Calibration.to_dict`` writes into a
model version's metadata: knot lists of equal length (increasing scores within the reference's
score range, increasing probabilities in (0, 1), whole counts with ``0 <= positives <= rows``),
finite numbers throughout, and the quality check's entries when there is one.
:func:`read_stored_calibration` validates a stored calibration and raises
:class:`ModelIntegrityError` saying what is malformed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal, NoReturn

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from include.errors import ModelIntegrityError

CALIBRATION_FORMAT = 1


def read_stored_calibration(data: Any) -> StoredCalibration:
    """``data`` validated as a :class:`StoredCalibration`; ModelIntegrityError when malformed."""
    try:
        return StoredCalibration.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        cause = error.get("ctx", {}).get("error")
        place = ".".join(map(str, error["loc"]))
        _malformed(str(cause) if cause else f"{place}: {error['msg']}")


def _knots(values: Any, info: ValidationInfo) -> np.ndarray:
    if not isinstance(values, list) or not all(_is_number(v) for v in values):
        raise ValueError(f"{info.field_name!r} is not a list of numbers")
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{info.field_name!r} holds a value that is not finite")
    return array


def _bound(value: Any, info: ValidationInfo) -> float:
    if not _is_number(value):
        raise ValueError(f"{info.field_name!r} is not a number")
    if not math.isfinite(value):
        raise ValueError(f"{info.field_name!r} holds a value that is not finite")
    return float(value)


def _named_numbers(problem: str, *, minimum: float = -math.inf) -> PlainValidator:
    """A mapping of names to finite numbers of at least ``minimum``, else ``problem``."""

    def check(value: Any) -> dict[str, float]:
        if not isinstance(value, Mapping) or not all(
            isinstance(key, str) and _is_number(number) and minimum <= number < math.inf
            for key, number in value.items()
        ):
            raise ValueError(problem)
        return {key: float(number) for key, number in value.items()}

    return PlainValidator(check)


Knots = Annotated[np.ndarray, PlainValidator(_knots)]


class StoredCalibration(BaseModel):
    """What :meth:`Calibration.to_dict` writes, as stored in a model version's metadata.

    Every entry is required but ``quality`` and ``drift`` (calibrations stored before the drift
    term have none: no extra variance).
    """

    # the knot lists and bounds default to None so that a missing one is validated, and refused,
    # with the message of one that is not a list or a number
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, validate_default=True)

    method: Literal["centred isotonic"]
    format: Literal[1]
    score: Knots = None
    probability: Knots = None
    rows: Knots = None
    positives: Knots = None
    score_min: Annotated[float, PlainValidator(_bound)] = None
    score_max: Annotated[float, PlainValidator(_bound)] = None
    quality: Annotated[
        dict[str, float], _named_numbers("its quality is not a mapping of names to numbers")
    ] = Field(default_factory=dict)
    drift: Annotated[
        dict[str, float],
        _named_numbers("its drift is not a mapping of names to numbers >= 0", minimum=0.0),
    ] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _method_and_format(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise ValueError(f"it is a {type(data).__name__}, not a mapping")
        if data.get("method") != "centred isotonic" or data.get("format") != CALIBRATION_FORMAT:
            raise ValueError(
                f"method {data.get('method')!r}, format {data.get('format')!r}: expected "
                f"'centred isotonic', format {CALIBRATION_FORMAT}"
            )
        return data

    @model_validator(mode="after")
    def _knots_agree(self) -> StoredCalibration:
        score, probability = self.score, self.probability
        rows, positives = self.rows, self.positives
        if len({score.size, probability.size, rows.size, positives.size}) != 1 or not score.size:
            raise ValueError("its knot lists are empty or of different lengths")
        if np.any(np.diff(score) <= 0) or score[0] < self.score_min or score[-1] > self.score_max:
            raise ValueError("its knots are not increasing scores within [score_min, score_max]")
        if np.any(probability <= 0) or np.any(probability >= 1) or np.any(np.diff(probability) < 0):
            raise ValueError("its probabilities are not increasing within (0, 1)")
        counts = np.r_[rows, positives]
        if (
            np.any(counts != np.round(counts))
            or np.any(rows < 1)
            or np.any(positives < 0)
            or np.any(positives > rows)
        ):
            raise ValueError("its counts are not whole numbers with 0 <= positives <= rows")
        if self.quality and not set(_QUALITY) <= set(self.quality):
            raise ValueError(f"its quality lacks {sorted(set(_QUALITY) - set(self.quality))}")
        return self


_QUALITY = ("folds", "chi2", "df", "p_value", "ece")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _malformed(why: str) -> NoReturn:
    raise ModelIntegrityError(
        f"the model version's stored calibration is malformed ({why}): register/train it again"
    )
