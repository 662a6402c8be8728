"""`make up` / `make down` as a user runs them: ``python -m deploy.stack up`` starts
dev, prod and the mail sink as detached processes on PostgreSQL and returns; dev's trigger form
runs ``data_drift_monitor`` and its warning lands in the mail folder; ``down`` leaves nothing.

Each test works in a throwaway ``MES_HOME``, on free ports and on databases of its own, so it
never meets a user's stack or another test.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy.engine import make_url

from deploy.local_airflow import free_port
from deploy.stack import port_taken
from deploy.stack_databases import DATABASE_ROLES
from include.paths import REPO_ROOT
from tests.support.smtp import attachments

pytestmark = pytest.mark.integration

SUBJECT = 'Airflow DAG "data_drift_monitor" issued a warning'


def distinct_free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


@pytest.fixture
def stack_env(postgres_server, tmp_path):
    """The environment of a user's shell running ``make up``: none of the test session's
    Airflow or MES settings, a throwaway MES_HOME, free ports, this test's database names."""
    prefix = f"mes_stack_test_{uuid.uuid4().hex[:8]}"
    dev, prod, smtp = distinct_free_ports(3)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MES_"))}
    env.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "MES_HOME": str(tmp_path / "mes"),
            "MES_DEV_PORT": str(dev),
            "MES_PROD_PORT": str(prod),
            "MES_SMTP_PORT": str(smtp),
            "MES_STACK_DATABASE_URL": postgres_server.admin_url,
            "MES_STACK_DATABASE_PREFIX": prefix,
        }
    )
    yield env
    admin = make_url(postgres_server.admin_url)
    for role in DATABASE_ROLES:
        url = admin.set(database=f"{prefix}_{role}").render_as_string(hide_password=False)
        postgres_server.drop_database(url)


def stack(env: dict[str, str], command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deploy.stack", command],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def login(url: str, user: str = "admin", password: str = "admin") -> httpx.Client:
    answer = httpx.post(
        f"{url}/auth/token", json={"username": user, "password": password}, timeout=30
    )
    assert answer.status_code in (200, 201), answer.text
    token = answer.json()["access_token"]
    return httpx.Client(
        base_url=f"{url}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def wait_for_dag(client: httpx.Client, dag_id: str, timeout: float = 120) -> None:
    """Until the dag-processor has parsed it and ``GET /dags`` lists it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dag_id in [dag["dag_id"] for dag in client.get("/dags").json()["dags"]]:
            return
        time.sleep(2)
    raise AssertionError(f"{dag_id} was not listed within {timeout:.0f} s")


def wait_for_run(client: httpx.Client, dag_id: str, run_id: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
        if state in ("success", "failed"):
            return state
        time.sleep(2)
    raise AssertionError(f"run {run_id} of {dag_id} did not finish within {timeout:.0f} s")


def processes_of(state: dict, mes_home: Path) -> list[str]:
    """Live processes of the stack: in the session of a recorded process, or whose
    command line or environment names the stack's MES_HOME (its Airflow homes are under it)."""
    sessions = {p["pid"]: p["create_time"] for p in state["processes"]}
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            sid = os.getsid(process.pid)
            cmdline = " ".join(process.cmdline())
            environ = " ".join(process.environ().values())
            if (
                (sid in sessions and process.create_time() >= sessions[sid] - 0.01)
                or str(mes_home) in cmdline
                or str(mes_home) in environ
            ):
                found.append(f"{process.pid} {cmdline}")
        except (psutil.Error, OSError):
            continue
    return found


def test_up_serves_dev_and_prod_the_monitor_mails_the_sink_and_down_stops_all(
    stack_env,
) -> None:
    mes_home = Path(stack_env["MES_HOME"])
    state_path = mes_home / "stack" / "stack.json"
    dev = f"http://127.0.0.1:{stack_env['MES_DEV_PORT']}"
    prod = f"http://127.0.0.1:{stack_env['MES_PROD_PORT']}"
    started = stack(stack_env, "up")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        for shown in (dev, prod, "login admin / admin", str(mes_home / "mail"), "PostgreSQL"):
            assert shown in started.stdout
        state = json.loads(state_path.read_text())
        assert state["urls"] == {"dev": dev, "prod": prod}
        assert len(state["processes"]) == 7  # the mail sink, 3 components per deployment

        for url in (dev, prod):
            assert httpx.get(f"{url}/api/v2/monitor/health", timeout=10).status_code == 200
        with login(prod) as client:  # prod serves nothing until a bundle is released
            assert client.get("/dags").json()["total_entries"] == 0

        again = stack(stack_env, "up")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already running" in again.stdout
        assert dev in again.stdout
        assert json.loads(state_path.read_text()) == state

        with login(dev) as client:
            wait_for_dag(client, "data_drift_monitor")
            # What the UI's trigger form sends: the Params' defaults as the conf.
            params = client.get("/dags/data_drift_monitor/details").json()["params"]
            conf = {name: param["value"] for name, param in params.items()}
            assert conf["quarter"] == "2017Q4"
            answer = client.post(
                "/dags/data_drift_monitor/dagRuns", json={"logical_date": None, "conf": conf}
            )
            assert answer.status_code == 200, answer.text
            run_id = answer.json()["dag_run_id"]
            assert wait_for_run(client, "data_drift_monitor", run_id) == "success"
        [eml] = sorted(Path(state["mail_folder"]).glob("*.eml"))
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert message["Subject"] == SUBJECT
        html = message.get_body(preferencelist=("html",)).get_content()
        assert f"{dev}/dags/data_drift_monitor/runs/" in html
        assert "run_log.txt" in attachments(message)
    finally:
        stopped = stack(stack_env, "down")

    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "stopped the local stack" in stopped.stdout
    for process in state["processes"]:
        assert f"{process['name']:<18} pid {process['pid']}" in stopped.stdout
    assert processes_of(state, mes_home) == []
    assert not any(port_taken(port) for port in state["ports"].values())
    assert not state_path.exists()

    again = stack(stack_env, "down")
    assert again.returncode == 0
    assert "no local stack is running" in again.stdout

    # A state file whose processes are gone (their pids may be reused): nothing is signalled.
    state_path.write_text(json.dumps(state))
    stale = stack(stack_env, "down")
    assert stale.returncode == 0
    assert "had already stopped" in stale.stdout
    assert not state_path.exists()


def test_up_refuses_a_taken_port_at_once_and_starts_nothing(stack_env) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(stack_env["MES_PROD_PORT"])))
        busy.listen()
        refused = stack(stack_env, "up")
    assert refused.returncode == 1
    assert f"port {stack_env['MES_PROD_PORT']} (prod) is taken" in refused.stderr
    assert "MES_PROD_PORT=" in refused.stderr
    assert not (Path(stack_env["MES_HOME"]) / "stack" / "stack.json").exists()
    assert not (Path(stack_env["MES_HOME"]) / "deployments").exists()
