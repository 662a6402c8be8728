"""A real, local MLflow model registry for tests: SQLite backend and artifacts in one folder.

``make_mlflow_registry`` logs a fitted scikit-learn model, registers it under a name and points an
alias at the version, as a user's training pipeline would; it returns where it all is. A plain
function (no pytest), so unit and end-to-end tests share it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Tests send nothing anywhere: MLflow's usage telemetry stays off wherever this helper is used.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@dataclass(frozen=True)
class MlflowRegistry:
    """Where a test registry lives and what it holds."""

    tracking_uri: str
    model_name: str
    version: str
    run_id: str
    alias: str

    @property
    def version_uri(self) -> str:
        return f"models:/{self.model_name}/{self.version}"

    @property
    def alias_uri(self) -> str:
        return f"models:/{self.model_name}@{self.alias}"

    @property
    def run_uri(self) -> str:
        return f"runs:/{self.run_id}/model"


def make_mlflow_registry(
    folder: Path,
    model: Any,
    *,
    model_name: str = "monitored_classifier",
    alias: str = "champion",
    registry: MlflowRegistry | None = None,
) -> MlflowRegistry:
    """Log ``model`` (a fitted scikit-learn estimator) and register it as a new version.

    The registry is ``sqlite:///<folder>/mlflow.db`` with artifacts under ``<folder>/artifacts``;
    pass the ``registry`` of an earlier call to add another version to the same one. The alias
    is moved to the new version. MLflow's module-level tracking URI is restored afterwards.
    """
    import mlflow
    from mlflow import MlflowClient

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tracking_uri = registry.tracking_uri if registry else f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.get_experiment_by_name("monitoring-tests")
    experiment_id = (
        experiment.experiment_id
        if experiment
        else client.create_experiment(
            "monitoring-tests", artifact_location=(folder / "artifacts").as_uri()
        )
    )
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        with mlflow.start_run(experiment_id=experiment_id) as run:
            # Explicit requirements: inferring them would import-trace the model in a subprocess.
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=model_name,
                pip_requirements=["scikit-learn"],
            )
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    version = str(info.registered_model_version)
    client.set_registered_model_alias(model_name, alias, version)
    return MlflowRegistry(
        tracking_uri=tracking_uri,
        model_name=model_name,
        version=version,
        run_id=run.info.run_id,
        alias=alias,
    )
