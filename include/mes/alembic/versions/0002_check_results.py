"""check_results: the outcome of each check on an evaluation

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from include.mes.migrations import table_schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    schema = table_schema(op.get_bind())
    evaluations = f"{schema}.evaluations" if schema else "evaluations"
    op.create_table(
        "check_results",
        sa.Column("evaluation_id", sa.String(36), primary_key=True),
        sa.Column("check_name", sa.Text, primary_key=True),
        sa.Column("metric", sa.Text),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_by", JSON),
        sa.ForeignKeyConstraint(
            ["evaluation_id"], [f"{evaluations}.evaluation_id"], ondelete="CASCADE"
        ),
        schema=schema,
    )


def downgrade() -> None:
    op.drop_table("check_results", schema=table_schema(op.get_bind()))
