"""How the summaries travel between Airflow tasks: JSON documents with their arrays packed.

A summary's arrays (bin counts, edges, a sketch) are written as base64 text of their
little-endian bytes, compressed with zlib: a grid of 131,072 mostly empty score bins takes a few
kilobytes instead of megabytes of JSON numbers.

Each summary reads its document through a pydantic model of the document (:class:`Document`)
whose fields use the types below (:data:`Count`, :data:`Number`, :data:`PackedCounts`,
:data:`PackedEdges`, ...): :func:`read` validates it and raises :class:`DataValidationError`
saying which entry of which summary is wrong, so that a damaged partial result stops the merge
instead of skewing it. The types keep JSON's own distinctions (a bool is not a count, text is
not a number): a document is what ``to_dict`` wrote, never something to coerce.
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator, ValidationError

from include.errors import DataValidationError


def pack(data: bytes) -> str:
    """Bytes as compressed base64 text."""
    return base64.b64encode(zlib.compress(data, 6)).decode("ascii")


def pack_counts(counts: np.ndarray) -> str:
    return pack(np.ascontiguousarray(counts, dtype="<i8").tobytes())


def pack_floats(values: np.ndarray) -> str:
    return pack(np.ascontiguousarray(values, dtype="<f8").tobytes())


# The validators of the types below: they raise ValueError, which pydantic reports with the
# entry's place in the document.


def as_bytes(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError(f"expected packed text, got {type(text).__name__}")
    try:
        return zlib.decompress(base64.b64decode(text.encode("ascii"), validate=True))
    except (binascii.Error, zlib.error, UnicodeEncodeError) as exc:
        raise ValueError(f"the packed data cannot be decoded ({exc})") from None


def _counts(text: Any) -> np.ndarray:
    data = as_bytes(text)
    if len(data) % 8:
        raise ValueError(f"expected whole int64 counts, got {len(data) / 8:g}")
    counts = np.frombuffer(data, dtype="<i8").astype(np.int64)
    if np.any(counts < 0):
        raise ValueError("a count is negative")
    return counts


def _edges(text: Any) -> np.ndarray:
    data = as_bytes(text)
    if len(data) % 8:
        raise ValueError("the edges are not a whole number of float64 values")
    edges = np.frombuffer(data, dtype="<f8").astype(np.float64)
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError("the edges are not finite and strictly ascending")
    return edges


def as_count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def as_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def _feature_name(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"the feature name {value!r} is not text")
    return value


def sketch_of(kind: Any, label: str) -> PlainValidator:
    """A packed DataSketches sketch of ``kind`` (``kind.deserialize`` reads its bytes)."""

    def read(text: Any) -> Any:
        data = as_bytes(text)
        try:
            return kind.deserialize(data)
        except (IndexError, RuntimeError, ValueError) as exc:
            raise ValueError(f"the {label} cannot be read ({exc})") from None

    return PlainValidator(read)


PackedCounts = Annotated[np.ndarray, PlainValidator(_counts)]
"""Non-negative int64 counts that :func:`pack_counts` wrote (the length is the summary's)."""
PackedEdges = Annotated[np.ndarray, PlainValidator(_edges)]
"""Finite, strictly ascending float64 values that :func:`pack_floats` wrote (may be empty)."""
Count = Annotated[int, PlainValidator(as_count)]
"""A non-negative int, not a bool."""
Number = Annotated[float, PlainValidator(as_number)]
"""A finite number (an int is read as a float), not a bool."""
FeatureName = Annotated[str, PlainValidator(_feature_name)]


def mapping_of(problem: str) -> BeforeValidator:
    """A mapping with text keys (its values validated as annotated), else ``problem``."""

    def check(value: Any) -> Any:
        if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
            raise ValueError(problem)
        return value

    return BeforeValidator(check)


class Document(BaseModel):
    """The model of a summary's document: its entries (``format`` and ``version`` are checked
    by :func:`read` first, other entries are ignored). A mapping field's ``title`` names its
    entries in errors: ``Field(title="rows of")`` gives "rows of 'x': -2 is not a count"."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


_Model = TypeVar("_Model", bound=Document)


def read(
    model: type[_Model], document: Any, kind: str, version: int, subject: str | None = None
) -> _Model:
    """``document`` validated as ``model``; DataValidationError naming the entry at fault, and
    the document as ``<subject> of <its name>`` when it has a name (``kind`` otherwise)."""
    document = check_header(document, kind, version)
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        name = document.get("name")
        what = f"{subject} of {name!r}" if subject and isinstance(name, str) else kind
        raise malformed(what, _problem(model, exc.errors()[0])) from None


def _problem(model: type[Document], error: Mapping[str, Any]) -> str:
    """One pydantic error as a sentence: ``<entry>: <what is wrong>``."""
    location = list(error["loc"])
    if error["type"] == "missing":
        return f"the entry {'.'.join(map(str, location))!r} is missing"
    cause = error.get("ctx", {}).get("error")
    problem = str(cause) if error["type"] == "value_error" and cause else error["msg"]
    if not location:
        return problem
    info = model.model_fields.get(str(location[0]))
    titled = len(location) > 1 and info is not None and info.title
    where = [info.title if titled else str(location[0])] + [repr(key) for key in location[1:]]
    return f"{' '.join(where)}: {problem}"


# Readers of one packed value or number outside a document, raising DataValidationError.


def unpack(text: Any, what: str) -> bytes:
    """The bytes that :func:`pack` wrote, or a DataValidationError naming ``what``."""
    return _checked(as_bytes, text, what)


def unpack_counts(text: Any, size: int, what: str) -> np.ndarray:
    """A vector of ``size`` non-negative int64 counts."""
    data = unpack(text, what)
    if len(data) != 8 * size:
        raise malformed(what, f"expected {size} counts, got {len(data) / 8:g}")
    return _checked(_counts, text, what)


def unpack_edges(text: Any, what: str) -> np.ndarray:
    """A strictly ascending vector of finite float64 edges (may be empty)."""
    return _checked(_edges, text, what)


def count(value: Any, what: str) -> int:
    """A non-negative int (not a bool)."""
    return _checked(as_count, value, what)


def number(value: Any, what: str) -> float:
    """A finite float (ints accepted)."""
    return _checked(as_number, value, what)


def _checked(read: Callable[[Any], Any], value: Any, what: str) -> Any:
    try:
        return read(value)
    except ValueError as exc:
        raise malformed(what, str(exc)) from None


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


def malformed(what: str, problem: str) -> DataValidationError:
    return DataValidationError(
        f"{what}: {problem}; the partial result is damaged or was written by another version: "
        "evaluate that partition again"
    )
