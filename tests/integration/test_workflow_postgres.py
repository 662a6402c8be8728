"""The tutorial flow from Python: data, the Q1 model, Q2-Q4 evaluated into a PostgreSQL MES.

Every bad input (a bad quarter, an empty quarter, a broken batch, a tampered model, an
unreachable database) gets one clear error and leaves the store exactly as it was.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.data.storage import open_dataset_store
from include.errors import (
    DataValidationError,
    EmptyBatchError,
    ModelIntegrityError,
    PeriodError,
    StoreError,
)
from include.model.registry import MODEL_FILE
from include.tutorial.datasets import generate_tutorial_data
from include.workflow import Workspace, evaluate_period, train

pytestmark = pytest.mark.integration

QUARTERS = ("2017Q2", "2017Q3", "2017Q4")


@pytest.fixture(scope="module")
def template(tmp_path_factory, tutorial_config) -> Path:
    """Generated data and a trained model, made once and copied by each test."""
    folder = tmp_path_factory.mktemp("template")
    made = Workspace.open(
        config=tutorial_config,
        datasets=folder / "datasets",
        models=folder / "models",
        mes_url=f"sqlite:///{folder / 'unused.sqlite'}",
    )
    generate_tutorial_data(made.datasets, tutorial_config, transactions_per_quarter=3_000)
    train(made)
    made.close()
    return folder


@pytest.fixture
def workspace(request, template, tmp_path: Path, postgres_url: str, tutorial_config, make_database):
    """A workspace with the MES in PostgreSQL; datasets as Parquet files, or as PostgreSQL tables
    when parametrized indirectly with "postgresql" (the tutorial's remapped connections)."""
    shutil.copytree(template / "models", tmp_path / "models")
    shutil.copytree(template / "datasets", tmp_path / "datasets")
    backend = getattr(request, "param", "parquet")
    datasets = tmp_path / "datasets" if backend == "parquet" else make_database()
    opened = Workspace.open(
        config=tutorial_config,
        datasets=datasets,
        models=tmp_path / "models",
        mes_url=postgres_url,
        reports=tmp_path / "reports",
    )
    if backend != "parquet":
        source = open_dataset_store(tmp_path / "datasets")
        for name in source.names():
            opened.datasets.write(name, source.read(name))
    yield opened
    opened.close()


def rows(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text(f"select count(*) from mes.{table}")).scalar_one()
    engine.dispose()
    return count


def snapshot(workspace: Workspace, url: str) -> tuple:
    stored = workspace.mes.evaluations()
    return (
        [(e.evaluation_id, e.metrics, e.created_at) for e in stored],
        [rows(url, t) for t in ("column_statistics", "feature_drift", "evaluation_samples")],
    )


@pytest.mark.parametrize("workspace", ["parquet", "postgresql"], indirect=True)
def test_q2_to_q4_land_in_the_postgresql_mes_once_each(workspace, postgres_url) -> None:
    for quarter in QUARTERS:
        evaluate_period(workspace, quarter)

    assert rows(postgres_url, "evaluations") == 3
    stored = workspace.mes.evaluations("the_MES")
    assert [e.name for e in stored] == list(QUARTERS)
    assert stored[0].metrics["auc"] > 0.75
    assert all(e.model_version == stored[0].model_version for e in stored)
    assert all(e.quality["row_count"] == e.row_count for e in stored)
    assert rows(postgres_url, "column_statistics") == 3 * len(workspace.config.features)
    assert rows(postgres_url, "feature_drift") == 3 * len(workspace.config.features)
    assert workspace.mes.sample(stored[0].evaluation_id).shape[0] == stored[0].row_count
    drift = [e.metrics["data_drift"] for e in stored]
    assert drift == sorted(drift)
    q4 = stored[2]
    assert {"data_drift_pvalue", "psi:card_age", "ks_pvalue:card_fico_score"} <= set(q4.metrics)
    flagged = {r["feature"] for r in workspace.mes.feature_drift(q4.evaluation_id) if r["drifted"]}
    assert {"card_age", "card_fico_score"} <= flagged
    assert q4.drift["current"]["period"] == "2017Q4"
    for evaluation in stored:
        assert (
            workspace.reports / "the_MES" / f"{evaluation.name}_{evaluation.model_version}.html"
        ).exists()

    evaluate_period(workspace, "2017Q3")

    assert rows(postgres_url, "evaluations") == 3
    assert rows(postgres_url, "evaluation_samples") == 3
    assert [e.name for e in workspace.mes.evaluations("the_MES")] == list(QUARTERS)
    assert workspace.mes.latest("the_MES").name == "2017Q4"
    assert len(workspace.mes.metric_history("auc", "the_MES")) == 3


@pytest.fixture
def evaluated(workspace, postgres_url):
    for quarter in QUARTERS:
        evaluate_period(workspace, quarter)
    return snapshot(workspace, postgres_url)


@pytest.mark.parametrize(
    ("quarter", "error", "message"),
    [
        ("2017Q5", PeriodError, "quarters run from Q1 to Q4"),
        ("Q2", PeriodError, "the year is missing"),
        ("2018Q1", EmptyBatchError, "no rows for 2018Q1"),
    ],
)
def test_a_bad_or_empty_quarter_changes_nothing(
    workspace, postgres_url, evaluated, quarter, error, message
) -> None:
    with pytest.raises(error, match=message):
        evaluate_period(workspace, quarter)
    assert snapshot(workspace, postgres_url) == evaluated


def break_q3(workspace: Workspace, change) -> None:
    """Rewrite the prepared dataset with Q3 broken in one way."""
    config = workspace.config
    data = workspace.datasets.read(config.dataset)
    workspace.datasets.write(config.dataset, change(data))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.rename(columns={"card_age": "card_agee"}), "did you mean 'card_agee'"),
        (lambda d: d.drop(columns=["card_fico_score"]), "card_fico_score"),
        (lambda d: d.assign(card_age=d["card_age"].astype(str) + " years"), "card_age"),
        (lambda d: d.assign(authorized_flag=d["authorized_flag"] * 3), "authorized_flag"),
    ],
    ids=["misspelt column", "missing column", "wrong type", "label not binary"],
)
def test_a_broken_batch_is_refused_with_what_is_wrong_and_changes_nothing(
    workspace, postgres_url, evaluated, change, message
) -> None:
    break_q3(workspace, change)
    with pytest.raises(DataValidationError, match=message):
        evaluate_period(workspace, "2017Q3")
    assert snapshot(workspace, postgres_url) == evaluated


