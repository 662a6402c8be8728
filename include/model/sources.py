"""Models this project did not train: a saved file, an MLflow model, or scores already in the data.

``model.source`` says where the monitored model comes from (see ``ModelSettings``). For every
source but ``train`` the model is *registered* once as a model version (``registry.register_model``
writes the folder); this module holds what differs between the sources:

- ``identify_source``: the concrete thing being registered (a file's SHA-256, an MLflow model's
  resolved name, version and run id, the predictions' columns) and the version id it gives;
- ``load_source_model``: the model object of a registered version, its integrity checked first;
- ``model_scores`` / ``column_scores`` / ``column_classes``: the positive-class score of each row,
  validated, from a model object or from the batch's own columns;
- ``describe_reference``: the reference's metadata, including whether it is small.

A file model is copied into the version folder at registration (``model_file.<format>``) so that a
bundle carries it; its SHA-256 is recorded and checked, and while the configured file still exists
it must be the registered one. An MLflow model is loaded from its registry at the recorded
concrete version (an alias or ``latest`` is resolved once, at registration): bundles carry its
reference, not the model.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import re
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from include.config import ModelSettings, MonitoringConfig
from include.drift.univariate import build_reference_profile
from include.errors import ConfigurationError, DataValidationError, ModelIntegrityError
from include.evaluation.estimation import CALIBRATION_KEY, fit_calibration
from include.evaluation.metrics import binary_metrics
from include.model.features import (
    PREDICTION_COLUMN,
    PROBABILITY_COLUMN,
    binary_labels,
    feature_frame,
    predictions_frame,
)
from include.model.training import TrainedModel, library_versions
from include.quality.gate import derive_expectations

# A reference below this many rows is flagged as small. The drift statistics compare every batch
# with the reference: with fewer than ~1,000 rows the KS and chi-squared tests detect only large
# shifts (their power falls with the smaller side), ten-bin PSI rests on under 100 rows a bin, and
# the domain classifier has little to learn from; the drift benchmark (SPEC 7) shows the change
# between 100 and 1,000 rows a side.
SMALL_REFERENCE_ROWS = 1_000
SMALL_REFERENCE_NOTE = (
    "The reference holds only {rows} rows (fewer than {limit}): each batch is compared with few "
    "rows, so drift tests detect only large shifts and PSI and distance values are noisy; treat "
    "'no drift' with caution and register a larger reference when you can."
)
# The threshold of a model this project did not train, unless model.threshold says otherwise.
DEFAULT_THRESHOLD = 0.5
# Permutation importances of an external model: on at most this many reference rows.
IMPORTANCE_ROWS = 2_000
MODEL_COPY = "model_file"
FILE_FORMATS = ("joblib", "pickle", "skops")
_EXTENSIONS = {".joblib": "joblib", ".pkl": "pickle", ".pickle": "pickle", ".skops": "skops"}
_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<ref>[^/]+))$")
_RUNS_URI = re.compile(r"^runs:/(?P<run_id>[^/]+)/(?P<path>.+)$")


@dataclass(frozen=True)
class SourceIdentity:
    """What exactly is being registered, and the version id it gives."""

    version: str
    details: dict[str, Any] = field(default_factory=dict)


def identify_source(config: MonitoringConfig, reference: pd.DataFrame | None) -> SourceIdentity:
    """The version id and source details of the configured external model.

    The id comes from the content, so registering the same model twice gives the same version:
    ``file-<sha256 prefix>``, ``mlflow-<name>-v<version>`` (``mlflow-run-<run id prefix>`` for a
    ``runs:/`` URI), ``predictions-<hash of the reference's scores and the settings>`` (only this
    one reads ``reference``). A threshold
    other than 0.5 is part of the id (``-t0.3``): it changes every predicted class.
    """
    settings = config.model
    threshold = settings.fixed_threshold
    suffix = "" if threshold == DEFAULT_THRESHOLD else f"-t{threshold:g}"
    if settings.source == "file":
        path = Path(settings.path).expanduser().resolve()
        if not path.is_file():
            raise ConfigurationError(
                f"model.path {settings.path} is not a file: save the model there (joblib, pickle "
                "or skops) or fix the path"
            )
        digest = file_sha256(path)
        details = {"path": str(path), "format": file_format(settings), "sha256": digest}
        return SourceIdentity(f"file-{digest[:12]}{suffix}", details)
    if settings.source == "mlflow":
        details = resolve_mlflow_model(settings.uri, settings.tracking_uri)
        if details["name"] is not None:
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", details["name"])
            version = f"mlflow-{name}-v{details['version']}"
        elif details["run_id"] is not None:
            version = f"mlflow-run-{details['run_id'][:12]}"
        else:
            version = f"mlflow-{hashlib.sha256(settings.uri.encode()).hexdigest()[:12]}"
        return SourceIdentity(version + suffix, details)
    if settings.source == "predictions":
        digest = hashlib.sha256()
        digest.update(repr((settings.score_column, settings.prediction_column)).encode())
        digest.update(column_scores(reference, settings.score_column).tobytes())
        if settings.prediction_column:
            digest.update(column_classes(reference, settings.prediction_column, config).tobytes())
        details = {
            "score_column": settings.score_column,
            "prediction_column": settings.prediction_column,
        }
        return SourceIdentity(f"predictions-{digest.hexdigest()[:12]}{suffix}", details)
    raise ConfigurationError(
        f"model.source {settings.source!r} is trained by this project, not registered: "
        "run train instead"
    )


def file_format(settings: ModelSettings) -> str:
    """``model.format``, else told by the file's extension (joblib, pkl/pickle, skops)."""
    if settings.format:
        return settings.format
    found = _EXTENSIONS.get(Path(settings.path).suffix.lower())
    if found is None:
        raise ConfigurationError(
            f"cannot tell how {settings.path} was saved from its extension: set model.format "
            f"to one of {', '.join(FILE_FORMATS)}"
        )
    return found


