"""Three of a user's own models monitored in one real Airflow (api-server, scheduler and
dag-processor on PostgreSQL), as a team would run them.

The data is a real public dataset a PyPI package ships: vega_datasets' Seattle weather (daily,
2012-2015; label: did it rain). The models (``include/examples/seattle_weather.py``):
- ``seattle_rain_file``: a logistic regression trained outside the project, saved with joblib;
- ``seattle_rain_mlflow``: a random forest served from a real local MLflow registry (sqlite
  backend, local artifacts) as ``models:/seattle_rain_rf@champion``;
- ``seattle_rain_predictions``: no model, an inference log with scores and late labels.
One YAML file each in ``MES_CONFIG_DIR``, plus a broken one. Backfills over past periods fill
each model's store with one evaluation per period; the checks warn and email the model's own
recipients for the right model and period; a check with nothing to read fails its run; the MES
page lists the three stores.
"""

from __future__ import annotations

import time
from email.message import EmailMessage

import httpx
import pytest
import sqlalchemy as sa

from deploy.local_airflow import LocalAirflow
from deploy.mail_sink import smtp_connection_uri
from include.examples.seattle_weather import build_example
from tests.support.smtp import html_body, smtp_server

pytestmark = pytest.mark.integration

FILE, MLFLOW, PREDICTIONS = "seattle_rain_file", "seattle_rain_mlflow", "seattle_rain_predictions"
RECIPIENT = "weather-models@example.com"
BROKEN = """
name: broken_model
label: rain
date_column: date
numeric_features: [temp_max]
reference_period: 2012Q1
model: {source: predictions, score_column: score}
checks:
  - {name: drift, metric: data_drfit, soft_max: 0.5}
"""


@pytest.fixture(scope="module")
def mail():
    with smtp_server() as (port, sink):
        yield port, sink


@pytest.fixture(scope="module")
def deployment(postgres_server, tmp_path_factory, mail):
    """One Airflow for the three models, their MES in PostgreSQL; the example built fresh."""
    home = tmp_path_factory.mktemp("own_models")
    example = build_example(home / "example")
    (example.folder / "configs" / "broken_model.yaml").write_text(BROKEN)
    metadata_db = postgres_server.create_database("airflow_own")
    mes_db = postgres_server.create_database("mes_own")
    smtp_port, _ = mail
    airflow = LocalAirflow.create(
        home / "airflow",
        metadata_db=metadata_db,
        extra_env={
            "MES_HOME": str(home / "mes_home"),
            "MES_CONFIG_DIR": str(example.folder / "configs"),
            "AIRFLOW_CONN_MES_DB": mes_db.replace("+psycopg2", ""),
            "MES_TASK_RETRIES": "0",
            "MES_MONITOR_SCHEDULE": "none",
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection_uri(smtp_port),
        },
    )
    airflow.start()
    try:
        with airflow.client() as client:
            for model in (FILE, MLFLOW, PREDICTIONS):
                airflow.wait_for_dag(client, f"{model}__data_drift_monitor")
        yield airflow, mes_db
    finally:
        airflow.stop()
        postgres_server.drop_database(mes_db)
        postgres_server.drop_database(metadata_db)


def query(url: str, sql: str, **params) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(sa.text(sql), params)]
    engine.dispose()
    return rows


def stored(url: str, store: str) -> dict[str, str]:
    """Period -> worst check outcome recorded on it, for one store."""
    rows = query(
        url,
        "select e.name, c.outcome from mes.evaluations e left join mes.check_results c "
        "using (evaluation_id) where e.store_name = :store",
        store=store,
    )
    rank = {None: 0, "EMPTY": 1, "OK": 2, "WARNING": 3, "ERROR": 4}
    worst: dict[str, str] = {}
    for name, outcome in rows:
        if rank[outcome] >= rank[worst.get(name)]:
            worst[name] = outcome
    return worst


def backfill(airflow: LocalAirflow, client: httpx.Client, dag_id: str, start: str, end: str):
    """Backfill the DAG over [start, end] and wait for every run; run type and state by date."""
    answer = client.post(
        "/backfills",
        json={"dag_id": dag_id, "from_date": start, "to_date": end, "max_active_runs": 1},
    )
    assert answer.status_code == 200, answer.text
    backfill_id = answer.json()["id"]
    deadline = time.monotonic() + 600
    while client.get(f"/backfills/{backfill_id}").json()["completed_at"] is None:
        assert time.monotonic() < deadline, f"backfill of {dag_id} did not complete"
        time.sleep(3)
    runs = client.get(f"/dags/{dag_id}/dagRuns", params={"run_type": "backfill"}).json()
    for run in runs["dag_runs"]:
        airflow.wait_for_run(client, dag_id, run["dag_run_id"])
    runs = client.get(f"/dags/{dag_id}/dagRuns", params={"run_type": "backfill"}).json()
    return {r["logical_date"][:10]: r["state"] for r in runs["dag_runs"]}


def warnings_for(sink, dag_id: str) -> list[EmailMessage]:
    return [m for m in sink.messages if m["Subject"] == f'Airflow DAG "{dag_id}" issued a warning']


