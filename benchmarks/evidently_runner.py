"""Evidently's data-drift preset on two parquet frames, timed, for the drift benchmark.

Runs in its own venv (benchmarks/README.md): Evidently 0.7.23 does not import with the project's
pandas, so this script imports nothing from the project and talks to the benchmark through files.

    benchmarks/.venv-evidently/bin/python benchmarks/evidently_runner.py \\
        REFERENCE.parquet CURRENT.parquet --numeric a,b,c --categorical d,e --out result.json

Column types are declared through a ``DataDefinition`` (never guessed). Loading the frames is not
timed; ``seconds_run`` is ``Report.run`` alone and ``seconds_total`` adds building the datasets and
reading the results. The JSON written:

    {"seconds_run", "seconds_total", "drifted_features": [...], "share_drifted",
     "per_feature": {name: {"method", "score", "threshold", "drifted"}},
     "evidently_version", "pandas_version", "rows_reference", "rows_current",
     "rss_after_load_mb", "peak_rss_mb"}

``peak_rss_mb`` is the whole process's peak, so it includes the two loaded frames
(``rss_after_load_mb``).

``--batch MANIFEST.json`` runs many pairs in one process (one import of Evidently), for the
drift-flag benchmark: the manifest is ``{"numeric": [...], "categorical": [...], "pairs":
[{"reference": path, "current": path}, ...]}`` and ``--out`` receives ``{"results": [...]}``,
one entry per pair as above. A column without any value on a side makes Evidently refuse the
whole report ("An empty column was provided"), so such columns are left out of that pair's
report and listed under ``"empty_columns"``: Evidently gives them no verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Evidently sends usage events unless told not to; a benchmark must not time a network call.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("EVIDENTLY_DISABLE_TELEMETRY", "1")

import evidently
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

# A test that fails is a drifted column; WARNING appears instead when a test is not critical.
DRIFTED_STATUSES = {"FAIL", "WARNING"}


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def column_list(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def load_frame(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.read_parquet(path, columns=list(columns))
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise SystemExit(
            f"{path}: no column(s) {', '.join(missing)}; check --numeric/--categorical"
        )
    return frame


def metric_type(entry: Mapping[str, Any]) -> str:
    config = entry.get("config") or entry.get("params") or {}
    return str(config.get("type", "")).rsplit(":", 1)[-1]


def scalar(value: Any) -> float | None:
    """A metric value as a float; single values may come wrapped as ``{"value": x}``."""
    if isinstance(value, Mapping):
        value = value.get("value")
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def drifted_by_threshold(method: str | None, score: float | None, threshold: float | None) -> bool:
    """Evidently's own rule: a p-value drifts below its threshold, a distance at or above it."""
    if score is None or threshold is None:
        return False
    if method and "p_value" in method.lower():
        return score < threshold
    return score >= threshold


def test_statuses(snapshot: Mapping[str, Any]) -> dict[str, str]:
    """Status of each per-column drift test, by the id of the metric it tests."""
    statuses = {}
    for test in snapshot.get("tests") or []:
        metric_id = (test.get("metric_config") or {}).get("metric_id")
        params = (test.get("metric_config") or {}).get("params") or {}
        if metric_id and str(params.get("type", "")).endswith("ValueDrift"):
            # dict() keeps the TestStatus enum; json() turns it into its string value.
            status = test.get("status")
            statuses[metric_id] = str(getattr(status, "value", status)).upper()
    return statuses


