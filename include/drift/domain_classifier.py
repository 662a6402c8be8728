"""Global data drift: how well a random forest tells the current batch from the reference.

SPEC section 3, "Global data drift" and "Feature drift importance", computed as DSS does. Reference
rows are labelled 0 and current rows 1, both sides are sampled down to the same number of rows,
and a random forest is trained on 70 % of them to tell the two apart. Its accuracy on the other
30 % is the **data drift**: about 0.5 when the batches look alike (the forest can only guess),
towards 1 as they differ. Larger means more drift; the one-sided binomial p-value says whether the
accuracy is above 0.5 by more than chance, and drifts when small.

The forest's impurity importances, summed back from one-hot columns to their features, say which
features the drift lies in; ``riskiest_features`` sets them beside the monitored model's own
importances.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from include.errors import DataValidationError
from include.json_records import JsonFloat, JsonRecord, json_record

MIN_ROWS_PER_SIDE = 10
TEST_SHARE = 0.3
N_TREES = 100
MAX_DEPTH = 5
MAX_CATEGORIES = 20
CATEGORY_COVERAGE = 0.95
CONFIDENCE = 0.95
MISSING = "(missing)"

_SIDES = ("reference", "current")


@json_record()
class DataDrift(JsonRecord):
    """The domain classifier's verdict: its hold-out accuracy and where the drift lies.

    ``value`` is the accuracy on the hold-out rows (0.5: no drift; larger: more drift), with a
    Wilson confidence interval and the one-sided binomial p-value of "accuracy > 0.5".
    ``feature_importance`` maps each feature to its share of the forest's impurity importance
    (summing to 1, or all 0 when the forest found nothing to split on), largest first.
    """

    value: JsonFloat
    ci_low: JsonFloat
    ci_high: JsonFloat
    pvalue: JsonFloat
    rows_per_side: int
    train_rows: int
    test_rows: int
    feature_importance: dict[str, JsonFloat]

    def drifted(self, alpha: float = 0.05) -> bool:
        """Whether the accuracy is significantly above 0.5 at level ``alpha``."""
        return self.pvalue <= alpha

    def verdict(self, alpha: float = 0.05) -> str:
        """One line for a log or a report, e.g. ``drift detected (accuracy 0.62, ...)``."""
        outcome = "drift detected" if self.drifted(alpha) else "no significant drift"
        p_text = "p < 0.001" if self.pvalue < 0.001 else f"p = {self.pvalue:.3f}"
        return (
            f"{outcome} (accuracy {self.value:.2f}, {round(CONFIDENCE * 100)} % CI "
            f"{self.ci_low:.2f}–{self.ci_high:.2f}, {p_text})"
        )

    def to_dict(self) -> dict[str, object]:
        """The result as plain JSON types (``model_dump(mode="json")``, under the name its
        callers and tests use)."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class RiskyFeature:
    """A feature that both drifts and matters to the monitored model (``risk`` in [0, 1]).

    A plain dataclass, not validated when built: it is built only here, from floats, and tests
    compare it with approximate numbers; pydantic validates and dumps it inside the stored
    analysis (:mod:`include.drift.document`)."""

    feature: str
    drift_importance: float
    model_importance: float
    risk: float


