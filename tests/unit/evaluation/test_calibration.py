"""The score calibration: fitted, stored and read back, and its drift term over time.

The estimates it gives are checked in ``test_estimation.py``; here, what the calibration
itself records and refuses.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from include.errors import DataValidationError, ModelIntegrityError
from include.evaluation.calibration import METRICS, Calibration, fit_calibration
from include.evaluation.estimation import estimate_performance
from tests.unit.evaluation.conftest import beta_scores, identity_calibration, realised


def test_the_calibration_round_trips_through_json():
    rng = np.random.default_rng(12)
    scores = rng.random(3_000)
    calibration = fit_calibration(scores, rng.random(3_000) < scores)

    stored = json.loads(json.dumps(calibration.to_dict()))
    loaded = Calibration.from_dict(stored)

    assert loaded.to_dict() == calibration.to_dict()
    batch = rng.random(1_000)
    assert np.array_equal(loaded.calibrated(batch), calibration.calibrated(batch))
    assert estimate_performance(loaded, batch, 0.5) == estimate_performance(calibration, batch, 0.5)
    assert set(stored["quality"]) == {"folds", "chi2", "df", "p_value", "ece"}
    assert loaded.reference_rows == 3_000


def daily(rows: int, start: str = "2016-01-01", per_day: int = 10) -> pd.DatetimeIndex:
    """``per_day`` rows a day from ``start``: a year of 3,650 rows by default."""
    return pd.Timestamp(start) + pd.to_timedelta(np.arange(rows) // per_day, "D")


def seasonal(scores: np.ndarray, days: pd.DatetimeIndex, amplitude: float) -> np.ndarray:
    """P(label | score) moved up in one half of the year and down in the other."""
    shift = amplitude * np.sin(2 * np.pi * days.month.to_numpy() / 12)
    return np.clip(scores + shift, 0.01, 0.99)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_stationary_reference_shows_no_drift_beyond_noise(seed):
    rng = np.random.default_rng(seed)
    days = daily(3_650)
    scores = beta_scores(rng, days.size)

    drift = fit_calibration(scores, rng.random(scores.size) < scores, times=days).drift

    assert drift["chunks"] == 12  # one a month
    # a month of 300 rows: the labels alone move its accuracy by about 0.025
    assert all(0.0 <= drift[metric] < 0.025**2 for metric in METRICS)


def test_a_reference_whose_calibration_drifts_with_the_seasons_widens_the_intervals():
    rng = np.random.default_rng(7)
    days = daily(3_650)
    scores = beta_scores(rng, days.size)
    labels = rng.random(scores.size) < seasonal(scores, days, 0.2)

    dated = fit_calibration(scores, labels, times=days)
    undated = fit_calibration(scores, labels)

    assert undated.drift == {}
    assert dated.drift["accuracy"] > 0.06**2
    assert dated.drift["auc"] > 0.03**2
    # the same relation a year later, month by month: the drift term is what covers it
    later = daily(3_650, start="2017-01-01")
    later_scores = beta_scores(rng, later.size)
    later_labels = rng.random(later.size) < seasonal(later_scores, later, 0.2)
    covered = {"dated": 0, "undated": 0}
    for month in range(1, 13):
        rows = later.month == month
        actual = realised(later_labels[rows], later_scores[rows], 0.5)["accuracy"]
        for name, calibration in (("dated", dated), ("undated", undated)):
            values = estimate_performance(calibration, later_scores[rows], 0.5).values
            low, high = values["estimated_accuracy_ci_low"], values["estimated_accuracy_ci_high"]
            covered[name] += low <= actual <= high
    assert covered["dated"] >= 11
    assert covered["undated"] <= 8


def test_a_short_reference_cut_into_equal_runs_and_a_tiny_one_has_no_drift_term():
    rng = np.random.default_rng(8)
    scores = beta_scores(rng, 2_000)
    labels = rng.random(scores.size) < scores
    # two months: cut into twelve runs of consecutive dates instead
    two_months = daily(2_000, per_day=40)
    assert fit_calibration(scores, labels, times=two_months).drift["chunks"] == 12
    # 60 rows give three runs of 20, fewer than four: no term
    assert fit_calibration(scores[:60], labels[:60], times=two_months[:60]).drift == {}


def test_the_drift_term_round_trips_and_old_calibrations_load_without_it():
    rng = np.random.default_rng(9)
    days = daily(3_650)
    scores = beta_scores(rng, days.size)
    labels = rng.random(scores.size) < seasonal(scores, days, 0.2)
    calibration = fit_calibration(scores, labels, times=days.strftime("%Y-%m-%d"))
    batch = beta_scores(rng, 500)

    stored = json.loads(json.dumps(calibration.to_dict()))
    loaded = Calibration.from_dict(stored)
    assert loaded.drift == calibration.drift
    assert estimate_performance(loaded, batch, 0.5) == estimate_performance(calibration, batch, 0.5)

    # a calibration stored before the drift term: it loads, with none
    old = Calibration.from_dict({key: value for key, value in stored.items() if key != "drift"})
    assert old.drift == {}
    with_drift = estimate_performance(loaded, batch, 0.5).values
    without = estimate_performance(old, batch, 0.5).values
    assert without["estimated_accuracy"] == with_drift["estimated_accuracy"]
    assert (
        without["estimated_accuracy_ci_high"] - without["estimated_accuracy_ci_low"]
        < with_drift["estimated_accuracy_ci_high"] - with_drift["estimated_accuracy_ci_low"]
    )


@pytest.mark.parametrize(
    ("times", "message"),
    [
        (["2017-01-01"] * 99, "dates number 99, the scores 100 rows"),
        (["2017-01-01"] * 99 + [None], "1 reference row(s) have no date"),
        (["2017-01-01"] * 99 + ["someday"], "cannot be read as dates"),
    ],
)
def test_reference_dates_that_are_missing_or_unreadable_are_refused(times, message):
    scores = np.linspace(0.01, 0.99, 100)
    with pytest.raises(DataValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fit_calibration(scores, scores > 0.5, times=times)


def _stored() -> dict:
    return identity_calibration().to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: [1, 2], "it is a list, not a mapping"),
        (lambda d: {**d, "method": "platt"}, "method 'platt'"),
        (lambda d: {**d, "format": 2}, "format 2"),
        (lambda d: {k: v for k, v in d.items() if k != "rows"}, "'rows' is not a list of numbers"),
        (lambda d: {**d, "score": ["0.1", 0.9]}, "'score' is not a list of numbers"),
        (lambda d: {**d, "rows": [True, 5]}, "'rows' is not a list of numbers"),
        (lambda d: {**d, "probability": [0.1, float("nan")]}, "holds a value that is not finite"),
        (lambda d: {**d, "score": [0.5]}, "empty or of different lengths"),
        (lambda d: {**d, "score": [0.9, 0.1]}, "not increasing scores"),
        (lambda d: {**d, "score_max": 0.5}, "within [score_min, score_max]"),
        (lambda d: {**d, "score_min": None}, "'score_min' is not a number"),
        (lambda d: {**d, "probability": [0.0, 0.5]}, "not increasing within (0, 1)"),
        (lambda d: {**d, "probability": [0.6, 0.5]}, "not increasing within (0, 1)"),
        (lambda d: {**d, "positives": [5, 10**10]}, "0 <= positives <= rows"),
        (lambda d: {**d, "rows": [1.5, 3]}, "whole numbers"),
        (lambda d: {**d, "quality": {"ece": "low"}}, "quality is not a mapping"),
        (lambda d: {**d, "quality": {"ece": 0.1}}, "its quality lacks"),
        (lambda d: {**d, "drift": {"auc": -0.1}}, "its drift is not a mapping"),
        (lambda d: {**d, "drift": [0.1]}, "its drift is not a mapping"),
    ],
)
def test_a_malformed_calibration_is_refused(change, message):
    with pytest.raises(ModelIntegrityError) as caught:
        Calibration.from_dict(change(_stored()))
    assert message in str(caught.value)
    assert str(caught.value).endswith("register/train it again")
