"""A model saved as a file: its format, its fingerprint, its copy and what a broken file says."""

from __future__ import annotations

import hashlib
import pickle

import joblib
import pytest

from include.config import ModelSettings
from include.errors import ConfigurationError, ModelIntegrityError
from include.model.file_model import (
    copy_model_file,
    file_format,
    file_sha256,
    load_file_model,
    unpickle,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("m.joblib", "joblib"), ("m.PKL", "pickle"), ("m.pickle", "pickle"), ("m.skops", "skops")],
)
def test_the_format_is_told_by_the_extension(path, expected) -> None:
    assert file_format(ModelSettings(source="file", path=path)) == expected


def test_model_format_wins_over_the_extension() -> None:
    assert file_format(ModelSettings(source="file", path="m.bin", format="joblib")) == "joblib"


def test_an_unknown_extension_asks_for_model_format() -> None:
    with pytest.raises(ConfigurationError, match=r"m\.bin.*set model\.format"):
        file_format(ModelSettings(source="file", path="m.bin"))


def test_the_fingerprint_is_the_files_sha256(tmp_path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"x" * 3_000_000)

    assert file_sha256(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_a_copy_is_refused_when_the_file_changed_since_its_fingerprint(tmp_path) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"a": 1}, path)
    details = {"path": str(path), "format": "joblib", "sha256": file_sha256(path)}
    folder = tmp_path / "version"
    folder.mkdir()

    assert copy_model_file(details, folder) == "model_file.joblib"
    assert load_file_model(folder / "model_file.joblib", "joblib") == {"a": 1}

    joblib.dump({"a": 2}, path)
    with pytest.raises(ModelIntegrityError, match="changed while it was being registered"):
        copy_model_file(details, folder)


def test_pickle_and_joblib_files_load(tmp_path) -> None:
    with (tmp_path / "m.pkl").open("wb") as handle:
        pickle.dump([1, 2], handle)

    assert load_file_model(tmp_path / "m.pkl", "pickle") == [1, 2]


def test_a_file_that_does_not_load_names_the_version_format_and_error(tmp_path) -> None:
    path = tmp_path / "m.pkl"
    path.write_bytes(b"not a pickle")
    details = {"path": str(path), "format": "pickle"}

    with pytest.raises(ModelIntegrityError, match=r"version v1: .*m\.pkl cannot be loaded"):
        unpickle(path, details, "v1")
