"""Versioned schema of the MES, run by Alembic: creates a new store, upgrades an existing one.

The revisions live in ``include/mes/alembic/versions/``, numbered ``0001``, ``0002``, ...: the
number is the schema version that errors and ``ModelEvaluationStore.schema_version()`` report.
Alembic runs without an ``alembic.ini``: ``alembic_config()`` builds its configuration in code.
The version is kept in ``mes.mes_alembic_version``, not Alembic's default ``alembic_version``,
which Airflow's own metadata uses when the MES shares its PostgreSQL database.

``migrate`` works in the caller's transaction (PostgreSQL and SQLite both have transactional
DDL), under an advisory lock on PostgreSQL, so a failed or concurrent migration never leaves a
half-upgraded store:

- a new store gets the current tables of ``include.mes.schema`` and is stamped with the latest
  revision;
- a store made before Alembic (its versions in ``mes.schema_migrations``) is stamped with the
  revision of its version and upgraded like any other; a reader reads such a store as it is;
- an existing store gets every revision newer than its own;
- a store newer than the code is refused.

``mes.schema_migrations``, the old runner's table, is kept up to date beside Alembic's: one row a
version applied. Code from before Alembic reads its versions there, so a deployment rolled back
to an older bundle still opens a store this code upgraded, and still refuses one whose schema
went past what it knows. Autogenerate leaves that table out.

To change the schema, edit ``schema.py`` (what new stores get) and add a revision that brings a
store of the previous version to the new one, from a shell at the project root::

    python -c 'from include.mes.migrations import new_revision; new_revision("evaluations.owner")'

It writes ``versions/0003_evaluations_owner.py`` with the next number; fill in ``upgrade()`` and
``downgrade()``, naming tables with ``schema=schema`` (``mes`` on PostgreSQL, none on SQLite),
and ``ruff format`` it. ``new_revision(..., autogenerate=True)`` drafts them by comparing
``schema.py`` with the store that ``MES_DATABASE_URL`` names, kept at the latest version. Tests
bring an empty database up through every revision and check that it matches ``schema.py``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory

from include.errors import StoreError
from include.mes.schema import SCHEMA, evaluations, metadata

SCRIPT_LOCATION = Path(__file__).with_name("alembic")
VERSION_TABLE = "mes_alembic_version"
# An arbitrary constant key for pg_advisory_xact_lock, shared by every process migrating a store.
_MIGRATION_LOCK = 0x4D45535F  # "MES_"

_alembic_version = sa.Table(
    VERSION_TABLE, sa.MetaData(schema=SCHEMA), sa.Column("version_num", sa.String(32))
)
# Where code from before Alembic keeps the versions: read to upgrade its stores, and kept up to
# date so that such code (a bundle rolled back to) still opens this store or refuses it rightly.
LEGACY_VERSION_TABLE = "schema_migrations"
_schema_migrations = sa.Table(
    LEGACY_VERSION_TABLE,
    sa.MetaData(schema=SCHEMA),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)


def alembic_config(*version_locations: str | Path) -> Config:
    """Alembic's configuration for the MES; ``version_locations`` add folders of revisions."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    folders = [SCRIPT_LOCATION / "versions", *map(Path, version_locations)]
    config.set_main_option(
        "version_locations", os.pathsep.join(map(str, folders)).replace("%", "%%")
    )
    return config


def table_schema(conn: sa.Connection) -> str | None:
    """The schema a revision names: ``mes`` on PostgreSQL; SQLite has none."""
    return SCHEMA if conn.dialect.name == "postgresql" else None


def context_options(conn: sa.Connection) -> dict[str, Any]:
    """How Alembic runs on the store (``env.py`` and autogenerate comparisons alike)."""
    sqlite = conn.dialect.name == "sqlite"
    return {
        "target_metadata": target_metadata(conn),
        "version_table": VERSION_TABLE,
        "version_table_schema": table_schema(conn),
        # Autogenerate looks at the mes schema only, never at Airflow's tables beside it.
        "include_schemas": not sqlite,
        "include_name": _include_name(sqlite),
        # SQLite alters a table by copying it: Alembic's batch mode does that.
        "render_as_batch": sqlite,
    }


def _include_name(sqlite: bool) -> Any:
    def include(name: str | None, kind: str, _: Any) -> bool:
        if kind == "table":
            return name != LEGACY_VERSION_TABLE  # kept for older code, not part of schema.py
        return sqlite or kind != "schema" or name == SCHEMA

    return include


