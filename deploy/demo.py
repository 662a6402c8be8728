"""The tutorial's scenarios in a real local Airflow: ``python -m deploy.demo``.

Starts an Airflow deployment on the embedded defaults (SQLite metadata under ``$MES_HOME/airflow``,
the embedded MES, a local mail sink writing to ``$MES_HOME/mail``), triggers ``build_project_mes``
and then ``data_drift_monitor`` through the REST API, and prints the MES, the check outcome, and
where the warning email and the drift report are. It ends by releasing the bundle ``v3`` with
``bundle_release`` to the local ``prod`` deployment and printing that deployment's history.
Stops what it started.
"""

from __future__ import annotations

import sys

import pandas as pd

from deploy.local_airflow import LocalAirflow
from deploy.mail_sink import mail_sink, smtp_connection_uri
from deploy.serve import PROD_SETTINGS
from include.bundles.deployer import Deployer
from include.mes.store import ModelEvaluationStore, evaluations_table
from include.paths import mes_home
from include.tutorial import TUTORIAL_STORE

RELEASE = {"bundle_id": "v3", "release_notes": "adds scenario for monitoring data drift"}


def main() -> int:
    home = mes_home()
    mail = home / "mail"
    for old in mail.glob("*.eml"):  # this demo's emails only
        old.unlink()
    with mail_sink(mail) as port:
        print(f"starting Airflow (api-server, scheduler, dag-processor) in {home / 'airflow'}")
        airflow = LocalAirflow.create(
            home / "airflow",
            extra_env={
                "MES_HOME": str(home),
                "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection_uri(port),
                # Only the runs the demo triggers: no scheduled run of the monitor besides.
                "MES_MONITOR_SCHEDULE": "none",
            },
        )
        airflow.start()
        print(f"Airflow UI and API at {airflow.url} (user admin, password admin)")
        try:
            with airflow.client() as client:
                states = {}
                for dag_id in (
                    "build_project_mes",
                    "recursive_mes",
                    "data_drift_monitor",
                    "bundle_release",
                ):
                    airflow.wait_for_dag(client, dag_id)
                for dag_id in ("build_project_mes", "data_drift_monitor"):
                    run_id = airflow.trigger(client, dag_id).json()["dag_run_id"]
                    states[dag_id] = airflow.wait_for_run(client, dag_id, run_id)
                    print(f"{dag_id}: run {run_id} ended {states[dag_id]}")
                outcome = (
                    client.get(
                        f"/dags/data_drift_monitor/dagRuns/{run_id}/taskInstances/mes_warn/"
                        "xcomEntries/outcome",
                        params={"deserialize": True},
                    )
                    .json()
                    .get("value")
                )
                with Deployer.open() as deployer:
                    deployer.configure("prod", PROD_SETTINGS)
                run_id = airflow.trigger(client, "bundle_release", RELEASE).json()["dag_run_id"]
                states["bundle_release"] = airflow.wait_for_run(client, "bundle_release", run_id)
                print(f"bundle_release: run {run_id} ended {states['bundle_release']}")
        finally:
            airflow.stop()
    with (
        ModelEvaluationStore.open() as store,
        pd.option_context(
            "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4f}".format
        ),
    ):
        stored = store.evaluations(TUTORIAL_STORE)
        print(f"\nmodel evaluation store 'the_MES' in {store.description}:")
        print(evaluations_table(stored).to_string(index=False))
    print(f"\ncheck 'data drift < 0.45' on the latest evaluation: {outcome}")
    emails = sorted(mail.glob("*.eml"))
    print(
        f"emails received by the local mail sink: {len(emails)}"
        + (f", the latest: {emails[-1]}" if emails else "")
    )
    reports = sorted((home / "reports" / TUTORIAL_STORE).glob("2017Q4_*.html"))
    if reports:
        print(f"drift report of 2017Q4: {reports[-1]}")
    with Deployer.open() as deployer:
        status = deployer.status("prod")
        print(
            f"\ndeployment 'prod' ({deployer.active_path('prod')}): active bundle "
            f"{status.active_bundle_id}; history:"
        )
        for update in status.history:
            print(
                f"  {update['requested_at']:%Y-%m-%d %H:%M:%S}  {update['from_bundle_id']} -> "
                f"{update['to_bundle_id']}  {update['outcome']}  ({update['requested_by']}) "
                f"{update['message']}"
            )
    return 0 if all(state == "success" for state in states.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
