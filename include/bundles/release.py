"""A release from the dev deployment: build the bundle, and check what the target serves.

The ``bundle_release`` DAG wires these steps with the deployer's publish, update and rollback;
its verify step is a sensor that calls ``check_served`` once per poke.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx

from include.bundles.archive import create_bundle, read_manifest
from include.bundles.deployer import Deployer
from include.errors import BundleError
from include.model.registry import list_versions, models_root
from include.paths import mes_home
from include.settings import current


def bundle_source() -> Path:
    """The project tree bundles are made from: ``MES_BUNDLE_SOURCE``, else this repository."""
    return current().mes_bundle_source


AUTO = "auto"
# How long a release waits for the target Airflow to parse its DAGs, in seconds.
SERVE_TIMEOUT = 300


def next_bundle_id(published: Sequence[str]) -> str:
    """The version after the highest ``v<n>`` published so far (``v1`` for the first)."""
    numbers = [int(b[1:]) for b in published if b.startswith("v") and b[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1}"


def build_release(
    deployer: Deployer,
    bundle_id: str,
    *,
    release_notes: str,
    datasets: Sequence[str],
    model_name: str | None = None,
) -> Path:
    """Create the bundle (with the newest saved model and the named datasets) in the store.

    ``bundle_id`` ``auto`` takes the next version (``v4`` after ``v3``): a scheduled release.
    """
    published = deployer.published()
    if bundle_id == AUTO:
        bundle_id = next_bundle_id([b["bundle_id"] for b in published])
    previous = (
        read_manifest(deployer.archive_path(published[-1]["bundle_id"])) if published else None
    )
    model_dir = None
    if model_name and (versions := list_versions(model_name, models_root())):
        model_dir = models_root() / model_name / versions[-1]
    folder = mes_home() / "datasets"
    files = [folder / f"{name}.parquet" for name in datasets]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise BundleError(
            f"datasets {missing} are not in {folder}: generate them first, or choose others"
        )
    return create_bundle(
        bundle_id,
        out_dir=deployer.store / "builds" / uuid.uuid4().hex,
        source=bundle_source(),
        release_notes=release_notes,
        model_dir=model_dir,
        datasets=files,
        previous=previous,
    )


def served_bundle_version(api_url: str, user: str, password: str, dag_id: str) -> str | None:
    """The bundle version of the newest parsed version of ``dag_id`` in a running Airflow."""
    token = httpx.post(
        f"{api_url}/auth/token", json={"username": user, "password": password}, timeout=30
    )
    token.raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    answer = httpx.get(
        f"{api_url}/api/v2/dags/{dag_id}/dagVersions",
        headers=headers,
        params={"order_by": "-version_number", "limit": 1},
        timeout=30,
    )
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    versions = answer.json()["dag_versions"]
    return versions[0]["bundle_version"] if versions else None


def check_served(
    api_url: str,
    user: str,
    password: str,
    *,
    bundle_id: str,
    waited: float,
    dag_id: str = "recursive_mes",
    timeout: float = SERVE_TIMEOUT,
) -> bool:
    """One look at the target Airflow: whether it has parsed the DAGs of ``bundle_id``.

    ``waited`` is how long the caller has been looking; from ``timeout`` on, a target that still
    serves another version is a BundleError saying what it serves and what to check.
    """
    served = served_bundle_version(api_url, user, password, dag_id)
    if served == bundle_id:
        return True
    if waited >= timeout:
        raise BundleError(
            f"the target at {api_url} still serves {served!r} for {dag_id}, not {bundle_id}, "
            f"after {waited:.0f} s: check its dag-processor and DAG bundle settings"
        )
    return False
