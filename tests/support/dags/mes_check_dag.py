"""The data drift monitor's check step alone, for the tests of ``MESCheckOperator``.

A DAG bundle of the test harness (``tests/support/airflow.py``) holds this folder: since Airflow
3.1, ``dag.test()`` runs only DAGs that a bundle's parsing has serialized.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param

from mes_check_operator import MESCheckOperator

with DAG(
    dag_id="test_mes_check",
    schedule=None,
    start_date=datetime(2017, 1, 1, tzinfo=UTC),
    catchup=False,
    default_args={"retries": 0},
    params={
        "drift_threshold": Param(0.45, type="number"),
        "drift_metric": Param("data_drift", type="string"),
        # Empty: check the store's latest evaluation; else the evaluation "this run built".
        "evaluation_id": Param("", type="string"),
    },
    doc_md=__doc__,
    tags=["test"],
) as dag:
    check = MESCheckOperator(
        task_id="mes_check",
        checks=[
            {
                "name": "data drift < 0.45",
                "metric": "{{ params.drift_metric }}",
                "soft_max": "{{ params.drift_threshold }}",
                "hard_max": 0.8,
            },
            {"name": "auc >= 0.6", "metric": "auc", "hard_min": 0.6},
        ],
        evaluation_id="{{ params.evaluation_id }}",
        warning_task_ids="send_warning",
        ok_task_ids="quiet_end",
    )
    check >> [EmptyOperator(task_id="send_warning"), EmptyOperator(task_id="quiet_end")]
