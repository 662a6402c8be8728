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


def test_text_from_the_run_is_escaped_and_the_link_goes_to_the_run() -> None:
    from include.alerts import run_url

    email = warning_email(
        dag_id="dag <x>",
        run_id="manual__2024-01-01T00:00:00+00:00",
        results=[{**RESULTS[0], "message": "drift > 0.45"}],
        evaluation={"name": "2017Q4", "model_version": "v1", "evaluation_id": "e1", "store": "s"},
        base_url="https://airflow.example.com/",
    )
    url = run_url("https://airflow.example.com/", "dag <x>", "manual__2024-01-01T00:00:00+00:00")

    assert email.subject == 'Airflow DAG "dag <x>" issued a warning'
    assert "The &ldquo;dag &lt;x&gt;&rdquo; DAG" in email.html
    assert "<td>drift &gt; 0.45</td>" in email.html
    assert f'<a href="{url}">{url}</a>' in email.html
    assert url.endswith("/dags/dag%20%3Cx%3E/runs/manual__2024-01-01T00%3A00%3A00%2B00%3A00")
    assert "in store <b>s</b>." in email.html


def test_the_run_log_lists_each_task_state_then_the_checks() -> None:
    from include.alerts import run_log

    log = run_log(
        dag_id="d",
        run_id="r",
        task_states={"mes_warn": "success", "a": None},
        check_table="drift  WARNING",
        outcome="WARNING",
    )

    assert log == (
        "DAG d, run r\n\nTask states:\n  a         none\n  mes_warn  success\n\n"
        "Checks (outcome WARNING):\ndrift  WARNING\n"
    )
    empty = run_log(dag_id="d", run_id="r", task_states={}, check_table="", outcome=None)
    assert empty == "DAG d, run r\n\nTask states:\n\n\nChecks (outcome n/a):\n\n"
