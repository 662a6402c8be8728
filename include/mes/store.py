"""The model evaluation store (MES): evaluations kept in PostgreSQL, or SQLite for the quickstart.

Writes are transactional and idempotent: saving an evaluation of a model version on a period that
the store already holds replaces the old one (with its drift, statistics and sample) in the same
transaction, so the store holds one row per (store, model version, period), never two, and a
failed write leaves it exactly as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from include.db import create_engine, normalise_url, transaction
from include.errors import EvaluationNotFoundError, StoreError, StoreNotCreatedError
from include.mes import migrations
from include.mes.records import (
    EvaluationRecord,
    EvaluationSummary,
    MetricPoint,
    StoredCheck,
    StoredEvaluation,
    json_safe,
)
from include.mes.rows import SUMMARY_COLUMNS, prepare_rows, stored_evaluation, with_utc
from include.mes.schema import (
    EVALUATION_CHILDREN,
    SCHEMA,
    check_results,
    column_statistics,
    evaluation_samples,
    evaluations,
    feature_drift,
)
from include.paths import mes_home
from include.settings import current

if TYPE_CHECKING:
    from alembic.config import Config

    from include.checks import CheckResult


def resolve_mes_url(url: str | None = None) -> str:
    """The MES location: ``url``, else ``$MES_DATABASE_URL``, else an embedded SQLite file."""
    if url:
        return normalise_url(url)
    url = current().mes_database_url
    if not url:
        return f"sqlite:///{mes_home() / 'mes.sqlite'}"
    return normalise_url(url, what="MES database URL (MES_DATABASE_URL)")


class ModelEvaluationStore:
    """Read and write evaluations; ``open()`` creates or upgrades the schema first."""

    def __init__(self, engine: sa.Engine, description: str) -> None:
        self._engine = engine
        self.description = description

    @classmethod
    def open(
        cls, url: str | None = None, *, migrate: bool = True, read_only: bool = False
    ) -> ModelEvaluationStore:
        """A writer creates or upgrades the schema first (``migrate``); a reader (``read_only``)
        needs only SELECT rights and checks that the schema is the one this code reads."""
        resolved = resolve_mes_url(url)
        engine, description = create_engine(resolved, SCHEMA, what="MES database")
        store = cls(engine, description)
        try:
            if read_only:
                store.check_readable()
            elif migrate:
                store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> ModelEvaluationStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _transaction(self) -> contextlib.AbstractContextManager[sa.Connection]:
        return transaction(self._engine, f"the model evaluation store at {self.description}")

    def migrate(self, config: Config | None = None) -> list[int]:
        """Create or upgrade the schema with Alembic (``config``: ``migrations.alembic_config()``);
        returns the versions applied (empty when up to date)."""
        with self._transaction() as conn:
            return migrations.migrate(conn, config)

    def schema_version(self) -> int:
        with self._transaction() as conn:
            return migrations.current_version(conn)

    def check_readable(self) -> None:
        """Refuse, saying why, a store this code cannot read: none yet, older or newer."""
        version = self.schema_version()
        latest = migrations.latest_version()
        if version == latest:
            return
        if version == 0:
            raise StoreNotCreatedError(
                f"the model evaluation store at {self.description} holds no MES yet: evaluate a "
                "period first (a writer creates the schema; a reader may not)"
            )
        if version < latest:
            raise StoreError(
                f"the model evaluation store at {self.description} is at schema version "
                f"{version} and this code reads version {latest}: let a writer upgrade it (any "
                "evaluation does, with a role that may create tables)"
            )
        raise StoreError(
            f"the model evaluation store at {self.description} is at schema version {version} "
            f"but this code knows versions up to {latest}: upgrade the project before using it"
        )

    # -- writing ---------------------------------------------------------------------------

    def save(self, record: EvaluationRecord) -> str:
        """Store an evaluation, replacing one of the same version and period; return its id."""
        evaluation_id = str(uuid.uuid4())
        row, children = prepare_rows(evaluation_id, record)
        key = (record.store_name, record.model_version, row["period_start"], row["period_end"])
        with self._transaction() as conn:
            if conn.dialect.name == "postgresql":
                # Serialise concurrent writers of the same evaluation; others proceed in parallel.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(key)})
            previous = (
                conn.execute(
                    sa.select(evaluations.c.evaluation_id).where(
                        evaluations.c.store_name == key[0],
                        evaluations.c.model_version == key[1],
                        evaluations.c.period_start == key[2],
                        evaluations.c.period_end == key[3],
                    )
                )
                .scalars()
                .all()
            )
            if previous:
                _delete(conn, previous)
            conn.execute(evaluations.insert(), row)
            for table, rows in children:
                if rows:
                    conn.execute(table.insert(), rows)
        return evaluation_id

    def delete(self, evaluation_id: str) -> bool:
        """Remove one evaluation and everything stored with it; False when there was none."""
        with self._transaction() as conn:
            return _delete(conn, [evaluation_id]) > 0

    def record_checks(
        self,
        evaluation_id: str,
        results: Sequence[CheckResult],
        *,
        checked_by: Mapping[str, Any] | None = None,
    ) -> None:
        """Keep the outcome of checks run on an evaluation; a check of the same name run
        earlier on it is replaced, other checks' results are kept."""
        names = [result.name for result in results]
        if len(set(names)) != len(names):
            raise StoreError(f"check names must be unique on an evaluation, got {names}")
        now = datetime.now(UTC)
        rows = [
            {
                "evaluation_id": evaluation_id,
                "check_name": result.name,
                "metric": result.metric,
                "outcome": str(result.outcome),
                "value": json_safe(result.value),
                "message": result.message,
                "checked_at": now,
                "checked_by": json_safe(dict(checked_by)) if checked_by else None,
            }
            for result in results
        ]
        with self._transaction() as conn:
            exists = conn.execute(
                sa.select(evaluations.c.evaluation_id).where(
                    evaluations.c.evaluation_id == evaluation_id
                )
            ).first()
            if exists is None:
                raise EvaluationNotFoundError(
                    f"no evaluation {evaluation_id!r} in the store at {self.description}: "
                    "it was replaced or removed since it was read; nothing was recorded"
                )
            conn.execute(
                check_results.delete().where(
                    check_results.c.evaluation_id == evaluation_id,
                    check_results.c.check_name.in_(names),
                )
            )
            if rows:
                conn.execute(check_results.insert(), rows)

    # -- reading ---------------------------------------------------------------------------

    def store_names(self) -> list[str]:
        """The evaluation stores (``store_name``) this database holds, sorted."""
        query = sa.select(evaluations.c.store_name).distinct().order_by(evaluations.c.store_name)
        with self._transaction() as conn:
            return list(conn.execute(query).scalars())

    def summaries(
        self, store_name: str | None = None, *, model_version: str | None = None
    ) -> list[EvaluationSummary]:
        """Evaluations in period order, without their quality and drift JSON."""
        query = sa.select(
            *[evaluations.c[name] for name in SUMMARY_COLUMNS],
            evaluations.c.labels,
            # A missing analysis is stored as JSON null, not SQL NULL.
            (sa.func.coalesce(sa.cast(evaluations.c.drift, sa.Text), "null") != "null").label(
                "has_drift"
            ),
        ).order_by(evaluations.c.period_start, evaluations.c.period_end, evaluations.c.created_at)
        query = _filtered(query, store_name, model_version)
        with self._transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            EvaluationSummary(
                **{name: row[name] for name in SUMMARY_COLUMNS},
                has_drift=bool(row["has_drift"]),
                labels=row["labels"] or {},
            )
            for row in (with_utc(row, "created_at") for row in rows)
        ]

    def check_results(self, store_name: str) -> dict[str, list[StoredCheck]]:
        """The recorded check outcomes of a store's evaluations: evaluation id -> results."""
        query = (
            sa.select(check_results)
            .join(evaluations, evaluations.c.evaluation_id == check_results.c.evaluation_id)
            .where(evaluations.c.store_name == store_name)
            .order_by(check_results.c.checked_at, check_results.c.check_name)
        )
        found: dict[str, list[StoredCheck]] = {}
        with self._transaction() as conn:
            for row in conn.execute(query).mappings():
                row = with_utc(row, "checked_at")
                found.setdefault(row["evaluation_id"], []).append(StoredCheck(**row))
        return found

    def evaluations(
        self, store_name: str | None = None, *, model_version: str | None = None
    ) -> list[StoredEvaluation]:
        """Evaluations in period order (then creation order)."""
        query = sa.select(evaluations).order_by(
            evaluations.c.period_start, evaluations.c.period_end, evaluations.c.created_at
        )
        query = _filtered(query, store_name, model_version)
        with self._transaction() as conn:
            return [stored_evaluation(row) for row in conn.execute(query).mappings()]

    def latest(
        self, store_name: str, *, model_version: str | None = None
    ) -> StoredEvaluation | None:
        """The evaluation of the most recent period (the most recently created on a tie)."""
        query = (
            sa.select(evaluations)
            .order_by(evaluations.c.period_end.desc(), evaluations.c.created_at.desc())
            .limit(1)
        )
        query = _filtered(query, store_name, model_version)
        with self._transaction() as conn:
            row = conn.execute(query).mappings().first()
        return stored_evaluation(row) if row else None

    def get(self, evaluation_id: str) -> StoredEvaluation:
        query = sa.select(evaluations).where(evaluations.c.evaluation_id == evaluation_id)
        with self._transaction() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise EvaluationNotFoundError(
                f"no evaluation {evaluation_id!r} in the store at {self.description}"
            )
        return stored_evaluation(row)

    def metric_history(
        self, metric: str, store_name: str, *, model_version: str | None = None
    ) -> list[MetricPoint]:
        """The values of one metric over the store's evaluations that have it, in period order."""
        return [
            MetricPoint(
                evaluation_id=e.evaluation_id,
                name=e.name,
                model_version=e.model_version,
                period_start=e.period_start,
                period_end=e.period_end,
                created_at=e.created_at,
                value=e.metrics[metric],
            )
            for e in self.evaluations(store_name, model_version=model_version)
            if metric in e.metrics
        ]

    def feature_drift(self, evaluation_id: str) -> list[dict[str, Any]]:
        query = sa.select(feature_drift).where(feature_drift.c.evaluation_id == evaluation_id)
        with self._transaction() as conn:
            return [
                dict(row)
                for row in conn.execute(query.order_by(feature_drift.c.feature)).mappings()
            ]

    def column_statistics(self, evaluation_id: str) -> list[dict[str, Any]]:
        query = (
            sa.select(column_statistics.c.statistics)
            .where(column_statistics.c.evaluation_id == evaluation_id)
            .order_by(column_statistics.c.column_name)
        )
        with self._transaction() as conn:
            return list(conn.execute(query).scalars())

    def sample(self, evaluation_id: str) -> pd.DataFrame | None:
        """The stored sample of the evaluated rows, or None when none was kept."""
        query = sa.select(evaluation_samples.c.content).where(
            evaluation_samples.c.evaluation_id == evaluation_id
        )
        with self._transaction() as conn:
            content = conn.execute(query).scalar()
        return None if content is None else pd.read_parquet(io.BytesIO(content))


