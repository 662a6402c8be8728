"""Benchmark: performance estimated without labels against the realised values, beside NannyML.

For every period of the tutorial's fraud data and of the Seattle weather example (the real data of
the own-models work), the batch's performance is estimated from its scores alone
(``include.evaluation.estimation``, calibrated on the model's reference) and compared with the
performance its labels give: AUC, accuracy and F1, the absolute error, and whether the realised
value fell inside the 95 % interval (the Seattle references are calibrated with their dates, so
their intervals carry the calibration's drift over time; the tutorial's stored calibration got its
test split's dates when trained). NannyML 0.13's CBPE (its own venv, see benchmarks/README.md)
estimates the same scores with one chunk per period; its band is its estimate ± 3 sampling errors
(coverage is also given for ± 1.96, a 95 % band). Then both are timed on 1,000,000 rows.
Targets: mean absolute error no worse than NannyML's, coverage at least 90 %, at least 5x faster.

Datasets (the model, its reference, its periods):

- tutorial by quarter and by month: the tutorial's model (trained on 2017Q1, calibrated on its
  held-out test split), 2017Q2-Q4 (``--transactions-per-quarter`` rows each, the demo's 20,000);
- Seattle, logistic regression (the example's file model): trained on 2012, reference 2012 as in
  its configuration, each quarter of 2013-2015; and again with a reference the model never saw
  (2013), each quarter of 2014-2015;
- Seattle, random forest (the example's MLflow model, rebuilt here without MLflow): trained on
  2012, reference 2012, each month of 2013-2015. A forest scored on its own training rows is
  overconfident, so this is the realistic case of a reference that is also the training data;
- Seattle, inference log (the example's predictions source): reference 2013, each month of
  2014-2015;
- synthetic covariate shift: scores that drift while P(label | score) stays, the case CBPE is
  made for (:func:`synthetic_dataset`).

    python benchmarks/performance_estimation.py [--transactions-per-quarter 20000]
        [--timing-rows 1000000] [--skip-nannyml] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from include.config import CostMatrix, load_config
from include.data.batches import select_period
from include.evaluation.calibration import CALIBRATION_KEY, Calibration, fit_calibration
from include.evaluation.calibration import METRICS as TRACKED
from include.evaluation.estimation import PerformanceEstimate, estimate_performance
from include.evaluation.metrics import binary_metrics
from include.evaluation.track_record import landed_estimate, track_record
from include.examples import seattle_weather as seattle
from include.model.features import binary_labels, feature_frame
from include.model.training import train_model
from include.periods import Period
from include.tutorial.generator import generate_tables
from include.tutorial.prepare import prepare_transactions

ROOT = Path(__file__).resolve().parent.parent
NANNYML_PYTHON = ROOT / "benchmarks" / ".venv-nannyml" / "bin" / "python"
NANNYML_RUNNER = ROOT / "benchmarks" / "nannyml_runner.py"
METRICS = ("auc", "accuracy", "f1")
NANNYML_NAMES = {"auc": "roc_auc", "accuracy": "accuracy", "f1": "f1"}
NO_COST = CostMatrix(true_positive=0, true_negative=0, false_positive=0, false_negative=0)
REFERENCE_CHUNKS = 5  # NannyML sets its alert thresholds from the reference's own chunks
SETUP = (
    "uv venv -p python3.11 benchmarks/.venv-nannyml && uv pip install -p "
    "benchmarks/.venv-nannyml/bin/python -r benchmarks/requirements-nannyml.txt"
)


@dataclass
class Batch:
    period: str
    scores: np.ndarray
    labels: np.ndarray


@dataclass
class Dataset:
    name: str
    description: str
    reference_scores: np.ndarray
    reference_labels: np.ndarray
    threshold: float
    batches: list[Batch]
    calibration: Calibration | None = None  # the stored one, when the model stores it
    reference_dates: np.ndarray | None = None  # for the calibration's drift term


@dataclass
class Estimate:
    value: float | None
    low: float | None = None
    high: float | None = None
    reason: str | None = None


@dataclass
class PeriodResult:
    period: str
    rows: int
    realised: dict[str, float]
    ours: dict[str, Estimate]
    theirs: dict[str, Estimate] = field(default_factory=dict)
    # ours without the track record of earlier periods (the reference's calibration alone)
    plain: dict[str, Estimate] = field(default_factory=dict)
    theirs_se: dict[str, float] = field(default_factory=dict)


def tutorial_datasets(transactions: int) -> list[Dataset]:
    config = load_config()
    data = prepare_transactions(generate_tables(transactions_per_quarter=transactions))
    trained = train_model(data, config)
    threshold = float(trained.metadata["threshold"])
    reference = trained.reference
    reference_scores = trained.pipeline.predict_proba(feature_frame(reference, config))[:, 1]
    reference_labels = binary_labels(reference, config).to_numpy()
    stored = Calibration.from_dict(json.loads(json.dumps(trained.metadata[CALIBRATION_KEY])))
    datasets = []
    for cadence, periods in (
        ("quarter", ["2017Q2", "2017Q3", "2017Q4"]),
        ("month", [f"2017-{month:02d}" for month in range(4, 13)]),
    ):
        batches = []
        for name in periods:
            rows = select_period(data, config.date_column, Period.parse(name))
            scores = trained.pipeline.predict_proba(feature_frame(rows, config))[:, 1]
            batches.append(Batch(name, scores, binary_labels(rows, config).to_numpy()))
        datasets.append(
            Dataset(
                name=f"tutorial by {cadence}",
                description=f"fraud model trained on 2017Q1; reference: its {len(reference):,}-row "
                f"held-out test split; {transactions:,} transactions a quarter",
                reference_scores=reference_scores,
                reference_labels=reference_labels,
                threshold=threshold,
                batches=batches,
                calibration=stored,
            )
        )
    return datasets


def seattle_datasets(folder: Path) -> list[Dataset]:
    files = seattle.build_example(folder, mlflow=False)
    weather = pd.read_csv(files.labelled_csv)
    features = list(seattle.FEATURES)
    train = seattle.training_rows(weather)
    log = pd.concat(
        [pd.read_parquet(path) for path in sorted(files.predictions.glob("*.parquet"))],
        ignore_index=True,
    )
    log["date"] = log["date"].dt.strftime("%Y-%m-%d")
    import joblib

    logistic = joblib.load(files.model_file)
    forest = seattle.forest_model(train)
    scored = weather.assign(
        logistic=logistic.predict_proba(weather[features])[:, 1],
        forest=forest.predict_proba(weather[features])[:, 1],
    )
    return [
        _seattle(scored, "logistic", "Seattle logistic regression (file) by quarter", "Q", 2012),
        _seattle(
            scored,
            "logistic",
            "Seattle logistic regression, held-out reference, by quarter",
            "Q",
            2013,
        ),
        _seattle(scored, "forest", "Seattle random forest (MLflow) by month", "M", 2012),
        _seattle(
            log.rename(columns={"score": "log"}),
            "log",
            "Seattle inference log (predictions) by month",
            "M",
            2013,
        ),
    ]


def _seattle(frame: pd.DataFrame, column: str, name: str, cadence: str, year: int) -> Dataset:
    """Reference: the days of ``year``; batches: each period after it."""
    years = pd.to_datetime(frame["date"]).dt.year
    later = frame[years > year]
    periods = pd.to_datetime(later["date"]).dt.to_period(cadence).astype(str)
    batches = [
        Batch(period, rows[column].to_numpy(), rows[seattle.LABEL].to_numpy().astype(bool))
        for period, rows in later.groupby(periods, sort=True)
    ]
    reference = frame[years == year]
    trained = "the model's own training rows" if year == 2012 else "days it never saw"
    return Dataset(
        name=name,
        description=f"trained on 2012; reference: {year} ({len(reference)} days, {trained})",
        reference_scores=reference[column].to_numpy(),
        reference_labels=reference[seattle.LABEL].to_numpy().astype(bool),
        threshold=0.5,
        batches=batches,
        reference_dates=reference["date"].to_numpy(),
    )


def synthetic_dataset() -> Dataset:
    """Where CBPE's assumption holds by construction: the scores shift, P(label | score) does not.

    An overconfident model (a score s is right s² of the time), a 5,000-row reference, then 20
    periods of 2,000 rows whose scores drift upwards (Beta(2 + period/4, 5)).
    """
    rng = np.random.default_rng(13)

    def truth(scores: np.ndarray) -> np.ndarray:
        return scores**2

    reference = rng.beta(2, 5, 5_000)
    batches = []
    for period in range(20):
        scores = rng.beta(2 + period / 4, 5, 2_000)
        batches.append(Batch(f"p{period + 1:02d}", scores, rng.random(scores.size) < truth(scores)))
    return Dataset(
        name="synthetic covariate shift",
        description="overconfident model (P(label | s) = s²), reference 5,000 rows, "
        "scores drifting upwards over 20 periods of 2,000 rows",
        reference_scores=reference,
        reference_labels=rng.random(reference.size) < truth(reference),
        threshold=0.5,
        batches=batches,
    )


def ours(dataset: Dataset, label_lag: int) -> tuple[list[PeriodResult], Calibration]:
    """Each period estimated as the monitor would: with the calibration, and with the track record
    of the earlier periods whose labels have landed (all but the ``label_lag`` latest)."""
    calibration = dataset.calibration or fit_calibration(
        dataset.reference_scores,
        dataset.reference_labels,
        times=dataset.reference_dates,
        threshold=dataset.threshold,
    )
    results = []
    stored: list[tuple[str, dict[str, float]]] = []  # what the store keeps of each period
    for index, batch in enumerate(dataset.batches):
        plain = estimate_performance(calibration, batch.scores, dataset.threshold)
        landed = {
            metric: [
                found
                for period, metrics in stored[: max(0, index - label_lag)]
                if (found := landed_estimate(period, metrics, metric)) is not None
            ]
            for metric in TRACKED
        }
        estimate = plain.widened(track_record(landed).variance)
        realised = binary_metrics(
            batch.labels, batch.scores, threshold=dataset.threshold, cost_matrix=NO_COST
        ).as_dict()
        stored.append((batch.period, {**estimate.values, **realised}))
        results.append(
            PeriodResult(
                batch.period,
                batch.scores.size,
                realised,
                _estimates(estimate),
                plain=_estimates(plain),
            )
        )
    return results, calibration


def _estimates(estimate: PerformanceEstimate) -> dict[str, Estimate]:
    mine = {}
    for metric in METRICS:
        key = f"estimated_{metric}"
        if key in estimate.values:
            values = estimate.values
            mine[metric] = Estimate(values[key], values[f"{key}_ci_low"], values[f"{key}_ci_high"])
        else:
            reason = estimate.untrusted.get(metric) or estimate.untrusted.get("all")
            mine[metric] = Estimate(None, reason=reason)
    return mine


def nannyml(datasets: list[Dataset], folder: Path) -> dict | str:
    """NannyML's results per dataset name, or a sentence saying why there are none."""
    if not NANNYML_PYTHON.exists():
        return f"NannyML skipped: {NANNYML_PYTHON} is missing; set its venv up: {SETUP}"
    entries = []
    for index, dataset in enumerate(datasets):
        reference_path = folder / f"reference-{index}.parquet"
        analysis_path = folder / f"analysis-{index}.parquet"
        scores_frame(
            dataset.reference_scores,
            dataset.threshold,
            np.array_split(np.arange(dataset.reference_scores.size), REFERENCE_CHUNKS),
            labels=dataset.reference_labels,
        ).to_parquet(reference_path)
        pd.concat(
            [
                scores_frame(batch.scores, dataset.threshold, period=batch.period)
                for batch in dataset.batches
            ],
            ignore_index=True,
        ).to_parquet(analysis_path)
        entries.append(
            {"name": dataset.name, "reference": str(reference_path), "analysis": str(analysis_path)}
        )
    return run_nannyml(entries, folder, [NANNYML_NAMES[m] for m in METRICS])


