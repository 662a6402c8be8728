"""A bundle's manifest: what it holds, and what changed since the bundle before it.

``manifest.json`` is the first member of every bundle archive. Its JSON is the one bundles have
always carried (``format`` 1: the fields below, in this order, ``json.dumps`` with an indent of
2), so bundles made before these were pydantic models still read, verify and extract, and a
manifest read and written again is byte for byte the same.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from include.bundles.pins import read_pins
from include.errors import BundleError

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1

_BUNDLE_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")


class ManifestEntry(BaseModel):
    """One file of a bundle: its path inside the archive, SHA-256 (hex) and size in bytes."""

    model_config = ConfigDict(frozen=True)

    path: StrictStr
    sha256: StrictStr
    size: int


class BundleDiff(BaseModel):
    """What changed since ``previous_id``: file paths, and pins as ``pandas 3.1.0 -> 3.1.1``,
    ``+ foo==1.0`` (new) or ``- bar==2.0`` (dropped)."""

    model_config = ConfigDict(frozen=True)

    previous_id: StrictStr
    added: tuple[StrictStr, ...] = ()
    removed: tuple[StrictStr, ...] = ()
    changed: tuple[StrictStr, ...] = ()
    requirements_changed: tuple[StrictStr, ...] = ()


class Manifest(BaseModel):
    """What a bundle holds; ``source_revision`` is the git commit (``+dirty`` if the bundled
    paths had uncommitted changes), None when the source was not a git checkout."""

    model_config = ConfigDict(frozen=True)

    bundle_id: StrictStr
    release_notes: StrictStr
    created_at: StrictStr
    source_revision: StrictStr | None
    files: tuple[ManifestEntry, ...]
    requirements: tuple[StrictStr, ...]
    diff: BundleDiff | None = None

    def __init__(self, *args: Any, **fields: Any) -> None:
        # The fields may also be given in order, as to the dataclass this model replaced.
        super().__init__(**dict(zip(type(self).model_fields, args, strict=False)), **fields)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data, with its ``format`` first."""
        return {"format": MANIFEST_FORMAT, **self.model_dump(mode="json")}

    def to_bytes(self) -> bytes:
        """``manifest.json`` as bundles carry it."""
        return json.dumps(self.to_dict(), indent=2).encode("utf-8")

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        """The manifest in ``data``; BundleError if it is not one this code wrote."""
        if not isinstance(data, dict) or "format" not in data:
            raise BundleError(
                f"bundle manifest is malformed (not an object with a 'format': {data!r:.200}): "
                "make the bundle again"
            )
        if data["format"] != MANIFEST_FORMAT:
            raise BundleError(
                f"bundle manifest format {data['format']!r} is not supported (this code reads "
                f"format {MANIFEST_FORMAT}): make the bundle again with this version"
            )
        fields = {key: value for key, value in data.items() if key != "format"}
        try:
            manifest = cls.model_validate(fields)
        except ValidationError as exc:
            raise BundleError(
                f"bundle manifest is malformed ({_problems(exc)}): make the bundle again"
            ) from exc
        check_bundle_id(manifest.bundle_id)
        for entry in manifest.files:
            check_member_path(entry.path)
        return manifest


def _problems(error: ValidationError) -> str:
    """Each wrong field of a manifest and why, e.g. ``files.0.size: Input should be ...``."""
    return "; ".join(
        f"{'.'.join(map(str, problem['loc'])) or 'manifest'}: {problem['msg']}"
        for problem in error.errors(include_url=False)
    )


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


def check_member_path(name: str) -> None:
    """BundleError unless ``name`` is a plain relative path, one a bundle may hold."""
    path = PurePosixPath(name)
    if name.startswith("/") or "\\" in name or re.match(r"[A-Za-z]:", name):
        raise BundleError(f"{name}: an absolute path in a bundle; refused")
    if ".." in path.parts:
        raise BundleError(f"{name}: a '..' path in a bundle; refused")
    if not name or str(path) != name or "." in name.split("/"):
        raise BundleError(f"{name!r}: not a plain relative path in a bundle; refused")


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


def _pins(requirements: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Canonical package name -> (line, version); a package pinned twice keeps its last pin."""
    return {pin.name: (pin.line, pin.version) for pin in read_pins("\n".join(requirements))}