def per_feature_drift(snapshot: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each column's method, score, threshold and verdict from a 0.7 snapshot's ``dict()``.

    Each column is a ``ValueDrift`` metric whose ``config`` holds the column, the resolved method
    and threshold, and whose ``value`` is the score. With ``include_tests=True`` a test per column
    says FAIL (drifted) or SUCCESS, linked by ``metric_config.metric_id``; the verdict comes from
    there, and from the method's threshold rule only when no test was recorded.
    """
    statuses = test_statuses(snapshot)
    result = {}
    for metric in snapshot.get("metrics") or []:
        if metric_type(metric) != "ValueDrift":
            continue
        config = metric.get("config") or {}
        method = config.get("method")
        score = scalar(metric.get("value"))
        threshold = scalar(config.get("threshold"))
        status = statuses.get(str(metric.get("id")))
        drifted = (
            status in DRIFTED_STATUSES if status else drifted_by_threshold(method, score, threshold)
        )
        result[str(config.get("column"))] = {
            "method": method,
            "score": score,
            "threshold": threshold,
            "drifted": bool(drifted),
        }
    return result


def drifted_share(snapshot: Mapping[str, Any], per_feature: Mapping[str, Any]) -> float | None:
    for metric in snapshot.get("metrics") or []:
        if metric_type(metric) == "DriftedColumnsCount" and isinstance(
            metric.get("value"), Mapping
        ):
            return scalar(metric["value"].get("share"))
    if not per_feature:
        return None
    return sum(entry["drifted"] for entry in per_feature.values()) / len(per_feature)


def run_evidently(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
) -> dict[str, Any]:
    started = time.perf_counter()
    definition = DataDefinition(
        numerical_columns=list(numeric), categorical_columns=list(categorical)
    )
    current_data = Dataset.from_pandas(current, data_definition=definition)
    reference_data = Dataset.from_pandas(reference, data_definition=definition)
    report = Report([DataDriftPreset()], include_tests=True)
    run_started = time.perf_counter()
    snapshot = report.run(current_data, reference_data)
    seconds_run = time.perf_counter() - run_started
    content = snapshot.dict()
    per_feature = per_feature_drift(content)
    seconds_total = time.perf_counter() - started
    return {
        "seconds_run": seconds_run,
        "seconds_total": seconds_total,
        "drifted_features": sorted(name for name, entry in per_feature.items() if entry["drifted"]),
        "share_drifted": drifted_share(content, per_feature),
        "per_feature": per_feature,
    }


def run_batch(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Evidently's verdicts on every pair of the manifest (see the module docstring)."""
    numeric, categorical = list(manifest["numeric"]), list(manifest["categorical"])
    results = []
    for pair in manifest["pairs"]:
        reference = load_frame(Path(pair["reference"]), numeric + categorical)
        current = load_frame(Path(pair["current"]), numeric + categorical)
        empty = [
            name
            for name in numeric + categorical
            if reference[name].isna().all() or current[name].isna().all()
        ]
        kept_numeric = [name for name in numeric if name not in empty]
        kept_categorical = [name for name in categorical if name not in empty]
        result = run_evidently(reference, current, kept_numeric, kept_categorical)
        result["empty_columns"] = empty
        results.append(result)
    return {"results": results, "evidently_version": evidently.__version__}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, nargs="?", help="reference frame (parquet)")
    parser.add_argument("current", type=Path, nargs="?", help="current frame (parquet)")
    parser.add_argument("--batch", type=Path, help="a manifest of many pairs (module docstring)")
    parser.add_argument("--numeric", default="", help="numeric columns, comma-separated")
    parser.add_argument("--categorical", default="", help="categorical columns, comma-separated")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    args = parser.parse_args(argv)
    if args.batch:
        _write(args.out, run_batch(json.loads(args.batch.read_text())))
        return 0
    if args.reference is None or args.current is None:
        parser.error("give the reference and current frames, or --batch MANIFEST")

    numeric, categorical = column_list(args.numeric), column_list(args.categorical)
    if not numeric and not categorical:
        parser.error("give the columns to compare with --numeric and/or --categorical")
    columns = numeric + categorical
    reference = load_frame(args.reference, columns)
    current = load_frame(args.current, columns)
    loaded_rss = rss_mb()

    result = run_evidently(reference, current, numeric, categorical)
    result.update(
        evidently_version=evidently.__version__,
        pandas_version=pd.__version__,
        rows_reference=len(reference),
        rows_current=len(current),
        rss_after_load_mb=loaded_rss,
        peak_rss_mb=peak_rss_mb(),
    )
    _write(args.out, result)
    return 0


def _write(path: Path, result: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(temporary, path)


if __name__ == "__main__":
    sys.exit(main())
