"""The DAGs generated from a folder of model configurations (``MES_CONFIG_DIR``).

Each file is parsed as the DAG processor parses it (``runpy``, in this process), with the
configuration folder a test made: two models of users, and sometimes a broken file.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import yaml

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


def user_model(name: str, **settings) -> dict:
    return {
        "name": name,
        "store_name": f"{name}_store",
        "label": "rain",
        "date_column": "date",
        "numeric_features": ["temp_max", "temp_min", "wind"],
        "categorical_features": ["season"],
        "reference_period": "2012Q1",
        "data": {"path": "weather.csv"},
        "model": {"source": "predictions", "score_column": "score"},
        **settings,
    }


@pytest.fixture
def config_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("MES_CONFIG_DIR", str(folder))
    monkeypatch.delenv("MES_CONFIG", raising=False)
    return folder


def write(folder: Path, name: str, content: dict | str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def dags_of(filename: str) -> dict:
    from airflow.sdk import DAG

    namespace = runpy.run_path(str(DAGS_FOLDER / filename))
    return {v.dag_id: v for v in namespace.values() if isinstance(v, DAG)}


def test_each_model_gets_its_monitor_and_recursive_dag(airflow_db, config_dir) -> None:
    write(config_dir, "rain", user_model("rain", cadence="month"))
    write(
        config_dir,
        "churn",
        user_model(
            "churn",
            schedule="30 7 * * 1",
            alerts={"recipients": ["churn-team@example.com"]},
            checks=[{"name": "auc floor", "metric": "auc", "soft_min": 0.7, "hard_min": 0.6}],
        ),
    )
    dags = dags_of("model_monitors.py")
    assert sorted(dags) == [
        "churn__data_drift_monitor",
        "churn__recursive_mes",
        "rain__data_drift_monitor",
        "rain__recursive_mes",
    ]
    rain = dags["rain__data_drift_monitor"]
    assert rain.timetable.expression == "0 6 1 * *"  # the monthly cadence's default
    assert rain.params.dump() == {"period": "latest"}
    assert "model:rain" in rain.tags
    assert dags["churn__data_drift_monitor"].timetable.expression == "30 7 * * 1"
    check = dags["churn__data_drift_monitor"].get_task("mes_warn")
    assert check.store_name == "churn_store"
    assert check.checks == [
        {"name": "auc floor", "metric": "auc", "soft_min": 0.7, "hard_min": 0.6}
    ]
    assert "build_mes" in check.evaluation_id
    for dag_id, dag in dags.items():
        assert (dag.doc_md or "").startswith(f"### {dag_id}: ")
        for task in dag.tasks:
            assert task.owner == "mlops"
            assert task.retries >= 1
            assert task.on_failure_callback
    alert = dags["churn__recursive_mes"].get_task("prepare").on_failure_callback[0]
    assert alert.recipients == ("churn-team@example.com",)
    assert dags["rain__recursive_mes"].params.dump() == {"periods": ["latest"]}


def test_a_broken_file_is_an_import_error_of_its_own_and_the_others_still_load(
    airflow_db, config_dir
) -> None:
    from include.errors import ConfigurationError

    write(config_dir, "rain", user_model("rain"))
    write(
        config_dir,
        "typo",
        user_model("typo", checks=[{"name": "drift", "metric": "data_drfit", "soft_max": 0.4}]),
    )
    write(config_dir, "garbled", "name: [unclosed")

    assert sorted(dags_of("model_monitors.py")) == [
        "rain__data_drift_monitor",
        "rain__recursive_mes",
    ]
    with pytest.raises(ConfigurationError) as raised:
        dags_of("model_config_errors.py")
    message = str(raised.value)
    assert "2 model configuration file(s) cannot be read" in message
    assert "typo.yaml" in message
    assert "'data_drfit'" in message
    assert "garbled.yaml" in message
    assert "not valid YAML" in message
    assert "rain.yaml" not in message


def test_without_a_broken_file_the_error_file_imports_and_defines_nothing(
    airflow_db, config_dir
) -> None:
    write(config_dir, "rain", user_model("rain"))
    assert dags_of("model_config_errors.py") == {}


def test_two_files_for_one_model_name_refuse_the_second(airflow_db, config_dir) -> None:
    from include.errors import ConfigurationError

    write(config_dir, "a_rain", user_model("rain"))
    write(config_dir, "b_rain", user_model("rain", store_name="other"))
    assert sorted(dags_of("model_monitors.py")) == [
        "rain__data_drift_monitor",
        "rain__recursive_mes",
    ]
    with pytest.raises(ConfigurationError, match=r"b_rain\.yaml: model name 'rain' is already"):
        dags_of("model_config_errors.py")


def test_the_tutorial_in_the_folder_keeps_its_own_dag_ids(airflow_db, config_dir) -> None:
    tutorial = DAGS_FOLDER.parent / "include" / "tutorial" / "fraud_tutorial.yaml"
    (config_dir / "fraud_tutorial.yaml").write_text(tutorial.read_text())
    write(config_dir, "rain", user_model("rain"))
    assert sorted(dags_of("model_monitors.py")) == [
        "rain__data_drift_monitor",
        "rain__recursive_mes",
    ]
    assert list(dags_of("data_drift_monitor.py")) == ["data_drift_monitor"]
