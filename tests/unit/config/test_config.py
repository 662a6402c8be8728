"""The monitoring configuration: the tutorial's, a user's own, and the errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.config import load_config, parse_config
from include.errors import ConfigurationError

OWN_MODEL = {
    "name": "churn",
    "store_name": "churn_mes",
    "dataset": "customers",
    "label": "churned",
    "positive_class": "yes",
    "date_column": "snapshot_date",
    "numeric_features": ["tenure_months", "monthly_charges"],
    "categorical_features": ["contract"],
    "reference_period": "2024-01",
    "batch_periods": ["2024-02", "2024-03"],
}


def test_the_tutorial_configuration_describes_the_fraud_model() -> None:
    config = load_config()
    assert config.label == "authorized_flag"
    assert config.store_name == "the_MES"
    assert str(config.reference) == "2017Q1"
    assert [str(p) for p in config.periods] == ["2017Q2", "2017Q3", "2017Q4"]
    assert {"card_age", "card_fico_score"} <= set(config.numeric_features)


def test_a_users_own_model_is_just_another_configuration(tmp_path: Path) -> None:
    path = tmp_path / "churn.yaml"
    path.write_text("\n".join(f"{key}: {value!r}" for key, value in OWN_MODEL.items()))
    config = load_config(path)
    assert config.features == ("tenure_months", "monthly_charges", "contract")
    assert config.reference.start.isoformat() == "2024-01-01"


def test_mes_config_points_at_the_configuration(tmp_path, monkeypatch) -> None:
    path = tmp_path / "churn.yaml"
    path.write_text("\n".join(f"{key}: {value!r}" for key, value in OWN_MODEL.items()))
    monkeypatch.setenv("MES_CONFIG", str(path))
    assert load_config().name == "churn"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"numeric_features": [], "categorical_features": []}, "no features"),
        ({"categorical_features": ["tenure_months"]}, "listed twice or under both types"),
        ({"label": "contract"}, "label 'contract' is also listed as a feature"),
        ({"reference_period": "2024Q5"}, "reference_period"),
        ({"batch_periods": ["Q2"]}, "batch_periods"),
        ({"sample_size": -1}, "sample_size"),
        ({"model": {"estimator": "xgboost"}}, "model.estimator"),
        ({"unknown_setting": 1}, "unknown_setting"),
        ({"labels": {"recheck_periods": -1}}, "labels.recheck_periods"),
        ({"labels": {"recheck_period": 2}}, "labels.recheck_period"),
        ({"streaming": {"partitions": 0}}, "streaming.partitions"),
        ({"streaming": {"chunk_rows": 10}}, "streaming.chunk_rows"),
        ({"streaming": {"memory_rows": "lots"}}, "streaming.memory_rows"),
        ({"streaming": {"partition": 4}}, "streaming.partition"),
    ],
)
def test_a_wrong_setting_is_named_in_the_error(change: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_config({**OWN_MODEL, **change}, source="churn.yaml")


def test_an_unreadable_configuration_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read configuration file"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigurationError, match="must hold a mapping"):
        load_config(bad)


def test_labels_are_not_rechecked_unless_asked() -> None:
    assert parse_config(OWN_MODEL).labels.recheck_periods == 0
    asked = parse_config({**OWN_MODEL, "labels": {"recheck_periods": 3}})
    assert asked.labels.recheck_periods == 3
