"""Benchmark: one quarter of N transactions evaluated into the MES, in bounded memory.

Writes the quarter as a folder of Parquet files (pieces of at most 1,000,000 rows, row groups of
100,000) and trains the model on a smaller Q1 (neither is timed), then evaluates the quarter with
``evaluate_quarter`` as a task would, each evaluation in a fresh process so that its peak RSS is
its own:

- ``stream``: one task reads the quarter in chunks (``streaming.memory_rows`` 0): time and peak
  RSS per stage (sampled every 5 ms from /proc);
- ``partitions`` (``--partitions K``, default 4): K slices of days summarised one process each,
  as mapped tasks would be, then merged and stored by another (``evaluate_slices``);
- ``memory`` (with ``--compare``): the exact in-memory path on the same rows, and the largest
  differences between its metrics and the streamed ones, beside the streaming path's bounds.

    python benchmarks/evaluate_quarter.py --rows 1000000 --compare
    python benchmarks/evaluate_quarter.py --rows 10000000

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
    differences(streamed, merged, "partitioned against one streamed task")
    if args.compare:
        print("\nmemory: the exact in-memory path on the same rows")
        memory = _child(args, "memory")
        _report(memory)
        differences(memory, streamed, "streamed against in memory", bounds=streamed["bounds"])


def _report(result: dict, prefix: str = "  ") -> None:
    print(
        f"{prefix}{result['rows']:,} rows in {result['seconds']:.1f} s "
        f"({result['rows'] / result['seconds']:,.0f} rows/s), peak RSS "
        f"{result['peak'] / 2**20:,.0f} MiB; AUC {result['metrics'].get('auc', math.nan):.4f}, "
        f"data drift {result['metrics'].get('data_drift', math.nan):.4f}, "
        f"{int(result['metrics'].get('drifted_features', 0))} drifted feature(s)"
    )


def differences(base: dict, other: dict, title: str, bounds: dict | None = None) -> None:
    """The largest differences between two evaluations' metrics, by kind of metric."""
    rows = []
    for name, value in base["metrics"].items():
        if name not in other["metrics"]:
            continue
        rows.append((abs(other["metrics"][name] - value), name))
    missing = sorted(set(base["metrics"]) ^ set(other["metrics"]))
    rows.sort(reverse=True)
    exact = [name for difference, name in rows if difference == 0]
    print(f"  {title}: {len(exact)} of {len(rows)} metrics equal")
    for difference, name in rows[:12]:
        print(f"    {name:<48} {difference:.3g}")
    if missing:
        print(f"    only in one of them: {', '.join(missing[:8])}")
    if bounds:
        largest = sorted(
            (
                (value, f"{part} {field}")
                for part, fields in bounds.items()
                for field, value in fields.items()
            ),
            reverse=True,
        )[:8]
        print("  the streaming path's largest stated bounds:")
        for value, name in largest:
            print(f"    {name:<48} {value:.3g}")


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


def _prepare(args, stages) -> dict:
    from benchmarks.streaming_summaries import _prepare as write_quarter

    args.folder.mkdir(parents=True, exist_ok=True)
    with stages.stage("generate and write", args.rows):
        return write_quarter(args)


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


def _evaluated(workspace, evaluation, bounds: dict | None = None) -> dict:
    return {
        "rows": evaluation.row_count,
        "metrics": evaluation.metrics(),
        "bounds": bounds or (evaluation.drift.current.get("streamed") or {}).get("bounds", {}),
    }


def _evaluate(args, stages, memory_rows: int) -> dict:
    from include.model.registry import load_model
    from include.workflow import evaluate_quarter

    workspace = _workspace(args, memory_rows)
    model = load_model(workspace.config, root=workspace.models)
    _, evaluation = evaluate_quarter(
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
    return {"rows": 0, "metrics": {}, "bounds": {}}


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
