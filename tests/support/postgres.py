"""Find or start a real PostgreSQL server for the tests.

Order: ``MES_TEST_DATABASE_URL`` when set, else a server on 127.0.0.1:5432, else a throwaway
cluster started from the local PostgreSQL binaries (``initdb``/``pg_ctl``, run as the ``postgres``
user when the tests run as root, since both refuse to run as root), else one from the ``pgserver``
wheel. Each test run then works in databases of its own, dropped at the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from sqlalchemy.engine import make_url

from include.db import libpq_url, postgres_answers

HOW_TO_PROVIDE = (
    "No PostgreSQL server could be found or started for the tests. Provide one of: "
    "MES_TEST_DATABASE_URL=postgresql://user:password@host:port/dbname (a role allowed to create "
    "databases); a server on 127.0.0.1:5432 accepting user 'postgres'; the PostgreSQL server "
    "binaries (Debian/Ubuntu: apt-get install postgresql) so the tests can start a throwaway "
    "cluster; or 'pip install pgserver'."
)


@dataclass
class PostgresServer:
    """A reachable server: an admin URL plus how it was obtained."""

    admin_url: str
    origin: str
    stop: Callable[[], None] = lambda: None

    def create_database(self, prefix: str = "mes_test") -> str:
        """Create a fresh, uniquely named database and return its SQLAlchemy URL."""
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with _admin_connection(self.admin_url) as conn, conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with _admin_connection(self.admin_url) as conn, conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def _admin_connection(url: str):
    conn = psycopg2.connect(libpq_url(url), connect_timeout=5)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def sqlalchemy_url(url: str) -> str:
    """Any postgres URL to the psycopg2 SQLAlchemy form used by the project."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.insert(0, found)
    return Path(candidates[0]).parent if candidates else None


def start_local_cluster() -> PostgresServer | None:
    """Start a throwaway cluster from the local binaries; None when there are none."""
    bindir = _postgres_bindir()
    if bindir is None:
        return None
    as_root = os.geteuid() == 0
    if as_root:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            return None
    workdir = Path(tempfile.mkdtemp(prefix="mes-pg-"))
    datadir, sockdir = workdir / "data", workdir / "sock"
    sockdir.mkdir()
    if as_root:
        os.chmod(workdir, 0o755)
        for path in (workdir, sockdir):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = _free_port()

    def run(*args: str) -> None:
        command = shlex.join(args)
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", command] if as_root else list(args)
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    options = f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        run(
            str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-o",
            options,
            "-l",
            str(workdir / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
        shutil.rmtree(workdir, ignore_errors=True)
        return None

    def stop() -> None:
        with contextlib.suppress(Exception):
            run(str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(workdir, ignore_errors=True)

    return PostgresServer(
        f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres",
        f"throwaway cluster from {bindir}",
        stop,
    )


def start_pgserver() -> PostgresServer | None:
    """Start a throwaway server from the ``pgserver`` wheel; None when it is not installed."""
    try:
        import pgserver
    except ImportError:
        return None
    workdir = Path(tempfile.mkdtemp(prefix="mes-pgserver-"))
    server = pgserver.get_server(workdir, cleanup_mode="stop")
    url = server.get_uri()

    def stop() -> None:
        with contextlib.suppress(Exception):
            server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)

    return PostgresServer(sqlalchemy_url(url), "pgserver wheel", stop)


def find_or_start_server(
    default_url: str = "postgresql://postgres@127.0.0.1:5432/postgres",
) -> PostgresServer:
    """Return a reachable server, or raise RuntimeError with how to provide one."""
    explicit = os.environ.get("MES_TEST_DATABASE_URL")
    if explicit:
        if postgres_answers(explicit):
            return PostgresServer(sqlalchemy_url(explicit), "MES_TEST_DATABASE_URL")
        raise RuntimeError(f"MES_TEST_DATABASE_URL={explicit!r} does not answer. {HOW_TO_PROVIDE}")
    if postgres_answers(default_url):
        return PostgresServer(sqlalchemy_url(default_url), "server on 127.0.0.1:5432")
    for start in (start_local_cluster, start_pgserver):
        server = start()
        if server is not None and postgres_answers(server.admin_url):
            return server
        if server is not None:
            server.stop()
    raise RuntimeError(HOW_TO_PROVIDE)


@contextlib.contextmanager
def fresh_database(server: PostgresServer, prefix: str = "mes_test") -> Iterator[str]:
    url = server.create_database(prefix)
    try:
        yield url
    finally:
        server.drop_database(url)


def restart_local_cluster(server: PostgresServer, *, timeout: int = 60) -> None:
    """Restart a cluster that ``start_local_cluster`` started, as an operator would: ``pg_ctl
    restart -m fast`` ends every open connection (their transactions roll back) and serves
    again before this returns, on the same port with the same options."""
    if not server.origin.startswith("throwaway cluster"):
        raise RuntimeError(
            f"only a cluster started by start_local_cluster can be restarted, not a {server.origin}"
        )
    with _admin_connection(server.admin_url) as conn, conn.cursor() as cur:
        cur.execute("SHOW data_directory")
        (datadir,) = cur.fetchone()
    bindir = _postgres_bindir()
    command = [
        str(bindir / "pg_ctl"),
        "-D",
        datadir,
        "-l",
        str(Path(datadir).parent / "server.log"),
        "-m",
        "fast",
        "-w",
        "-t",
        str(timeout),
        "restart",
    ]
    if os.geteuid() == 0:  # pg_ctl refuses to run as root
        command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 30)
    if done.returncode != 0:
        raise RuntimeError(f"pg_ctl restart failed ({done.returncode}): {done.stderr[-2000:]}")
