"""The MES location from the Airflow connection ``mes_db``, or the embedded store without it."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Connection
from sqlalchemy.engine import make_url

from include.errors import ConfigurationError, StoreNotCreatedError
from mes_hook import MESHook, connection_url


def test_connection_gives_a_psycopg2_url(monkeypatch, airflow_db):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MES_DB",
        "postgres://monitor:p%40ss%2Fw0rd@db.internal:6543/mes?sslmode=require&cursor=realdictcursor",
    )

    url = make_url(MESHook().get_uri())

    assert url.drivername == "postgresql+psycopg2"
    assert (url.username, url.password) == ("monitor", "p@ss/w0rd")
    assert (url.host, url.port, url.database) == ("db.internal", 6543, "mes")
    # libpq settings travel; the Postgres hook's own extras do not.
    assert dict(url.query) == {"sslmode": "require"}


def test_no_connection_means_the_embedded_store(monkeypatch, airflow_db):
    monkeypatch.delenv("AIRFLOW_CONN_MES_DB", raising=False)

    assert MESHook().get_uri() is None


def test_conn_id_is_a_parameter(monkeypatch, airflow_db):
    monkeypatch.setenv("AIRFLOW_CONN_PROD_MES", "postgresql://mes@prod-db/mes")

    assert MESHook(mes_conn_id="prod_mes").get_uri() == "postgresql+psycopg2://mes@prod-db/mes"


def test_password_is_not_logged(monkeypatch, airflow_db, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_MES_DB", "postgres://monitor:s3cret-pw@db/mes")

    with caplog.at_level("DEBUG"):
        MESHook().get_uri()

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


# The hook itself: what the operator, the DAG defaults and the MES page call.


def test_hook_reads_the_mes_db_connection_by_default(monkeypatch, airflow_db):
    monkeypatch.setenv("AIRFLOW_CONN_MES_DB", "postgresql://monitor:pw@db.internal:6543/mes")

    hook = MESHook()

    assert hook.mes_conn_id == "mes_db"
    assert hook.get_uri() == "postgresql+psycopg2://monitor:pw@db.internal:6543/mes"


def test_hook_reads_the_connection_it_is_given(monkeypatch, airflow_db):
    monkeypatch.setenv("AIRFLOW_CONN_MES_DB", "postgresql://other@elsewhere/other")
    monkeypatch.setenv("AIRFLOW_CONN_DEPLOYER_DB", "postgresql://deployer@deploy-db/deployer")

    assert MESHook(mes_conn_id="deployer_db").get_uri() == (
        "postgresql+psycopg2://deployer@deploy-db/deployer"
    )


def test_hook_without_connection_says_so_and_gives_none(monkeypatch, airflow_db, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_MES_DB", raising=False)

    with caplog.at_level("INFO"):
        assert MESHook().get_uri() is None

    assert "No Airflow connection 'mes_db': using the embedded default" in caplog.text


def test_hook_refuses_a_connection_of_another_type(monkeypatch, airflow_db):
    monkeypatch.setenv("AIRFLOW_CONN_MES_DB", "mysql://monitor:pw@db/mes")

    with pytest.raises(ConfigurationError, match="has type 'mysql'"):
        MESHook().get_uri()


def test_hook_opens_the_embedded_store_without_connection(monkeypatch, airflow_db, tmp_path):
    monkeypatch.delenv("AIRFLOW_CONN_MES_DB", raising=False)
    monkeypatch.delenv("MES_DATABASE_URL", raising=False)
    monkeypatch.setenv("MES_HOME", str(tmp_path))

    # A reader finds no MES yet; a writer creates it, after which a reader opens it.
    with pytest.raises(StoreNotCreatedError):
        MESHook().get_conn(read_only=True)
    with MESHook().get_conn() as store:
        assert store.store_names() == []
        assert store.description == f"SQLite file {tmp_path / 'mes.sqlite'}"
    assert (tmp_path / "mes.sqlite").is_file()
    with MESHook().get_conn(read_only=True) as store:
        assert store.schema_version() > 0


@pytest.mark.integration
def test_hook_opens_the_store_of_a_postgres_connection(monkeypatch, airflow_db, postgres_url):
    # The connection as an operator would write it: scheme postgres, libpq extras in the query.
    target = make_url(postgres_url)
    uri = target.set(drivername="postgres", query={"application_name": "mes-hook-test"})
    monkeypatch.setenv("AIRFLOW_CONN_MES_DB", uri.render_as_string(hide_password=False))

    assert make_url(MESHook().get_uri()) == target.set(query={"application_name": "mes-hook-test"})
    with MESHook().get_conn() as store:
        assert store.schema_version() > 0
        assert store.description == (
            f"PostgreSQL {target.host}:{target.port or 5432}/{target.database}"
        )
    with MESHook().get_conn(read_only=True) as store:
        assert store.store_names() == []


# The URL is the one the MES got before the hook leaned on the postgres provider: the provider's
# own URL differs in each of these cases.


def test_empty_fields_are_left_out():
    conn = Connection(
        conn_id="mes_db", conn_type="postgres", host="", login="", password="", schema="", port=0
    )

    assert connection_url(conn) == "postgresql+psycopg2://"


def test_password_without_login_is_left_out():
    conn = Connection(conn_id="mes_db", conn_type="postgres", host="db", login="", password="pw")

    assert connection_url(conn) == "postgresql+psycopg2://db"


def test_password_is_percent_escaped():
    conn = Connection(
        conn_id="mes_db", conn_type="postgres", host="db", login="u", password="p@s/s:w%d#?"
    )

    url = connection_url(conn)

    assert url == "postgresql+psycopg2://u:p%40s%2Fs%3Aw%25d%23%3F@db"
    assert make_url(url).password == "p@s/s:w%d#?"


def test_driver_is_psycopg2_whatever_the_extras_say():
    # The provider would choose psycopg 3 (installed here), or the connection's own scheme.
    conn = Connection(
        conn_id="mes_db",
        conn_type="postgres",
        host="db",
        extra='{"sqlalchemy_scheme": "postgresql+psycopg", "sqlalchemy_query": {"a": "b"}}',
    )

    assert connection_url(conn) == "postgresql+psycopg2://db"


def test_iam_flag_is_ignored_and_the_password_kept():
    conn = Connection(
        conn_id="mes_db",
        conn_type="postgres",
        host="db",
        login="u",
        password="pw",
        extra='{"iam": true, "aws_conn_id": "aws_default"}',
    )

    assert connection_url(conn) == "postgresql+psycopg2://u:pw@db"


def test_every_libpq_extra_travels_as_text():
    extra = {
        "sslmode": "verify-full",
        "sslrootcert": "/certs/ca.pem",
        "connect_timeout": 5,
        "options": "-c search_path=mes",
        "keepalives": 1,
        "cursor": "dictcursor",
        "enable_log_db_messages": True,
    }
    conn = Connection(conn_id="mes_db", conn_type="postgres", host="db", extra=json.dumps(extra))

    query = dict(make_url(connection_url(conn)).query)

    assert query == {
        "sslmode": "verify-full",
        "sslrootcert": "/certs/ca.pem",
        "connect_timeout": "5",
        "options": "-c search_path=mes",
        "keepalives": "1",
    }


def test_the_given_connection_is_not_changed():
    conn = Connection(
        conn_id="mes_db",
        conn_type="postgres",
        host="db",
        login="u",
        password="pw",
        extra='{"iam": true}',
    )

    connection_url(conn)

    assert (conn.login, conn.password, conn.port) == ("u", "pw", None)


def test_hook_without_connection_names_the_embedded_folder(
    monkeypatch, airflow_db, caplog, tmp_path
):
    monkeypatch.delenv("AIRFLOW_CONN_MES_DB", raising=False)
    monkeypatch.setenv("MES_HOME", str(tmp_path))

    with caplog.at_level("INFO"):
        MESHook().get_uri()

    assert f"using the embedded default (SQLite under {tmp_path})" in caplog.text
