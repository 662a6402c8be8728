"""Saved model versions: the model, its reference data and metadata, with checksums.

A version is either trained here (``save_model``, model source ``train``) or an external model
registered once (``register_model``, sources ``file``, ``mlflow``, ``predictions``; see
``include.model.sources``). Layout: ``<root>/<model name>/<version>/`` holding the model
(``model.pkl`` for a trained model, ``model_file.<format>`` for a file model; none for MLflow,
loaded from its registry, nor for predictions), ``reference.parquet``, the
reference profiles of the features and of the predictions (``feature_profile/``,
``prediction_profile/``, computed once per version for drift analysis) and ``metadata.json``,
which records the SHA-256 of every other file. A version is written
to a temporary folder and renamed into place, so a half-written version never exists. Loading
checks every checksum *before* unpickling anything, then checks the metadata against the
configuration and the installed scikit-learn, and refuses a model that does not match.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sklearn

from include.config import MonitoringConfig
from include.drift.univariate import ReferenceProfile
from include.errors import ConfigurationError, ModelIntegrityError
from include.model import external, sources
from include.model.training import TrainedModel
from include.settings import current

FORMAT_VERSION = 1
MODEL_FILE, REFERENCE_FILE, METADATA_FILE = "model.pkl", "reference.parquet", "metadata.json"
FEATURE_PROFILE, PREDICTION_PROFILE = "feature_profile", "prediction_profile"


@dataclass(frozen=True)
class SavedModel:
    """A verified model version, ready to score batches.

    ``pipeline`` is the model object: the fitted scikit-learn pipeline of a trained model, the
    object of a file or MLflow model (anything with ``predict_proba``), None for ``predictions``.
    """

    pipeline: Any
    metadata: dict[str, Any]
    reference: pd.DataFrame
    feature_profile: ReferenceProfile
    prediction_profile: ReferenceProfile
    path: Path

    @property
    def version(self) -> str:
        return self.metadata["version"]

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @property
    def source(self) -> str:
        """``train``, ``file``, ``mlflow`` or ``predictions`` (versions before sources: train)."""
        return self.metadata.get("source", "train")

    @property
    def positive_index(self) -> int:
        """The column of ``predict_proba`` that is the positive class."""
        return int(self.metadata.get("positive_index", 1))


def models_root() -> Path:
    """Where model versions live: ``$MES_MODELS``, else ``$MES_HOME/models``."""
    return current().models


def save_model(trained: TrainedModel, root: Path | None = None) -> Path:
    """Write a model version (kept as it is when already saved); return its folder."""
    root = Path(root or models_root())
    target = root / trained.metadata["model_name"] / trained.metadata["version"]
    if (target / METADATA_FILE).exists():
        # The version id is the fitted model's content hash: the same version is already
        # saved, and rewriting it would only change its timestamps (and bundles' checksums).
        return target

    def fill(staging: Path) -> dict[str, Any]:
        (staging / MODEL_FILE).write_bytes(pickle.dumps(trained.pipeline, protocol=5))
        _write_reference(trained, staging)
        return trained.metadata

    return _write_version(target, fill)


def register_model(
    config: MonitoringConfig,
    reference: pd.DataFrame,
    *,
    root: Path | None = None,
    reference_description: str,
) -> SavedModel:
    """Register the configured external model (source file, mlflow or predictions) as a version.

    ``reference`` holds the rows the model is monitored against (the whole reference period, or
    the reference dataset's rows; labelled). They are scored once and profiled for drift and
    quality. The version id comes from the model's content (see ``sources.identify_source``):
    registering the same model again returns the existing version without rewriting it.
    """
    if config.model.trained_here:
        raise ConfigurationError(
            f"model {config.name!r} has model.source 'train': the project trains it (run train); "
            "register is for models trained elsewhere (file, mlflow, predictions)"
        )
    root = Path(root or models_root())
    identity = sources.identify_source(config, reference)
    target = root / config.name / identity.version
    if not (target / METADATA_FILE).exists():

        def fill(staging: Path) -> dict[str, Any]:
            details = dict(identity.details)
            model = None
            if config.model.source == "file":
                model = sources.open_file_model(details, staging, config)
            elif config.model.source == "mlflow":
                model = sources.open_mlflow_model(details)
            described = sources.SourceIdentity(identity.version, details)
            version = external.external_version(
                config, reference, described, model, reference_description
            )
            _write_reference(version, staging)
            return version.metadata

        _write_version(target, fill)
    return load_model(config, identity.version, root)


def _write_reference(model: TrainedModel, staging: Path) -> None:
    model.reference.to_parquet(staging / REFERENCE_FILE, index=False)
    model.feature_profile.save(staging / FEATURE_PROFILE)
    model.prediction_profile.save(staging / PREDICTION_PROFILE)


def _write_version(target: Path, fill: Callable[[Path], dict[str, Any]]) -> Path:
    """Write a version folder: ``fill(staging)`` writes its files and returns its metadata;
    the checksums are added and the folder is renamed into place, or nothing is left."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=target.parent))
    try:
        metadata = {
            "format_version": FORMAT_VERSION,
            **fill(staging),
        }
        metadata["checksums"] = {
            path.relative_to(staging).as_posix(): _sha256(path)
            for path in sorted(staging.rglob("*"))
            if path.is_file()
        }
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def list_versions(model_name: str, root: Path | None = None) -> list[str]:
    """Saved versions of a model, oldest first (by their recorded creation time)."""
    folder = Path(root or models_root()) / model_name
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        metadata_path = path / METADATA_FILE
        if path.is_dir() and not path.name.startswith(".") and metadata_path.exists():
            try:
                created = json.loads(metadata_path.read_text()).get("created_at", "")
            except (OSError, ValueError):
                created = ""
            found.append((created, path.name))
    return [name for _, name in sorted(found)]


def load_model(
    config: MonitoringConfig, version: str | None = None, root: Path | None = None
) -> SavedModel:
    """Load and verify a version of the configured model (the newest when none is named)."""
    root = Path(root or models_root())
    if version is None:
        versions = list_versions(config.name, root)
        if not versions:
            raise ModelIntegrityError(
                f"no saved version of model {config.name!r} under {root}: "
                + ("train it first" if config.model.trained_here else "register it first")
            )
        version = versions[-1]
    path = root / config.name / version
    metadata = _read_metadata(path)
    _verify_checksums(path, metadata, version)
    _check_metadata(metadata, config, version)
    if metadata.get("source", "train") == "train":
        with (path / MODEL_FILE).open("rb") as handle:
            pipeline = pickle.load(handle)  # checksum verified above
    else:
        pipeline = sources.load_source_model(metadata, path, config)
    return SavedModel(
        pipeline=pipeline,
        metadata=metadata,
        reference=pd.read_parquet(path / REFERENCE_FILE),
        feature_profile=ReferenceProfile.load(path / FEATURE_PROFILE),
        prediction_profile=ReferenceProfile.load(path / PREDICTION_PROFILE),
        path=path,
    )


def _verify_checksums(path: Path, metadata: dict[str, Any], version: str) -> None:
    """Every recorded file exists and is unchanged, before anything is unpickled or parsed."""
    checksums = metadata.get("checksums") or {}
    source = metadata.get("source", "train")
    required_files = [REFERENCE_FILE]
    if source == "train":
        required_files.append(MODEL_FILE)
    elif source == "file":
        required_files.append((metadata.get("file") or {}).get("copy") or "the model file")
    for required in required_files:
        if required not in checksums:
            raise ModelIntegrityError(
                f"model version {version}: {METADATA_FILE} records no checksum for {required}"
            )
    for name, expected in checksums.items():
        if not (path / name).is_file():
            raise ModelIntegrityError(f"model version {version}: {name} is missing from {path}")
        if expected != _sha256(path / name):
            raise ModelIntegrityError(
                f"model version {version}: {name} does not match its recorded SHA-256; the file "
                "was changed after saving. Refusing to load it: "
                + ("retrain" if source == "train" else "register the model again")
                + " or restore the version"
            )


def _read_metadata(path: Path) -> dict[str, Any]:
    try:
        metadata = json.loads((path / METADATA_FILE).read_text())
    except FileNotFoundError:
        raise ModelIntegrityError(f"no model version at {path} (no {METADATA_FILE})") from None
    except ValueError as exc:
        raise ModelIntegrityError(f"{path / METADATA_FILE} is not valid JSON: {exc}") from None
    if metadata.get("format_version") != FORMAT_VERSION or path.name != metadata.get("version"):
        raise ModelIntegrityError(
            f"{path / METADATA_FILE} does not describe model version {path.name} in format "
            f"{FORMAT_VERSION}; it was edited or belongs elsewhere"
        )
    return metadata


def _check_metadata(metadata: dict[str, Any], config: MonitoringConfig, version: str) -> None:
    """Refuse a model whose recorded features, label or library do not match this setup."""
    expected_features = [{"name": f, "type": "numeric"} for f in config.numeric_features] + [
        {"name": f, "type": "categorical"} for f in config.categorical_features
    ]
    problems = []
    if metadata.get("features") != expected_features:
        problems.append("its features or their types differ from the configuration's")
    for key, wanted in (
        ("label", config.label),
        ("positive_class", config.positive_class),
        ("model_name", config.name),
    ):
        if metadata.get(key) != wanted:
            problems.append(
                f"its {key} is {metadata.get(key)!r}, the configuration says {wanted!r}"
            )
    source = metadata.get("source", "train")
    problems += _source_problems(metadata, config)
    # A pickled scikit-learn object may behave differently (or not load) under another minor
    # release; MLflow checks its own models' requirements, and predictions have no model.
    pickled_sklearn = source == "train" or (
        source == "file" and metadata.get("file", {}).get("sklearn_object")
    )
    saved_with = metadata.get("library_versions", {}).get("scikit-learn", "")
    if pickled_sklearn and saved_with.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        problems.append(
            f"it was saved with scikit-learn {saved_with or '?'} but {sklearn.__version__} is "
            "installed"
        )
    if problems:
        remedy = (
            "Retrain the model for this configuration"
            if source == "train"
            else "Register the model for this configuration (python -m include.cli register)"
        )
        raise ModelIntegrityError(
            f"model version {version} does not match: " + "; ".join(problems) + f". {remedy}"
        )


def _source_problems(metadata: dict[str, Any], config: MonitoringConfig) -> list[str]:
    """Differences between the model source a version was registered from and the configured."""
    source = metadata.get("source", "train")
    settings = config.model
    if source != settings.source:
        return [
            f"it comes from model.source {source!r}, the configuration's is {settings.source!r}"
        ]
    if source == "train":
        return []
    problems = []
    recorded = metadata.get(source) or {}
    configured: dict[str, Any] = {}
    if source == "mlflow":
        configured = {"uri": settings.uri}
    elif source == "predictions":
        configured = {
            "score_column": settings.score_column,
            "prediction_column": settings.prediction_column,
        }
    for key, wanted in configured.items():
        if recorded.get(key) != wanted:
            problems.append(
                f"it was registered with model.{key} {recorded.get(key)!r}, the configuration "
                f"says {wanted!r}"
            )
    if float(metadata.get("threshold", -1)) != settings.fixed_threshold:
        problems.append(
            f"its threshold is {metadata.get('threshold')}, the configuration's is "
            f"{settings.fixed_threshold}"
        )
    return problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
