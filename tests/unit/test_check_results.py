"""Check results as stored in the MES and pushed to XCom: read back and written unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from include.check_results import CheckOutcome, CheckResult

# stored by the code before results were a pydantic record (commit 06df9c2)
STORED = Path(__file__).parent / "stored" / "check_results.json"


def test_results_stored_by_earlier_code_round_trip_to_equal_documents():
    stored = json.loads(STORED.read_text())

    results = [CheckResult.model_validate(document) for document in stored]

    assert results[0].outcome is CheckOutcome.WARNING
    assert [result.to_dict() for result in results] == stored


def test_a_result_with_an_unknown_outcome_is_refused():
    with pytest.raises(ValidationError, match="WARNING"):
        CheckResult("drift", "data_drift", "MAYBE", 0.5, "")
