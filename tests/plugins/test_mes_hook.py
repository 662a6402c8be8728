"""The MES location from the Airflow connection ``mes_db``, or the embedded store without it."""

from __future__ import annotations

import pytest
from airflow.sdk import Connection
from sqlalchemy.engine import make_url

from include.errors import ConfigurationError
from mes_hook import connection_url, mes_database_url


def test_connection_gives_a_psycopg2_url(monkeypatch, airflow_db):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MES_DB",
        "postgres://monitor:p%40ss%2Fw0rd@db.internal:6543/mes?sslmode=require&cursor=realdictcursor",
    )

    url = make_url(mes_database_url())

    assert url.drivername == "postgresql+psycopg2"
    assert (url.username, url.password) == ("monitor", "p@ss/w0rd")
    assert (url.host, url.port, url.database) == ("db.internal", 6543, "mes")
    # libpq settings travel; the Postgres hook's own extras do not.
    assert dict(url.query) == {"sslmode": "require"}


def test_no_connection_means_the_embedded_store(monkeypatch, airflow_db):
    monkeypatch.delenv("AIRFLOW_CONN_MES_DB", raising=False)

    assert mes_database_url() is None


def test_conn_id_is_a_parameter(monkeypatch, airflow_db):
    monkeypatch.setenv("AIRFLOW_CONN_PROD_MES", "postgresql://mes@prod-db/mes")

    assert mes_database_url("prod_mes") == "postgresql+psycopg2://mes@prod-db/mes"


def test_password_is_not_logged(monkeypatch, airflow_db, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_MES_DB", "postgres://monitor:s3cret-pw@db/mes")

    with caplog.at_level("DEBUG"):
        mes_database_url()

    assert "db:5432/mes" in caplog.text
    assert "s3cret-pw" not in caplog.text


def test_minimal_connection():
    conn = Connection(conn_id="mes_db", conn_type="postgres", host="localhost")

    assert connection_url(conn) == "postgresql+psycopg2://localhost"


@pytest.mark.parametrize("conn_type", ["mysql", "sqlite", None])
def test_other_databases_are_refused_with_the_way_out(conn_type):
    conn = Connection(conn_id="mes_db", conn_type=conn_type, host="db")

    with pytest.raises(ConfigurationError, match="needs PostgreSQL") as raised:
        connection_url(conn)
    assert "remove it to use the embedded SQLite store" in str(raised.value)
