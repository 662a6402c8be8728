"""include/mes/store on the embedded SQLite file: what tests/integration/test_mes_store.py leaves.

The integration suite runs saving, replacing, concurrency, upgrades and checks on PostgreSQL and
SQLite; these tests cover where the store is found, readers, refused records, deletion, the
per-evaluation reads, metric histories and the table a user reads.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from include.checks import CheckOutcome, CheckResult
from include.errors import EvaluationNotFoundError, StoreError, StoreNotCreatedError
from include.mes.migrations import alembic_config, latest_version
from include.mes.records import EvaluationRecord
from include.mes.store import ModelEvaluationStore, evaluations_table, resolve_mes_url
from include.periods import Period
from tests.support.mes_versions import create_legacy_store, write_revision


def _record(quarter: str = "2019Q2", version: str = "v1", **changes) -> EvaluationRecord:
    fields = {
        "store_name": "the_MES",
        "model_name": "fraud",
        "model_version": version,
        "period": Period.parse(quarter),
        "row_count": 100,
        "metrics": {"auc": 0.8, "accuracy": 0.9},
    }
    return EvaluationRecord(**{**fields, **changes})


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mes.sqlite'}"


@pytest.fixture
def store(url):
    with ModelEvaluationStore.open(url) as opened:
        yield opened


def test_the_url_given_wins_and_gets_the_driver(monkeypatch):
    monkeypatch.setenv("MES_DATABASE_URL", "sqlite:////elsewhere.db")
    assert resolve_mes_url("postgresql://u:p@h/d") == "postgresql+psycopg2://u:p@h/d"


def test_the_environment_is_read_when_no_url_is_given(monkeypatch):
    monkeypatch.setenv("MES_DATABASE_URL", "postgres://u@h/d")
    assert resolve_mes_url() == "postgresql+psycopg2://u@h/d"


def test_a_bad_environment_url_is_named_as_such(monkeypatch):
    monkeypatch.setenv("MES_DATABASE_URL", "nonsense")
    with pytest.raises(StoreError, match=r"MES_DATABASE_URL"):
        resolve_mes_url()


def test_without_a_url_the_store_is_a_file_in_mes_home(tmp_path, monkeypatch):
    monkeypatch.delenv("MES_DATABASE_URL", raising=False)
    monkeypatch.setenv("MES_HOME", str(tmp_path))
    assert resolve_mes_url() == f"sqlite:///{tmp_path / 'mes.sqlite'}"


def test_a_reader_may_not_create_the_store(url):
    with pytest.raises(StoreNotCreatedError, match="holds no MES yet"):
        ModelEvaluationStore.open(url, read_only=True)
    with ModelEvaluationStore.open(url, migrate=False) as store:
        assert store.schema_version() == 0


def test_a_reader_refuses_an_older_store_and_reads_a_current_one(url):
    create_legacy_store(url, 1)  # as version 1 of the code, before Alembic, created it
    with pytest.raises(StoreError, match="let a writer upgrade it"):
        ModelEvaluationStore.open(url, read_only=True)
    ModelEvaluationStore.open(url).close()
    with ModelEvaluationStore.open(url, read_only=True) as reader:
        assert reader.schema_version() == latest_version()


def test_a_reader_refuses_a_store_newer_than_the_code(url, tmp_path):
    with ModelEvaluationStore.open(url) as store:
        write_revision(tmp_path / "future", "pass")
        store.migrate(alembic_config(tmp_path / "future"))
    with pytest.raises(StoreError, match="upgrade the project"):
        ModelEvaluationStore.open(url, read_only=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"store_name": ""}, "needs a store name and a model version"),
        ({"model_version": ""}, "needs a store name and a model version"),
        ({"row_count": -1}, "must not be negative"),
    ],
)
def test_records_without_a_key_or_with_negative_rows_are_refused(store, changes, message):
    with pytest.raises(StoreError, match=message):
        store.save(_record(**changes))
    assert store.evaluations() == []


def test_an_evaluation_reads_back_by_id_with_its_period_and_utc_time(store):
    evaluation_id = store.save(_record(name="first look"))
    stored = store.get(evaluation_id)
    assert stored.name == "first look"
    assert (stored.period_start, stored.period_end) == (datetime(2019, 4, 1), datetime(2019, 7, 1))
    assert stored.created_at.tzinfo == UTC
    assert stored.metrics == {"auc": 0.8, "accuracy": 0.9}


def test_an_unknown_id_is_not_found(store):
    with pytest.raises(EvaluationNotFoundError, match="no evaluation 'nope'"):
        store.get("nope")


def test_delete_removes_the_evaluation_and_what_was_stored_with_it(store):
    evaluation_id = store.save(
        _record(
            column_statistics=[{"name": "amount", "kind": "numeric", "mean": 1.0}],
            feature_drift=[{"feature": "amount", "kind": "numeric", "psi": 0.1}],
            sample=pd.DataFrame({"amount": [1.0]}),
        )
    )
    assert store.delete(evaluation_id) is True
    assert store.delete(evaluation_id) is False
    assert store.evaluations() == []
    assert store.feature_drift(evaluation_id) == []
    assert store.column_statistics(evaluation_id) == []
    assert store.sample(evaluation_id) is None


def test_feature_drift_keeps_known_statistics_in_columns_and_the_rest_in_details(store):
    evaluation_id = store.save(
        _record(
            feature_drift=[
                {"feature": "b", "kind": "categorical", "new_categories": ["x"], "bins": [1, 2]},
                {"feature": "a", "kind": "numeric", "psi": 0.25, "drifted": True},
            ]
        )
    )
    rows = store.feature_drift(evaluation_id)
    assert [row["feature"] for row in rows] == ["a", "b"]
    assert rows[0]["psi"] == 0.25
    assert rows[0]["drifted"] is True
    assert rows[0]["ks_pvalue"] is None
    assert rows[1]["new_categories"] == ["x"]
    assert rows[1]["details"] == {"bins": [1, 2]}


def test_column_statistics_come_back_sorted_by_column(store):
    evaluation_id = store.save(
        _record(
            column_statistics=[
                {"name": "z", "kind": "numeric", "mean": 2.0},
                {"name": "a", "kind": "categorical", "top": "x"},
            ]
        )
    )
    assert store.column_statistics(evaluation_id) == [
        {"name": "a", "kind": "categorical", "top": "x"},
        {"name": "z", "kind": "numeric", "mean": 2.0},
    ]


def test_a_sample_round_trips_and_its_absence_is_none(store):
    sample = pd.DataFrame({"amount": [1.5, 2.5], "category": ["a", None]})
    with_sample = store.save(_record(sample=sample))
    without = store.save(_record("2019Q3"))
    pd.testing.assert_frame_equal(store.sample(with_sample), sample)
    assert store.sample(without) is None


def test_store_names_are_sorted_and_distinct(store):
    store.save(_record(store_name="zeta"))
    store.save(_record(store_name="alpha"))
    store.save(_record("2019Q3", store_name="alpha"))
    assert store.store_names() == ["alpha", "zeta"]


def test_metric_history_lists_the_evaluations_that_have_the_metric_in_period_order(store):
    store.save(_record("2019Q3", metrics={"auc": 0.7}))
    store.save(_record("2019Q2", metrics={"auc": 0.8}))
    store.save(_record("2019Q4", metrics={"accuracy": 0.9}))
    store.save(_record("2019Q4", "v2", metrics={"auc": 0.75}))
    history = store.metric_history("auc", "the_MES")
    assert [(p.name, p.model_version, p.value) for p in history] == [
        ("2019Q2", "v1", 0.8),
        ("2019Q3", "v1", 0.7),
        ("2019Q4", "v2", 0.75),
    ]
    assert [p.value for p in store.metric_history("auc", "the_MES", model_version="v2")] == [0.75]
    assert store.metric_history("auc", "other") == []


def test_latest_is_none_for_a_store_without_evaluations(store):
    assert store.latest("the_MES") is None


def test_checks_on_an_unknown_evaluation_record_nothing(store):
    result = CheckResult("auc floor", "auc", CheckOutcome.OK, 0.8, "fine")
    with pytest.raises(EvaluationNotFoundError, match="nothing was recorded"):
        store.record_checks("gone", [result])
    assert store.check_results("the_MES") == {}


def test_a_check_run_again_replaces_its_result_and_keeps_the_others(store):
    evaluation_id = store.save(_record())
    first = CheckResult("auc floor", "auc", CheckOutcome.WARNING, 0.8, "low")
    other = CheckResult("drift", None, CheckOutcome.OK, None, "no drift")
    store.record_checks(evaluation_id, [first, other], checked_by={"dag_id": "d"})
    again = CheckResult("auc floor", "auc", CheckOutcome.OK, 0.8, "fine now")
    store.record_checks(evaluation_id, [again])
    results = {c.check_name: c for c in store.check_results("the_MES")[evaluation_id]}
    assert set(results) == {"auc floor", "drift"}
    assert results["auc floor"].outcome == "OK"
    assert results["auc floor"].checked_by is None
    assert results["drift"].checked_by == {"dag_id": "d"}
    assert results["drift"].checked_at.tzinfo == UTC


def test_the_users_table_has_a_column_only_for_metrics_some_evaluation_has(store):
    store.save(_record("2019Q2", metrics={"auc": 0.8}))
    store.save(_record("2019Q3", metrics={"auc": 0.7, "f1": 0.5}))
    table = evaluations_table(store.evaluations("the_MES"))
    assert list(table.columns) == [
        "name",
        "model_version",
        "period",
        "rows",
        "auc",
        "f1",
        "created_at",
    ]
    assert table["period"].tolist() == ["2019-04-01 .. 2019-07-01", "2019-07-01 .. 2019-10-01"]
    assert table["f1"].isna().tolist() == [True, False]
    assert evaluations_table([]).empty
