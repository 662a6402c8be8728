"""Benchmark: are the per-feature "drifted" flags right at every sample size?

Generates features whose truth is known, at 100 … 1,000,000 rows a side, many times, and flags
them with our univariate drift (the defaults of include/drift/rule.py) and with Evidently's
DataDriftPreset defaults on the same frames (its own venv, benchmarks/README.md). Prints:

1. calibration: per size, the 95th percentile of each effect size on undrifted features beside
   the 5th percentile on the material shifts (where a threshold can sit, and from which size an
   effect size means something);
2. per correction (none, Holm, Benjamini–Hochberg) the share of undrifted features flagged and of
   material shifts detected (the choice of the default correction);
3. the table: undrifted flagged (target ≤ alpha at every size), trivial shifts flagged, material
   shifts detected (target ≥ 0.95 from 1,000 rows), seconds per repetition, ours beside
   Evidently's defaults, and detection per planted shift.

The features (one frame holds them all, so the correction runs across them as in real use):
undrifted: normal, log-normal, Poisson counts, normal with 5 % missing on both sides, four
categories, 30 Zipf-like categories (some under 0.5 %); trivial shifts (not material): location
+0.02 sd, one category +1 point, missing 5 % → 5.5 %; material shifts: location +0.25 sd, scale
× 1.5, category shares moved by 12 points, missing 0 → 5 %, a feature going 100 % missing, and
a categorical of 50,000 reference categories whose batch is 90 % unseen.

    python benchmarks/drift_flags.py                    # full run, about 10-15 min on 2 cores
    python benchmarks/drift_flags.py --quick            # 100 … 10,000 rows, fewer repetitions
    python benchmarks/drift_flags.py --sizes 1000 --repetitions 50 --skip-evidently
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from include.drift.reference import build_reference_profile
from include.drift.rule import DriftRule
from include.drift.univariate import apply_rule, univariate_drift

ROOT = Path(__file__).resolve().parent.parent
EVIDENTLY_PYTHON = ROOT / "benchmarks" / ".venv-evidently" / "bin" / "python"
EVIDENTLY_RUNNER = ROOT / "benchmarks" / "evidently_runner.py"

SIZES = (100, 1_000, 10_000, 100_000, 1_000_000)
REPETITIONS = {100: 200, 300: 100, 1_000: 200, 10_000: 60, 100_000: 10, 1_000_000: 2}
QUICK_REPETITIONS = {100: 60, 300: 30, 1_000: 60, 10_000: 15}
EVIDENTLY_REPETITIONS = {100: 20, 1_000: 10, 10_000: 10, 100_000: 3, 1_000_000: 1}
EVIDENTLY_HIGH_CARD_MAX_ROWS = 1_000
"""Evidently's preset takes 15 s on the high-cardinality column alone at 1,000 rows a side and
did not finish one 10,000-row pair in 5 minutes: above 1,000 rows it is not given that column
(and gets no verdict on it, counted as not detected and said in the output)."""
QUICK_EVIDENTLY_REPETITIONS = {100: 10, 1_000: 5, 10_000: 3}
"""Evidently takes seconds per pair where we take milliseconds: fewer repetitions of it."""

NUMERIC = (
    "undrifted_normal",
    "undrifted_lognormal",
    "undrifted_counts",
    "undrifted_missing",
    "trivial_location",
    "trivial_missing",
    "material_location",
    "material_scale",
    "material_missing",
    "goes_all_missing",
)
CATEGORICAL = ("undrifted_four", "undrifted_zipf", "trivial_shares", "material_shares", "high_card")
TRUTH = {
    name: name.split("_")[0] if name.split("_")[0] in ("undrifted", "trivial") else "material"
    for name in NUMERIC + CATEGORICAL
}
FOUR = np.array(["a", "b", "c", "d"])
FOUR_SHARES = np.array([0.4, 0.3, 0.2, 0.1])
TRIVIAL_SHARES = np.array([0.39, 0.31, 0.2, 0.1])
MATERIAL_SHARES = np.array([0.28, 0.36, 0.24, 0.12])
ZIPF = np.array([f"z{i:02d}" for i in range(30)])
ZIPF_SHARES = 1 / np.arange(1, 31) ** 1.5 / np.sum(1 / np.arange(1, 31) ** 1.5)
HIGH_CARDINALITY = 50_000
CALIBRATED = {
    "numeric": ("material_location", "material_scale"),
    "categorical": ("material_shares",),
    "missing": ("material_missing",),
}
"""The smallest planted material shift of each effect size, for the calibration table."""


def frames(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One reference and one current frame of ``n`` rows with every planted feature."""

    def side(current: bool) -> pd.DataFrame:
        def missing(values: np.ndarray, share: float) -> np.ndarray:
            return np.where(rng.random(n) < share, np.nan, values)

        cur = float(current)
        high = rng.integers(0, HIGH_CARDINALITY, n)
        if current:  # 90 % of the batch holds categories the reference never had
            high = np.where(rng.random(n) < 0.9, high + HIGH_CARDINALITY, high)
        columns = {
            "undrifted_normal": rng.normal(size=n),
            "undrifted_lognormal": rng.lognormal(sigma=1.0, size=n),
            "undrifted_counts": rng.poisson(3.0, size=n).astype(float),
            "undrifted_missing": missing(rng.normal(size=n), 0.05),
            "trivial_location": rng.normal(0.02 * cur, size=n),
            "trivial_missing": missing(rng.normal(size=n), 0.055 if current else 0.05),
            "material_location": rng.normal(0.25 * cur, size=n),
            "material_scale": rng.normal(scale=1.5 if current else 1.0, size=n),
            "material_missing": missing(rng.normal(size=n), 0.05 if current else 0.0),
            "goes_all_missing": np.full(n, np.nan) if current else rng.normal(size=n),
            "undrifted_four": rng.choice(FOUR, n, p=FOUR_SHARES),
            "undrifted_zipf": rng.choice(ZIPF, n, p=ZIPF_SHARES),
            "trivial_shares": rng.choice(FOUR, n, p=TRIVIAL_SHARES if current else FOUR_SHARES),
            "material_shares": rng.choice(FOUR, n, p=MATERIAL_SHARES if current else FOUR_SHARES),
            "high_card": np.char.add("h", high.astype(str)),
        }
        return pd.DataFrame(columns)

    return side(False), side(True)


