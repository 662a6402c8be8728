"""A model in an MLflow registry: resolving its URI once, and loading it as a classifier.

An alias or ``latest`` is resolved at registration to a concrete version, which is what is
recorded and loaded at every evaluation: bundles carry the reference, not the model.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from include.errors import ConfigurationError, ModelIntegrityError

_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<ref>[^/]+))$")
_RUNS_URI = re.compile(r"^runs:/(?P<run_id>[^/]+)/(?P<path>.+)$")


def resolve_mlflow_model(uri: str, tracking_uri: str | None) -> dict[str, Any]:
    """The concrete MLflow model an URI names now: registered name, version and run id.

    ``models:/name@alias``, ``models:/name/latest`` and ``models:/name/<stage>`` are resolved to
    the version they point at, so the registered version never moves when the alias does.
    """
    mlflow = import_mlflow()
    details: dict[str, Any] = {
        "uri": uri,
        "tracking_uri": tracking_uri or os.environ.get("MLFLOW_TRACKING_URI"),
        "name": None,
        "version": None,
        "run_id": None,
    }
    where = details["tracking_uri"]
    client = mlflow.MlflowClient(tracking_uri=where, registry_uri=where)
    models = _MODELS_URI.match(uri)
    runs = _RUNS_URI.match(uri)
    try:
        if models:
            name, alias, ref = models["name"], models["alias"], models["ref"]
            if alias:
                found = client.get_model_version_by_alias(name, alias)
            elif ref.isdigit():
                found = client.get_model_version(name, ref)
            elif ref.lower() == "latest":
                versions = client.search_model_versions(f"name = '{name}'")
                if not versions:
                    raise ConfigurationError(f"MLflow model {name!r} has no version yet")
                found = max(versions, key=lambda v: int(v.version))
            else:
                latest = client.get_latest_versions(name, stages=[ref])
                if not latest:
                    raise ConfigurationError(f"MLflow model {name!r} has no version in stage {ref}")
                found = latest[0]
            details.update(name=found.name, version=str(found.version), run_id=found.run_id)
            details["model_uri"] = f"models:/{found.name}/{found.version}"
        elif runs:
            client.get_run(runs["run_id"])
            details.update(run_id=runs["run_id"], model_uri=uri)
        else:
            details["model_uri"] = uri
    except mlflow.exceptions.MlflowException as exc:
        raise ConfigurationError(
            f"MLflow cannot resolve model.uri {uri} at {details['tracking_uri'] or 'the default'} "
            f"tracking URI: {exc.message}; check the URI, the alias and model.tracking_uri"
        ) from None
    details["flavor"] = mlflow_flavor(details["model_uri"], details["tracking_uri"])
    return details


def mlflow_flavor(model_uri: str, tracking_uri: str | None) -> str:
    """``sklearn`` when the model has that flavor (it keeps predict_proba), else ``pyfunc``."""
    mlflow = import_mlflow()
    with mlflow_uris(tracking_uri):
        info = mlflow.models.get_model_info(model_uri)
    return "sklearn" if "sklearn" in (info.flavors or {}) else "pyfunc"


def load_mlflow(details: dict[str, Any], version: str) -> Any:
    mlflow = import_mlflow()
    try:
        with mlflow_uris(details["tracking_uri"]):
            if details["flavor"] == "sklearn":
                return mlflow.sklearn.load_model(details["model_uri"])
            return PyfuncScorer(mlflow.pyfunc.load_model(details["model_uri"]))
    except mlflow.exceptions.MlflowException as exc:
        raise ModelIntegrityError(
            f"model version {version}: MLflow cannot load {details['model_uri']} from "
            f"{details['tracking_uri'] or 'the default tracking URI'}: {exc.message}"
        ) from None


@contextlib.contextmanager
def mlflow_uris(tracking_uri: str | None) -> Iterator[None]:
    """Point MLflow's module-level tracking and registry URIs at ``tracking_uri`` for a moment."""
    mlflow = import_mlflow()
    if tracking_uri is None:
        yield
        return
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])


class PyfuncScorer:
    """An MLflow pyfunc model seen as a classifier: its ``predict`` output is taken as the
    positive-class score (one column, or the last of two), as pyfunc has no predict_proba."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        output = self.model.predict(features)
        values = np.asarray(output.to_numpy() if hasattr(output, "to_numpy") else output, float)
        if values.ndim == 2 and values.shape[1] in (1, 2):
            values = values[:, -1]
        if values.ndim != 1:
            raise ModelIntegrityError(
                f"the MLflow pyfunc model's predict returned shape {values.shape}: it must return "
                "the positive-class score (one value a row)"
            )
        return np.column_stack([1.0 - values, values])


def source_libraries(source: str) -> dict[str, str]:
    if source != "mlflow":
        return {}
    mlflow = import_mlflow()
    return {"mlflow": mlflow.__version__}


def import_mlflow() -> Any:
    """``mlflow`` with its sklearn and pyfunc flavors, imported quietly.

    Quietly for the reason given in ``file_model.import_skops``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import mlflow
        import mlflow.exceptions
        import mlflow.pyfunc
        import mlflow.sklearn
    return mlflow
