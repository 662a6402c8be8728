"""A deterministic generator of the tutorial's raw tables: transactions, cardholders, merchants.

The tutorial's own data is not public, so this module makes data of the same schema for 2017 with
the same story: whether a transaction is authorized depends on the cardholder (FICO score, age),
the purchase (amount, signature, merchant category, item category) and the distance between
cardholder and merchant, plus noise; and over the year the transacting cardholders shift towards
younger people with lower FICO scores, slightly in Q2, more in Q3 and strongly in Q4, while amounts,
categories, locations and reward programs stay as they were.

Labels arrive late in production (a failed authorization is confirmed weeks after the purchase):
``label_delay_days`` leaves ``authorized_flag`` missing on the transactions of the last days
before ``labels_as_of`` (by default the end of the generated data), as an extract taken that day
would. Generating again with a later ``labels_as_of``, or without a delay, gives the same rows
with their labels landed.

The same arguments give the same frames on every machine (NumPy keeps its random streams stable
within the pinned version). The cardholder and merchant populations
depend only on the seed and their sizes, and every quarter is drawn from its own seed stream, so the
2017Q4 rows are the same whether Q4 is generated alone or with the other quarters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from include.data.geo import great_circle_km
from include.errors import PeriodError
from include.periods import Period
from include.tutorial.population import (
    CATEGORIES,
    CITIES,
    ID_HEX_DIGITS,
    YEAR,
    Columns,
    cardholders,
    cardholders_frame,
    category_ids,
    merchants,
    merchants_frame,
    strings,
)

_QUARTER_NAME = re.compile(r"\d{4}Q[1-4]")

# How strongly each quarter's choice of cards leans towards young, low-FICO cardholders.
_QUARTER_TILT = {1: 0.0, 2: 0.3, 3: 0.7, 4: 1.5}

# Seed-stream keys: each part of the data gets its own stream, so sizes of one never shift another.
_CARDHOLDER_STREAM = 1
_MERCHANT_STREAM = 2
_QUARTER_STREAM = 3

_LOCAL_PURCHASE_SHARE = 0.85

_ITEM_CATEGORIES = np.array(["A", "B", "C", "D", "E"])
_ITEM_SHARES = np.array([0.34, 0.26, 0.20, 0.12, 0.08])
_ITEM_EFFECTS = np.array([0.3, 0.1, 0.0, -0.4, -0.8])
_AMOUNT_LOG_SPREAD = 0.85
# Log-odds of authorization for a typical transaction: about 92 % authorized in Q1, 88 % in Q4.
_BASE_LOG_ODDS = 3.8


@dataclass(frozen=True)
class TutorialTables:
    """The three raw tables of the tutorial."""

    transactions: pd.DataFrame
    cardholders: pd.DataFrame
    merchants: pd.DataFrame


def generate_tables(
    *,
    transactions_per_quarter: int = 5_000,
    quarters: Sequence[str] = ("2017Q1", "2017Q2", "2017Q3", "2017Q4"),
    n_cardholders: int | None = None,
    n_merchants: int | None = None,
    seed: int = 2017,
    label_delay_days: int = 0,
    labels_as_of: date | str | None = None,
) -> TutorialTables:
    """Generate the raw tables for the given 2017 quarters (rows in purchase-date order).

    ``n_cardholders`` defaults to a fifth of ``transactions_per_quarter`` (at least 500) and
    ``n_merchants`` to a twentieth (between 300 and 5,000); neither depends on ``quarters``.
    With ``label_delay_days`` D, the label of a transaction made less than D days before
    ``labels_as_of`` (default: the day after the last generated quarter) is not in yet: missing
    (``authorized_flag`` is then a nullable integer column). Nothing else changes.
    """
    if transactions_per_quarter < 0:
        raise ValueError(f"transactions_per_quarter must be >= 0, got {transactions_per_quarter}")
    if label_delay_days < 0:
        raise ValueError(f"label_delay_days must be >= 0, got {label_delay_days}")
    quarter_numbers = _quarter_numbers(quarters)
    if n_cardholders is None:
        n_cardholders = max(500, transactions_per_quarter // 5)
    if n_merchants is None:
        n_merchants = min(5_000, max(300, transactions_per_quarter // 20))
    if n_cardholders < 1 or n_merchants < len(CITIES):
        raise ValueError(
            f"need at least 1 cardholder and {len(CITIES)} merchants (one per city), "
            f"got n_cardholders={n_cardholders}, n_merchants={n_merchants}"
        )

    cards = cardholders(np.random.default_rng(_stream(seed, _CARDHOLDER_STREAM)), n_cardholders)
    shops = merchants(np.random.default_rng(_stream(seed, _MERCHANT_STREAM)), n_merchants)
    parts = [
        _quarter_transactions(
            np.random.default_rng(_stream(seed, _QUARTER_STREAM, YEAR, quarter)),
            quarter,
            transactions_per_quarter,
            cards,
            shops,
        )
        for quarter in quarter_numbers
    ]
    transactions = parts[0]
    if len(parts) > 1:
        transactions = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    frame = _transactions_frame(transactions, cards, shops)
    if label_delay_days:
        as_of = _as_date(labels_as_of) if labels_as_of is not None else _end_of(quarter_numbers)
        frame = withhold_recent_labels(frame, label_delay_days, as_of)
    return TutorialTables(
        transactions=frame,
        cardholders=cardholders_frame(cards),
        merchants=merchants_frame(shops),
    )


def withhold_recent_labels(transactions: pd.DataFrame, days: int, as_of: date) -> pd.DataFrame:
    """The transactions as known on ``as_of``: the label of a purchase made in the ``days``
    days before it (from ``as_of - days`` on) is missing, its confirmation not in yet."""
    cutoff = pd.Timestamp(as_of - timedelta(days=days))
    label = transactions["authorized_flag"].astype("Int64")
    label = label.mask(transactions["purchase_date"] >= cutoff)
    return transactions.assign(authorized_flag=label)


def _end_of(quarter_numbers: list[int]) -> date:
    last = Period.parse(f"{YEAR}Q{quarter_numbers[-1]}")
    return last.end


def _as_date(value: date | str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"labels_as_of {value!r} is not a date: write it as YYYY-MM-DD") from None


def _stream(seed: int, *key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=key)


def _quarter_numbers(quarters: Sequence[str]) -> list[int]:
    """Quarter numbers in calendar order; only 2017 quarters, each at most once."""
    if isinstance(quarters, str):
        quarters = [quarters]
    if not quarters:
        raise PeriodError("no quarters to generate: give at least one, e.g. ['2017Q1']")
    numbers: set[int] = set()
    for text in quarters:
        period = Period.parse(text)
        if not _QUARTER_NAME.fullmatch(period.name):
            raise PeriodError(f"cannot generate {text!r}: give quarters such as 2017Q2")
        if period.start.year != YEAR:
            raise PeriodError(f"cannot generate {text!r}: the tutorial data covers {YEAR} only")
        quarter = int(period.name[-1])
        if quarter in numbers:
            raise PeriodError(f"quarter {text!r} is listed twice")
        numbers.add(quarter)
    return sorted(numbers)


def _quarter_transactions(
    rng: np.random.Generator,
    quarter: int,
    count: int,
    cards: Columns,
    shops: Columns,
) -> Columns:
    start = np.datetime64(f"{YEAR}-{3 * quarter - 2:02d}-01", "s")
    end = np.datetime64(f"{YEAR + quarter // 4}-{3 * quarter % 12 + 1:02d}-01", "s")
    offsets = np.sort(rng.integers(0, int((end - start).astype(np.int64)), size=count))
    purchase_date = (start + offsets.astype("timedelta64[s]")).astype("datetime64[us]")

    card = rng.choice(len(cards["age"]), size=count, p=_card_weights(cards, quarter))
    starts = shops["city_starts"]
    card_city = cards["city"][card]
    local_pick = starts[card_city] + (
        rng.random(count) * (starts[card_city + 1] - starts[card_city])
    ).astype(np.int64)
    anywhere = rng.integers(0, len(shops["city"]), size=count)
    local = rng.random(count) < _LOCAL_PURCHASE_SHARE
    merchant = np.where(local, shops["by_city"][local_pick], anywhere)

    category = shops["category"][merchant]
    typical_log_amount = np.array([entry[3] for entry in CATEGORIES])[category]
    amount = np.exp(typical_log_amount + rng.normal(0.0, _AMOUNT_LOG_SPREAD, size=count))
    amount = np.maximum(np.round(amount, 2), 0.01)
    item = rng.choice(len(_ITEM_CATEGORIES), size=count, p=_ITEM_SHARES)
    signature = (rng.random(count) < 0.45 + 0.35 * (amount > 100)).astype(np.int64)

    distance = great_circle_km(
        cards["latitude"][card],
        cards["longitude"][card],
        shops["latitude"][merchant],
        shops["longitude"][merchant],
    )
    log_odds = _authorization_log_odds(
        cards["fico_score"][card], cards["age"][card], amount, signature, category, item, distance
    )
    authorized = rng.random(count) < 1.0 / (1.0 + np.exp(-log_odds))

    first_id = (YEAR * 10 + quarter) * 10**ID_HEX_DIGITS + 1
    return {
        "transaction_id": np.arange(first_id, first_id + count, dtype=np.int64),
        "authorized_flag": authorized.astype(np.int64),
        "purchase_date": purchase_date,
        "card": card,
        "merchant": merchant,
        "item_category": item,
        "purchase_amount": amount,
        "signature_provided": signature,
    }


def _authorization_log_odds(
    fico: np.ndarray,
    age: np.ndarray,
    amount: np.ndarray,
    signature: np.ndarray,
    category: np.ndarray,
    item: np.ndarray,
    distance: np.ndarray,
) -> np.ndarray:
    """Log-odds that a transaction is authorized; summed in place to keep memory flat."""
    log_odds = np.full(len(fico), _BASE_LOG_ODDS)
    log_odds += 0.012 * (fico - 650)
    log_odds -= 0.8 * (np.log(amount) - np.log(50.0))
    log_odds += 1.0 * signature
    log_odds += np.array([entry[4] for entry in CATEGORIES])[category]
    log_odds += _ITEM_EFFECTS[item]
    log_odds -= 0.6 * np.log1p(distance / 50.0)
    # The youngest cardholders fail more often, and so, slightly, do the oldest.
    log_odds -= 0.06 * np.clip(30 - age, 0, None)
    log_odds -= 0.015 * np.clip(age - 70, 0, None)
    return log_odds


def _card_weights(cards: Columns, quarter: int) -> np.ndarray:
    """Chance of each card making a purchase: more and more tilted to young, low-FICO holders."""
    riskiness = -0.5 * (_standardised(cards["age"]) + _standardised(cards["fico_score"]))
    weights = cards["activity"] * np.exp(_QUARTER_TILT[quarter] * riskiness)
    return weights / weights.sum()


def _standardised(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() or 1.0)


def _transactions_frame(rows: Columns, cards: Columns, shops: Columns) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "transaction_id": rows["transaction_id"],
            "authorized_flag": rows["authorized_flag"],
            "purchase_date": rows["purchase_date"],
            "card_id": strings(cards["card_id"], rows["card"]),
            "merchant_id": strings(shops["merchant_id"], rows["merchant"]),
            "merchant_category_id": category_ids()[shops["category"][rows["merchant"]]],
            "item_category": strings(_ITEM_CATEGORIES, rows["item_category"]),
            "purchase_amount": rows["purchase_amount"],
            "signature_provided": rows["signature_provided"],
        },
        copy=False,
    )
