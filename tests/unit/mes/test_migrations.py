"""include/mes/migrations: the Alembic revisions, creation of a new store, stores made before
Alembic, and what is refused.

The upgrade of an existing store, failing upgrades, a store newer than the code and concurrent
migrations are tested against both databases in tests/integration/test_mes_store.py; these tests
run on SQLite.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from include.db import create_engine
from include.errors import StoreError
from include.mes.migrations import (
    LEGACY_VERSION_TABLE,
    SCRIPT_LOCATION,
    VERSION_TABLE,
    alembic_config,
    context_options,
    current_version,
    latest_version,
    migrate,
    new_revision,
    target_metadata,
    versions,
)
from include.mes.schema import SCHEMA, metadata
from include.paths import REPO_ROOT
from tests.support.mes_versions import create_legacy_store, write_revision

STORE_TABLES = {table.name for table in metadata.sorted_tables}


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mes.db'}"


@pytest.fixture
def engine(url):
    engine, _ = create_engine(url, SCHEMA, what="MES database")
    yield engine
    engine.dispose()


def _tables(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def _differences(engine: sa.Engine) -> list:
    """What Alembic's autogenerate would change to make the database match schema.py."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=context_options(conn))
        return compare_metadata(context, target_metadata(conn))


def test_revisions_are_numbered_from_one_in_order():
    assert versions() == list(range(1, latest_version() + 1))
    assert latest_version() == 2


def test_the_revisions_ship_inside_include_where_bundles_and_images_take_them():
    include = REPO_ROOT / "include"
    assert SCRIPT_LOCATION.is_relative_to(include)
    shipped = [SCRIPT_LOCATION / "env.py", SCRIPT_LOCATION / "script.py.mako"]
    shipped += sorted((SCRIPT_LOCATION / "versions").glob("[0-9]*.py"))
    assert len(shipped) == 2 + latest_version()
    for path in shipped:
        # Bundles skip hidden files and caches (include/bundles/archive.py).
        parts = path.relative_to(include).parts
        assert path.is_file()
        assert not any(part.startswith(".") or part == "__pycache__" for part in parts)


def test_an_empty_database_is_at_version_zero(engine):
    with engine.connect() as conn:
        assert current_version(conn) == 0


def test_a_new_store_is_created_and_stamped_with_every_version(engine):
    with engine.begin() as conn:
        assert migrate(conn) == list(range(1, latest_version() + 1))
    with engine.connect() as conn:
        assert current_version(conn) == latest_version()
        stamped = conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalars()
        assert stamped.all() == ["0002"]
    # Its own version table, never Airflow's alembic_version; the old runner's for older code.
    assert _tables(engine) == STORE_TABLES | {VERSION_TABLE, LEGACY_VERSION_TABLE}
    assert _differences(engine) == []


def test_migrating_a_current_store_applies_nothing(engine):
    with engine.begin() as conn:
        migrate(conn)
    with engine.begin() as conn:
        assert migrate(conn) == []


def test_every_revision_run_from_nothing_builds_the_tables_of_schema_py(engine):
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    assert _differences(engine) == []
    with engine.connect() as conn:
        assert current_version(conn) == latest_version()


def test_the_revisions_downgrade_to_nothing(engine):
    config = alembic_config()
    with engine.begin() as conn:
        migrate(conn)
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    # the old runner's table is kept by migrate(), not by a revision
    assert _tables(engine) == {VERSION_TABLE, LEGACY_VERSION_TABLE}


def test_a_database_with_a_foreign_evaluations_table_is_refused(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE evaluations (id INTEGER)")
    with engine.connect() as conn, pytest.raises(StoreError, match="not created by this project"):
        current_version(conn)


def test_a_version_table_with_a_revision_of_another_project_is_refused(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32))")
        conn.exec_driver_sql(f"INSERT INTO {VERSION_TABLE} VALUES ('ae1027a6acf')")
    with engine.connect() as conn, pytest.raises(StoreError, match="not one this project"):
        current_version(conn)


def test_revisions_out_of_sequence_are_refused_before_anything_is_done(engine, tmp_path):
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "0004_hole.py").write_text("revision = '0004'\ndown_revision = '0002'\n")
    with pytest.raises(StoreError, match="must be numbered"), engine.begin() as conn:
        migrate(conn, alembic_config(tmp_path / "v"))
    with engine.connect() as conn:
        assert current_version(conn) == 0


@pytest.mark.parametrize("version", [1, 2])
def test_a_store_made_before_alembic_is_stamped_upgraded_and_its_old_table_kept_current(
    url, engine, version
):
    create_legacy_store(url, version)
    with engine.connect() as conn:
        assert current_version(conn) == version  # read from mes.schema_migrations
    with engine.begin() as conn:
        assert migrate(conn) == list(range(version + 1, latest_version() + 1))
    with engine.connect() as conn:
        assert current_version(conn) == latest_version()
        legacy = conn.exec_driver_sql(f"SELECT version FROM {LEGACY_VERSION_TABLE}").scalars()
        assert sorted(legacy) == list(range(1, latest_version() + 1))
    assert _tables(engine) == STORE_TABLES | {VERSION_TABLE, LEGACY_VERSION_TABLE}
    assert _differences(engine) == []


def test_a_failed_upgrade_of_a_store_made_before_alembic_leaves_it_as_it_was(url, engine, tmp_path):
    create_legacy_store(url, 2)
    write_revision(tmp_path / "v", "raise RuntimeError('upgrade failed half way')")
    with pytest.raises(RuntimeError, match="half way"), engine.begin() as conn:
        migrate(conn, alembic_config(tmp_path / "v"))
    assert VERSION_TABLE not in _tables(engine)
    with engine.connect() as conn:
        assert current_version(conn) == 2


def test_a_new_revision_gets_the_next_number_and_runs(engine, tmp_path):
    script = new_revision("evaluations owner", folder=tmp_path / "v")
    assert (script.revision, script.down_revision) == ("0003", "0002")
    assert script.path.endswith("0003_evaluations_owner.py")
    config = alembic_config(tmp_path / "v")
    assert versions(config) == [1, 2, 3]
    with engine.begin() as conn:
        migrate(conn)
    with engine.begin() as conn:
        assert migrate(conn, config) == [3]  # the template's upgrade() does nothing yet
