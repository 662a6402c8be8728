from __future__ import annotations

from typing import Annotated

import numpy as np
import pytest
from pydantic import Field

from include.errors import DataValidationError
from include.streaming import encoding


def test_counts_and_edges_round_trip_compactly():
    counts = np.zeros(145_410, dtype=np.int64)
    counts[[3, 70_000]] = [5, 2**40]
    packed = encoding.pack_counts(counts)
    edges = np.array([-1.5, 0.1, 2.0**-1000, 3e300])

    assert np.array_equal(encoding.unpack_counts(packed, counts.size, "counts"), counts)
    assert len(packed) < 5_000  # 1.2 MB of mostly empty bins
    assert np.array_equal(
        encoding.unpack_edges(encoding.pack_floats(np.sort(edges)), "e"), np.sort(edges)
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: encoding.unpack(7, "part"), "part: expected packed text, got int"),
        (lambda: encoding.unpack("not base64!", "part"), "cannot be decoded"),
        (lambda: encoding.unpack_counts(encoding.pack(b"abc"), 1, "part"), "expected 1 counts"),
        (
            lambda: encoding.unpack_edges(encoding.pack_floats(np.array([2.0, 1.0])), "e"),
            "ascending",
        ),
        (lambda: encoding.unpack_edges(encoding.pack_floats(np.array([np.nan])), "e"), "finite"),
        (lambda: encoding.count(True, "rows"), "True is not a count"),
        (lambda: encoding.number(float("inf"), "mean"), "not a finite number"),
        (lambda: encoding.check_header({"format": "x"}, "y", 1), "declares format 'x'"),
    ],
)
def test_damaged_parts_are_refused_with_what_to_do(call, message):
    with pytest.raises(DataValidationError, match=message) as raised:
        call()

    assert "evaluate that partition again" in str(raised.value)


class _Document(encoding.Document):
    name: encoding.FeatureName
    rows: encoding.Count
    mean: encoding.Number
    counts: encoding.PackedCounts
    per_kind: Annotated[dict[str, encoding.Count], encoding.mapping_of("map kinds to rows")] = (
        Field(title="rows of")
    )


def _document(**change) -> dict:
    packed = encoding.pack_counts(np.array([1, 2]))
    document = {"format": "f", "version": 1, "name": "age", "rows": 3, "mean": 1}
    return document | {"counts": packed, "per_kind": {"a": 1}} | change


def test_a_document_is_read_into_its_model():
    read = encoding.read(_Document, _document(), "f", 1)

    assert (read.name, read.rows, read.mean, read.per_kind) == ("age", 3, 1.0, {"a": 1})
    assert np.array_equal(read.counts, [1, 2])
    assert isinstance(read.mean, float)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rows": 1.0}, "^summary of 'age': rows: 1.0 is not a count"),
        ({"rows": False}, "rows: False is not a count"),
        ({"mean": "1"}, "mean: '1' is not a finite number"),
        ({"counts": encoding.pack_counts(np.array([-1]))}, "counts: a count is negative"),
        ({"per_kind": {"a": -1}}, "rows of 'a': -1 is not a count"),
        ({"per_kind": [1]}, "per_kind: map kinds to rows"),
        ({"name": 7}, "^f: name: the feature name 7 is not text"),
        ({"version": 2}, "declares format 'f' version 2"),
    ],
)
def test_a_malformed_entry_is_named_in_the_error(change, message):
    with pytest.raises(DataValidationError, match=message):
        encoding.read(_Document, _document(**change), "f", 1, "summary")


def test_a_missing_entry_is_named():
    document = _document()
    del document["mean"]

    with pytest.raises(DataValidationError, match="the entry 'mean' is missing"):
        encoding.read(_Document, document, "f", 1)
