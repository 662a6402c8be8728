"""include/workflow: the workspace, reference rows and what a task returns.

Evaluating periods (train, evaluate_period, evaluate_slices) takes seconds and is exercised by
tests/unit/test_relabel.py, tests/unit/evaluation/test_track_record.py,
tests/unit/streaming/test_evaluate.py and tests/integration/test_workflow_postgres.py; these
tests cover the parts that need no trained model, each in well under a second.
"""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from include.config import load_config, parse_config
from include.data.parquet_store import ParquetDatasetStore
from include.errors import ConfigurationError, EmptyBatchError, StoreNotCreatedError
from include.evaluation.evaluate import Evaluation
from include.periods import Period
from include.tutorial import TUTORIAL_MODEL
from include.tutorial.datasets import generate_tutorial_data
from include.workflow import Workspace, reference_rows, summarise, summarise_slice

ROWS = 400  # transactions a quarter: enough for every table, fast to generate


@pytest.fixture
def workspace(tmp_path):
    opened = Workspace.open(
        config=load_config(),
        datasets=tmp_path / "datasets",
        models=tmp_path / "models",
        mes_url=f"sqlite:///{tmp_path / 'mes.sqlite'}",
        reports=tmp_path / "reports",
    )
    yield opened
    opened.close()


def _evaluation(period: str = "2017Q2", version: str = "2017Q1-abc") -> Evaluation:
    return Evaluation(
        period=Period.parse(period),
        model_name=TUTORIAL_MODEL,
        model_version=version,
        row_count=10,
        performance=None,
        columns=[],
        sample=pd.DataFrame(),
    )


def test_an_open_workspace_defaults_to_the_folders_of_mes_home(home, monkeypatch):
    monkeypatch.delenv("MES_REPORTS", raising=False)
    workspace = Workspace.open()
    try:
        assert workspace.config.name == TUTORIAL_MODEL
        assert isinstance(workspace.datasets, ParquetDatasetStore)
        assert workspace.datasets.root == home / "datasets"
        assert workspace.models == home / "models"
        assert workspace.reports == home / "reports"
        assert workspace.mes.description == f"SQLite file {home / 'mes.sqlite'}"
    finally:
        workspace.close()


def test_the_environment_names_the_folders(home, tmp_path, monkeypatch):
    monkeypatch.setenv("MES_DATASETS", str(tmp_path / "d"))
    monkeypatch.setenv("MES_MODELS", str(tmp_path / "m"))
    monkeypatch.setenv("MES_REPORTS", str(tmp_path / "r"))
    workspace = Workspace.open()
    try:
        assert workspace.datasets.root == tmp_path / "d"
        assert workspace.models == tmp_path / "m"
        assert workspace.reports == tmp_path / "r"
    finally:
        workspace.close()


def test_a_read_only_workspace_does_not_create_the_store(home):
    with pytest.raises(StoreNotCreatedError):
        Workspace.open(read_only=True)
    # SQLite makes the file on connecting; no table is created in it.
    with sqlite3.connect(home / "mes.sqlite") as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_reports_are_written_per_store_and_named_by_period_and_version(workspace, tmp_path):
    path = workspace.report_path(_evaluation("2017-01-01/2017-02-01", "v/2"))
    assert path == tmp_path / "reports" / "the_MES" / "2017-01-01_2017-02-01_v_2.html"


def test_a_report_outside_the_reports_folder_is_refused(workspace):
    workspace.config = workspace.config.model_copy(update={"store_name": "../elsewhere"})
    with pytest.raises(ConfigurationError, match="outside"):
        workspace.report_path(_evaluation())


def test_reference_rows_are_the_reference_period_of_the_models_data(workspace):
    generate_tutorial_data(workspace.datasets, transactions_per_quarter=ROWS)
    rows, description = reference_rows(workspace)
    dates = pd.to_datetime(rows[workspace.config.date_column])
    assert len(rows) == ROWS
    assert dates.min() >= pd.Timestamp("2017-01-01")
    assert dates.max() < pd.Timestamp("2017-04-01")
    assert description.startswith("reference period 2017Q1 of ")


def test_a_reference_period_without_rows_says_what_to_do(workspace):
    generate_tutorial_data(workspace.datasets, transactions_per_quarter=ROWS)
    raw = {**workspace.config.model_dump(), "reference_period": "2015Q1"}
    workspace.config = parse_config(raw)
    with pytest.raises(EmptyBatchError, match="no rows in the reference period 2015Q1"):
        reference_rows(workspace)


@pytest.mark.parametrize("index", [-1, 3])
def test_a_slice_that_does_not_exist_is_refused_before_anything_is_read(workspace, index, tmp_path):
    with pytest.raises(ConfigurationError, match=f"there is no slice {index}"):
        summarise_slice(workspace, "2017Q2", index, 3, model=None, folder=tmp_path / "parts")
    assert not (tmp_path / "parts").exists()


def test_a_summary_is_json_values_with_none_for_what_is_not_there(workspace):
    summary = summarise(workspace, "id-1", _evaluation())
    assert summary["evaluation_id"] == "id-1"
    assert summary["quarter"] == "2017Q2"
    assert summary["model_version"] == "2017Q1-abc"
    assert summary["rows"] == 10
    assert summary["auc"] is None
    assert summary["data_drift"] is None
    assert summary["drifted_features"] == []
    assert summary["drift_report"] is None
