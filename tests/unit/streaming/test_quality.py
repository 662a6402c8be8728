"""The quality gate from chunks: a merged QualityTally reports what validate_batch reports.

Every comparison is with ``validate_batch`` (Great Expectations) on the whole batch, computed
once per module: the reports must be equal, field for field (counts, shares, details, messages,
their order, notes, labelled rows).
"""

from __future__ import annotations

import itertools
import json
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.config import load_config
from include.errors import ConfigurationError, DataValidationError, EmptyBatchError
from include.quality.gate import allowed_shares, derive_expectations, validate_batch
from include.streaming.quality import MAX_NEW_CATEGORIES, QualityTally
from include.tutorial.generator import generate_tables
from include.tutorial.prepare import prepare_transactions


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture(scope="module")
def quarters(config):
    """The tutorial's Q1 (the reference) and Q2 (batches), labels of the last 20 days withheld."""
    tables = generate_tables(
        transactions_per_quarter=3_000, quarters=("2017Q1", "2017Q2"), label_delay_days=20
    )
    frame = prepare_transactions(tables)
    q1 = frame[config.date_column] < pd.Timestamp("2017-04-01")
    reference = frame[q1].reset_index(drop=True)
    reference = reference[reference[config.label].notna()].reset_index(drop=True)
    return reference, frame[~q1].reset_index(drop=True)


@pytest.fixture(scope="module")
def expectations(quarters, config):
    return derive_expectations(quarters[0], config)


def _broken(batch: pd.DataFrame, config) -> pd.DataFrame:
    """Out-of-range (and infinite) values, new categories written as numbers and text, extra
    missing values in features and dates, unlabelled rows."""
    batch = batch.copy()
    batch.loc[0:59, "purchase_amount"] = 1e6
    batch.loc[60:69, "purchase_amount"] = -np.inf
    batch.loc[70:74, "purchase_amount"] = np.inf
    batch.loc[75:89, "purchase_amount"] = np.nan
    batch.loc[100:140, "card_fico_score"] = 10
    batch["item_category"] = batch["item_category"].astype(object)
    batch.loc[0:39, "item_category"] = "drones"
    batch.loc[40:79, "item_category"] = 7
    batch.loc[80:119, "item_category"] = "boats"
    batch.loc[120:129, "item_category"] = None
    batch.loc[500:800, "merchant_category_id"] = 999_999
    batch.loc[1000:1100, config.date_column] = pd.NaT
    batch["card_age"] = batch["card_age"].astype("float64")
    batch.loc[2000:2060, "card_age"] = np.nan
    return batch


@pytest.fixture(scope="module")
def batches(quarters, config):
    clean = quarters[1]
    unlabelled = clean.drop(columns=[config.label])
    misspelt = clean.rename(columns={config.label: config.label.upper()})
    text_ids = clean.assign(merchant_category_id=clean["merchant_category_id"].astype(str))
    return {
        "clean": clean,
        "broken": _broken(clean, config),
        "no label column": unlabelled,
        "misspelt label": misspelt,
        "categories as text": text_ids,
    }


# (batch, check_label, tolerance): validate_batch of each, once
CASES = [
    ("clean", True, 0.001),
    ("clean", True, 0.0),
    ("broken", True, 0.001),
    ("broken", False, 0.0),
    ("no label column", True, 0.001),
    ("misspelt label", True, 0.001),
    ("categories as text", True, 0.001),
]


@pytest.fixture(scope="module")
def in_memory(batches, expectations, config):
    return {
        case: validate_batch(
            batches[case[0]], expectations, config, check_label=case[1], tolerance=case[2]
        )
        for case in CASES
    }


