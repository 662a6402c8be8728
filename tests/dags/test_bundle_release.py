"""bundle_release with ``dag.test()``: its verify sensor in reschedule mode, rollback on failure.

The target's Airflow is a stand-in HTTP server that answers the two calls the verify step makes
(a token, then the newest DAG version's bundle version); the deployer is an SQLite file and a
store in a temporary folder. The real prod Airflow is in tests/integration/test_bundle_release.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from airflow.sdk import DagRunState

from include.bundles.deployer import Deployer
from tests.dags.conftest import run
from tests.support.airflow import TaskEndRecorder, task_states


class FakeTarget:
    """What a target Airflow's API says it serves: ``served`` once ``after`` looks were made."""

    def __init__(self) -> None:
        self.served: str | None = None
        self.before: str | None = None
        self.after = 0
        self.looks = 0

    def answer(self) -> str | None:
        self.looks += 1
        return self.served if self.looks > self.after else self.before


@pytest.fixture
def target() -> Iterator[tuple[FakeTarget, str]]:
    fake = FakeTarget()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # /auth/token
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send({"access_token": "token"})

        def do_GET(self) -> None:  # /api/v2/dags/recursive_mes/dagVersions
            self._send({"dag_versions": [{"bundle_version": fake.answer()}]})

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def deployer(airflow_db, tmp_path, monkeypatch) -> Iterator[Deployer]:
    """A ``prod`` deployment in a fresh deployer, and a small project to release from."""
    source = tmp_path / "source"
    for name, text in {
        "dags/monitor.py": "VERSION = 1\n",
        "plugins/helper.py": "",
        "include/__init__.py": "",
        "requirements.txt": "",
    }.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    url = f"sqlite:///{tmp_path / 'deployer.sqlite'}"
    for name, value in {
        "MES_HOME": str(tmp_path / "mes_home"),
        "MES_BUNDLE_STORE": str(tmp_path / "store"),
        "MES_BUNDLE_SOURCE": str(source),
        "DEPLOYER_DATABASE_URL": url,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AIRFLOW_CONN_DEPLOYER_DB", "MES_PROD_API_URL"):
        monkeypatch.delenv(name, raising=False)
    opened = Deployer.open(url, tmp_path / "store")
    opened.configure("prod", {})
    yield opened
    opened.close()


@pytest.fixture
def release_dag(monkeypatch):
    from dags import bundle_release

    # Poke every second, not every 10 s: the same sensor, a quicker test.
    monkeypatch.setattr(bundle_release.bundle_release_dag.get_task("verify"), "poke_interval", 1)
    return bundle_release


def release(module, bundle_id: str):
    return run(module.bundle_release_dag, bundle_id=bundle_id, datasets=[])


def history(deployer: Deployer) -> list[tuple[str | None, str, str]]:
    return [
        (h["from_bundle_id"], h["to_bundle_id"], h["outcome"])
        for h in deployer.status("prod").history
    ]


def test_verify_is_a_reschedule_mode_sensor(release_dag) -> None:
    verify = release_dag.bundle_release_dag.get_task("verify")
    assert verify.mode == "reschedule"
    assert verify.timeout > release_dag.SERVE_TIMEOUT
    assert release_dag.bundle_release_dag.get_task("roll_back").trigger_rule == "one_failed"


def test_without_the_target_s_api_the_deployer_s_record_is_verified(release_dag, deployer):
    dag_run = release(release_dag, "v1")
    assert dag_run.state == DagRunState.SUCCESS
    assert task_states(dag_run)["roll_back"] == "skipped"
    assert deployer.status("prod").active_bundle_id == "v1"


def test_verify_pokes_again_until_the_target_serves_the_release(
    release_dag, deployer, target, monkeypatch
):
    fake, url = target
    fake.before, fake.served, fake.after = None, "v1", 2
    monkeypatch.setenv("MES_PROD_API_URL", url)
    dag_run = release(release_dag, "v1")
    assert dag_run.state == DagRunState.SUCCESS
    assert task_states(dag_run)["verify"] == "success"
    assert fake.looks == 3  # rescheduled twice, served at the third poke
    assert history(deployer) == [(None, "v1", "success")]


def test_a_target_that_keeps_the_old_version_fails_verify_and_is_rolled_back(
    release_dag, deployer, target, monkeypatch
):
    assert release(release_dag, "v1").state == DagRunState.SUCCESS
    fake, url = target
    fake.served = "v1"  # prod's dag-processor never picks v2 up
    monkeypatch.setenv("MES_PROD_API_URL", url)
    monkeypatch.setattr(release_dag, "SERVE_TIMEOUT", 2)
    recorder = TaskEndRecorder([]).attach(
        release_dag.bundle_release_dag.get_task("verify"), monkeypatch
    )
    dag_run = release(release_dag, "v2")
    assert dag_run.state == DagRunState.FAILED
    assert task_states(dag_run)["verify"] == "failed"
    assert task_states(dag_run)["roll_back"] == "failed"  # rolled back, then fails saying why
    assert fake.looks >= 2
    assert recorder.error.startswith(f"the target at {url} still serves 'v1' for recursive_mes")
    assert "not v2, after " in recorder.error
    assert recorder.error.endswith("s: check its dag-processor and DAG bundle settings")
    assert history(deployer) == [
        (None, "v1", "success"),
        ("v1", "v2", "success"),
        ("v2", "v1", "success"),
    ]
    assert deployer.status("prod").active_bundle_id == "v1"
