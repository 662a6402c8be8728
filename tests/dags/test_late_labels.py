"""data_drift_monitor when labels arrive late, with dag.test(): PostgreSQL MES, real SMTP server.

The tutorial's data is generated with the labels of the last 120 days of 2017 not in yet: 2017Q3
is evaluated with about 70 % of its labels, 2017Q4 with none. A check on ``estimated_auc`` warns
and emails before any label exists; once the labels land (the same data generated again without
the delay), the next run's ``recheck_labels`` evaluates 2017Q3 again: one evaluation per period,
realised performance beside the estimate.
"""

from __future__ import annotations

import json
import os
import runpy
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from airflow.sdk import DagRunState, TaskInstanceState

from include.config import DEFAULT_CONFIG_PATH, load_config
from include.data.storage import open_dataset_store
from include.tutorial.datasets import generate_tutorial_data
from tests.dags.conftest import run
from tests.support.airflow import task_states
from tests.support.smtp import html_body

pytestmark = pytest.mark.integration

SUCCESS, SKIPPED = TaskInstanceState.SUCCESS, TaskInstanceState.SKIPPED
ROWS = 3_000
DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
QUIET = {"drift_threshold": 0.99}  # the data drift check stays OK: no email from it


@pytest.fixture(scope="module")
def monitor():
    from dags.data_drift_monitor import data_drift_monitor_dag

    return data_drift_monitor_dag


@pytest.fixture
def delayed(project) -> str:
    """The tutorial's data with the labels of 2017-09-03 onwards not in yet."""
    write_data(label_delay_days=120)
    return project


def write_data(**settings) -> None:
    datasets = open_dataset_store(None)
    generate_tutorial_data(datasets, load_config(), transactions_per_quarter=ROWS, **settings)


def stored(url: str) -> dict[str, dict]:
    """Period -> its evaluation's id and metrics."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select name, evaluation_id, metrics from mes.evaluations"))
        found = {name: {"id": evaluation_id, **metrics} for name, evaluation_id, metrics in rows}
    engine.dispose()
    return found


def airflow_rows(query: str, **parameters) -> list:
    engine = sa.create_engine(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with engine.connect() as conn:
        rows = conn.execute(sa.text(query), parameters).scalars().all()
    engine.dispose()
    return [json.loads(row) if isinstance(row, str) else row for row in rows]


def returned(dag_run, task_id: str):
    [value] = airflow_rows(
        "select value from xcom where dag_id = :dag and run_id = :run and task_id = :task "
        "and key = 'return_value'",
        dag=dag_run.dag_id,
        run=dag_run.run_id,
        task=task_id,
    )
    return value


def asset_events() -> list[dict]:
    return airflow_rows(
        "select e.extra from asset_event e join asset a on a.id = e.asset_id "
        "where a.name = 'the_MES' order by e.id"
    )


def test_labels_that_land_are_evaluated_again_by_the_next_run(monitor, delayed) -> None:
    assert run(monitor, quarter="2017Q3", **QUIET).state == DagRunState.SUCCESS
    first = run(monitor, quarter="2017Q4", **QUIET)

    assert first.state == DagRunState.SUCCESS
    assert task_states(first)["recheck_labels"] == SUCCESS
    # 2017Q3's labels are as they were: nothing to evaluate again
    assert returned(first, "recheck_labels") == {
        "evaluation_ids": [],
        "periods": [],
        "rechecked": [],
    }
    before = stored(delayed)
    assert 0.6 < before["2017Q3"]["label_share"] < 0.75
    assert before["2017Q4"]["label_share"] == 0.0
    assert "auc" not in before["2017Q4"]
    events = len(asset_events())

    write_data()  # the labels land
    second = run(monitor, quarter="2017Q4", **QUIET)

    assert second.state == DagRunState.SUCCESS
    after = stored(delayed)
    assert sorted(after) == ["2017Q3", "2017Q4"]  # one evaluation per period, replaced
    q3 = after["2017Q3"]
    done = returned(second, "recheck_labels")
    assert done["periods"] == ["2017Q3"]
    assert done["evaluation_ids"] == [q3["id"]]
    assert done["rechecked"][0]["replaced"] == before["2017Q3"]["id"]
    assert q3["label_share"] == 1.0
    # realised beside estimated in one evaluation; the estimate is the one made before
    assert q3["estimated_auc"] == pytest.approx(before["2017Q3"]["estimated_auc"])
    assert q3["estimated_auc_ci_low"] <= q3["auc"] <= q3["estimated_auc_ci_high"]
    assert after["2017Q4"]["label_share"] == 1.0  # build_mes evaluated its own period again
    # build_mes's event, then recheck_labels's naming the period evaluated again
    new_events = asset_events()[events:]
    assert len(new_events) == 2
    assert new_events[1]["periods"] == ["2017Q3"]
    assert new_events[1]["evaluation_ids"] == [q3["id"]]


def test_a_run_with_nothing_to_recheck_adds_no_asset_event(monitor, project) -> None:
    events = len(asset_events())
    dag_run = run(monitor, quarter="2017Q4", **QUIET)
    assert task_states(dag_run)["recheck_labels"] == SUCCESS
    assert len(asset_events()) == events + 1  # build_mes's only


@pytest.fixture
def estimated_auc_monitor(tmp_path, monkeypatch):
    """The tutorial's monitor with one more check: estimated AUC of at least 0.80."""
    settings = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    settings["checks"].append(
        {"name": "estimated AUC >= 0.80", "metric": "estimated_auc", "soft_min": 0.80}
    )
    path = tmp_path / "fraud_tutorial.yaml"
    path.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("MES_CONFIG", str(path))
    return runpy.run_path(str(DAGS_FOLDER / "data_drift_monitor.py"))["data_drift_monitor_dag"]


def test_a_check_on_the_estimated_auc_warns_before_any_label_and_the_labels_confirm_it(
    estimated_auc_monitor, delayed, smtp_sink
) -> None:
    dag_run = run(estimated_auc_monitor, quarter="2017Q4", **QUIET)

    assert dag_run.state == DagRunState.SUCCESS
    assert task_states(dag_run)["send_warning"] == SUCCESS
    q4 = stored(delayed)["2017Q4"]
    assert "auc" not in q4
    assert q4["estimated_auc"] < 0.80
    [message] = smtp_sink.messages
    body = html_body(message)
    assert "estimated AUC &gt;= 0.80" in body
    assert f"{q4['estimated_auc']:.4g}" in body
    assert "soft minimum 0.8" in body

    write_data()  # the labels land: the realised AUC confirms what the estimate said
    run(estimated_auc_monitor, quarter="2017Q4", **QUIET)
    q4 = stored(delayed)["2017Q4"]
    assert q4["auc"] < 0.80
    assert q4["estimated_auc_ci_low"] <= q4["auc"] <= q4["estimated_auc_ci_high"]
