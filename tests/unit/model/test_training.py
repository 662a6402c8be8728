"""Training on the reference period: the model, its reference split and its metadata."""

from __future__ import annotations

import pandas as pd
import pytest

from include.config import parse_config
from include.errors import DataValidationError, EmptyBatchError
from include.model.training import train_model


def test_the_model_is_trained_on_q1_and_keeps_its_test_split_as_reference(
    trained_model, prepared_data, tutorial_config
) -> None:
    metadata = trained_model.metadata
    q1 = prepared_data[prepared_data["purchase_date"] < "2017-04-01"]
    assert metadata["train_rows"] + metadata["test_rows"] == len(q1)
    assert len(trained_model.reference) == metadata["test_rows"]
    assert trained_model.reference["purchase_date"].lt("2017-04-01").all()
    # the reference rows are rows the model did not train on: a real held-out split
    assert trained_model.reference["transaction_id"].is_unique
    assert metadata["test_metrics"]["auc"] > 0.75
    assert 0.0 < metadata["threshold"] < 1.0


def test_the_metadata_describes_the_model(trained_model, tutorial_config) -> None:
    metadata = trained_model.metadata
    assert metadata["model_name"] == "fraud_authorization"
    assert metadata["version"].startswith("2017Q1-")
    assert [f["name"] for f in metadata["features"]] == list(tutorial_config.features)
    assert {f["type"] for f in metadata["features"]} == {"numeric", "categorical"}
    assert metadata["label"] == "authorized_flag"
    assert metadata["training_period"] == {
        "name": "2017Q1",
        "start": "2017-01-01",
        "end": "2017-04-01",
    }
    importances = metadata["feature_importances"]
    assert set(importances) == set(tutorial_config.features)
    assert sum(importances.values()) == pytest.approx(1.0)
    assert {"scikit-learn", "pandas", "numpy", "python"} <= set(metadata["library_versions"])
    assert metadata["quality_expectations"]["label"] == "authorized_flag"


def test_the_same_data_gives_the_same_model_version(
    trained_model, prepared_data, tutorial_config
) -> None:
    again = train_model(prepared_data, tutorial_config)
    assert again.metadata["version"] == trained_model.metadata["version"]


def test_a_reference_period_without_rows_is_a_clear_error(prepared_data, tutorial_config) -> None:
    config = tutorial_config.model_copy(update={"reference_period": "2016Q1"})
    with pytest.raises(EmptyBatchError, match="no rows in the reference period 2016Q1"):
        train_model(prepared_data, config)


def test_a_single_class_reference_cannot_train_a_classifier(prepared_data, tutorial_config) -> None:
    one_class = prepared_data.assign(authorized_flag=1)
    with pytest.raises(DataValidationError, match="single class"):
        train_model(one_class, tutorial_config)


@pytest.mark.parametrize("estimator", ["random_forest", "logistic_regression"])
def test_other_estimators_train_too(prepared_data, tutorial_config, estimator) -> None:
    raw = tutorial_config.model_dump()
    raw["model"]["estimator"] = estimator
    trained = train_model(prepared_data, parse_config(raw))
    assert trained.metadata["estimator"] == estimator
    assert trained.metadata["test_metrics"]["auc"] > 0.7


def test_text_in_a_numeric_feature_is_refused(prepared_data, tutorial_config) -> None:
    broken = prepared_data.assign(card_age=prepared_data["card_age"].astype(str))
    with pytest.raises(DataValidationError, match=r"card_age \(str\)"):
        train_model(broken, tutorial_config)


def test_labels_may_be_text_with_a_text_positive_class(prepared_data, tutorial_config) -> None:
    raw = tutorial_config.model_dump()
    raw["positive_class"] = "authorized"
    text_labels = prepared_data.assign(
        authorized_flag=prepared_data["authorized_flag"].map({1: "authorized", 0: "declined"})
    )
    trained = train_model(text_labels, parse_config(raw))
    assert trained.metadata["test_metrics"]["auc"] > 0.75
    assert isinstance(trained.reference, pd.DataFrame)
