"""The two deployments on one machine: ``python -m deploy.serve dev|prod``.

- **dev** serves the repository's ``dags/`` and works on ``$MES_HOME`` (the demo's data and MES).
- **prod** serves only the deployer's active bundle for deployment ``prod`` (through the DAG
  bundle class ``mes_dag_bundle.ActiveReleaseBundle``, so each run records its bundle id), with
  an MES and data of its own under ``$MES_HOME/deployments/prod/mes``.

Each has its own Airflow home and metadata database (SQLite unless ``--metadata-db`` names a
PostgreSQL database); its MES is its own ``mes_db`` when ``--mes-db`` is given. Runs until
interrupted (Ctrl-C), then stops the processes it started.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from pathlib import Path

from deploy.local_airflow import LocalAirflow
from include.bundles.deployer import default_store, deployment_folder
from include.paths import REPO_ROOT, mes_home

# What the local prod deployment is configured with in the deployer (demo, make up): it remaps
# the MES and the mail server to its own.
PROD_SETTINGS = {
    "connections": {"mes_db": "mes_db", "smtp_default": "smtp_default"},
    "variables": {"mes_alert_recipients": "mlops@example.com"},
}


def deployment(
    name: str,
    *,
    home: Path | None = None,
    metadata_db: str | None = None,
    mes_db: str | None = None,
    port: int | None = None,
    bundle_store: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> LocalAirflow:
    """A configured (migrated, not started) dev or prod deployment."""
    base = Path(home or mes_home() / "deployments" / name)
    env: dict[str, str] = {"MES_MONITOR_SCHEDULE": "none"}
    if mes_db:
        env["AIRFLOW_CONN_MES_DB"] = mes_db
    if name == "dev":
        env["MES_HOME"] = str(mes_home())
        dags = REPO_ROOT / "dags"
    elif name == "prod":
        folder = deployment_folder(bundle_store or default_store(), "prod")
        active = folder / "active"
        dags = active / "dags"
        env.update(
            {
                "MES_HOME": str(base / "mes"),
                # The active bundle's code first; the checkout's only as the fallback of a
                # process started before any bundle was active (the bundle class puts each
                # task's release first on sys.path).
                "PYTHONPATH": os.pathsep.join(
                    map(str, [active, active / "plugins", REPO_ROOT / "plugins", REPO_ROOT])
                ),
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                    [
                        {
                            "name": "prod",
                            "classpath": "mes_dag_bundle.ActiveReleaseBundle",
                            "kwargs": {"deployment_dir": str(folder), "refresh_interval": 10},
                        }
                    ]
                ),
            }
        )
    else:
        raise ValueError(f"unknown deployment {name!r}: dev or prod")
    return LocalAirflow.create(
        base / "airflow",
        dags_folder=dags,
        metadata_db=metadata_db,
        port=port,
        extra_env={**env, **(extra_env or {})},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=["dev", "prod"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--metadata-db", help="PostgreSQL URL of the Airflow metadata database")
    parser.add_argument("--mes-db", help="PostgreSQL URL of this deployment's MES (mes_db)")
    args = parser.parse_args()
    airflow = deployment(
        args.name, metadata_db=args.metadata_db, mes_db=args.mes_db, port=args.port
    )
    airflow.start()
    print(
        f"{args.name}: Airflow at {airflow.url} (user admin, password admin); Ctrl-C stops it",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        airflow.stop()


if __name__ == "__main__":
    main()
