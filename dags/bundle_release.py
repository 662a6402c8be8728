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

**verify** waits up to 5 minutes for prod's dag-processor to parse the new version, as a sensor
in *reschedule* mode: each poke is one look at prod's API, and between pokes (every 10 s) the task
gives its worker slot back. Not a deferrable sensor: that needs a triggerer, and while the
docker-compose deployments run one, the local stack (`make demo`, the end-to-end tests) runs only
an api-server, a scheduler and a dag-processor, where a deferred task would wait forever. Past
the 5 minutes the task fails saying what prod still serves, and the target is rolled back.
"""

from __future__ import annotations

from airflow.sdk import Param, PokeReturnValue, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from include.tutorial import TUTORIAL_TABLES
from mes_dag_defaults import dag_settings, deployer_session, release_schedule

# How long the verify step waits for the target to parse the release, and how often it looks.
SERVE_TIMEOUT = 300
SERVED_POKE_SECONDS = 10


def seconds_since_first_poke(ti) -> float:
    """How long a reschedule-mode sensor has been poking (0 at its first poke)."""
    from datetime import UTC, datetime

    first = ti.get_first_reschedule_date(get_current_context())
    return 0.0 if first is None else (datetime.now(UTC) - first).total_seconds()


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

    # Reschedule mode: between pokes the sensor gives its worker slot back. Its timeout is a
    # backstop a poke later than check_served's own, which fails saying what the target serves.
    @task.sensor(
        poke_interval=SERVED_POKE_SECONDS,
        timeout=SERVE_TIMEOUT + SERVED_POKE_SECONDS,
        mode="reschedule",
    )
    def verify(released: str, params: dict | None = None, ti=None) -> PokeReturnValue:
        """The target's record, and (when its API is known) what its Airflow has parsed."""
        from include.bundles.release import check_served
        from include.errors import BundleError
        from include.settings import current

        with deployer_session() as deployer:
            active = deployer.status(params["target"]).active_bundle_id
        if active != released:
            raise AirflowFailException(f"{params['target']} has {active} active, not {released}")
        settings = current()
        if not settings.mes_prod_api_url:
            return PokeReturnValue(is_done=True, xcom_value=active)
        try:
            served = check_served(
                settings.mes_prod_api_url,
                settings.mes_prod_api_user,
                settings.mes_prod_api_password.get_secret_value(),
                bundle_id=released,
                waited=seconds_since_first_poke(ti),
                timeout=SERVE_TIMEOUT,
            )
        except BundleError as exc:  # waited long enough: another poke would not help
            raise AirflowFailException(str(exc)) from exc
        return PokeReturnValue(is_done=served, xcom_value=active)

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
