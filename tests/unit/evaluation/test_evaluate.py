"""Evaluating one batch with a saved model: metrics, statistics, sample, and what is stored."""

from __future__ import annotations

import pandas as pd
import pytest

from include.data.batches import select_period
from include.errors import DataValidationError, EmptyBatchError
from include.evaluation.evaluate import PREDICTION_COLUMN, PROBABILITY_COLUMN, evaluate_batch
from include.periods import Period

PERFORMANCE = {
    "precision",
    "recall",
    "f1",
    "accuracy",
    "mcc",
    "hamming_loss",
    "cost_matrix_gain",
    "auc",
    "log_loss",
    "lift",
    "calibration_loss",
}


@pytest.fixture(scope="module")
def model(saved_model):
    return saved_model


@pytest.fixture(scope="module")
def q2(prepared_data):
    return select_period(prepared_data, "purchase_date", Period.parse("2017Q2"))


def test_a_labelled_batch_gets_every_metric_and_its_confusion_matrix(
    model, q2, tutorial_config
) -> None:
    evaluation = evaluate_batch(model, q2, tutorial_config, Period.parse("2017Q2"))
    metrics = evaluation.metrics()
    assert metrics.keys() >= PERFORMANCE
    assert metrics["auc"] > 0.75
    assert metrics["row_count"] == len(q2)
    matrix = evaluation.performance.confusion_matrix.to_dict()
    assert sum(matrix.values()) == len(q2)
    assert matrix["true_positive"] + matrix["false_negative"] == int(q2["authorized_flag"].sum())


def test_column_statistics_cover_every_feature(model, q2, tutorial_config) -> None:
    evaluation = evaluate_batch(model, q2, tutorial_config, Period.parse("2017Q2"))
    stats = {s.name: s.to_dict() for s in evaluation.columns}
    assert set(stats) == set(tutorial_config.features)
    assert stats["card_age"]["count"] == len(q2)
    assert stats["card_age"]["mean"] == pytest.approx(q2["card_age"].mean())
    assert stats["card_reward_program"]["kind"] == "categorical"


def test_the_sample_is_capped_and_carries_the_predictions(model, q2, tutorial_config) -> None:
    config = tutorial_config.model_copy(update={"sample_size": 500})
    evaluation = evaluate_batch(model, q2, config, Period.parse("2017Q2"))
    sample = evaluation.sample
    assert len(sample) == 500
    assert {PROBABILITY_COLUMN, PREDICTION_COLUMN} <= set(sample.columns)
    assert sample["transaction_id"].isin(q2["transaction_id"]).all()
    expected = (sample[PROBABILITY_COLUMN] >= model.threshold).astype(int)
    assert (sample[PREDICTION_COLUMN] == expected).all()


def test_without_labels_performance_is_skipped_not_faked(model, q2, tutorial_config) -> None:
    unlabelled = q2.drop(columns=["authorized_flag"])
    evaluation = evaluate_batch(
        model, unlabelled, tutorial_config, Period.parse("2017Q2"), labelled=False
    )
    assert not evaluation.labelled
    assert "auc" not in evaluation.metrics()
    record = evaluation.to_record("the_MES")
    assert record.confusion_matrix is None
    assert not record.labelled


def test_a_missing_label_is_a_clear_error_when_labels_are_expected(
    model, q2, tutorial_config
) -> None:
    with pytest.raises(DataValidationError, match="no label column 'authorized_flag'"):
        evaluate_batch(
            model, q2.drop(columns=["authorized_flag"]), tutorial_config, Period.parse("2017Q2")
        )


def test_an_empty_batch_is_a_clear_error(model, q2, tutorial_config) -> None:
    with pytest.raises(EmptyBatchError, match="2017Q2 is empty"):
        evaluate_batch(model, q2.iloc[:0], tutorial_config, Period.parse("2017Q2"))


def test_the_record_carries_what_the_store_needs(model, q2, tutorial_config) -> None:
    evaluation = evaluate_batch(model, q2, tutorial_config, Period.parse("2017Q2"))
    record = evaluation.to_record("the_MES")
    assert (record.store_name, record.model_version, record.display_name) == (
        "the_MES",
        model.version,
        "2017Q2",
    )
    assert record.labels["model:version"] == model.version
    assert len(record.column_statistics) == len(tutorial_config.features)


def test_the_training_quarter_is_marked_in_sample(model, prepared_data, tutorial_config) -> None:
    q1 = select_period(prepared_data, "purchase_date", Period.parse("2017Q1"))
    evaluation = evaluate_batch(model, q1, tutorial_config, Period.parse("2017Q1"))
    assert evaluation.in_sample is True
    assert evaluation.metrics()["in_sample"] == 1.0
    record = evaluation.to_record("the_MES")
    assert "in-sample evaluation" in record.labels["note:in_sample"]
    assert "metrics are optimistic" in record.labels["note:in_sample"]


