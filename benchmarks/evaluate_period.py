"""Benchmark: one quarter of N transactions evaluated into the MES, in bounded memory.

Writes the quarter as a folder of Parquet files (pieces of at most 1,000,000 rows, row groups of
100,000) and trains the model on a smaller Q1 (neither is timed), then evaluates the quarter with
``evaluate_period`` as a task would, each evaluation in a fresh process so that its peak RSS is
its own:

- ``stream``: one task reads the quarter in chunks (``streaming.memory_rows`` 0): time and peak
  RSS per stage (sampled every 5 ms from /proc);
- ``partitions`` (``--partitions K``, default 4): K slices of days summarised one process each,
  as mapped tasks would be, then merged and stored by another (``evaluate_slices``);
- ``memory`` (with ``--compare``): the exact in-memory path on the same rows, and the largest
  differences between its metrics and the streamed ones, beside the streaming path's bounds.

    python benchmarks/evaluate_period.py --rows 1000000 --compare
    python benchmarks/evaluate_period.py --rows 10000000

Without --database-url the MES is a fresh database on the server the tests would use, dropped
afterwards.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUARTER = "2017Q4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--train-rows", type=int, default=200_000)
    parser.add_argument("--compare", action="store_true", help="also the in-memory path")
    parser.add_argument("--data", type=Path, help="reuse a folder a run of this script prepared")
    parser.add_argument("--database-url")
    parser.add_argument("--step", help=argparse.SUPPRESS)  # internal: one measured process
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        _step(args)
        return
    from tests.support.postgres import find_or_start_server

    server = None
    if not args.database_url:
        server = find_or_start_server()
        args.database_url = server.create_database("mes_bench_quarter")
    try:
        with tempfile.TemporaryDirectory() as scratch:
            if args.data is None:
                args.data = Path(scratch)
            run(args)
    finally:
        if server is not None:
            server.drop_database(args.database_url)
            server.stop()


def run(args) -> None:
    if not (args.data / "data").exists():
        started = time.perf_counter()
        _child(args, "prepare")
        print(
            f"{args.rows:,} rows of {QUARTER} written as Parquet in "
            f"{time.perf_counter() - started:.0f} s (model trained on {args.train_rows:,} Q1 "
            "rows; not part of the figures below)"
        )
    print(f"\nstream: one task reads the quarter {args.chunk_rows:,} rows at a time")
    streamed = _child(args, "stream")
    _report(streamed)
    print(f"\npartitions: {args.partitions} slices of days, one process each, then the merge")
    parts = [_child(args, "slice", index) for index in range(args.partitions)]
    merged = _child(args, "merge")
    for index, part in enumerate(parts):
        print(
            f"  slice {index + 1}/{args.partitions}: {part['seconds']:.1f} s, peak RSS "
            f"{part['peak'] / 2**20:,.0f} MiB"
        )
    _report(merged, "  merge and store: ")
    work = sum(p["seconds"] for p in parts) + merged["seconds"]
    wall = max(p["seconds"] for p in parts) + merged["seconds"]
    print(
        f"  {work:.1f} s of work; {wall:.1f} s end to end with a worker per slice; largest "
        f"peak RSS {max(p['peak'] for p in [*parts, merged]) / 2**20:,.0f} MiB"
    )
    differences(streamed, merged, "partitioned against one streamed task", merged["bounds"])
    if args.compare:
        print("\nmemory: the exact in-memory path on the same rows")
        memory = _child(args, "memory")
        _report(memory)
        differences(memory, streamed, "streamed against in memory", streamed["bounds"])
        differences(memory, merged, "partitioned against in memory", merged["bounds"])


def _report(result: dict, prefix: str = "  ") -> None:
    print(
        f"{prefix}{result['rows']:,} rows in {result['seconds']:.1f} s "
        f"({result['rows'] / result['seconds']:,.0f} rows/s), peak RSS "
        f"{result['peak'] / 2**20:,.0f} MiB; AUC {result['metrics'].get('auc', math.nan):.4f}, "
        f"data drift {result['metrics'].get('data_drift', math.nan):.4f}, "
        f"drifted: {', '.join(result['drifted']) or 'none'}"
    )
    if result["in_doubt"]:
        print(f"{prefix}flags the bounds leave in doubt: {', '.join(result['in_doubt'])}")


SAMPLED = ("data_drift", "drift_importance:")
"""Metrics of the domain classifier: both paths draw a uniform sample, so they differ by chance
(each has its interval), not within a bound."""


def bound_of(name: str, bounds: dict) -> float:
    """The streaming path's stated bound for a metric (0: exact)."""
    if name.startswith("performance_change:"):
        return bounds.get("performance", {}).get(name.split(":", 1)[1], 0.0)
    if name.startswith("estimated_"):
        return bounds.get("estimate", {}).get(name, 0.0)
    if ":" in name:
        statistic, feature = name.split(":", 1)
        return bounds.get(f"drift:{feature}", {}).get(statistic, 0.0)
    if name.startswith("prediction_drift_"):
        statistic = name.removeprefix("prediction_drift_")
        parts = [fields for part, fields in bounds.items() if part.startswith("prediction:")]
        return max((fields.get(statistic, 0.0) for fields in parts), default=0.0)
    return bounds.get("performance", {}).get(name, 0.0)


