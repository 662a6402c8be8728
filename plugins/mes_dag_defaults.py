"""What the project's DAGs share: retries and the failure alert, the MES asset, the workspace.

- ``dag_settings()``: start date, no catch-up, one run at a time, and ``default_args()``:
  owner, retries and an ``on_failure_callback`` that emails the deployment's
  alert recipients through the ``smtp_default`` connection (the SMTP provider's notifier).
- ``MES_ASSET``: updated each time evaluations land in the model evaluation store.
- ``open_workspace()``: the monitoring workspace with the MES from the ``mes_db`` connection.

Recipients come from the Airflow Variable ``mes_alert_recipients`` (comma-separated), else the
environment variable ``MES_ALERT_RECIPIENTS``. Retries can be tuned per deployment with
``MES_TASK_RETRIES`` and ``MES_RETRY_DELAY_SECONDS``, the monitor's schedule with
``MES_MONITOR_SCHEDULE``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import Asset, Param

SMTP_CONN_ID = "smtp_default"
MES_ASSET = Asset(name="the_MES", uri="mes://evaluations/the_MES")
DEFAULT_RECIPIENTS = "mlops@example.com"
SENDER = os.environ.get("MES_ALERT_FROM", "airflow-mes@localhost")

FAILURE_SUBJECT = 'Airflow DAG "{{ dag.dag_id }}" failed: task {{ ti.task_id }}'
FAILURE_BODY = """
<p>Task <b>{{ ti.task_id }}</b> of DAG <b>{{ dag.dag_id }}</b> failed in run
<b>{{ run_id }}</b> (try {{ ti.try_number }}), after its retries.</p>
<p>Reason: {{ exception }}</p>
<p>The task's log in the Airflow UI tells more.</p>
"""


QUARTER_PATTERN = "^[0-9]{4}Q[1-4]$"
TUTORIAL_QUARTERS = ["2017Q2", "2017Q3", "2017Q4"]


def quarters_param(default: list[str] = TUTORIAL_QUARTERS) -> Param:
    """The ``quarters`` Param: the trigger form refuses anything but distinct ``YYYYQn``."""
    return Param(
        list(default),
        type="array",
        items={"type": "string", "pattern": QUARTER_PATTERN},
        minItems=1,
        uniqueItems=True,
        title="Quarters",
        description="Quarters to evaluate, written YYYYQn (e.g. 2017Q2).",
    )


def monitor_schedule() -> str | None:
    """The drift monitor's schedule: quarterly (06:00 on the first day of each quarter) unless
    ``MES_MONITOR_SCHEDULE`` gives another cron expression, or ``none`` for manual runs only."""
    value = os.environ.get("MES_MONITOR_SCHEDULE", "0 6 1 1,4,7,10 *").strip()
    return None if value.lower() in ("", "none") else value


def release_schedule() -> str | None:
    """``bundle_release``'s schedule: ``MES_RELEASE_SCHEDULE`` (a cron), else manual only."""
    value = os.environ.get("MES_RELEASE_SCHEDULE", "").strip()
    return None if value.lower() in ("", "none") else value


def alert_recipients_template() -> str:
    """The recipients, as a template rendered when an alert is sent."""
    fallback = os.environ.get("MES_ALERT_RECIPIENTS", DEFAULT_RECIPIENTS)
    return "{{ var.value.get('mes_alert_recipients', '" + fallback + "') }}"


def alert_recipients() -> list[str]:
    """The recipients now (inside a task): the Variable, else the environment, else a default."""
    from airflow.sdk import Variable

    fallback = os.environ.get("MES_ALERT_RECIPIENTS", DEFAULT_RECIPIENTS)
    value = Variable.get("mes_alert_recipients", default=fallback)
    return [address.strip() for address in str(value).split(",") if address.strip()]


def failure_alert() -> SmtpNotifier:
    return SmtpNotifier(
        to=alert_recipients_template(),
        subject=FAILURE_SUBJECT,
        html_content=FAILURE_BODY,
        from_email=SENDER,
        smtp_conn_id=SMTP_CONN_ID,
    )


def send_failure_alert(context: Any) -> None:
    """Email the failure; a new notifier each time, so it reads the connection as it is now."""
    failure_alert()(context)


def default_args() -> dict[str, Any]:
    return {
        "owner": "mlops",
        "retries": int(os.environ.get("MES_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=float(os.environ.get("MES_RETRY_DELAY_SECONDS", "60"))),
        "on_failure_callback": [send_failure_alert],
    }


def dag_settings() -> dict[str, Any]:
    """What every DAG of the project shares: no catch-up from its 2017 start, one run at a
    time, and the default arguments above."""
    return {
        "start_date": datetime(2017, 1, 1, tzinfo=UTC),
        "catchup": False,
        "max_active_runs": 1,
        "default_args": default_args(),
    }


def open_workspace():
    """The monitoring workspace, its MES located by the ``mes_db`` connection (or embedded)."""
    from include.workflow import Workspace
    from mes_hook import mes_database_url

    return Workspace.open(mes_url=mes_database_url())


@contextmanager
def deployer_session():
    """The deployer for one task: its database from the ``deployer_db`` connection when there is
    one, else ``DEPLOYER_DATABASE_URL`` or the embedded SQLite file; the bundle store from
    ``MES_BUNDLE_STORE``. A refused bundle fails the task at once: a retry would be refused too."""
    from airflow.sdk.exceptions import AirflowFailException

    from include.bundles.deployer import Deployer
    from include.errors import BundleError
    from mes_hook import mes_database_url

    deployer = Deployer.open(mes_database_url("deployer_db"))
    try:
        yield deployer
    except BundleError as exc:
        raise AirflowFailException(str(exc)) from exc
    finally:
        deployer.close()
