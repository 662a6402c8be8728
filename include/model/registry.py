"""Saved model versions: the pipeline, its reference data and metadata, with checksums.

Layout: ``<root>/<model name>/<version>/`` holding ``model.pkl``, ``reference.parquet``, the
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
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sklearn
from sklearn.pipeline import Pipeline

from include.config import MonitoringConfig
from include.drift.univariate import ReferenceProfile
from include.errors import ModelIntegrityError
from include.model.training import TrainedModel
from include.paths import mes_home

FORMAT_VERSION = 1
MODEL_FILE, REFERENCE_FILE, METADATA_FILE = "model.pkl", "reference.parquet", "metadata.json"
FEATURE_PROFILE, PREDICTION_PROFILE = "feature_profile", "prediction_profile"


@dataclass(frozen=True)
class SavedModel:
    """A verified model version, ready to score batches."""

    pipeline: Pipeline
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


def models_root() -> Path:
    """Where model versions live: ``$MES_MODELS``, else ``$MES_HOME/models``."""
    return Path(os.environ.get("MES_MODELS") or mes_home() / "models")


def save_model(trained: TrainedModel, root: Path | None = None) -> Path:
    """Write a model version (kept as it is when already saved); return its folder."""
    root = Path(root or models_root())
    target = root / trained.metadata["model_name"] / trained.metadata["version"]
    if (target / METADATA_FILE).exists():
        # The version id is the fitted model's content hash: the same version is already
        # saved, and rewriting it would only change its timestamps (and bundles' checksums).
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=target.parent))
    try:
        (staging / MODEL_FILE).write_bytes(pickle.dumps(trained.pipeline, protocol=5))
        trained.reference.to_parquet(staging / REFERENCE_FILE, index=False)
        trained.feature_profile.save(staging / FEATURE_PROFILE)
        trained.prediction_profile.save(staging / PREDICTION_PROFILE)
        metadata = {
            "format_version": FORMAT_VERSION,
            **trained.metadata,
            "checksums": {
                path.relative_to(staging).as_posix(): _sha256(path)
                for path in sorted(staging.rglob("*"))
                if path.is_file()
            },
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
                f"no saved version of model {config.name!r} under {root}: train it first"
            )
        version = versions[-1]
    path = root / config.name / version
    metadata = _read_metadata(path)
    _verify_checksums(path, metadata, version)
    _check_metadata(metadata, config, version)
    with (path / MODEL_FILE).open("rb") as handle:
        pipeline = pickle.load(handle)  # checksum verified above
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
    for required in (MODEL_FILE, REFERENCE_FILE):
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
                "was changed after saving. Refusing to load it: retrain or restore the version"
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
    saved_with = metadata.get("library_versions", {}).get("scikit-learn", "")
    if saved_with.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        problems.append(
            f"it was saved with scikit-learn {saved_with or '?'} but {sklearn.__version__} is "
            "installed"
        )
    if problems:
        raise ModelIntegrityError(
            f"model version {version} does not match: "
            + "; ".join(problems)
            + ". Retrain the model for this configuration"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
