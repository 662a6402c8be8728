"""include/mes/schema: the store's tables, created on SQLite, and the rules they enforce."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from include.db import create_engine
from include.mes.schema import (
    EVALUATION_CHILDREN,
    SCHEMA,
    check_results,
    column_statistics,
    evaluation_samples,
    evaluations,
    feature_drift,
    metadata,
)

NOW = datetime(2019, 7, 1, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path):
    engine, _ = create_engine(f"sqlite:///{tmp_path / 'mes.db'}", SCHEMA, what="MES database")
    with engine.begin() as conn:
        metadata.create_all(conn)
    yield engine
    engine.dispose()


def _evaluation(evaluation_id: str, version: str = "v1") -> dict:
    return {
        "evaluation_id": evaluation_id,
        "store_name": "the_MES",
        "model_name": "fraud",
        "model_version": version,
        "name": "2019Q2",
        "labels": {"note:x": "y"},
        "period_start": datetime(2019, 4, 1),
        "period_end": datetime(2019, 7, 1),
        "created_at": NOW,
        "row_count": 10,
        "labelled": True,
        "metrics": {"auc": 0.9},
    }


def test_every_table_lives_in_the_mes_schema():
    assert {table.name for table in metadata.sorted_tables} == {
        "evaluations",
        "feature_drift",
        "column_statistics",
        "evaluation_samples",
        "check_results",
    }
    assert {table.schema for table in metadata.sorted_tables} == {SCHEMA}


def test_the_children_are_every_table_keyed_by_an_evaluation():
    keyed = {
        table
        for table in metadata.sorted_tables
        if any(key.column is evaluations.c.evaluation_id for key in table.foreign_keys)
    }
    assert set(EVALUATION_CHILDREN) == keyed
    assert set(EVALUATION_CHILDREN) == {
        feature_drift,
        column_statistics,
        evaluation_samples,
        check_results,
    }


def test_json_columns_round_trip(engine):
    with engine.begin() as conn:
        conn.execute(evaluations.insert(), _evaluation("e1"))
        row = conn.execute(sa.select(evaluations.c.labels, evaluations.c.metrics)).one()
    assert row.labels == {"note:x": "y"}
    assert row.metrics == {"auc": 0.9}


def test_one_evaluation_per_store_model_version_and_period(engine):
    with engine.begin() as conn:
        conn.execute(evaluations.insert(), _evaluation("e1"))
        conn.execute(evaluations.insert(), _evaluation("e2", version="v2"))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(evaluations.insert(), _evaluation("e3"))


def test_children_need_their_evaluation_and_go_with_it(engine):
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(feature_drift.insert(), {"evaluation_id": "none", "feature": "a", "kind": "n"})
    with engine.begin() as conn:
        conn.execute(evaluations.insert(), _evaluation("e1"))
        conn.execute(feature_drift.insert(), {"evaluation_id": "e1", "feature": "a", "kind": "n"})
        conn.execute(
            column_statistics.insert(),
            {"evaluation_id": "e1", "column_name": "a", "kind": "n", "statistics": {}},
        )
        conn.execute(evaluations.delete())
        for child in EVALUATION_CHILDREN:
            assert conn.execute(sa.select(sa.func.count()).select_from(child)).scalar() == 0


def test_a_feature_is_stored_once_per_evaluation(engine):
    with engine.begin() as conn:
        conn.execute(evaluations.insert(), _evaluation("e1"))
    row = {"evaluation_id": "e1", "feature": "amount", "kind": "numeric"}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(feature_drift.insert(), [row, row])
