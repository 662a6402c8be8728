"""The monitoring DAGs of one model, built from its configuration.

Every model gets two DAGs: a monitor (build the evaluation of one period, check it, email on a
warning; and evaluate again the earlier periods whose labels have landed since, per the model's
``labels.recheck_periods``) and a recursive evaluator (one mapped task per period). The
tutorial's model keeps the ids ``data_drift_monitor`` and ``recursive_mes`` and its Params
``quarter``/``quarters``; any other model ``<name>`` gets ``<name>__data_drift_monitor`` and
``<name>__recursive_mes`` with the Params ``period``/``periods``. Each model has its own store,
asset, schedule, checks and alert recipients, all from its YAML file.

Building a DAG reads only the configuration (already validated): tasks load the configuration
again from its file when they run, so a DAG never carries a stale copy of it.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, AssetAlias, Param, task

from include.config import MonitoringConfig
from include.periods import PERIOD_PATTERN
from include.scheduling import LATEST
from mes_check_operator import MESCheckOperator
from mes_dag_defaults import SENDER, SMTP_CONN_ID, dag_settings, model_asset
from mes_email_operator import WarningEmailOperator
from mes_slices import evaluate_in_slices

PERIOD_OR_LATEST = "^(latest|" + PERIOD_PATTERN.strip("^$") + ")$"
BUILT_EVALUATION_ID = "{{ ti.xcom_pull(task_ids='build_mes')['evaluation_id'] }}"


def model_dag_ids(config: MonitoringConfig) -> tuple[str, str]:
    """(monitor, recursive evaluator) DAG ids of a model."""
    if config.is_tutorial:
        return "data_drift_monitor", "recursive_mes"
    return f"{config.name}__data_drift_monitor", f"{config.name}__recursive_mes"


def period_param(default: str, *, tutorial: bool) -> Param:
    what = "Quarter" if tutorial else "Period"
    return Param(
        default,
        type="string",
        pattern=PERIOD_OR_LATEST,
        title=what,
        description=(
            f"{what} to evaluate and check when triggered by hand: 2017Q4, 2017-11, 2017-W45, "
            "2017-11-03, 2017-10-01/2017-12-01, or latest (the latest complete period). "
            "Scheduled and backfill runs evaluate the period that closed just before their "
            "logical date."
        ),
    )


def periods_param(default: list[str], *, tutorial: bool) -> Param:
    what = "Quarters" if tutorial else "Periods"
    return Param(
        list(default),
        type="array",
        items={"type": "string", "pattern": PERIOD_OR_LATEST},
        minItems=1,
        uniqueItems=True,
        title=what,
        description=(
            f"{what} to evaluate, one task each: e.g. 2017Q2, 2017-05, 2017-W05, 2017-05-03, "
            "2017-01-01/2017-02-15, or latest."
        ),
    )


def _load(config_path: str | None) -> MonitoringConfig:
    from include.config import load_config

    return load_config(config_path)


def _evaluate(config_path: str | None, period: str, model_version: str | None = None) -> dict:
    """Evaluate one period of the model into its store; the run's summary of it."""
    from include.model.registry import load_model
    from include.workflow import evaluate_period, prepare_project, summarise
    from mes_dag_defaults import open_workspace

    workspace = open_workspace(_load(config_path))
    try:
        if model_version is None:
            model = prepare_project(workspace)
        else:
            model = load_model(workspace.config, model_version, workspace.models)
        evaluation_id, evaluation = evaluate_period(workspace, period, model=model)
        summary = summarise(workspace, evaluation_id, evaluation)
        return {**summary, "model": workspace.config.name, "store": workspace.config.store_name}
    finally:
        workspace.close()


def _recheck(config_path: str | None, period: str, model_version: str) -> dict:
    """Evaluate again the earlier periods whose labels landed (``include.relabel``)."""
    import logging

    from include.model.registry import load_model
    from include.relabel import recheck
    from mes_dag_defaults import open_workspace

    workspace = open_workspace(_load(config_path))
    try:
        model = load_model(workspace.config, model_version, workspace.models)
        done = recheck(workspace, period, model=model, log=logging.getLogger(__name__).info)
    finally:
        workspace.close()
    return {
        "evaluation_ids": [item.evaluation_id for item in done],
        "periods": [item.recheck.period.name for item in done],
        "rechecked": [item.to_dict() for item in done],
    }


