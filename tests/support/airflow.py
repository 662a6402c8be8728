"""A throwaway Airflow for the tests: its own home and SQLite metadata database, this repo's DAGs.

``configure_environment`` must run before anything imports Airflow (Airflow reads its settings
once, at import): the root conftest calls it from ``pytest_configure``. Settings already in the
environment win, so a developer can point the tests at another Airflow home or database.
``migrate_metadata_db`` creates the metadata tables (``airflow db migrate``), which ``dag.test()``
needs; the ``airflow_db`` fixture runs it once per test session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
# DAGs that exist only for the tests (of operators, say). Since Airflow 3.1, ``dag.test()`` runs a
# DAG only once a bundle's parsing has serialized it, so this folder is a DAG bundle of its own,
# listed first so that finding a test DAG does not parse the project's DAGs.
TEST_DAGS_FOLDER = Path(__file__).resolve().parent / "dags"


def configure_environment(repo_root: Path = REPO_ROOT) -> dict[str, str]:
    """Set the Airflow and MES settings the tests rely on (only those not already set).

    Returns the variables this call set, so the caller can tell what came from outside.
    """
    home = os.environ.get("AIRFLOW_HOME") or tempfile.mkdtemp(prefix="mes-airflow-")
    wanted = {
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(repo_root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(repo_root / "plugins"),
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{Path(home) / 'airflow.db'}",
        # DAGs read these at parse time: one retry, at once, so failures show retries quickly.
        "MES_TASK_RETRIES": "1",
        "MES_RETRY_DELAY_SECONDS": "0",
        "MES_ALERT_RECIPIENTS": "mlops-team@example.com",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [_local_bundle("test-dags", TEST_DAGS_FOLDER), _local_bundle("dags-folder")]
        ),
    }
    applied = {}
    for name, value in wanted.items():
        if not os.environ.get(name):
            os.environ[name] = applied[name] = value
    if not os.environ.get("MES_HOME"):
        os.environ["MES_HOME"] = applied["MES_HOME"] = tempfile.mkdtemp(prefix="mes-home-")
    # The plugins folder is on sys.path when Airflow runs; DAGs import the operator from it.
    plugins = str(repo_root / "plugins")
    if plugins not in sys.path:
        sys.path.append(plugins)
    return applied


def _local_bundle(name: str, path: Path | None = None) -> dict:
    kwargs = {"refresh_interval": 0}
    if path is not None:
        kwargs["path"] = str(path)
    return {
        "name": name,
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": kwargs,
    }


def remove_created_folders(applied: dict[str, str]) -> None:
    """Delete the temporary homes ``configure_environment`` created (never one set from outside)."""
    for name in ("AIRFLOW_HOME", "MES_HOME"):
        if name in applied:
            shutil.rmtree(applied[name], ignore_errors=True)


def migrate_metadata_db(timeout: float = 600) -> float:
    """Run ``airflow db migrate`` on the configured metadata database; return the seconds it took.

    A subprocess, so that Airflow's settings in this process stay untouched until a test
    imports Airflow, and a failure shows the command's own output.
    """
    command = [sys.executable, "-m", "airflow", "db", "migrate"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"`airflow db migrate` failed (exit {done.returncode}) for "
            f"{os.environ.get('AIRFLOW__DATABASE__SQL_ALCHEMY_CONN')}:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return time.perf_counter() - started


def task_states(dag_run: Any) -> dict[str, str | None]:
    """Task id -> state of the run ``dag.test()`` returned, e.g. ``{"check": "success"}``.

    The states are ``TaskInstanceState`` members, which compare equal to their names.
    """
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


class TaskEndRecorder:
    """Catch what a task left behind, from inside the run, through public task callbacks.

    ``dag.test()`` runs tasks in this process, so a callback can pull the task's XComs with the
    Task SDK (``ti.xcom_pull``) and keep them, with the exception of a failed task, for the test.
    """

    def __init__(self, xcom_keys: Sequence[str]) -> None:
        self.xcom_keys = tuple(xcom_keys)
        self.xcoms: dict[str, Any] = {}
        self.error: str | None = None

    def __call__(self, context: Any) -> None:
        ti = context["ti"]
        self.xcoms = {key: ti.xcom_pull(task_ids=ti.task_id, key=key) for key in self.xcom_keys}
        exception = context.get("exception")
        self.error = None if exception is None else str(exception)

    def attach(self, task: Any, monkeypatch: Any) -> TaskEndRecorder:
        """Record at the end of ``task``, success or failure, for the duration of one test."""
        monkeypatch.setattr(task, "on_success_callback", [self])
        monkeypatch.setattr(task, "on_failure_callback", [self])
        return self
