"""What the project's DAGs share: retries and the failure alert, the MES asset, the workspace.

- ``dag_settings()``: start date, no catch-up, one run at a time, and ``default_args()``:
  owner, retries and an ``on_failure_callback`` that emails the deployment's
  alert recipients through the ``smtp_default`` connection (the SMTP provider's notifier).
- ``model_asset(store_name)``: updated each time evaluations land in a model's store
  (``MES_ASSET`` is the tutorial's, ``include.tutorial.TUTORIAL_STORE``).
- ``open_workspace(config)``: the monitoring workspace of a model with the MES from the
  ``mes_db`` connection.

Recipients are the model's own (``alerts.recipients`` in its configuration) when it declares
some; else the Airflow Variable ``mes_alert_recipients`` (comma-separated), else the
environment variable ``MES_ALERT_RECIPIENTS``. Retries can be tuned per deployment with
``MES_TASK_RETRIES`` and ``MES_RETRY_DELAY_SECONDS``, the monitor's schedule with
``MES_MONITOR_SCHEDULE``.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import Asset

from include.settings import current
from include.tutorial import TUTORIAL_STORE

SMTP_CONN_ID = "smtp_default"


def model_asset(store_name: str) -> Asset:
    """The asset of one model's evaluation store: an event each time evaluations land in it."""
    return Asset(name=store_name, uri=f"mes://evaluations/{store_name}")


MES_ASSET = model_asset(TUTORIAL_STORE)
SENDER = current().mes_alert_from

FAILURE_SUBJECT = 'Airflow DAG "{{ dag.dag_id }}" failed: task {{ ti.task_id }}'
FAILURE_BODY = """
<p>Task <b>{{ ti.task_id }}</b> of DAG <b>{{ dag.dag_id }}</b> failed in run
<b>{{ run_id }}</b> (try {{ ti.try_number }}), after its retries.</p>
<p>Reason: {{ exception }}</p>
<p>The task's log in the Airflow UI tells more.</p>
"""


def monitor_schedule(configured: str | None = "0 6 1 1,4,7,10 *") -> str | None:
    """The tutorial's drift monitor's schedule: its configuration's (quarterly, 06:00 on the
    first day of each quarter) unless ``MES_MONITOR_SCHEDULE`` gives another cron expression, or
    ``none`` for manual runs only."""
    override = current().mes_monitor_schedule
    value = ((configured or "none") if override is None else override).strip()
    return None if value.lower() in ("", "none") else value


def release_schedule() -> str | None:
    """``bundle_release``'s schedule: ``MES_RELEASE_SCHEDULE`` (a cron), else manual only."""
    value = (current().mes_release_schedule or "").strip()
    return None if value.lower() in ("", "none") else value


def alert_recipients_template(recipients: tuple[str, ...] = ()) -> str:
    """The recipients, as a template rendered when an alert is sent (a model's own first)."""
    if recipients:
        return ", ".join(recipients)
    fallback = current().mes_alert_recipients
    return "{{ var.value.get('mes_alert_recipients', '" + fallback + "') }}"


def alert_recipients(recipients: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The recipients now (inside a task): the model's own, else the Variable, else the
    environment, else a default."""
    if recipients:
        return list(recipients)
    from airflow.sdk import Variable

    fallback = current().mes_alert_recipients
    value = Variable.get("mes_alert_recipients", default=fallback)
    return [address.strip() for address in str(value).split(",") if address.strip()]


def failure_alert(recipients: tuple[str, ...] = ()) -> SmtpNotifier:
    return SmtpNotifier(
        to=alert_recipients_template(recipients),
        subject=FAILURE_SUBJECT,
        html_content=FAILURE_BODY,
        from_email=SENDER,
        smtp_conn_id=SMTP_CONN_ID,
    )


def send_failure_alert(context: Any) -> None:
    """Email the failure; a new notifier each time, so it reads the connection as it is now."""
    failure_alert()(context)


class ModelFailureAlert:
    """The failure alert of one model's DAGs, to that model's recipients."""

    def __init__(self, recipients: tuple[str, ...]) -> None:
        self.recipients = tuple(recipients)

    def __call__(self, context: Any) -> None:
        failure_alert(self.recipients)(context)


def default_args(recipients: tuple[str, ...] = ()) -> dict[str, Any]:
    alert = ModelFailureAlert(recipients) if recipients else send_failure_alert
    settings = current()
    return {
        "owner": "mlops",
        "retries": settings.mes_task_retries,
        "retry_delay": timedelta(seconds=settings.mes_retry_delay_seconds),
        "on_failure_callback": [alert],
    }


def dag_settings(recipients: tuple[str, ...] = ()) -> dict[str, Any]:
    """What every DAG of the project shares: no catch-up from its 2017 start, one run at a
    time, and the default arguments above (failure alerts to ``recipients`` when given)."""
    return {
        "start_date": datetime(2017, 1, 1, tzinfo=UTC),
        "catchup": False,
        "max_active_runs": 1,
        "default_args": default_args(recipients),
    }


def open_workspace(config=None):
    """The workspace of a model (default: ``MES_CONFIG``'s), its MES located by the ``mes_db``
    connection (or embedded)."""
    from include.workflow import Workspace
    from mes_hook import MESHook

    return Workspace.open(config=config, mes_url=MESHook().get_uri())


@contextmanager
def deployer_session():
    """The deployer for one task: its database from the ``deployer_db`` connection when there is
    one, else ``DEPLOYER_DATABASE_URL`` or the embedded SQLite file; the bundle store from
    ``MES_BUNDLE_STORE``. A refused bundle fails the task at once: a retry would be refused too."""
    from airflow.sdk.exceptions import AirflowFailException

    from include.bundles.deployer import Deployer
    from include.errors import BundleError
    from mes_hook import MESHook

    deployer = Deployer.open(MESHook(mes_conn_id="deployer_db").get_uri())
    try:
        yield deployer
    except BundleError as exc:
        raise AirflowFailException(str(exc)) from exc
    finally:
        deployer.close()