def target_metadata(conn: sa.Connection) -> sa.MetaData:
    """``schema.py``'s tables as the database names them, for Alembic's autogenerate."""
    if table_schema(conn) == SCHEMA:
        return metadata
    plain = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(plain, schema=None, referred_schema_fn=lambda *_: sa.schema.BLANK_SCHEMA)
    return plain


def revision_id(version: int) -> str:
    return f"{version:04d}"


def versions(config: Config | None = None) -> list[int]:
    """The schema versions the revisions make, oldest first: 1, 2, ..."""
    script = ScriptDirectory.from_config(config or alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    expected = [revision_id(v) for v in range(1, len(revisions) + 1)]
    if revisions != expected:
        raise StoreError(f"MES revisions must be numbered {expected} in order, got {revisions}")
    return list(range(1, len(revisions) + 1))


def latest_version(config: Config | None = None) -> int:
    return versions(config)[-1]


def current_version(conn: sa.Connection) -> int:
    """The store's schema version; 0 for a database that holds no store yet."""
    inspector = sa.inspect(conn)
    schema = table_schema(conn)
    if inspector.has_table(VERSION_TABLE, schema=schema):
        stamped = conn.execute(sa.select(_alembic_version.c.version_num)).scalars().all()
        if len(stamped) == 1 and stamped[0].isdigit():
            return int(stamped[0])
        if stamped:
            raise StoreError(
                f"the MES schema version {stamped} is not one this project writes: point the MES "
                "at another database or schema"
            )
    if inspector.has_table(_schema_migrations.name, schema=schema):
        version = conn.execute(sa.select(sa.func.max(_schema_migrations.c.version))).scalar()
        return int(version or 0)
    if inspector.has_table(evaluations.name, schema=schema):
        raise StoreError(
            "the database has an 'evaluations' table but no MES schema version: it was not "
            "created by this project; point the MES at another database or schema"
        )
    return 0


def migrate(conn: sa.Connection, config: Config | None = None) -> list[int]:
    """Create or upgrade the store inside the caller's transaction; return the versions applied."""
    config = config or alembic_config()
    known = versions(config)
    latest = known[-1]
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    version = current_version(conn)
    if version > latest:
        raise StoreError(
            f"the MES schema is at version {version} but this code knows versions up to {latest}: "
            "upgrade the project before using this store"
        )
    config.attributes["connection"] = conn
    if version == 0:
        metadata.create_all(conn)
        command.stamp(config, "head")
        _record_for_older_code(conn, config, latest)
        return known
    if not _stamped(conn):  # a store made before Alembic: its version is the old runner's
        command.stamp(config, revision_id(version))
    if version == latest:
        _record_for_older_code(conn, config, latest)
        return []
    applied: list[int] = []
    config.attributes["on_version_apply"] = [
        lambda *, step, **_: applied.extend(int(r) for r in step.up_revision_ids)
    ]
    command.upgrade(config, "head")
    _record_for_older_code(conn, config, latest)
    return applied


def _stamped(conn: sa.Connection) -> bool:
    return sa.inspect(conn).has_table(VERSION_TABLE, schema=table_schema(conn))


def _record_for_older_code(conn: sa.Connection, config: Config, latest: int) -> None:
    """One row a version in ``schema_migrations``, as the runner before Alembic wrote them."""
    _schema_migrations.create(conn, checkfirst=True)
    recorded = set(conn.execute(sa.select(_schema_migrations.c.version)).scalars())
    missing = [version for version in range(1, latest + 1) if version not in recorded]
    if not missing:  # the usual case: a current store, nothing to write or to look up
        return
    script = ScriptDirectory.from_config(config)
    conn.execute(
        _schema_migrations.insert(),
        [
            {
                "version": version,
                "description": (script.get_revision(revision_id(version)).doc or "").strip(),
                "applied_at": datetime.now(UTC),
            }
            for version in missing
        ],
    )


def new_revision(message: str, *, autogenerate: bool = False, folder: Path | None = None) -> Script:
    """Write the next numbered revision into ``folder`` (the project's revisions by default)."""
    config = alembic_config(folder) if folder else alembic_config()
    script = command.revision(
        config,
        message=message,
        autogenerate=autogenerate,
        rev_id=revision_id(latest_version(config) + 1),
        version_path=str(folder or SCRIPT_LOCATION / "versions"),
    )
    assert isinstance(script, Script)  # one revision, not a list
    return script
