"""Stores at a chosen schema version, for the tests of the MES's migrations.

``create_legacy_store`` builds a store as the project made it before Alembic: the DDL below is
what its hand-written runner ran (``metadata.create_all`` of version 1 or 2, captured from the
code at commit 06df9c2), with its versions in ``mes.schema_migrations``. ``write_revision`` adds
an Alembic revision after the project's latest one, in a folder of the test's own, to upgrade
a store past the code or to fail half way.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import sqlalchemy as sa

from include.mes.migrations import alembic_config, latest_version, revision_id

# {s} is the schema prefix; the types are PostgreSQL's, mapped to SQLite's by _TYPES.
_VERSION_1 = (
    """CREATE TABLE {s}evaluations (
        evaluation_id VARCHAR(36) NOT NULL, store_name TEXT NOT NULL, model_name TEXT NOT NULL,
        model_version TEXT NOT NULL, name TEXT NOT NULL, labels JSONB NOT NULL,
        period_start TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        period_end TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL, row_count BIGINT NOT NULL,
        labelled BOOLEAN NOT NULL, metrics JSONB NOT NULL, confusion_matrix JSONB,
        quality JSONB, drift JSONB, PRIMARY KEY (evaluation_id),
        CONSTRAINT evaluations_one_per_model_version_and_period
            UNIQUE (store_name, model_version, period_start, period_end))""",
    "CREATE INDEX {i}evaluations_store_period ON {t}evaluations (store_name, period_end)",
    """CREATE TABLE {s}schema_migrations (
        version INTEGER NOT NULL, description TEXT NOT NULL,
        applied_at TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY (version))""",
    """CREATE TABLE {s}column_statistics (
        evaluation_id VARCHAR(36) NOT NULL, column_name TEXT NOT NULL, kind TEXT NOT NULL,
        statistics JSONB NOT NULL, PRIMARY KEY (evaluation_id, column_name),
        FOREIGN KEY(evaluation_id) REFERENCES {s}evaluations (evaluation_id) ON DELETE CASCADE)""",
    """CREATE TABLE {s}evaluation_samples (
        evaluation_id VARCHAR(36) NOT NULL, format TEXT NOT NULL, row_count INTEGER NOT NULL,
        content BYTEA NOT NULL, PRIMARY KEY (evaluation_id),
        FOREIGN KEY(evaluation_id) REFERENCES {s}evaluations (evaluation_id) ON DELETE CASCADE)""",
    """CREATE TABLE {s}feature_drift (
        evaluation_id VARCHAR(36) NOT NULL, feature TEXT NOT NULL, kind TEXT NOT NULL,
        ks_statistic FLOAT, ks_pvalue FLOAT, wasserstein FLOAT, chi2_statistic FLOAT,
        chi2_pvalue FLOAT, pvalue_adjusted FLOAT, psi FLOAT, drift_importance FLOAT,
        model_importance FLOAT, new_categories JSONB, drifted BOOLEAN, details JSONB,
        PRIMARY KEY (evaluation_id, feature),
        FOREIGN KEY(evaluation_id) REFERENCES {s}evaluations (evaluation_id) ON DELETE CASCADE)""",
)
_VERSION_2 = (
    """CREATE TABLE {s}check_results (
        evaluation_id VARCHAR(36) NOT NULL, check_name TEXT NOT NULL, metric TEXT,
        outcome TEXT NOT NULL, value FLOAT, message TEXT NOT NULL,
        checked_at TIMESTAMP WITH TIME ZONE NOT NULL, checked_by JSONB,
        PRIMARY KEY (evaluation_id, check_name),
        FOREIGN KEY(evaluation_id) REFERENCES {s}evaluations (evaluation_id) ON DELETE CASCADE)""",
)
_DESCRIPTIONS = {
    1: "initial schema",
    2: "check_results: the outcome of each check on an evaluation",
}
_TYPES = {
    "TIMESTAMP WITHOUT TIME ZONE": "DATETIME",
    "TIMESTAMP WITH TIME ZONE": "DATETIME",
    "JSONB": "JSON",
    "BYTEA": "BLOB",
}


def create_legacy_store(url: str, version: int) -> None:
    """A store at ``version`` (1 or 2) as the code before Alembic created it, with no rows."""
    engine = sa.create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    try:
        with engine.begin() as conn:
            if postgres:
                conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS mes")
            prefixes = {"s": "mes.", "i": "", "t": "mes."} if postgres else dict.fromkeys("sit", "")
            for statement in _VERSION_1 + (_VERSION_2 if version >= 2 else ()):
                if not postgres:
                    for pg_type, sqlite_type in _TYPES.items():
                        statement = statement.replace(pg_type, sqlite_type)
                prefixes = (
                    {"s": "mes.", "i": "", "t": "mes."} if postgres else dict.fromkeys("sit", "")
                )
                conn.exec_driver_sql(statement.format(**prefixes))
            table = "mes.schema_migrations" if postgres else "schema_migrations"
            for number in range(1, version + 1):
                conn.execute(
                    sa.text(
                        f"INSERT INTO {table} (version, description, applied_at) "
                        "VALUES (:version, :description, CURRENT_TIMESTAMP)"
                    ),
                    {"version": number, "description": _DESCRIPTIONS[number]},
                )
    finally:
        engine.dispose()


def write_revision(folder: Path, upgrade_body: str, message: str = "next") -> int:
    """A revision after the project's latest, whose ``upgrade()`` runs ``upgrade_body`` (with
    ``op``, ``sa`` and ``schema`` at hand); returns the version it brings a store to."""
    folder.mkdir(parents=True, exist_ok=True)
    version = latest_version(alembic_config(folder)) + 1
    body = textwrap.indent(textwrap.dedent(upgrade_body).strip(), "    ")
    (folder / f"{revision_id(version)}_{message}.py").write_text(
        "import sqlalchemy as sa\n"
        "from alembic import op\n\n"
        "from include.mes.migrations import table_schema\n\n"
        f"revision = {revision_id(version)!r}\n"
        f"down_revision = {revision_id(version - 1)!r}\n\n\n"
        "def upgrade():\n"
        "    schema = table_schema(op.get_bind())\n"
        f"{body}\n"
    )
    return version
