"""``deploy.stack_state``: the state file, the lock that keeps one ``up``/``down`` at a time, and
stopping exactly the recorded processes (SIGTERM, then SIGKILL after the timeout)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from filelock import Timeout

from deploy.stack_state import (
    StackError,
    StackProcess,
    StackState,
    exclusive,
    state_file,
    stop_stack,
)
from include.paths import REPO_ROOT


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MES_HOME", str(tmp_path))
    return tmp_path


def started(tmp_path, name: str, code: str) -> tuple[subprocess.Popen, StackProcess]:
    """A Python process in a session of its own, as ``up`` starts them; ready when it prints."""
    log = tmp_path / f"{name}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import signal, time\n{code}\nprint('ready', flush=True)\ntime.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout.readline() == b"ready\n"
    return process, StackProcess.of(name, process, log)


def state_of(*processes: StackProcess) -> StackState:
    return StackState(
        stack_id="test",
        started_at="2026-01-01T00:00:00+00:00",
        mes_home="/tmp/mes",
        urls={"dev": "http://127.0.0.1:1", "prod": "http://127.0.0.1:2"},
        ports={"dev": 1, "prod": 2, "smtp": 3},
        login={"username": "admin", "password": "admin"},
        mail_folder="/tmp/mes/mail",
        log_folders=["a", "b", "c"],
        database={"mode": "embedded", "description": "SQLite"},
        prod_bundle_at_start=None,
        processes=list(processes),
    )


def test_the_state_file_is_read_back_as_written(home) -> None:
    state = state_of(StackProcess("mail sink", 1, 1, 1.5, ["python"], "sink.log"))
    state.save(state_file())
    assert StackState.load(state_file()) == state
    assert StackState.load(home / "missing.json") is None


def test_an_unreadable_state_file_says_what_to_do(home) -> None:
    state_file().parent.mkdir(parents=True)
    state_file().write_text(json.dumps({"stack_id": "x"}))
    with pytest.raises(StackError, match=r"cannot be read .* then delete it"):
        StackState.load(state_file())


def test_one_up_or_down_at_a_time(home) -> None:
    with exclusive():
        # A second holder (another `make up`) waits; here it gives up at once.
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                "from deploy.stack_state import exclusive\nexclusive().acquire(timeout=0)",
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert other.returncode != 0
        assert Timeout.__name__ in other.stderr
    with exclusive():
        pass


def test_stop_stack_ends_the_recorded_processes(home, tmp_path) -> None:
    process, recorded = started(tmp_path, "dev scheduler", "")
    report = stop_stack(state_of(recorded), timeout=10)
    assert report.stopped == [recorded]
    assert report.killed == []
    assert process.wait(timeout=5) == -signal.SIGTERM


def test_what_ignores_sigterm_is_killed_after_the_timeout(home, tmp_path) -> None:
    process, recorded = started(
        tmp_path, "prod scheduler", "signal.signal(signal.SIGTERM, signal.SIG_IGN)"
    )
    began = time.monotonic()
    report = stop_stack(state_of(recorded), timeout=1)
    assert 1 <= time.monotonic() - began < 10
    assert report.killed == ["prod scheduler"]
    assert process.wait(timeout=5) == -signal.SIGKILL


def test_a_process_that_is_gone_is_not_signalled(home, tmp_path) -> None:
    process, recorded = started(tmp_path, "mail sink", "")
    process.kill()
    process.wait()
    assert recorded.running() is None
    report = stop_stack(state_of(recorded), timeout=1)
    assert report.stopped == []
