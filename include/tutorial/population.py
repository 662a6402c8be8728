"""The tutorial's populations: cardholders and merchants in large US cities, and their tables.

Part of the tutorial's data generator (:mod:`include.tutorial.generator`, which draws the
transactions between them); the same seed stream gives the same population on every machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

YEAR = 2017
ID_HEX_DIGITS = 10

# Arrays describing one population or one quarter, one entry per row.
Columns = dict[str, Any]

# (latitude, longitude, share of cardholders and merchants): large US metropolitan areas.
CITIES = np.array(
    [
        (40.71, -74.01, 8.0),  # New York
        (34.05, -118.24, 6.0),  # Los Angeles
        (41.88, -87.63, 4.0),  # Chicago
        (29.76, -95.37, 3.5),  # Houston
        (32.78, -96.80, 3.0),  # Dallas
        (33.45, -112.07, 2.5),  # Phoenix
        (39.95, -75.17, 2.5),  # Philadelphia
        (33.75, -84.39, 2.5),  # Atlanta
        (25.76, -80.19, 2.5),  # Miami
        (29.42, -98.49, 2.0),  # San Antonio
        (32.72, -117.16, 2.0),  # San Diego
        (47.61, -122.33, 2.0),  # Seattle
        (42.36, -71.06, 2.0),  # Boston
        (39.74, -104.99, 1.5),  # Denver
        (44.98, -93.27, 1.5),  # Minneapolis
        (42.33, -83.05, 1.5),  # Detroit
        (45.52, -122.68, 1.0),  # Portland
        (39.10, -94.58, 1.0),  # Kansas City
        (36.16, -86.78, 1.0),  # Nashville
        (40.76, -111.89, 0.8),  # Salt Lake City
    ]
)
CITY_SPREAD_DEGREES = (0.25, 0.30)

# merchant_category_id, subsector_description, share of merchants, log of a typical amount,
# effect on the log-odds of authorization.
CATEGORIES = (
    (80, "grocery stores", 0.16, np.log(45.0), 0.5),
    (278, "gas stations", 0.12, np.log(38.0), 0.4),
    (307, "restaurants", 0.14, np.log(32.0), 0.3),
    (367, "pharmacies", 0.06, np.log(28.0), 0.4),
    (560, "clothing", 0.09, np.log(70.0), 0.0),
    (683, "department stores", 0.06, np.log(85.0), 0.0),
    (705, "home improvement", 0.05, np.log(110.0), 0.1),
    (879, "entertainment", 0.05, np.log(40.0), -0.2),
    (884, "online services", 0.07, np.log(25.0), -0.6),
    (1002, "electronics", 0.05, np.log(220.0), -0.8),
    (1097, "travel", 0.04, np.log(380.0), -0.5),
    (1162, "telecommunication", 0.03, np.log(60.0), 0.0),
    (1324, "jewelry", 0.02, np.log(300.0), -1.1),
    (1510, "gambling", 0.02, np.log(90.0), -1.4),
    (1721, "automotive", 0.04, np.log(150.0), -0.1),
)
REWARD_PROGRAMS = np.array(["cash_back", "points", "travel", "none"])
REWARD_SHARES = np.array([0.38, 0.27, 0.15, 0.20])


def hex_ids(rng: np.random.Generator, prefix: str, count: int) -> pa.StringArray:
    """``count`` distinct ids ``<prefix><10 lowercase hex digits>``, built without a Python loop."""
    values = rng.choice(16**ID_HEX_DIGITS, size=count, replace=False).astype(np.uint64)
    shifts = np.arange(4 * (ID_HEX_DIGITS - 1), -1, -4, dtype=np.uint64)
    nibbles = (values[:, None] >> shifts) & np.uint64(0xF)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    head = np.broadcast_to(np.frombuffer(prefix.encode(), dtype=np.uint8), (count, len(prefix)))
    chars = np.hstack([head, digits])
    width = chars.shape[1]
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def strings(values: pa.Array | np.ndarray, positions: np.ndarray) -> pd.Series:
    """``values[positions]`` as a pandas string column (Arrow take: no Python string objects)."""
    return pd.Series(pa.array(values).take(positions), dtype="str")


def scatter_around_cities(rng: np.random.Generator, city: np.ndarray) -> dict[str, np.ndarray]:
    spread = np.array(CITY_SPREAD_DEGREES)
    place = np.round(CITIES[city, :2] + rng.normal(0.0, spread, size=(len(city), 2)), 5)
    return {"latitude": place[:, 0].copy(), "longitude": place[:, 1].copy()}


def cardholders(rng: np.random.Generator, count: int) -> Columns:
    city = rng.choice(len(CITIES), size=count, p=CITIES[:, 2] / CITIES[:, 2].sum())
    age = np.clip(np.round(18 + rng.gamma(3.0, 9.0, size=count)), 18, 95).astype(np.int64)
    # Older cardholders tend to have built up a better credit history.
    fico = 640 + 1.6 * (age - 45) + rng.normal(0.0, 65.0, size=count)
    fico = np.clip(np.round(fico), 300, 850).astype(np.int64)
    # First activation: up to ten years back, never before the holder turned 18; Jan 2017 latest.
    months_back = np.minimum(rng.integers(0, 121, size=count), (age - 18) * 12)
    first_active = np.datetime64(f"{YEAR}-01", "M") - months_back.astype("timedelta64[M]")
    return {
        "card_id": hex_ids(rng, "C_ID_", count),
        "city": city,
        **scatter_around_cities(rng, city),
        "age": age,
        "fico_score": fico,
        "first_active_month": first_active,
        "reward_program": rng.choice(len(REWARD_PROGRAMS), size=count, p=REWARD_SHARES),
        # Some cards are used far more often than others.
        "activity": rng.lognormal(0.0, 0.6, size=count),
    }


def merchants(rng: np.random.Generator, count: int) -> Columns:
    n_cities = len(CITIES)
    # Every city has at least one merchant, so every cardholder can shop locally.
    rest = rng.choice(n_cities, size=count - n_cities, p=CITIES[:, 2] / CITIES[:, 2].sum())
    city = np.concatenate([np.arange(n_cities), rest])
    shares = np.array([category[2] for category in CATEGORIES])
    category = rng.choice(len(CATEGORIES), size=count, p=shares / shares.sum())
    order = np.argsort(city, kind="stable")
    return {
        "merchant_id": hex_ids(rng, "M_ID_", count),
        "city": city,
        **scatter_around_cities(rng, city),
        "category": category,
        # Merchants grouped by city: merchants of city c are by_city[starts[c]:starts[c + 1]].
        "by_city": order,
        "city_starts": np.searchsorted(city[order], np.arange(n_cities + 1)),
    }


def cardholders_frame(cards: Columns) -> pd.DataFrame:
    months = np.datetime_as_string(cards["first_active_month"], unit="M")
    everyone = np.arange(len(months))
    return pd.DataFrame(
        {
            "card_id": strings(cards["card_id"], everyone),
            "first_active_month": strings(months, everyone),
            "reward_program": strings(REWARD_PROGRAMS, cards["reward_program"]),
            "latitude": cards["latitude"],
            "longitude": cards["longitude"],
            "fico_score": cards["fico_score"],
            "age": cards["age"],
        }
    )


def merchants_frame(shops: Columns) -> pd.DataFrame:
    descriptions = np.array([entry[1] for entry in CATEGORIES])
    return pd.DataFrame(
        {
            "merchant_id": strings(shops["merchant_id"], np.arange(len(shops["city"]))),
            "merchant_category_id": category_ids()[shops["category"]],
            "subsector_description": strings(descriptions, shops["category"]),
            "latitude": shops["latitude"],
            "longitude": shops["longitude"],
        }
    )


def category_ids() -> np.ndarray:
    return np.array([entry[0] for entry in CATEGORIES], dtype=np.int64)