def evaluations_table(
    stored: Sequence[StoredEvaluation],
    metrics: Sequence[str] = ("auc", "accuracy", "f1", "log_loss", "data_drift"),
) -> pd.DataFrame:
    """The store as a user reads it: one line per evaluation with its main metrics.

    A metric no evaluation has (say, drift before it was analysed) gets no column.
    """
    rows = []
    for e in stored:
        row = {
            "name": e.name,
            "model_version": e.model_version,
            "period": f"{e.period_start:%Y-%m-%d} .. {e.period_end:%Y-%m-%d}",
            "rows": e.row_count,
        }
        row.update({m: e.metrics.get(m) for m in metrics if any(m in s.metrics for s in stored)})
        row["created_at"] = f"{e.created_at:%Y-%m-%d %H:%M:%S}"
        rows.append(row)
    return pd.DataFrame(rows)


def _filtered(query: sa.Select, store_name: str | None, model_version: str | None) -> sa.Select:
    if store_name is not None:
        query = query.where(evaluations.c.store_name == store_name)
    if model_version is not None:
        query = query.where(evaluations.c.model_version == model_version)
    return query


def _delete(conn: sa.Connection, evaluation_ids: Sequence[str]) -> int:
    for table in EVALUATION_CHILDREN:
        conn.execute(table.delete().where(table.c.evaluation_id.in_(evaluation_ids)))
    result = conn.execute(
        evaluations.delete().where(evaluations.c.evaluation_id.in_(evaluation_ids))
    )
    return result.rowcount


def _lock_key(key: tuple) -> int:
    digest = hashlib.sha256(repr(key).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