def copy_model_file(details: dict[str, Any], folder: Path) -> str:
    """Copy the registered file into a version folder; return its name there.

    Refuses a file that changed between its fingerprint and the copy.
    """
    name = f"{MODEL_COPY}.{details['format']}"
    shutil.copyfile(details["path"], folder / name)
    if file_sha256(folder / name) != details["sha256"]:
        raise ModelIntegrityError(
            f"model file {details['path']} changed while it was being registered; register again"
        )
    return name


def load_source_model(metadata: dict[str, Any], path: Path, config: MonitoringConfig) -> Any:
    """The model object of a registered version (None for ``predictions``).

    The version folder's checksums must have been verified already. For ``file``, the configured
    file, while it exists, must still be the registered one: a changed model needs a new version.
    """
    source, version = metadata["source"], metadata["version"]
    if source == "predictions":
        return None
    if source == "file":
        details = metadata["file"]
        # Where the configured file exists it must be the registered one; where it does not (a
        # bundle deployed on another machine), the verified copy is the model.
        configured = Path(config.model.path).expanduser().resolve()
        if configured.is_file() and file_sha256(configured) != details["sha256"]:
            what = (
                f"model file {configured} changed since version {version} was registered"
                if str(configured) == details["path"]
                else f"model.path {configured} is not the file version {version} was registered "
                f"from ({details['path']})"
            )
            raise ModelIntegrityError(
                f"{what} (SHA-256 {details['sha256'][:12]}…): refusing to load it. Register it "
                "(python -m include.cli register) to monitor that model as a new version"
            )
        model = _unpickle(path / details["copy"], details, version)
    elif source == "mlflow":
        model = _load_mlflow(metadata["mlflow"], version)
    else:
        raise ModelIntegrityError(f"model version {version} has an unknown source {source!r}")
    _require_predict_proba(model, f"model version {version}")
    return model


