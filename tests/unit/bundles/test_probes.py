"""What an update asks the target's Python: unmet pins, and DAG files that do not import."""

from __future__ import annotations

import sys
from importlib import metadata

import pytest

from include.bundles.probes import dag_import_errors, unmet_requirements
from include.errors import BundleError


def test_every_dag_file_is_imported_on_its_own(tmp_path):
    dags = tmp_path / "release" / "dags"
    dags.mkdir(parents=True)
    (dags / "good.py").write_text("from helper import VALUE\nX = VALUE\n")
    (dags / "broken.py").write_text("raise ImportError('v3 does not import')\n")
    (tmp_path / "release" / "plugins").mkdir()
    (tmp_path / "release" / "plugins" / "helper.py").write_text("VALUE = 1\n")
    errors = dag_import_errors(tmp_path / "release", sys.executable)
    assert list(errors) == [str(dags / "broken.py")]
    assert errors[str(dags / "broken.py")] == "ImportError: v3 does not import"


def test_a_release_without_dags_has_no_import_errors(tmp_path):
    assert dag_import_errors(tmp_path, sys.executable) == {}


def test_pins_the_target_does_not_meet_are_named_with_what_it_has():
    pytest_version = metadata.version("pytest")
    pins = (f"pytest=={pytest_version}", "pytest-not-a-package==1.0", "PyTest==0.0.1")
    # A package pinned twice keeps its last pin.
    assert unmet_requirements(pins, sys.executable) == [
        f"pytest==0.0.1 (installed: {pytest_version})",
        "pytest-not-a-package==1.0 (installed: none)",
    ]
    assert unmet_requirements((), sys.executable) == []


def test_a_target_python_that_fails_is_a_bundle_error():
    with pytest.raises(BundleError, match=r"the target's Python .* failed"):
        unmet_requirements(("pytest==1.0",), "false")
