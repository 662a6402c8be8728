"""Reading bundle archives: verification in full, and safe extraction (include/bundles/tarball)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from include.bundles.manifest import MANIFEST
from include.bundles.tarball import extract_bundle, read_manifest, sha256_file, verify_bundle
from include.errors import BundleError


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
    monkeypatch.setattr("include.bundles.tarball.verify_bundle", read_manifest)
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
