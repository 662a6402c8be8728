"""The document a quality tally travels as: what it refuses, and where it says the fault is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.errors import DataValidationError
from include.streaming.quality import QualityTally


@pytest.fixture
def document() -> dict:
    # written by QualityTally.to_dict at commit 70e39ca
    return json.loads((Path(__file__).parents[1] / "stored" / "quality_tally.json").read_text())


def _numeric(document: dict, **change) -> dict:
    numeric = {name: dict(counts) for name, counts in document["numeric"].items()}
    numeric["purchase_amount"].update(change)
    return {**document, "numeric": numeric}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: {**d, "rows": -1}, "rows: -1 is not a count"),
        (lambda d: {**d, "columns": ["a", 1]}, "columns must be a list of names"),
        (lambda d: {**d, "missing": {}}, "missing: expected entries"),
        (lambda d: {**d, "labelled": d["rows"] + 1}, "its counts exceed its rows"),
        (lambda d: _numeric(d, minimum=None), "numeric 'purchase_amount': None is not a finite"),
        (lambda d: _numeric(d, maximum="big"), "'big' is not a finite number"),
        (lambda d: _numeric(d, extra=1), "extra"),
        (lambda d: {k: v for k, v in d.items() if k != "categorical"}, "'categorical' is missing"),
        (lambda d: {**d, "expectations": {"format": 1}}, "'expectations.label' is missing"),
    ],
)
def test_a_damaged_document_says_where(document, damage, message):
    with pytest.raises(DataValidationError, match=message) as raised:
        QualityTally.from_dict(damage(document))

    assert str(raised.value).startswith("mes-quality-tally: ")
    assert "evaluate that partition again" in str(raised.value)


def test_infinite_extremes_are_read_from_text(document):
    tally = QualityTally.from_dict(document)

    assert tally.numeric["purchase_amount"].minimum == float("-inf")
    assert document["numeric"]["purchase_amount"]["minimum"] == "-inf"
