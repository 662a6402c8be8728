"""Evaluating one batch with a saved model: metrics, statistics, sample, and what is stored."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from include.data.batches import select_period
from include.errors import DataValidationError, EmptyBatchError
from include.evaluation.calibration import fit_calibration
from include.evaluation.evaluate import (
    PREDICTION_COLUMN,
    PROBABILITY_COLUMN,
    evaluate_batch,
)
from include.evaluation.notes import NO_CALIBRATION_NOTE
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


def test_a_batch_without_its_label_column_has_no_realised_performance_and_says_so(
    model, q2, tutorial_config
) -> None:
    batch = q2.rename(columns={"authorized_flag": "Authorized_Flag"})
    evaluation = evaluate_batch(model, batch, tutorial_config, Period.parse("2017Q2"))
    metrics = evaluation.metrics()
    assert not evaluation.labelled
    assert "auc" not in metrics
    assert (metrics["labelled_rows"], metrics["label_share"]) == (0.0, 0.0)
    record = evaluation.to_record("the_MES")
    assert record.labels["note:no_labels"] == (
        "no realised performance: the batch has no label column 'authorized_flag' (did you "
        "mean 'Authorized_Flag'?), no row is labelled yet"
    )
    assert "data_drift" in metrics


def with_labels_on(batch: pd.DataFrame, share: float) -> pd.DataFrame:
    """The batch with the label known on its first ``share`` of rows (by date), missing after."""
    batch = batch.sort_values("purchase_date").reset_index(drop=True)
    label = batch["authorized_flag"].astype("float64")
    label.iloc[round(share * len(batch)) :] = float("nan")
    return batch.assign(authorized_flag=label)


def test_realised_performance_comes_from_the_labelled_rows_only(model, q2, tutorial_config) -> None:
    batch = with_labels_on(q2, 0.6)
    labelled = batch[batch["authorized_flag"].notna()]
    period = Period.parse("2017Q2")
    partial = evaluate_batch(model, batch, tutorial_config, period)
    only_labelled = evaluate_batch(model, labelled, tutorial_config, period, drift=False)

    metrics = partial.metrics()
    assert partial.labelled
    assert metrics["labelled_rows"] == len(labelled)
    assert metrics["label_share"] == pytest.approx(len(labelled) / len(q2))
    for name in (*PERFORMANCE, "auc_ci_low", "recall_ci_high", "positive_rate"):
        assert metrics[name] == pytest.approx(only_labelled.metrics()[name]), name
    assert sum(partial.performance.confusion_matrix.to_dict().values()) == len(labelled)
    assert "performance_change:auc" in metrics
    record = partial.to_record("the_MES")
    assert record.labelled
    assert record.labels["note:partial_labels"] == (
        f"realised metrics from {len(labelled):,} of {len(q2):,} rows (60.00%): the other rows "
        "are not labelled yet"
    )


def test_drift_statistics_and_the_sample_use_every_row(model, q2, tutorial_config) -> None:
    period = Period.parse("2017Q2")
    full = with_labels_on(q2, 1.0)
    partial = with_labels_on(q2, 0.25)
    both = [evaluate_batch(model, batch, tutorial_config, period) for batch in (full, partial)]

    def without_labels(evaluation) -> dict:
        """What needs no label: drift (but performance drift), statistics, the sample's rows."""
        drift = {k: v for k, v in evaluation.drift.metrics().items() if "performance" not in k}
        columns = [s.to_dict() for s in evaluation.columns]
        return {
            "drift": drift,
            "columns": columns,
            "rows": evaluation.row_count,
            "sample": evaluation.sample["transaction_id"].tolist(),
        }

    assert without_labels(both[0]) == without_labels(both[1])
    assert both[1].sample["authorized_flag"].isna().any()


def test_a_fully_labelled_batch_has_a_label_share_of_one_and_no_note(
    model, q2, tutorial_config
) -> None:
    evaluation = evaluate_batch(model, q2, tutorial_config, Period.parse("2017Q2"), drift=False)
    assert evaluation.metrics()["label_share"] == 1.0
    assert evaluation.metrics()["labelled_rows"] == len(q2)
    labels = evaluation.to_record("the_MES").labels
    assert "note:partial_labels" not in labels
    assert "note:no_labels" not in labels


def test_a_label_outside_the_classes_is_still_an_error(model, q2, tutorial_config) -> None:
    batch = with_labels_on(q2, 0.5)
    batch.loc[0, "authorized_flag"] = 3.0
    with pytest.raises(DataValidationError, match="not binary with positive class 1"):
        evaluate_batch(model, batch, tutorial_config, Period.parse("2017Q2"), drift=False)


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


ESTIMATED = ("auc", "accuracy", "precision", "recall", "f1")


def test_every_evaluation_estimates_performance_from_the_scores_of_every_row(
    model, q2, tutorial_config
) -> None:
    period = Period.parse("2017Q2")
    labelled = evaluate_batch(model, q2, tutorial_config, period, drift=False).metrics()
    partial = evaluate_batch(model, with_labels_on(q2, 0.3), tutorial_config, period, drift=False)
    unlabelled = evaluate_batch(
        model, q2.drop(columns="authorized_flag"), tutorial_config, period, drift=False
    )
    for metric in ESTIMATED:
        for name in (f"estimated_{metric}", f"estimated_{metric}_ci_low"):
            # the estimate needs no label: the same from the same scores, labelled or not
            assert labelled[name] == pytest.approx(unlabelled.metrics()[name]), name
            assert partial.metrics()[name] == pytest.approx(unlabelled.metrics()[name]), name
    metrics = unlabelled.metrics()
    assert "auc" not in metrics
    assert metrics["estimated_auc_ci_low"] < metrics["estimated_auc"]
    assert metrics["estimated_auc"] < metrics["estimated_auc_ci_high"]
    # realised beside estimated, in one evaluation
    assert abs(labelled["auc"] - labelled["estimated_auc"]) < 0.05
    assert not any(k.startswith("untrusted:") for k in unlabelled.to_record("m").labels)


def test_a_version_without_calibration_says_how_to_get_estimates(
    model, q2, tutorial_config
) -> None:
    metadata = {k: v for k, v in model.metadata.items() if k != "calibration"}
    older = replace(model, metadata=metadata)
    evaluation = evaluate_batch(older, q2, tutorial_config, Period.parse("2017Q2"), drift=False)
    assert not any(name.startswith("estimated_") for name in evaluation.metrics())
    assert evaluation.to_record("m").labels["note:estimation"] == NO_CALIBRATION_NOTE
    assert "delete its folder under MES_MODELS" in NO_CALIBRATION_NOTE


def test_an_untrusted_estimate_is_absent_and_the_labels_say_why(model, q2, tutorial_config) -> None:
    rng = np.random.default_rng(0)
    narrow = rng.uniform(0.90, 0.95, 2_000)  # a reference whose scores all lie in [0.90, 0.95]
    calibration = fit_calibration(narrow, (rng.random(2_000) < narrow).astype(int))
    odd = replace(model, metadata={**model.metadata, "calibration": calibration.to_dict()})
    evaluation = evaluate_batch(odd, q2, tutorial_config, Period.parse("2017Q2"), drift=False)
    assert not any(name.startswith("estimated_") for name in evaluation.metrics())
    labels = evaluation.to_record("m").labels
    assert {f"untrusted:estimated_{metric}" for metric in ESTIMATED} <= set(labels)
    assert "outside" in labels["untrusted:estimated_auc"]
    assert "auc" in evaluation.metrics()  # realised performance does not depend on it
