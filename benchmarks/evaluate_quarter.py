"""Benchmark: one quarter of 1,000,000 transactions, generated, prepared and evaluated into the MES.

Prints, for each stage, its time, rows per second and the process's peak resident memory during
the stage (sampled every 5 ms from /proc), then the total of the evaluation proper (scoring,
every metric, column statistics, sample, stored) against the target: under 20 s, under 2 GB.

    python benchmarks/evaluate_quarter.py [--rows 1000000] [--database-url postgresql://...]

The model is trained first on a smaller Q1 (not part of the evaluation's figures). Without
--database-url the MES is a fresh database on the server the tests would use, dropped afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stages import Stages
from include.config import load_config
from include.data.generator import generate_tables
from include.data.prepare import prepare_transactions
from include.model.registry import load_model, save_model
from include.model.training import train_model
from include.workflow import Workspace, evaluate_quarter
from tests.support.postgres import find_or_start_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--train-rows", type=int, default=200_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    config = load_config()
    stages = Stages()
    server = url = None
    if args.database_url:
        url = args.database_url
    else:
        server = find_or_start_server()
        url = server.create_database("mes_bench")
    try:
        with tempfile.TemporaryDirectory() as folder:
            run(args, config, stages, Path(folder), url)
    finally:
        if server is not None:
            server.drop_database(url)
            server.stop()


EVALUATION_STAGES = ("score", "performance", "column statistics", "sample", "store")


def run(args, config, stages: Stages, folder: Path, url: str) -> None:
    n = args.rows
    workspace = Workspace.open(
        config=config, datasets=folder / "datasets", models=folder / "models", mes_url=url
    )
    print(f"training the model on {args.train_rows:,} Q1 transactions (not timed below)")
    q1 = prepare_transactions(
        generate_tables(transactions_per_quarter=args.train_rows, quarters=["2017Q1"])
    )
    trained = train_model(q1, config)
    save_model(trained, workspace.models)
    model = load_model(config, trained.metadata["version"], workspace.models)
    del q1, trained

    quarter = "2017Q4"
    print(f"one quarter ({quarter}) of {n:,} transactions; MES at {workspace.mes.description}")
    with stages.stage("generate raw tables", n):
        tables = generate_tables(transactions_per_quarter=n, quarters=[quarter])
    with stages.stage("prepare (join + derived features)", n):
        prepared = prepare_transactions(tables)
    del tables
    with stages.stage("write prepared dataset (Parquet)", n):
        workspace.datasets.write(config.dataset, prepared)
    del prepared
    _, evaluation = evaluate_quarter(
        workspace, quarter, model=model, stage=lambda name: stages.stage(name, n)
    )
    workspace.close()

    seconds, peak = stages.total(set(EVALUATION_STAGES))
    print(
        f"evaluation of {n:,} rows (score, metrics, column statistics, sample, store): "
        f"{seconds:.2f} s, {n / seconds:,.0f} rows/s, peak RSS {peak / 2**30:.2f} GiB "
        f"(target: < 20 s, < 2 GB)"
    )
    seconds, peak = stages.total({*EVALUATION_STAGES, "read", "quality gate"})
    print(
        f"with reading the quarter and the quality gate: {seconds:.2f} s, "
        f"{n / seconds:,.0f} rows/s, peak RSS {peak / 2**30:.2f} GiB"
    )
    drift_stages = {"data drift", "univariate drift", "prediction drift", "drift report"}
    seconds, peak = stages.total({*EVALUATION_STAGES, "read", "quality gate", *drift_stages})
    print(
        f"with the drift analysis and its report too: {seconds:.2f} s, "
        f"{n / seconds:,.0f} rows/s, peak RSS {peak / 2**30:.2f} GiB"
    )
    warnings = len((evaluation.quality or {}).get("warnings", []))
    print(f"AUC on {quarter}: {evaluation.metrics()['auc']:.3f}; quality warnings: {warnings}")


if __name__ == "__main__":
    main()