def scores_frame(scores, threshold, chunks=None, *, labels=None, period=None) -> pd.DataFrame:
    frame = pd.DataFrame({"score": scores, "predicted": (scores >= threshold).astype("int64")})
    if chunks is not None:
        names = np.empty(scores.size, dtype=object)
        for number, members in enumerate(chunks):
            names[members] = f"reference-{number}"
        frame["period"] = names
    else:
        frame["period"] = period
    if labels is not None:
        frame["label"] = labels.astype("int64")
    return frame


def run_nannyml(entries: list[dict], folder: Path, metrics: list[str]) -> dict | str:
    manifest, out = folder / "nannyml.json", folder / "nannyml-out.json"
    manifest.write_text(json.dumps({"metrics": metrics, "datasets": entries}))
    done = subprocess.run(
        [str(NANNYML_PYTHON), str(NANNYML_RUNNER), str(manifest), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return f"NannyML failed: {done.stderr.strip().splitlines()[-3:]}"
    return json.loads(out.read_text())


def attach_nannyml(results: list[PeriodResult], theirs: dict) -> None:
    for result in results:
        chunk = theirs["chunks"].get(result.period, {})
        for metric in METRICS:
            entry = chunk.get(NANNYML_NAMES[metric]) or {}
            result.theirs[metric] = Estimate(
                entry.get("value"), entry.get("lower"), entry.get("upper")
            )
            if entry.get("sampling_error") is not None:
                result.theirs_se[metric] = entry["sampling_error"]


def describe(estimate: Estimate | None, actual: float | None) -> str:
    if estimate is None or estimate.value is None:
        return f"{'not estimated':<33}"
    error = abs(estimate.value - actual)
    inside = "yes" if estimate.low <= actual <= estimate.high else "NO"
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}] {error:.3f} {inside:<3}"