def load_file_model(path: Path, file_format: str, trusted: list[str] | None = None) -> Any:
    """Unpickle a model file; only ever called on a file whose SHA-256 was just checked."""
    if file_format == "skops":
        try:
            sio = _import_skops()
        except ImportError:
            raise ModelIntegrityError(
                f"{path} was saved with skops, which is not installed: pip install skops"
            ) from None
        # Only the types recorded when the user registered the file are trusted.
        return sio.load(path, trusted=trusted)
    if file_format == "joblib":
        import joblib

        return joblib.load(path)
    with path.open("rb") as handle:
        return pickle.load(handle)


def _unpickle(path: Path, details: dict[str, Any], version: str) -> Any:
    try:
        return load_file_model(path, details["format"], details.get("skops_trusted_types"))
    except ModelIntegrityError:
        raise
    except Exception as exc:  # unpickling runs the file's own code: any error may come back
        raise ModelIntegrityError(
            f"model version {version}: {details['path']} cannot be loaded as {details['format']} "
            f"({type(exc).__name__}: {exc}); check model.format and the installed libraries"
        ) from None


def skops_untrusted_types(path: Path) -> list[str]:
    """Types a skops file needs trusted; recorded at registration, the user's act of trust."""
    return sorted(_import_skops().get_untrusted_types(file=path))


def model_scores(model: Any, features: pd.DataFrame, positive_index: int = 1) -> np.ndarray:
    """The positive-class probability of each row from ``model.predict_proba``, validated."""
    proba = np.asarray(model.predict_proba(features))
    if proba.ndim != 2 or proba.shape[1] != 2 or proba.shape[0] != len(features):
        raise ModelIntegrityError(
            f"the model's predict_proba returned shape {proba.shape} for {len(features)} rows; a "
            "binary classifier returns one row per input and two columns"
        )
    scores = proba[:, positive_index].astype("float64")
    bad = ~np.isfinite(scores) | (scores < 0.0) | (scores > 1.0)
    if bad.any():
        raise ModelIntegrityError(
            f"the model gave {int(bad.sum())} score(s) that are not probabilities in [0, 1] "
            f"(e.g. {scores[bad][0]!r})"
        )
    return scores


def positive_index(model: Any, config: MonitoringConfig) -> int:
    """Which predict_proba column is the positive class: from ``classes_`` when the model has it.

    A model trained on the raw label (``["fraud", "legit"]``) may hold the positive class first.
    """
    classes = getattr(model, "classes_", None)
    if classes is None:
        return 1
    classes = list(np.asarray(classes).tolist())
    positive = config.positive_class
    for index, value in enumerate(classes):
        if value == positive or str(value) == str(positive):
            return index
    if classes in ([0, 1], [False, True]):
        return 1
    raise ModelIntegrityError(
        f"the model's classes are {classes}, and none is the positive class {positive!r} of "
        f"label {config.label!r}: set positive_class to one of them"
    )


def column_scores(batch: pd.DataFrame, column: str) -> np.ndarray:
    """The scores a batch carries in ``column``: numbers in [0, 1], none missing."""
    if column not in batch.columns:
        raise DataValidationError(
            f"the rows lack the score column {column!r} (model.score_column): the predictions "
            "source needs the model's positive-class score on every row"
        )
    values = batch[column]
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce")
        text = values[numbers.isna() & values.notna()]
        if len(text) or pd.api.types.is_bool_dtype(values):
            example = text.iloc[0] if len(text) else values.iloc[0]
            raise DataValidationError(
                f"score column {column!r} holds values that are not numbers (e.g. {example!r}): "
                "it must hold the probability of the positive class, from 0 to 1"
            )
        values = numbers
    scores = values.to_numpy(dtype="float64", na_value=np.nan)
    missing = int(np.isnan(scores).sum())
    if missing:
        raise DataValidationError(
            f"score column {column!r} is missing on {missing} of {len(scores)} row(s): every row "
            "needs the model's score; drop or fill those rows"
        )
    outside = (scores < 0.0) | (scores > 1.0) | ~np.isfinite(scores)
    if outside.any():
        raise DataValidationError(
            f"score column {column!r} holds {int(outside.sum())} value(s) outside [0, 1] (e.g. "
            f"{scores[outside][0]:g}): it must be the probability of the positive class; "
            "rescale it (a log-odds or a percentage is not one)"
        )
    return scores


