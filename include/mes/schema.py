"""The tables of the model evaluation store (MES), in schema ``mes``.

This module is the one place where the store's tables are declared. On SQLite (the embedded
default) there are no schemas: the engine maps ``mes`` to the main database instead.

- ``mes.evaluations``: one row per evaluation (model version x period); ``metrics`` is a JSON
  object metric name -> number, the values a check reads.
- ``mes.feature_drift``: per-feature drift statistics of an evaluation.
- ``mes.column_statistics``: per-column statistics of the evaluated batch.
- ``mes.evaluation_samples``: a sample (at most 50,000 rows) of the evaluated batch, as Parquet.
- ``mes.check_results``: the latest outcome of each check run on an evaluation (by the
  ``MESCheckOperator``), with the Airflow run that ran it.

The schema version is kept by Alembic (``include.mes.migrations``), in ``mes.mes_alembic_version``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "mes"

metadata = sa.MetaData(schema=SCHEMA)

# JSONB on PostgreSQL (indexable, queryable with ->>), plain JSON text elsewhere.
Json = sa.JSON().with_variant(JSONB(), "postgresql")

evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("evaluation_id", sa.String(36), primary_key=True),
    sa.Column("store_name", sa.Text, nullable=False),
    sa.Column("model_name", sa.Text, nullable=False),
    sa.Column("model_version", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("labels", Json, nullable=False),
    sa.Column("period_start", sa.DateTime, nullable=False),
    sa.Column("period_end", sa.DateTime, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("labelled", sa.Boolean, nullable=False),
    sa.Column("metrics", Json, nullable=False),
    sa.Column("confusion_matrix", Json),
    sa.Column("quality", Json),
    sa.Column("drift", Json),
    sa.UniqueConstraint(
        "store_name",
        "model_version",
        "period_start",
        "period_end",
        name="evaluations_one_per_model_version_and_period",
    ),
)
sa.Index("evaluations_store_period", evaluations.c.store_name, evaluations.c.period_end)


def _evaluation_key() -> sa.Column:
    """The key of a table that holds part of an evaluation; removed with the evaluation."""
    return sa.Column(
        "evaluation_id",
        sa.String(36),
        sa.ForeignKey(evaluations.c.evaluation_id, ondelete="CASCADE"),
        primary_key=True,
    )


feature_drift = sa.Table(
    "feature_drift",
    metadata,
    _evaluation_key(),
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
    sa.Column("new_categories", Json),
    sa.Column("drifted", sa.Boolean),
    sa.Column("details", Json),
)

column_statistics = sa.Table(
    "column_statistics",
    metadata,
    _evaluation_key(),
    sa.Column("column_name", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("statistics", Json, nullable=False),
)

evaluation_samples = sa.Table(
    "evaluation_samples",
    metadata,
    _evaluation_key(),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

check_results = sa.Table(
    "check_results",
    metadata,
    _evaluation_key(),
    sa.Column("check_name", sa.Text, primary_key=True),
    sa.Column("metric", sa.Text),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    # Where the check ran: {"dag_id", "run_id", "task_id"} for a check run by Airflow.
    sa.Column("checked_by", Json),
)

# Children of an evaluation, in the order they are deleted before the evaluation itself.
EVALUATION_CHILDREN = (feature_drift, column_statistics, evaluation_samples, check_results)