def _compose_warning(built: dict, *, recipients: tuple[str, ...], dag_run: Any, ti: Any) -> dict:
    """The warning's recipients, subject, HTML and files (the run's log, the drift report)."""
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
            check_table=format_table([CheckResult.model_validate(r) for r in results]),
            outcome=outcome,
        )
    )
    email = warning_email(
        dag_id=dag_run.dag_id,
        run_id=dag_run.run_id,
        results=results,
        evaluation={**(evaluation or {}), "model": built.get("model"), "store": built.get("store")},
        base_url=conf.get("api", "base_url", fallback=None),
    )
    files = [str(log_path)] + ([built["drift_report"]] if built.get("drift_report") else [])
    return {
        "to": alert_recipients(recipients),
        "subject": email.subject,
        "html": email.html,
        "files": files,
    }


def monitor_checks(config: MonitoringConfig) -> list[dict[str, Any]]:
    """The model's declared checks; the tutorial's data drift bounds come from its Params."""
    if not config.is_tutorial:
        return [dict(check) for check in config.checks]
    checks = []
    for check in config.checks:
        check = dict(check)
        if check.get("metric") == "data_drift" and "allowed" not in check:
            check["soft_max"] = "{{ params.drift_threshold }}"
            check["hard_max"] = "{{ params.drift_error_threshold }}"
        checks.append(check)
    return checks


