"""Benchmark: the full drift analysis on 1,000,000 reference rows vs 1,000,000 current rows.

The frames are the prepared tutorial data (14 features, numeric and categorical): Q1 2017 as the
reference, Q4 2017 (drifted on card_age and card_fico_score) as the current batch. Prints the time
and peak resident memory of each step of our analysis, then runs Evidently's data-drift preset on
the same frames (in its own virtual environment, see benchmarks/README.md) and prints both times,
their ratio, and whether the two agree on which features drifted. Target: our analysis under 5 s
and 3 GB on 2 cores, at least 5x faster than Evidently's preset.

    python benchmarks/drift_analysis.py [--rows 1000000] [--skip-evidently]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stages import Stages
from include.config import load_config
from include.drift.analysis import analyse_drift
from include.drift.univariate import build_reference_profile
from include.evaluation.evaluate import predict_proba
from include.model.features import PREDICTION_COLUMN, PROBABILITY_COLUMN, predictions_frame
from include.model.registry import SavedModel
from include.model.training import train_model
from include.periods import Period
from include.tutorial.generator import generate_tables
from include.tutorial.prepare import prepare_transactions

ROOT = Path(__file__).resolve().parent.parent
EVIDENTLY_PYTHON = ROOT / "benchmarks" / ".venv-evidently" / "bin" / "python"
EVIDENTLY_RUNNER = ROOT / "benchmarks" / "evidently_runner.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-evidently", action="store_true")
    args = parser.parse_args()
    config = load_config()
    n = args.rows
    stages = Stages()

    print(f"building {n:,} reference rows (2017Q1) and {n:,} current rows (2017Q4)")
    reference = prepare_transactions(
        generate_tables(transactions_per_quarter=n, quarters=["2017Q1"])
    )
    current = prepare_transactions(generate_tables(transactions_per_quarter=n, quarters=["2017Q4"]))
    trained = train_model(
        reference.sample(200_000, random_state=0) if n > 200_000 else reference, config
    )
    print("model trained on 200,000 Q1 rows (not timed)")
    threshold = trained.metadata["threshold"]

    with stages.stage("reference profile (once per model version)", n):
        feature_profile = build_reference_profile(
            reference, numeric=config.numeric_features, categorical=config.categorical_features
        )
        prediction_profile = build_reference_profile(
            predictions_frame(
                trained.pipeline.predict_proba(_features(reference, config))[:, 1], threshold
            ),
            numeric=[PROBABILITY_COLUMN],
            categorical=[PREDICTION_COLUMN],
        )
    model = SavedModel(
        pipeline=trained.pipeline,
        metadata=trained.metadata,
        reference=reference,
        feature_profile=feature_profile,
        prediction_profile=prediction_profile,
        path=Path("."),
    )
    proba = predict_proba(model, current, config)  # scoring belongs to the evaluation, not drift

    print(f"our analysis of {n:,} vs {n:,} rows:")
    analysis = analyse_drift(
        model,
        current,
        proba,
        config,
        Period.parse("2017Q4"),
        stage=lambda name: stages.stage(name, n),
    )
    ours, peak = stages.total({"data drift", "univariate drift", "prediction drift"})
    print(
        f"  total (profile precomputed)  {ours:7.2f} s   peak RSS {peak / 2**30:.2f} GiB "
        "(target: < 5 s, < 3 GB)"
    )
    with_profile, _ = stages.total(
        {
            "data drift",
            "univariate drift",
            "prediction drift",
            "reference profile (once per model version)",
        }
    )
    print(f"  total with the profile       {with_profile:7.2f} s")
    print(f"  data drift {analysis.data_drift.verdict()}")
    by_pvalue = sorted(f.feature for f in analysis.features if f.pvalue_drifted)
    by_psi = sorted(f.feature for f in analysis.features if f.psi_drifted)
    ours_flagged = sorted(analysis.drifted_features)
    settings = config.drift
    print(
        f"  significant (adjusted p <= {settings.alpha}, {settings.correction}): "
        f"{len(by_pvalue)} {by_pvalue}"
    )
    print(f"  PSI > {settings.psi_threshold} (reported only): {len(by_psi)} {by_psi}")
    print(
        f"  drifted (significant and material: Wasserstein/IQR >= "
        f"{settings.wasserstein_threshold}, Jensen-Shannon >= "
        f"{settings.jensen_shannon_threshold}, missing h >= {settings.missing_threshold}): "
        f"{len(ours_flagged)} {ours_flagged}"
    )
    for feature in sorted(analysis.features, key=lambda f: -(f.effect_size or 0)):
        print(
            f"    {feature.feature:<32} effect {_shown(feature.effect_size)}  "
            f"PSI {_shown(feature.psi)}  adj. p {_shown(feature.pvalue_adjusted, '.1e')}  "
            f"{'DRIFTED' if feature.drifted else ''}"
        )

    if args.skip_evidently:
        return
    if not EVIDENTLY_PYTHON.exists():
        print(
            f"Evidently is not installed for the benchmark ({EVIDENTLY_PYTHON} is missing): "
            "see benchmarks/README.md to set up its environment; comparison skipped"
        )
        return
    evidently = run_evidently(reference, current, config)
    seconds = evidently["seconds_run"]
    theirs = sorted(evidently["drifted_features"])
    print(
        f"Evidently {evidently['evidently_version']} DataDriftPreset on the same frames: "
        f"{seconds:.2f} s (run only; {evidently['seconds_total']:.2f} s with setup), "
        f"peak RSS {evidently['peak_rss_mb'] / 1024:.2f} GiB"
    )
    print(f"  drifted by Evidently's default tests: {len(theirs)} {theirs}")
    print(
        f"speed-up: {seconds / ours:.1f}x (Evidently {seconds:.2f} s / ours {ours:.2f} s; "
        "target >= 5x)"
    )
    agree = set(theirs) == set(ours_flagged)
    print(
        f"agreement on drifted features: Evidently vs our flags: "
        f"{'same' if agree else 'different'}"
        + (
            ""
            if agree
            else f" (only Evidently: {sorted(set(theirs) - set(ours_flagged))}, "
            f"only ours: {sorted(set(ours_flagged) - set(theirs))})"
        )
    )
    for name, entry in sorted(evidently["per_feature"].items()):
        print(
            f"    {name:<32} {entry['method']}: {_shown(entry['score'])} "
            f"(threshold {entry['threshold']}) {'DRIFTED' if entry['drifted'] else ''}"
        )


def _shown(value, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def _features(frame, config):
    from include.model.features import feature_frame

    return feature_frame(frame, config)


def run_evidently(reference, current, config) -> dict:
    columns = list(config.features)
    with tempfile.TemporaryDirectory() as folder:
        ref_path, cur_path = Path(folder, "reference.parquet"), Path(folder, "current.parquet")
        out_path = Path(folder, "result.json")
        reference[columns].to_parquet(ref_path, index=False)
        current[columns].to_parquet(cur_path, index=False)
        subprocess.run(
            [
                str(EVIDENTLY_PYTHON),
                str(EVIDENTLY_RUNNER),
                str(ref_path),
                str(cur_path),
                "--numeric",
                ",".join(config.numeric_features),
                "--categorical",
                ",".join(config.categorical_features),
                "--out",
                str(out_path),
            ],
            check=True,
        )
        return json.loads(out_path.read_text())


if __name__ == "__main__":
    main()
