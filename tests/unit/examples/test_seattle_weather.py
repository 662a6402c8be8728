"""The Seattle weather example: real data copied as shipped, models a user would bring, and
configurations the project accepts."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from include.config import load_config, load_config_dir
from include.examples.seattle_weather import (
    ALIAS,
    FEATURES,
    REGISTERED_MODEL,
    ExampleFiles,
    build_example,
    dataset_file,
)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> ExampleFiles:
    return build_example(tmp_path_factory.mktemp("seattle"), mlflow=True)


def test_the_data_is_the_packages_file_byte_for_byte(example: ExampleFiles) -> None:
    assert example.raw_csv.read_bytes() == dataset_file().read_bytes()


def test_the_labelled_data_has_iso_dates_and_rain_from_precipitation(
    example: ExampleFiles,
) -> None:
    raw = pd.read_csv(example.raw_csv)
    labelled = pd.read_csv(example.labelled_csv)
    assert len(labelled) == len(raw) == 1461
    assert labelled["date"].iloc[0] == "2012-01-01"
    assert labelled["date"].iloc[-1] == "2015-12-31"
    assert (labelled["rain"] == (raw["precipitation"] > 0).astype(int)).all()


def test_every_configuration_loads_with_its_paths_resolved(example: ExampleFiles) -> None:
    found = load_config_dir(example.configs[0].parent)
    assert [(f.path.name, f.error) for f in found] == [
        ("seattle_rain_file.yaml", None),
        ("seattle_rain_mlflow.yaml", None),
        ("seattle_rain_predictions.yaml", None),
    ]
    by_source = {f.config.model.source: f.config for f in found}
    assert Path(by_source["file"].model.path).resolve() == example.model_file
    assert Path(by_source["file"].data.path).resolve() == example.labelled_csv
    assert by_source["mlflow"].model.uri == "models:/seattle_rain_rf@champion"
    assert by_source["mlflow"].model.tracking_uri == example.tracking_uri
    assert Path(by_source["predictions"].data.path).resolve() == example.predictions
    assert by_source["file"].cadence == "quarter"
    assert len(by_source["mlflow"].periods) == 36


def test_the_saved_model_scores_2013_usefully_but_not_perfectly(example: ExampleFiles) -> None:
    model = joblib.load(example.model_file)
    labelled = pd.read_csv(example.labelled_csv)
    year = labelled[labelled["date"].str.startswith("2013")]
    proba = model.predict_proba(year[list(FEATURES)].astype("float64"))
    assert proba.shape == (365, 2)
    assert 0.7 < roc_auc_score(year["rain"], proba[:, 1]) < 0.9


def test_the_mlflow_alias_resolves_to_version_1_and_loads(example: ExampleFiles) -> None:
    import mlflow

    client = mlflow.MlflowClient(
        tracking_uri=example.tracking_uri, registry_uri=example.tracking_uri
    )
    assert str(client.get_model_version_by_alias(REGISTERED_MODEL, ALIAS).version) == "1"
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(example.tracking_uri)
    mlflow.set_registry_uri(example.tracking_uri)  # the alias is resolved by the registry
    try:
        model = mlflow.sklearn.load_model(example.model_uri)
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    features = pd.DataFrame({feature: [10.0, 25.0] for feature in FEATURES})
    assert model.predict_proba(features).shape == (2, 2)


def test_the_inference_log_is_one_parquet_file_per_live_month(example: ExampleFiles) -> None:
    files = sorted(path.name for path in example.predictions.glob("*.parquet"))
    assert len(files) == 36
    assert (files[0], files[-1]) == ("2013-01.parquet", "2015-12.parquet")
    log = pd.read_parquet(example.predictions)
    assert list(log.columns) == ["date", *FEATURES, "score", "predicted", "rain"]
    assert len(log) == 1095
    assert log["score"].between(0, 1).all()
    assert (log["predicted"] == (log["score"] >= 0.5)).all()
    assert np.isin(log["rain"], [0, 1]).all()


def test_a_folder_already_holding_data_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    mine = tmp_path / "data" / "mine.csv"
    mine.write_text("a,b\n1,2\n")
    with pytest.raises(FileExistsError, match="already holds data"):
        build_example(tmp_path, mlflow=False)
    assert mine.read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_without_mlflow_there_is_no_registry_and_no_mlflow_configuration(tmp_path: Path) -> None:
    files = build_example(tmp_path, mlflow=False)
    assert files.tracking_uri is None
    assert files.model_uri is None
    assert not (tmp_path / "mlflow").exists()
    assert [path.name for path in files.configs] == [
        "seattle_rain_file.yaml",
        "seattle_rain_predictions.yaml",
    ]
    assert load_config(files.configs[0]).model.source == "file"