def print_dataset(dataset: Dataset, results: list[PeriodResult], calibration: Calibration) -> None:
    quality = calibration.quality
    print(
        f"\n## {dataset.name}\n{dataset.description}; threshold {dataset.threshold:.3f}; "
        f"calibration: {calibration.probability.size} knots, cross-validated ECE "
        f"{quality.get('ece', float('nan')):.3f}, p = {quality.get('p_value', float('nan')):.2g}"
    )
    print(
        f"{'period':<9}{'rows':>7}  {'metric':<9}{'realised':>9}  "
        f"{'ours: est [95 %] |err| in':<33}  {'NannyML: est [±3 SE] |err| in':<33}"
    )
    reasons = set()
    for result in results:
        for metric in METRICS:
            actual = result.realised.get(metric)
            if actual is None:
                continue
            mine = result.ours[metric]
            if mine.reason:
                reasons.add(mine.reason)
            print(
                f"{result.period:<9}{result.rows:>7,}  {metric:<9}{actual:>9.3f}  "
                f"{describe(mine, actual)}  {describe(result.theirs.get(metric), actual)}"
            )
    for reason in sorted(reasons):
        print(f"  not estimated by ours: {reason}")


def mean_error(items: list[PeriodResult], side: str, metric: str) -> float:
    return float(np.mean([abs(getattr(r, side)[metric].value - r.realised[metric]) for r in items]))


