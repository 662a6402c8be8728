"""Models this project did not train: a saved file, an MLflow model, or scores already in the data.

``model.source`` says where the monitored model comes from (see ``ModelSettings``). For every
source but ``train`` the model is *registered* once as a model version (``registry.register_model``
writes the folder); this module holds what differs between the sources (the file and MLflow
specifics are in ``file_model`` and ``mlflow_model``; what a version records, in ``external``):

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

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from include.config import MonitoringConfig
from include.errors import ConfigurationError, DataValidationError, ModelIntegrityError
from include.model.file_model import (
    copy_model_file,
    file_format,
    file_sha256,
    skops_untrusted_types,
    unpickle,
)
from include.model.mlflow_model import load_mlflow, resolve_mlflow_model

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
        model = unpickle(path / details["copy"], details, version)
    elif source == "mlflow":
        model = load_mlflow(metadata["mlflow"], version)
    else:
        raise ModelIntegrityError(f"model version {version} has an unknown source {source!r}")
    require_predict_proba(model, f"model version {version}")
    return model


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
    model = unpickle(folder / details["copy"], details, "being registered")
    require_predict_proba(model, details["path"])
    details["sklearn_object"] = type(model).__module__.split(".")[0] == "sklearn"
    return model


def open_mlflow_model(details: dict[str, Any]) -> Any:
    """At registration: the resolved MLflow model, loaded as it will be at every evaluation."""
    model = load_mlflow(details, "being registered")
    require_predict_proba(model, details["model_uri"])
    return model


def require_predict_proba(model: Any, where: str) -> None:
    if not callable(getattr(model, "predict_proba", None)):
        raise ModelIntegrityError(
            f"{where} holds a {type(model).__module__}.{type(model).__name__}, which has no "
            "predict_proba: the monitored model must be a binary classifier that gives the "
            "probability of each class (a scikit-learn classifier or pipeline, or any object "
            "with predict_proba)"
        )
