"""A small dataset and a classifier trained outside the project, for the external model sources."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.config import MonitoringConfig, parse_config

FEATURES = {"numeric_features": ["amount", "age"], "categorical_features": ["channel"]}


def external_config(model: dict, **overrides) -> MonitoringConfig:
    """A configuration of a model called ``churn`` whose source is ``model``."""
    return parse_config(
        {
            "name": "churn",
            "label": "churned",
            "date_column": "day",
            "reference_period": "2017Q1",
            "batch_periods": ["2017Q2"],
            **FEATURES,
            "model": model,
            **overrides,
        }
    )


def make_rows(count: int, *, start: str = "2017-01-01", seed: int = 3) -> pd.DataFrame:
    """Rows whose label depends on the features, with dates spread over 90 days from ``start``."""
    rng = np.random.default_rng(seed)
    amount = rng.gamma(2.0, 50.0, count)
    age = rng.integers(18, 80, count).astype("float64")
    channel = rng.choice(["web", "shop", "phone"], count)
    logit = 0.02 * (amount - 100) - 0.03 * (age - 45) + np.where(channel == "web", 0.8, -0.4)
    churned = (rng.random(count) < 1 / (1 + np.exp(-logit))).astype("int64")
    day = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, 90, count), unit="D")
    return pd.DataFrame(
        {"day": day, "amount": amount, "age": age, "channel": channel, "churned": churned}
    )


def fit_outside(rows: pd.DataFrame):
    """A scikit-learn pipeline fitted the way a user would, outside this project."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encode = ColumnTransformer(
        [
            ("numeric", StandardScaler(), ["amount", "age"]),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), ["channel"]),
        ]
    )
    model = Pipeline([("encode", encode), ("classify", LogisticRegression(max_iter=500))])
    return model.fit(rows[["amount", "age", "channel"]], rows["churned"])


@pytest.fixture(scope="session")
def reference_rows() -> pd.DataFrame:
    return make_rows(1_200)


@pytest.fixture(scope="session")
def outside_model(reference_rows):
    return fit_outside(make_rows(2_000, seed=11))
