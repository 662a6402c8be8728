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
from include.workflow import generate_tutorial_data

pytestmark = pytest.mark.integration

QUARTERS = ["2017Q2", "2017Q3", "2017Q4"]


@pytest.fixture(scope="module")
def deployment(postgres_server, tmp_path_factory):
    """A running deployment with its metadata and its MES in PostgreSQL, tutorial data ready."""
    metadata_db = postgres_server.create_database("airflow_meta")
    mes_db = postgres_server.create_database("mes_e2e")
    home = tmp_path_factory.mktemp("deployment")
    mes_home = home / "mes_home"
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
