"""Synthetic batches with the columns of the fraud tutorial's configuration."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from include.config import DEFAULT_CONFIG_PATH, MonitoringConfig, load_config

# Each numeric feature's range; a reference holds both ends, batches stay strictly inside.
BOUNDS = {
    "purchase_amount": (0.5, 500.0),
    "card_fico_score": (550, 850),
    "card_age": (0, 120),
    "card_latitude": (-60.0, 70.0),
    "card_longitude": (-170.0, 170.0),
    "merchant_latitude": (-60.0, 70.0),
    "merchant_longitude": (-170.0, 170.0),
    "merchant_cardholder_distance": (0.0, 300.0),
    "days_active": (0, 4000),
}
CATEGORIES = {
    "item_category": ["A", "B", "C", "D"],
    "signature_provided": [0, 1],
    "merchant_category_id": [11, 12, 13, 14, 15],
    "card_reward_program": ["cash_back", "points", "none"],
    "merchant_subsector_description": ["gas", "groceries", "online"],
}


@pytest.fixture(scope="session")
def config() -> MonitoringConfig:
    return load_config(DEFAULT_CONFIG_PATH)


@pytest.fixture(scope="session")
def make_frame(config: MonitoringConfig) -> Callable[..., pd.DataFrame]:
    """Factory: ``make_frame(rows, seed, reference=False)``, a clean frame of the tutorial's data.

    A reference frame holds every category and both ends of every numeric range, so a batch made
    by the same factory breaks no expectation derived from it.
    """

    def make(rows: int, seed: int, *, reference: bool = False) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        data: dict[str, object] = {}
        for name in config.numeric_features:
            low, high = BOUNDS[name]
            if isinstance(low, int):
                values = rng.integers(low + 1, high, rows)
            else:
                values = rng.uniform(low, high, rows).clip(low + 1e-6, high - 1e-6)
            if reference:
                values[:2] = (low, high)
            data[name] = values
        for name in config.categorical_features:
            choices = np.array(CATEGORIES[name], dtype=object)
            picks = rng.integers(0, len(choices), rows)
            if reference:
                picks[: len(choices)] = np.arange(len(choices))
            data[name] = choices[picks].tolist()
        data[config.label] = np.arange(rows) % 2 if reference else rng.integers(0, 2, rows)
        seconds = rng.integers(0, 90 * 86_400, rows)
        data[config.date_column] = pd.Timestamp("2017-04-01") + pd.to_timedelta(seconds, unit="s")
        data[config.id_column] = np.arange(rows)
        return pd.DataFrame(data)

    return make
