"""The metric catalog against real evaluations: every metric an evaluation carries is a name a
check may declare, so a check on a real metric is never refused and a misspelt one always is."""

from __future__ import annotations

import pytest

from include.data.batches import select_period
from include.evaluation.evaluate import evaluate_batch
from include.metric_catalog import metric_names, unknown_metric_message
from include.periods import Period


@pytest.fixture(scope="module")
def evaluation(saved_model, prepared_data, tutorial_config):
    period = Period.parse("2017Q2")
    batch = select_period(prepared_data, tutorial_config.date_column, period)
    return evaluate_batch(saved_model, batch, tutorial_config, period)


def test_every_metric_of_a_real_evaluation_is_in_the_catalog(evaluation, tutorial_config):
    names = metric_names(tutorial_config.features)
    metrics = evaluation.metrics()
    assert set(metrics) - names == set()
    # the new names are really produced, not just listed
    assert {"auc_ci_low", "recall_ci_high", "in_sample", "duplicate_rows_dropped"} <= set(metrics)
    assert {"labelled_rows", "label_share"} <= set(metrics)
    assert {"estimated_auc", "estimated_f1_ci_low", "estimated_recall_ci_high"} <= set(metrics)
    assert "performance_change_significant:auc" in metrics
    assert "performance_change:positive_rate" in metrics


def test_the_catalog_names_the_intervals_and_their_significance(tutorial_config):
    features = tutorial_config.features
    for metric in ("auc_ci_low", "precision_ci_high", "performance_change_significant:recall"):
        assert unknown_metric_message(metric, features) is None
    assert unknown_metric_message("performance_change_significant:f1", features) is not None
    assert "did you mean" in unknown_metric_message("auc_ci", features)


def test_the_catalog_names_the_label_share_and_the_estimates(tutorial_config):
    features = tutorial_config.features
    for metric in (
        "labelled_rows",
        "label_share",
        "estimated_auc",
        "estimated_f1_ci_low",
        "estimated_precision_ci_high",
    ):
        assert unknown_metric_message(metric, features) is None, metric
    assert "did you mean estimated_auc" in unknown_metric_message("estimated_au", features)
