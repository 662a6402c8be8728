"""MESCheckOperator in real ``dag.test()`` runs against a real MES: branches, XComs, failures.

The DAG is ``tests/support/dags/mes_check_dag.py``: the check step of the data drift monitor with
the tutorial's check ``data drift < 0.45`` (soft maximum from the Param ``drift_threshold``, hard
maximum 0.8) and ``auc >= 0.6``, branching to ``send_warning`` or ``quiet_end``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from airflow.sdk import DagRunState, TaskInstanceState
from sqlalchemy.engine import make_url

from include.mes.records import EvaluationRecord
from include.mes.store import ModelEvaluationStore
from include.periods import Period
from tests.support.airflow import TaskEndRecorder, task_states
from tests.support.dags.mes_check_dag import dag

pytestmark = pytest.mark.integration

SUCCESS, SKIPPED = TaskInstanceState.SUCCESS, TaskInstanceState.SKIPPED
FAILED, UPSTREAM_FAILED = TaskInstanceState.FAILED, TaskInstanceState.UPSTREAM_FAILED


@dataclass
class CheckRun:
    """What a user sees of one run: its state, each task's state, the check task's XComs."""

    state: str
    tasks: dict[str, Any]
    outcome: str | None
    results: list[dict[str, Any]]
    evaluation: dict[str, Any] | None
    error: str | None

    def result(self, name: str) -> dict[str, Any]:
        return next(r for r in self.results if r["name"] == name)


@pytest.fixture
def run_monitor(airflow_db, monkeypatch):
    """Run the check DAG with ``dag.test()`` and return a CheckRun."""
    recorder = TaskEndRecorder(["outcome", "results", "evaluation"])
    recorder.attach(dag.get_task("mes_check"), monkeypatch)

    def run(**params: Any) -> CheckRun:
        # Every param, every time: dag.test() runs tasks in this process and a run's conf is
        # written into the tasks' Param objects, where it would outlive the run.
        dag_run = dag.test(run_conf={**dag.params.dump(), **params})
        return CheckRun(
            state=dag_run.state,
            tasks=task_states(dag_run),
            outcome=recorder.xcoms.get("outcome"),
            results=recorder.xcoms.get("results") or [],
            evaluation=recorder.xcoms.get("evaluation"),
            error=recorder.error,
        )

    return run


@pytest.fixture
def mes_url(postgres_url, monkeypatch) -> str:
    """A fresh PostgreSQL MES, reachable from Airflow as the connection ``mes_db``."""
    uri = make_url(postgres_url).set(drivername="postgres").render_as_string(hide_password=False)
    monkeypatch.setenv("AIRFLOW_CONN_MES_DB", uri)
    return postgres_url


def save_evaluation(
    url: str | None, metrics: dict[str, float], quarter: str = "2017Q4", store: str = "the_MES"
) -> str:
    record = EvaluationRecord(
        store_name=store,
        model_name="fraud_authorization",
        model_version="2017Q1-test",
        period=Period.parse(quarter),
        row_count=3_000,
        metrics=metrics,
    )
    with ModelEvaluationStore.open(url) as store:
        return store.save(record)


def test_drift_above_the_soft_maximum_takes_the_warning_branch(mes_url, run_monitor):
    save_evaluation(mes_url, {"data_drift": 0.1, "auc": 0.8}, quarter="2017Q3")
    evaluation_id = save_evaluation(mes_url, {"data_drift": 0.51, "auc": 0.8})

    run = run_monitor()

    assert run.state == DagRunState.SUCCESS
    assert run.tasks == {"mes_check": SUCCESS, "send_warning": SUCCESS, "quiet_end": SKIPPED}
    assert run.outcome == "WARNING"
    assert run.results == [
        {
            "name": "data drift < 0.45",
            "metric": "data_drift",
            "outcome": "WARNING",
            "value": 0.51,
            "message": "data_drift = 0.51 is above the soft maximum 0.45",
        },
        {
            "name": "auc >= 0.6",
            "metric": "auc",
            "outcome": "OK",
            "value": 0.8,
            "message": "auc = 0.8 is in range (hard min 0.6)",
        },
    ]
    assert run.evaluation == {
        "evaluation_id": evaluation_id,
        "name": "2017Q4",
        "model_version": "2017Q1-test",
        "labels": {},
    }
    # The MES keeps the outcome with the evaluation it was checked on, and which run checked it.
    with ModelEvaluationStore.open(mes_url) as store:
        recorded = store.check_results("the_MES")
    assert list(recorded) == [evaluation_id]
    assert [(c.check_name, c.outcome, c.value) for c in recorded[evaluation_id]] == [
        ("auc >= 0.6", "OK", 0.8),
        ("data drift < 0.45", "WARNING", 0.51),
    ]
    assert recorded[evaluation_id][0].checked_by["dag_id"] == "test_mes_check"


def test_drift_below_the_soft_maximum_ends_quietly(mes_url, run_monitor):
    save_evaluation(mes_url, {"data_drift": 0.40, "auc": 0.8})

    run = run_monitor()

    assert run.state == DagRunState.SUCCESS
    assert run.tasks == {"mes_check": SUCCESS, "send_warning": SKIPPED, "quiet_end": SUCCESS}
    assert run.outcome == "OK"
    assert [r["outcome"] for r in run.results] == ["OK", "OK"]


def test_drift_above_the_hard_maximum_fails_the_run(mes_url, run_monitor):
    save_evaluation(mes_url, {"data_drift": 0.91, "auc": 0.8})

    run = run_monitor()

    assert run.state == DagRunState.FAILED
    assert run.tasks == {
        "mes_check": FAILED,
        "send_warning": UPSTREAM_FAILED,
        "quiet_end": UPSTREAM_FAILED,
    }
    assert "1 check(s) ended in ERROR" in run.error
    assert "data drift < 0.45: data_drift = 0.91 is above the hard maximum 0.8" in run.error
    assert "auc >= 0.6" not in run.error
    # The results are kept even though the task failed, for the UI and the failure alert.
    assert run.outcome == "ERROR"
    assert run.result("data drift < 0.45")["outcome"] == "ERROR"
    with ModelEvaluationStore.open(mes_url) as store:
        [recorded] = store.check_results("the_MES").values()
    assert {c.check_name: c.outcome for c in recorded}["data drift < 0.45"] == "ERROR"


def test_missing_metrics_are_empty_and_end_quietly(mes_url, run_monitor):
    save_evaluation(mes_url, {"data_drift": 0.51})

    run = run_monitor(drift_metric="no_such_metric")

    assert run.state == DagRunState.SUCCESS
    assert run.tasks == {"mes_check": SUCCESS, "send_warning": SKIPPED, "quiet_end": SUCCESS}
    assert run.outcome == "EMPTY"
    assert run.result("data drift < 0.45")["message"] == (
        "metric no_such_metric is missing from the evaluation"
    )
    assert run.result("auc >= 0.6")["message"] == "metric auc is missing from the evaluation"


def test_empty_store_is_empty_and_ends_quietly(mes_url, run_monitor):
    run = run_monitor()

    assert run.state == DagRunState.SUCCESS
    assert run.tasks == {"mes_check": SUCCESS, "send_warning": SKIPPED, "quiet_end": SUCCESS}
    assert run.outcome == "EMPTY"
    assert run.evaluation is None
    assert {r["message"] for r in run.results} == {"the store 'the_MES' holds no evaluation"}


def test_the_run_s_own_evaluation_is_checked_not_the_store_s_latest(mes_url, run_monitor):
    built = save_evaluation(mes_url, {"data_drift": 0.51, "auc": 0.8}, quarter="2017Q2")
    save_evaluation(mes_url, {"data_drift": 0.1, "auc": 0.8}, quarter="2017Q4")

    run = run_monitor(evaluation_id=built)

    assert run.outcome == "WARNING"
    assert run.evaluation["evaluation_id"] == built
    assert run.evaluation["name"] == "2017Q2"
    assert run.tasks["send_warning"] == SUCCESS


def test_empty_on_the_run_s_own_evaluation_fails_the_run(mes_url, run_monitor):
    built = save_evaluation(mes_url, {"auc": 0.8})

    run = run_monitor(evaluation_id=built)

    assert run.state == DagRunState.FAILED
    assert run.tasks["mes_check"] == FAILED
    assert "found nothing to judge (EMPTY)" in run.error
    assert "metric data_drift is missing from the evaluation" in run.error
    assert run.outcome == "EMPTY"


def test_an_evaluation_of_another_store_or_none_at_all_fails(mes_url, run_monitor):
    other = save_evaluation(mes_url, {"data_drift": 0.1, "auc": 0.8}, store="churn_MES")

    run = run_monitor(evaluation_id=other)
    assert run.state == DagRunState.FAILED
    assert "belongs to store 'churn_MES'" in run.error

    run = run_monitor(evaluation_id="no-such-evaluation")
    assert run.state == DagRunState.FAILED
    assert "cannot check evaluation 'no-such-evaluation'" in run.error


def test_threshold_comes_from_the_templated_param(mes_url, run_monitor):
    save_evaluation(mes_url, {"data_drift": 0.51, "auc": 0.8})

    run = run_monitor(drift_threshold=0.55)

    assert run.outcome == "OK"
    assert run.tasks["quiet_end"] == SUCCESS
    assert run.result("data drift < 0.45")["message"] == (
        "data_drift = 0.51 is in range (soft max 0.55, hard max 0.8)"
    )


def test_invalid_checks_fail_the_task_with_the_reason(mes_url, run_monitor):
    save_evaluation(mes_url, {"data_drift": 0.51, "auc": 0.8})

    run = run_monitor(drift_threshold=0.9)  # a soft maximum above the hard maximum 0.8

    assert run.state == DagRunState.FAILED
    assert run.tasks["mes_check"] == FAILED
    assert "invalid checks for task mes_check" in run.error
    assert "soft_max = 0.9 is above hard_max = 0.8" in run.error
    assert run.outcome is None  # nothing was checked, so nothing was pushed


def test_without_the_mes_db_connection_reads_the_embedded_store(run_monitor, monkeypatch, tmp_path):
    monkeypatch.delenv("AIRFLOW_CONN_MES_DB", raising=False)
    monkeypatch.delenv("MES_DATABASE_URL", raising=False)
    monkeypatch.setenv("MES_HOME", str(tmp_path))
    evaluation_id = save_evaluation(None, {"data_drift": 0.51, "auc": 0.8})
    assert (tmp_path / "mes.sqlite").exists()

    run = run_monitor()

    assert run.outcome == "WARNING"
    assert run.evaluation["evaluation_id"] == evaluation_id
    assert run.tasks["send_warning"] == SUCCESS
