"""data_drift_monitor with dag.test(): a real PostgreSQL MES and a real SMTP server.

The warning branch sends exactly one email (subject, body, run log and drift report attached),
the OK branch sends nothing, an ERROR fails the run and sends the failure alert.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from airflow.sdk import DagRunState, TaskInstanceState
from airflow.sdk.exceptions import ParamValidationError

from deploy.mail_sink import smtp_connection_uri
from tests.dags.conftest import run
from tests.support.airflow import TaskEndRecorder, task_states
from tests.support.smtp import attachments, html_body, smtp_server

pytestmark = pytest.mark.integration

SUCCESS, SKIPPED = TaskInstanceState.SUCCESS, TaskInstanceState.SKIPPED


@pytest.fixture(scope="module")
def monitor():
    from dags.data_drift_monitor import data_drift_monitor_dag

    return data_drift_monitor_dag


def evaluations(url: str) -> list[tuple[str, float]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select name, (metrics->>'data_drift')::float from mes.evaluations order by name"
            )
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_a_drift_warning_sends_one_email_with_the_log_and_the_report(
    monitor, project, smtp_sink
) -> None:
    dag_run = run(monitor)

    assert dag_run.state == DagRunState.SUCCESS
    states = task_states(dag_run)
    assert states["send_warning"] == SUCCESS
    assert states["quiet_end"] == SKIPPED
    [(name, drift)] = evaluations(project)
    assert name == "2017Q4"
    assert drift > 0.45
    [message] = smtp_sink.messages
    assert message["Subject"] == 'Airflow DAG "data_drift_monitor" issued a warning'
    assert "mlops-team@example.com" in message["To"]
    body = html_body(message)
    assert "data drift &lt; 0.45" in body
    assert f"{drift:.4g}" in body
    assert "soft maximum 0.45" in body
    assert "no base URL configured" in body
    files = attachments(message)
    assert set(files) == {"run_log.txt", f"2017Q4_{_version(project)}.html"}
    log = files["run_log.txt"].decode()
    assert "mes_warn" in log
    assert "WARNING" in log
    assert b"Drift of fraud_authorization on 2017Q4" in files[f"2017Q4_{_version(project)}.html"]


def test_with_a_base_url_the_email_links_to_the_run(
    monitor, project, smtp_sink, monkeypatch
) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com")
    dag_run = run(monitor)
    [message] = smtp_sink.messages
    assert (
        f"https://airflow.example.com/dags/data_drift_monitor/runs/"
        f"{dag_run.run_id.replace(':', '%3A').replace('+', '%2B')}"
    ) in html_body(message)


def test_drift_within_the_threshold_ends_quietly_and_sends_nothing(
    monitor, project, smtp_sink
) -> None:
    dag_run = run(monitor, drift_threshold=0.99)

    assert dag_run.state == DagRunState.SUCCESS
    states = task_states(dag_run)
    assert states["quiet_end"] == SUCCESS
    assert states["compose_warning"] == SKIPPED
    assert states["send_warning"] == SKIPPED
    assert smtp_sink.messages == []


def test_an_error_fails_the_run_and_sends_the_failure_alert(monitor, project, smtp_sink) -> None:
    dag_run = run(monitor, drift_error_threshold=0.5)

    assert dag_run.state == DagRunState.FAILED
    assert task_states(dag_run)["mes_warn"] == TaskInstanceState.FAILED
    [alert] = smtp_sink.messages
    assert alert["Subject"] == 'Airflow DAG "data_drift_monitor" failed: task mes_warn'
    assert "hard maximum 0.5" in html_body(alert)
    assert len(evaluations(project)) == 1  # the evaluation stays


def _version(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(sa.text("select model_version from mes.evaluations")).scalar_one()
    engine.dispose()
    return version


def test_a_quarter_without_data_fails_and_alerts(monitor, project, smtp_sink) -> None:
    dag_run = run(monitor, quarter="2018Q1")

    assert dag_run.state == DagRunState.FAILED
    assert task_states(dag_run)["build_mes"] == TaskInstanceState.FAILED
    [alert] = smtp_sink.messages
    assert alert["Subject"] == 'Airflow DAG "data_drift_monitor" failed: task build_mes'
    assert "no rows for 2018Q1" in html_body(alert)
    assert evaluations(project) == []


def test_an_invalid_quarter_is_refused_by_the_param_schema(monitor, airflow_db) -> None:
    with pytest.raises(ParamValidationError, match="Invalid input for param quarter"):
        run(monitor, quarter="2017Q5")


def test_a_refusing_smtp_server_fails_the_send_and_keeps_the_mes(
    monitor, project, monkeypatch
) -> None:
    recorder = TaskEndRecorder([]).attach(monitor.get_task("send_warning"), monkeypatch)
    with smtp_server(refuse=True) as (port, sink):
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection_uri(port))
        dag_run = run(monitor)

    assert dag_run.state == DagRunState.FAILED
    assert task_states(dag_run)["send_warning"] == TaskInstanceState.FAILED
    assert sink.messages == []
    # The failure names the connection and the server, and what the server answered.
    assert f"cannot send the email through connection 'smtp_default' (127.0.0.1:{port})" in (
        recorder.error or ""
    )
    assert "Message refused by the test server" in recorder.error
    [(name, _)] = evaluations(project)
    assert name == "2017Q4"
