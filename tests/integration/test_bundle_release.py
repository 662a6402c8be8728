"""Dev releases bundles to a real prod Airflow that serves only its active bundle.

Prod: api-server, scheduler and dag-processor on PostgreSQL, DAGs from the deployer's active
bundle (``mes_dag_bundle.ActiveReleaseBundle``, which reports the bundle id as the version).
Dev: ``bundle_release`` run with ``dag.test()``, the deployer in PostgreSQL.
Prod starts with no bundle; v1 is then served and a run of recursive_mes there records v1; v2 (a
visible change) is served; a v3 whose DAG does not import is refused and prod still serves v2;
rolling back to v1 works; the deployment's history tells all of it.
"""

from __future__ import annotations

import shutil
import time

import pytest
from airflow.sdk import DagRunState
from tenacity import Retrying, retry_if_result, wait_fixed

from deploy.local_airflow import LocalAirflow
from deploy.serve import deployment
from include.bundles.deployer import Deployer
from include.bundles.release import SERVE_TIMEOUT, check_served, served_bundle_version
from include.config import load_config
from include.data.storage import open_dataset_store
from include.paths import REPO_ROOT
from include.tutorial.datasets import generate_tutorial_data
from tests.dags.conftest import run

pytestmark = pytest.mark.integration


@pytest.fixture
def release_setup(airflow_db, postgres_server, tmp_path, monkeypatch):
    deployer_url = postgres_server.create_database("deployer")
    store = tmp_path / "store"
    source = tmp_path / "source"
    for part in ("dags", "plugins", "include"):
        shutil.copytree(
            REPO_ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO_ROOT / "requirements.txt", source)
    mes_home = tmp_path / "mes_home"
    generate_tutorial_data(
        open_dataset_store(mes_home / "datasets"), load_config(), transactions_per_quarter=3_000
    )
    for name, value in {
        "MES_HOME": str(mes_home),
        "MES_BUNDLE_STORE": str(store),
        "MES_BUNDLE_SOURCE": str(source),
        "AIRFLOW_CONN_DEPLOYER_DB": deployer_url.replace("+psycopg2", ""),
    }.items():
        monkeypatch.setenv(name, value)
    deployer = Deployer.open(deployer_url, store)
    deployer.configure("prod", {"connections": {"mes_db": "mes_prod"}})
    yield deployer, source, mes_home
    deployer.close()
    postgres_server.drop_database(deployer_url)


def start_prod(postgres_server, home, mes_home) -> LocalAirflow:
    prod = deployment(
        "prod",
        home=home,
        metadata_db=postgres_server.create_database("airflow_prod"),
        extra_env={"MES_HOME": str(mes_home)},
    )
    prod.start()
    return prod


def release(bundle_id: str, notes: str):
    from dags.bundle_release import bundle_release_dag

    return run(bundle_release_dag, bundle_id=bundle_id, release_notes=notes)


def test_releases_reach_prod_a_broken_one_is_refused_and_rollback_works(
    release_setup, postgres_server, tmp_path, monkeypatch
) -> None:
    deployer, source, mes_home = release_setup
    # Prod starts empty, as a new deployment does, and picks up its first bundle while running.
    prod = start_prod(postgres_server, tmp_path / "prod", mes_home)
    try:
        api = (prod.url, "admin", prod.password)
        monkeypatch.setenv("MES_PROD_API_URL", prod.url)
        with prod.client() as client:
            assert client.get("/dags").json()["total_entries"] == 0
        assert release("v1", "first release").state == DagRunState.SUCCESS
        wait_until_served(*api, bundle_id="v1")
        with prod.client() as client:
            answer = prod.trigger(client, "recursive_mes", {"quarters": ["2017Q2"]})
            run_id = answer.json()["dag_run_id"]
            assert prod.wait_for_run(client, "recursive_mes", run_id) == "success"
            recorded = client.get(f"/dags/recursive_mes/dagRuns/{run_id}").json()
        assert [v["bundle_version"] for v in recorded["dag_versions"]] == ["v1"]

        doc = source / "dags" / "recursive_mes.py"
        doc.write_text(
            doc.read_text().replace("The tutorial's *Recursive_MES*", "Release v2: *Recursive_MES*")
        )
        assert release("v2", "documents recursive_mes as v2").state == DagRunState.SUCCESS
        assert served_bundle_version(*api, "recursive_mes") == "v2"
        with prod.client() as client:
            details = client.get("/dags/recursive_mes/details").json()
            assert "Release v2: *Recursive_MES*" in details["doc_md"]

        (source / "dags" / "broken.py").write_text("raise ImportError('v3 does not import')\n")
        assert release("v3", "a broken DAG").state == DagRunState.FAILED
        assert deployer.status("prod").active_bundle_id == "v2"
        assert served_bundle_version(*api, "recursive_mes") == "v2"

        deployer.rollback("prod", "v1", requested_by="test")
        wait_until_served(*api, bundle_id="v1")
    finally:
        prod.stop()

    history = [
        (h["from_bundle_id"], h["to_bundle_id"], h["outcome"])
        for h in deployer.status("prod").history
    ]
    assert history == [
        (None, "v1", "success"),
        ("v1", "v2", "success"),
        ("v2", "v3", "failed"),
        ("v2", "v1", "success"),
    ]
    assert "v3 does not import" in deployer.status("prod").history[2]["message"]


def wait_until_served(
    api_url: str,
    user: str,
    password: str,
    *,
    bundle_id: str,
    dag_id: str = "recursive_mes",
    timeout: float = SERVE_TIMEOUT,
    interval: float = 3,
) -> None:
    """Wait until the target Airflow has parsed the DAGs of ``bundle_id``, looking every
    ``interval`` seconds (the DAG's sensor looks the same way, with ``check_served``)."""
    started = time.monotonic()
    look = Retrying(retry=retry_if_result(lambda served: not served), wait=wait_fixed(interval))
    look(
        lambda: check_served(
            api_url,
            user,
            password,
            bundle_id=bundle_id,
            waited=time.monotonic() - started,
            dag_id=dag_id,
            timeout=timeout,
        )
    )
