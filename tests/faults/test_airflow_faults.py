"""Faults met by a real Airflow (api-server, scheduler and dag-processor as processes) while it
evaluates into a MES on a PostgreSQL server of this module's own, which it may restart.

1. The task process of an evaluation is killed (SIGKILL) in the middle of its save: the task's
   retry leaves one complete evaluation for the model version and period, the run succeeds.
2. The MES's PostgreSQL is restarted while a run's evaluations are being saved: the run recovers
   through its retries, with every evaluation of the run stored and the earlier ones intact.
3. The mail server is down when ``send_warning`` runs: the task fails and is retried, and once
   the server is back exactly one warning arrives; the retry leaves the MES as it was.
4. The MES's PostgreSQL is restarted while the check step (``mes_warn``) reads the evaluation its
   run built: the check is retried and the run succeeds, as for an evaluation.

To fault a save at a known point, the test holds a SHARE lock on ``mes.evaluation_samples``: a
saving task then waits inside its transaction, its evaluation row (or the deletion of the one it
replaces) written but not committed, where the test sees it in ``pg_stat_activity``. An
exclusive lock on ``mes.evaluations``, queued behind such a save, holds the check step's read.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from email.utils import getaddresses

import httpx
import psutil
import psycopg2
import pytest

from deploy.local_airflow import LocalAirflow, free_port
from deploy.mail_sink import smtp_connection_uri
from include.db import libpq_url
from tests.support.postgres import PostgresServer, restart_local_cluster, start_local_cluster
from tests.support.smtp import html_body, smtp_server_at
from tests.support.tutorial_mes import build_tutorial_mes

pytestmark = pytest.mark.integration

STORE = "the_MES"
MODEL = "fraud_authorization"
RECIPIENTS = ["fraud-team@example.com", "risk-desk@example.com"]
RETRY_DELAY_SECONDS = 3
CHILD_TABLES = ("feature_drift", "column_statistics", "evaluation_samples", "check_results")


@pytest.fixture(scope="module")
def mes_cluster() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of this module's own: restarting it disturbs no other test."""
    server = start_local_cluster()
    if server is None:
        pytest.fail(
            "these tests restart the MES's PostgreSQL server, so they start a throwaway cluster "
            "of their own: install the PostgreSQL server binaries (initdb, pg_ctl; Debian: "
            "apt-get install postgresql)",
            pytrace=False,
        )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def deployment(postgres_server, mes_cluster, tmp_path_factory):
    """One Airflow for the module (metadata on the shared server), its MES on the module's own
    cluster holding the tutorial's 2017Q2-Q4 (small data); the mail server is down."""
    home = tmp_path_factory.mktemp("airflow_faults")
    mes_db = mes_cluster.create_database("mes_faults")
    build_tutorial_mes(mes_db, home / "mes_home", rows_per_quarter=2_000)
    metadata_db = postgres_server.create_database("airflow_faults")
    smtp_port = free_port()
    airflow = LocalAirflow.create(
        home / "airflow",
        metadata_db=metadata_db,
        extra_env={
            "MES_HOME": str(home / "mes_home"),
            "AIRFLOW_CONN_MES_DB": libpq_url(mes_db),
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection_uri(smtp_port),
            "MES_ALERT_RECIPIENTS": ", ".join(RECIPIENTS),
            "MES_TASK_RETRIES": "2",
            "MES_RETRY_DELAY_SECONDS": str(RETRY_DELAY_SECONDS),
            "MES_MONITOR_SCHEDULE": "none",
        },
    )
    airflow.start()
    try:
        with airflow.client() as client:
            for dag_id in ("recursive_mes", "data_drift_monitor"):
                airflow.wait_for_dag(client, dag_id)
        yield airflow, mes_db, smtp_port
    finally:
        airflow.stop()
        postgres_server.drop_database(metadata_db)


# -- the MES as a user reads it -------------------------------------------------------------


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(libpq_url(url))) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def stored(mes_db: str) -> dict[str, dict]:
    """Evaluation id -> everything the store holds of it: its row, the number of its rows in
    each child table, its check results. Child rows of no evaluation show as ids of their own."""
    found = {
        evaluation_id: {"name": name, "version": version, "created_at": created, "row": row}
        for evaluation_id, name, version, created, row in query(
            mes_db,
            "select evaluation_id, name, model_version, created_at, "
            "row_to_json(e)::text from mes.evaluations e where store_name = %s",
            (STORE,),
        )
    }
    for table in CHILD_TABLES:
        for evaluation_id, count in query(
            mes_db, f"select evaluation_id, count(*) from mes.{table} group by evaluation_id"
        ):
            found.setdefault(evaluation_id, {"name": None})[table] = count
    for evaluation_id, checks in query(
        mes_db,
        "select evaluation_id, json_agg(c order by check_name)::text from mes.check_results c "
        "group by evaluation_id",
    ):
        found[evaluation_id]["checks"] = checks
    return found


def by_name(evaluations: dict[str, dict], name: str) -> list[str]:
    return [eid for eid, e in evaluations.items() if e["name"] == name]


