"""
### build_project_mes: run recursive_mes for the project's quarters, and wait for it

The tutorial's *Build_Project_MES* scenario: it runs the `recursive_mes` DAG for the Param
`quarters` (default 2017Q2, 2017Q3, 2017Q4) and waits for that run; if it fails, this run fails.
"""

from __future__ import annotations

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag

from include.config import load_config
from mes_dag_defaults import dag_settings
from mes_model_dags import model_dag_ids, periods_param

# Read once per parse: the model of MES_CONFIG (the tutorial's by default).
_CONFIG = load_config()


@dag(
    dag_id="build_project_mes",
    schedule=None,
    **dag_settings(),
    doc_md=__doc__,
    tags=["mes", "model-monitoring"],
    params={"quarters": periods_param(list(_CONFIG.batch_periods) or ["latest"], tutorial=True)},
    # The quarters travel to recursive_mes as a list, not as the text of one.
    render_template_as_native_obj=True,
)
def build_project_mes():
    TriggerDagRunOperator(
        task_id="run_recursive_mes",
        trigger_dag_id=model_dag_ids(_CONFIG)[1],
        conf={"quarters": "{{ params.quarters }}"},
        wait_for_completion=True,
        poke_interval=5,
        allowed_states=["success"],
        failed_states=["failed"],
        # The waiting run would only retry a finished child; a new try starts a new child run.
        retries=0,
    )


build_project_mes_dag = build_project_mes()
