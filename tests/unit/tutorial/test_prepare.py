"""The prepared dataset: transactions joined with their cardholder and merchant."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.errors import DataValidationError
from include.tutorial.generator import TutorialTables, generate_tables
from include.tutorial.prepare import prepare_transactions

JOINED_COLUMNS = [
    "card_first_active_month",
    "card_reward_program",
    "card_latitude",
    "card_longitude",
    "card_fico_score",
    "card_age",
    "merchant_subsector_description",
    "merchant_latitude",
    "merchant_longitude",
    "merchant_cardholder_distance",
    "days_active",
]


def small_tables(**transaction_changes: list) -> TutorialTables:
    transactions = {
        "transaction_id": [1, 2],
        "authorized_flag": [1, 0],
        "purchase_date": pd.to_datetime(["2017-03-01 10:30:00", "2017-05-15 23:59:59"]),
        "card_id": ["C_ID_000000000a", "C_ID_000000000b"],
        "merchant_id": ["M_ID_000000000a", "M_ID_000000000b"],
        "purchase_amount": [12.5, 300.0],
    }
    transactions.update(transaction_changes)
    return TutorialTables(
        transactions=pd.DataFrame(transactions),
        cardholders=pd.DataFrame(
            {
                "card_id": ["C_ID_000000000b", "C_ID_000000000a"],
                "first_active_month": ["2016-12", "2017-01"],
                "reward_program": ["points", "cash_back"],
                "latitude": [10.0, 0.0],
                "longitude": [20.0, 0.0],
                "fico_score": [580, 720],
                "age": [22, 51],
            }
        ),
        merchants=pd.DataFrame(
            {
                "merchant_id": ["M_ID_000000000a", "M_ID_000000000b"],
                "merchant_category_id": [80, 1324],
                "subsector_description": ["grocery stores", "jewelry"],
                "latitude": [0.0, 10.0],
                "longitude": [1.0, 20.0],
            }
        ),
    )


def test_each_transaction_gets_its_cardholder_and_merchant() -> None:
    prepared = prepare_transactions(small_tables())
    assert list(prepared.columns) == [
        "transaction_id",
        "authorized_flag",
        "purchase_date",
        "card_id",
        "merchant_id",
        "purchase_amount",
        *JOINED_COLUMNS,
    ]
    first, second = prepared.iloc[0], prepared.iloc[1]
    assert first["card_reward_program"] == "cash_back"
    assert first["card_fico_score"] == 720
    assert first["card_age"] == 51
    assert first["card_first_active_month"] == "2017-01"
    assert first["merchant_subsector_description"] == "grocery stores"
    assert second["card_reward_program"] == "points"
    assert second["merchant_subsector_description"] == "jewelry"
    assert prepared["card_fico_score"].dtype == np.int64


def test_distance_is_the_great_circle_distance_in_km() -> None:
    prepared = prepare_transactions(small_tables())
    # One degree of longitude on the equator: 2 * pi * 6371 km / 360.
    assert prepared["merchant_cardholder_distance"].iloc[0] == pytest.approx(111.195, abs=0.01)
    assert prepared["merchant_cardholder_distance"].iloc[1] == pytest.approx(0.0)


def test_days_active_counts_from_the_first_day_of_the_first_active_month() -> None:
    prepared = prepare_transactions(small_tables())
    # 2017-01-01 -> 2017-03-01 10:30 and 2016-12-01 -> 2017-05-15 23:59.
    assert prepared["days_active"].tolist() == [59, 165]


def test_purchase_dates_given_as_text_are_read() -> None:
    prepared = prepare_transactions(
        small_tables(purchase_date=["2017-03-01 10:30:00", "2017-05-15 23:59:59"])
    )
    assert prepared["days_active"].tolist() == [59, 165]


def test_a_transaction_with_an_unknown_card_or_merchant_is_kept_with_missing_values() -> None:
    prepared = prepare_transactions(
        small_tables(
            card_id=["C_ID_000000000a", "C_ID_ffffffffff"],
            merchant_id=["M_ID_ffffffffff", "M_ID_000000000b"],
        )
    )
    assert len(prepared) == 2
    unknown_merchant, unknown_card = prepared.iloc[0], prepared.iloc[1]
    assert unknown_merchant["card_fico_score"] == 720
    assert pd.isna(unknown_merchant["merchant_subsector_description"])
    assert pd.isna(unknown_merchant["merchant_cardholder_distance"])
    assert pd.isna(unknown_card["card_fico_score"])
    assert pd.isna(unknown_card["days_active"])
    assert unknown_card["merchant_subsector_description"] == "jewelry"


def test_rows_keep_their_order_and_get_a_fresh_index() -> None:
    tables = small_tables()
    shuffled = TutorialTables(
        transactions=tables.transactions.iloc[::-1].set_axis([10, 20]),
        cardholders=tables.cardholders,
        merchants=tables.merchants,
    )
    prepared = prepare_transactions(shuffled)
    assert prepared["transaction_id"].tolist() == [2, 1]
    assert prepared.index.equals(pd.RangeIndex(2))


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("transactions", "card_id"),
        ("transactions", "purchase_date"),
        ("cardholders", "fico_score"),
        ("merchants", "latitude"),
    ],
)
def test_a_missing_input_column_is_named(table: str, column: str) -> None:
    tables = small_tables()
    broken = {
        name: getattr(tables, name).drop(columns=[column] if name == table else [])
        for name in ("transactions", "cardholders", "merchants")
    }
    with pytest.raises(DataValidationError, match=rf"'{table}' lacks the column\(s\) {column}"):
        prepare_transactions(TutorialTables(**broken))


def test_a_card_listed_twice_is_refused() -> None:
    tables = small_tables()
    cards = pd.concat([tables.cardholders, tables.cardholders.iloc[[0]]])
    with pytest.raises(DataValidationError, match=r"C_ID_000000000b.*more than once"):
        prepare_transactions(TutorialTables(tables.transactions, cards, tables.merchants))


def test_unreadable_months_and_dates_are_named() -> None:
    tables = small_tables()
    cards = tables.cardholders.assign(first_active_month=["2016-12", "Jan 2017"])
    with pytest.raises(DataValidationError, match=r"first_active_month.*'Jan 2017'"):
        prepare_transactions(TutorialTables(tables.transactions, cards, tables.merchants))
    with pytest.raises(DataValidationError, match=r"purchase_date.*'yesterday'"):
        prepare_transactions(small_tables(purchase_date=["2017-03-01", "yesterday"]))


def test_generated_tables_prepare_without_missing_values() -> None:
    tables = generate_tables(transactions_per_quarter=1_000)
    prepared = prepare_transactions(tables)
    assert len(prepared) == len(tables.transactions)
    assert not prepared[JOINED_COLUMNS].isna().any().any()
    assert (prepared["days_active"] >= 0).all()
    local = prepared["merchant_cardholder_distance"] < 100
    assert 0.6 < local.mean() < 0.95  # most purchases happen near home
