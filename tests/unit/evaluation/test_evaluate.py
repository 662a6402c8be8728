"""Evaluating one batch with a saved model: metrics, statistics, sample, and what is stored."""

from __future__ import annotations

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
