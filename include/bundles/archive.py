"""Make bundle archives.

An archive is a gzip-compressed tar whose first member is ``manifest.json``
(:mod:`include.bundles.manifest`); every other member is a regular file listed in the manifest
with its SHA-256 and size. Member headers carry no time, owner or permissions beyond the
executable bit, and members are in sorted order, so the same tree gives the same files and
checksums. Reading, verifying and extracting archives is :mod:`include.bundles.tarball`; its
functions and the manifest's are importable from here too, where they have always been.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import tarfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from include.bundles.manifest import (
    MANIFEST,
    MANIFEST_FORMAT,
    BundleDiff,
    Manifest,
    ManifestEntry,
    check_bundle_id,
    check_name,
    compare,
    pinned_requirements,
)
from include.bundles.tarball import (
    HashingReader,
    extract_bundle,
    read_manifest,
    sha256_file,
    verify_bundle,
)
from include.errors import BundleError
from include.files import write_atomically
from include.paths import REPO_ROOT

__all__ = [
    "MANIFEST",
    "MANIFEST_FORMAT",
    "REQUIREMENTS",
    "SOURCE_FOLDERS",
    "BundleDiff",
    "Manifest",
    "ManifestEntry",
    "check_bundle_id",
    "check_name",
    "compare",
    "create_bundle",
    "extract_bundle",
    "pinned_requirements",
    "read_manifest",
    "sha256_file",
    "verify_bundle",
]

SOURCE_FOLDERS = ("dags", "plugins", "include")
REQUIREMENTS = "requirements.txt"


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
        manifest = manifest.model_copy(update={"diff": compare(previous, manifest)})

    def write(handle: BinaryIO) -> None:
        with (
            gzip.GzipFile(fileobj=handle, mode="wb", mtime=0, filename="") as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            body = manifest.to_bytes()
            tar.addfile(_header(MANIFEST, len(body), executable=False), io.BytesIO(body))
            for entry in files:
                local = members[entry.path]
                with open(local, "rb") as stream:
                    reader = HashingReader(stream)
                    header = _header(entry.path, entry.size, os.access(local, os.X_OK))
                    try:
                        tar.addfile(header, reader)
                    except OSError as exc:
                        raise _changed(local) from exc
                if reader.digest.hexdigest() != entry.sha256 or local.stat().st_size != entry.size:
                    raise _changed(local)

    return write_atomically(archive, write)


# -- making -------------------------------------------------------------------------------------


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