def column_classes(batch: pd.DataFrame, column: str, config: MonitoringConfig) -> np.ndarray:
    """The predicted classes a batch carries in ``column``, as 0/1 (1 = the positive class).

    Accepts 0/1, booleans, or the label's own values (compared with ``positive_class``).
    """
    if column not in batch.columns:
        raise DataValidationError(
            f"the rows lack the predicted-class column {column!r} (model.prediction_column)"
        )
    values = batch[column]
    if values.isna().any():
        raise DataValidationError(
            f"predicted-class column {column!r} is missing on {int(values.isna().sum())} row(s)"
        )
    distinct = set(pd.unique(values).tolist())
    if pd.api.types.is_bool_dtype(values) or distinct <= {0, 1}:
        return values.astype("int8").to_numpy()
    positive = str(config.positive_class)
    has_positive = any(str(value) == positive for value in distinct)
    if len(distinct) > 2 or (len(distinct) == 2 and not has_positive):
        raise DataValidationError(
            f"predicted-class column {column!r} is not binary with positive class "
            f"{config.positive_class!r}: found {sorted(map(str, distinct))[:5]}; use 0/1 or the "
            "label's values"
        )
    return (values.astype(str) == positive).astype("int8").to_numpy()


def describe_reference(
    reference: pd.DataFrame, config: MonitoringConfig, description: str
) -> dict[str, Any]:
    """What the reference is, how many rows, and whether it is small (with what that means)."""
    rows = len(reference)
    small = rows < SMALL_REFERENCE_ROWS
    described: dict[str, Any] = {
        "description": description,
        "rows": rows,
        "small": small,
        "note": SMALL_REFERENCE_NOTE.format(rows=f"{rows:,}", limit=f"{SMALL_REFERENCE_ROWS:,}")
        if small
        else None,
        "labelled": config.label in reference.columns,
    }
    if config.reference_dataset is not None:
        described["dataset"] = config.reference_dataset.describe()
    else:
        period = config.reference
        described["period"] = {
            "name": period.name,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        }
    return described


def resolve_mlflow_model(uri: str, tracking_uri: str | None) -> dict[str, Any]:
    """The concrete MLflow model an URI names now: registered name, version and run id.

    ``models:/name@alias``, ``models:/name/latest`` and ``models:/name/<stage>`` are resolved to
    the version they point at, so the registered version never moves when the alias does.
    """
    mlflow = _import_mlflow()
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
    details["flavor"] = _mlflow_flavor(details["model_uri"], details["tracking_uri"])
    return details


def _mlflow_flavor(model_uri: str, tracking_uri: str | None) -> str:
    """``sklearn`` when the model has that flavor (it keeps predict_proba), else ``pyfunc``."""
    mlflow = _import_mlflow()
    with _mlflow_uris(tracking_uri):
        info = mlflow.models.get_model_info(model_uri)
    return "sklearn" if "sklearn" in (info.flavors or {}) else "pyfunc"


def _load_mlflow(details: dict[str, Any], version: str) -> Any:
    mlflow = _import_mlflow()
    try:
        with _mlflow_uris(details["tracking_uri"]):
            if details["flavor"] == "sklearn":
                return mlflow.sklearn.load_model(details["model_uri"])
            return PyfuncScorer(mlflow.pyfunc.load_model(details["model_uri"]))
    except mlflow.exceptions.MlflowException as exc:
        raise ModelIntegrityError(
            f"model version {version}: MLflow cannot load {details['model_uri']} from "
            f"{details['tracking_uri'] or 'the default tracking URI'}: {exc.message}"
        ) from None


