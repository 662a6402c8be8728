"""include/mes/migrations: versions, creation of a new store, and what is refused.

The upgrade of an existing store, failing upgrades and a store newer than the code are tested
against both databases in tests/integration/test_mes_store.py; these tests cover the rest.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from include.db import create_engine
from include.errors import StoreError
from include.mes.migrations import (
    INITIAL_VERSION,
    UPGRADES,
    Migration,
    current_version,
    latest_version,
    migrate,
)
from include.mes.schema import SCHEMA, metadata, schema_migrations


@pytest.fixture
def engine(tmp_path):
    engine, _ = create_engine(f"sqlite:///{tmp_path / 'mes.db'}", SCHEMA, what="MES database")
    yield engine
    engine.dispose()


def _nothing(conn: sa.Connection) -> None:
    del conn


def test_upgrades_are_numbered_from_two_in_order():
    assert [m.version for m in UPGRADES] == list(range(2, 2 + len(UPGRADES)))
    assert latest_version() == UPGRADES[-1].version


def test_without_upgrades_the_latest_version_is_the_initial_one():
    assert latest_version(()) == INITIAL_VERSION == 1


def test_an_empty_database_is_at_version_zero(engine):
    with engine.connect() as conn:
        assert current_version(conn) == 0


def test_a_new_store_is_created_and_stamped_with_every_version(engine):
    with engine.begin() as conn:
        assert migrate(conn) == list(range(1, latest_version() + 1))
    with engine.connect() as conn:
        assert current_version(conn) == latest_version()
        tables = set(sa.inspect(conn).get_table_names())
        descriptions = conn.execute(
            sa.select(schema_migrations.c.description).order_by(schema_migrations.c.version)
        ).scalars()
        assert descriptions.first() == "initial schema"
    assert tables == {table.name for table in metadata.sorted_tables}


def test_migrating_a_current_store_applies_nothing(engine):
    with engine.begin() as conn:
        migrate(conn)
    with engine.begin() as conn:
        assert migrate(conn) == []


def test_a_database_with_a_foreign_evaluations_table_is_refused(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE evaluations (id INTEGER)")
    with engine.connect() as conn, pytest.raises(StoreError, match="not created by this project"):
        current_version(conn)


@pytest.mark.parametrize(
    "versions", [(3,), (2, 2), (3, 2), (2, 4)], ids=["gap", "repeat", "order", "hole"]
)
def test_upgrades_out_of_sequence_are_refused_before_anything_is_done(engine, versions):
    upgrades = [Migration(version, "x", _nothing) for version in versions]
    with engine.begin() as conn, pytest.raises(StoreError, match="must be numbered"):
        migrate(conn, upgrades)
    with engine.connect() as conn:
        assert current_version(conn) == 0