def measure(reference: pd.DataFrame, current: pd.DataFrame) -> list:
    """Our statistics, unflagged (flags are applied per rule afterwards)."""
    profile = build_reference_profile(reference, numeric=NUMERIC, categorical=CATEGORICAL)
    return univariate_drift(profile, current, correction="none")


def rates(flags: list[dict[str, bool]]) -> dict[str, float]:
    """Share flagged per truth (undrifted, trivial, material) over repetitions."""
    result = {}
    for truth in ("undrifted", "trivial", "material"):
        names = [name for name, kind in TRUTH.items() if kind == truth]
        hits = [f[name] for f in flags for name in names if name in f]
        result[truth] = float(np.mean(hits)) if hits else float("nan")
    return result


def evidently_categorical(n: int) -> list[str]:
    """The categorical columns Evidently is given at ``n`` rows a side (see EVIDENTLY_HIGH_CARD)."""
    return [c for c in CATEGORICAL if c != "high_card" or n <= EVIDENTLY_HIGH_CARD_MAX_ROWS]


def run_evidently(pairs: list[tuple[Path, Path]], folder: Path, n: int) -> list[dict] | str:
    """Evidently's verdicts per pair, or a sentence saying why there are none."""
    if not EVIDENTLY_PYTHON.exists():
        return (
            f"Evidently skipped: {EVIDENTLY_PYTHON} is missing; set up its venv as "
            "benchmarks/README.md says"
        )
    manifest, out = folder / "manifest.json", folder / "evidently.json"
    manifest.write_text(
        json.dumps(
            {
                "numeric": list(NUMERIC),
                "categorical": evidently_categorical(n),
                "pairs": [{"reference": str(r), "current": str(c)} for r, c in pairs],
            }
        )
    )
    done = subprocess.run(
        [str(EVIDENTLY_PYTHON), str(EVIDENTLY_RUNNER), "--batch", str(manifest), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return f"Evidently failed: {done.stderr.strip().splitlines()[-1:]}"
    return json.loads(out.read_text())["results"]


def evidently_flags(result: dict) -> dict[str, bool]:
    """Evidently's verdict per feature; a column it refused (all missing) is not flagged."""
    verdicts = {name: entry["drifted"] for name, entry in result["per_feature"].items()}
    return {name: verdicts.get(name, False) for name in NUMERIC + CATEGORICAL}


def percentile(values: list[float], q: float) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", help="rows a side (default: all five)")
    parser.add_argument("--repetitions", type=int, help="repetitions at every size")
    parser.add_argument("--quick", action="store_true", help="100 … 10,000 rows, fewer runs")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args()
    plan = QUICK_REPETITIONS if args.quick else REPETITIONS
    evidently_plan = QUICK_EVIDENTLY_REPETITIONS if args.quick else EVIDENTLY_REPETITIONS
    sizes = args.sizes or list(plan)
    rule = DriftRule()
    rng = np.random.default_rng(args.seed)
    corrections = ("none", "holm", "benjamini-hochberg")
    print(
        f"rule: alpha {rule.alpha}, correction {rule.correction}, Wasserstein/IQR ≥ "
        f"{rule.wasserstein_threshold}, Jensen–Shannon ≥ {rule.jensen_shannon_threshold}, "
        f"missing Cohen's h ≥ {rule.missing_threshold}, effect sizes from "
        f"{rule.min_rows_for_effect_size} values a side"
    )
    table, calibration, by_correction, per_feature = [], [], [], []
    for n in sizes:
        repetitions = args.repetitions or plan.get(n, 2)
        evidently_runs = 0 if args.skip_evidently else min(repetitions, evidently_plan.get(n, 0))
        ours: dict[str, list[dict[str, bool]]] = {c: [] for c in corrections}
        effects: dict[str, list[float]] = {}
        seconds = []
        with tempfile.TemporaryDirectory() as temporary:
            folder = Path(temporary)
            pairs = []
            for repetition in range(repetitions):
                reference, current = frames(n, rng)
                if repetition < evidently_runs:
                    pair = folder / f"r{repetition}.parquet", folder / f"c{repetition}.parquet"
                    reference.to_parquet(pair[0], index=False)
                    current.to_parquet(pair[1], index=False)
                    pairs.append(pair)
                started = time.perf_counter()
                measured = measure(reference, current)
                flagged = apply_rule(measured, rule)
                seconds.append(time.perf_counter() - started)
                for correction in corrections:
                    variant = flagged
                    if correction != rule.correction:
                        variant = apply_rule(measured, replace(rule, correction=correction))
                    ours[correction].append({d.feature: d.drifted for d in variant})
                for d in measured:
                    key = d.feature if TRUTH[d.feature] == "material" else TRUTH[d.feature]
                    effects.setdefault(f"{key}:{d.kind}", []).append(d.effect_size)
                    effects.setdefault(f"{key}:missing", []).append(abs(d.missing_effect_size))
            started = time.perf_counter()
            evidently = run_evidently(pairs, folder, n) if pairs else None
            evidently_seconds = (time.perf_counter() - started) / max(len(pairs), 1)
        ours_rates = rates(ours[rule.correction])
        row = {
            "rows": n,
            "repetitions": repetitions,
            "ours": ours_rates,
            "seconds": float(np.median(seconds)),
        }
        if isinstance(evidently, list):
            row["evidently"] = rates([evidently_flags(r) for r in evidently])
            row["evidently_repetitions"] = len(evidently)
            row["evidently_seconds"] = evidently_seconds
            row["evidently_per_feature"] = {
                name: float(np.mean([evidently_flags(r)[name] for r in evidently]))
                for name in TRUTH
            }
        elif evidently is not None:
            row["evidently_note"] = evidently
        table.append(row)
        by_correction.append((n, {c: rates(flags) for c, flags in ours.items()}))
        per_feature.append(
            (n, {name: float(np.mean([f[name] for f in ours[rule.correction]])) for name in TRUTH})
        )
        calibration.append(
            (
                n,
                {
                    kind: (
                        percentile(effects.get(f"undrifted:{kind}", []), 95),
                        min(percentile(effects.get(f"{name}:{kind}", []), 5) for name in names),
                    )
                    for kind, names in CALIBRATED.items()
                },
            )
        )
        ev = row.get("evidently") or {}
        print(
            f"  {n:>9,} rows a side, {repetitions} runs: ours undrifted "
            f"{ours_rates['undrifted']:.3f} / material {ours_rates['material']:.3f}; "
            f"Evidently ({row.get('evidently_repetitions', 0)} runs) "
            f"{ev.get('undrifted', float('nan')):.3f} / {ev.get('material', float('nan')):.3f}",
            flush=True,
        )
    report(rule, table, calibration, by_correction, per_feature)


def report(rule, table, calibration, by_correction, per_feature) -> None:
    print("\n1. Effect sizes: 95th percentile on undrifted features | 5th on material shifts")
    print("   rows a side | Wasserstein/IQR | Jensen–Shannon | missing Cohen's h")
    for n, values in calibration:
        cells = " | ".join(f"{values[k][0]:.3f} | {values[k][1]:.3f}" for k in values)
        print(f"   {n:>11,} | {cells}")
    print(
        "   (undrifted: every undrifted feature of the kind; material: the smaller 5th percentile"
        " of location +0.25 sd and scale x 1.5 | shares moved 12 points | missing 0 → 5 %)"
    )
    print(f"\n2. Corrections at alpha {rule.alpha}: undrifted flagged / material detected")
    for n, values in by_correction:
        cells = "   ".join(
            f"{c}: {v['undrifted']:.3f} / {v['material']:.3f}" for c, v in values.items()
        )
        print(f"   {n:>9,}  {cells}")
    print(
        "\n3. Flags with the defaults (targets: undrifted ≤ alpha at every size; material "
        "≥ 0.95 from 1,000 rows)"
    )
    print(
        "| rows a side | runs (ours / Evidently) | undrifted flagged: ours | Evidently "
        "| trivial flagged: ours | Evidently | material detected: ours | Evidently "
        "| s per run: ours | Evidently |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in table:
        ev = row.get("evidently") or {}
        fmt = lambda v: "n/a" if v is None or not np.isfinite(v) else f"{v:.3f}"  # noqa: E731
        print(
            f"| {row['rows']:,} | {row['repetitions']} / {row.get('evidently_repetitions', 0)} "
            f"| {fmt(row['ours']['undrifted'])} | {fmt(ev.get('undrifted'))} "
            f"| {fmt(row['ours']['trivial'])} | {fmt(ev.get('trivial'))} "
            f"| {fmt(row['ours']['material'])} | {fmt(ev.get('material'))} "
            f"| {row['seconds']:.3f} | {fmt(row.get('evidently_seconds'))} |"
        )
    notes = {row.get("evidently_note") for row in table if row.get("evidently_note")}
    for note in notes:
        print(note)
    print("\n4. Share flagged per feature (ours; Evidently in brackets)")
    names = list(TRUTH)
    print("   " + " ".join(f"{name[:16]:>16}" for name in names))
    for (n, values), row in zip(per_feature, table, strict=True):
        theirs = row.get("evidently_per_feature") or {}
        cells = " ".join(
            f"{values[name]:>7.2f} ({theirs[name]:.2f})"
            if name in theirs
            else f"{values[name]:>16.2f}"
            for name in names
        )
        print(f"   {cells}   <- {n:,} rows")
    print(
        "Evidently refuses a column without any value on a side: the feature going all "
        "missing gets no verdict from it (counted as not flagged). Above "
        f"{EVIDENTLY_HIGH_CARD_MAX_ROWS:,} rows a side it is not given high_card (too slow), "
        "which is counted as not flagged."
    )


if __name__ == "__main__":
    main()