def differences(base: dict, other: dict, title: str, bounds: dict) -> None:
    """The largest differences between two evaluations' metrics, each beside its bound."""
    rows = []
    for name, value in base["metrics"].items():
        if name in other["metrics"]:
            rows.append((abs(other["metrics"][name] - value), name))
    missing = sorted(set(base["metrics"]) ^ set(other["metrics"]))
    exact = [name for difference, name in rows if difference == 0]
    print(f"  {title}: {len(exact)} of {len(rows)} metrics equal")
    sampled = [row for row in rows if row[1].startswith(SAMPLED)]
    bounded = sorted((row for row in rows if not row[1].startswith(SAMPLED)), reverse=True)
    beyond = [(d, n) for d, n in bounded if d > bound_of(n, bounds) + 1e-9]
    print(f"  largest differences (of {len(bounded)} statistics with an exact value or a bound):")
    for difference, name in bounded[:10]:
        print(f"    {name:<46} {difference:10.3g}   bound {bound_of(name, bounds):.3g}")
    print(
        f"  beyond their bound: {len(beyond)}" + "".join(f"\n    {n}: {d:.3g}" for d, n in beyond)
    )
    difference, name = max(sampled, default=(0.0, "-"))
    print(f"  the domain classifier's sample (by chance, not bounded): {name} {difference:.3g}")
    if missing:
        print(f"  only in one of them: {', '.join(missing[:8])}")


def _child(args, step: str, index: int = 0) -> dict:
    command = [sys.executable, __file__, "--step", step, "--folder", str(args.data)]
    command += ["--index", str(index), "--rows", str(args.rows)]
    command += ["--partitions", str(args.partitions), "--chunk-rows", str(args.chunk_rows)]
    command += ["--train-rows", str(args.train_rows), "--database-url", args.database_url]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if done.returncode:
        sys.exit(f"step {step} {index} failed (exit {done.returncode})")
    lines = done.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(line)
    return json.loads(lines[-1])


def _step(args) -> None:
    """One measured process; prints its stages, then its figures as one JSON line."""
    from benchmarks.stages import Stages

    stages = Stages()
    started = time.perf_counter()
    result = STEPS[args.step](args, stages)
    result["seconds"] = time.perf_counter() - started
    result["peak"] = max([row[3] for row in stages.rows] or [0])
    print(json.dumps(result, default=float))


PIECE_ROWS = 1_000_000
ROW_GROUP_ROWS = 100_000


