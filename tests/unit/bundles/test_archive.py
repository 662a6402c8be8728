"""Making bundle archives: what goes in, the manifest and the diff (reading them: test_tarball)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile

import pytest

from include.bundles.archive import (
    MANIFEST,
    Manifest,
    check_bundle_id,
    create_bundle,
    read_manifest,
    sha256_file,
    verify_bundle,
)
from include.errors import BundleError
from include.paths import REPO_ROOT
from tests.unit.bundles.conftest import REQUIREMENTS


def paths(manifest: Manifest) -> list[str]:
    return [entry.path for entry in manifest.files]


# -- making --------------------------------------------------------------------------------------


def test_bundle_holds_the_project_model_and_datasets_with_manifest_first(bundle):
    manifest = verify_bundle(bundle)
    assert bundle.name == "v1.tar.gz"
    assert paths(manifest) == [
        "dags/.airflowignore",
        "dags/x.py",
        "datasets/transactions.parquet",
        "include/pkg/__init__.py",
        "include/z.py",
        "model/metadata.json",
        "model/model.joblib",
        "plugins/y.py",
        "requirements.txt",
    ]
    with tarfile.open(bundle, "r:gz") as tar:
        assert tar.getnames()[0] == MANIFEST
        headers = {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in tar.getmembers()}
    assert headers == {(0, 0, 0, "", "")}
    assert manifest.bundle_id == "v1"
    assert manifest.release_notes == "first"
    assert manifest.requirements == (
        "pandas==3.1.0",
        "scikit-learn==1.9.1",
        "PyYAML[extra] == 6.0.4",
    )
    assert manifest.source_revision is None  # not a git checkout
    assert manifest.diff is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", manifest.created_at)
    entry = manifest.files[paths(manifest).index("model/model.joblib")]
    assert (entry.size, entry.sha256) == (6, hashlib.sha256(b"\x00model").hexdigest())
    assert read_manifest(bundle) == manifest
    assert Manifest.from_dict(json.loads(json.dumps(manifest.to_dict()))) == manifest


def test_same_tree_gives_same_checksums(source, model_dir, tmp_path):
    first = create_bundle("v1", source=source, model_dir=model_dir, out_dir=tmp_path / "a")
    os.utime(source / "dags" / "x.py", (1, 1))  # a new mtime is not a new content
    second = create_bundle("v1", source=source, model_dir=model_dir, out_dir=tmp_path / "b")
    assert read_manifest(first).files == read_manifest(second).files
    with tarfile.open(first, "r:gz") as one, tarfile.open(second, "r:gz") as two:
        assert [m.get_info() for m in one][1:] == [m.get_info() for m in two][1:]


def test_diff_against_previous_bundle(source, tmp_path):
    out = tmp_path / "bundles"
    previous = read_manifest(create_bundle("v1", source=source, out_dir=out))
    (source / "dags" / "x.py").write_text("X = 10\n")
    (source / "plugins" / "y.py").unlink()
    (source / "include" / "new.py").write_text("")
    (source / "requirements.txt").write_text(
        REQUIREMENTS.replace("pandas==3.1.0", "pandas==3.1.1").replace(
            "scikit-learn==1.9.1  # the model", "foo==1.0"
        )
    )
    current = read_manifest(
        create_bundle("v2", source=source, out_dir=out, previous=previous, release_notes="more")
    )
    diff = current.diff
    assert diff.previous_id == "v1"
    assert diff.added == ("include/new.py",)
    assert diff.removed == ("plugins/y.py",)
    assert diff.changed == ("dags/x.py", "requirements.txt")
    assert diff.requirements_changed == (
        "+ foo==1.0",
        "pandas 3.1.0 -> 3.1.1",
        "- scikit-learn==1.9.1",
    )


def test_real_repository_bundles_without_model_or_datasets(tmp_path):
    manifest = verify_bundle(create_bundle("v1", out_dir=tmp_path))
    names = paths(manifest)
    assert "requirements.txt" in names
    assert any(name.startswith("dags/") for name in names)
    assert "include/bundles/archive.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/." in n]
    assert not [n for n in names if n.split("/")[0] in {"model", "datasets", "tests", ".mes"}]
    assert any(line.startswith("apache-airflow==") for line in manifest.requirements)
    if (REPO_ROOT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", manifest.source_revision)


@pytest.mark.parametrize("bundle_id", ["", "-v1", ".v1", "v1/../x", "v 1", "v1\n", "x" * 65])
def test_bad_bundle_ids_are_refused(bundle_id, source, tmp_path):
    with pytest.raises(BundleError, match="invalid bundle id"):
        create_bundle(bundle_id, source=source, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_good_bundle_ids():
    for bundle_id in ("v3", "3", "2026.11-rc_1", "x" * 64):
        assert check_bundle_id(bundle_id) == bundle_id


def test_existing_bundle_is_not_overwritten(bundle, source):
    before = sha256_file(bundle)
    with pytest.raises(BundleError, match="already exists"):
        create_bundle("v1", source=source, out_dir=bundle.parent)
    assert sha256_file(bundle) == before


def test_source_without_project_folders_is_refused(tmp_path):
    (tmp_path / "dags").mkdir()
    with pytest.raises(BundleError, match=r"no plugins, include, requirements\.txt"):
        create_bundle("v1", source=tmp_path, out_dir=tmp_path / "out")


def test_missing_model_or_dataset_is_refused(source, tmp_path):
    with pytest.raises(BundleError, match="model folder"):
        create_bundle("v1", source=source, model_dir=tmp_path / "none", out_dir=tmp_path)
    with pytest.raises(BundleError, match=r"dataset file .*none\.parquet"):
        create_bundle("v1", source=source, datasets=[tmp_path / "none.parquet"], out_dir=tmp_path)
    assert not (tmp_path / "v1.tar.gz").exists()


def test_bundling_does_not_import_pandas():
    # The bundle_release DAG imports this module; a DAG file's import must stay light.
    code = "import sys, include.bundles.archive; print('pandas' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
