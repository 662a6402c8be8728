"""The drift warning email: undefined metrics and in-sample evaluations are said, not hidden."""

from __future__ import annotations

from include.alerts import warning_email

RESULTS = [
    {"name": "drift", "metric": "data_drift", "outcome": "WARNING", "value": 0.6, "message": "x"},
    {"name": "recall", "metric": "recall", "outcome": "WARNING", "value": None, "message": "y"},
]


def email(evaluation):
    return warning_email(
        dag_id="data_drift_monitor",
        run_id="run_1",
        results=RESULTS,
        evaluation=evaluation,
        base_url=None,
    ).html


def test_undefined_metrics_and_notes_from_the_labels_are_listed() -> None:
    html = email(
        {
            "name": "2017Q1",
            "model_version": "v1",
            "evaluation_id": "e1",
            "labels": {
                "model:name": "fraud",
                "undefined:recall": "no positive in the batch",
                "note:in_sample": "in-sample evaluation: metrics are optimistic",
            },
        }
    )
    assert "<td>undefined (no positive in the batch)</td>" in html
    assert "<b>recall</b>: undefined (no positive in the batch)" in html
    assert "<b>warning</b>: in-sample evaluation: metrics are optimistic" in html
    assert "model:name" not in html


def test_without_labels_the_email_is_as_before() -> None:
    html = email({"name": "2017Q4", "model_version": "v1", "evaluation_id": "e1"})
    assert "About this evaluation" not in html
    assert "<td>n/a</td>" in html