def domain_classifier_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    sample_size: int = 25_000,
    seed: int = 1337,
) -> DataDrift:
    """The global data drift of ``current`` against ``reference`` (SPEC section 3).

    Both sides are sampled uniformly without replacement to ``min(len(reference), len(current),
    sample_size)`` rows; the result depends only on the data and ``seed``. Categorical values are
    compared as text (7 and "7" are one category, so are 7.0 and 7) and missing ones form the
    category "(missing)"; ±inf in a numeric feature counts as missing. Raises DataValidationError
    for a missing feature, an empty or too small side, or a numeric feature holding text.
    """
    features = _check_features(numeric, categorical)
    if sample_size < MIN_ROWS_PER_SIDE:
        raise DataValidationError(
            f"the drift sample_size must be at least {MIN_ROWS_PER_SIDE} rows per side, "
            f"got {sample_size}"
        )
    frames = (reference, current)
    for side, frame in zip(_SIDES, frames, strict=True):
        _check_side(side, frame, features)
    rows_per_side = min(len(reference), len(current), sample_size)

    rng = np.random.default_rng(seed)
    positions = [_sample_positions(rng, len(frame), rows_per_side) for frame in frames]
    labels = np.repeat(np.array([0, 1], dtype=np.int8), rows_per_side)
    train, test = train_test_split(
        np.arange(2 * rows_per_side), test_size=TEST_SHARE, stratify=labels, random_state=seed
    )

    matrix, owners = _design_matrix(frames, positions, numeric, categorical, train)
    forest = RandomForestClassifier(
        n_estimators=N_TREES, max_depth=MAX_DEPTH, random_state=seed, n_jobs=-1
    )
    # Column-major: each split scans one feature over many rows (about 15 % faster to fit).
    forest.fit(np.asfortranarray(matrix[train]), labels[train])
    correct = int(np.count_nonzero(forest.predict(matrix[test]) == labels[test]))

    ci_low, ci_high = wilson_interval(correct, len(test), CONFIDENCE)
    pvalue = stats.binomtest(correct, len(test), 0.5, alternative="greater").pvalue
    return DataDrift(
        value=correct / len(test),
        ci_low=ci_low,
        ci_high=ci_high,
        pvalue=float(pvalue),
        rows_per_side=rows_per_side,
        train_rows=len(train),
        test_rows=len(test),
        feature_importance=_feature_importance(forest.feature_importances_, owners, features),
    )


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion.

    With p = successes / trials, n = trials and z the two-sided normal quantile of ``confidence``
    (1.96 for 95 %): centre = (p + z²/2n) / (1 + z²/n) and
    half-width = z / (1 + z²/n) · √(p(1 − p)/n + z²/4n²). Unlike p ± z·√(p(1 − p)/n) it stays
    inside [0, 1] and keeps its coverage near 0 and 1.
    """
    if trials <= 0:
        raise ValueError(f"a proportion needs at least one trial, got {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in 0..{trials}, got {successes}")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p, n = successes / trials, trials
    shrink = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / shrink
    half = z / shrink * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def top_categories(
    counts: Mapping[str, int],
    *,
    max_categories: int = MAX_CATEGORIES,
    coverage: float = CATEGORY_COVERAGE,
) -> list[str]:
    """The categories that get a one-hot column; every other value becomes "others".

    The most frequent categories (ties by name), as few as cover ``coverage`` of the rows
    cumulatively, and at most ``max_categories``. Categories with no rows are never kept.
    """
    ranked = sorted(((n, name) for name, n in counts.items() if n > 0), key=lambda c: (-c[0], c[1]))
    total = sum(n for n, _ in ranked)
    kept: list[str] = []
    covered = 0
    for n, name in ranked[:max_categories]:
        kept.append(name)
        covered += n
        if covered >= coverage * total:
            break
    return kept


def riskiest_features(
    drift_importance: Mapping[str, float],
    model_importance: Mapping[str, float],
    *,
    top: int = 5,
) -> list[RiskyFeature]:
    """The features high on both drift importance and model importance, riskiest first.

    risk = √((d / max d) · (m / max m)): the geometric mean of the two importances, each divided
    by its largest value, so 1 is the top feature on both lists and 0 means unimportant on either.
    A feature absent from one mapping, or with a negative importance there (permutation
    importances can be), counts as 0 in it. Features of zero risk are left out; ties go by name.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    drift = _clipped(drift_importance, "drift")
    model = _clipped(model_importance, "model")
    drift_max, model_max = max(drift.values(), default=0.0), max(model.values(), default=0.0)
    if drift_max == 0 or model_max == 0:
        return []
    scored = []
    for feature in drift.keys() & model.keys():
        risk = math.sqrt(drift[feature] / drift_max * model[feature] / model_max)
        if risk > 0:
            scored.append(RiskyFeature(feature, drift[feature], model[feature], risk))
    scored.sort(key=lambda r: (-r.risk, r.feature))
    return scored[:top]


def _clipped(importance: Mapping[str, float], kind: str) -> dict[str, float]:
    values = {}
    for feature, value in importance.items():
        if not math.isfinite(value):
            raise DataValidationError(
                f"the {kind} importance of feature {feature!r} is {value}; importances must be "
                "finite numbers"
            )
        values[str(feature)] = max(float(value), 0.0)
    return values


def _check_features(numeric: Sequence[str], categorical: Sequence[str]) -> list[str]:
    if isinstance(numeric, str) or isinstance(categorical, str):
        raise DataValidationError("numeric and categorical must be lists of feature names")
    features = [*numeric, *categorical]
    if not features:
        raise DataValidationError("no features to compare: give numeric and/or categorical ones")
    repeated = sorted({f for f in features if features.count(f) > 1})
    if repeated:
        raise DataValidationError(f"features listed twice or as both types: {repeated}")
    return features


def _check_side(side: str, frame: pd.DataFrame, features: list[str]) -> None:
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise DataValidationError(
            f"the {side} batch has no column(s) {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(map(str, frame.columns))}"
        )
    repeated = [f for f in features if isinstance(frame[f], pd.DataFrame)]
    if repeated:
        raise DataValidationError(
            f"the {side} batch has several columns named {', '.join(map(repr, repeated))}"
        )
    if len(frame) == 0:
        raise DataValidationError(f"the {side} batch has no rows")
    if len(frame) < MIN_ROWS_PER_SIDE:
        raise DataValidationError(
            f"the {side} batch has {len(frame)} row(s); the data drift needs at least "
            f"{MIN_ROWS_PER_SIDE} on each side to train and test the domain classifier"
        )


