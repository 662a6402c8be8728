"""
### data_drift_monitor: build the MES, check data drift, email on a warning

The tutorial's *Data drift monitor* scenario.

1. `build_mes` evaluates the Param `quarter` (default `2017Q4`) into the model evaluation store.
2. `mes_warn` runs the check `data drift < 0.45` on the latest evaluation: data drift above the
   soft maximum (Param `drift_threshold`) is a WARNING; above `drift_error_threshold` an ERROR,
   which fails the run (and its failure alert fires).
3. On WARNING only, `compose_warning` and `send_warning` email the deployment's recipients
   (Variable `mes_alert_recipients`) through `smtp_default`: which checks warned, a link to this
   run, the run's log and the quarter's drift report attached. OK or EMPTY end at `quiet_end`.
"""

from __future__ import annotations

from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Param, dag, task

from mes_check_operator import MESCheckOperator
from mes_dag_defaults import (
    QUARTER_PATTERN,
    SENDER,
    SMTP_CONN_ID,
    dag_settings,
    monitor_schedule,
    open_workspace,
)

DRIFT_CHECK = {
    "name": "data drift < 0.45",
    "metric": "data_drift",
    "soft_max": "{{ params.drift_threshold }}",
    "hard_max": "{{ params.drift_error_threshold }}",
}


@dag(
    dag_id="data_drift_monitor",
    # Quarterly by default (MES_MONITOR_SCHEDULE changes it; "none": only from the UI or API).
    schedule=monitor_schedule(),
    **dag_settings(),
    doc_md=__doc__,
    tags=["mes", "model-monitoring", "drift"],
    params={
        "quarter": Param(
            "2017Q4",
            type="string",
            pattern=QUARTER_PATTERN,
            description="Quarter to evaluate and check, written YYYYQn.",
        ),
        "drift_threshold": Param(
            0.45,
            type="number",
            minimum=0,
            maximum=1,
            description="Soft maximum of data drift: above it, the check warns.",
        ),
        "drift_error_threshold": Param(
            1.0,
            type="number",
            minimum=0,
            maximum=1,
            description="Hard maximum of data drift: above it, the check fails the run.",
        ),
    },
)
def data_drift_monitor():
    @task
    def build_mes(params: dict | None = None) -> dict:
        """Evaluate the quarter into the MES (the tutorial's step *Build MES*)."""
        from include.workflow import evaluate_quarter, prepare_project, summarise

        workspace = open_workspace()
        try:
            model = prepare_project(workspace)
            evaluation_id, evaluation = evaluate_quarter(workspace, params["quarter"], model=model)
            return summarise(workspace, evaluation_id, evaluation)
        finally:
            workspace.close()

    mes_warn = MESCheckOperator(
        task_id="mes_warn",
        checks=[DRIFT_CHECK],
        warning_task_ids="compose_warning",
        ok_task_ids="quiet_end",
    )

    @task
    def compose_warning(built: dict, dag_run=None, ti=None) -> dict:
        """The warning email and its attachments: the run's log and the drift report."""
        from airflow.sdk.configuration import conf

        from include.alerts import run_log, warning_email
        from include.checks import CheckResult, format_table
        from include.paths import mes_home
        from mes_dag_defaults import alert_recipients

        results = ti.xcom_pull(task_ids="mes_warn", key="results") or []
        outcome = ti.xcom_pull(task_ids="mes_warn", key="outcome")
        evaluation = ti.xcom_pull(task_ids="mes_warn", key="evaluation")
        states = ti.get_task_states(dag_id=dag_run.dag_id, run_ids=[dag_run.run_id])
        folder = mes_home() / "alerts" / dag_run.dag_id / dag_run.run_id.replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        log_path = folder / "run_log.txt"
        log_path.write_text(
            run_log(
                dag_id=dag_run.dag_id,
                run_id=dag_run.run_id,
                task_states=states.get(dag_run.run_id, {}),
                check_table=format_table([CheckResult.from_dict(r) for r in results]),
                outcome=outcome,
            )
        )
        email = warning_email(
            dag_id=dag_run.dag_id,
            run_id=dag_run.run_id,
            results=results,
            evaluation=evaluation,
            base_url=conf.get("api", "base_url", fallback=None),
        )
        files = [str(log_path)] + ([built["drift_report"]] if built.get("drift_report") else [])
        return {
            "to": alert_recipients(),
            "subject": email.subject,
            "html": email.html,
            "files": files,
        }

    built = build_mes()
    warning = compose_warning(built)
    send_warning = EmailOperator(
        task_id="send_warning",
        to=warning["to"],
        subject=warning["subject"],
        html_content=warning["html"],
        files=warning["files"],
        from_email=SENDER,
        conn_id=SMTP_CONN_ID,
    )
    built >> mes_warn >> [warning, EmptyOperator(task_id="quiet_end")]
    warning >> send_warning


data_drift_monitor_dag = data_drift_monitor()
