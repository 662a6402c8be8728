"""The deployer's tables (schema ``deployer``): published bundles, deployments, and updates.

``updates`` is each deployment's history: one row per update or rollback from its start, with
its outcome (``running`` until it ends; ``interrupted`` when reconciling finds its process gone).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "deployer"
Json = sa.JSON().with_variant(JSONB(), "postgresql")
metadata = sa.MetaData(schema=SCHEMA)

bundles = sa.Table(
    "bundles",
    metadata,
    sa.Column("bundle_id", sa.Text, primary_key=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("release_notes", sa.Text, nullable=False),
    sa.Column("manifest", Json, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
)
deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("active_bundle_id", sa.Text),
    sa.Column("settings", Json, nullable=False),
    sa.Column("applied_settings_sha256", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)
updates = sa.Table(
    "updates",
    metadata,
    sa.Column("update_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("deployment", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("from_bundle_id", sa.Text),
    sa.Column("to_bundle_id", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)

# The outcomes of an update.
RUNNING, SUCCESS, FAILED, INTERRUPTED = "running", "success", "failed", "interrupted"
