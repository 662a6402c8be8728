"""include/db: database URLs checked and described without passwords; SQLite engines; errors."""

from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from include.db import (
    create_engine,
    describe_url,
    libpq_url,
    normalise_url,
    parse_url,
    postgres_answers,
    transaction,
)
from include.errors import ConfigurationError, StoreError, StorePermissionError


def test_a_postgresql_url_is_parsed():
    parsed = parse_url("postgresql://mes:secret@db.example:5433/monitoring")
    assert (parsed.username, parsed.password, parsed.host, parsed.port, parsed.database) == (
        "mes",
        "secret",
        "db.example",
        5433,
        "monitoring",
    )


def test_surrounding_blanks_are_ignored():
    assert parse_url("  sqlite:///x.db \n").database == "x.db"


@pytest.mark.parametrize("url", ["", "   ", None])
def test_an_empty_url_is_refused_with_how_to_write_one(url):
    with pytest.raises(StoreError, match="is empty: write it as postgresql://"):
        parse_url(url)


def test_a_url_without_a_scheme_says_so():
    with pytest.raises(StoreError, match="no scheme such as postgresql://"):
        parse_url("db.example:5432/monitoring")


def test_a_port_that_is_not_a_number_says_so_and_hides_the_password():
    with pytest.raises(StoreError) as caught:
        parse_url("postgresql://mes:hunter2@db:54x2/monitoring")
    assert "its port '54x2' is not a number" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_an_unencoded_at_in_the_password_is_explained_without_the_password():
    with pytest.raises(StoreError) as caught:
        parse_url("postgresql://mes:p@ss@db:5432/monitoring")
    assert "%40" in str(caught.value)
    assert "p@ss" not in str(caught.value)
    assert "ss@db" not in str(caught.value)


def test_an_encoded_at_in_the_password_is_fine():
    assert parse_url("postgresql://mes:p%40ss@db:5432/m").password == "p@ss"


def test_a_port_out_of_range_is_refused():
    with pytest.raises(StoreError, match="ports are 1 to 65535"):
        parse_url("postgresql://mes@db:70000/m")


def test_the_error_class_and_subject_can_be_chosen():
    with pytest.raises(ConfigurationError, match="the deployer URL is empty"):
        parse_url("", what="deployer URL", error=ConfigurationError)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgresql_urls_get_the_psycopg2_driver_and_keep_the_password(scheme):
    assert (
        normalise_url(f"{scheme}://mes:secret@db:5432/m")
        == "postgresql+psycopg2://mes:secret@db:5432/m"
    )


def test_other_urls_pass_unchanged():
    assert normalise_url("sqlite:////tmp/mes.db") == "sqlite:////tmp/mes.db"
    assert normalise_url("postgresql+psycopg2://mes@db/m") == "postgresql+psycopg2://mes@db/m"


def test_libpq_url_drops_the_driver_and_keeps_the_password():
    assert libpq_url("postgresql+psycopg2://mes:s%40c@db:5432/m") == (
        "postgresql://mes:s%40c@db:5432/m"
    )


def test_descriptions_never_carry_the_password():
    assert describe_url("postgresql://mes:secret@db.example:5433/monitoring") == (
        "PostgreSQL db.example:5433/monitoring"
    )
    assert describe_url("postgresql://mes:secret@/monitoring") == (
        "PostgreSQL localhost:5432/monitoring"
    )
    assert describe_url("sqlite:////tmp/mes.db") == "SQLite file /tmp/mes.db"


def test_postgres_answers_false_where_nothing_listens():
    assert postgres_answers("postgresql://mes:x@127.0.0.1:1/m", timeout=1) is False


def test_an_sqlite_engine_creates_its_folder_and_maps_the_schema_away(tmp_path):
    path = tmp_path / "new" / "mes.db"
    engine, description = create_engine(f"sqlite:///{path}", "mes", what="MES database")
    assert description == f"SQLite file {path}"
    assert path.parent.is_dir()
    table = sa.Table(
        "runs", sa.MetaData(schema="mes"), sa.Column("id", sa.Integer, primary_key=True)
    )
    with transaction(engine, "the MES") as conn:
        table.create(conn)
        conn.execute(table.insert().values(id=1))
    with engine.connect() as conn:
        assert conn.execute(sa.select(table.c.id)).scalars().all() == [1]
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_an_unsupported_database_is_refused(tmp_path):
    with pytest.raises(StoreError, match="unsupported MES database 'mysql'"):
        create_engine("mysql://u@h/d", "mes", what="MES database")


def _engine_with_table(tmp_path):
    engine, _ = create_engine(f"sqlite:///{tmp_path / 'mes.db'}", "mes", what="MES database")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE runs (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO runs VALUES (1)")
    return engine


def _run(engine, *statements):
    with transaction(engine, "the MES") as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_a_failed_transaction_writes_nothing_and_says_so(tmp_path):
    engine = _engine_with_table(tmp_path)
    with pytest.raises(StoreError, match=r"the MES refused the operation: .*nothing was written"):
        _run(engine, "INSERT INTO runs VALUES (2)", "INSERT INTO runs VALUES (1)")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT id FROM runs").scalars().all() == [1]
    engine.dispose()


def test_an_operational_error_points_at_the_connection(tmp_path):
    engine = _engine_with_table(tmp_path)
    with pytest.raises(StoreError, match=r"cannot use the MES: .*no such table.*MES_DATABASE_URL"):
        _run(engine, "SELECT * FROM missing")
    engine.dispose()


def _read_only_engine(tmp_path):
    _engine_with_table(tmp_path).dispose()
    uri = f"file:{tmp_path / 'mes.db'}?mode=ro"
    return sa.create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    )


def test_writing_a_read_only_sqlite_file_is_a_store_error_that_writes_nothing(tmp_path):
    engine = _read_only_engine(tmp_path)
    with pytest.raises(StoreError, match=r"readonly database.*nothing was written"):
        _run(engine, "INSERT INTO runs VALUES (3)")
    engine.dispose()


def test_a_read_only_sqlite_file_is_a_permission_error(tmp_path):
    # sqlite3 raises "attempt to write a readonly database" as an OperationalError, which was
    # once reported as a lost connection
    engine = _read_only_engine(tmp_path)
    with pytest.raises(StorePermissionError, match="read-only role"):
        _run(engine, "INSERT INTO runs VALUES (3)")
    engine.dispose()


def test_sqlite_writers_take_the_lock_when_they_begin(tmp_path):
    engine = _engine_with_table(tmp_path)
    order: list[str] = []
    first_in = threading.Event()

    def second_writer():
        first_in.wait()
        with transaction(engine, "the MES") as conn:
            order.append("second begins")
            conn.exec_driver_sql("INSERT INTO runs VALUES (3)")

    thread = threading.Thread(target=second_writer)
    thread.start()
    with transaction(engine, "the MES") as conn:
        order.append("first begins")
        first_in.set()
        thread.join(timeout=0.3)  # the second writer waits at BEGIN for this one to end
        order.append("first ends")
        conn.exec_driver_sql("INSERT INTO runs VALUES (2)")
    thread.join()
    assert order == ["first begins", "first ends", "second begins"]
    engine.dispose()
