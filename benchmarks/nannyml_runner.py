"""NannyML's CBPE on Parquet frames of scores, timed, for the performance-estimation benchmark.

Runs in its own venv (benchmarks/README.md): NannyML 0.13.1 and its many pins never enter the
project's environment, so this script imports nothing from the project and talks to the benchmark
through files.

    benchmarks/.venv-nannyml/bin/python benchmarks/nannyml_runner.py MANIFEST.json --out OUT.json

The manifest lists datasets, each a reference and an analysis frame with the columns ``score``
(probability of the positive class), ``predicted`` (0/1, the model's class), ``period`` (the
chunk: one chunk per distinct value, in order of appearance) and, in the reference only,
``label`` (0/1):

    {"metrics": ["roc_auc", "accuracy", "f1", "precision", "recall"],
     "datasets": [{"name": "...", "reference": "ref.parquet", "analysis": "ana.parquet"}]}

For each dataset ``CBPE(..., chunker=<by period>)`` is fitted on the reference (isotonic
calibration, NannyML's default) and estimates the analysis frame. The JSON written:

    {"nannyml_version", "pandas_version",
     "datasets": {name: {"seconds_fit", "seconds_estimate", "rows_reference", "rows_analysis",
                         "chunks": {period: {metric: {"value", "sampling_error",
                                                      "lower", "upper"}}}}}}

``lower``/``upper`` are NannyML's confidence band, the estimate ± 3 sampling errors (clipped to
the metric's range). Loading the frames is not timed. Usage logging is switched off so that no
network call is timed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# NannyML sends usage statistics unless told not to; a benchmark must not time a network call.
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

import nannyml
import pandas as pd
from nannyml.chunk import Chunk, Chunker


class PeriodChunker(Chunker):
    """One chunk per value of a column, in order of appearance: a chunk is one period."""

    def __init__(self, column: str) -> None:
        super().__init__(None)
        self.column = column

    def _split(self, data: pd.DataFrame) -> list[Chunk]:
        return [
            Chunk(key=str(key), data=rows)
            for key, rows in data.groupby(self.column, sort=False, observed=True)
        ]


def run_dataset(entry: dict[str, Any], metrics: Sequence[str]) -> dict[str, Any]:
    reference = pd.read_parquet(
        entry["reference"], columns=["score", "predicted", "label", "period"]
    )
    analysis = pd.read_parquet(entry["analysis"], columns=["score", "predicted", "period"])
    estimator = nannyml.CBPE(
        y_pred_proba="score",
        y_pred="predicted",
        y_true="label",
        problem_type="classification_binary",
        metrics=list(metrics),
        chunker=PeriodChunker("period"),
    )
    started = time.perf_counter()
    estimator.fit(reference)
    fitted = time.perf_counter()
    results = estimator.estimate(analysis)
    estimated = time.perf_counter()
    frame = results.filter(period="analysis").to_df()
    chunks = {}
    for _, row in frame.iterrows():
        chunks[str(row[("chunk", "key")])] = {
            metric: {
                "value": _number(row[(metric, "value")]),
                "sampling_error": _number(row[(metric, "sampling_error")]),
                "lower": _number(row[(metric, "lower_confidence_boundary")]),
                "upper": _number(row[(metric, "upper_confidence_boundary")]),
            }
            for metric in metrics
        }
    return {
        "seconds_fit": fitted - started,
        "seconds_estimate": estimated - fitted,
        "rows_reference": len(reference),
        "rows_analysis": len(analysis),
        "chunks": chunks,
    }


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path, help="datasets to estimate (module docstring)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    args = parser.parse_args(argv)
    manifest = json.loads(args.manifest.read_text())
    metrics = manifest.get("metrics", ["roc_auc", "accuracy", "f1", "precision", "recall"])
    datasets = {}
    with warnings.catch_warnings():
        # "The resulting number of chunks is too low": a period is one chunk, by design here.
        warnings.simplefilter("ignore", UserWarning)
        for entry in manifest["datasets"]:
            datasets[entry["name"]] = run_dataset(entry, metrics)
    result = {
        "nannyml_version": nannyml.__version__,
        "pandas_version": pd.__version__,
        "datasets": datasets,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_name(f".{args.out.name}.tmp")
    temporary.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(temporary, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
