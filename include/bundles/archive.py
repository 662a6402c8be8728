"""Make, read, verify and extract bundle archives.

An archive is a gzip-compressed tar whose first member is ``manifest.json``; every other member is
a regular file listed in the manifest with its SHA-256 and size. Member headers carry no time,
owner or permissions beyond the executable bit, and members are in sorted order, so the same tree
gives the same files and checksums. Nothing is trusted on the way in: an archive is verified in
full (checksums, no missing or extra member, no absolute path, ``..``, link, device or duplicate)
before a single file of it is written, and it is extracted beside its target and renamed into place.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from include.bundles.pins import read_pins
from include.errors import BundleError
from include.files import write_atomically
from include.paths import REPO_ROOT

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
SOURCE_FOLDERS = ("dags", "plugins", "include")
REQUIREMENTS = "requirements.txt"

_BUNDLE_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")
_MANIFEST_LIMIT = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
_UNREADABLE = (tarfile.TarError, EOFError, OSError, zlib.error)


@dataclass(frozen=True)
class ManifestEntry:
    """One file of a bundle: its path inside the archive, SHA-256 (hex) and size in bytes."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class BundleDiff:
    """What changed since ``previous_id``: file paths, and pins as ``pandas 3.1.0 -> 3.1.1``,
    ``+ foo==1.0`` (new) or ``- bar==2.0`` (dropped)."""

    previous_id: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    requirements_changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """What a bundle holds; ``source_revision`` is the git commit (``+dirty`` if the bundled
    paths had uncommitted changes), None when the source was not a git checkout."""

    bundle_id: str
    release_notes: str
    created_at: str
    source_revision: str | None
    files: tuple[ManifestEntry, ...]
    requirements: tuple[str, ...]
    diff: BundleDiff | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"format": MANIFEST_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        """The manifest in ``data``; BundleError if it is not one this code wrote."""
        try:
            if data["format"] != MANIFEST_FORMAT:
                raise BundleError(
                    f"bundle manifest format {data['format']!r} is not supported (this code reads "
                    f"format {MANIFEST_FORMAT}): make the bundle again with this version"
                )
            revision, diff = data["source_revision"], data["diff"]
            manifest = cls(
                bundle_id=check_bundle_id(_str(data["bundle_id"])),
                release_notes=_str(data["release_notes"]),
                created_at=_str(data["created_at"]),
                source_revision=None if revision is None else _str(revision),
                files=tuple(
                    ManifestEntry(_str(item["path"]), _str(item["sha256"]), int(item["size"]))
                    for item in data["files"]
                ),
                requirements=_strs(data["requirements"]),
                diff=None if diff is None else _diff_from_dict(diff),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(
                f"bundle manifest is malformed ({exc!r}): make the bundle again"
            ) from exc
        for entry in manifest.files:
            _check_member_path(entry.path)
        return manifest


def check_bundle_id(bundle_id: str) -> str:
    """``bundle_id`` if it is a valid id (``v3``, ``2026.11-rc1``); BundleError otherwise."""
    return check_name(bundle_id, "bundle id", "v3")


def check_name(value: str, what: str, example: str) -> str:
    """``value`` if it is a valid bundle id or deployment name (a file or folder name: nothing
    that leaves a folder); BundleError saying what ``what`` may be otherwise."""
    if not isinstance(value, str) or not _BUNDLE_ID.fullmatch(value):
        raise BundleError(
            f"invalid {what} {value!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit, e.g. {example!r}"
        )
    return value


def sha256_file(path: Path) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def pinned_requirements(text: str) -> tuple[str, ...]:
    """The lines of a requirements file that pin a package (``name==version``), comments and pip
    options removed (``include.bundles.pins.read_pins`` says which lines pin)."""
    return tuple(pin.line for pin in read_pins(text))


def compare(previous: Manifest, current: Manifest) -> BundleDiff:
    """Files added, removed and changed (by SHA-256) and pins changed from ``previous`` to
    ``current``."""
    before = {entry.path: entry.sha256 for entry in previous.files}
    after = {entry.path: entry.sha256 for entry in current.files}
    old_pins, new_pins = _pins(previous.requirements), _pins(current.requirements)
    requirements_changed = []
    for name in sorted(old_pins.keys() | new_pins.keys()):
        old, new = old_pins.get(name), new_pins.get(name)
        if old is None:
            requirements_changed.append(f"+ {new[0]}")
        elif new is None:
            requirements_changed.append(f"- {old[0]}")
        elif old[1] != new[1]:
            requirements_changed.append(f"{name} {old[1]} -> {new[1]}")
    return BundleDiff(
        previous_id=previous.bundle_id,
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(
            sorted(path for path in after.keys() & before.keys() if after[path] != before[path])
        ),
        requirements_changed=tuple(requirements_changed),
    )


def create_bundle(
    bundle_id: str,
    *,
    out_dir: Path,
    source: Path = REPO_ROOT,
    release_notes: str = "",
    model_dir: Path | None = None,
    datasets: Sequence[Path] = (),
    previous: Manifest | None = None,
) -> Path:
    """Write ``<out_dir>/<bundle_id>.tar.gz`` from ``source`` (its ``dags/``, ``plugins/``,
    ``include/`` and ``requirements.txt``), the model folder ``model_dir`` (as ``model/``) and the
    ``datasets`` files (as ``datasets/<name>``); returns the archive's path.

    Bundles are immutable: an id whose archive already exists in ``out_dir`` is refused.
    """
    check_bundle_id(bundle_id)
    source = Path(source)
    archive = Path(out_dir) / f"{bundle_id}.tar.gz"
    if archive.exists():
        raise BundleError(
            f"bundle {bundle_id} already exists at {archive}: bundles are immutable, "
            "choose a new id"
        )
    members = _collect(source, model_dir, datasets)
    files = tuple(_entry(path, local) for path, local in members.items())
    manifest = Manifest(
        bundle_id=bundle_id,
        release_notes=release_notes,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        source_revision=_source_revision(source),
        files=files,
        requirements=pinned_requirements((source / REQUIREMENTS).read_text(encoding="utf-8")),
    )
    if previous is not None:
        manifest = replace(manifest, diff=compare(previous, manifest))

    def write(handle: BinaryIO) -> None:
        with (
            gzip.GzipFile(fileobj=handle, mode="wb", mtime=0, filename="") as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            body = _manifest_bytes(manifest)
            tar.addfile(_header(MANIFEST, len(body), executable=False), io.BytesIO(body))
            for entry in files:
                local = members[entry.path]
                with open(local, "rb") as stream:
                    reader = _Reader(stream)
                    header = _header(entry.path, entry.size, os.access(local, os.X_OK))
                    try:
                        tar.addfile(header, reader)
                    except OSError as exc:
                        raise _changed(local) from exc
                if reader.digest.hexdigest() != entry.sha256 or local.stat().st_size != entry.size:
                    raise _changed(local)

    return write_atomically(archive, write)


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


# -- making ------------------------------------------------------------------------------------


def _collect(source: Path, model_dir: Path | None, datasets: Sequence[Path]) -> dict[str, Path]:
    """Archive path -> local file, sorted by archive path."""
    missing = [name for name in (*SOURCE_FOLDERS, REQUIREMENTS) if not (source / name).exists()]
    if missing:
        raise BundleError(
            f"cannot bundle {source}: it has no {', '.join(missing)}; "
            "give the project's root folder"
        )
    members = {REQUIREMENTS: source / REQUIREMENTS}
    for folder in SOURCE_FOLDERS:
        members.update(_tree(source / folder, folder))
    if model_dir is not None:
        model_dir = Path(model_dir)
        model = dict(_tree(model_dir, "model")) if model_dir.is_dir() else {}
        if not model:
            raise BundleError(f"model folder {model_dir} does not exist or holds no files")
        members.update(model)
    for dataset in map(Path, datasets):
        if not dataset.is_file():
            raise BundleError(f"dataset file {dataset} does not exist: choose existing files")
        path = f"datasets/{dataset.name}"
        if path in members:
            raise BundleError(f"two datasets are named {dataset.name}: rename one of them")
        members[path] = dataset
    return dict(sorted(members.items()))


def _tree(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """The files under ``root`` as (``prefix/relative path``, path), without caches and hidden
    files (except ``.airflowignore``, which tells Airflow which files are not DAGs)."""
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not _skipped(name)]
        for name in names:
            path = Path(folder, name)
            if (not _skipped(name) or name == ".airflowignore") and path.is_file():
                yield f"{prefix}/{path.relative_to(root).as_posix()}", path


def _skipped(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__" or name.endswith((".pyc", ".pyo"))


def _entry(path: str, local: Path) -> ManifestEntry:
    return ManifestEntry(path=path, sha256=sha256_file(local), size=local.stat().st_size)


def _changed(path: Path) -> BundleError:
    return BundleError(f"{path} changed while it was being bundled: make the bundle again")


def _header(path: str, size: int, executable: bool) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.size = size
    info.mode = 0o755 if executable else 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class _Reader:
    """A binary stream that hashes what is read from it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.digest.update(chunk)
        return chunk


def _source_revision(source: Path) -> str | None:
    """``git rev-parse HEAD`` of ``source``; ``+dirty`` if a bundled path has local changes."""
    # No optional locks: `git status` must not take the index lock of a tree others are using.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(source), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env=env,
        ).stdout.strip()

    try:
        revision = git("rev-parse", "--verify", "HEAD")
        dirty = git("status", "--porcelain", "--", *SOURCE_FOLDERS, REQUIREMENTS)
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{revision}+dirty" if dirty else revision


def _pins(requirements: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Canonical package name -> (line, version); a package pinned twice keeps its last pin."""
    return {pin.name: (pin.line, pin.version) for pin in read_pins("\n".join(requirements))}


# -- reading -----------------------------------------------------------------------------------


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
    _check_member_path(member.name)
    if not member.isreg():
        kind = "a link" if member.issym() or member.islnk() else "not a regular file"
        raise BundleError(f"{member.name}: {kind} in a bundle; refused")
    if member.name in seen:
        raise BundleError(f"{member.name}: twice in the bundle; refused")
    seen.add(member.name)


def _check_member_path(name: str) -> None:
    path = PurePosixPath(name)
    if name.startswith("/") or "\\" in name or re.match(r"[A-Za-z]:", name):
        raise BundleError(f"{name}: an absolute path in a bundle; refused")
    if ".." in path.parts:
        raise BundleError(f"{name}: a '..' path in a bundle; refused")
    if not name or str(path) != name or "." in name.split("/"):
        raise BundleError(f"{name!r}: not a plain relative path in a bundle; refused")


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
    (staging / MANIFEST).write_bytes(_manifest_bytes(manifest))
    for member, entry in _listed_members(archive, tar, manifest):
        path = staging.joinpath(*member.name.split("/"))
        reader = _Reader(tar.extractfile(member))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "xb") as handle:
                shutil.copyfileobj(reader, handle, _CHUNK)
            path.chmod(0o755 if member.mode & 0o111 else 0o644)
        except OSError as exc:
            raise BundleError(f"{member.name}: cannot extract it into {staging} ({exc})") from exc
        if reader.digest.hexdigest() != entry.sha256:
            raise _tampered(archive, member.name, "its SHA-256 changed during extraction")


def _manifest_bytes(manifest: Manifest) -> bytes:
    return json.dumps(manifest.to_dict(), indent=2).encode("utf-8")


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _strs(values: Any) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"expected a list of strings, got {values!r}")
    return tuple(_str(value) for value in values)


def _diff_from_dict(data: Any) -> BundleDiff:
    return BundleDiff(
        previous_id=_str(data["previous_id"]),
        added=_strs(data["added"]),
        removed=_strs(data["removed"]),
        changed=_strs(data["changed"]),
        requirements_changed=_strs(data["requirements_changed"]),
    )
