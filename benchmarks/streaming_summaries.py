"""Benchmark: a quarter summarised in bounded memory, partition by partition (issue 14).

Writes one quarter of N tutorial transactions as a folder of Parquet files (pieces of at most
1,000,000 rows, so that generating them stays bounded too), then, in a fresh process each (so that
the peak RSS is the stage's own), summarises the quarter as mapped tasks would: the quarter cut
into ``--partitions`` slices of days, each read chunk by chunk (``RowSource.chunks``), scored and
summarised (``include.streaming.partition``), and the summaries merged. Prints time and peak RSS
per partition and for the merge, and, with ``--compare`` (N up to a few million), the in-memory
path on the same rows: its time, its peak RSS, and the largest differences between the two
(confusion matrix, AUC, category counts, feature means).

    python benchmarks/streaming_summaries.py --rows 1000000 --compare
    python benchmarks/streaming_summaries.py --rows 10000000

Only the summarising is measured: the metrics, drift and column statistics of a merged summary
are not built yet.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PIECE_ROWS = 1_000_000
ROW_GROUP_ROWS = 100_000
QUARTER = "2017Q4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--train-rows", type=int, default=200_000)
    parser.add_argument("--compare", action="store_true", help="also the in-memory path")
    parser.add_argument("--step", help=argparse.SUPPRESS)  # internal: one measured stage
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        _step(args)
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        _child(args, folder, "prepare")
        print(
            f"{args.rows:,} rows of {QUARTER} written as Parquet in "
            f"{time.perf_counter() - started:.1f} s (model trained on {args.train_rows:,})"
        )
        timings = [_child(args, folder, "partition", index) for index in range(args.partitions)]
        merged = _child(args, folder, "merge")
        total = sum(t["seconds"] for t in timings) + merged["seconds"]
        peak = max(t["peak_rss"] for t in [*timings, merged])
        for index, t in enumerate(timings):
            print(
                f"partition {index + 1}/{args.partitions} ({t['period']}): {t['rows']:,} rows, "
                f"{t['seconds']:.1f} s, peak RSS {t['peak_rss'] / 2**20:,.0f} MiB"
            )
        print(
            f"merge of {args.partitions} summaries: {merged['seconds']:.2f} s, peak RSS "
            f"{merged['peak_rss'] / 2**20:,.0f} MiB; summaries {merged['bytes']:,} bytes "
            "(JSON and Parquet)"
        )
        print(
            f"streaming summaries of {merged['rows']:,} rows: {total:.1f} s of work "
            f"({merged['rows'] / total:,.0f} rows/s, one task at a time), "
            f"largest peak RSS {peak / 2**20:,.0f} MiB"
        )
        if args.compare:
            memory = _child(args, folder, "in-memory")
            print(
                f"in memory (read, score, metrics, column statistics; no drift): "
                f"{memory['seconds']:.1f} s, peak RSS {memory['peak_rss'] / 2**20:,.0f} MiB"
            )
            for name, value in memory["differences"].items():
                print(f"  largest difference, {name}: {value:.3g}")


def _child(args, folder: Path, step: str, index: int = 0) -> dict:
    command = [
        sys.executable,
        __file__,
        "--step",
        step,
        "--folder",
        str(folder),
        "--index",
        str(index),
        "--rows",
        str(args.rows),
        "--partitions",
        str(args.partitions),
        "--chunk-rows",
        str(args.chunk_rows),
        "--train-rows",
        str(args.train_rows),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"step {step} {index} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _step(args) -> None:
    """One measured stage in this fresh process; prints its figures as one JSON line."""
    started = time.perf_counter()
    result = STEPS[args.step](args)
    result["seconds"] = time.perf_counter() - started
    result["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(result))


def _prepare(args) -> dict:
    from include.config import load_config
    from include.data.generator import generate_tables
    from include.data.prepare import prepare_transactions
    from include.model.registry import save_model
    from include.model.training import train_model

    config = load_config()
    q1 = prepare_transactions(
        generate_tables(transactions_per_quarter=args.train_rows, quarters=["2017Q1"])
    )
    save_model(train_model(q1, config), args.folder / "models")
    del q1
    data = args.folder / "data"
    data.mkdir()
    written, piece = 0, 0
    while written < args.rows:
        rows = min(PIECE_ROWS, args.rows - written)
        tables = generate_tables(
            transactions_per_quarter=rows,
            quarters=[QUARTER],
            n_cardholders=max(500, args.rows // 5),
            n_merchants=min(5_000, max(300, args.rows // 20)),
            seed=2017 + piece,
        )
        # row groups of 100,000 rows: what the scanner reads at a time
        prepared = prepare_transactions(tables)
        prepared.to_parquet(data / f"piece-{piece:03d}.parquet", row_group_size=ROW_GROUP_ROWS)
        written, piece = written + rows, piece + 1
    return {"rows": written}


def _opened(args):
    from include.config import load_config
    from include.data.sources import ParquetRows
    from include.model.registry import load_model

    config = load_config()
    model = load_model(config, root=args.folder / "models")
    return config, model, ParquetRows(args.folder / "data", date_column=config.date_column)


def _partition(args) -> dict:
    from include.periods import Period
    from include.streaming.partition import summarise_partition

    config, model, source = _opened(args)
    part = Period.parse(QUARTER).slices(args.partitions)[args.index]
    summary = summarise_partition(
        model, source, config, part, index=args.index, rows=args.chunk_rows
    )
    summary.save(args.folder / f"summary-{args.index}")
    return {"rows": summary.rows, "period": part.name}


def _merge(args) -> dict:
    from include.streaming.partition import BatchSummary, merge_summaries

    folders = [args.folder / f"summary-{index}" for index in range(args.partitions)]
    size = sum(path.stat().st_size for folder in folders for path in folder.iterdir())
    merged = merge_summaries(BatchSummary.load(folder) for folder in folders)
    merged.save(args.folder / "merged")
    return {"rows": merged.rows, "bytes": size}


def _in_memory(args) -> dict:
    import pandas as pd

    from include.drift.columns import count_categories
    from include.evaluation.evaluate import evaluate_batch
    from include.periods import Period
    from include.streaming.partition import BatchSummary

    config, model, source = _opened(args)
    quarter = Period.parse(QUARTER)
    batch = source.read(period=quarter)
    performance = evaluate_batch(model, batch, config, quarter, drift=False).performance
    merged = BatchSummary.load(args.folder / "merged")
    confusion = merged.scores.confusion()
    differences = {
        "confusion matrix (rows)": max(
            abs(getattr(confusion, k) - getattr(performance.confusion_matrix, k))
            for k in ("true_positive", "false_positive", "true_negative", "false_negative")
        ),
        "AUC": abs(merged.scores.auc().value - performance.auc),
        "AUC bound": merged.scores.auc().bound,
        "category counts (rows)": max(
            abs(merged.categorical[n].counts().get(c, 0) - k)
            for n in config.categorical_features
            for c, k in count_categories(batch[n]).items()
        ),
        "feature means (relative)": max(
            abs(merged.numeric[n].mean / pd.to_numeric(batch[n]).mean() - 1)
            for n in config.numeric_features
        ),
    }
    return {"rows": len(batch), "differences": differences}


STEPS = {
    "prepare": _prepare,
    "partition": _partition,
    "merge": _merge,
    "in-memory": _in_memory,
}


if __name__ == "__main__":
    main()
