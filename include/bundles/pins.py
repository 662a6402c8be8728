"""The pins of a requirements file (``name==version``), read once with ``packaging``.

A bundle's manifest records the pinned lines of its ``requirements.txt``; the diff between two
bundles and the deployer's check of a target's Python both read them back through ``read_pins``.

What is exact: a line is read as pip reads it (a ``#`` at the start or after white space starts a
comment, a trailing ``\\`` continues the line, pip options such as ``--hash`` after the requirement
are not part of it) and parsed with ``packaging.requirements.Requirement`` (PEP 508). A pin is a
requirement with exactly one version clause, ``==`` without a wildcard or ``===``; its name is
canonicalised (``Foo_Bar`` and ``foo-bar`` are one package). A pin whose environment marker does
not hold for the running Python is skipped: the target is checked with the interpreter's own
marker values, not the target's, which are the same when the deployer runs on the target's image.

What is left out, without error: blank lines, comments, pip options (``-r``, ``-e``, ``--hash``
...), paths and URLs, and requirements that do not pin (``requests>=2``, ``foo==1.*``,
``foo==1.0,<2``, ``foo @ https://...``). Any other line that is not a valid requirement raises a
``BundleError`` naming its line number, as pip would refuse it when installing the bundle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import Specifier
from packaging.utils import canonicalize_name

from include.errors import BundleError

# pip's rule: a comment starts with '#' at the start of a line or after white space.
_COMMENT = re.compile(r"(^|\s+)#.*$")
# pip's rule: the first token starting with '-' begins the line's options.
_OPTIONS = re.compile(r"\s+-")


@dataclass(frozen=True)
class Pin:
    """One pinned requirement: ``name`` canonicalised, ``specifier`` its one exact clause
    (``==1.0`` or ``===1.0``), ``line`` as written without comment or options."""

    name: str
    specifier: Specifier
    line: str

    @property
    def version(self) -> str:
        """The pinned version as written (``3.1.0`` for ``pandas==3.1.0``)."""
        return self.specifier.version

    def satisfied_by(self, installed: str | None) -> bool:
        """Whether an installed version meets the pin, by PEP 440 (``==1.0`` holds for
        ``1.0.0``; ``===1.0`` only for ``1.0``); an absent or unparseable version does not."""
        return installed is not None and self.specifier.contains(installed, prereleases=True)

    def __str__(self) -> str:
        return f"{self.name}{self.specifier}"


def read_pins(text: str) -> tuple[Pin, ...]:
    """The pins of the requirements file ``text`` that apply to the running Python, in file
    order (a package pinned twice appears twice; callers keep the last)."""
    pins = []
    for number, line in _logical_lines(text):
        requirement = _requirement(number, line)
        if requirement is None or not _applies(requirement):
            continue
        clauses = list(requirement.specifier)
        if len(clauses) == 1 and _exact(clauses[0]):
            pins.append(Pin(canonicalize_name(requirement.name), clauses[0], line))
    return tuple(pins)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each requirement, comments, continuations and options
    removed; blank lines and option-only lines (``-r base.txt``) are left out."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw).rstrip()
        start, before = pending if pending is not None else (number, "")
        line = before + line  # as pip joins them, with no separator added
        if line.endswith("\\"):
            pending = (start, line[:-1])
            continue
        pending = None
        joined.append((start, line))
    if pending is not None:
        joined.append(pending)
    lines = []
    for number, line in joined:
        requirement = _OPTIONS.split(line.strip(), maxsplit=1)[0].strip()
        if requirement and not requirement.startswith("-"):
            lines.append((number, requirement))
    return lines


def _requirement(number: int, line: str) -> Requirement | None:
    """The parsed requirement, None for a path or URL, which pip accepts but which pins nothing."""
    try:
        return Requirement(line)
    except InvalidRequirement as exc:
        if line.startswith(".") or "/" in line or "\\" in line:
            return None
        reason = str(exc).splitlines()[0]
        raise BundleError(
            f"line {number} of the requirements, {line!r}, is not a valid requirement "
            f"({reason}): correct it in requirements.txt (e.g. pandas==3.1.1)"
        ) from exc


def _applies(requirement: Requirement) -> bool:
    return requirement.marker is None or requirement.marker.evaluate()


def _exact(clause: Specifier) -> bool:
    return clause.operator == "===" or (
        clause.operator == "==" and not clause.version.endswith(".*")
    )
