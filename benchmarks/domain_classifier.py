"""Benchmark: the domain-classifier data drift on 1,000,000 reference vs 1,000,000 current rows.

Synthetic frames with 10 numeric and 5 categorical features (three of them pandas ``str``, one
with 5,000 distinct values) plus a column that is not a feature. Prints the time of each call and
its split into sampling, encoding (conversion and one-hot), forest fit and predict; the rest is the
train/test split and the statistics. Target: about 2.5 s or less at the default cap on 2 cores.

    python benchmarks/domain_classifier.py [--rows 1000000] [--sample-size 25000 50000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

import include.drift.domain_classifier as dc

NUMERIC = [f"x{i}" for i in range(10)]
CATEGORICAL = [f"k{i}" for i in range(5)]


def batch(rows: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {
        name: rng.normal(shift if name == "x0" else 0.0, 1.0, rows) for name in NUMERIC
    }
    columns["x1"][rng.random(rows) < 0.01] = np.nan
    shares = np.r_[np.full(10, 0.08), np.full(30, 0.2 / 30)]
    columns["k0"] = pd.Series(
        np.char.add("c", rng.choice(40, rows, p=shares).astype(str)), dtype="str"
    )
    columns["k1"] = pd.Series(rng.choice(["a", "b", "c", None], rows), dtype="str")
    columns["k2"] = rng.integers(0, 15, rows)
    columns["k3"] = pd.Series(rng.choice(["x", "y"], rows), dtype=object)
    columns["k4"] = pd.Series(
        np.char.add("m", rng.integers(0, 5000, rows).astype(str)), dtype="str"
    )
    columns["not_a_feature"] = rng.random(rows)
    return pd.DataFrame(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample-size", type=int, nargs="+", default=[25_000, 50_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    seconds: dict[str, float] = defaultdict(float)

    def timed(stage: str, function: Callable) -> Callable:
        def run(*positional, **named):
            started = time.perf_counter()
            try:
                return function(*positional, **named)
            finally:
                seconds[stage] += time.perf_counter() - started

        return run

    dc._sample_positions = timed("sampling", dc._sample_positions)
    dc._design_matrix = timed("encoding", dc._design_matrix)
    RandomForestClassifier.fit = timed("fit", RandomForestClassifier.fit)
    RandomForestClassifier.predict = timed("predict", RandomForestClassifier.predict)

    print(f"building {args.rows:,} reference and {args.rows:,} current rows")
    reference, current = batch(args.rows, 0.0, seed=1), batch(args.rows, 0.1, seed=2)
    for size in args.sample_size:
        for _ in range(args.repeat):
            seconds.clear()
            started = time.perf_counter()
            result = dc.domain_classifier_drift(
                reference, current, numeric=NUMERIC, categorical=CATEGORICAL, sample_size=size
            )
            total = time.perf_counter() - started
            stages = "  ".join(f"{stage} {value:.2f}s" for stage, value in seconds.items())
            rest = total - sum(seconds.values())
            print(f"sample_size {size:,}: total {total:.2f}s  {stages}  rest {rest:.2f}s")
        print(f"  {result.verdict()}")


if __name__ == "__main__":
    main()
