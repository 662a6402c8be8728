"""include/tutorial/population: the cardholders and merchants the transactions are drawn between."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.tutorial.population import (
    CITIES,
    cardholders,
    cardholders_frame,
    merchants,
    merchants_frame,
)


def rng(seed: int = 1) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_the_same_seed_gives_the_same_population() -> None:
    pd.testing.assert_frame_equal(
        cardholders_frame(cardholders(rng(), 300)), cardholders_frame(cardholders(rng(), 300))
    )
    pd.testing.assert_frame_equal(
        merchants_frame(merchants(rng(), 60)), merchants_frame(merchants(rng(), 60))
    )


def test_ids_are_distinct_and_carry_their_prefix() -> None:
    cards = cardholders_frame(cardholders(rng(), 500))
    shops = merchants_frame(merchants(rng(), 100))
    assert cards["card_id"].is_unique
    assert shops["merchant_id"].is_unique
    assert cards["card_id"].str.fullmatch(r"C_ID_[0-9a-f]{10}").all()
    assert shops["merchant_id"].str.fullmatch(r"M_ID_[0-9a-f]{10}").all()


def test_every_city_has_a_merchant_and_the_index_finds_them() -> None:
    shops = merchants(rng(), len(CITIES) + 3)
    assert set(shops["city"]) == set(range(len(CITIES)))
    starts, order = shops["city_starts"], shops["by_city"]
    for city in range(len(CITIES)):
        found = order[starts[city] : starts[city + 1]]
        assert len(found) > 0
        assert (shops["city"][found] == city).all()


@pytest.mark.parametrize("count", [1, 200])
def test_cardholders_are_adults_with_a_fico_score(count: int) -> None:
    cards = cardholders_frame(cardholders(rng(), count))
    assert len(cards) == count
    assert cards["age"].between(18, 95).all()
    assert cards["fico_score"].between(300, 850).all()
    assert (cards["first_active_month"] <= "2017-01").all()
