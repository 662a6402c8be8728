"""The full drift analysis on the tutorial data: the tutorial's findings, as metrics to check."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from include.data.batches import select_period
from include.drift.analysis import analyse_drift, describe_reference
from include.drift.rule import DriftRule
from include.evaluation.evaluate import predict_proba
from include.periods import Period


@pytest.fixture(scope="module")
def model(saved_model):
    return saved_model


@pytest.fixture(scope="module")
def analyses(model, prepared_data, tutorial_config):
    """Q2, Q3 and Q4 analysed against the Q1 reference."""
    results = {}
    for quarter in ("2017Q2", "2017Q3", "2017Q4"):
        period = Period.parse(quarter)
        batch = select_period(prepared_data, tutorial_config.date_column, period)
        proba = predict_proba(model, batch, tutorial_config)
        results[quarter] = analyse_drift(model, batch, proba, tutorial_config, period)
    return results


def test_data_drift_grows_from_q2_to_q4(analyses) -> None:
    drift = [analyses[q].data_drift.value for q in ("2017Q2", "2017Q3", "2017Q4")]
    assert drift == sorted(drift)
    assert drift[2] > 0.6
    assert analyses["2017Q4"].data_drift.pvalue < 0.001


def test_q4_is_flagged_on_card_age_and_card_fico_score(analyses) -> None:
    q4 = {f.feature: f for f in analyses["2017Q4"].features}
    for feature in ("card_age", "card_fico_score"):
        assert q4[feature].drifted
        assert q4[feature].psi_drifted
        assert q4[feature].pvalue_drifted
    assert not q4["purchase_amount"].psi_drifted
    assert not q4["card_reward_program"].psi_drifted
    # significant on 20,000 rows but immaterial (PSI about 0.006): no longer flagged
    assert not q4["card_latitude"].drifted
    assert q4["card_latitude"].material is False
    top_two = sorted(
        analyses["2017Q4"].data_drift.feature_importance.items(), key=lambda item: -item[1]
    )[:2]
    assert {name for name, _ in top_two} == {"card_age", "card_fico_score"}


def test_every_scalar_is_a_metric_a_check_can_read(analyses, tutorial_config) -> None:
    metrics = analyses["2017Q4"].metrics()
    for name in (
        "data_drift",
        "data_drift_pvalue",
        "data_drift_ci_low",
        "data_drift_ci_high",
        "psi:card_age",
        "ks_pvalue:card_fico_score",
        "chi2_pvalue:card_reward_program",
        "drift_importance:card_age",
        "effect_size:card_age",
        "effect_size:card_reward_program",
        "missing_share_change:card_age",
        "prediction_drift_psi",
        "prediction_drift_chi2_pvalue",
        "drifted_features",
    ):
        assert name in metrics, name
    assert metrics["data_drift_ci_low"] <= metrics["data_drift"] <= metrics["data_drift_ci_high"]
    assert metrics["drifted_features"] >= 2
    assert all(isinstance(v, float) for v in metrics.values())


def test_riskiest_features_are_high_on_both_importances(analyses) -> None:
    riskiest = [r.feature for r in analyses["2017Q4"].riskiest]
    assert riskiest[0] == "card_fico_score"  # drifts most and matters to the model


def test_performance_and_prediction_drift_sit_beside_the_reference(
    model, prepared_data, tutorial_config
) -> None:
    period = Period.parse("2017Q4")
    batch = select_period(prepared_data, tutorial_config.date_column, period)
    proba = predict_proba(model, batch, tutorial_config)
    analysis = analyse_drift(
        model, batch, proba, tutorial_config, period, performance={"auc": 0.7, "accuracy": 0.8}
    )
    auc = analysis.performance["auc"]
    assert auc["reference"] == model.metadata["test_metrics"]["auc"]
    assert auc["change"] == pytest.approx(0.7 - auc["reference"])
    prediction = analysis.to_dict()["prediction_drift"]
    assert 0 < prediction["reference_positive_share"] <= 1
    assert prediction["proba_psi"] is not None


def test_the_analysis_is_stored_as_json(analyses) -> None:
    stored = json.loads(json.dumps(analyses["2017Q4"].to_dict(), allow_nan=False))
    assert stored["current"]["period"] == "2017Q4"
    assert {f["feature"] for f in stored["features"]} >= {"card_age", "card_fico_score"}
    assert "verdict" in stored["data_drift"]
    rows = analyses["2017Q4"].feature_rows()
    assert all(
        {"feature", "kind", "psi", "drift_importance", "model_importance"} <= set(r) for r in rows
    )


def _model(metadata: dict, profile_rows: int) -> SimpleNamespace:
    return SimpleNamespace(
        version="v1",
        metadata={"training_period": {"name": "2017Q1"}, **metadata},
        feature_profile=SimpleNamespace(rows=profile_rows),
    )


def test_a_recorded_small_reference_is_carried_with_what_it_means() -> None:
    recorded = {
        "description": "the user's reference dataset weather_2012.csv",
        "rows": 19,
        "small": True,
        "note": "only 19 reference rows",
    }

    reference = describe_reference(_model({"reference": recorded}, 19), DriftRule())

    assert reference["description"] == recorded["description"]
    assert (reference["rows"], reference["small"], reference["effect_sizes_used"]) == (
        19,
        True,
        False,
    )
    assert reference["note"].startswith("only 19 reference rows; the reference holds 19 rows")
    assert "effect sizes are not used" in reference["note"]


def test_an_older_model_version_compares_with_the_test_split_of_its_training_period() -> None:
    reference = describe_reference(_model({}, 40_000), DriftRule())

    assert reference["description"] == "the test split of the training period 2017Q1"
    assert (reference["rows"], reference["small"], reference["note"]) == (40_000, False, None)


def test_the_stored_analysis_says_what_the_reference_is(analyses) -> None:
    reference = analyses["2017Q4"].to_dict()["reference"]
    assert {"description", "rows", "small", "note", "effect_sizes_used"} <= set(reference)
    assert reference["rows"] == 600  # the test split of 3,000 Q1 rows
    assert reference["effect_sizes_used"] is True


def test_the_stored_analysis_is_the_document_the_earlier_code_stored(
    model, prepared_data, tutorial_config
) -> None:
    # tests/unit/stored/drift_analysis.json: this analysis, stored by the code at commit 06df9c2
    stored = json.loads((Path(__file__).parents[1] / "stored" / "drift_analysis.json").read_text())
    period = Period.parse("2017Q4")
    batch = select_period(prepared_data, tutorial_config.date_column, period)
    proba = predict_proba(model, batch, tutorial_config)
    reference = model.metadata["test_metrics"]
    performance = {k: v * 0.9 for k, v in reference.items() if isinstance(v, float)}

    analysis = analyse_drift(model, batch, proba, tutorial_config, period, performance=performance)

    assert analysis.to_dict() == stored
