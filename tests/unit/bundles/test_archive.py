"""Bundle archives: what goes in, the manifest and diff, verification, and safe extraction."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from include.bundles.archive import (
    MANIFEST,
    Manifest,
    check_bundle_id,
    create_bundle,
    extract_bundle,
    read_manifest,
    sha256_file,
    verify_bundle,
)
from include.errors import BundleError
from include.paths import REPO_ROOT

REQUIREMENTS = (
    "# pinned\n-r base.txt\npandas==3.1.0\nscikit-learn==1.9.1  # the model\n"
    "requests>=2\nPyYAML[extra] == 6.0.4 \\\n    --hash=sha256:00\n\n"
)


@pytest.fixture
def source(tmp_path) -> Path:
    """A small project tree with the caches and hidden files a real checkout has."""
    root = tmp_path / "project"
    files = {
        "dags/x.py": "X = 1\n",
        "dags/.airflowignore": "scratch\n",
        "plugins/y.py": "Y = 2\n",
        "include/z.py": "Z = 3\n",
        "include/pkg/__init__.py": "",
        "include/__pycache__/z.cpython-311.pyc": "cache",
        "include/pkg/stale.pyc": "cache",
        "include/.hidden": "secret",
        ".git/HEAD": "ref: refs/heads/main\n",
        ".venv/lib/site.py": "",
        ".mes/datasets/x.parquet": "data",
        "README.md": "not bundled\n",
        "requirements.txt": REQUIREMENTS,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def model_dir(tmp_path) -> Path:
    folder = tmp_path / "models" / "fraud" / "3"
    folder.mkdir(parents=True)
    (folder / "model.joblib").write_bytes(b"\x00model")
    (folder / "metadata.json").write_text("{}")
    return folder


@pytest.fixture
def dataset(tmp_path) -> Path:
    path = tmp_path / "datasets" / "transactions.parquet"
    path.parent.mkdir()
    path.write_bytes(b"PAR1 rows PAR1")
    return path


@pytest.fixture
def bundle(source, model_dir, dataset, tmp_path) -> Path:
    return create_bundle(
        "v1",
        source=source,
        release_notes="first",
        model_dir=model_dir,
        datasets=[dataset],
        out_dir=tmp_path / "bundles",
    )


def paths(manifest: Manifest) -> list[str]:
    return [entry.path for entry in manifest.files]


def rewrite(archive: Path, change: Callable[[tarfile.TarFile], None], *, keep: bool = True) -> None:
    """Write ``archive`` again: its members (if ``keep``), then whatever ``change`` adds."""
    with tarfile.open(archive, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(archive, "w:gz") as tar:
        for member, data in members if keep else members[:1]:
            tar.addfile(member, io.BytesIO(data))
        change(tar)


def add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def add_special(tar: tarfile.TarFile, name: str, kind: bytes, linkname: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    tar.addfile(info)


def list_in_manifest(archive: Path, name: str, data: bytes) -> None:
    """Add ``name`` to the manifest with the right checksum, so only its kind can refuse it."""
    with tarfile.open(archive, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    manifest = json.loads(members[0][1])
    manifest["files"].append(
        {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    )
    body = json.dumps(manifest).encode()
    members[0][0].size = len(body)
    members[0] = (members[0][0], body)
    with tarfile.open(archive, "w:gz") as tar:
        for member, content in members:
            tar.addfile(member, io.BytesIO(content))


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


# -- verifying and extracting ---------------------------------------------------------------------


def test_extract_writes_the_verified_files(bundle, tmp_path):
    target = tmp_path / "deployed" / "v1"
    manifest = extract_bundle(bundle, target)
    assert (target / "dags" / "x.py").read_text() == "X = 1\n"
    assert (target / "model" / "model.joblib").read_bytes() == b"\x00model"
    assert json.loads((target / MANIFEST).read_text())["bundle_id"] == "v1"
    for entry in manifest.files:
        assert sha256_file(target / entry.path) == entry.sha256
    assert os.listdir(target.parent) == ["v1"]  # no staging folder left


def test_extract_into_existing_target_is_refused(bundle, tmp_path):
    target = tmp_path / "deployed"
    target.mkdir()
    with pytest.raises(BundleError, match="already exists"):
        extract_bundle(bundle, target)
    assert os.listdir(target) == []


@pytest.mark.parametrize("same_size", [True, False])
def test_tampered_member_fails_verification_naming_it(bundle, tmp_path, same_size):
    # Same size: only the checksum tells; another size: the header already does.
    tampered = b"X = 9\n" if same_size else b"import os\n"
    with tarfile.open(bundle, "r:gz") as tar:
        kept = [(m, tar.extractfile(m).read()) for m in tar.getmembers() if m.name != "dags/x.py"]
    with tarfile.open(bundle, "w:gz") as tar:
        for member, data in kept:
            tar.addfile(member, io.BytesIO(data))
        add_file(tar, "dags/x.py", tampered)
    with pytest.raises(BundleError, match=r"^dags/x\.py: .*tampered"):
        verify_bundle(bundle)
    target = tmp_path / "out" / "v1"
    target.parent.mkdir()
    with pytest.raises(BundleError, match=r"^dags/x\.py"):
        extract_bundle(bundle, target)
    assert os.listdir(target.parent) == []


def test_missing_and_extra_members_fail_verification(bundle):
    rewrite(bundle, lambda tar: add_file(tar, "dags/extra.py", b""))
    with pytest.raises(BundleError, match=r"^dags/extra\.py: .*not in its manifest"):
        verify_bundle(bundle)
    rewrite(bundle, lambda tar: None, keep=False)
    with pytest.raises(BundleError, match=r"^dags/\.airflowignore: .*not in the bundle"):
        verify_bundle(bundle)


UNSAFE = {
    "parent": ("../evil", "a '..' path", None),
    "nested parent": ("dags/../../evil", "a '..' path", None),
    "absolute": ("/abs/path", "an absolute path", None),
    "dot": ("./dags/y.py", "not a plain relative path", None),
    "symlink": ("dags/link.py", "a link", (tarfile.SYMTYPE, "/etc/passwd")),
    "hardlink": ("dags/hard.py", "a link", (tarfile.LNKTYPE, "dags/x.py")),
    "device": ("dags/dev", "not a regular file", (tarfile.CHRTYPE, "")),
    "fifo": ("dags/fifo", "not a regular file", (tarfile.FIFOTYPE, "")),
    "directory": ("dags/sub", "not a regular file", (tarfile.DIRTYPE, "")),
}


@pytest.mark.parametrize("case", UNSAFE.values(), ids=UNSAFE.keys())
def test_unsafe_members_are_refused_before_anything_is_written(bundle, tmp_path, case):
    name, reason, special = case
    data = b"evil\n"
    list_in_manifest(bundle, name, b"" if special else data)
    if special:
        rewrite(bundle, lambda tar: add_special(tar, name, *special))
    else:
        rewrite(bundle, lambda tar: add_file(tar, name, data))
    parent = tmp_path / "deploy"
    parent.mkdir()
    with pytest.raises(BundleError, match=re.escape(reason)) as refused:
        extract_bundle(bundle, parent / "v1")
    assert str(refused.value).startswith(name) or str(refused.value).startswith(repr(name))
    assert os.listdir(parent) == []
    assert not (tmp_path / "evil").exists()


def test_extraction_checks_again_what_it_writes(bundle, tmp_path, monkeypatch):
    # As if the archive were replaced between its verification and its extraction.
    monkeypatch.setattr("include.bundles.archive.verify_bundle", read_manifest)
    list_in_manifest(bundle, "../evil", b"evil\n")
    rewrite(bundle, lambda tar: add_file(tar, "../evil", b"evil\n"))
    parent = tmp_path / "deploy"
    parent.mkdir()
    with pytest.raises(BundleError, match=r"^\.\./evil: a '\.\.' path"):
        extract_bundle(bundle, parent / "v1")
    assert os.listdir(parent) == []
    assert not (tmp_path / "evil").exists()


def test_duplicate_member_is_refused(bundle, tmp_path):
    rewrite(bundle, lambda tar: add_file(tar, "dags/x.py", b"X = 1\n"))
    parent = tmp_path / "deploy"
    parent.mkdir()
    with pytest.raises(BundleError, match=r"^dags/x\.py: twice in the bundle"):
        extract_bundle(bundle, parent / "v1")
    assert os.listdir(parent) == []


def test_archive_without_manifest_first_is_refused(bundle):
    with tarfile.open(bundle, "w:gz") as tar:
        add_file(tar, "dags/x.py", b"X = 1\n")
    with pytest.raises(BundleError, match=r"does not start with manifest\.json"):
        read_manifest(bundle)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: data[: len(data) // 2],
        lambda data: data[:40],
        lambda data: os.urandom(2048),
        lambda data: b"",
        lambda data: data[:100] + bytes(b ^ 0xFF for b in data[100:200]) + data[200:],
    ],
    ids=["half", "header only", "random", "empty", "flipped bytes"],
)
def test_corrupt_archive_gives_a_clear_error(bundle, tmp_path, corrupt):
    bundle.write_bytes(corrupt(bundle.read_bytes()))
    with pytest.raises(BundleError, match=r"v1\.tar\.gz"):
        verify_bundle(bundle)
    with pytest.raises(BundleError):
        extract_bundle(bundle, tmp_path / "out" / "v1")
    assert not (tmp_path / "out").exists()


def test_random_bytes_are_not_a_bundle(tmp_path):
    path = tmp_path / "v1.tar.gz"
    path.write_bytes(os.urandom(512))
    with pytest.raises(BundleError, match="corrupt or truncated"):
        read_manifest(path)
    with pytest.raises(BundleError, match="does not exist"):
        read_manifest(tmp_path / "none.tar.gz")
