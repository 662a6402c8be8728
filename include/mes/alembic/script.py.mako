"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Table names take ``schema=table_schema(op.get_bind())``: ``mes`` on PostgreSQL, none on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
from include.mes.migrations import table_schema

revision = "${up_revision}"
down_revision = ${repr(down_revision).replace("'", '"')}
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = table_schema(op.get_bind())
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    schema = table_schema(op.get_bind())
    ${downgrades if downgrades else "pass"}