def _chunks(frame: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    edges = np.linspace(0, len(frame), parts + 1).astype(int)
    return [frame.iloc[a:b] for a, b in itertools.pairwise(edges)]


def _tallies(frame, expectations, config, parts, *, check_label=True):
    tallies = []
    for chunk in _chunks(frame, parts):
        tally = QualityTally.empty(expectations, config, check_label=check_label)
        tally.update(chunk)
        tallies.append(tally)
    return tallies


def _tree(tallies):
    while len(tallies) > 1:
        pairs = [tallies[i : i + 2] for i in range(0, len(tallies), 2)]
        tallies = [p[0].merge(p[1]) if len(p) == 2 else p[0] for p in pairs]
    return tallies[0]


MERGES = {
    "in order": lambda ts: reduce(lambda a, b: a.merge(b), ts),
    "reversed": lambda ts: reduce(lambda a, b: a.merge(b), ts[::-1]),
    "as a tree": _tree,
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-label={c[1]}-tol={c[2]}")
@pytest.mark.parametrize("parts", [1, 3, 7])
@pytest.mark.parametrize("merge", list(MERGES))
def test_a_merged_tally_reports_what_validate_batch_reports(
    case, parts, merge, batches, expectations, config, in_memory
):
    name, check_label, tolerance = case
    tallies = _tallies(batches[name], expectations, config, parts, check_label=check_label)
    report = MERGES[merge](tallies).report(tolerance=tolerance)
    assert report == in_memory[case]


def test_one_tally_updated_chunk_by_chunk_is_the_merged_one(batches, expectations, config):
    tally = QualityTally.empty(expectations, config)
    for chunk in _chunks(batches["broken"], 7):
        tally.update(chunk)
    merged = _tree(_tallies(batches["broken"], expectations, config, 7))
    assert tally.report() == merged.report()
    assert tally.to_dict() == merged.to_dict()


def test_the_broken_batch_has_findings_of_every_kind(in_memory):
    """The comparisons above compare reports that hold something."""
    report = in_memory[("broken", True, 0.001)]
    kinds = {
        (w.column, w.expectation.removeprefix("expect_column_values_to_")) for w in report.warnings
    }
    assert {("purchase_amount", "be_between"), ("item_category", "be_in_set")} <= kinds
    assert {("card_age", "not_be_null"), ("purchase_date", "not_be_null")} <= kinds
    assert ("merchant_category_id", "be_in_set") in kinds
    assert report.notes
    assert report.labelled_rows < report.row_count


@pytest.mark.parametrize("parts", [1, 3, 7])
def test_a_tally_round_trips_through_json(parts, batches, expectations, config, in_memory):
    tallies = _tallies(batches["broken"], expectations, config, parts)
    loaded = [QualityTally.from_dict(json.loads(json.dumps(t.to_dict()))) for t in tallies]
    assert _tree(loaded).report() == in_memory[("broken", True, 0.001)]
    assert _tree(loaded).to_dict() == _tree(tallies).to_dict()


def test_a_damaged_document_is_refused(batches, expectations, config):
    tally = _tallies(batches["broken"], expectations, config, 1)[0]
    document = tally.to_dict()
    for damage in (
        {"rows": -1},
        {"format": "other"},
        {"missing": {}},
        {"labelled": tally.rows + 1},
    ):
        with pytest.raises(DataValidationError):
            QualityTally.from_dict({**document, **damage})


def test_text_in_a_numeric_feature_raises_as_validate_batch_does(batches, expectations, config):
    chunk = batches["clean"].iloc[:500].copy()
    chunk["card_fico_score"] = chunk["card_fico_score"].astype(object)
    chunk.loc[3:5, "card_fico_score"] = "unknown"
    with pytest.raises(DataValidationError) as in_memory:
        validate_batch(chunk, expectations, config)
    tally = QualityTally.empty(expectations, config)
    with pytest.raises(DataValidationError) as chunked:
        tally.update(chunk)
    assert str(chunked.value) == str(in_memory.value)
    assert "card_fico_score" in str(chunked.value)
    assert tally.rows == 0


def test_an_empty_tally_raises_as_an_empty_batch_does(batches, expectations, config):
    with pytest.raises(EmptyBatchError) as in_memory:
        validate_batch(batches["clean"].iloc[:0], expectations, config)
    tally = QualityTally.empty(expectations, config)
    tally.update(batches["clean"].iloc[:0])
    with pytest.raises(EmptyBatchError) as chunked:
        tally.report()
    assert str(chunked.value) == str(in_memory.value)


def test_tallies_of_other_settings_do_not_merge(batches, expectations, config):
    labelled = QualityTally.empty(expectations, config)
    with pytest.raises(ConfigurationError):
        labelled.merge(QualityTally.empty(expectations, config, check_label=False))


def test_the_boundary_share_decides_as_great_expectations_does(quarters, expectations, config):
    """A missing share exactly at 1 − mostly passes; one more missing value is a warning."""
    batch = quarters[1].iloc[:2_000].copy()
    batch["card_age"] = batch["card_age"].astype("float64")
    reference = allowed_shares(expectations, 0.0)["missing:card_age"]
    n = len(batch)
    for k in range(20, 200):  # a count whose share is, in floating point, exactly 1 − mostly
        tolerance = k / n - reference
        if tolerance >= 0 and (n - k) / n == max(0.0, 1.0 - (tolerance + reference)):
            break
    else:
        pytest.fail("no count sits exactly on the boundary")
    for missing in (k, k + 1):
        batch["card_age"] = quarters[1]["card_age"].iloc[:n].astype("float64")
        batch.loc[: missing - 1, "card_age"] = np.nan
        expected = validate_batch(batch, expectations, config, tolerance=tolerance)
        tally = QualityTally.empty(expectations, config)
        for chunk in _chunks(batch, 3):
            tally.update(chunk)
        assert tally.report(tolerance=tolerance) == expected
        flagged = any(w.column == "card_age" for w in expected.warnings)
        assert flagged == (missing > k)


def test_a_small_reference_notes_what_it_does_not_check(quarters, config, batches):
    small = derive_expectations(quarters[0].iloc[:150], config)
    batch = batches["broken"]
    tally = reduce(lambda a, b: a.merge(b), _tallies(batch, small, config, 3))
    assert tally.report() == validate_batch(batch, small, config)
    assert tally.report().notes[0].startswith("ranges and categories not checked")


def test_beyond_the_cap_counts_stay_exact_and_the_category_count_is_a_bound(
    quarters, expectations, config
):
    batch = quarters[1].iloc[:2_000].copy()
    extra = MAX_NEW_CATEGORIES + 100
    batch["item_category"] = batch["item_category"].astype(object)
    batch.loc[: extra - 1, "item_category"] = [f"new-{i}" for i in range(extra)]
    batch.loc[extra : extra + 29, "item_category"] = "most"
    expected = validate_batch(batch, expectations, config)
    tally = reduce(lambda a, b: a.merge(b), _tallies(batch, expectations, config, 7))
    found = {w.column: w for w in tally.report().warnings}["item_category"]
    wanted = {w.column: w for w in expected.warnings}["item_category"]
    assert (found.unexpected_count, found.unexpected_share) == (
        wanted.unexpected_count,
        wanted.unexpected_share,
    )
    assert found.details["new_categories"] >= wanted.details["new_categories"] == extra + 1
    assert next(iter(found.details["examples"])) == "most"
    assert next(iter(wanted.details["examples"])) == "most"
    assert len(tally.categorical["item_category"].new) <= MAX_NEW_CATEGORIES


def test_a_tally_the_earlier_code_wrote_loads_and_is_written_the_same():
    # written by QualityTally.to_dict at commit 70e39ca (-inf and 1e6 among the extremes)
    stored = Path(__file__).parents[1] / "stored" / "quality_tally.json"
    document = json.loads(stored.read_text())

    assert QualityTally.from_dict(document).to_dict() == document
