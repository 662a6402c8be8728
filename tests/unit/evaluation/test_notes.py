"""What an evaluation says besides its numbers: label coverage and overlap with training."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from include.config import parse_config
from include.evaluation.notes import counted_label_notes, overlap_with_training
from include.periods import Period

CONFIG = parse_config(
    {
        "name": "churn",
        "label": "churned",
        "date_column": "day",
        "reference_period": "2017Q1",
        "batch_periods": ["2017Q2"],
        "numeric_features": ["amount"],
        "model": {"source": "predictions", "score_column": "score"},
    }
)
COLUMNS = pd.DataFrame(columns=["day", "amount", "score", "Churned"])


def test_a_fully_labelled_batch_has_no_label_note() -> None:
    assert counted_label_notes(10, 10, column_present=True, columns=COLUMNS, config=CONFIG) == {}


def test_a_partly_labelled_batch_says_how_much() -> None:
    notes = counted_label_notes(250, 1_000, column_present=True, columns=COLUMNS, config=CONFIG)

    assert notes == {
        "partial_labels": "realised metrics from 250 of 1,000 rows (25.00%): the other rows are "
        "not labelled yet"
    }


def test_a_batch_without_its_label_column_suggests_the_misspelt_one() -> None:
    notes = counted_label_notes(0, 40, column_present=False, columns=COLUMNS, config=CONFIG)

    assert notes == {
        "no_labels": "no realised performance: the batch has no label column 'churned' "
        "(did you mean 'Churned'?), no row is labelled yet"
    }


def test_a_batch_inside_the_training_period_is_in_sample() -> None:
    model = SimpleNamespace(
        source="train",
        metadata={
            "training_period": {"name": "2017Q1", "start": "2017-01-01", "end": "2017-03-31"},
        },
    )

    overlaps, note = overlap_with_training(model, Period.parse("2017Q1"))
    after, no_note = overlap_with_training(model, Period.parse("2017Q2"))

    assert overlaps is True
    assert note.startswith("in-sample evaluation: 2017Q1 overlaps the model's training period")
    assert (after, no_note) == (False, None)