@contextlib.contextmanager
def _mlflow_uris(tracking_uri: str | None) -> Iterator[None]:
    """Point MLflow's module-level tracking and registry URIs at ``tracking_uri`` for a moment."""
    mlflow = _import_mlflow()
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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def open_file_model(details: dict[str, Any], folder: Path, config: MonitoringConfig) -> Any:
    """At registration: copy the file into the version folder being written and load the copy.

    Loading the copy (whose SHA-256 was just checked) rather than the original means the model
    that is scored is the model that is recorded, even if the original changes meanwhile. Adds
    ``copy``, ``sklearn_object`` and, for skops, ``skops_trusted_types`` to ``details``.
    """
    details["copy"] = copy_model_file(details, folder)
    if details["format"] == "skops":
        try:
            details["skops_trusted_types"] = skops_untrusted_types(folder / details["copy"])
        except ImportError:
            raise ModelIntegrityError(
                f"{details['path']} was saved with skops, which is not installed: pip install skops"
            ) from None
    model = _unpickle(folder / details["copy"], details, "being registered")
    _require_predict_proba(model, details["path"])
    details["sklearn_object"] = type(model).__module__.split(".")[0] == "sklearn"
    return model


def open_mlflow_model(details: dict[str, Any]) -> Any:
    """At registration: the resolved MLflow model, loaded as it will be at every evaluation."""
    model = _load_mlflow(details, "being registered")
    _require_predict_proba(model, details["model_uri"])
    return model


def _require_predict_proba(model: Any, where: str) -> None:
    if not callable(getattr(model, "predict_proba", None)):
        raise ModelIntegrityError(
            f"{where} holds a {type(model).__module__}.{type(model).__name__}, which has no "
            "predict_proba: the monitored model must be a binary classifier that gives the "
            "probability of each class (a scikit-learn classifier or pipeline, or any object "
            "with predict_proba)"
        )