def coverage(items: list[PeriodResult], side: str, metric: str) -> float:
    estimates = [(getattr(r, side)[metric], r.realised[metric]) for r in items]
    return float(np.mean([e.low <= actual <= e.high for e, actual in estimates]))


def width(items: list[PeriodResult], side: str, metric: str) -> float:
    """The mean width of the intervals: coverage bought by width shows here."""
    return float(
        np.mean([getattr(r, side)[metric].high - getattr(r, side)[metric].low for r in items])
    )


def coverage_95(items: list[PeriodResult], metric: str) -> float:
    """NannyML's estimate ± 1.96 of its sampling errors: a 95 % band like ours."""
    hits = [
        abs(r.theirs[metric].value - r.realised[metric]) <= 1.96 * r.theirs_se[metric]
        for r in items
        if metric in r.theirs_se
    ]
    return float(np.mean(hits)) if hits else float("nan")


def summary(name: str, results: list[PeriodResult]) -> list[str]:
    """Markdown rows: per metric, MAE over the periods both estimated, and coverage."""
    rows = []
    for metric in METRICS:
        defined = [r for r in results if metric in r.realised]
        mine = [r for r in defined if r.ours[metric].value is not None]
        both = [r for r in mine if r.theirs.get(metric, Estimate(None)).value is not None]
        counted = f"| {name} | {metric} | {len(mine)}/{len(defined)} | {len(both)} |"
        covered = (
            f"{coverage(mine, 'ours', metric):.2f} ({width(mine, 'ours', metric):.3f}) | "
            f"{coverage(mine, 'plain', metric):.2f} ({width(mine, 'plain', metric):.3f}) |"
            if mine
            else "n/a | n/a |"
        )
        if both:
            rows.append(
                f"{counted} {mean_error(both, 'ours', metric):.4f} | "
                f"{mean_error(both, 'theirs', metric):.4f} | {covered} "
                f"{coverage(both, 'theirs', metric):.2f} | {coverage_95(both, metric):.2f} |"
            )
        elif mine:
            rows.append(
                f"{counted} {mean_error(mine, 'ours', metric):.4f} | n/a | {covered} n/a | n/a |"
            )
        else:
            rows.append(f"{counted} n/a | n/a | n/a | n/a | n/a | n/a |")
    return rows