def _prepare(args, stages) -> dict:
    """The model trained on Q1, and the quarter as Parquet pieces of at most a million rows
    (generated one piece at a time, so that generating stays bounded too)."""
    from include.config import load_config
    from include.model.registry import save_model
    from include.model.training import train_model
    from include.tutorial.generator import generate_tables
    from include.tutorial.prepare import prepare_transactions

    config = load_config()
    q1 = prepare_transactions(
        generate_tables(transactions_per_quarter=args.train_rows, quarters=["2017Q1"])
    )
    save_model(train_model(q1, config), args.folder / "models")
    del q1
    data = args.folder / "data"
    data.mkdir(parents=True)
    written, piece = 0, 0
    with stages.stage("generate and write", args.rows):
        while written < args.rows:
            rows = min(PIECE_ROWS, args.rows - written)
            tables = generate_tables(
                transactions_per_quarter=rows,
                quarters=[QUARTER],
                n_cardholders=max(500, args.rows // 5),
                n_merchants=min(5_000, max(300, args.rows // 20)),
                seed=2017 + piece,
            )
            prepared = prepare_transactions(tables)
            prepared.to_parquet(data / f"piece-{piece:03d}.parquet", row_group_size=ROW_GROUP_ROWS)
            written, piece = written + rows, piece + 1
    return {"rows": written, "metrics": {}, "bounds": {}, "in_doubt": [], "drifted": []}


def _workspace(args, memory_rows: int):
    from include.config import DataSource, load_config
    from include.workflow import Workspace

    base = load_config()
    config = base.model_copy(
        update={
            "data": DataSource(path=str(args.folder / "data")),
            "streaming": base.streaming.model_copy(
                update={
                    "memory_rows": memory_rows,
                    "chunk_rows": args.chunk_rows,
                    "partitions": args.partitions,
                }
            ),
        }
    )
    return Workspace.open(
        config=config,
        datasets=args.folder / "datasets",
        models=args.folder / "models",
        mes_url=args.database_url,
        reports=args.folder / "reports",
    )


def _evaluated(workspace, evaluation) -> dict:
    streamed = evaluation.drift.current.get("streamed") or {}
    return {
        "rows": evaluation.row_count,
        "metrics": evaluation.metrics(),
        "bounds": streamed.get("bounds", {}),
        "in_doubt": streamed.get("in_doubt", []),
        "drifted": evaluation.drift.drifted_features,
    }


def _evaluate(args, stages, memory_rows: int) -> dict:
    from include.model.registry import load_model
    from include.workflow import evaluate_period

    workspace = _workspace(args, memory_rows)
    model = load_model(workspace.config, root=workspace.models)
    _, evaluation = evaluate_period(
        workspace, QUARTER, model=model, stage=lambda name: stages.stage(name, args.rows)
    )
    workspace.close()
    return _evaluated(workspace, evaluation)


def _stream(args, stages) -> dict:
    return _evaluate(args, stages, memory_rows=0)


def _memory(args, stages) -> dict:
    return _evaluate(args, stages, memory_rows=args.rows + 1)


def _slice(args, stages) -> dict:
    from include.model.registry import load_model
    from include.workflow import summarise_slice

    workspace = _workspace(args, 0)
    model = load_model(workspace.config, root=workspace.models)
    with stages.stage(f"summarise slice {args.index + 1}", args.rows // args.partitions):
        summarise_slice(
            workspace,
            QUARTER,
            args.index,
            args.partitions,
            model=model,
            folder=args.folder / "slices" / str(args.index),
        )
    workspace.close()
    return {"rows": 0, "metrics": {}, "bounds": {}, "in_doubt": [], "drifted": []}


def _merge(args, stages) -> dict:
    from include.model.registry import load_model
    from include.workflow import evaluate_slices

    workspace = _workspace(args, 0)
    model = load_model(workspace.config, root=workspace.models)
    folders = [args.folder / "slices" / str(index) for index in range(args.partitions)]
    _, evaluation = evaluate_slices(
        workspace,
        QUARTER,
        folders,
        model=model,
        stage=lambda name: stages.stage(name, args.rows),
    )
    workspace.close()
    return _evaluated(workspace, evaluation)


STEPS = {
    "prepare": _prepare,
    "stream": _stream,
    "memory": _memory,
    "slice": _slice,
    "merge": _merge,
}


if __name__ == "__main__":
    main()