def test_a_later_quarter_is_not_in_sample(model, q2, tutorial_config) -> None:
    evaluation = evaluate_batch(model, q2, tutorial_config, Period.parse("2017Q2"), drift=False)
    assert evaluation.in_sample is False
    assert evaluation.metrics()["in_sample"] == 0.0
    assert not any(key.startswith("note:in_sample") for key in evaluation.to_record("m").labels)


def test_exact_duplicate_rows_are_counted_once_and_reported(model, q2, tutorial_config) -> None:
    doubled = pd.concat([q2, q2.iloc[:40]], ignore_index=True)
    evaluation = evaluate_batch(
        model, doubled, tutorial_config, Period.parse("2017Q2"), drift=False
    )
    assert evaluation.row_count == len(q2)
    metrics = evaluation.metrics()
    assert metrics["row_count"] == len(q2)
    assert metrics["duplicate_rows_dropped"] == 40
    assert sum(evaluation.performance.confusion_matrix.to_dict().values()) == len(q2)
    assert evaluation.duplicates["examples"][:2] == [str(v) for v in q2["transaction_id"][:2]]
    note = evaluation.to_record("m").labels["note:duplicate_ids"]
    assert note.startswith("40 exact duplicate rows dropped (40 transaction_id values repeated")
    clean = evaluate_batch(model, q2, tutorial_config, Period.parse("2017Q2"), drift=False)
    assert clean.metrics()["duplicate_rows_dropped"] == 0
    assert "note:duplicate_ids" not in clean.to_record("m").labels


def test_an_id_with_conflicting_rows_is_refused(model, q2, tutorial_config) -> None:
    conflicting = q2.iloc[:3].copy()
    conflicting["authorized_flag"] = 1 - conflicting["authorized_flag"]
    batch = pd.concat([q2, conflicting], ignore_index=True)
    with pytest.raises(DataValidationError, match="3 transaction_id values on 6 rows that differ"):
        evaluate_batch(model, batch, tutorial_config, Period.parse("2017Q2"), drift=False)


def test_a_batch_without_positives_stores_reasons_not_numbers(model, q2, tutorial_config) -> None:
    negatives = q2[q2["authorized_flag"] == 0]
    evaluation = evaluate_batch(model, negatives, tutorial_config, Period.parse("2017Q2"))
    metrics = evaluation.metrics()
    for name in ("recall", "f1", "mcc", "auc", "log_loss", "lift"):
        assert name not in metrics
        assert f"performance_change:{name}" not in metrics
    assert metrics["positive_rate"] == 0.0
    assert metrics["performance_change:positive_rate"] < 0
    labels = evaluation.to_record("m").labels
    assert labels["undefined:recall"] == "no positive in the batch"
    assert labels["undefined:auc"] == "no positive in the batch"
    compared = evaluation.drift.to_dict()["performance_drift"]
    assert compared["recall"]["undefined"] == "no positive in the batch"
    assert compared["recall"]["current"] is None
    assert compared["recall"]["change"] is None


def test_one_positive_gives_an_auc_with_a_warning(model, q2, tutorial_config) -> None:
    one = pd.concat([q2[q2["authorized_flag"] == 0], q2[q2["authorized_flag"] == 1].iloc[:1]])
    evaluation = evaluate_batch(model, one, tutorial_config, Period.parse("2017Q2"), drift=False)
    metrics = evaluation.metrics()
    assert 0.0 <= metrics["auc_ci_low"] <= metrics["auc"] <= metrics["auc_ci_high"] <= 1.0
    assert evaluation.to_record("m").labels["note:auc"].startswith("AUC from 1 positive only")


def test_label_share_and_its_change_are_metrics(model, q2, tutorial_config) -> None:
    evaluation = evaluate_batch(model, q2, tutorial_config, Period.parse("2017Q2"))
    metrics = evaluation.metrics()
    assert metrics["positive_rate"] == pytest.approx(q2["authorized_flag"].mean())
    reference = model.metadata["test_metrics"]["positive_rate"]
    assert metrics["performance_change:positive_rate"] == pytest.approx(
        metrics["positive_rate"] - reference
    )


def test_performance_changes_say_whether_they_are_beyond_the_intervals(
    model, q2, tutorial_config
) -> None:
    evaluation = evaluate_batch(model, q2, tutorial_config, Period.parse("2017Q2"))
    compared = evaluation.drift.to_dict()["performance_drift"]
    metrics = evaluation.metrics()
    for name in ("auc", "accuracy", "precision", "recall"):
        entry = compared[name]
        assert entry["current_ci_low"] <= entry["current"] <= entry["current_ci_high"]
        assert metrics[f"performance_change_significant:{name}"] == float(entry["significant"])
    assert "performance_change_significant:f1" not in metrics
