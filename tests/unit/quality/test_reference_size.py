"""The quality gate's learned expectations account for how many rows the reference has."""

from __future__ import annotations

import json

import pytest

from include.quality.gate import (
    MIN_REFERENCE_ROWS,
    ReferenceExpectations,
    allowed_shares,
    derive_expectations,
    validate_batch,
)


def test_a_19_row_reference_does_not_fail_every_batch(make_frame, config):
    # the issue: a 19-row reference, batches of about 90 rows from the same data, all "failed"
    expectations = derive_expectations(make_frame(19, seed=5), config)
    assert not expectations.learns_ranges
    for seed in (6, 7, 8):
        report = validate_batch(make_frame(90, seed=seed), expectations, config)
        assert report.passed, report.summary()
        assert report.notes == (
            "ranges and categories not checked: the reference holds 19 rows, too few to learn "
            f"them (at least {MIN_REFERENCE_ROWS}); a new value outside the range of so few is "
            "expected by chance",
        )
        assert "ranges and categories not checked" in report.summary()
        assert json.loads(json.dumps(report.to_dict()))["notes"] == list(report.notes)


def test_a_small_reference_still_checks_missing_values(make_frame, config):
    expectations = derive_expectations(make_frame(19, seed=5), config)
    batch = make_frame(90, seed=6)
    batch.loc[:44, "card_age"] = None  # half missing, against none in the reference
    report = validate_batch(batch, expectations, config)
    assert [w.column for w in report.warnings] == ["card_age"]


def test_the_allowed_share_shrinks_with_the_reference(make_frame, config):
    small = derive_expectations(make_frame(400, seed=0), config)
    large = derive_expectations(make_frame(10_000, seed=0), config)
    # Beta(2, n - 1) 95 % quantile: 4.74 / n roughly
    assert allowed_shares(small, 0.001)["range"] == pytest.approx(0.001 + 0.0118, abs=3e-4)
    assert allowed_shares(large, 0.001)["range"] == pytest.approx(0.001 + 0.000474, abs=2e-5)
    # no missing value in the reference: the Wilson upper bound of 0 of n
    assert allowed_shares(small, 0.0)["missing:card_age"] == pytest.approx(0.0095, abs=1e-4)


def test_a_batch_from_the_same_data_passes_a_modest_reference(make_frame, config):
    # 300 rows: about 0.7 % of new values fall outside its ranges by chance alone
    expectations = derive_expectations(make_frame(300, seed=3), config)
    assert expectations.learns_ranges
    report = validate_batch(make_frame(5_000, seed=4), expectations, config)
    assert report.passed, report.summary()


def test_expectations_saved_before_singleton_shares_still_load(make_frame, config):
    saved = derive_expectations(make_frame(400, seed=0), config).to_dict()
    del saved["singleton_share"]
    assert ReferenceExpectations.from_dict(saved).singleton_share == {}
