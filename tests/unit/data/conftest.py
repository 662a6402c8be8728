"""Rows and a fingerprint shared by the tests of the row sources."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from include.periods import Period

Q2 = Period.parse("2017Q2")


def rows() -> pd.DataFrame:
    """Six rows around the edges of 2017Q2: its first and last instant, and just outside."""
    return pd.DataFrame(
        {
            "when": pd.to_datetime(
                [
                    "2017-03-31 23:59:59",
                    "2017-04-01 00:00:00",
                    "2017-05-15 12:00:00",
                    "2017-06-30 23:59:59",
                    "2017-07-01 00:00:00",
                    "2017-08-01 00:00:00",
                ]
            ),
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "zip": ["01234", "02345", "03456", "04567", "05678", "06789"],
            "label": [0, 1, 0, 1, 0, 1],
        }
    )


def digest(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
