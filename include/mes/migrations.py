"""Versioned schema of the MES: creates a new store, upgrades an existing one.

A new store gets the current tables of ``include.mes.schema`` and is stamped with the latest
version. An existing store gets, in order, every upgrade newer than its version. Everything
happens in one transaction (PostgreSQL and SQLite both have transactional DDL), under a lock on
PostgreSQL, so a failed or concurrent migration never leaves a half-upgraded store.

To change the schema: edit ``schema.py`` (what new stores get) and append to ``UPGRADES`` the
statements that bring a store of the previous version to the new one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from include.errors import StoreError
from include.mes.schema import SCHEMA, check_results, evaluations, metadata, schema_migrations

INITIAL_VERSION = 1
# An arbitrary constant key for pg_advisory_xact_lock, shared by every process migrating a store.
_MIGRATION_LOCK = 0x4D45535F  # "MES_"


@dataclass(frozen=True)
class Migration:
    """Brings a store from ``version - 1`` to ``version``."""

    version: int
    description: str
    upgrade: Callable[[sa.Connection], None]


def _add_check_results(conn: sa.Connection) -> None:
    check_results.create(conn)


# Schema changes after the initial version, oldest first (versions 2, 3, ...).
UPGRADES: tuple[Migration, ...] = (
    Migration(2, "check_results: the outcome of each check on an evaluation", _add_check_results),
)


def latest_version(upgrades: Sequence[Migration] = UPGRADES) -> int:
    return upgrades[-1].version if upgrades else INITIAL_VERSION


def current_version(conn: sa.Connection) -> int:
    """The store's schema version; 0 for a database that holds no store yet."""
    inspector = sa.inspect(conn)
    schema = SCHEMA if conn.dialect.name == "postgresql" else None
    if not inspector.has_table(schema_migrations.name, schema=schema):
        if inspector.has_table(evaluations.name, schema=schema):
            raise StoreError(
                "the database has an 'evaluations' table but no MES schema version: it was not "
                "created by this project; point the MES at another database or schema"
            )
        return 0
    version = conn.execute(sa.select(sa.func.max(schema_migrations.c.version))).scalar()
    return int(version or 0)


def migrate(conn: sa.Connection, upgrades: Sequence[Migration] = UPGRADES) -> list[int]:
    """Create or upgrade the store inside the caller's transaction; return the versions applied."""
    _check_sequence(upgrades)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    version = current_version(conn)
    target = latest_version(upgrades)
    if version > target:
        raise StoreError(
            f"the MES schema is at version {version} but this code knows versions up to {target}: "
            "upgrade the project before using this store"
        )
    now = datetime.now(UTC)
    if version == 0:
        metadata.create_all(conn)
        stamped = [(INITIAL_VERSION, "initial schema")] + [
            (m.version, m.description) for m in upgrades
        ]
        conn.execute(
            schema_migrations.insert(),
            [{"version": v, "description": d, "applied_at": now} for v, d in stamped],
        )
        return [v for v, _ in stamped]
    applied = []
    for migration in upgrades:
        if migration.version > version:
            migration.upgrade(conn)
            conn.execute(
                schema_migrations.insert(),
                {
                    "version": migration.version,
                    "description": migration.description,
                    "applied_at": now,
                },
            )
            applied.append(migration.version)
    return applied


def _check_sequence(upgrades: Sequence[Migration]) -> None:
    expected = list(range(INITIAL_VERSION + 1, INITIAL_VERSION + 1 + len(upgrades)))
    if [m.version for m in upgrades] != expected:
        raise StoreError(f"MES upgrades must be numbered {expected} in order")