def build_monitor_dag(
    config: MonitoringConfig, *, config_path: str | None, schedule: str | None, doc_md: str
) -> DAG:
    """Build the period's evaluation, check it (``MESCheckOperator``), email on WARNING; beside
    the check, evaluate again the earlier periods whose labels have landed (``recheck_labels``)."""
    dag_id, _ = model_dag_ids(config)
    asset = model_asset(config.store_name)
    # An event of the store's asset only when a period was evaluated again (none otherwise).
    relabelled = AssetAlias(f"{config.store_name}__relabelled")
    tutorial = config.is_tutorial
    default_period = config.batch_periods[-1] if tutorial and config.batch_periods else LATEST
    params: dict[str, Param] = {
        ("quarter" if tutorial else "period"): period_param(default_period, tutorial=tutorial)
    }
    if tutorial:
        params["drift_threshold"] = Param(
            0.45,
            type="number",
            minimum=0,
            maximum=1,
            description="Soft maximum of data drift: above it, the check warns.",
        )
        params["drift_error_threshold"] = Param(
            1.0,
            type="number",
            minimum=0,
            maximum=1,
            description="Hard maximum of data drift: above it, the check fails the run.",
        )
    period_key = "quarter" if tutorial else "period"
    recipients = tuple(config.alerts.recipients)

    with DAG(
        dag_id=dag_id,
        schedule=schedule,
        **dag_settings(recipients),
        doc_md=doc_md,
        tags=["mes", "model-monitoring", "drift", f"model:{config.name}"],
        params=params,
    ) as dag:

        def run_period(params: dict, dag_run) -> str:
            from include.scheduling import run_period

            return run_period(
                _load(config_path).cadence,
                run_type=str(getattr(dag_run.run_type, "value", dag_run.run_type)),
                requested=params.get(period_key),
                logical_date=dag_run.logical_date,
                data_interval_end=dag_run.data_interval_end,
                run_after=dag_run.run_after,
            ).name

        def announce(built: dict, outlet_events) -> dict:
            outlet_events[asset].extra = {
                "evaluation_ids": [built["evaluation_id"]],
                "periods": [built["quarter"]],
            }
            return built

        if config.streaming.partitions == 1:

            @task(outlets=[asset])
            def build_mes(params: dict | None = None, dag_run=None, outlet_events=None) -> dict:
                """Evaluate the run's period into the model's store (the tutorial's *Build
                MES*)."""
                return announce(_evaluate(config_path, run_period(params, dag_run)), outlet_events)

            built = build_mes()
        else:

            @task
            def plan_slices(params: dict | None = None, dag_run=None) -> dict:
                """The run's period, the model version and a folder per slice of its days."""
                from mes_slices import plan_slices

                return plan_slices(config_path, run_period(params, dag_run), dag_run.run_id)

            @task
            def slice_folders(plan: dict) -> list[str]:
                return plan["folders"]

            @task
            def summarise_slice(folder: str, plan: dict) -> str:
                """Read one slice of the period in chunks and save its summary."""
                from mes_slices import summarise_slice

                return summarise_slice(config_path, plan, folder)

            @task(outlets=[asset])
            def build_mes(plan: dict, folders: list[str], outlet_events=None) -> dict:
                """Merge the slices' summaries into the period's evaluation, into the store."""
                from mes_slices import merge_slices

                # One slice, not iteration (see publish in the recursive DAG).
                done = list(folders[: len(folders)])
                return announce(merge_slices(config_path, plan, done), outlet_events)

            plan = plan_slices()
            folders = summarise_slice.partial(plan=plan).expand(folder=slice_folders(plan))
            built = build_mes(plan, folders)

        mes_warn = MESCheckOperator(
            task_id="mes_warn",
            checks=monitor_checks(config),
            store_name=config.store_name,
            evaluation_id=BUILT_EVALUATION_ID,
            warning_task_ids="compose_warning",
            ok_task_ids="quiet_end",
        )

        @task
        def compose_warning(built: dict, dag_run=None, ti=None) -> dict:
            """The warning email and its attachments: the run's log and the drift report."""
            return _compose_warning(built, recipients=recipients, dag_run=dag_run, ti=ti)

        @task(outlets=[relabelled])
        def recheck_labels(built: dict, outlet_events=None) -> dict:
            """Evaluate again the periods before this one (``labels.recheck_periods``) whose
            labels have landed since; their new evaluation ids."""
            done = _recheck(config_path, built["quarter"], built["model_version"])
            if done["evaluation_ids"]:
                outlet_events[relabelled].add(asset, extra=done)
            return done

        recheck_labels(built)
        warning = compose_warning(built)
        send_warning = WarningEmailOperator(
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
    return dag


def build_recursive_dag(config: MonitoringConfig, *, config_path: str | None, doc_md: str) -> DAG:
    """One mapped evaluation task per period of the Param; one asset event naming them all."""
    _, dag_id = model_dag_ids(config)
    asset = model_asset(config.store_name)
    tutorial = config.is_tutorial
    key = "quarters" if tutorial else "periods"
    defaults = list(config.batch_periods) or [LATEST]

    with DAG(
        dag_id=dag_id,
        schedule=None,
        **dag_settings(tuple(config.alerts.recipients)),
        doc_md=doc_md,
        tags=["mes", "model-monitoring", f"model:{config.name}"],
        params={key: periods_param(defaults, tutorial=tutorial)},
    ) as dag:

        @task
        def prepare() -> str:
            """Make sure the data and a model version exist; return the model version."""
            from include.workflow import prepare_project
            from mes_dag_defaults import open_workspace

            workspace = open_workspace(_load(config_path))
            try:
                return prepare_project(workspace).version
            finally:
                workspace.close()

        @task
        def periods(params: dict | None = None, dag_run=None) -> list[str]:
            from include.scheduling import requested_periods

            when = dag_run.run_after or dag_run.logical_date
            cadence = _load(config_path).cadence
            return [p.name for p in requested_periods(cadence, list(params[key]), when=when)]

        # The task id predates periods other than quarters; DAG runs and tests know it by it.
        @task(task_id="evaluate_quarter", map_index_template="{{ quarter }}")
        def evaluate_period(quarter: str, model_version: str) -> dict:
            """Filter, validate, evaluate, analyse drift and store one period."""
            return _evaluate(config_path, quarter, model_version)

        @task(outlets=[asset])
        def publish(evaluations: list[dict], outlet_events=None) -> list[str]:
            """One asset event for the run, naming every evaluation it stored."""
            # One slice, not iteration: iterating the mapped results reads past the last one,
            # which the Task SDK logs as an "XCom not found" error in every healthy run.
            stored = list(evaluations[: len(evaluations)])
            ids = [e["evaluation_id"] for e in stored]
            outlet_events[asset].extra = {
                "evaluation_ids": ids,
                "quarters": [e["quarter"] for e in stored],
            }
            return ids

        model_version = prepare()
        if config.streaming.partitions == 1:
            evaluated = evaluate_period.partial(model_version=model_version).expand(
                quarter=periods()
            )
        else:
            evaluated = evaluate_in_slices(config_path, periods(), model_version)
        publish(evaluated)
    return dag
