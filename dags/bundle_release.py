"""
### bundle_release: package the project as a bundle and promote it to the prod deployment

The tutorial's bundle release, automated. In the dev deployment: **create** a versioned bundle
(Param `bundle_id`, e.g. `v3`, with `release_notes`) of the DAGs, plugins, include code, pinned
requirements, the saved model and the chosen `datasets`; **publish** it to the deployer;
**update** the `target` deployment (default `prod`: checksums, requirements, every DAG imported
in isolation, then an atomic switch); **verify** that the target serves the new version. If the
update or the verification fails, the target is **rolled back** to the bundle it had, and the run
fails with the reason (and its failure alert).

The prod Airflow's API for the verification comes from `MES_PROD_API_URL`,
`MES_PROD_API_USER` and `MES_PROD_API_PASSWORD`; without them, the deployer's record is checked.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from include.tutorial import TUTORIAL_TABLES
from mes_dag_defaults import dag_settings, deployer_session, release_schedule


@dag(
    dag_id="bundle_release",
    # Manual (the UI's form) unless MES_RELEASE_SCHEDULE sets a cron; scheduled runs take the
    # default bundle_id "auto": the next version.
    schedule=release_schedule(),
    **dag_settings(),
    doc_md=__doc__,
    tags=["mes", "deployment"],
    params={
        "bundle_id": Param(
            "auto",
            type="string",
            pattern="^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$",
            description="Version of the bundle, e.g. v3; auto: the next one (v4 after v3).",
        ),
        "release_notes": Param("adds scenario for monitoring data drift", type="string"),
        "datasets": Param(
            # The tutorial's raw tables; the prepared dataset is made again from them.
            list(TUTORIAL_TABLES),
            type="array",
            items={"type": "string"},
            description="Datasets that travel with the bundle.",
        ),
        "target": Param("prod", type="string", description="Deployment to update."),
    },
)
def bundle_release():
    @task
    def create(params: dict | None = None) -> str:
        from include.bundles.release import build_release
        from include.config import load_config

        with deployer_session() as deployer:
            archive = build_release(
                deployer,
                params["bundle_id"],
                release_notes=params["release_notes"],
                datasets=params["datasets"],
                model_name=load_config().name,
            )
        return str(archive)

    @task
    def publish(archive: str) -> dict:
        from pathlib import Path

        with deployer_session() as deployer:
            manifest = deployer.publish(Path(archive))
        return {
            "bundle_id": manifest.bundle_id,
            "files": len(manifest.files),
            "diff": manifest.to_dict()["diff"],
        }

    @task
    def update_target(published: dict, params: dict | None = None, run_id=None) -> str:
        """Activate the bundle on the target; a refused bundle fails at once (no retry)."""
        with deployer_session() as deployer:
            status = deployer.update(
                params["target"], published["bundle_id"], requested_by=f"bundle_release {run_id}"
            )
        return status.active_bundle_id

    @task
    def verify(released: str, params: dict | None = None) -> str:
        """The target's record, and (when its API is known) what its Airflow has parsed."""
        import os

        from include.bundles.release import wait_until_served

        with deployer_session() as deployer:
            active = deployer.status(params["target"]).active_bundle_id
        if active != released:
            raise AirflowFailException(f"{params['target']} has {active} active, not {released}")
        if os.environ.get("MES_PROD_API_URL"):
            wait_until_served(
                os.environ["MES_PROD_API_URL"],
                os.environ.get("MES_PROD_API_USER", "admin"),
                os.environ.get("MES_PROD_API_PASSWORD", "admin"),
                bundle_id=released,
            )
        return active

    # Fails on purpose, after rolling back: a retry would only fail again.
    @task(trigger_rule="one_failed", retries=0)
    def roll_back(params: dict | None = None, run_id=None) -> None:
        """Put back the bundle the target had before this run, then fail loudly with why."""
        with deployer_session() as deployer:
            history = deployer.status(params["target"]).history
            ours = [h for h in history if h["requested_by"] == f"bundle_release {run_id}"]
            if not ours:
                reason = "the bundle was not created or published"
            elif ours[-1]["outcome"] == "success":
                reason = "the target did not serve it (see the verify task's log)"
            else:
                reason = ours[-1]["message"]
            previous = ours[0]["from_bundle_id"] if ours else None
            if ours and ours[-1]["outcome"] == "success" and previous:
                deployer.rollback(
                    params["target"], previous, requested_by=f"bundle_release {run_id}"
                )
            active = deployer.status(params["target"]).active_bundle_id
        raise AirflowFailException(
            f"release of {params['bundle_id']} to {params['target']} failed: {reason}; "
            f"{params['target']} serves {active or 'no bundle'}"
        )

    verify(update_target(publish(create()))) >> roll_back()


bundle_release_dag = bundle_release()
