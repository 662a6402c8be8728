"""The sections of a model's configuration, each validated on its own."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from include.config.sections import (
    AlertSettings,
    CostMatrix,
    DataSource,
    ModelSettings,
    StreamingSettings,
)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"source": "file"}, "model.source 'file' needs model.path"),
        ({"source": "mlflow"}, "model.source 'mlflow' needs model.uri"),
        ({"source": "predictions"}, "needs model.score_column"),
        ({"source": "train", "path": "m.pkl"}, "model.path is a setting of model.source 'file'"),
        ({"source": "mlflow", "uri": "churn/3"}, "is not an MLflow model URI"),
    ],
)
def test_a_model_source_needs_its_own_settings_and_no_others(settings, message) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelSettings(**settings)


def test_only_a_model_trained_elsewhere_has_a_fixed_threshold_default() -> None:
    assert ModelSettings().trained_here
    registered = ModelSettings(source="mlflow", uri="models:/churn@champion")
    assert not registered.trained_here
    assert registered.fixed_threshold == 0.5


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "give either path"),
        ({"path": "a.csv", "table": "rows"}, "give either path"),
        ({"table": "rows", "format": "csv"}, "format is for files"),
        ({"path": "a.parquet", "url": "postgresql://h/db"}, "url is for a table"),
    ],
)
def test_data_lives_in_one_place(settings, message) -> None:
    with pytest.raises(ValidationError, match=message):
        DataSource(**settings)


def test_a_files_format_comes_from_its_name_unless_given() -> None:
    assert DataSource(path="rows.CSV").file_format == "csv"
    assert DataSource(path="rows/").describe() == "parquet rows/"
    assert DataSource(table="rows").describe() == "PostgreSQL table rows"


def test_alert_recipients_must_be_addresses() -> None:
    assert AlertSettings(recipients=("ml@example.com",)).recipients == ("ml@example.com",)
    with pytest.raises(ValidationError, match="'ml team' is not an email address"):
        AlertSettings(recipients=("ml team",))


def test_streaming_limits_and_frozen_sections() -> None:
    with pytest.raises(ValidationError, match="chunk_rows"):
        StreamingSettings(chunk_rows=999)
    with pytest.raises(ValidationError, match="frozen"):
        CostMatrix().true_positive = 2.0
