"""Benchmark: the data quality gate on a synthetic batch of 1,000,000 rows.

The batch has the fraud tutorial's columns (9 numeric and 5 categorical features, the label, the
date); its expectations are derived from a 50,000-row reference. Prints the import time of
Great Expectations, then the time of ``validate_batch`` (best of three) on a clean batch and on a
drifted one (numbers shifted by two standard deviations, 1 % new categories, 2 % missing values),
and how the drifted run splits between the fatal checks, the column conversion and the suite.

    python benchmarks/quality_gate.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd

from include.config import DEFAULT_CONFIG_PATH, MonitoringConfig, load_config
from include.quality import gate
from include.quality.usability import raise_if_unusable

CATEGORIES = {
    "item_category": list("ABCDE"),
    "signature_provided": [0, 1],
    "merchant_category_id": list(range(300)),
    "card_reward_program": ["cash_back", "points", "none", "travel"],
    "merchant_subsector_description": [f"subsector {i}" for i in range(40)],
}


def make_batch(config: MonitoringConfig, rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {
        name: rng.normal(loc=shift, size=rows) for name in config.numeric_features
    }
    data["card_age"] = rng.integers(0, 100, rows)
    for name in config.categorical_features:
        data[name] = rng.choice(CATEGORIES[name], rows)
    data[config.label] = rng.integers(0, 2, rows)
    seconds = rng.integers(0, 90 * 86_400, rows)
    data[config.date_column] = pd.Timestamp("2017-04-01") + pd.to_timedelta(seconds, unit="s")
    data[config.id_column] = np.arange(rows)
    return pd.DataFrame(data)


def best_of(runs: int, work) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows

    config = load_config(DEFAULT_CONFIG_PATH)
    expectations = gate.derive_expectations(make_batch(config, 50_000, seed=0), config)
    clean = make_batch(config, rows, seed=1)
    drifted = make_batch(config, rows, seed=2, shift=2.0)
    drifted.loc[drifted.sample(frac=0.01, random_state=0).index, "item_category"] = "new"
    drifted.loc[drifted.sample(frac=0.02, random_state=1).index, "card_fico_score"] = np.nan

    start = time.perf_counter()
    gx = gate._great_expectations()
    print(f"import great_expectations        {time.perf_counter() - start:6.2f} s")
    for name, batch in (("clean", clean), ("drifted", drifted)):
        seconds, report = best_of(3, lambda b=batch: gate.validate_batch(b, expectations, config))
        print(f"validate_batch, {name:<8} {rows:>9,} rows {seconds:6.2f} s   {report.summary()}")

    fatal, _ = best_of(
        3, lambda: raise_if_unusable(drifted, config, label_values=expectations.label_values)
    )
    convert, frame = best_of(3, lambda: gate._frame_to_check(drifted, expectations))
    suite = gate._suite(gx, expectations, gate.DEFAULT_TOLERANCE)
    run, _ = best_of(1, lambda: gate._run_suite(gx, frame, suite))
    print(f"  fatal checks {fatal:.3f} s, conversion {convert:.3f} s, ", end="")
    print(f"suite of {len(suite)} expectations {run:.3f} s")


if __name__ == "__main__":
    main()