def test_a_broken_configuration_is_an_import_error_of_its_own(deployment) -> None:
    airflow, _ = deployment
    with airflow.client() as client:
        errors = client.get("/importErrors").json()["import_errors"]
        dags = {d["dag_id"] for d in client.get("/dags", params={"limit": 100}).json()["dags"]}
    assert [e["filename"].rsplit("/", 1)[-1] for e in errors] == ["model_config_errors.py"]
    assert "broken_model.yaml" in errors[0]["stack_trace"]
    assert "'data_drfit'" in errors[0]["stack_trace"]
    for model in (FILE, MLFLOW, PREDICTIONS):
        assert {f"{model}__data_drift_monitor", f"{model}__recursive_mes"} <= dags
    assert not any(d.startswith("broken_model") for d in dags)


def test_backfills_evaluate_each_closed_period_and_warn_for_the_right_model(
    deployment, mail
) -> None:
    airflow, mes_db = deployment
    _, sink = mail
    with airflow.client() as client:
        # Quarterly: runs due 2013-07-01 and 2013-10-01 evaluate 2013Q2 and 2013Q3.
        file_runs = backfill(
            airflow,
            client,
            f"{FILE}__data_drift_monitor",
            "2013-06-30T00:00:00Z",
            "2013-10-01T12:00:00Z",
        )
        # Monthly: the run due 2013-04-01 evaluates March.
        mlflow_runs = backfill(
            airflow,
            client,
            f"{MLFLOW}__data_drift_monitor",
            "2013-04-01T00:00:00Z",
            "2013-04-01T12:00:00Z",
        )
        # Monthly: the runs due 2014-08-01 and 2014-12-01 evaluate July and November.
        for due in ("2014-08-01", "2014-12-01"):
            predictions_runs = backfill(
                airflow,
                client,
                f"{PREDICTIONS}__data_drift_monitor",
                f"{due}T00:00:00Z",
                f"{due}T12:00:00Z",
            )

    assert file_runs == {"2013-07-01": "success", "2013-10-01": "success"}
    assert mlflow_runs == {"2013-04-01": "success"}
    assert predictions_runs == {"2014-08-01": "success", "2014-12-01": "success"}
    # Each model's own store, one evaluation per period; summer warns against a 2012 reference.
    assert stored(mes_db, "seattle_rain_file_mes") == {"2013Q2": "OK", "2013Q3": "WARNING"}
    assert stored(mes_db, "seattle_rain_mlflow_mes") == {"2013-03": "OK"}
    assert stored(mes_db, "seattle_rain_predictions_mes") == {
        "2014-07": "WARNING",
        "2014-11": "OK",
    }
    # One warning email per warning run, to the model's own recipients, naming model and period.
    for model, period in ((FILE, "2013Q3"), (PREDICTIONS, "2014-07")):
        [email] = warnings_for(sink, f"{model}__data_drift_monitor")
        assert email["To"] == RECIPIENT
        body = html_body(email)
        assert f"period <b>{period}</b>" in body
        assert f"model <b>{model}</b>" in body
        assert "data_drift" in body
    assert warnings_for(sink, f"{MLFLOW}__data_drift_monitor") == []


def test_a_check_with_nothing_to_read_fails_its_run_and_alerts(deployment, mail) -> None:
    airflow, mes_db = deployment
    _, sink = mail
    dag_id = f"{MLFLOW}__data_drift_monitor"
    with airflow.client() as client:
        # July 2013 had no rainy day: AUC is undefined, so the check "auc > 0.6" has nothing to
        # read on the evaluation this run built.
        answer = airflow.trigger(client, dag_id, {"period": "2013-07"})
        assert answer.status_code == 200, answer.text
        run_id = answer.json()["dag_run_id"]
        assert airflow.wait_for_run(client, dag_id, run_id) == "failed"
        tasks = client.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
    states = {t["task_id"]: t["state"] for t in tasks["task_instances"]}
    assert states["build_mes"] == "success"
    assert states["mes_warn"] == "failed"
    assert "2013-07" in stored(mes_db, "seattle_rain_mlflow_mes")
    failures = [
        m for m in sink.messages if m["Subject"] == f'Airflow DAG "{dag_id}" failed: task mes_warn'
    ]
    assert len(failures) == 1
    assert failures[0]["To"] == RECIPIENT
    assert "EMPTY" in html_body(failures[0])


def test_an_invalid_period_is_refused_by_the_api(deployment) -> None:
    airflow, _ = deployment
    with airflow.client() as client:
        answer = airflow.trigger(client, f"{FILE}__data_drift_monitor", {"period": "2013Q5"})
    assert answer.status_code == 400
    assert "Invalid input for param period" in answer.text


def test_the_mes_page_lists_the_three_stores(deployment) -> None:
    airflow, _ = deployment
    with airflow.client() as client:
        token = client.headers["Authorization"]
    answer = httpx.get(
        f"{airflow.url}/mes/api/stores", headers={"Authorization": token}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    stores = {store["store_name"]: store for store in answer.json()}
    assert {name: store["evaluations"] for name, store in stores.items()} == {
        "seattle_rain_file_mes": 2,
        "seattle_rain_mlflow_mes": 2,
        "seattle_rain_predictions_mes": 2,
    }
    assert stores["seattle_rain_file_mes"]["status"] == "WARNING"
    assert stores["seattle_rain_predictions_mes"]["status"] == "OK"
