"""The model evaluation store on PostgreSQL and on the embedded SQLite file, through one API."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from include.checks import CheckOutcome, CheckResult
from include.db import create_engine
from include.errors import StoreError
from include.mes.migrations import (
    VERSION_TABLE,
    alembic_config,
    context_options,
    latest_version,
    target_metadata,
)
from include.mes.records import EvaluationRecord
from include.mes.schema import SCHEMA
from include.mes.store import ModelEvaluationStore, evaluations_table
from include.periods import Period
from tests.support.mes_versions import create_legacy_store, write_revision

pytestmark = pytest.mark.integration


@pytest.fixture(params=["postgresql", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mes.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url: str) -> Iterator[ModelEvaluationStore]:
    with ModelEvaluationStore.open(store_url) as opened:
        yield opened


def record(
    quarter: str = "2017Q2", *, version: str = "v1", auc: float = 0.8, **overrides
) -> EvaluationRecord:
    fields = {
        "store_name": "the_MES",
        "model_name": "fraud_authorization",
        "model_version": version,
        "period": Period.parse(quarter),
        "row_count": 1000,
        "metrics": {"auc": auc, "accuracy": 0.9, "data_drift": 0.51},
        "labels": {"evaluation:period": quarter},
        "confusion_matrix": {
            "true_positive": 800,
            "false_positive": 50,
            "true_negative": 100,
            "false_negative": 50,
        },
        "column_statistics": [{"name": "card_age", "kind": "numeric", "mean": 41.5}],
        "feature_drift": [
            {
                "feature": "card_age",
                "kind": "numeric",
                "psi": 0.31,
                "ks_pvalue": 1e-9,
                "drifted": True,
                "histogram": [1, 2],
            }
        ],
        "sample": pd.DataFrame({"card_age": [30, 40, 50], "proba": [0.1, 0.5, 0.9]}),
    }
    fields.update(overrides)
    return EvaluationRecord(**fields)


def count_rows(store_url: str, table: str) -> int:
    engine = sa.create_engine(store_url)
    name = f"mes.{table}" if engine.dialect.name == "postgresql" else table
    with engine.connect() as conn:
        count = conn.execute(sa.text(f"select count(*) from {name}")).scalar_one()
    engine.dispose()
    return count


NEXT = latest_version() + 1


def test_a_new_store_is_created_at_the_latest_schema_version(store: ModelEvaluationStore) -> None:
    assert store.schema_version() == latest_version() == 2
    assert store.migrate() == []  # reopening applies nothing
    assert store.evaluations() == []
    assert store.latest("the_MES") is None


def test_an_evaluation_reads_back_with_everything_stored_with_it(
    store: ModelEvaluationStore,
) -> None:
    evaluation_id = store.save(record())

    stored = store.get(evaluation_id)
    assert (stored.name, stored.model_version, stored.row_count) == ("2017Q2", "v1", 1000)
    assert stored.metrics == {"auc": 0.8, "accuracy": 0.9, "data_drift": 0.51}
    assert stored.labels == {"evaluation:period": "2017Q2"}
    assert (stored.period_start.date().isoformat(), stored.period_end.date().isoformat()) == (
        "2017-04-01",
        "2017-07-01",
    )
    assert stored.confusion_matrix["true_positive"] == 800
    assert stored.created_at.tzinfo is not None
    assert store.column_statistics(evaluation_id) == [
        {"name": "card_age", "kind": "numeric", "mean": 41.5}
    ]
    [drift] = store.feature_drift(evaluation_id)
    assert (drift["feature"], drift["psi"], drift["drifted"]) == ("card_age", 0.31, True)
    assert drift["details"] == {"histogram": [1, 2]}
    pd.testing.assert_frame_equal(store.sample(evaluation_id), record().sample)


def test_re_evaluating_a_period_replaces_it_one_row_never_two(
    store: ModelEvaluationStore,
    store_url: str,
) -> None:
    for quarter in ("2017Q2", "2017Q3", "2017Q4"):
        store.save(record(quarter))
    first_q3 = next(e for e in store.evaluations("the_MES") if e.name == "2017Q3")

    again = store.save(record("2017Q3", auc=0.7))

    evaluations = store.evaluations("the_MES")
    assert [e.name for e in evaluations] == ["2017Q2", "2017Q3", "2017Q4"]
    assert count_rows(store_url, "evaluations") == 3
    assert count_rows(store_url, "feature_drift") == 3
    assert count_rows(store_url, "evaluation_samples") == 3
    assert store.get(again).metrics["auc"] == 0.7
    with pytest.raises(StoreError, match="no evaluation"):
        store.get(first_q3.evaluation_id)


def test_another_model_version_on_the_same_period_is_a_second_evaluation(
    store: ModelEvaluationStore,
) -> None:
    store.save(record("2017Q2", version="v1"))
    store.save(record("2017Q2", version="v2"))
    assert sorted(e.model_version for e in store.evaluations("the_MES")) == ["v1", "v2"]
    assert [e.model_version for e in store.evaluations("the_MES", model_version="v2")] == ["v2"]


def test_latest_is_the_most_recent_period_and_history_follows_the_periods(
    store: ModelEvaluationStore,
) -> None:
    store.save(record("2017Q4", auc=0.70))
    store.save(record("2017Q2", auc=0.85))
    store.save(record("2017Q3", auc=0.80, metrics={"accuracy": 0.9}))  # no AUC this time
    store.save(record("2017Q1", auc=0.9, store_name="another_store"))

    assert store.latest("the_MES").name == "2017Q4"
    history = store.metric_history("auc", "the_MES")
    assert [(p.name, p.value) for p in history] == [("2017Q2", 0.85), ("2017Q4", 0.70)]
    table = evaluations_table(store.evaluations("the_MES"))
    assert list(table["name"]) == ["2017Q2", "2017Q3", "2017Q4"]
    assert table["auc"].isna().tolist() == [False, True, False]


def test_metrics_that_are_not_finite_numbers_are_left_out(store: ModelEvaluationStore) -> None:
    evaluation_id = store.save(
        record(metrics={"auc": float("nan"), "accuracy": 0.9, "lift": float("inf"), "note": "x"})
    )
    assert store.get(evaluation_id).metrics == {"accuracy": 0.9}


def test_a_failed_replacement_leaves_the_previous_evaluation_intact(
    store: ModelEvaluationStore,
) -> None:
    kept = store.save(record("2017Q3"))
    broken = record(
        "2017Q3",
        auc=0.1,
        feature_drift=[
            {"feature": "card_age", "kind": "numeric"},
            {"feature": "card_age", "kind": "numeric"},  # the same feature twice: refused
        ],
    )
    with pytest.raises(StoreError, match="nothing was written"):
        store.save(broken)
    [still_there] = store.evaluations("the_MES")
    assert (still_there.evaluation_id, still_there.metrics["auc"]) == (kept, 0.8)
    assert len(store.feature_drift(kept)) == 1


def test_concurrent_writers_of_the_same_period_leave_one_evaluation(
    store: ModelEvaluationStore,
) -> None:
    errors: list[Exception] = []

    def write(auc: float) -> None:
        try:
            store.save(record("2017Q2", auc=auc))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(0.5 + i / 100,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.evaluations("the_MES")) == 1


def test_an_existing_store_is_upgraded_and_keeps_its_evaluations(
    store: ModelEvaluationStore, tmp_path
) -> None:
    kept = store.save(record("2017Q2"))
    write_revision(
        tmp_path / "owner",
        'op.add_column("evaluations", sa.Column("owner", sa.Text), schema=schema)',
        "evaluations_owner",
    )
    add_owner = alembic_config(tmp_path / "owner")

    assert store.migrate(add_owner) == [NEXT]
    assert store.migrate(add_owner) == []
    assert store.schema_version() == NEXT
    assert store.get(kept).metrics["auc"] == 0.8


def test_a_failing_upgrade_changes_nothing(store: ModelEvaluationStore, tmp_path) -> None:
    kept = store.save(record("2017Q2"))
    write_revision(
        tmp_path / "broken",
        """
        op.execute(f"DELETE FROM {schema}.evaluations" if schema else "DELETE FROM evaluations")
        raise RuntimeError("upgrade failed half way")
        """,
    )

    with pytest.raises(RuntimeError, match="half way"):
        store.migrate(alembic_config(tmp_path / "broken"))
    assert store.schema_version() == latest_version()
    assert store.get(kept).evaluation_id == kept


def test_a_store_newer_than_the_code_is_refused(store_url: str, tmp_path) -> None:
    with ModelEvaluationStore.open(store_url) as store:
        write_revision(tmp_path / "future", "pass", "from_the_future")
        store.migrate(alembic_config(tmp_path / "future"))
    with pytest.raises(
        StoreError, match=f"version {NEXT} but this code knows versions up to {NEXT - 1}"
    ):
        ModelEvaluationStore.open(store_url)


def test_an_unreachable_database_gives_one_clear_error() -> None:
    with pytest.raises(StoreError) as caught:
        ModelEvaluationStore.open("postgresql://postgres:secret@127.0.0.1:1/mes")
    message = str(caught.value)
    assert "127.0.0.1:1/mes" in message
    assert "mes_db" in message
    assert "secret" not in message


def test_an_unsupported_database_is_refused() -> None:
    with pytest.raises(StoreError, match="unsupported MES database"):
        ModelEvaluationStore.open("mysql://root@localhost/mes")


def test_a_version_1_store_gains_check_results_and_keeps_its_evaluations(store_url: str) -> None:
    create_legacy_store(store_url, 1)  # as version 1 of the code, before Alembic, created it
    with ModelEvaluationStore.open(store_url, migrate=False) as store:
        assert store.schema_version() == 1
        kept = store.save(record("2017Q4"))

    with ModelEvaluationStore.open(store_url) as store:
        assert store.schema_version() == 2
        store.record_checks(kept, [check("data drift < 0.45", CheckOutcome.WARNING, 0.51)])
        assert [c.outcome for c in store.check_results("the_MES")[kept]] == ["WARNING"]
        assert store.get(kept).metrics["data_drift"] == 0.51
    assert version_tables(store_url) == {VERSION_TABLE: ["0002"], "schema_migrations": [1, 2]}


def test_a_store_of_the_latest_version_before_alembic_opens_as_it_is(store_url: str) -> None:
    create_legacy_store(store_url, 2)
    with ModelEvaluationStore.open(store_url, read_only=True) as reader:
        assert reader.schema_version() == 2  # a reader reads it without writing
    with ModelEvaluationStore.open(store_url, migrate=False) as store:
        kept = store.save(record("2017Q4"))
        assert store.migrate() == []  # stamped, the old version table kept, nothing to apply
        assert store.get(kept).metrics["auc"] == 0.8
    assert version_tables(store_url) == {VERSION_TABLE: ["0002"], "schema_migrations": [1, 2]}


def version_tables(store_url: str) -> dict[str, list[str]]:
    """The version tables in the MES's schema (and Alembic's default one anywhere)."""
    engine = sa.create_engine(store_url)
    postgres = engine.dialect.name == "postgresql"
    found = {}
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        for name in (VERSION_TABLE, "alembic_version", "schema_migrations"):
            if inspector.has_table(name, schema="mes" if postgres else None):
                table = f"mes.{name}" if postgres else name
                found[name] = list(conn.execute(sa.text(f"SELECT * FROM {table}")).scalars())
        if postgres and inspector.has_table("alembic_version"):
            found["public"] = list(
                conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
            )
    engine.dispose()
    return found


def test_every_revision_run_from_nothing_gives_the_tables_of_a_new_store(store_url: str) -> None:
    engine, _ = create_engine(store_url, SCHEMA, what="MES database")
    config = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("CREATE SCHEMA mes"))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=context_options(conn))
        assert compare_metadata(context, target_metadata(conn)) == []
    engine.dispose()
    with ModelEvaluationStore.open(store_url) as store:
        assert store.schema_version() == latest_version()
        assert store.migrate() == []


def test_airflow_s_alembic_version_beside_the_mes_is_left_alone(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('29ce7909c52b')"))
    engine.dispose()

    ModelEvaluationStore.open(postgres_url).close()
    assert version_tables(postgres_url) == {
        VERSION_TABLE: ["0002"],
        "schema_migrations": [1, 2],
        "public": ["29ce7909c52b"],
    }


def test_concurrent_writers_opening_a_new_store_create_it_once(postgres_url: str) -> None:
    errors: list[Exception] = []
    applied: list[list[int]] = []

    def open_and_migrate() -> None:
        try:
            with ModelEvaluationStore.open(postgres_url, migrate=False) as store:
                applied.append(store.migrate())
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_and_migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(applied) == [[], [], [], [1, 2]]


def check(name: str, outcome: CheckOutcome, value: float | None) -> CheckResult:
    return CheckResult(name, "data_drift", outcome, value, f"{name}: {outcome}")


def test_check_results_are_kept_with_their_evaluation(store: ModelEvaluationStore) -> None:
    q3 = store.save(record("2017Q3"))
    q4 = store.save(record("2017Q4"))
    store.save(record("2017Q4", store_name="other_store"))
    run = {"dag_id": "data_drift_monitor", "run_id": "manual__1", "task_id": "mes_warn"}

    store.record_checks(q3, [check("drift", CheckOutcome.OK, 0.3)], checked_by=run)
    store.record_checks(
        q4, [check("drift", CheckOutcome.OK, 0.3), check("auc", CheckOutcome.OK, 0.8)]
    )
    # A later run of one check replaces that check's outcome only.
    store.record_checks(q4, [check("drift", CheckOutcome.WARNING, 0.51)], checked_by=run)

    found = store.check_results("the_MES")
    assert set(found) == {q3, q4}
    assert [(c.check_name, c.outcome) for c in found[q3]] == [("drift", "OK")]
    assert {c.check_name: c.outcome for c in found[q4]} == {"auc": "OK", "drift": "WARNING"}
    latest = next(c for c in found[q4] if c.check_name == "drift")
    assert latest.checked_by == run
    assert latest.checked_at.tzinfo is not None
    assert store.check_results("other_store") == {}


def test_re_evaluating_a_period_drops_the_checks_of_the_replaced_evaluation(
    store: ModelEvaluationStore, store_url: str
) -> None:
    old = store.save(record("2017Q4"))
    store.record_checks(old, [check("drift", CheckOutcome.WARNING, 0.51)])

    new = store.save(record("2017Q4", auc=0.7))

    assert store.check_results("the_MES") == {}
    assert count_rows(store_url, "check_results") == 0
    with pytest.raises(StoreError, match="replaced or removed"):
        store.record_checks(old, [check("drift", CheckOutcome.OK, 0.3)])
    store.record_checks(new, [check("drift", CheckOutcome.OK, 0.3)])
    assert list(store.check_results("the_MES")) == [new]


def test_duplicate_check_names_are_refused_and_nothing_is_recorded(
    store: ModelEvaluationStore,
) -> None:
    q4 = store.save(record("2017Q4"))
    store.record_checks(q4, [check("drift", CheckOutcome.OK, 0.3)])

    with pytest.raises(StoreError, match="unique"):
        store.record_checks(
            q4, [check("drift", CheckOutcome.WARNING, 0.5), check("drift", CheckOutcome.OK, 0.1)]
        )
    assert [c.outcome for c in store.check_results("the_MES")[q4]] == ["OK"]


def test_summaries_list_the_evaluations_without_their_drift_analysis(
    store: ModelEvaluationStore,
) -> None:
    store.save(record("2017Q3", drift={"data_drift": {"drift": 0.6}}))
    store.save(record("2017Q2"))
    store.save(record("2017Q2", store_name="b_store"))

    summaries = store.summaries("the_MES")

    assert [(s.name, s.has_drift) for s in summaries] == [("2017Q2", False), ("2017Q3", True)]
    assert summaries[0].metrics == {"auc": 0.8, "accuracy": 0.9, "data_drift": 0.51}
    assert summaries[0].created_at.tzinfo is not None
    assert store.store_names() == ["b_store", "the_MES"]
