"""End to end, as users run it: api-server, scheduler and dag-processor as real processes on a
PostgreSQL metadata database, DAGs triggered through the REST API v2.

`build_project_mes` triggers `recursive_mes` and waits for it; twice still leaves three
evaluations in the PostgreSQL MES. Invalid Params are refused with a 400 by the API.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from include.config import load_config
from include.data.storage import open_dataset_store
from include.deployment.local_airflow import LocalAirflow
from include.deployment.mail_sink import smtp_connection_uri
from include.workflow import generate_tutorial_data
from tests.support.smtp import attachments, smtp_server

pytestmark = pytest.mark.integration

QUARTERS = ["2017Q2", "2017Q3", "2017Q4"]


@pytest.fixture(scope="module")
def mail():
    """A real SMTP server for the whole module."""
    with smtp_server() as (port, sink):
        yield port, sink


@pytest.fixture(scope="module")
def deployment(postgres_server, tmp_path_factory, mail):
    """A running deployment with its metadata and its MES in PostgreSQL, tutorial data ready."""
    metadata_db = postgres_server.create_database("airflow_meta")
    mes_db = postgres_server.create_database("mes_e2e")
    home = tmp_path_factory.mktemp("deployment")
    mes_home = home / "mes_home"
    smtp_port, _ = mail
    generate_tutorial_data(
        open_dataset_store(mes_home / "datasets"), load_config(), transactions_per_quarter=3_000
    )
    airflow = LocalAirflow.create(
        home / "airflow",
        metadata_db=metadata_db,
        extra_env={
            "MES_HOME": str(mes_home),
            "AIRFLOW_CONN_MES_DB": mes_db.replace("+psycopg2", ""),
            "MES_TASK_RETRIES": "1",
            "MES_RETRY_DELAY_SECONDS": "0",
            "MES_MONITOR_SCHEDULE": "none",
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection_uri(smtp_port),
        },
    )
    airflow.start()
    try:
        yield airflow, mes_db
    finally:
        airflow.stop()
        postgres_server.drop_database(mes_db)
        postgres_server.drop_database(metadata_db)


def evaluations(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = conn.execute(sa.text("select name from mes.evaluations order by name")).scalars()
        names = list(names)
    engine.dispose()
    return names


def test_build_project_mes_runs_recursive_mes_and_twice_leaves_three_evaluations(
    deployment,
) -> None:
    airflow, mes_db = deployment
    with airflow.client() as client:
        for dag_id in ("build_project_mes", "recursive_mes"):
            airflow.wait_for_dag(client, dag_id)
        for _ in range(2):
            answer = airflow.trigger(client, "build_project_mes")
            assert answer.status_code == 200, answer.text
            run_id = answer.json()["dag_run_id"]
            assert airflow.wait_for_run(client, "build_project_mes", run_id) == "success"
        children = client.get("/dags/recursive_mes/dagRuns").json()["dag_runs"]
        assert [run["state"] for run in children] == ["success", "success"]
        assert all(run["conf"] == {"quarters": QUARTERS} for run in children)
    assert evaluations(mes_db) == QUARTERS


def test_a_failure_in_recursive_mes_fails_build_project_mes(deployment) -> None:
    airflow, mes_db = deployment
    with airflow.client() as client:
        airflow.wait_for_dag(client, "build_project_mes")
        kept = evaluations(mes_db)
        answer = airflow.trigger(client, "build_project_mes", {"quarters": ["2018Q1"]})
        run_id = answer.json()["dag_run_id"]
        assert airflow.wait_for_run(client, "build_project_mes", run_id) == "failed"
    assert evaluations(mes_db) == kept


@pytest.mark.parametrize(
    "conf", [{"quarters": ["2017Q5"]}, {"quarters": "2017Q2"}, {"quarters": []}]
)
def test_invalid_params_are_refused_by_the_api(deployment, conf) -> None:
    airflow, _ = deployment
    with airflow.client() as client:
        airflow.wait_for_dag(client, "recursive_mes")
        answer = airflow.trigger(client, "recursive_mes", conf)
    assert answer.status_code == 400
    assert "Invalid input for param quarters" in answer.text


def test_data_drift_monitor_triggered_with_a_conf_warns_by_email(deployment, mail) -> None:
    airflow, mes_db = deployment
    _, sink = mail
    sent_before = len(sink.messages)
    with airflow.client() as client:
        airflow.wait_for_dag(client, "data_drift_monitor")
        answer = airflow.trigger(
            client, "data_drift_monitor", {"quarter": "2017Q4", "drift_threshold": 0.45}
        )
        run_id = answer.json()["dag_run_id"]
        assert airflow.wait_for_run(client, "data_drift_monitor", run_id) == "success"
        outcome = client.get(
            f"/dags/data_drift_monitor/dagRuns/{run_id}/taskInstances/mes_warn/xcomEntries/outcome",
            params={"deserialize": True},
        ).json()["value"]
    assert outcome == "WARNING"
    assert "2017Q4" in evaluations(mes_db)
    [message] = sink.messages[sent_before:]
    assert message["Subject"] == 'Airflow DAG "data_drift_monitor" issued a warning'
    assert (
        f"{airflow.url}/dags/data_drift_monitor/runs/"
        in message.get_body(preferencelist=("html",)).get_content()
    )
    assert "run_log.txt" in attachments(message)


def test_an_invalid_monitor_param_is_refused_by_the_api(deployment) -> None:
    airflow, _ = deployment
    with airflow.client() as client:
        airflow.wait_for_dag(client, "data_drift_monitor")
        answer = airflow.trigger(client, "data_drift_monitor", {"quarter": "Q4"})
    assert answer.status_code == 400
    assert "Invalid input for param quarter" in answer.text
