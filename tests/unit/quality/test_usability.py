"""The fatal checks on their own: what makes a frame unusable, and what does not."""

from __future__ import annotations

import datetime
from decimal import Decimal

import numpy as np
import pytest

from include.errors import DataValidationError
from include.quality.usability import percent, plural, raise_if_unusable

CLASSES = (0, 1)


@pytest.fixture
def batch(make_frame):
    return make_frame(50, seed=4)


def test_a_clean_batch_is_usable(batch, config):
    raise_if_unusable(batch, config, label_values=CLASSES)


def test_numbers_as_decimal_objects_are_usable(batch, config):
    batch["purchase_amount"] = [Decimal(str(round(v, 2))) for v in batch["purchase_amount"]]
    raise_if_unusable(batch, config, label_values=CLASSES)


def test_dates_as_text_or_date_objects_are_usable(batch, config):
    as_text = batch["purchase_date"].dt.strftime("%Y-%m-%d").tolist()
    as_text[0] = "2017-04-01 12:30:00"  # a second format in the same column
    raise_if_unusable(batch.assign(purchase_date=as_text), config, label_values=CLASSES)
    as_dates = [datetime.date(2017, 4, 1)] * len(batch)
    raise_if_unusable(batch.assign(purchase_date=as_dates), config, label_values=CLASSES)


def test_numbers_stored_as_text_are_named_as_such(batch, config):
    batch["card_age"] = batch["card_age"].astype(str)
    with pytest.raises(DataValidationError, match="'card_age' holds numbers stored as text"):
        raise_if_unusable(batch, config, label_values=CLASSES)


def test_a_duplicated_column_is_unusable(batch, config):
    doubled = batch.rename(columns={"card_longitude": "card_latitude"})
    with pytest.raises(DataValidationError, match="'card_latitude' appears more than once"):
        raise_if_unusable(doubled, config, label_values=CLASSES)


def test_the_reference_label_problems_do_not_offer_to_skip_the_label(batch, config):
    batch["authorized_flag"] = batch["authorized_flag"].astype(float)
    batch.loc[0, "authorized_flag"] = np.nan
    with pytest.raises(DataValidationError, match=r"^the reference of 50 rows") as caught:
        raise_if_unusable(batch, config, label_values=None)
    assert "require_label" not in str(caught.value)


def test_counts_and_shares_are_written_plainly():
    assert plural(1, "row") == "1 row"
    assert plural(1_200, "category", "categories") == "1,200 categories"
    assert percent(0.025) == "2.50%"
    assert percent(0.000_01) == "<0.01%"
    assert percent(0.0) == "0.00%"


def test_a_batch_label_not_known_yet_is_usable(batch, config):
    as_text = batch.assign(authorized_flag=batch["authorized_flag"].astype(str))
    as_text.loc[0:9, "authorized_flag"] = ""
    as_text.loc[10:14, "authorized_flag"] = None
    raise_if_unusable(as_text, config, label_values=("0", "1"))
    raise_if_unusable(batch.drop(columns=["authorized_flag"]), config, label_values=CLASSES)


def test_the_reference_needs_its_label_column(batch, config):
    with pytest.raises(DataValidationError, match="label column 'authorized_flag' is missing"):
        raise_if_unusable(batch.drop(columns=["authorized_flag"]), config, label_values=None)
