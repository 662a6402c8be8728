"""A SELECT-only role reads the MES: ``show``, ``check``, the MES page and the check operator.

Only writers create or upgrade the schema. A reader on a database without the MES, or with an
older schema, gets a message saying so; a reader asked to write is told its role may not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg2
import pytest
from airflow.sdk import DagRunState
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from include.checks import CheckOutcome, CheckResult
from include.cli import main
from include.errors import StoreNotCreatedError, StorePermissionError
from include.mes.records import EvaluationRecord
from include.mes.store import ModelEvaluationStore
from include.mes_web.app import create_app
from include.periods import Period
from tests.support.airflow import TaskEndRecorder, task_states
from tests.support.dags.mes_check_dag import dag
from tests.support.mes_versions import create_legacy_store

pytestmark = pytest.mark.integration


def record(period: str, data_drift: float) -> EvaluationRecord:
    return EvaluationRecord(
        store_name="the_MES",
        model_name="fraud_authorization",
        model_version="2017Q1-test",
        period=Period.parse(period),
        row_count=500,
        metrics={"row_count": 500.0, "auc": 0.8, "data_drift": data_drift},
    )


def _admin(url: str):
    conn = psycopg2.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    conn.autocommit = True
    return conn


@pytest.fixture
def reader(postgres_url) -> Iterator[tuple[str, str]]:
    """(owner URL, reader URL): a fresh database and a role that may only connect and SELECT."""
    role = f"mes_reader_{uuid.uuid4().hex[:8]}"
    database = make_url(postgres_url).database
    with _admin(postgres_url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE ROLE {role} LOGIN")
        cur.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
    reader_url = make_url(postgres_url).set(username=role, password=None)
    yield postgres_url, reader_url.render_as_string(hide_password=False)
    conn = _admin(postgres_url)
    with conn.cursor() as cur:
        cur.execute(f"DROP OWNED BY {role}")
        cur.execute(f"DROP ROLE {role}")
    conn.close()


def grant_select(owner_url: str, role_url: str) -> None:
    role = make_url(role_url).username
    with _admin(owner_url) as conn, conn.cursor() as cur:
        cur.execute(f"GRANT USAGE ON SCHEMA mes TO {role}")
        cur.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA mes TO {role}")


@pytest.fixture
def readable(reader) -> tuple[str, str, dict[str, str]]:
    """A MES with Q3 (drift 0.30) and Q4 (drift 0.62) written by its owner, readable by the
    reader; (owner URL, reader URL, period -> evaluation id)."""
    owner, reader_url = reader
    with ModelEvaluationStore.open(owner) as store:
        ids = {q: store.save(record(q, d)) for q, d in (("2017Q3", 0.30), ("2017Q4", 0.62))}
    grant_select(owner, reader_url)
    return owner, reader_url, ids


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    def use(url: str) -> None:
        monkeypatch.setenv("MES_HOME", str(tmp_path))
        monkeypatch.setenv("MES_DATABASE_URL", url)
        for name in ("MES_CONFIG", "MES_CONFIG_DIR", "MES_DATASETS"):
            monkeypatch.delenv(name, raising=False)

    return use


def test_show_and_check_work_for_a_select_only_role(readable, cli_env, capsys) -> None:
    _, reader_url, _ = readable
    cli_env(reader_url)

    assert main(["show"]) == 0
    out = capsys.readouterr().out
    assert "2017Q3" in out
    assert "2017Q4" in out
    assert main(["check", "2017Q4"]) == 3
    assert "outcome: WARNING" in capsys.readouterr().out


def test_the_mes_page_works_for_a_select_only_role(readable) -> None:
    _, reader_url, _ = readable
    app = create_app(lambda: ModelEvaluationStore.open(reader_url, read_only=True))
    with TestClient(app) as client:
        page = client.get("/")
        stores = client.get("/api/stores")
    assert page.status_code == 200
    assert "the_MES" in page.text
    assert [s["store_name"] for s in stores.json()] == ["the_MES"]


def test_the_check_operator_branches_for_a_select_only_role(
    readable, airflow_db, monkeypatch
) -> None:
    _, reader_url, ids = readable
    uri = make_url(reader_url).set(drivername="postgres").render_as_string(hide_password=False)
    monkeypatch.setenv("AIRFLOW_CONN_MES_DB", uri)
    recorder = TaskEndRecorder(["outcome"])
    recorder.attach(dag.get_task("mes_check"), monkeypatch)

    dag_run = dag.test(run_conf={**dag.params.dump(), "evaluation_id": ids["2017Q4"]})

    # It warns (branching and alerting work), though it could not record the outcome.
    assert dag_run.state == DagRunState.SUCCESS
    assert recorder.xcoms.get("outcome") == "WARNING"
    assert task_states(dag_run)["send_warning"] == "success"
    assert task_states(dag_run)["quiet_end"] == "skipped"


def test_a_reader_asked_to_write_is_told_its_role_may_not(readable) -> None:
    owner, reader_url, ids = readable
    with ModelEvaluationStore.open(reader_url, read_only=True) as store:
        with pytest.raises(StorePermissionError, match="read-only role can read the store"):
            store.save(record("2017Q4", 0.9))
        with pytest.raises(StorePermissionError, match="nothing was written"):
            store.record_checks(
                ids["2017Q4"],
                [CheckResult("drift", "data_drift", CheckOutcome.OK, 0.1, "fine")],
            )
    # Opening as a writer needs CREATE (it would upgrade the schema): refused, said so.
    with pytest.raises(StorePermissionError, match="may not do this"):
        ModelEvaluationStore.open(reader_url)
    with ModelEvaluationStore.open(owner) as store:
        assert store.get(ids["2017Q4"]).metrics["data_drift"] == 0.62


def test_a_reader_on_a_database_without_the_mes_is_told_so(reader, cli_env, capsys) -> None:
    _, reader_url = reader
    with pytest.raises(StoreNotCreatedError, match="holds no MES yet: evaluate a period first"):
        ModelEvaluationStore.open(reader_url, read_only=True)
    cli_env(reader_url)

    assert main(["show"]) == 2
    err = capsys.readouterr().err
    assert "holds no MES yet" in err
    assert "Traceback" not in err


def test_a_reader_on_an_older_schema_is_told_to_let_a_writer_upgrade_it(reader, capsys) -> None:
    owner, reader_url = reader
    create_legacy_store(owner, 1)  # the store as version 1 of the code created it
    grant_select(owner, reader_url)

    with pytest.raises(Exception, match="schema version 1 and this code reads version 2"):
        ModelEvaluationStore.open(reader_url, read_only=True)
