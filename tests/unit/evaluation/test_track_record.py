"""The track record: earlier periods whose labels landed widen the intervals they proved too narrow.

The method of moments on synthetic errors whose extra variance is known; the recovery of each
period's variance from its stored interval; and, on the tutorial's data with an SQLite MES, a
period whose labels contradict the model (inverted) widening the next period's intervals, where
a period whose estimate held leaves them as they were.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from include.evaluation.calibration import fit_calibration
from include.evaluation.estimation import estimate_for_version
from include.evaluation.evaluate import evaluate_batch
from include.evaluation.intervals import Z
from include.evaluation.track_record import (
    MAX_PERIODS,
    NO_TRACK_RECORD,
    LandedEstimate,
    extra_variance,
    from_history,
    landed_estimate,
    track_record,
)
from include.model.features import feature_frame
from include.model.registry import load_model
from include.periods import Period
from include.workflow import Workspace, evaluate_period
from tests.support.tutorial_mes import copied_workspace, trained_template


def landed(error: float, variance: float, period: str = "p") -> LandedEstimate:
    return LandedEstimate(period, estimated=0.8, variance=variance, realised=0.8 + error)


def test_no_extra_variance_while_the_errors_are_what_the_intervals_allowed() -> None:
    periods = [landed(0.01, 1e-4), landed(-0.01, 1e-4), landed(0.005, 1e-4)]
    assert extra_variance(periods) == 0.0
    assert extra_variance([]) == 0.0
    assert track_record({"auc": periods}).describe() is None


def test_errors_of_the_size_the_intervals_allow_seldom_widen_them() -> None:
    # one period off by 1.5 sd (inside its interval) is no evidence; nor, mostly, is noise
    assert extra_variance([landed(0.015, 1e-4)]) == 0.0
    rng = np.random.default_rng(8)
    widened = [
        extra_variance([landed(float(e), 1e-4) for e in rng.normal(0.0, 0.01, 6)]) > 0
        for _ in range(400)
    ]
    assert np.mean(widened) < 0.1  # 5 % by construction of the χ² test


def test_the_extra_variance_is_what_the_errors_show_beyond_their_intervals() -> None:
    # equal variances: τ² = mean(d²) - V exactly
    periods = [landed(0.05, 1e-4), landed(-0.03, 1e-4), landed(0.04, 1e-4)]
    expected = np.mean([0.05**2, 0.03**2, 0.04**2]) - 1e-4
    assert extra_variance(periods) == pytest.approx(expected, rel=1e-12)


def test_the_track_record_restores_coverage_where_the_calibration_is_overconfident() -> None:
    # Intervals that allow sd 0.01 where the errors have sd 0.05: about 30 % coverage alone.
    rng = np.random.default_rng(5)
    variance, true_sd = 1e-4, 0.05
    history: list[LandedEstimate] = []
    plain, widened = [], []
    for index in range(300):
        error = float(rng.normal(0.0, true_sd))
        extra = track_record({"auc": history}).variance.get("auc", 0.0)
        plain.append(abs(error) <= Z * math.sqrt(variance))
        widened.append(abs(error) <= Z * math.sqrt(variance + extra))
        history.append(landed(error, variance, f"p{index}"))
    assert np.mean(plain) < 0.4
    assert np.mean(widened[5:]) > 0.85


def test_it_reads_only_the_most_recent_periods() -> None:
    old = [landed(0.5, 1e-4, f"old{i}") for i in range(5)]
    recent = [landed(0.0, 1e-4, f"new{i}") for i in range(MAX_PERIODS)]
    record = track_record({"auc": old + recent})
    assert record.variance["auc"] == 0.0
    assert [p.period for p in record.periods["auc"]] == [f"new{i}" for i in range(MAX_PERIODS)]


def stored_metrics(estimate: float, half: float, realised: float, **extra) -> dict[str, float]:
    return {
        "estimated_auc": estimate,
        "estimated_auc_ci_low": max(0.0, estimate - half),
        "estimated_auc_ci_high": min(1.0, estimate + half),
        "auc": realised,
        **extra,
    }


def test_a_periods_variance_comes_back_from_its_interval_even_clipped() -> None:
    found = landed_estimate("2017Q2", stored_metrics(0.98, 0.05, 0.9), "auc")
    assert found.variance == pytest.approx((0.05 / Z) ** 2)
    assert found.estimated == 0.98
    assert found.realised == 0.9
    assert found.missed


def test_the_track_term_a_period_carried_is_taken_out_of_its_variance() -> None:
    # base sd 0.02 and track sd 0.03: the stored half-width is 1.96·√(0.02² + 0.03²)
    half = Z * math.sqrt(0.02**2 + 0.03**2)
    metrics = stored_metrics(0.8, half, 0.8, estimated_auc_track_sd=0.03)
    assert landed_estimate("p", metrics, "auc").variance == pytest.approx(0.02**2)


@pytest.mark.parametrize(
    "metrics",
    [
        {"estimated_auc": 0.8, "estimated_auc_ci_low": 0.7, "estimated_auc_ci_high": 0.9},
        stored_metrics(0.8, 0.1, float("nan")),
        stored_metrics(0.5, 0.9, 0.6),  # clipped on both sides
    ],
    ids=["no realised value", "realised undefined", "interval clipped both sides"],
)
def test_a_period_that_cannot_be_read_does_not_count(metrics) -> None:
    assert landed_estimate("p", metrics, "auc") is None


def past(name: str, start: date, metrics: dict[str, float]) -> SimpleNamespace:
    when = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return SimpleNamespace(name=name, period_start=when, metrics=metrics)


def test_only_fully_labelled_earlier_periods_count() -> None:
    missed = stored_metrics(0.8, 0.02, 0.6)
    history = [
        past("2017Q1", date(2017, 1, 1), {**missed, "label_share": 0.5}),  # partly labelled
        past("2017Q2", date(2017, 4, 1), {**missed, "label_share": 1.0}),
        past("2017Q3", date(2017, 7, 1), {**missed, "label_share": 1.0}),  # not before
    ]
    record = from_history(history, before=date(2017, 7, 1))
    assert [p.period for p in record.periods["auc"]] == ["2017Q2"]
    assert record.variance["auc"] > 0
    note = record.describe()
    assert "auc ±" in note
    assert "(1 of 1 missed)" in note
    assert "training rows" in note


def test_widening_keeps_the_estimates_and_records_the_added_spread() -> None:
    rng = np.random.default_rng(3)
    reference = rng.beta(2, 5, 4_000)
    calibration = fit_calibration(reference, rng.random(4_000) < reference)
    metadata = {"calibration": calibration.to_dict(), "threshold": 0.5}
    plain = estimate_for_version(metadata, rng.beta(2, 5, 2_000))
    same = plain.widened({})
    wider = plain.widened({"auc": 0.03**2})
    for metric in ("auc", "accuracy", "f1"):
        key = f"estimated_{metric}"
        assert same.values[key + "_ci_low"] == plain.values[key + "_ci_low"]
        assert same.values[key + "_track_sd"] == 0.0
        assert wider.values[key] == plain.values[key]
    half = Z * math.sqrt(plain.variances["auc"] + 0.03**2)
    assert wider.values["estimated_auc_ci_high"] == pytest.approx(
        min(1.0, plain.values["estimated_auc"] + half)
    )
    assert wider.values["estimated_auc_track_sd"] == pytest.approx(0.03)
    assert wider.values["estimated_accuracy_ci_low"] == plain.values["estimated_accuracy_ci_low"]


ROWS = 3_000


@pytest.fixture(scope="module")
def template(tmp_path_factory, tutorial_config) -> Path:
    return trained_template(tmp_path_factory.mktemp("track-template"), tutorial_config, rows=ROWS)


@pytest.fixture
def workspace(template, tmp_path, tutorial_config):
    opened = copied_workspace(template, tmp_path, tutorial_config)
    yield opened
    opened.close()


def plain_estimate(workspace: Workspace, quarter: str):
    """The estimate of a quarter from the calibration alone (no track record)."""
    config = workspace.config
    model = load_model(config, root=workspace.models)
    batch = workspace.rows.read(period=Period.parse(quarter))
    scores = model.pipeline.predict_proba(feature_frame(batch, config))[:, 1]
    return estimate_for_version(model.metadata, scores)


def test_a_period_whose_estimate_held_leaves_the_next_intervals_alone(workspace) -> None:
    evaluate_period(workspace, "2017Q2")
    _, q3 = evaluate_period(workspace, "2017Q3")
    metrics = q3.metrics()
    plain = plain_estimate(workspace, "2017Q3")
    assert metrics["estimated_auc_track_sd"] == 0.0
    assert metrics["estimated_auc_ci_low"] == pytest.approx(plain.values["estimated_auc_ci_low"])
    assert "estimate_track_record" not in q3.notes


def test_labels_that_contradict_the_estimate_widen_the_next_periods_intervals(workspace) -> None:
    config = workspace.config
    model = load_model(config, root=workspace.models)
    q2 = Period.parse("2017Q2")
    batch = workspace.rows.read(period=q2)
    # The fraud labels inverted: the scores no longer mean what the reference said (concept
    # drift), which only the labels can show.
    batch[config.label] = 1 - batch[config.label]
    workspace.mes.save(evaluate_batch(model, batch, config, q2).to_record(config.store_name))

    evaluation_id, q3 = evaluate_period(workspace, "2017Q3")
    metrics, plain = q3.metrics(), plain_estimate(workspace, "2017Q3")
    for metric in ("auc", "accuracy"):
        key = f"estimated_{metric}"
        assert metrics[key] == pytest.approx(plain.values[key])  # the estimate is unchanged
        assert metrics[key + "_track_sd"] > 0.1
        assert metrics[key + "_ci_low"] < plain.values[key + "_ci_low"]
    note = q3.notes["estimate_track_record"]
    assert "(1 of 1 missed)" in note
    stored = workspace.mes.get(evaluation_id)
    assert stored.metrics["estimated_auc_track_sd"] == metrics["estimated_auc_track_sd"]
    assert stored.labels["note:estimate_track_record"] == note


def test_no_track_record_is_the_default() -> None:
    assert NO_TRACK_RECORD.variance == {}
    assert NO_TRACK_RECORD.describe() is None
