"""A local stack without Docker: ``python -m deploy.stack up|down|status``.

``up`` starts the two deployments of ``serve.py`` (dev serves the repository's ``dags/``, prod only
the deployer's active bundle; each an api-server, a scheduler and a dag-processor) and the local
mail sink, all as detached processes (sessions of their own, output in log files), records them in
``$MES_HOME/stack/stack.json`` and returns. Both deployments send mail to the sink; dev's
``bundle_release`` publishes to the deployer prod is updated from, and verifies through prod's API.
``down`` stops exactly the processes of that state file; ``status`` says which are alive.

Databases: ``stack_databases.py`` (PostgreSQL when one answers, else embedded SQLite). The state
file and stopping: ``stack_state.py``. Ports: ``MES_DEV_PORT`` (8080), ``MES_PROD_PORT`` (8081),
``MES_SMTP_PORT`` (8025).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from deploy.local_airflow import ADMIN_USER, LocalAirflow, free_port
from deploy.mail_sink import smtp_connection_uri
from deploy.serve import PROD_SETTINGS, deployment
from deploy.stack_databases import Databases, choose_databases
from deploy.stack_state import (
    MARKER,
    STOP_TIMEOUT,
    StackError,
    StackProcess,
    StackState,
    exclusive,
    stack_folder,
    state_file,
    stop_group,
    stop_stack,
)
from deploy.waiting import WaitTimeoutError, until
from include.bundles.deployer import Deployer, default_store
from include.errors import BundleError
from include.paths import REPO_ROOT, mes_home

# (what listens, its environment variable, its default port)
PORTS = (
    ("dev", "MES_DEV_PORT", 8080),
    ("prod", "MES_PROD_PORT", 8081),
    ("smtp", "MES_SMTP_PORT", 8025),
)


def requested_ports(environ: dict[str, str]) -> dict[str, int]:
    ports = {}
    for name, variable, default in PORTS:
        value = environ.get(variable, "").strip() or str(default)
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise StackError(f"{variable}={value!r} is not a port number: give one in 1-65535")
        ports[name] = int(value)
    if len(set(ports.values())) < len(ports):
        raise StackError(
            "the dev, prod and SMTP ports must differ: "
            + ", ".join(f"{variable}={ports[name]}" for name, variable, _ in PORTS)
        )
    return ports


def port_taken(port: int) -> bool:
    """Whether something listens on the port (a server would fail to bind it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def check_ports(ports: dict[str, int]) -> None:
    taken = [(name, variable) for name, variable, _ in PORTS if port_taken(ports[name])]
    if taken:
        raise StackError(
            "; ".join(f"port {ports[n]} ({n}) is taken" for n, _ in taken)
            + ". Nothing was started. Stop what listens there, or choose other ports, e.g. "
            + " ".join(f"{v}={ports[n] + 10}" for n, v in taken)
            + " make up"
        )


def start_mail_sink(folder: Path, port: int, log: Path, marker: str) -> subprocess.Popen:
    """The mail sink as a detached process; returns once it accepts connections."""
    with log.open("ab") as output:
        command = [sys.executable, "-m", "deploy.mail_sink"]
        process = subprocess.Popen(
            [*command, "--folder", str(folder), "--port", str(port)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), MARKER: marker},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def listening() -> bool:
        if process.poll() is not None:
            raise StackError(f"the mail sink exited with {process.returncode}; see {log}")
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True

    try:
        until(listening, timeout=30, interval=0.2, retry_on=(OSError,))
    except WaitTimeoutError:
        stop_group(process.pid)
        raise StackError(
            f"the mail sink did not listen on port {port} within 30 s; see {log}"
        ) from None
    return process


def prepare_deployments(
    ports: dict[str, int], databases: Databases, marker: str
) -> dict[str, LocalAirflow]:
    """Configure and migrate dev and prod side by side (each ``airflow db migrate`` is slow)."""
    store = default_store().resolve()
    common = {
        MARKER: marker,
        "MES_BUNDLE_STORE": str(store),
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection_uri(ports["smtp"]),
    }
    if databases.mode == "postgresql":
        common["AIRFLOW_CONN_DEPLOYER_DB"] = databases.airflow_connection("deployer")
        common["DEPLOYER_DATABASE_URL"] = databases.urls["deployer"]
    extra = {
        # dev's bundle_release verifies a release through prod's API.
        "dev": {"MES_PROD_API_URL": f"http://127.0.0.1:{ports['prod']}"},
        "prod": {},
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(
                deployment,
                name,
                metadata_db=databases.urls.get(f"{name}_airflow"),
                mes_db=databases.airflow_connection(f"{name}_mes") if databases.urls else None,
                port=ports[name],
                bundle_store=store,
                extra_env={
                    **common,
                    **extra[name],
                    # The scheduler's log server; the api-server reads the logs from disk, and
                    # two deployments cannot share Airflow's default port (8793).
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                },
            )
            for name in ("dev", "prod")
        }
        return {name: future.result() for name, future in futures.items()}


def prod_active_bundle(databases: Databases) -> str | None:
    """Make sure the deployer knows deployment ``prod`` (so releases can target it); its bundle."""
    with Deployer.open(databases.urls.get("deployer"), default_store().resolve()) as deployer:
        try:
            return deployer.status("prod").active_bundle_id
        except BundleError:
            deployer.configure("prod", PROD_SETTINGS)
            return None


def up() -> int:
    with exclusive():
        running = StackState.load(state_file())
        if running is not None:
            alive = running.alive()
            if alive:
                if len(alive) < len(running.processes):
                    gone = [p.name for p in running.processes if p not in alive]
                    print(
                        f"a local stack from {state_file()} is running, but not whole: "
                        f"{', '.join(gone)} stopped. `make down`, then `make up`, restarts it."
                    )
                    return 1
                print(f"the local stack is already running (state file {state_file()}):")
                print(summary(running))
                return 0
            print(f"replacing the state file of a stack that is gone: {state_file()}")
            state_file().unlink()
        ports = requested_ports(dict(os.environ))
        check_ports(ports)
        databases = choose_databases(dict(os.environ))
        print(f"databases: {databases.description}", flush=True)
        with _signals_interrupt():
            state = start_stack(ports, databases)
        state.save(state_file())
    print(f"\nthe local stack is up (state file {state_file()}):")
    print(summary(state))
    print(next_steps(state))
    return 0


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal) end ``up`` as Ctrl-C does: what it had started is
    stopped, rather than left running with no state file to find it by."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def start_stack(ports: dict[str, int], databases: Databases) -> StackState:
    """Start everything; on any failure (or interruption) stop what was started and raise."""
    marker = uuid.uuid4().hex
    mail = mes_home() / "mail"
    mail.mkdir(parents=True, exist_ok=True)
    sink_log = stack_folder() / "mail-sink.log"
    started: list[LocalAirflow] = []
    sink = start_mail_sink(mail, ports["smtp"], sink_log, marker)
    print(f"mail sink on 127.0.0.1:{ports['smtp']}, writing to {mail}", flush=True)
    try:
        print("migrating the metadata databases of dev and prod ...", flush=True)
        deployments = prepare_deployments(ports, databases, marker)
        prod_bundle = prod_active_bundle(databases)
        for name, airflow in deployments.items():
            print(f"starting {name}: api-server, scheduler, dag-processor ...", flush=True)
            started.append(airflow)
            airflow.start()
        processes = [StackProcess.of("mail sink", sink, sink_log)]
        for name, airflow in deployments.items():
            for process in airflow.processes:
                component = process.args[-1]
                log = airflow.home / "logs" / f"{component}.log"
                processes.append(StackProcess.of(f"{name} {component}", process, log))
    except BaseException:
        for airflow in started:
            airflow.stop()
        stop_group(sink.pid)
        sink.wait()
        raise
    return StackState(
        stack_id=marker,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        mes_home=str(mes_home()),
        urls={name: airflow.url for name, airflow in deployments.items()},
        ports=ports,
        login={"username": ADMIN_USER, "password": deployments["dev"].password},
        mail_folder=str(mail),
        log_folders=[str(a.home / "logs") for a in deployments.values()] + [str(stack_folder())],
        database={"mode": databases.mode, "description": databases.description},
        prod_bundle_at_start=prod_bundle,
        processes=processes,
    )