def test_a_quarter_whose_labels_are_not_in_yet_is_evaluated_without_realised_performance(
    workspace, postgres_url, evaluated
) -> None:
    break_q3(workspace, lambda d: d.drop(columns=["authorized_flag"]))
    evaluation_id, _ = evaluate_period(workspace, "2017Q3")

    stored = workspace.mes.get(evaluation_id)
    assert not stored.labelled
    assert "auc" not in stored.metrics
    assert stored.metrics["label_share"] == 0.0
    assert "estimated_auc" in stored.metrics
    assert "no row is labelled yet" in stored.labels["note:no_labels"]
    assert rows(postgres_url, "evaluations") == 3  # Q3 replaced, not added


def test_unparseable_dates_are_refused(workspace, postgres_url, evaluated) -> None:
    def text_dates(data):
        dates = data["purchase_date"].dt.strftime("%Y-%m-%d").astype(object)
        dates.iloc[5] = "not a date"
        return data.assign(purchase_date=dates)

    break_q3(workspace, text_dates)
    with pytest.raises(DataValidationError, match="not a date"):
        evaluate_period(workspace, "2017Q3")
    assert snapshot(workspace, postgres_url) == evaluated


def test_a_tampered_model_is_refused_and_changes_nothing(
    workspace, postgres_url, evaluated
) -> None:
    [model_file] = workspace.models.glob(f"*/*/{MODEL_FILE}")
    model_file.write_bytes(model_file.read_bytes() + b"tampered")
    with pytest.raises(ModelIntegrityError, match="does not match its recorded SHA-256"):
        evaluate_period(workspace, "2017Q3")
    assert snapshot(workspace, postgres_url) == evaluated


def test_an_unreachable_mes_is_one_clear_error(tutorial_config, tmp_path) -> None:
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:1/mes.*Check that the database is running"):
        Workspace.open(
            config=tutorial_config,
            datasets=tmp_path,
            models=tmp_path,
            mes_url="postgresql://postgres@127.0.0.1:1/mes",
        )
