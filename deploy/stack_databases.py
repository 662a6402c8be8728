"""The local stack's databases: on a PostgreSQL server when one answers, else embedded SQLite.

When a PostgreSQL answers (``MES_STACK_DATABASE_URL``, by default the local server as user
``postgres``): one database each for dev's and prod's metadata and MES and for the deployer, named
``<MES_STACK_DATABASE_PREFIX>_<role>`` (default ``mes_stack``), created when missing. Otherwise (or
with ``MES_STACK_DATABASE_URL=none``) the embedded SQLite defaults under ``$MES_HOME``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg2
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from deploy.stack_state import StackError
from include.db import describe_url, libpq_url, postgres_answers
from include.paths import mes_home

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_ROLES = ("dev_airflow", "prod_airflow", "dev_mes", "prod_mes", "deployer")


@dataclass(frozen=True)
class Databases:
    mode: str  # "postgresql" or "embedded"
    description: str
    urls: dict[str, str]  # role -> SQLAlchemy URL (PostgreSQL only)

    def airflow_connection(self, role: str) -> str:
        """The database as an Airflow connection URI (``postgresql://``, no driver suffix)."""
        return libpq_url(self.urls[role])


def choose_databases(environ: dict[str, str]) -> Databases:
    """PostgreSQL when a server answers, with the stack's databases created; else embedded."""
    explicit = environ.get("MES_STACK_DATABASE_URL", "").strip()
    if explicit.lower() == "none":
        return _embedded("MES_STACK_DATABASE_URL=none")
    server = explicit or DEFAULT_SERVER
    try:
        make_url(server)
    except ArgumentError:
        raise StackError(
            f"MES_STACK_DATABASE_URL={server!r} is not a database URL: give one like "
            f"{DEFAULT_SERVER}, or none for the embedded databases"
        ) from None
    if not postgres_answers(server):
        if explicit:
            raise StackError(
                f"MES_STACK_DATABASE_URL: {describe_url(server)} does not answer. "
                "Start it or fix the URL; or set MES_STACK_DATABASE_URL=none for the embedded "
                "SQLite databases. Nothing was started"
            )
        return _embedded(f"{describe_url(server)} does not answer")
    prefix = environ.get("MES_STACK_DATABASE_PREFIX", "").strip() or "mes_stack"
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", prefix):
        raise StackError(
            f"MES_STACK_DATABASE_PREFIX={prefix!r}: use lower-case letters, digits and _"
        )
    names = {role: f"{prefix}_{role}" for role in DATABASE_ROLES}
    try:
        _create_missing(server, names.values())
    except psycopg2.Error as exc:
        raise StackError(
            f"cannot create the stack's databases on {describe_url(server)}: "
            f"{str(exc).strip()}. Use a role allowed to create databases in "
            "MES_STACK_DATABASE_URL, or MES_STACK_DATABASE_URL=none for the embedded ones"
        ) from None
    base = make_url(server).set(drivername="postgresql+psycopg2")
    urls = {
        role: base.set(database=name).render_as_string(hide_password=False)
        for role, name in names.items()
    }
    where = f"{base.host or 'localhost'}:{base.port or 5432}"
    return Databases("postgresql", f"PostgreSQL {where}: {', '.join(names.values())}", urls)


def _create_missing(server: str, names: Iterable[str]) -> None:
    conn = psycopg2.connect(libpq_url(server), connect_timeout=5)
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            for name in names:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    with contextlib.suppress(psycopg2.errors.DuplicateDatabase):
                        cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def _embedded(reason: str) -> Databases:
    return Databases(
        "embedded",
        f"the embedded defaults, SQLite files under {mes_home()} for the Airflow metadata, "
        f"the MES and the deployer ({reason})",
        {},
    )
