"""Reading bundle archives: the manifest, verification in full, and safe extraction.

Nothing is trusted on the way in: an archive is verified in full (checksums, no missing or extra
member, no absolute path, ``..``, link, device or duplicate) before a single file of it is
written, and it is extracted beside its target and renamed into place. The archives themselves
are made by :mod:`include.bundles.archive`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from include.bundles.manifest import MANIFEST, Manifest, ManifestEntry, check_member_path
from include.errors import BundleError

_MANIFEST_LIMIT = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
_UNREADABLE = (tarfile.TarError, EOFError, OSError, zlib.error)


def sha256_file(path: Path) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HashingReader:
    """A binary stream that hashes what is read from it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.digest.update(chunk)
        return chunk


def read_manifest(archive: Path) -> Manifest:
    """The manifest of ``archive``, read without reading the rest of it."""
    with _open(archive) as tar:
        try:
            return _read_manifest(archive, tar, tar.next())
        except _UNREADABLE as exc:
            raise _unreadable(archive, exc) from exc


def verify_bundle(archive: Path) -> Manifest:
    """The manifest of ``archive`` once every member is safe and matches it; BundleError naming
    the first offending path otherwise."""
    with _open(archive) as tar:
        try:
            return _verify(archive, tar)
        except _UNREADABLE as exc:
            raise _unreadable(archive, exc) from exc


def extract_bundle(archive: Path, target: Path) -> Manifest:
    """Verify ``archive``, then extract it into the folder ``target``, which must not exist yet.

    Nothing is written unless the whole archive verifies; the files go to a temporary folder
    beside ``target`` that is renamed into place, so ``target`` appears whole or not at all.
    """
    target = Path(target)
    if target.exists() or target.is_symlink():
        raise BundleError(
            f"cannot extract bundle into {target}: it already exists; choose a new folder"
        )
    manifest = verify_bundle(archive)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    )
    try:
        staging.chmod(0o755)  # read by the deployment's other processes
        with _open(archive) as tar:
            try:
                _extract(archive, tar, manifest, staging)
            except _UNREADABLE as exc:
                raise _unreadable(archive, exc) from exc
        if target.exists():
            raise BundleError(f"cannot extract bundle into {target}: it appeared meanwhile")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


# -- the members ---------------------------------------------------------------------------------


def _open(archive: Path) -> tarfile.TarFile:
    archive = Path(archive)
    if not archive.is_file():
        raise BundleError(f"bundle archive {archive} does not exist")
    try:
        return tarfile.open(archive, mode="r:gz")
    except _UNREADABLE as exc:
        raise _unreadable(archive, exc) from exc


def _unreadable(archive: Path, exc: BaseException) -> BundleError:
    return BundleError(
        f"bundle archive {archive} is corrupt or truncated, not a gzip-compressed tar "
        f"({type(exc).__name__}: {exc}): copy or make it again"
    )


def _read_manifest(archive: Path, tar: tarfile.TarFile, first: tarfile.TarInfo | None) -> Manifest:
    if first is None or first.name != MANIFEST or not first.isreg():
        raise BundleError(f"bundle archive {archive} does not start with {MANIFEST}: not a bundle")
    if first.size > _MANIFEST_LIMIT:
        raise BundleError(f"{MANIFEST} of {archive} is implausibly large ({first.size} bytes)")
    stream = tar.extractfile(first)
    assert stream is not None  # a regular file
    try:
        data = json.loads(stream.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{MANIFEST} of {archive} is not valid JSON ({exc})") from exc
    return Manifest.from_dict(data)


def _verify(archive: Path, tar: tarfile.TarFile) -> Manifest:
    manifest = _read_manifest(archive, tar, tar.next())
    for member, entry in _listed_members(archive, tar, manifest):
        if _sha256_member(tar, member) != entry.sha256:
            raise _tampered(archive, member.name, "its SHA-256 differs from the manifest")
    return manifest


def _listed_members(
    archive: Path, tar: tarfile.TarFile, manifest: Manifest
) -> Iterator[tuple[tarfile.TarInfo, ManifestEntry]]:
    """The members after the manifest, each safe and of the size the manifest says; then a check
    that none of the manifest's files was missing."""
    expected = {entry.path: entry for entry in manifest.files}
    seen = {MANIFEST}
    while (member := tar.next()) is not None:
        _check_member(member, seen)
        entry = expected.get(member.name)
        if entry is None:
            raise BundleError(f"{member.name}: in the bundle {archive} but not in its manifest")
        if member.size != entry.size:
            raise _tampered(archive, member.name, f"{member.size} bytes, not {entry.size}")
        yield member, entry
    missing = sorted(expected.keys() - seen)
    if missing:
        raise BundleError(f"{missing[0]}: in the manifest of {archive} but not in the bundle")


def _tampered(archive: Path, path: str, what: str) -> BundleError:
    return BundleError(
        f"{path}: {what} in the bundle {archive}: it was tampered with or damaged; "
        "do not deploy it, make or publish it again"
    )


def _check_member(member: tarfile.TarInfo, seen: set[str]) -> None:
    check_member_path(member.name)
    if not member.isreg():
        kind = "a link" if member.issym() or member.islnk() else "not a regular file"
        raise BundleError(f"{member.name}: {kind} in a bundle; refused")
    if member.name in seen:
        raise BundleError(f"{member.name}: twice in the bundle; refused")
    seen.add(member.name)


def _sha256_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    stream = tar.extractfile(member)
    assert stream is not None  # a regular file
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _extract(archive: Path, tar: tarfile.TarFile, manifest: Manifest, staging: Path) -> None:
    # Every check again while writing: the archive could have been replaced since it verified.
    if _read_manifest(archive, tar, tar.next()) != manifest:
        raise BundleError(f"bundle {archive} changed while it was being extracted: extract again")
    (staging / MANIFEST).write_bytes(manifest.to_bytes())
    for member, entry in _listed_members(archive, tar, manifest):
        path = staging.joinpath(*member.name.split("/"))
        reader = HashingReader(tar.extractfile(member))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "xb") as handle:
                shutil.copyfileobj(reader, handle, _CHUNK)
            path.chmod(0o755 if member.mode & 0o111 else 0o644)
        except OSError as exc:
            raise BundleError(f"{member.name}: cannot extract it into {staging} ({exc})") from exc
        if reader.digest.hexdigest() != entry.sha256:
            raise _tampered(archive, member.name, "its SHA-256 changed during extraction")