def summary(state: StackState) -> str:
    login = f"{state.login['username']} / {state.login['password']}"
    dev_logs, prod_logs, stack_logs = state.log_folders
    components = "{api-server,scheduler,dag-processor}.log"
    return "\n".join(
        [
            f"  dev   {state.urls['dev']}  serves the repository's dags/",
            f"  prod  {state.urls['prod']}  serves the active bundle of deployment 'prod' "
            f"(at start: {state.prod_bundle_at_start or 'none'})",
            f"  login {login} (both)",
            f"  mail  {state.mail_folder}/  (the SMTP sink on 127.0.0.1:{state.ports['smtp']})",
            f"  logs  {dev_logs}/{components}",
            f"        {prod_logs}/{components}",
            f"        {stack_logs}/mail-sink.log",
            f"  data  {state.database['description']}",
        ]
    )


def next_steps(state: StackState) -> str:
    return "\n".join(
        [
            "\nnext:",
            f"  - open {state.urls['dev']}, log in, trigger data_drift_monitor with the form's "
            "defaults (2017Q4, 0.45): the first run",
            "    generates the tutorial data and trains the model (about a minute); the warning "
            f"email lands in {state.mail_folder}/",
            f"  - prod ({state.urls['prod']}) serves nothing until bundle_release promotes a "
            "bundle: trigger bundle_release on dev,",
            "    which publishes the bundle, updates prod and verifies it through prod's API",
            "  - `make down` stops it all; `python -m deploy.stack status` shows what runs",
        ]
    )


# -- down and status --------------------------------------------------------------------------


def down() -> int:
    with exclusive():
        state = StackState.load(state_file())
        if state is None:
            print(f"no local stack is running (no state file {state_file()})")
            return 0
        report = stop_stack(state)
        state_file().unlink()
    if not report.stopped and not report.others:
        print(f"the stack of {state_file()} had already stopped; removed its state file")
        return 0
    print(f"stopped the local stack (dev {state.urls['dev']}, prod {state.urls['prod']}):")
    for process in report.stopped:
        print(f"  {process.name:<18} pid {process.pid}")
    if report.others:
        print(f"  and {report.others} processes they had started (workers, tasks, log servers)")
    if report.killed:
        print(
            f"  ({', '.join(report.killed)} still ran {STOP_TIMEOUT:.0f} s after SIGTERM, "
            "e.g. finishing a task: killed)"
        )
    print(f"its data stays in {state.mes_home}; `make up` starts it again")
    return 0


def status() -> int:
    state = StackState.load(state_file())
    if state is None:
        print(f"no local stack is running (no state file {state_file()})")
        return 0
    print(f"local stack started {state.started_at} (state file {state_file()}):")
    print(summary(state))
    print("  processes:")
    for process in state.processes:
        alive = "alive" if process.running() else "gone"
        print(f"    {process.name:<18} pid {process.pid:<8} {alive}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.stack", description=__doc__.splitlines()[0]
    )
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    # Absolute, so the processes and the state file agree whatever their working folder.
    os.environ["MES_HOME"] = str(mes_home().resolve())
    try:
        return {"up": up, "down": down, "status": status}[args.command]()
    except (StackError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
