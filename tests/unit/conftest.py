"""Fixtures shared by the unit tests of the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

# Settings that would point a test at a user's own store, data, models or configuration.
_MES_SETTINGS = ("MES_DATABASE_URL", "MES_CONFIG", "MES_CONFIG_DIR", "MES_DATASETS", "MES_MODELS")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh ``MES_HOME`` with every other MES setting unset: the embedded defaults."""
    monkeypatch.setenv("MES_HOME", str(tmp_path))
    for name in _MES_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return tmp_path