def external_version(
    config: MonitoringConfig,
    reference: pd.DataFrame,
    identity: SourceIdentity,
    model: Any,
    reference_description: str,
) -> TrainedModel:
    """Everything a registered version records, computed once on the reference rows.

    The reference is scored (by the model, or read from the score column), then profiled for
    drift and quality exactly as a trained model's test split is. ``test_metrics`` are the
    metrics on the reference when it is labelled: the model's performance where it is known to
    be good, which later batches are compared with.
    """
    settings = config.model
    if config.label not in reference.columns:
        raise DataValidationError(
            f"the reference rows ({reference_description}) lack the label {config.label!r}: "
            "the reference must be labelled (its label classes and performance are what batches "
            "are checked against)"
        )
    threshold = settings.fixed_threshold
    index = 1
    if model is None:
        scores = column_scores(reference, settings.score_column)
        if settings.prediction_column:
            column_classes(reference, settings.prediction_column, config)  # validated up front
    else:
        index = positive_index(model, config)
        scores = model_scores(model, feature_frame(reference, config), index)
    labels = binary_labels(reference, config)
    metrics = binary_metrics(
        labels.to_numpy(), scores, threshold=threshold, cost_matrix=config.cost_matrix
    )
    importances, method = _importances(model, reference, labels, index, config)
    described = describe_reference(reference, config, reference_description)
    period = described.get("period") or {"name": "reference", "start": None, "end": None}
    metadata: dict[str, Any] = {
        "version": identity.version,
        "source": settings.source,
        settings.source: identity.details,
        "model_name": config.name,
        "features": [{"name": f, "type": "numeric"} for f in config.numeric_features]
        + [{"name": f, "type": "categorical"} for f in config.categorical_features],
        "label": config.label,
        "positive_class": config.positive_class,
        "positive_index": index,
        "date_column": config.date_column,
        "threshold": float(threshold),
        "reference": described,
        # What the drift analysis names as the reference's period; for a registered model it is
        # the reference period (or "reference" for a reference dataset), not a training period.
        "training_period": period,
        "test_metrics": metrics.as_dict(),
        CALIBRATION_KEY: fit_calibration(
            scores,
            labels.to_numpy(),
            times=reference[config.date_column].reset_index(drop=True)
            if config.date_column in reference.columns
            else None,
            threshold=threshold,
        ).to_dict(),
        "feature_importances": importances,
        "feature_importances_method": method,
        "library_versions": {**library_versions(), **_source_libraries(settings.source)},
        "quality_expectations": derive_expectations(reference, config).to_dict(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return TrainedModel(
        pipeline=model,
        metadata=metadata,
        reference=reference.reset_index(drop=True),
        feature_profile=build_reference_profile(
            reference, numeric=config.numeric_features, categorical=config.categorical_features
        ),
        prediction_profile=build_reference_profile(
            predictions_frame(scores, threshold),
            numeric=[PROBABILITY_COLUMN],
            categorical=[PREDICTION_COLUMN],
        ),
    )


def _importances(
    model: Any,
    reference: pd.DataFrame,
    labels: pd.Series,
    index: int,
    config: MonitoringConfig,
) -> tuple[dict[str, float], str]:
    """Feature importances summing to 1, and how they were found.

    ``model``: the model's own ``feature_importances_`` when they are per configured feature;
    ``permutation``: drop in ROC AUC on at most IMPORTANCE_ROWS reference rows; ``none``: no
    model to permute (predictions) or a single class in the reference, all zeros.
    """
    features = list(config.features)
    zeros = {feature: 0.0 for feature in features}
    if model is None:
        return zeros, "none: the predictions source has no model to measure importances on"
    own = getattr(model, "feature_importances_", None)
    names = getattr(model, "feature_names_in_", None)
    if own is not None and names is not None and list(names) == features:
        shares = np.clip(np.asarray(own, dtype="float64"), 0.0, None)
        total = shares.sum()
        return {f: float(v) for f, v in zip(features, shares / (total or 1.0), strict=True)}, (
            "model"
        )
    rows = min(len(reference), IMPORTANCE_ROWS)
    sample_x = feature_frame(reference.iloc[:rows], config)
    sample_y = labels.iloc[:rows]
    if sample_y.nunique() < 2:
        return zeros, "none: the reference rows hold a single class"

    drops = np.clip(_auc_drops(model, sample_x, sample_y, index, config.model.seed), 0.0, None)
    total = drops.sum()
    shares = drops / total if total > 0 else drops
    return {f: float(v) for f, v in zip(features, shares, strict=True)}, "permutation"


def _auc_drops(
    model: Any, x: pd.DataFrame, y: pd.Series, index: int, seed: int, repeats: int = 3
) -> np.ndarray:
    """Mean drop in ROC AUC when each feature's values are shuffled (permutation importance).

    Written out rather than scikit-learn's ``permutation_importance``, which insists on an
    estimator with ``fit``: an external model only has to score.
    """
    rng = np.random.default_rng(seed)
    baseline = roc_auc_score(y, model_scores(model, x, index))
    drops = np.zeros(x.shape[1])
    for position, column in enumerate(x.columns):
        for _ in range(repeats):
            shuffled = x.copy()
            shuffled[column] = x[column].to_numpy()[rng.permutation(len(x))]
            drops[position] += baseline - roc_auc_score(y, model_scores(model, shuffled, index))
    return drops / repeats


def _source_libraries(source: str) -> dict[str, str]:
    if source != "mlflow":
        return {}
    mlflow = _import_mlflow()
    return {"mlflow": mlflow.__version__}


def _import_mlflow() -> Any:
    """``mlflow`` with its sklearn and pyfunc flavors, imported quietly (see ``_import_skops``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import mlflow
        import mlflow.exceptions
        import mlflow.pyfunc
        import mlflow.sklearn
    return mlflow


def _import_skops() -> Any:
    """``skops.io``, imported quietly: on import it reads every attribute of loaded modules, and
    under Airflow each deprecated lazy attribute warns, a thousand lines in a task's log."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import skops.io

    return skops.io
