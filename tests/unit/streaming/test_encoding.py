from __future__ import annotations

import numpy as np
import pytest

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
