"""initial schema: evaluations, with their feature drift, column statistics and sample

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The tables as version 1 of the project created them. A new store is created from
``include.mes.schema`` and stamped with the latest revision; this revision runs only when a
database is brought up from nothing through every revision (which a test does, to check that
the revisions and ``schema.py`` agree).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from include.mes.migrations import table_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen here rather than imported: a revision must not change when schema.py does.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _evaluation_key(schema: str | None) -> list:
    target = f"{schema}.evaluations.evaluation_id" if schema else "evaluations.evaluation_id"
    return [
        sa.Column("evaluation_id", sa.String(36), primary_key=True),
        sa.ForeignKeyConstraint(["evaluation_id"], [target], ondelete="CASCADE"),
    ]


def upgrade() -> None:
    schema = table_schema(op.get_bind())
    op.create_table(
        "evaluations",
        sa.Column("evaluation_id", sa.String(36), primary_key=True),
        sa.Column("store_name", sa.Text, nullable=False),
        sa.Column("model_name", sa.Text, nullable=False),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("period_start", sa.DateTime, nullable=False),
        sa.Column("period_end", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("labelled", sa.Boolean, nullable=False),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("confusion_matrix", JSON),
        sa.Column("quality", JSON),
        sa.Column("drift", JSON),
        sa.UniqueConstraint(
            "store_name",
            "model_version",
            "period_start",
            "period_end",
            name="evaluations_one_per_model_version_and_period",
        ),
        schema=schema,
    )
    op.create_index(
        "evaluations_store_period",
        "evaluations",
        ["store_name", "period_end"],
        schema=schema,
    )
    op.create_table(
        "feature_drift",
        *_evaluation_key(schema),
        sa.Column("feature", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("ks_statistic", sa.Float),
        sa.Column("ks_pvalue", sa.Float),
        sa.Column("wasserstein", sa.Float),
        sa.Column("chi2_statistic", sa.Float),
        sa.Column("chi2_pvalue", sa.Float),
        sa.Column("pvalue_adjusted", sa.Float),
        sa.Column("psi", sa.Float),
        sa.Column("drift_importance", sa.Float),
        sa.Column("model_importance", sa.Float),
        sa.Column("new_categories", JSON),
        sa.Column("drifted", sa.Boolean),
        sa.Column("details", JSON),
        schema=schema,
    )
    op.create_table(
        "column_statistics",
        *_evaluation_key(schema),
        sa.Column("column_name", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("statistics", JSON, nullable=False),
        schema=schema,
    )
    op.create_table(
        "evaluation_samples",
        *_evaluation_key(schema),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        schema=schema,
    )


def downgrade() -> None:
    schema = table_schema(op.get_bind())
    for table in ("evaluation_samples", "column_statistics", "feature_drift"):
        op.drop_table(table, schema=schema)
    op.drop_index("evaluations_store_period", table_name="evaluations", schema=schema)
    op.drop_table("evaluations", schema=schema)
