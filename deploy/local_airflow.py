"""A real Airflow deployment on this machine: api-server, scheduler and dag-processor as processes.

Used by the demo and the end-to-end tests. It drives Airflow only from the outside, the way a
user does: the ``airflow`` command line to migrate and start the components, the REST API v2 to
log in, trigger runs and read their state. Nothing here imports Airflow.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from deploy.waiting import WaitTimeoutError, until
from include.paths import REPO_ROOT

COMPONENTS = ("api-server", "scheduler", "dag-processor")
ADMIN_USER = "admin"
TERMINAL_STATES = {"success", "failed"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalAirflow:
    """One Airflow home and the processes serving it; ``stop()`` ends exactly those."""

    home: Path
    port: int
    env: dict[str, str]
    password: str = "admin"
    processes: list[subprocess.Popen] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        home: Path,
        *,
        dags_folder: Path = REPO_ROOT / "dags",
        plugins_folder: Path = REPO_ROOT / "plugins",
        metadata_db: str | None = None,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> LocalAirflow:
        """Configure a home (SQLite metadata by default) and migrate its metadata database."""
        home = Path(home).resolve()
        home.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        passwords = home / "simple_auth_manager_passwords.json"
        password = "admin"
        passwords.write_text(json.dumps({ADMIN_USER: password}))
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db
            or f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(plugins_folder)]),
            **(extra_env or {}),
        }
        deployment = cls(home=home, port=port, env=env, password=password)
        deployment.airflow("db", "migrate")
        return deployment

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def airflow(self, *args: str, timeout: float = 600) -> str:
        """Run an ``airflow`` command for this home; its output, or an error with it."""
        done = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"`airflow {' '.join(args)}` failed ({done.returncode}):\n{done.stderr[-3000:]}"
            )
        return done.stdout

    def start(self, components: tuple[str, ...] = COMPONENTS, timeout: float = 180) -> None:
        """Start the components (logs in ``<home>/logs/<component>.log``); wait for the API."""
        logs = self.home / "logs"
        logs.mkdir(exist_ok=True)
        for component in components:
            with (logs / f"{component}.log").open("ab") as log:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "airflow", component],
                        env=self.env,
                        # Not the caller's folder: `python -m` puts the working directory first
                        # on sys.path, and prod must import the bundle's code, not a checkout's.
                        cwd=self.home,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )

        def healthy() -> bool:
            self._check_alive()
            return httpx.get(f"{self.url}/api/v2/monitor/health", timeout=2).status_code == 200

        try:
            until(healthy, timeout=timeout, interval=1, retry_on=(httpx.HTTPError,))
        except WaitTimeoutError:
            self.stop()
            raise RuntimeError(
                f"the api-server did not answer at {self.url} within {timeout:.0f} s; see {logs}"
            ) from None

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def _check_alive(self) -> None:
        for process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(
                    f"`airflow {process.args[-1]}` exited with {process.returncode}; "
                    f"see {self.home / 'logs'}"
                )

    # -- the REST API v2 ---------------------------------------------------------------------

    def client(self) -> httpx.Client:
        """An API client logged in as the admin (a JWT from ``POST /auth/token``)."""
        answer = httpx.post(
            f"{self.url}/auth/token",
            json={"username": ADMIN_USER, "password": self.password},
            timeout=30,
        )
        answer.raise_for_status()
        token = answer.json()["access_token"]
        return httpx.Client(
            base_url=f"{self.url}/api/v2", timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    def wait_for_dag(self, client: httpx.Client, dag_id: str, timeout: float = 180) -> None:
        """Wait until the dag-processor has parsed the DAG (and it is unpaused)."""

        def parsed() -> dict[str, Any] | None:
            self._check_alive()
            answer = client.get(f"/dags/{dag_id}")
            return answer.json() if answer.status_code == 200 else None

        try:
            dag = until(parsed, timeout=timeout, interval=2)
        except WaitTimeoutError:
            raise RuntimeError(f"DAG {dag_id} did not appear within {timeout:.0f} s") from None
        if dag.get("is_paused"):
            client.patch(f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(
        self, client: httpx.Client, dag_id: str, conf: dict[str, Any] | None = None
    ) -> httpx.Response:
        return client.post(
            f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}}
        )

    def wait_for_run(
        self, client: httpx.Client, dag_id: str, run_id: str, timeout: float = 600
    ) -> str:
        """Poll the run until it finishes; its final state."""

        def finished() -> str | None:
            self._check_alive()
            state = client.get(f"/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
            return state if state in TERMINAL_STATES else None

        try:
            return until(finished, timeout=timeout, interval=2)
        except WaitTimeoutError:
            raise RuntimeError(
                f"run {run_id} of {dag_id} did not finish within {timeout:.0f} s"
            ) from None
