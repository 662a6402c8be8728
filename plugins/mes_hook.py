"""Where the model evaluation store lives, from the Airflow connection ``mes_db``.

With the connection, the MES is that PostgreSQL database; without it, ``None``, which
``ModelEvaluationStore.open`` turns into the embedded SQLite store under ``$MES_HOME`` (the
zero-setup quickstart). Define the connection in the UI, with ``airflow connections add``, or as
an environment variable: ``AIRFLOW_CONN_MES_DB=postgresql://user:password@host:5432/mes``.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseHook, Connection
from airflow.sdk.exceptions import AirflowNotFoundException

from include.errors import ConfigurationError

DEFAULT_MES_CONN_ID = "mes_db"

_POSTGRES_TYPES = ("postgres", "postgresql")
# libpq settings a connection's extra may carry into the URL; the rest (the Postgres hook's
# "cursor", AWS IAM settings...) mean nothing to a plain psycopg2 connection.
_LIBPQ_OPTIONS = frozenset(
    {
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "sslcrl",
        "connect_timeout",
        "application_name",
        "options",
        "target_session_attrs",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
    }
)

log = logging.getLogger(__name__)


def mes_database_url(conn_id: str = DEFAULT_MES_CONN_ID) -> str | None:
    """The MES SQLAlchemy URL from connection ``conn_id``, or None when it is not defined."""
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        log.info(
            "No Airflow connection %r: using the embedded default (SQLite under $MES_HOME)",
            conn_id,
        )
        return None
    url = connection_url(conn)
    log.info(
        "Database from connection %r: PostgreSQL %s:%s/%s",
        conn_id,
        conn.host or "localhost",
        conn.port or 5432,
        conn.schema or "",
    )
    return url


def connection_url(conn: Connection) -> str:
    """A ``postgresql+psycopg2://`` URL from a postgres connection (its schema is the database)."""
    from sqlalchemy.engine import URL

    conn_type = (conn.conn_type or "").lower()
    if conn_type not in _POSTGRES_TYPES:
        raise ConfigurationError(
            f"connection {conn.conn_id!r} has type {conn.conn_type!r}, but the model evaluation "
            "store needs PostgreSQL: give it type 'postgres' (e.g. "
            "AIRFLOW_CONN_MES_DB=postgresql://user:password@host:5432/mes), or remove it to "
            "use the embedded SQLite store"
        )
    extra: dict[str, Any] = conn.extra_dejson
    query = {key: str(value) for key, value in extra.items() if key in _LIBPQ_OPTIONS}
    url = URL.create(
        "postgresql+psycopg2",
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
        query=query,
    )
    return url.render_as_string(hide_password=False)
