"""End to end, as users run it: api-server, scheduler and dag-processor as real processes on a
PostgreSQL metadata database, DAGs triggered through the REST API v2 and through the UI's form.

`build_project_mes` triggers `recursive_mes` and waits for it; twice still leaves three
evaluations in the PostgreSQL MES. Invalid Params are refused with a 400 by the API.
`data_drift_monitor` warns by email whether triggered by the API or from the trigger form in
headless Chromium, and the MES page of the UI then shows the model's WARNING status.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from deploy.local_airflow import LocalAirflow
from deploy.mail_sink import smtp_connection_uri
from include.config import load_config
from include.data.storage import open_dataset_store
from include.tutorial.datasets import generate_tutorial_data
from tests.support.browser import chromium_page, log_in, output_folder
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


def query(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(sa.text(sql))]
    engine.dispose()
    return rows


def evaluations(url: str) -> list[str]:
    return [name for (name,) in query(url, "select name from mes.evaluations order by name")]


def q4_checks(url: str) -> list[tuple]:
    """The check outcomes the MES recorded on the 2017Q4 evaluation, with the run that checked."""
    return query(
        url,
        "select c.check_name, c.outcome, c.checked_by->>'run_id' from mes.check_results c "
        "join mes.evaluations e using (evaluation_id) where e.name = '2017Q4'",
    )


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
    assert q4_checks(mes_db) == [("data drift < 0.45", "WARNING", run_id)]
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


def test_data_drift_monitor_triggered_from_the_ui_form_warns_and_shows_in_the_mes_page(
    deployment, mail
) -> None:
    airflow, mes_db = deployment
    _, sink = mail
    sent_before = len(sink.messages)
    with airflow.client() as client:
        airflow.wait_for_dag(client, "data_drift_monitor")
        runs_before = {
            run["dag_run_id"]
            for run in client.get("/dags/data_drift_monitor/dagRuns").json()["dag_runs"]
        }
    screenshots = output_folder("ui_trigger")
    with chromium_page() as page:
        log_in(page, airflow.url, airflow.password)
        page.goto(f"{airflow.url}/dags/data_drift_monitor")
        page.get_by_role("button", name="Trigger").first.click()
        form = page.get_by_role("dialog")
        expect(form.locator("input[name='element_quarter']")).to_have_value("2017Q4")
        form.locator("input[name='element_drift_threshold']").fill("0.5")
        page.screenshot(path=screenshots / "trigger_form.png")
        form.get_by_role("button", name="Trigger").click()
        expect(form).to_be_hidden()

        with airflow.client() as client:
            [run] = [
                run
                for run in client.get("/dags/data_drift_monitor/dagRuns").json()["dag_runs"]
                if run["dag_run_id"] not in runs_before
            ]
            assert run["conf"]["drift_threshold"] == 0.5
            final = airflow.wait_for_run(client, "data_drift_monitor", run["dag_run_id"])
        assert final == "success"

        page.get_by_role("button", name="Browse").click()
        page.get_by_role("menuitem", name="Model evaluations").click()
        frame = page.frame_locator("iframe[title='Model evaluations']")
        expect(frame.locator("[data-status]").first).to_have_text("WARNING")
        frame.get_by_role("link", name="Open the store").click()
        expect(frame.locator("tr[data-evaluation]")).to_have_count(3)
        expect(frame.get_by_text(run["dag_run_id"])).to_be_visible()
        page.screenshot(path=screenshots / "mes_after_ui_trigger.png")

    [message] = sink.messages[sent_before:]
    assert message["Subject"] == 'Airflow DAG "data_drift_monitor" issued a warning'
    assert q4_checks(mes_db) == [("data drift < 0.45", "WARNING", run["dag_run_id"])]
