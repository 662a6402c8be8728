"""``MESHook``: where the model evaluation store lives, from the Airflow connection ``mes_db``.

With the connection, the MES is that PostgreSQL database; without it, ``None``, which
``ModelEvaluationStore.open`` turns into the embedded SQLite store under ``$MES_HOME`` (the
zero-setup quickstart). Define the connection in the UI, with ``airflow connections add``, or as
an environment variable: ``AIRFLOW_CONN_MES_DB=postgresql://user:password@host:5432/mes``.

The URL the MES gets is exact: ``postgresql+psycopg2://`` with the connection's login, password
(percent-escaped by SQLAlchemy), host, port and schema (the database), empty fields left out, and
of the connection's extras only the libpq settings (``_LIBPQ_OPTIONS``) as query parameters.

The postgres provider's ``PostgresHook.sqlalchemy_url`` maps the connection's fields to that URL;
the rest is done here, because the provider's URL differs from what the MES needs in four ways:
it defaults to ``postgresql+psycopg`` when psycopg 3 is installed (the MES uses psycopg2: the
scheme is given to it); it puts only the ``sqlalchemy_query`` extra in the URL (the libpq extras
such as ``sslmode`` it hands to ``connect()`` in ``get_conn``, which a SQLAlchemy engine never
calls); it renders empty fields (as the UI may store them) as ``:@/``; and with ``iam`` it
replaces the password by a token that expires in 15 minutes, shorter than the MES page's engine
lives. So the provider is given the connection's fields alone, empty ones as None.

No Airflow internal is used: ``BaseHook``, ``Connection`` and ``AirflowNotFoundException`` are
the task SDK's public interface, ``PostgresHook`` is the provider's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, Connection
from airflow.sdk.exceptions import AirflowNotFoundException

from include.errors import ConfigurationError
from include.settings import current

if TYPE_CHECKING:
    from include.mes.store import ModelEvaluationStore

DEFAULT_MES_CONN_ID = "mes_db"
SQLALCHEMY_SCHEME = "postgresql+psycopg2"

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


class MESHook(BaseHook):
    """The model evaluation store of an Airflow connection (type ``postgres``), or the embedded
    store when the connection does not exist.

    :param mes_conn_id: the connection of the MES database (default ``mes_db``).
    """

    conn_name_attr = "mes_conn_id"
    default_conn_name = DEFAULT_MES_CONN_ID
    conn_type = "postgres"
    hook_name = "Model evaluation store"

    def __init__(self, mes_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mes_conn_id = mes_conn_id

    def get_uri(self) -> str | None:
        """The MES SQLAlchemy URL from the connection, or None when it is not defined (the
        embedded default). A connection of another type than postgres raises
        ``ConfigurationError``."""
        try:
            conn = self.get_connection(self.mes_conn_id)
        except AirflowNotFoundException:
            log.info(
                "No Airflow connection %r: using the embedded default (SQLite under %s)",
                self.mes_conn_id,
                current().mes_home,
            )
            return None
        url = connection_url(conn)
        log.info(
            "Database from connection %r: PostgreSQL %s:%s/%s",
            self.mes_conn_id,
            conn.host or "localhost",
            conn.port or 5432,
            conn.schema or "",
        )
        return url

    def get_conn(self, *, read_only: bool = False) -> ModelEvaluationStore:
        """The MES opened at ``get_uri()`` (the caller closes it). A writer creates or upgrades
        its schema; a reader (``read_only``) needs only SELECT rights and raises
        ``StoreNotCreatedError`` when the database holds no MES yet."""
        from include.mes.store import ModelEvaluationStore

        return ModelEvaluationStore.open(self.get_uri(), read_only=read_only)


def connection_url(conn: Connection) -> str:
    """A ``postgresql+psycopg2://`` URL from a postgres connection (its schema is the database),
    with the connection's libpq extras as query parameters."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    conn_type = (conn.conn_type or "").lower()
    if conn_type not in _POSTGRES_TYPES:
        raise ConfigurationError(
            f"connection {conn.conn_id!r} has type {conn.conn_type!r}, but the model evaluation "
            "store needs PostgreSQL: give it type 'postgres' (e.g. "
            "AIRFLOW_CONN_MES_DB=postgresql://user:password@host:5432/mes), or remove it to "
            "use the embedded SQLite store"
        )
    # The fields alone, empty ones as None: no extras, so no IAM token, no sqlalchemy_query.
    fields = Connection(
        conn_id=conn.conn_id,
        conn_type="postgres",
        host=conn.host or None,
        login=conn.login or None,
        password=conn.password or None,
        schema=conn.schema or None,
        port=conn.port or None,
    )
    url = PostgresHook(connection=fields, sqlalchemy_scheme=SQLALCHEMY_SCHEME).sqlalchemy_url
    extra: dict[str, Any] = conn.extra_dejson
    query = {key: str(value) for key, value in extra.items() if key in _LIBPQ_OPTIONS}
    return url.set(query=query).render_as_string(hide_password=False)