def _sample_positions(rng: np.random.Generator, n_rows: int, size: int) -> np.ndarray:
    """``size`` distinct row positions drawn uniformly, in ascending order (fast to take)."""
    if size >= n_rows:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


def _design_matrix(
    frames: tuple[pd.DataFrame, pd.DataFrame],
    positions: list[np.ndarray],
    numeric: Sequence[str],
    categorical: Sequence[str],
    train: np.ndarray,
) -> tuple[np.ndarray, list[str]]:
    """The encoded sampled rows (reference then current) and the feature owning each column.

    Only the sampled rows of each column are read, and the encoding is fitted on ``train`` only.
    """
    blocks: list[np.ndarray] = []
    owners: list[str] = []
    for feature in numeric:
        values = np.concatenate(
            [
                _numeric_values(frame[feature].take(rows), feature, side)
                for side, frame, rows in zip(_SIDES, frames, positions, strict=True)
            ]
        )
        blocks.append(_standardised(values, train)[:, None])
        owners.append(feature)
    for feature in categorical:
        codes, names = _category_codes(
            [frame[feature].take(rows) for frame, rows in zip(frames, positions, strict=True)]
        )
        block = _one_hot(codes, names, train)
        blocks.append(block)
        owners.extend([feature] * block.shape[1])
    return np.hstack(blocks), owners


def _numeric_values(values: pd.Series, feature: str, side: str) -> np.ndarray:
    """The values as float64, with missing values and ±inf as NaN; text refused."""
    dtype = values.dtype
    if pd.api.types.is_numeric_dtype(dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        parsed = pd.to_numeric(values, errors="coerce")
        unreadable = parsed.isna().to_numpy() & values.notna().to_numpy()
        if unreadable.any():
            raise DataValidationError(
                f"numeric feature {feature!r} of the {side} batch holds text, e.g. "
                f"{values[unreadable].iloc[0]!r}; convert it to numbers or list the feature "
                "as categorical"
            )
        numbers = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        raise DataValidationError(
            f"numeric feature {feature!r} of the {side} batch has dtype {dtype}, not numbers; "
            "convert it to numbers or list the feature as categorical"
        )
    return np.where(np.isfinite(numbers), numbers, np.nan)


def _standardised(values: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Mean-imputed, then centred and scaled, with the training rows' mean and deviation."""
    fitted = values[train]
    known = fitted[~np.isnan(fitted)]
    if known.size == 0:  # nothing to learn from: a constant column the forest cannot split
        return np.zeros(len(values), dtype=np.float32)
    mean = known.mean()
    imputed = np.where(np.isnan(values), mean, values)
    deviation = imputed[train].std()
    return ((imputed - mean) / (deviation if deviation > 0 else 1.0)).astype(np.float32)


def _category_codes(samples: list[pd.Series]) -> tuple[np.ndarray, list[str]]:
    """One code per row of the samples (concatenated) and each code's text.

    Values are factorised first and only the distinct values turned into text, so the cost is per
    category, not per row. Missing values all get code 0, "(missing)".
    """
    ids = {MISSING: 0}
    parts = []
    for sample in samples:
        codes, uniques = pd.factorize(sample)
        # The extra last entry is where code -1 (a missing value) looks itself up.
        lookup = [ids.setdefault(_as_text(value), len(ids)) for value in uniques] + [0]
        parts.append(np.asarray(lookup, dtype=np.intp)[codes])
    return np.concatenate(parts), list(ids)


def _as_text(value: object) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))  # 7.0, as in an integer column with missing values, is "7"
    return str(value)


def _one_hot(codes: np.ndarray, names: list[str], train: np.ndarray) -> np.ndarray:
    """One column per top category of the training rows, then "others" (any other value)."""
    counts = np.bincount(codes[train], minlength=len(names))
    kept = top_categories(dict(zip(names, counts.tolist(), strict=True)))
    column = np.full(len(names), len(kept), dtype=np.intp)
    code_of = {name: code for code, name in enumerate(names)}
    column[[code_of[name] for name in kept]] = np.arange(len(kept))
    encoded = np.zeros((len(codes), len(kept) + 1), dtype=np.float32)
    encoded[np.arange(len(codes)), column[codes]] = 1.0
    return encoded


def _feature_importance(
    column_importance: np.ndarray, owners: list[str], features: list[str]
) -> dict[str, float]:
    totals = dict.fromkeys(features, 0.0)
    for owner, importance in zip(owners, column_importance.tolist(), strict=True):
        totals[owner] += importance
    grand_total = sum(totals.values())
    if grand_total > 0:
        totals = {feature: value / grand_total for feature, value in totals.items()}
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))
