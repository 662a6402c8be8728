"""The stored form of a calibration: what the earlier code stored loads, and what it refuses.

The malformed calibrations ``Calibration.from_dict`` refuses are in ``test_calibration.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from include.errors import ModelIntegrityError
from include.evaluation.calibration import Calibration
from include.evaluation.stored_calibration import StoredCalibration, read_stored_calibration


@pytest.fixture
def stored() -> dict:
    # a calibration with quality and drift, stored by Calibration.to_dict at commit 70e39ca
    return json.loads((Path(__file__).parents[1] / "stored" / "calibration.json").read_text())


def test_a_calibration_the_earlier_code_stored_loads_and_is_stored_the_same(stored):
    calibration = Calibration.from_dict(stored)

    assert calibration.to_dict() == stored
    assert calibration.drift
    assert calibration.quality
    assert calibration.rows.dtype == np.int64
    assert not calibration.score.flags.writeable


def test_the_stored_form_is_typed(stored):
    read = read_stored_calibration(stored)

    assert isinstance(read, StoredCalibration)
    assert read.score.dtype == np.float64
    assert all(isinstance(value, float) for value in read.quality.values())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: {k: v for k, v in d.items() if k != "score_max"}, "'score_max' is not a number"),
        (lambda d: {**d, "score_min": float("inf")}, "'score_min' holds a value that is not fin"),
        (lambda d: {**d, "positives": [-1, *d["positives"][1:]]}, "0 <= positives <= rows"),
        (lambda d: {**d, "quality": None}, "its quality is not a mapping"),
        (lambda d: {**d, "drift": {"auc": float("inf")}}, "its drift is not a mapping"),
    ],
)
def test_a_malformed_stored_calibration_is_refused(stored, change, message):
    with pytest.raises(ModelIntegrityError) as caught:
        read_stored_calibration(change(stored))

    assert message in str(caught.value)
    assert str(caught.value).endswith("register/train it again")
