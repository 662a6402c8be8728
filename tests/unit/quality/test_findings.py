"""The quality report as stored with an evaluation: read back and written again unchanged."""

from __future__ import annotations

import json
import math
from pathlib import Path

from include.quality.expectations import NumericRange
from include.quality.findings import QualityReport, range_finding

# stored by the code before the report was a pydantic record (commit 06df9c2)
STORED = Path(__file__).parents[1] / "stored" / "quality_report.json"


def test_a_report_stored_by_earlier_code_round_trips_to_an_equal_document():
    stored = json.loads(STORED.read_text())
    report = QualityReport.model_validate(stored)

    assert not report.passed
    assert report.warnings[2].details["examples"] == {"drones": 10}
    assert report.to_dict() == stored


def test_infinite_observed_values_are_stored_as_null():
    finding = range_finding(
        "amount",
        2,
        0.01,
        NumericRange(kind="float", minimum=0.0, maximum=1.0),
        below=1,
        above=1,
        observed=(-math.inf, math.inf),
    )

    details = json.loads(json.dumps(finding.to_dict(), allow_nan=False))["details"]
    assert (details["observed_min"], details["observed_max"]) == (None, None)
