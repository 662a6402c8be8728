"""What ``python -m deploy.stack up`` started, and stopping exactly that.

The state file ``$MES_HOME/stack/stack.json`` records each process ``up`` started with its start
time, so a pid the system has since reused is never signalled; ``stop_stack`` ends those processes
and everything of their sessions (workers, task processes, log servers).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from filelock import FileLock

from deploy.waiting import WaitTimeoutError, until
from include.errors import MonitoringError
from include.paths import mes_home

# Every process of a stack, and whatever it forks, inherits this variable.
MARKER = "MES_STACK_ID"
STOP_TIMEOUT = 30.0


class StackError(MonitoringError):
    """The local stack cannot be started, read or stopped; the message says what to do."""


def stack_folder() -> Path:
    return mes_home() / "stack"


def state_file() -> Path:
    return stack_folder() / "stack.json"


def exclusive() -> FileLock:
    """One ``up`` or ``down`` at a time for a given ``$MES_HOME``."""
    stack_folder().mkdir(parents=True, exist_ok=True)
    return FileLock(stack_folder() / ".lock")


@dataclass(frozen=True)
class StackProcess:
    """One process ``up`` started: the leader of a process group of its own."""

    name: str
    pid: int
    pgid: int
    create_time: float  # with the pid, tells the process apart from a later one reusing its pid
    command: list[str]
    log: str

    @classmethod
    def of(cls, name: str, process: subprocess.Popen, log: Path) -> StackProcess:
        return cls(
            name=name,
            pid=process.pid,
            pgid=os.getpgid(process.pid),
            create_time=psutil.Process(process.pid).create_time(),
            command=[str(arg) for arg in process.args],
            log=str(log),
        )

    def running(self) -> psutil.Process | None:
        """The process, if it is still the one ``up`` started and has not exited."""
        try:
            process = psutil.Process(self.pid)
            if abs(process.create_time() - self.create_time) > 0.01:
                return None  # the pid now belongs to another process
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            return process
        except psutil.Error:
            return None


@dataclass(frozen=True)
class StackState:
    stack_id: str
    started_at: str
    mes_home: str
    urls: dict[str, str]
    ports: dict[str, int]
    login: dict[str, str]
    mail_folder: str
    log_folders: list[str]
    database: dict[str, str]
    prod_bundle_at_start: str | None
    processes: list[StackProcess]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> StackState | None:
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            data["processes"] = [StackProcess(**p) for p in data["processes"]]
            return cls(**data)
        except (ValueError, TypeError, KeyError) as exc:
            raise StackError(
                f"the state file {path} cannot be read ({exc}): stop its processes by hand if "
                "any still run, then delete it"
            ) from None

    def alive(self) -> list[StackProcess]:
        return [p for p in self.processes if p.running()]


def stack_members(state: StackState) -> list[psutil.Process]:
    """Every live process of the stack: those in the sessions of the recorded processes (a task
    process has a process group of its own, but stays in its scheduler's session) and those
    carrying the stack's marker in their environment (which a process title may overwrite)."""
    sessions = {p.pid: p.create_time for p in state.processes}
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            sid = os.getsid(process.pid)
            in_session = sid in sessions and process.create_time() >= sessions[sid] - 0.01
            if (in_session or process.environ().get(MARKER) == state.stack_id) and (
                process.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(process)
    return found


def stop_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@dataclass(frozen=True)
class StopReport:
    stopped: list[StackProcess]  # the recorded processes that were still running
    others: int  # processes of their sessions besides them
    killed: list[str]  # what needed SIGKILL


def stop_stack(state: StackState, timeout: float = STOP_TIMEOUT) -> StopReport:
    """SIGTERM the recorded process groups whose leader is still the process ``up`` started, and
    the processes of their sessions outside those groups (a task process has a group of its own:
    without this, its scheduler would wait for it); SIGKILL what is left after ``timeout``; check
    that nothing is left."""
    alive = state.alive()
    groups = {p.pgid for p in alive}
    others = [m for m in stack_members(state) if m.pid not in {p.pid for p in alive}]
    for process in alive:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pgid, signal.SIGTERM)
    for process in others:
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) not in groups:
                process.terminate()
    killed: list[str] = []
    if not _wait_gone(state, timeout):
        for process in state.alive():
            killed.append(process.name)
            stop_group(process.pgid)
        leftovers = [m for m in stack_members(state) if m.pid not in {p.pid for p in alive}]
        for leftover in leftovers:
            with contextlib.suppress(psutil.Error):
                leftover.kill()
        if leftovers:
            killed.append(f"{len(leftovers)} of their processes")
        if not _wait_gone(state, 10):
            names = ", ".join(
                f"{p.pid} ({' '.join(p.cmdline())[:80]})" for p in stack_members(state)
            )
            raise StackError(
                f"processes of the stack survived SIGKILL: {names}; the state file "
                f"{state_file()} is kept"
            )
    return StopReport(alive, len(others), killed)


def _wait_gone(state: StackState, timeout: float) -> bool:
    def gone() -> bool:
        return not state.alive() and not stack_members(state)

    try:
        return until(gone, timeout=timeout, interval=0.5)
    except WaitTimeoutError:
        return False
