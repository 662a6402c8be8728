"""Benchmark: univariate drift of 10 numeric and 5 categorical features, 1,000,000 rows a side.

Synthetic frames (normal, skewed amounts in cents, integer scores with ties, NaN and ±inf; text
categories from 3 to 200 values with missing ones). ``--drift`` sets how far the current batch
moved: ``none``; ``mild``, every feature shifted a little (at a million rows each KS statistic
falls where scipy's ``kstwo.sf`` sums Smirnov's series, the slow case); ``strong``; or ``mixed``
(default), a few of each. Prints the time and peak resident memory of building the reference
profile, saving and loading it, and ``univariate_drift``; ``--scipy`` adds scipy's own
``ks_2samp`` and ``wasserstein_distance`` on the same columns for comparison.

    python benchmarks/univariate_drift.py [--rows 1000000] [--drift mixed] [--scipy]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stages import Stages
from include.drift.univariate import ReferenceProfile, build_reference_profile, univariate_drift

NUMERIC = [f"num{i}" for i in range(10)]
CATEGORICAL = [f"cat{i}" for i in range(5)]
SHIFTS = {
    "none": [0.0] * 15,
    "mild": [0.008] * 15,
    "strong": [0.3] * 15,
    # numeric 0-9, then categorical 0-4
    "mixed": [0.0, 0.0, 0.0, 0.0, 0.008, 0.008, 0.3, 0.3, 0.0, 0.3, 0.0, 0.0, 0.05, 0.0, 0.3],
}


def frame(rows: int, shifts: list[float], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for index, name in enumerate(NUMERIC):
        shift = shifts[index]
        if index % 3 == 0:
            values = rng.normal(shift, 1.0, rows)
        elif index % 3 == 1:
            values = rng.lognormal(3.0 + shift, 1.0, rows).round(2)
        else:
            values = (rng.normal(680 + 60 * shift, 60, rows)).round().clip(300, 850)
        values[rng.random(rows) < 0.01] = np.nan
        values[:3] = [np.inf, -np.inf, np.inf]
        columns[name] = values
    for index, name in enumerate(CATEGORICAL):
        size = (3, 5, 15, 40, 200)[index]
        weights = np.linspace(1.0, 2.0 + shifts[10 + index] * 10, size)
        labels = np.array([f"{name}_{k}" for k in range(size)], dtype=object)
        values = labels[rng.choice(size, rows, p=weights / weights.sum())]
        values[rng.random(rows) < 0.005] = None
        columns[name] = pd.Series(values, dtype="str")
    return pd.DataFrame(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--drift", choices=sorted(SHIFTS), default="mixed")
    parser.add_argument("--scipy", action="store_true", help="also time scipy's own functions")
    args = parser.parse_args()
    n = args.rows
    print(f"{n:,} reference rows vs {n:,} current rows, drift {args.drift!r} (frames not timed)")
    reference = frame(n, [0.0] * 15, seed=1)
    current = frame(n, SHIFTS[args.drift], seed=2)
    stages = Stages()
    with stages.stage("build_reference_profile", n):
        profile = build_reference_profile(reference, numeric=NUMERIC, categorical=CATEGORICAL)
    with tempfile.TemporaryDirectory() as folder:
        with stages.stage("profile.save", n):
            written = profile.save(Path(folder))
        size = sum(path.stat().st_size for path in written)
        with stages.stage("ReferenceProfile.load", n):
            profile = ReferenceProfile.load(Path(folder))
    print(f"  profile files: {size / 2**20:,.0f} MiB")
    with stages.stage("univariate_drift", n):
        drift = univariate_drift(profile, current)
    flagged = [d.feature for d in drift if d.drifted]
    print(f"  drifted: {len(flagged)} of {len(drift)}: {', '.join(flagged)}")
    if args.scipy:
        with stages.stage("scipy ks_2samp + wasserstein_distance", n):
            for name in NUMERIC:
                ref = reference[name].to_numpy()
                cur = current[name].to_numpy()
                ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
                stats.ks_2samp(ref, cur)
                stats.wasserstein_distance(ref, cur)


if __name__ == "__main__":
    main()
