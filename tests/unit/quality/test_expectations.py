"""Reference expectations as saved in model versions: read back and written again unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.errors import ModelIntegrityError
from include.quality.expectations import NumericRange, ReferenceExpectations

# saved by the code before the expectations were a pydantic record (commit 06df9c2)
STORED = Path(__file__).parents[1] / "stored" / "reference_expectations.json"


@pytest.fixture
def saved() -> dict:
    return json.loads(STORED.read_text())


def test_expectations_saved_by_earlier_code_round_trip_to_an_equal_document(saved):
    expectations = ReferenceExpectations.from_dict(saved)

    assert isinstance(expectations.numeric["card_age"], NumericRange)
    assert expectations.to_dict() == saved
    assert json.loads(json.dumps(expectations.to_dict(), allow_nan=False)) == saved


def test_a_document_without_its_format_or_of_another_format_is_refused(saved):
    for broken in ({k: v for k, v in saved.items() if k != "format"}, {**saved, "format": 2}):
        with pytest.raises(ModelIntegrityError, match="format"):
            ReferenceExpectations.from_dict(broken)


def test_a_malformed_value_is_named(saved):
    saved["numeric"]["card_age"]["minimum"] = "young"

    with pytest.raises(ModelIntegrityError, match=r"numeric\.card_age\.minimum"):
        ReferenceExpectations.from_dict(saved)
