"""A model from a real (local, SQLite) MLflow registry: resolved once, loaded at that version."""

from __future__ import annotations

import numpy as np
import pytest

from include.errors import ConfigurationError
from include.evaluation.evaluate import predict_proba
from include.model.registry import load_model, register_model
from tests.support.mlflow_registry import MlflowRegistry, make_mlflow_registry
from tests.unit.model.conftest import external_config, fit_outside, make_rows

FEATURE_COLUMNS = ["amount", "age", "channel"]


@pytest.fixture(scope="module")
def mlflow_registry(tmp_path_factory, outside_model) -> MlflowRegistry:
    """Two versions of a model: v1 (the outside model) and v2, which the alias then names."""
    folder = tmp_path_factory.mktemp("mlflow")
    first = make_mlflow_registry(folder, outside_model, model_name="churn_model")
    second = make_mlflow_registry(
        folder,
        fit_outside(make_rows(800, seed=21)),
        model_name="churn_model",
        registry=first,
    )
    assert (first.version, second.version) == ("1", "2")
    return first


def _config(uri: str, registry: MlflowRegistry):
    return external_config({"source": "mlflow", "uri": uri, "tracking_uri": registry.tracking_uri})


def test_a_numbered_version_is_registered_with_its_run_and_scores_like_the_original(
    mlflow_registry, outside_model, reference_rows, tmp_path
) -> None:
    config = _config("models:/churn_model/1", mlflow_registry)
    model = register_model(config, reference_rows, root=tmp_path, reference_description="Q1")
    assert model.version == "mlflow-churn_model-v1"
    recorded = model.metadata["mlflow"]
    assert recorded["uri"] == "models:/churn_model/1"
    assert (recorded["name"], recorded["version"]) == ("churn_model", "1")
    assert recorded["run_id"] == mlflow_registry.run_id
    assert recorded["flavor"] == "sklearn"
    assert "mlflow" in model.metadata["library_versions"]

    batch = make_rows(200, start="2017-04-01", seed=6)
    loaded = load_model(config, root=tmp_path)
    np.testing.assert_allclose(
        predict_proba(loaded, batch, config),
        outside_model.predict_proba(batch[FEATURE_COLUMNS])[:, 1],
    )


def test_an_alias_is_resolved_to_the_version_it_names_at_registration(
    mlflow_registry, reference_rows, tmp_path
) -> None:
    from mlflow import MlflowClient

    config = _config("models:/churn_model@champion", mlflow_registry)
    model = register_model(config, reference_rows, root=tmp_path, reference_description="Q1")
    recorded = model.metadata["mlflow"]
    assert model.version == "mlflow-churn_model-v2"
    assert recorded["uri"] == "models:/churn_model@champion"
    assert recorded["version"] == "2"
    where = mlflow_registry.tracking_uri
    client = MlflowClient(tracking_uri=where, registry_uri=where)
    assert recorded["run_id"] == client.get_model_version("churn_model", "2").run_id
    assert recorded["run_id"] != mlflow_registry.run_id

    # Moving the alias later does not move the registered version.
    client.set_registered_model_alias("churn_model", "champion", "1")
    try:
        assert load_model(config, root=tmp_path).metadata["mlflow"]["version"] == "2"
        again = register_model(config, reference_rows, root=tmp_path, reference_description="Q1")
        assert again.version == "mlflow-churn_model-v1"
    finally:
        client.set_registered_model_alias("churn_model", "champion", "2")


def test_latest_is_resolved_to_the_newest_version(
    mlflow_registry, reference_rows, tmp_path
) -> None:
    config = _config("models:/churn_model/latest", mlflow_registry)
    model = register_model(config, reference_rows, root=tmp_path, reference_description="Q1")
    assert model.metadata["mlflow"]["version"] == "2"


def test_an_unknown_alias_is_refused_with_where_it_was_looked_up(
    mlflow_registry, reference_rows, tmp_path
) -> None:
    config = _config("models:/churn_model@nobody", mlflow_registry)
    with pytest.raises(ConfigurationError, match=r"MLflow cannot resolve model\.uri"):
        register_model(config, reference_rows, root=tmp_path, reference_description="Q1")


def test_a_run_uri_is_loaded_from_its_run(mlflow_registry, reference_rows, tmp_path) -> None:
    config = _config(mlflow_registry.run_uri, mlflow_registry)
    model = register_model(config, reference_rows, root=tmp_path, reference_description="Q1")
    assert model.version == f"mlflow-run-{mlflow_registry.run_id[:12]}"
    assert model.metadata["mlflow"]["run_id"] == mlflow_registry.run_id
    assert model.metadata["mlflow"]["name"] is None


def test_a_pyfunc_model_is_scored_by_its_predict_output(
    mlflow_registry, outside_model, reference_rows, tmp_path
) -> None:
    """A model with no sklearn flavor: its predict output is the positive-class score."""
    import mlflow
    from mlflow import MlflowClient

    class Scorer(mlflow.pyfunc.PythonModel):
        def __init__(self, fitted):
            self.fitted = fitted

        def predict(self, context, model_input, params=None):
            return self.fitted.predict_proba(model_input)[:, 1]

    where = mlflow_registry.tracking_uri
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(where)
    mlflow.set_registry_uri(where)
    try:
        experiment = MlflowClient(where).get_experiment_by_name("monitoring-tests")
        with mlflow.start_run(experiment_id=experiment.experiment_id):
            info = mlflow.pyfunc.log_model(
                name="scorer",
                python_model=Scorer(outside_model),
                registered_model_name="churn_pyfunc",
                pip_requirements=["scikit-learn"],
            )
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    config = _config(f"models:/churn_pyfunc/{info.registered_model_version}", mlflow_registry)
    model = register_model(config, reference_rows, root=tmp_path, reference_description="Q1")
    assert model.metadata["mlflow"]["flavor"] == "pyfunc"
    batch = make_rows(100, start="2017-04-01", seed=6)
    np.testing.assert_allclose(
        predict_proba(load_model(config, root=tmp_path), batch, config),
        outside_model.predict_proba(batch[FEATURE_COLUMNS])[:, 1],
    )