def timing(rows: int, folder: Path, skip_nannyml: bool) -> None:
    rng = np.random.default_rng(2017)
    reference = rng.beta(2, 5, rows)
    labels = rng.random(rows) < reference
    batch = rng.beta(2, 5, rows)
    started = time.perf_counter()
    calibration = fit_calibration(reference, labels)
    fitted = time.perf_counter()
    estimate_performance(calibration, batch, 0.5)
    done = time.perf_counter()
    ours_fit, ours_estimate = fitted - started, done - fitted
    print(f"\n## Time on {rows:,} rows (reference and batch of {rows:,} synthetic scores each)")
    print(
        f"ours:    calibration {ours_fit:.2f} s (isotonic fit and its 5-fold check), "
        f"estimate {ours_estimate:.3f} s (all five metrics and intervals)"
    )
    if skip_nannyml:
        return
    if not NANNYML_PYTHON.exists():
        print(f"NannyML skipped: {NANNYML_PYTHON} is missing; set its venv up: {SETUP}")
        return
    reference_path, analysis_path = folder / "time-ref.parquet", folder / "time-ana.parquet"
    scores_frame(
        reference, 0.5, np.array_split(np.arange(rows), REFERENCE_CHUNKS), labels=labels
    ).to_parquet(reference_path)
    scores_frame(batch, 0.5, period="batch").to_parquet(analysis_path)
    theirs = run_nannyml(
        [{"name": "timing", "reference": str(reference_path), "analysis": str(analysis_path)}],
        folder,
        ["roc_auc", "accuracy", "precision", "recall", "f1"],
    )
    if isinstance(theirs, str):
        print(theirs)
        return
    result = theirs["datasets"]["timing"]
    fit, estimate = result["seconds_fit"], result["seconds_estimate"]
    print(
        f"NannyML {theirs['nannyml_version']} CBPE: fit {fit:.2f} s, estimate {estimate:.3f} s "
        "(same five metrics)"
    )
    print(
        f"speed-up: {(fit + estimate) / (ours_fit + ours_estimate):.1f}x fit and estimate, "
        f"{estimate / ours_estimate:.1f}x the estimate alone (target: >= 5x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions-per-quarter", type=int, default=20_000)
    parser.add_argument("--timing-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-nannyml", action="store_true")
    parser.add_argument(
        "--label-lag",
        type=int,
        default=1,
        help="periods whose labels are still missing when a period is estimated (default 1: "
        "the previous one's); the others' labels make the track record",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        print("building the tutorial data, its model and the Seattle example ...")
        datasets = tutorial_datasets(args.transactions_per_quarter)
        datasets += seattle_datasets(folder / "seattle")
        datasets.append(synthetic_dataset())
        theirs = "NannyML skipped (--skip-nannyml)" if args.skip_nannyml else None
        if theirs is None:
            theirs = nannyml(datasets, folder)
        if isinstance(theirs, str):
            print(theirs)
        table = [
            "| dataset | metric | estimated by ours | by both | MAE ours | MAE NannyML | "
            "coverage ours (95 %) (mean width) | ours without track record | NannyML (±3 SE) | "
            "NannyML (±1.96 SE) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        every: list[PeriodResult] = []
        dump = {}
        for dataset in datasets:
            results, calibration = ours(dataset, args.label_lag)
            if isinstance(theirs, dict):
                attach_nannyml(results, theirs["datasets"][dataset.name])
            print_dataset(dataset, results, calibration)
            table += summary(dataset.name, results)
            every += results
            dump[dataset.name] = [
                {
                    "period": r.period,
                    "rows": r.rows,
                    "realised": {m: r.realised.get(m) for m in METRICS},
                    "ours": {m: vars(r.ours[m]) for m in METRICS},
                    "ours_without_track_record": {m: vars(r.plain[m]) for m in METRICS},
                    "nannyml": {m: vars(e) for m, e in r.theirs.items()},
                }
                for r in results
            ]
        table += summary("**all periods**", every)
        print("\n## Summary (MAE over the periods both estimated)\n")
        print("\n".join(table))
        timing(args.timing_rows, folder, args.skip_nannyml)
        if args.json:
            args.json.write_text(json.dumps(dump, indent=2) + "\n")


if __name__ == "__main__":
    main()
