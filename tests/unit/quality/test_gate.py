"""The data quality gate: fatal problems raise one clear error, everything else is a warning.

Great Expectations is slow to import and to run, so the batches that reach it are validated once
per module (fixtures); the fatal checks raise before it is involved and are cheap to test.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from include.config import parse_config
from include.errors import (
    ConfigurationError,
    DataValidationError,
    EmptyBatchError,
    ModelIntegrityError,
)
from include.quality.gate import (
    QualityReport,
    ReferenceExpectations,
    derive_expectations,
    validate_batch,
)

LABEL = "authorized_flag"


@pytest.fixture(scope="module")
def reference(make_frame):
    return make_frame(400, seed=0, reference=True)


@pytest.fixture(scope="module")
def expectations(reference, config):
    return derive_expectations(reference, config)


@pytest.fixture
def batch(make_frame):
    return make_frame(200, seed=1)


@pytest.fixture(scope="module")
def clean_report(make_frame, expectations, config) -> QualityReport:
    batch = make_frame(2_000, seed=1)
    # the same categories written as text are not new categories
    batch["merchant_category_id"] = batch["merchant_category_id"].astype(str)
    return validate_batch(batch, expectations, config)


@pytest.fixture(scope="module")
def drifted_report(make_frame, expectations, config) -> QualityReport:
    batch = make_frame(2_000, seed=2)
    batch.loc[0:59, "purchase_amount"] = 900.0  # 60 above the reference's maximum of 500
    batch.loc[60:79, "purchase_amount"] = -5.0  # 20 below its minimum of 0.5
    batch.loc[0:39, "item_category"] = "drones"
    batch.loc[40:49, "item_category"] = "boats"
    batch.loc[100:129, "card_age"] = np.nan
    batch.loc[200, "card_fico_score"] = 900  # one value, 0.05 %: within the tolerance
    return validate_batch(batch, expectations, config)


def _finding(report: QualityReport, column: str, expectation: str):
    matches = [w for w in report.warnings if w.column == column and expectation in w.expectation]
    assert len(matches) == 1, report.summary()
    return matches[0]


# --- derived expectations --------------------------------------------------------------------


def test_expectations_describe_the_reference(expectations, config):
    assert expectations.numeric["purchase_amount"].minimum == 0.5
    assert expectations.numeric["purchase_amount"].maximum == 500.0
    assert expectations.numeric["card_age"].kind == "integer"
    assert expectations.numeric["card_latitude"].kind == "float"
    assert expectations.categorical["merchant_category_id"] == ("11", "12", "13", "14", "15")
    assert expectations.categorical["item_category"] == ("A", "B", "C", "D")
    assert expectations.label_values == (0, 1)
    assert expectations.date_column == config.date_column
    assert set(expectations.missing_share) == {*config.features, config.date_column}
    assert expectations.row_count == 400


def test_expectations_round_trip_through_json(expectations):
    text = json.dumps(expectations.to_dict())
    assert ReferenceExpectations.from_dict(json.loads(text)) == expectations


def test_malformed_saved_expectations_are_refused(expectations):
    saved = expectations.to_dict()
    del saved["numeric"]
    with pytest.raises(ModelIntegrityError, match="derive_expectations"):
        ReferenceExpectations.from_dict(saved)


def test_expectations_for_another_configuration_are_refused(expectations, config, batch):
    raw = config.model_dump()
    raw["numeric_features"] = [*config.numeric_features[:-1]]
    with pytest.raises(ConfigurationError, match="days_active"):
        validate_batch(batch, expectations, parse_config(raw))


def test_a_reference_with_three_label_values_is_refused(reference, config):
    broken = reference.assign(**{LABEL: np.arange(len(reference)) % 3})
    with pytest.raises(DataValidationError, match="3 values"):
        derive_expectations(broken, config)


def test_a_positive_class_the_reference_lacks_is_a_configuration_error(reference, config):
    other = parse_config({**config.model_dump(), "positive_class": "yes"})
    with pytest.raises(ConfigurationError, match="positive_class 'yes'"):
        derive_expectations(reference, other)


# --- warnings --------------------------------------------------------------------------------


def test_a_clean_batch_passes(clean_report):
    assert clean_report.passed, clean_report.summary()
    assert clean_report.warnings == ()
    assert clean_report.row_count == 2_000
    assert clean_report.label_checked
    assert clean_report.summary() == "data quality passed: 2,000 rows, no warnings"


def test_out_of_range_values_are_a_warning_with_counts(drifted_report):
    finding = _finding(drifted_report, "purchase_amount", "between")
    assert finding.unexpected_count == 80
    assert finding.unexpected_share == pytest.approx(0.04)
    assert finding.details["below"] == 20
    assert finding.details["above"] == 60
    assert finding.details["observed_max"] == 900.0
    assert finding.details["expected_max"] == 500.0
    assert "purchase_amount" in finding.message
    assert "[0.5, 500]" in finding.message


def test_new_categories_are_a_warning_with_examples(drifted_report):
    finding = _finding(drifted_report, "item_category", "in_set")
    assert finding.unexpected_count == 50
    assert finding.unexpected_share == pytest.approx(0.025)
    assert finding.details == {"new_categories": 2, "examples": {"drones": 40, "boats": 10}}
    assert "'drones' (40 rows)" in finding.message


def test_missing_values_are_a_warning(drifted_report):
    finding = _finding(drifted_report, "card_age", "not_be_null")
    assert finding.unexpected_count == 30
    assert finding.unexpected_share == pytest.approx(0.015)


def test_a_share_within_the_tolerance_is_not_a_warning(drifted_report):
    assert "card_fico_score" not in {w.column for w in drifted_report.warnings}


def test_the_report_lists_only_what_was_broken(drifted_report):
    assert not drifted_report.passed
    assert {w.column for w in drifted_report.warnings} == {
        "purchase_amount",
        "item_category",
        "card_age",
    }


def test_the_report_is_json_and_one_line(drifted_report):
    data = json.loads(json.dumps(drifted_report.to_dict()))
    assert data["passed"] is False
    assert len(data["warnings"]) == 3
    summary = drifted_report.summary()
    assert "\n" not in summary
    assert summary.startswith("data quality: 3 warnings on 2,000 rows")
    assert "item_category new categories (50, 2.50%)" in summary


def test_check_label_false_does_not_read_the_label(make_frame, expectations, config):
    batch = make_frame(500, seed=3).drop(columns=[LABEL])
    report = validate_batch(batch, expectations, config, check_label=False)
    assert report.passed, report.summary()
    assert not report.label_checked
    assert report.labelled_rows is None
    assert "label not checked" in report.summary()


def test_a_batch_without_its_label_column_is_one_whose_labels_are_not_in_yet(
    make_frame, expectations, config
):
    batch = make_frame(500, seed=3).drop(columns=[LABEL])
    report = validate_batch(batch, expectations, config)
    assert report.passed, report.summary()
    assert report.labelled_rows == 0
    assert report.to_dict()["labelled_rows"] == 0
    assert f"no label column {LABEL!r}: no row is labelled yet" in report.summary()


def test_a_misspelt_label_column_is_named_in_the_note(make_frame, expectations, config):
    batch = make_frame(500, seed=3).rename(columns={LABEL: "Authorized_Flag"})
    report = validate_batch(batch, expectations, config)
    assert "did you mean 'Authorized_Flag'?" in report.summary()


def test_labels_missing_on_some_rows_are_counted_not_refused(make_frame, expectations, config):
    batch = make_frame(500, seed=3)
    batch[LABEL] = batch[LABEL].astype(float)
    batch.loc[0:199, LABEL] = np.nan
    report = validate_batch(batch, expectations, config)
    assert report.passed, report.summary()
    assert report.labelled_rows == 300
    assert f"label {LABEL!r} known on 300 rows of 500 (60.00%)" in report.summary()


def test_a_batch_with_no_label_known_yet_says_so(make_frame, expectations, config):
    batch = make_frame(500, seed=3).assign(**{LABEL: np.nan})
    report = validate_batch(batch, expectations, config)
    assert report.labelled_rows == 0
    assert f"label {LABEL!r} missing on all 500 rows: not labelled yet" in report.summary()


def test_a_fully_labelled_batch_has_no_label_note(clean_report):
    assert clean_report.labelled_rows == 2_000
    assert clean_report.notes == ()


# --- fatal problems --------------------------------------------------------------------------


def test_an_empty_batch_raises(batch, expectations, config):
    with pytest.raises(EmptyBatchError, match="no rows"):
        validate_batch(batch.iloc[0:0], expectations, config)


def test_a_misspelt_column_raises_with_a_suggestion(batch, expectations, config):
    batch = batch.rename(columns={"card_age": "card_agee"})
    with pytest.raises(
        DataValidationError, match="'card_age' is missing; did you mean 'card_agee'"
    ):
        validate_batch(batch, expectations, config)


def test_a_missing_column_lists_the_unclaimed_columns(batch, expectations, config):
    batch = batch.drop(columns=["merchant_subsector_description"]).assign(extra=1)
    with pytest.raises(DataValidationError) as caught:
        validate_batch(batch, expectations, config)
    assert "'merchant_subsector_description' is missing" in str(caught.value)
    assert "'extra'" in str(caught.value)


def test_text_in_a_numeric_feature_raises_with_its_dtype(batch, expectations, config):
    batch["purchase_amount"] = batch["purchase_amount"].astype(str)
    batch.loc[3, "purchase_amount"] = "twelve"
    with pytest.raises(DataValidationError) as caught:
        validate_batch(batch, expectations, config)
    message = str(caught.value)
    assert "numeric feature 'purchase_amount' has dtype" in message
    assert "'twelve'" in message


def test_a_label_outside_the_classes_says_an_unknown_label_may_be_left_empty(
    batch, expectations, config
):
    batch.loc[0, LABEL] = 2
    with pytest.raises(DataValidationError) as caught:
        validate_batch(batch, expectations, config)
    assert "leave the label empty (null) where it is not known" in str(caught.value)


def test_a_label_outside_the_classes_raises_with_examples(batch, expectations, config):
    batch.loc[0:4, LABEL] = 2
    batch.loc[5, LABEL] = -1
    with pytest.raises(DataValidationError) as caught:
        validate_batch(batch, expectations, config)
    message = str(caught.value)
    assert f"label {LABEL!r} has 6 values outside the classes [0, 1]" in message
    assert "2 (5 rows), -1 (1 row)" in message


def test_label_nulls_beside_a_broken_label_are_not_a_problem(batch, expectations, config):
    batch[LABEL] = batch[LABEL].astype(float)
    batch.loc[0:2, LABEL] = np.nan
    batch.loc[3, LABEL] = 7
    with pytest.raises(DataValidationError) as caught:
        validate_batch(batch, expectations, config)
    assert "(1 problem;" in str(caught.value)
    assert "7 (1 row)" in str(caught.value)


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["2017-04-01", "not a date"], "has 100 unparseable values"),
        ([20170401, 20170402], "has dtype int64, not dates"),
    ],
)
def test_unparseable_dates_raise(batch, expectations, config, dates, expected):
    batch["purchase_date"] = pd.Series(dates * (len(batch) // 2))
    with pytest.raises(DataValidationError) as caught:
        validate_batch(batch, expectations, config)
    assert f"date column 'purchase_date' {expected}" in str(caught.value)


def test_every_fatal_problem_is_reported_in_one_error(batch, expectations, config):
    batch = batch.rename(columns={"card_age": "Card_Age"})
    batch["card_fico_score"] = "high"
    batch.loc[0, LABEL] = 7
    batch["purchase_date"] = "someday"
    with pytest.raises(DataValidationError) as caught:
        validate_batch(batch, expectations, config)
    message = str(caught.value)
    assert "4 problems" in message
    for expected in ("did you mean 'Card_Age'", "'card_fico_score'", "7 (1 row)", "'someday'"):
        assert expected in message
    assert len(message.splitlines()) == 5


def test_a_label_is_not_checked_when_not_required(batch, expectations, config):
    batch.loc[0, LABEL] = 7
    batch["purchase_date"] = "someday"
    with pytest.raises(DataValidationError) as caught:
        validate_batch(batch, expectations, config, check_label=False)
    assert LABEL not in str(caught.value)
