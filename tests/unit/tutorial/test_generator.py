"""The generated tutorial data: reproducible, well formed, learnable, drifting as in the story."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from include.config import DEFAULT_CONFIG_PATH
from include.errors import PeriodError
from include.tutorial.generator import TutorialTables, generate_tables
from include.tutorial.prepare import prepare_transactions

ROWS_PER_QUARTER = 5_000


@pytest.fixture(scope="module")
def tables() -> TutorialTables:
    return generate_tables(transactions_per_quarter=ROWS_PER_QUARTER)


@pytest.fixture(scope="module")
def by_quarter(tables: TutorialTables) -> dict[int, pd.DataFrame]:
    prepared = prepare_transactions(tables)
    quarter = prepared["purchase_date"].dt.quarter
    return {number: prepared[quarter == number] for number in (1, 2, 3, 4)}


def assert_tables_equal(left: TutorialTables, right: TutorialTables) -> None:
    for name in ("transactions", "cardholders", "merchants"):
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name))


def test_same_arguments_give_identical_tables() -> None:
    first = generate_tables(transactions_per_quarter=500, seed=7)
    second = generate_tables(transactions_per_quarter=500, seed=7)
    assert_tables_equal(first, second)


def test_another_seed_gives_other_rows() -> None:
    first = generate_tables(transactions_per_quarter=500, seed=7)
    second = generate_tables(transactions_per_quarter=500, seed=8)
    assert not first.transactions["card_id"].equals(second.transactions["card_id"])
    assert not first.cardholders["card_id"].equals(second.cardholders["card_id"])


def test_a_quarter_generated_alone_equals_the_same_quarter_of_the_year() -> None:
    year = generate_tables(transactions_per_quarter=800)
    q4_alone = generate_tables(transactions_per_quarter=800, quarters=["2017Q4"])
    q4_of_year = year.transactions[year.transactions["purchase_date"] >= "2017-10-01"]
    pd.testing.assert_frame_equal(q4_alone.transactions, q4_of_year.reset_index(drop=True))
    pd.testing.assert_frame_equal(q4_alone.cardholders, year.cardholders)
    pd.testing.assert_frame_equal(q4_alone.merchants, year.merchants)


def test_quarters_come_out_in_calendar_order_whatever_order_they_are_asked_in() -> None:
    shuffled = generate_tables(transactions_per_quarter=300, quarters=["2017Q3", "2017Q1"])
    ordered = generate_tables(transactions_per_quarter=300, quarters=["2017Q1", "2017Q3"])
    assert_tables_equal(shuffled, ordered)
    assert shuffled.transactions["purchase_date"].is_monotonic_increasing


def test_transactions_have_the_tutorial_schema(tables: TutorialTables) -> None:
    transactions = tables.transactions
    assert list(transactions.columns) == [
        "transaction_id",
        "authorized_flag",
        "purchase_date",
        "card_id",
        "merchant_id",
        "merchant_category_id",
        "item_category",
        "purchase_amount",
        "signature_provided",
    ]
    assert len(transactions) == 4 * ROWS_PER_QUARTER
    assert transactions["transaction_id"].dtype == np.int64
    assert transactions["transaction_id"].is_unique
    assert pd.api.types.is_datetime64_dtype(transactions["purchase_date"])
    dates = transactions["purchase_date"]
    assert dates.min() >= pd.Timestamp("2017-01-01")
    assert dates.max() < pd.Timestamp("2018-01-01")
    assert (dates.dt.quarter.value_counts() == ROWS_PER_QUARTER).all()
    assert transactions["card_id"].str.fullmatch(r"C_ID_[0-9a-f]{10}").all()
    assert transactions["merchant_id"].str.fullmatch(r"M_ID_[0-9a-f]{10}").all()
    assert set(transactions["authorized_flag"]) == {0, 1}
    assert set(transactions["signature_provided"]) == {0, 1}
    assert set(transactions["item_category"]) <= set("ABCDE")
    amounts = transactions["purchase_amount"]
    assert (amounts > 0).all()
    assert amounts.mean() > 1.3 * amounts.median()  # skewed: a long tail of large purchases


def test_cardholders_and_merchants_are_plausible(tables: TutorialTables) -> None:
    cards, merchants = tables.cardholders, tables.merchants
    assert list(cards.columns) == [
        "card_id",
        "first_active_month",
        "reward_program",
        "latitude",
        "longitude",
        "fico_score",
        "age",
    ]
    assert cards["card_id"].is_unique
    assert cards["card_id"].str.fullmatch(r"C_ID_[0-9a-f]{10}").all()
    assert cards["first_active_month"].str.fullmatch(r"20[01]\d-(0[1-9]|1[0-2])").all()
    assert (cards["first_active_month"] <= "2017-12").all()
    assert cards["fico_score"].between(300, 850).all()
    assert cards["age"].between(18, 95).all()
    assert 2 <= cards["reward_program"].nunique() <= 6
    assert cards["latitude"].between(20, 50).all()
    assert cards["longitude"].between(-125, -65).all()

    assert list(merchants.columns) == [
        "merchant_id",
        "merchant_category_id",
        "subsector_description",
        "latitude",
        "longitude",
    ]
    assert merchants["merchant_id"].is_unique
    assert merchants["merchant_id"].str.fullmatch(r"M_ID_[0-9a-f]{10}").all()
    descriptions = merchants.groupby("merchant_category_id")["subsector_description"].nunique()
    assert (descriptions == 1).all()


def test_every_transaction_refers_to_a_known_card_and_merchant(tables: TutorialTables) -> None:
    transactions = tables.transactions
    assert transactions["card_id"].isin(tables.cardholders["card_id"]).all()
    merchant_category = tables.merchants.set_index("merchant_id")["merchant_category_id"]
    assert (
        transactions["merchant_category_id"].to_numpy()
        == merchant_category.loc[transactions["merchant_id"]].to_numpy()
    ).all()


def test_most_transactions_are_authorized(tables: TutorialTables) -> None:
    flags = tables.transactions["authorized_flag"]
    assert 0.85 <= flags.mean() <= 0.92
    by_quarter = flags.groupby(tables.transactions["purchase_date"].dt.quarter).mean()
    assert by_quarter.between(0.84, 0.95).all()


def ks_statistic(by_quarter: dict[int, pd.DataFrame], column: str, quarter: int) -> float:
    return ks_2samp(by_quarter[1][column], by_quarter[quarter][column]).statistic


@pytest.mark.parametrize("column", ["card_age", "card_fico_score"])
def test_cardholder_drift_grows_over_the_year_and_is_strong_in_q4(
    by_quarter: dict[int, pd.DataFrame], column: str
) -> None:
    q2, q3, q4 = (ks_statistic(by_quarter, column, quarter) for quarter in (2, 3, 4))
    assert q2 < q3 < q4
    assert q4 > 0.2
    assert ks_2samp(by_quarter[1][column], by_quarter[4][column]).pvalue < 1e-30


@pytest.mark.parametrize(
    "column", ["purchase_amount", "merchant_cardholder_distance", "card_latitude"]
)
def test_purchases_and_places_stay_stable(by_quarter: dict[int, pd.DataFrame], column: str) -> None:
    assert ks_statistic(by_quarter, column, 4) < 0.06


@pytest.mark.parametrize(
    "column", ["card_reward_program", "item_category", "merchant_subsector_description"]
)
def test_categories_stay_stable(by_quarter: dict[int, pd.DataFrame], column: str) -> None:
    reference = by_quarter[1][column].value_counts(normalize=True)
    latest = by_quarter[4][column].value_counts(normalize=True)
    total_variation = reference.sub(latest, fill_value=0).abs().sum() / 2
    assert total_variation < 0.05


def test_a_model_trained_on_q1_ranks_q2_transactions_well(
    by_quarter: dict[int, pd.DataFrame],
) -> None:
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    numeric, categorical = config["numeric_features"], config["categorical_features"]

    def features(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[numeric + categorical].astype({column: "category" for column in categorical})

    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=100, random_state=0
    )
    # One thread: OpenMP threads spin badly when the machine is busy with other tests.
    with threadpool_limits(1):
        model.fit(features(by_quarter[1]), by_quarter[1][config["label"]])
        scores = model.predict_proba(features(by_quarter[2]))[:, 1]
    assert roc_auc_score(by_quarter[2][config["label"]], scores) > 0.75


@pytest.mark.parametrize(
    ("quarters", "message"),
    [
        (["2017Q5"], "quarters run from Q1 to Q4"),
        (["2018Q1"], "2017 only"),
        (["2017-05"], "give quarters such as 2017Q2"),
        (["2017Q2", "2017Q2"], "listed twice"),
        ([], "at least one"),
    ],
)
def test_quarters_that_cannot_be_generated_are_refused(quarters: list[str], message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        generate_tables(transactions_per_quarter=10, quarters=quarters)


def test_population_sizes_can_be_chosen() -> None:
    small = generate_tables(transactions_per_quarter=100, n_cardholders=50, n_merchants=40)
    assert len(small.cardholders) == 50
    assert len(small.merchants) == 40
    assert small.transactions["card_id"].isin(small.cardholders["card_id"]).all()


def test_a_label_delay_leaves_the_last_days_unlabelled_and_nothing_else_changes() -> None:
    everything = generate_tables(transactions_per_quarter=800)
    delayed = generate_tables(transactions_per_quarter=800, label_delay_days=45)
    rows, labels = delayed.transactions, delayed.transactions["authorized_flag"]
    waiting = rows["purchase_date"] >= pd.Timestamp("2017-11-17")  # 45 days before 2018-01-01
    assert labels[waiting].isna().all()
    assert labels[~waiting].notna().all()
    assert (labels[~waiting] == everything.transactions["authorized_flag"][~waiting]).all()
    assert str(labels.dtype) == "Int64"  # integers still, with missing values
    pd.testing.assert_frame_equal(
        rows.drop(columns="authorized_flag"),
        everything.transactions.drop(columns="authorized_flag"),
    )


def test_labels_land_as_the_as_of_day_moves_on() -> None:
    known_later = generate_tables(
        transactions_per_quarter=800, label_delay_days=45, labels_as_of="2018-02-15"
    )
    assert known_later.transactions["authorized_flag"].notna().all()
    q3_only = generate_tables(
        transactions_per_quarter=800, quarters=["2017Q3"], label_delay_days=30
    )
    dates = q3_only.transactions["purchase_date"]
    missing = q3_only.transactions["authorized_flag"].isna()
    assert dates[missing].min() >= pd.Timestamp("2017-09-01")  # 30 days before Q3's end


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"label_delay_days": -1}, "label_delay_days must be >= 0"),
        ({"label_delay_days": 5, "labels_as_of": "soon"}, "'soon' is not a date"),
    ],
)
def test_a_bad_label_delay_is_refused(settings, message) -> None:
    with pytest.raises(ValueError, match=message):
        generate_tables(transactions_per_quarter=10, **settings)
