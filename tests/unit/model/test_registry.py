"""Saved model versions: what is written, and the refusal of anything that does not match."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from include.config import parse_config
from include.errors import ModelIntegrityError
from include.model.features import feature_frame
from include.model.registry import (
    FEATURE_PROFILE,
    METADATA_FILE,
    MODEL_FILE,
    PREDICTION_PROFILE,
    REFERENCE_FILE,
    list_versions,
    load_model,
    save_model,
)


@pytest.fixture
def saved(trained_model, tmp_path) -> Path:
    return save_model(trained_model, tmp_path)


def test_a_saved_version_loads_and_scores_like_the_trained_one(
    saved, trained_model, tutorial_config, tmp_path
) -> None:
    assert saved == tmp_path / "fraud_authorization" / trained_model.metadata["version"]
    assert sorted(p.name for p in saved.iterdir()) == sorted(
        [MODEL_FILE, REFERENCE_FILE, METADATA_FILE, FEATURE_PROFILE, PREDICTION_PROFILE]
    )
    loaded = load_model(tutorial_config, root=tmp_path)
    assert loaded.version == trained_model.metadata["version"]
    assert loaded.threshold == trained_model.metadata["threshold"]
    np.testing.assert_array_equal(
        loaded.pipeline.predict_proba(feature_frame(loaded.reference, tutorial_config)),
        trained_model.pipeline.predict_proba(
            feature_frame(trained_model.reference, tutorial_config)
        ),
    )
    metadata = json.loads((saved / METADATA_FILE).read_text())
    assert {MODEL_FILE, REFERENCE_FILE} < set(metadata["checksums"])
    assert all(
        name in metadata["checksums"]
        for name in (
            f"{FEATURE_PROFILE}/reference_profile.npz",
            f"{PREDICTION_PROFILE}/reference_profile.json",
        )
    )
    assert loaded.feature_profile.features == trained_model.feature_profile.features


def test_the_newest_version_is_loaded_unless_one_is_named(
    trained_model, tutorial_config, tmp_path
) -> None:
    older = dict(
        trained_model.metadata, version="2017Q1-older000", created_at="2000-01-01T00:00:00+00:00"
    )
    save_model(dataclasses.replace(trained_model, metadata=older), tmp_path)
    save_model(trained_model, tmp_path)
    assert list_versions("fraud_authorization", tmp_path) == [
        "2017Q1-older000",
        trained_model.metadata["version"],
    ]
    assert load_model(tutorial_config, root=tmp_path).version == trained_model.metadata["version"]
    assert load_model(tutorial_config, "2017Q1-older000", tmp_path).version == "2017Q1-older000"


@pytest.mark.parametrize(
    "name", [MODEL_FILE, REFERENCE_FILE, f"{FEATURE_PROFILE}/reference_profile.npz"]
)
def test_a_tampered_file_is_refused_before_it_is_unpickled(
    saved, tutorial_config, tmp_path, name
) -> None:
    path = saved / name
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(
        ModelIntegrityError, match=re.escape(f"{name} does not match its recorded SHA-256")
    ):
        load_model(tutorial_config, root=tmp_path)


def test_a_missing_file_is_refused(saved, tutorial_config, tmp_path) -> None:
    (saved / REFERENCE_FILE).unlink()
    with pytest.raises(ModelIntegrityError, match=r"reference\.parquet is missing"):
        load_model(tutorial_config, root=tmp_path)


def test_metadata_that_was_edited_is_refused(saved, tutorial_config, tmp_path) -> None:
    path = saved / METADATA_FILE
    metadata = json.loads(path.read_text())
    metadata["features"] = metadata["features"][:-1]
    path.write_text(json.dumps(metadata))
    with pytest.raises(ModelIntegrityError, match="features or their types differ"):
        load_model(tutorial_config, root=tmp_path)
    path.write_text("{not json")
    with pytest.raises(ModelIntegrityError, match="not valid JSON"):
        load_model(tutorial_config, root=tmp_path)


def test_a_model_for_another_configuration_is_refused(saved, tutorial_config, tmp_path) -> None:
    raw = tutorial_config.model_dump()
    raw["numeric_features"] = [f for f in raw["numeric_features"] if f != "card_age"]
    raw["categorical_features"] = [*raw["categorical_features"], "card_age"]
    with pytest.raises(ModelIntegrityError, match="features or their types differ"):
        load_model(parse_config(raw), root=tmp_path)


def test_a_model_saved_with_another_scikit_learn_is_refused(
    saved, tutorial_config, tmp_path
) -> None:
    path = saved / METADATA_FILE
    metadata = json.loads(path.read_text())
    metadata["library_versions"]["scikit-learn"] = "0.24.2"
    path.write_text(json.dumps(metadata))
    with pytest.raises(ModelIntegrityError, match=r"saved with scikit-learn 0\.24\.2"):
        load_model(tutorial_config, root=tmp_path)


def test_no_saved_version_says_to_train_first(tutorial_config, tmp_path) -> None:
    with pytest.raises(ModelIntegrityError, match="train it first"):
        load_model(tutorial_config, root=tmp_path)
    with pytest.raises(ModelIntegrityError, match="no model version at"):
        load_model(tutorial_config, "2017Q1-nothere0", tmp_path)
