"""`python -m include.cli register`, and preparing a project whose model was trained elsewhere."""

from __future__ import annotations

import joblib
import pandas as pd
import pytest

from include.cli import main
from include.model.registry import list_versions
from include.workflow import Workspace, prepare_project
from tests.unit.model.conftest import fit_outside, make_rows

CONFIG = """
name: churn
store_name: churn_MES
dataset: churn_rows
label: churned
date_column: day
numeric_features: [amount, age]
categorical_features: [channel]
reference_period: 2017Q1
batch_periods: [2017Q2]
model:
  source: file
  path: model.joblib
"""


@pytest.fixture
def churn_project(tmp_path, monkeypatch):
    """A user's project: their rows in the dataset store, their model file, their YAML."""
    from include.data.storage import open_dataset_store

    datasets = tmp_path / "datasets"
    rows = pd.concat([make_rows(600), make_rows(300, start="2017-04-01", seed=9)])
    open_dataset_store(str(datasets)).write("churn_rows", rows)
    joblib.dump(fit_outside(make_rows(1_500, seed=4)), tmp_path / "model.joblib")
    (tmp_path / "churn.yaml").write_text(CONFIG)
    monkeypatch.setenv("MES_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MES_DATASETS", str(datasets))
    monkeypatch.setenv("MES_CONFIG", str(tmp_path / "churn.yaml"))
    monkeypatch.delenv("MES_MODELS", raising=False)
    monkeypatch.delenv("MES_DATABASE_URL", raising=False)
    return tmp_path


def test_register_prints_the_version_its_file_and_the_small_reference_warning(
    churn_project, capsys
) -> None:
    assert main(["register"]) == 0
    out = capsys.readouterr().out
    assert "registered: churn version file-" in out
    assert "(joblib, SHA-256 " in out
    assert "reference: 600 rows (reference period 2017Q1 of dataset 'churn_rows'" in out
    assert "warning: small reference. The reference holds only 600 rows" in out

    assert main(["register"]) == 0
    assert "already registered: churn version file-" in capsys.readouterr().out
    assert len(list_versions("churn", churn_project / "home" / "models")) == 1


def test_register_tells_a_trained_model_to_use_train(churn_project, monkeypatch, capsys) -> None:
    monkeypatch.delenv("MES_CONFIG")
    assert main(["register"]) == 0
    assert "run train instead" in capsys.readouterr().out


def test_preparing_the_project_registers_the_external_model_once(churn_project) -> None:
    workspace = Workspace.open()
    try:
        model = prepare_project(workspace)
        assert model.source == "file"
        assert model.metadata["reference"]["rows"] == 600
        assert prepare_project(workspace).version == model.version
    finally:
        workspace.close()
