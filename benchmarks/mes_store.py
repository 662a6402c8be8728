"""Benchmark: write and read 1,000 evaluations in the PostgreSQL MES (and the SQLite one).

Each evaluation carries what a real one does: ~20 metrics, 14 column statistics with
histograms, 14 feature-drift rows and a 1,000-row Parquet sample. Prints rates and sizes.

    python benchmarks/mes_store.py [--evaluations 1000] [--database-url postgresql://...]

Without --database-url it uses a fresh database on the server the tests would use
(MES_TEST_DATABASE_URL, else 127.0.0.1:5432, else a throwaway cluster), dropped afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from include.mes.records import EvaluationRecord
from include.mes.store import ModelEvaluationStore
from include.periods import Period
from tests.support.postgres import find_or_start_server

FEATURES = [f"feature_{i:02d}" for i in range(14)]


def make_records(count: int, seed: int = 0) -> list[EvaluationRecord]:
    rng = np.random.default_rng(seed)
    sample = pd.DataFrame(rng.normal(size=(1_000, len(FEATURES))), columns=FEATURES)
    records = []
    for i in range(count):
        start = date(2000, 1, 1) + timedelta(days=7 * i)
        metrics = {
            name: float(rng.random())
            for name in (
                "auc",
                "accuracy",
                "precision",
                "recall",
                "f1",
                "mcc",
                "log_loss",
                "lift",
                "hamming_loss",
                "cost_matrix_gain",
                "calibration_loss",
                "data_drift",
                "data_drift_pvalue",
            )
        }
        metrics.update({f"psi:{f}": float(rng.random()) for f in FEATURES[:7]})
        records.append(
            EvaluationRecord(
                store_name="bench_MES",
                model_name="bench",
                model_version=f"v{i % 3}",
                period=Period.parse(
                    f"{start.isoformat()}/{(start + timedelta(days=7)).isoformat()}"
                ),
                row_count=1_000_000,
                metrics=metrics,
                confusion_matrix={
                    "true_positive": 1,
                    "false_positive": 2,
                    "true_negative": 3,
                    "false_negative": 4,
                },
                column_statistics=[
                    {
                        "name": f,
                        "kind": "numeric",
                        "mean": 0.0,
                        "std": 1.0,
                        "quantiles": {f"p{q:02d}": float(q) for q in (1, 5, 25, 50, 75, 95, 99)},
                        "histogram": {"edges": list(np.linspace(-3, 3, 21)), "counts": [50] * 20},
                    }
                    for f in FEATURES
                ],
                feature_drift=[
                    {
                        "feature": f,
                        "kind": "numeric",
                        "ks_statistic": 0.1,
                        "ks_pvalue": 0.01,
                        "psi": 0.05,
                        "wasserstein": 0.2,
                        "drifted": False,
                    }
                    for f in FEATURES
                ],
                sample=sample,
            )
        )
    return records


def run(url: str, label: str, records: list[EvaluationRecord]) -> None:
    store = ModelEvaluationStore.open(url)
    started = time.perf_counter()
    ids = [store.save(record) for record in records]
    write = time.perf_counter() - started

    started = time.perf_counter()
    listed = store.evaluations("bench_MES")
    list_time = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(100):
        store.latest("bench_MES")
    latest_time = (time.perf_counter() - started) / 100
    started = time.perf_counter()
    history = store.metric_history("auc", "bench_MES", model_version="v1")
    history_time = time.perf_counter() - started
    started = time.perf_counter()
    for evaluation_id in ids[:100]:
        store.get(evaluation_id)
        store.feature_drift(evaluation_id)
        store.sample(evaluation_id)
    detail_time = (time.perf_counter() - started) / 100
    started = time.perf_counter()
    for record in records[:100]:
        store.save(record)  # replaces: the store keeps one evaluation per version and period
    replace = (time.perf_counter() - started) / 100
    assert len(store.evaluations("bench_MES")) == len(records)
    store.close()

    n = len(records)
    print(f"{label}: {n} evaluations")
    print(
        f"  write          {write:7.2f} s  {n / write:8.1f} evaluations/s "
        f"({1000 * write / n:.1f} ms each, with 14 stats, 14 drift rows, 1,000-row sample)"
    )
    print(f"  replace        {1000 * replace:7.1f} ms per evaluation")
    print(f"  list all       {1000 * list_time:7.1f} ms for {len(listed)} evaluations")
    print(f"  latest         {1000 * latest_time:7.2f} ms")
    print(f"  metric history {1000 * history_time:7.1f} ms for {len(history)} points")
    print(f"  one evaluation {1000 * detail_time:7.2f} ms (row + feature drift + sample)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=1_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    records = make_records(args.evaluations)
    if args.database_url:
        run(args.database_url, "PostgreSQL", records)
    else:
        server = find_or_start_server()
        url = server.create_database("mes_bench")
        try:
            run(url, f"PostgreSQL ({server.origin})", records)
        finally:
            server.drop_database(url)
            server.stop()
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/mes.sqlite", "SQLite (embedded default)", records)


if __name__ == "__main__":
    main()
