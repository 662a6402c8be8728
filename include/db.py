"""Database engines for the project's stores (the MES, the deployer): PostgreSQL or SQLite.

One place for what both stores need: URLs normalised to the psycopg2 driver, descriptions without
passwords, SQLite that queues concurrent writers, and transactions whose errors say what to do.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from include.errors import MonitoringError, StoreError, StorePermissionError

# PostgreSQL's insufficient_privilege; SQLite's read-only file.
_PERMISSION_DENIED = "42501"


URL_HELP = (
    "write it as postgresql://user:password@host:5432/database, with any @ : / # ? or % in the "
    "user name or password percent-encoded (@ as %40)"
)


def parse_url(
    url: str, *, what: str = "MES database URL", error: type[MonitoringError] = StoreError
) -> URL:
    """``url`` parsed, or ``error`` saying what is wrong with it (never the password)."""
    if not isinstance(url, str) or not url.strip():
        raise error(f"the {what} is empty: {URL_HELP}")
    try:
        parsed = make_url(url.strip())
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise error(
            f"the {what} {_masked(url)!r} is not a database URL ({_url_problem(url, exc)}): "
            f"{URL_HELP}"
        ) from None
    if parsed.host and "@" in parsed.host:
        raise error(
            f"the {what} {_masked(url)!r} has more than one @: an @ in the password (or user "
            f"name) must be written %40; {URL_HELP}"
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise error(f"the {what} {_masked(url)!r} has port {parsed.port}: ports are 1 to 65535")
    return parsed


def _url_problem(url: str, exc: Exception) -> str:
    if isinstance(exc, ValueError):
        port = re.search(r"@[^/@:]*:([^/]*)", url)
        if port:
            return f"its port {port.group(1)!r} is not a number"
    if "://" not in url:
        return "it has no scheme such as postgresql://"
    return "it cannot be parsed"


def _masked(url: str) -> str:
    """The URL with anything between the user name and the last @ hidden."""
    return re.sub(r"(://[^:/@]*:)(.*)@", r"\1***@", url.strip())


def normalise_url(url: str, *, what: str = "MES database URL") -> str:
    """``postgres://`` and ``postgresql://`` URLs get the psycopg2 driver; others pass."""
    parsed = parse_url(url, what=what)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """Any PostgreSQL URL (``postgresql+psycopg2://``...) as libpq and Airflow connections read
    it: ``postgresql://``, password kept."""
    return parse_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_answers(url: str, timeout: int = 3) -> bool:
    """Whether a PostgreSQL server accepts a connection at ``url``."""
    import psycopg2

    try:
        psycopg2.connect(libpq_url(url), connect_timeout=timeout).close()
    except psycopg2.Error:
        return False
    return True


def describe_url(url: str) -> str:
    """A URL fit for logs and error messages: no password."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    return f"PostgreSQL {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"


def create_engine(url: str, schema: str, *, what: str) -> tuple[sa.Engine, str]:
    """An engine for ``url`` whose tables live in ``schema`` (the main database on SQLite)."""
    parsed = parse_url(url, what=f"{what} URL")
    description = describe_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return _sqlite_engine(url, schema), description
    if parsed.get_backend_name() == "postgresql":
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        return engine, description
    raise StoreError(
        f"unsupported {what} {parsed.drivername!r}: use a postgresql:// URL, or none for the "
        "embedded SQLite file"
    )


@contextlib.contextmanager
def transaction(engine: sa.Engine, subject: str) -> Iterator[sa.Connection]:
    """One transaction; database errors become a StoreError saying nothing was written."""
    try:
        with engine.begin() as conn:
            yield conn
    except sa.exc.OperationalError as exc:
        if _permission_denied(exc):  # SQLite reports a read-only file as an OperationalError
            raise _refused(subject, exc) from None
        raise StoreError(
            f"cannot use {subject}: {_reason(exc)}. Check that the database is running and that "
            "the connection (mes_db, MES_DATABASE_URL) points at it; nothing was written"
        ) from None
    except sa.exc.DBAPIError as exc:
        if _permission_denied(exc):
            raise _refused(subject, exc) from None
        raise StoreError(
            f"{subject} refused the operation: {_reason(exc)}; nothing was written"
        ) from None


def _sqlite_engine(url: str, schema: str) -> sa.Engine:
    """SQLite with write transactions that lock at BEGIN, so concurrent writers queue up.

    pysqlite starts transactions lazily, at the first write; two writers could then both read
    "no previous evaluation" and collide. ``BEGIN IMMEDIATE`` takes the write lock up front.
    """
    engine = sa.create_engine(url, connect_args={"timeout": 60})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below open transactions
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @sa.event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine.execution_options(schema_translate_map={schema: None})


def _reason(exc: sa.exc.DBAPIError) -> str:
    text = str(exc.orig if exc.orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _refused(subject: str, exc: sa.exc.DBAPIError) -> StorePermissionError:
    return StorePermissionError(
        f"{subject} refused the operation: {_reason(exc)}. The connection's role may not do this "
        "(a read-only role can read the store but not write to it); nothing was written"
    )


def _permission_denied(exc: sa.exc.DBAPIError) -> bool:
    code = getattr(exc.orig, "pgcode", None) or getattr(exc.orig, "sqlstate", None)
    return code == _PERMISSION_DENIED or "readonly database" in str(exc.orig)
