"""How the summaries travel between Airflow tasks: JSON documents with their arrays packed.

A summary's arrays (bin counts, edges, a sketch) are written as base64 text of their
little-endian bytes, compressed with zlib: a grid of 131,072 mostly empty score bins takes a few
kilobytes instead of megabytes of JSON numbers. Reading checks everything and raises
:class:`DataValidationError` saying which part of which summary is wrong, so that a damaged
partial result stops the merge instead of skewing it.
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from include.errors import DataValidationError


def pack(data: bytes) -> str:
    """Bytes as compressed base64 text."""
    return base64.b64encode(zlib.compress(data, 6)).decode("ascii")


def unpack(text: Any, what: str) -> bytes:
    """The bytes that :func:`pack` wrote, or a DataValidationError naming ``what``."""
    if not isinstance(text, str):
        raise malformed(what, f"expected packed text, got {type(text).__name__}")
    try:
        return zlib.decompress(base64.b64decode(text.encode("ascii"), validate=True))
    except (binascii.Error, zlib.error, UnicodeEncodeError) as exc:
        raise malformed(what, f"the packed data cannot be decoded ({exc})") from None


def pack_counts(counts: np.ndarray) -> str:
    return pack(np.ascontiguousarray(counts, dtype="<i8").tobytes())


def unpack_counts(text: Any, size: int, what: str) -> np.ndarray:
    """A vector of ``size`` non-negative int64 counts."""
    data = unpack(text, what)
    if len(data) != 8 * size:
        raise malformed(what, f"expected {size} counts, got {len(data) / 8:g}")
    counts = np.frombuffer(data, dtype="<i8").astype(np.int64)
    if np.any(counts < 0):
        raise malformed(what, "a count is negative")
    return counts


def pack_floats(values: np.ndarray) -> str:
    return pack(np.ascontiguousarray(values, dtype="<f8").tobytes())


def unpack_edges(text: Any, what: str) -> np.ndarray:
    """A strictly ascending vector of finite float64 edges (may be empty)."""
    data = unpack(text, what)
    if len(data) % 8:
        raise malformed(what, "the edges are not a whole number of float64 values")
    edges = np.frombuffer(data, dtype="<f8").astype(np.float64)
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise malformed(what, "the edges are not finite and strictly ascending")
    return edges


def check_header(document: Any, kind: str, version: int) -> Mapping[str, Any]:
    """The document if it is a mapping declaring ``format: kind`` and ``version``."""
    if not isinstance(document, Mapping):
        raise malformed(kind, f"expected a mapping, got {type(document).__name__}")
    if document.get("format") != kind or document.get("version") != version:
        raise malformed(
            kind,
            f"it declares format {document.get('format')!r} version "
            f"{document.get('version')!r}, expected {kind!r} version {version}",
        )
    return document


def field(document: Mapping[str, Any], key: str, kind: str) -> Any:
    """``document[key]``, or a DataValidationError naming the missing entry."""
    try:
        return document[key]
    except KeyError:
        raise malformed(kind, f"the entry {key!r} is missing") from None


def count(value: Any, what: str) -> int:
    """A non-negative int (not a bool)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise malformed(what, f"{value!r} is not a count")
    return value


def number(value: Any, what: str) -> float:
    """A finite float (ints accepted)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise malformed(what, f"{value!r} is not a finite number")
    return float(value)


def malformed(what: str, problem: str) -> DataValidationError:
    return DataValidationError(
        f"{what}: {problem}; the partial result is damaged or was written by another version: "
        "evaluate that partition again"
    )
