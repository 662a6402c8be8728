"""recursive_mes with dag.test(): one mapped evaluation per quarter into a PostgreSQL MES."""

from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa
from airflow.sdk import DagRunState, TaskInstanceState
from airflow.sdk.exceptions import ParamValidationError

from tests.dags.conftest import run
from tests.support.airflow import task_states

pytestmark = pytest.mark.integration

QUARTERS = ["2017Q2", "2017Q3", "2017Q4"]


@pytest.fixture(scope="module")
def recursive():
    from dags.recursive_mes import recursive_mes_dag

    return recursive_mes_dag


def stored(url: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select name, evaluation_id, (metrics->>'auc')::float from mes.evaluations "
                "order by name"
            )
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def asset_events() -> list[dict]:
    """The extras of the asset events in Airflow's metadata database, oldest first."""
    engine = sa.create_engine(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "select e.extra from asset_event e join asset a on a.id = e.asset_id "
                    "where a.name = 'the_MES' order by e.id"
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    return [json.loads(row) if isinstance(row, str) else row for row in rows]


def test_each_quarter_is_one_mapped_evaluation_in_the_mes(recursive, project, capfd) -> None:
    before = len(asset_events())
    capfd.readouterr()
    dag_run = run(recursive, quarters=QUARTERS)

    assert dag_run.state == DagRunState.SUCCESS
    # A healthy run prints no error (publish once logged "XCom not found" in every run).
    logged = capfd.readouterr()
    errors = [line for line in (logged.out + logged.err).splitlines() if "[error" in line.lower()]
    assert errors == []
    mapped = [ti for ti in dag_run.get_task_instances() if ti.task_id == "evaluate_quarter"]
    assert sorted(ti.map_index for ti in mapped) == [0, 1, 2]
    assert all(ti.state == TaskInstanceState.SUCCESS for ti in mapped)
    rows = stored(project)
    assert [name for name, _, _ in rows] == QUARTERS
    assert rows[0][2] > 0.75
    events = asset_events()
    assert len(events) == before + 1
    assert sorted(events[-1]["evaluation_ids"]) == sorted(row[1] for row in rows)
    assert events[-1]["quarters"] == QUARTERS


def test_running_again_replaces_the_evaluations(recursive, project) -> None:
    run(recursive, quarters=QUARTERS)
    run(recursive, quarters=QUARTERS)
    assert len(stored(project)) == 3


def test_a_quarter_without_data_fails_the_run_and_keeps_the_mes(recursive, project) -> None:
    run(recursive, quarters=["2017Q2"])
    kept = stored(project)

    dag_run = run(recursive, quarters=["2018Q1"])

    assert dag_run.state == DagRunState.FAILED
    assert task_states(dag_run)["evaluate_quarter"] == TaskInstanceState.FAILED
    assert stored(project) == kept


@pytest.mark.parametrize("quarters", [["2017Q5"], ["Q2"], [], ["2017Q2", "2017Q2"], "2017Q2"])
def test_the_param_schema_refuses_bad_quarters(recursive, airflow_db, quarters) -> None:
    with pytest.raises(ParamValidationError, match="Invalid input for param quarters"):
        run(recursive, quarters=quarters)


def test_an_unreachable_mes_fails_with_a_clear_message(recursive, project, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MES_DB", "postgresql://postgres@127.0.0.1:1/mes")
    dag_run = run(recursive, quarters=["2017Q2"])
    assert dag_run.state == DagRunState.FAILED
    assert task_states(dag_run)["prepare"] == TaskInstanceState.FAILED
