"""include/mes/rows: an evaluation record into the rows to insert, and rows back into evaluations.

Saving and reading them through the store is tested in tests/unit/mes/test_store.py and on both
databases in tests/integration/test_mes_store.py.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from include.errors import StoreError
from include.mes.records import EvaluationRecord
from include.mes.rows import prepare_rows, stored_evaluation, with_utc
from include.mes.schema import column_statistics, evaluation_samples, feature_drift
from include.periods import Period


def _record(**changes) -> EvaluationRecord:
    fields = {
        "store_name": "the_MES",
        "model_name": "fraud",
        "model_version": "v1",
        "period": Period.parse("2019Q2"),
        "row_count": 3,
        "metrics": {"auc": 0.8, "lift": float("nan")},
    }
    return EvaluationRecord(**{**fields, **changes})


def test_the_evaluation_row_has_its_period_as_midnights_and_only_finite_metrics():
    row, _ = prepare_rows("e1", _record(labels={"team": "risk"}))
    assert (row["evaluation_id"], row["name"], row["labels"]) == ("e1", "2019Q2", {"team": "risk"})
    assert (row["period_start"], row["period_end"]) == (datetime(2019, 4, 1), datetime(2019, 7, 1))
    assert row["created_at"].tzinfo == UTC
    assert row["metrics"] == {"auc": 0.8}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"store_name": ""}, "needs a store name and a model version"),
        ({"row_count": -1}, "must not be negative"),
    ],
)
def test_a_record_without_a_key_or_with_negative_rows_is_refused(changes, message):
    with pytest.raises(StoreError, match=message):
        prepare_rows("e1", _record(**changes))


def test_children_rows_go_to_their_tables_and_unknown_drift_statistics_to_details():
    sample = pd.DataFrame({"amount": [1.0, 2.0, 3.0]})
    _, children = prepare_rows(
        "e1",
        _record(
            column_statistics=[{"name": "amount", "kind": "numeric", "mean": np.float64(2.0)}],
            feature_drift=[{"feature": "amount", "kind": "numeric", "psi": 0.3, "bins": [1, 2]}],
            sample=sample,
        ),
    )
    rows = dict(children)
    assert list(rows) == [column_statistics, feature_drift, evaluation_samples]
    [stats] = rows[column_statistics]
    assert stats["statistics"] == {"name": "amount", "kind": "numeric", "mean": 2.0}
    [drift] = rows[feature_drift]
    assert (drift["psi"], drift["ks_pvalue"], drift["details"]) == (0.3, None, {"bins": [1, 2]})
    [stored_sample] = rows[evaluation_samples]
    assert (stored_sample["format"], stored_sample["row_count"]) == ("parquet", 3)
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(stored_sample["content"])), sample)


def test_a_record_without_children_has_no_child_rows():
    _, children = prepare_rows("e1", _record())
    assert all(rows == [] for _, rows in children)


def test_naive_times_read_back_are_utc():
    naive = {"checked_at": datetime(2019, 7, 1, 12)}
    assert with_utc(naive, "checked_at")["checked_at"] == datetime(2019, 7, 1, 12, tzinfo=UTC)
    aware = {"checked_at": datetime(2019, 7, 1, 12, tzinfo=UTC)}
    assert with_utc(aware, "checked_at") == aware


def test_a_row_read_back_is_a_stored_evaluation_with_empty_json_as_empty_mappings():
    row, _ = prepare_rows("e1", _record())
    row.update(labels=None, metrics=None, created_at=datetime(2019, 7, 2))
    stored = stored_evaluation(row)
    assert (stored.evaluation_id, stored.labels, stored.metrics) == ("e1", {}, {})
    assert stored.created_at == datetime(2019, 7, 2, tzinfo=UTC)
