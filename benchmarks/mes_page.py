"""Benchmark: the MES page of the Airflow UI on a store of many evaluations, in PostgreSQL.

Each evaluation carries a real drift analysis (the tutorial's Q4 one, about as large as any) and
the tutorial's metrics, with the check outcome recorded on the latest. Prints the time to list
the store with and without the drift JSON (the page reads the light columns), the time to render
the store page and the overview through the app (in process, no network), and the page sizes.

    python benchmarks/mes_page.py [--evaluations 500] [--database-url postgresql://...]

Without --database-url it uses a fresh database on the server the tests would use, dropped after.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from include.checks import parse_checks, run_checks
from include.mes.records import EvaluationRecord
from include.mes.store import ModelEvaluationStore
from include.mes_web.app import create_app
from include.periods import Period
from tests.support.postgres import find_or_start_server
from tests.support.tutorial_mes import TUTORIAL_CHECK, build_tutorial_mes


def timed(label: str, action, repeat: int = 5):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<58} {best * 1000:9.1f} ms (best of {repeat})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=500)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    server = None if args.database_url else find_or_start_server()
    url = args.database_url or server.create_database("mes_page_bench")
    try:
        with tempfile.TemporaryDirectory() as folder:
            sqlite = f"sqlite:///{Path(folder) / 'tutorial.sqlite'}"
            ids = build_tutorial_mes(sqlite, Path(folder))
            with ModelEvaluationStore.open(sqlite) as tutorial:
                q4 = tutorial.get(ids["2017Q4"])
        drift_bytes = len(json.dumps(q4.drift))
        print(f"one evaluation's drift analysis: {drift_bytes / 1024:.0f} KiB of JSON")

        rng = np.random.default_rng(0)
        template = EvaluationRecord(
            store_name="bench_MES",
            model_name=q4.model_name,
            model_version=q4.model_version,
            period=Period.parse("2017Q4"),
            row_count=q4.row_count,
            metrics=q4.metrics,
            drift=q4.drift,
        )
        with ModelEvaluationStore.open(url) as store:
            start = time.perf_counter()
            for i in range(args.evaluations):
                first = date(2010, 1, 4) + timedelta(days=7 * i)
                metrics = {k: v * (1 + 0.05 * rng.standard_normal()) for k, v in q4.metrics.items()}
                period = Period.parse(f"{first}/{first + timedelta(days=7)}")
                last = store.save(
                    replace(template, period=period, metrics=metrics, model_version=f"v{i // 100}")
                )
            print(f"stored {args.evaluations} evaluations in {time.perf_counter() - start:.1f} s")
            latest = store.get(last)
            store.record_checks(last, run_checks(parse_checks([TUTORIAL_CHECK]), latest.metrics))

            timed(
                "list the store with the drift JSON (evaluations())",
                lambda: store.evaluations("bench_MES"),
            )
            timed(
                "list the store without it (summaries(), what the page reads)",
                lambda: store.summaries("bench_MES"),
            )
            timed("check results of the store", lambda: store.check_results("bench_MES"))

        client = TestClient(create_app(lambda: ModelEvaluationStore.open(url)))
        client.get("/")  # opens the store once, as the first request in the api-server does
        page = timed(
            "GET /stores/bench_MES (query + render)", lambda: client.get("/stores/bench_MES")
        )
        overview = timed("GET / (the overview)", lambda: client.get("/"))
        report = timed(
            "GET /evaluations/<id>/report", lambda: client.get(f"/evaluations/{last}/report")
        )
        assert page.status_code == overview.status_code == report.status_code == 200
        sizes = {
            "store page": page,
            "overview": overview,
            "drift report": report,
        }
        print(", ".join(f"{k} {len(v.content) / 1024:.0f} KiB" for k, v in sizes.items()))
    finally:
        if server is not None:
            server.drop_database(url)
            server.stop()


if __name__ == "__main__":
    main()