def children(evaluation: dict) -> dict[str, int]:
    """An evaluation's rows in the tables that hold its parts (check results aside)."""
    return {table: evaluation.get(table, 0) for table in CHILD_TABLES[:3]}


# -- holding a save where the test can see it ------------------------------------------------


@contextlib.contextmanager
def samples_locked(mes_db: str) -> Iterator[None]:
    """Hold a SHARE lock on ``mes.evaluation_samples``: a save waits for it, mid-transaction."""
    conn = psycopg2.connect(libpq_url(mes_db))
    try:
        with conn.cursor() as cur:
            cur.execute("LOCK TABLE mes.evaluation_samples IN SHARE MODE")
        yield
    finally:
        # The connection may be gone already (a restarted server ends it): the lock is too.
        with contextlib.suppress(psycopg2.Error):
            conn.rollback()
        conn.close()


def lock_waiters(mes_db: str, statement: str, count: int = 1, timeout: float = 240) -> list[int]:
    """Wait until ``count`` statements like ``statement`` (a LIKE pattern) wait for a lock; the
    client ports of their connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ports = [
            port
            for (port,) in query(
                mes_db,
                "select client_port from pg_stat_activity where datname = current_database() "
                "and wait_event_type = 'Lock' and query ilike %s",
                (statement,),
            )
        ]
        if len(ports) >= count:
            return ports
        time.sleep(0.2)
    raise AssertionError(f"{count} statement(s) like {statement!r} did not wait in {timeout} s")


def waiting_saves(mes_db: str, count: int) -> list[int]:
    """Wait until ``count`` saves wait for ``mes.evaluation_samples``."""
    return lock_waiters(mes_db, "%mes.evaluation_samples%", count)


def task_process(airflow: LocalAirflow, client_port: int) -> psutil.Process:
    """The process holding the connection from ``client_port``: a task this Airflow runs."""
    [pid] = {
        c.pid
        for c in psutil.net_connections(kind="tcp")
        if c.laddr and c.laddr.port == client_port and c.pid
    }
    process = psutil.Process(pid)
    ours = {p.pid for p in airflow.processes}
    assert ours & {parent.pid for parent in process.parents()}, (
        f"process {pid} ({process.cmdline()}) is not one of this Airflow's tasks"
    )
    return process


# -- the REST API ------------------------------------------------------------------------------


def trigger(airflow: LocalAirflow, client: httpx.Client, dag_id: str, conf: dict) -> str:
    answer = airflow.trigger(client, dag_id, conf)
    assert answer.status_code == 200, answer.text
    return answer.json()["dag_run_id"]


def task_instances(client: httpx.Client, dag_id: str, run_id: str) -> dict[tuple, dict]:
    """(task id, map index) -> the task instance, of one run."""
    answer = client.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
    return {(t["task_id"], t["map_index"]): t for t in answer.json()["task_instances"]}


def wait_for_task_state(
    client: httpx.Client, dag_id: str, run_id: str, task_id: str, state: str
) -> dict:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        answer = client.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        if answer.status_code == 200 and answer.json()["state"] == state:
            return answer.json()
        run = client.get(f"/dags/{dag_id}/dagRuns/{run_id}").json()
        assert run["state"] in ("queued", "running"), f"run {run_id} ended {run['state']} first"
        # Polled well within the retry delay, so the test acts before the retry starts.
        time.sleep(0.25)
    raise AssertionError(f"{task_id} of {run_id} did not reach {state}")


# -- the faults --------------------------------------------------------------------------------


def test_a_task_killed_mid_save_is_retried_into_one_complete_evaluation(deployment) -> None:
    airflow, mes_db, _ = deployment
    before = stored(mes_db)
    [earlier_q2] = by_name(before, "2017Q2")
    with airflow.client() as client:
        with samples_locked(mes_db):
            run_id = trigger(airflow, client, "recursive_mes", {"quarters": ["2017Q2"]})
            # The task has deleted the old Q2's drift and statistics in its transaction and waits
            # to delete its sample: kill it there.
            [port] = waiting_saves(mes_db, 1)
            process = task_process(airflow, port)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            # Until the retry, a reader sees the earlier Q2 whole: nothing of the killed save.
            assert stored(mes_db) == before
        assert airflow.wait_for_run(client, "recursive_mes", run_id) == "success"
        evaluate = task_instances(client, "recursive_mes", run_id)[("evaluate_quarter", 0)]

    assert evaluate["try_number"] == 2  # the killed try, then the retry that stored Q2
    after = stored(mes_db)
    [q2] = by_name(after, "2017Q2")
    assert q2 != earlier_q2
    assert after[q2]["version"] == before[earlier_q2]["version"]
    assert after[q2]["created_at"] > before[earlier_q2]["created_at"]
    # Complete: as many drift, statistics and sample rows as the fault-free Q2 had; nothing left
    # of the old Q2 or of the killed try.
    assert children(after[q2]) == children(before[earlier_q2])
    assert set(after) == set(before) - {earlier_q2} | {q2}
    for other in set(before) - {earlier_q2}:
        assert after[other] == before[other]


def test_a_restart_of_the_mes_server_during_a_run_is_recovered_by_retries(
    deployment, mes_cluster
) -> None:
    airflow, mes_db, _ = deployment
    months = ["2017-10", "2017-11"]
    before = stored(mes_db)
    [complete] = by_name(before, "2017Q4")
    with airflow.client() as client:
        with samples_locked(mes_db):
            run_id = trigger(airflow, client, "recursive_mes", {"quarters": months})
            waiting_saves(mes_db, len(months))
            # Both evaluations are written, uncommitted, when the server restarts.
            restart_local_cluster(mes_cluster)
        # The cut saves left nothing behind (their retries have not started yet).
        assert stored(mes_db) == before
        assert airflow.wait_for_run(client, "recursive_mes", run_id) == "success"
        tries = {
            key: ti["try_number"]
            for key, ti in task_instances(client, "recursive_mes", run_id).items()
            if key[0] == "evaluate_quarter"
        }

    assert tries == {("evaluate_quarter", 0): 2, ("evaluate_quarter", 1): 2}
    after = stored(mes_db)
    for evaluation_id, evaluation in before.items():
        assert after[evaluation_id] == evaluation
    new = {eid: e for eid, e in after.items() if eid not in before}
    assert sorted(e["name"] for e in new.values()) == months
    for evaluation in new.values():
        assert children(evaluation) == children(before[complete])


def test_a_warning_mailed_while_the_mail_server_is_down_arrives_once_when_it_is_back(
    deployment,
) -> None:
    airflow, mes_db, smtp_port = deployment
    with airflow.client() as client:
        run_id = trigger(airflow, client, "data_drift_monitor", {"quarter": "2017Q4"})
        failed = wait_for_task_state(
            client, "data_drift_monitor", run_id, "send_warning", "up_for_retry"
        )
        before_retry = stored(mes_db)
        with smtp_server_at(smtp_port) as sink:
            assert airflow.wait_for_run(client, "data_drift_monitor", run_id) == "success"
            received = list(sink.messages)
        tries = {
            key[0]: ti["try_number"]
            for key, ti in task_instances(client, "data_drift_monitor", run_id).items()
            if ti["state"] == "success"
        }

    assert failed["try_number"] == 1
    assert tries == {
        "build_mes": 1,
        "recheck_labels": 1,
        "mes_warn": 1,
        "compose_warning": 1,
        "send_warning": 2,
    }
    [message] = received
    assert message["Subject"] == 'Airflow DAG "data_drift_monitor" issued a warning'
    assert sorted(address for _, address in getaddresses([message["To"]])) == sorted(RECIPIENTS)
    # For this run's evaluation of Q4, the one the check warned on.
    [q4] = by_name(before_retry, "2017Q4")
    assert '"outcome":"WARNING"' in before_retry[q4]["checks"].replace(" ", "")
    body = html_body(message)
    assert f"period <b>2017Q4</b> of model <b>{MODEL}</b>" in body
    assert f"(evaluation {q4})" in body
    # The retry sent the email and touched nothing in the store.
    assert stored(mes_db) == before_retry


def test_a_restart_while_the_check_reads_its_evaluation_is_retried(deployment, mes_cluster) -> None:
    """The check step (``mes_warn``) cut off from the MES by a restart is a passing fault, as
    for an evaluation: retried, not failed at once."""
    airflow, mes_db, _ = deployment
    period = "2017-12"
    evaluations = psycopg2.connect(libpq_url(mes_db))
    try:
        with airflow.client() as client:
            with samples_locked(mes_db):
                # An OK outcome: the run then needs no mail server.
                conf = {"quarter": period, "drift_threshold": 1.0}
                run_id = trigger(airflow, client, "data_drift_monitor", conf)
                waiting_saves(mes_db, 1)
                # Queue an exclusive lock on mes.evaluations behind build_mes's save: granted
                # when the save commits, before mes_warn can read what it saved.
                locking = threading.Thread(
                    target=evaluations.cursor().execute,
                    args=("LOCK TABLE mes.evaluations IN ACCESS EXCLUSIVE MODE",),
                )
                locking.start()
                lock_waiters(mes_db, "LOCK TABLE mes.evaluations%")
            locking.join(timeout=60)
            assert not locking.is_alive()
            # mes_warn has opened the store and waits to read the run's evaluation.
            lock_waiters(mes_db, "%FROM mes.evaluations%WHERE mes.evaluations.evaluation_id =%")
            restart_local_cluster(mes_cluster)
            final = airflow.wait_for_run(client, "data_drift_monitor", run_id)
            check = client.get(
                f"/dags/data_drift_monitor/dagRuns/{run_id}/taskInstances/mes_warn"
            ).json()
    finally:
        with contextlib.suppress(psycopg2.Error):
            evaluations.close()

    assert (check["state"], check["try_number"]) == ("success", 2)
    assert final == "success"
    after = stored(mes_db)
    [built] = by_name(after, period)
    assert '"outcome":"OK"' in after[built]["checks"].replace(" ", "")
