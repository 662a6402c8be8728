"""The stored drift analysis: a document of the earlier code reads back and writes unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from include.drift.document import DriftDocument, FeatureRow

# stored by the code before the analysis was a pydantic record (commit 06df9c2)
STORED = Path(__file__).parents[1] / "stored" / "drift_analysis.json"


def test_an_analysis_stored_by_earlier_code_round_trips_to_an_equal_document():
    stored = json.loads(STORED.read_text())

    document = DriftDocument.model_validate(stored)

    assert all(isinstance(row, FeatureRow) for row in document.features)
    assert document.data_drift.verdict == stored["data_drift"]["verdict"]
    assert document.to_dict() == stored
    assert json.loads(json.dumps(document.to_dict(), allow_nan=False)) == stored
