"""The fast per-batch sums of expected_metrics against straightforward references.

Two oracles: the row-by-row implementation the module replaced (interpolated probabilities,
running sums for the AUC, per-row knot shares gathered by np.bincount), copied here; and, on
small batches, brute force over every pair of rows with each metric's gradient written out from
its definition. Both must agree with :func:`_moments` within 1e-9 (estimates and variances) and
1e-12 relative (expected counts), with ties, scores beyond the knots and at them, predicted
classes given, several sweep blocks, and calibrations of one or two knots.
"""

from __future__ import annotations

import numpy as np
import pytest

from include.evaluation import expected_metrics
from include.evaluation.calibration import Calibration, fit_calibration
from include.evaluation.expected_metrics import _CalibrationSpread, _moments

TOLERANCE = 1e-9


def calibration_of(knots, rates, rows=50) -> Calibration:
    knots, rates = np.asarray(knots, dtype=float), np.asarray(rates, dtype=float)
    return Calibration(
        score=knots,
        probability=rates,
        rows=np.full(knots.size, rows),
        positives=np.round(rates * rows).astype(np.int64),
        score_min=0.0,
        score_max=1.0,
    )


@pytest.fixture(scope="module")
def fitted() -> Calibration:
    rng = np.random.default_rng(11)
    scores = rng.beta(2, 5, 20_000)
    return fit_calibration(scores, rng.random(scores.size) < scores)


# --- oracle 1: the row-by-row implementation expected_metrics replaced ---------------------------


def _row_auc_and_gradient(s, p, variance):
    n = s.size
    q = 1.0 - p
    tied = s[1:] == s[:-1]
    if tied.any():
        new_group = np.r_[True, ~tied]
        starts = np.flatnonzero(new_group)
        group_p, group_q = np.add.reduceat(p, starts), np.add.reduceat(q, starts)
        group_v = np.add.reduceat(variance, starts)
        group_of_row = np.cumsum(new_group) - 1
    else:
        group_p, group_q, group_v, group_of_row = p, q, variance, None
    negatives_below = np.cumsum(group_q) - group_q
    positives = float(group_p.sum())
    positives_above = positives - np.cumsum(group_p)
    pairs_right = float(group_p @ negatives_below + 0.5 * (group_p @ group_q - group_v.sum()))
    negatives = n - positives
    pairs = positives * negatives - float(variance.sum())
    auc = pairs_right / pairs
    outranks = negatives_below - positives_above
    if group_of_row is None:
        d_right = outranks
    else:
        d_right = (outranks + 0.5 * (group_q - group_p - 1.0))[group_of_row] + p
    return auc, (d_right - auc * (negatives - positives)) / pairs


def row_by_row(calibration: Calibration, s: np.ndarray, flagged: np.ndarray):
    """Estimate and variance per metric, and the expected counts, the way they used to be made."""
    n = s.size
    p = calibration.calibrated(s)
    variance = p * (1.0 - p)
    # the per-row spread the old code used; kept in the product for the calibration check
    spread = _CalibrationSpread(calibration, s)
    k = float(np.count_nonzero(flagged))
    tp, fn = float(p[flagged].sum()), float(p[~flagged].sum())
    positives = tp + fn
    shares = flagged.astype(np.float64)
    label = (float(variance[flagged].sum()), float(variance[~flagged].sum()))
    per_knot = (spread.per_knot(shares), spread.per_knot(1.0 - shares))

    def linear(a, c):
        knots = a * per_knot[0] + c * per_knot[1]
        return a * a * label[0] + c * c * label[1] + float(knots**2 @ spread.rate_variance)

    metrics = {"accuracy": ((tp + (n - k) - fn) / n, linear(1.0 / n, -1.0 / n))}
    if k:
        metrics["precision"] = (tp / k, linear(1.0 / k, 0.0))
    if positives >= expected_metrics.MIN_EXPECTED_CLASS_ROWS:
        metrics["recall"] = (tp / positives, linear(fn / positives**2, -tp / positives**2))
        d = positives + k
        metrics["f1"] = (2.0 * tp / d, linear(2.0 * (fn + k) / d**2, -2.0 * tp / d**2))
        if n - positives >= expected_metrics.MIN_EXPECTED_CLASS_ROWS:
            auc, gradient = _row_auc_and_gradient(s, p, variance)
            metrics["auc"] = (auc, float(gradient**2 @ variance) + spread.variance(gradient))
    counts = {
        "true_positive": tp,
        "false_positive": k - tp,
        "true_negative": (n - k) - fn,
        "false_negative": fn,
    }
    return metrics, counts


# --- oracle 2: brute force over pairs, gradients from each metric's definition --------------------


def brute_force(calibration: Calibration, s: np.ndarray, flagged: np.ndarray):
    """Small batches only: every (row, row) pair, knot weights by bracketing each score."""
    n = s.size
    knots, rates = calibration.score, calibration.probability
    weights = np.zeros((n, knots.size))  # p_i = Σ_b w_ib r_b
    for i, score in enumerate(s):
        if score <= knots[0] or knots.size == 1:
            weights[i, 0 if score <= knots[0] else -1] = 1.0
        elif score >= knots[-1]:
            weights[i, -1] = 1.0
        else:
            b = int(np.searchsorted(knots, score, side="right")) - 1
            u = (score - knots[b]) / (knots[b + 1] - knots[b])
            weights[i, b], weights[i, b + 1] = 1.0 - u, u
    p = weights @ rates
    q, v = 1.0 - p, p * (1.0 - p)
    rate_variance = rates * (1.0 - rates) / calibration.rows

    def variance(gradient):
        return float(gradient**2 @ v + (gradient @ weights) ** 2 @ rate_variance)

    y_hat = flagged.astype(float)
    k = y_hat.sum()
    tp, positives = float(p @ y_hat), float(p.sum())
    fn = positives - tp
    metrics = {"accuracy": ((tp + (n - k) - fn) / n, variance((2 * y_hat - 1) / n))}
    if k:
        metrics["precision"] = (tp / k, variance(y_hat / k))
    if positives >= expected_metrics.MIN_EXPECTED_CLASS_ROWS:
        # recall = TP/P, F1 = 2TP/(P + k): the quotient rule at y = p
        metrics["recall"] = (tp / positives, variance(y_hat / positives - tp / positives**2))
        d = positives + k
        metrics["f1"] = (2 * tp / d, variance(2 * y_hat / d - 2 * tp / d**2))
        if n - positives >= expected_metrics.MIN_EXPECTED_CLASS_ROWS:
            # c[i, j]: row j outranks row i (1), ties (1/2), never a row with itself
            c = (s[:, None] < s[None, :]) + 0.5 * (s[:, None] == s[None, :])
            np.fill_diagonal(c, 0.0)
            right = float(q @ c @ p)  # Σ_{i≠j} q_i p_j c_ij
            pairs = float(p.sum() * q.sum() - v.sum())  # E[P·N] = Σ_{i≠j} p_i q_j
            auc = right / pairs
            # ∂ right/∂y_k = negatives it outranks less positives outranking it; ∂ pairs = N - P
            d_right = c.T @ q - c @ p
            gradient = (d_right - auc * (q.sum() - p.sum())) / pairs
            metrics["auc"] = (auc, variance(gradient))
    return metrics


def assert_agree(found, expected_metrics_, expected_counts=None):
    metrics, _, counts = found
    assert set(metrics) == set(expected_metrics_)
    for metric, (value, variance) in expected_metrics_.items():
        assert metrics[metric][0] == pytest.approx(value, abs=TOLERANCE), metric
        assert metrics[metric][1] == pytest.approx(variance, abs=TOLERANCE, rel=1e-9), metric
    if expected_counts is not None:
        assert counts == pytest.approx(expected_counts, rel=1e-12, abs=1e-9)


def batches(rng: np.random.Generator, calibration: Calibration):
    knots = calibration.score
    plain = rng.beta(2, 5, 3_000)
    yield "plain", plain
    yield "ties", np.round(plain, 2)
    yield "one long tie", np.r_[np.full(1_500, knots[knots.size // 2]), plain[:1_000]]
    beyond = np.r_[rng.uniform(0, knots[0], 50), plain[:500], rng.uniform(knots[-1], 1, 50)]
    yield "beyond the knots", beyond
    yield "at the knots", np.r_[knots, knots, plain[:200]]


@pytest.mark.parametrize("block_rows", [65_536, 97])
def test_the_sums_agree_with_the_row_by_row_implementation(fitted, monkeypatch, block_rows):
    """97-row blocks: a sweep of dozens of blocks, cut inside runs and moved to tie starts."""
    monkeypatch.setattr(expected_metrics, "_BLOCK_ROWS", block_rows)
    rng = np.random.default_rng(12)
    for _, scores in batches(rng, fitted):
        s = np.sort(scores)
        threshold_cuts = [s >= threshold for threshold in (0.0, 0.3, float(np.median(s)), 1.01)]
        given = rng.random(s.size) < 0.35
        for flagged in [*threshold_cuts, given, np.zeros(s.size, dtype=bool)]:
            assert_agree(_moments(fitted, s, flagged), *row_by_row(fitted, s, flagged))


@pytest.mark.parametrize(
    ("knots", "rates"),
    [
        ([0.2, 0.45, 0.5, 0.9], [0.1, 0.3, 0.6, 0.8]),
        ([0.5], [0.4]),  # one knot: the probability is flat
        ([0.3, 0.3000001, 0.7], [0.2, 0.5, 0.7]),  # a very narrow run
        ([0.1, 0.6], [0.3, 0.3]),  # a flat interval between two knots
    ],
)
def test_the_sums_agree_with_brute_force_over_pairs(knots, rates, monkeypatch):
    monkeypatch.setattr(expected_metrics, "_BLOCK_ROWS", 7)
    calibration = calibration_of(knots, rates)
    rng = np.random.default_rng(13)
    for scores in (
        rng.random(60),
        np.round(rng.random(60), 1),  # ties, some at the knots
        np.r_[knots, rng.random(20), knots],
    ):
        s = np.sort(scores)
        for flagged in (s >= 0.5, rng.random(s.size) < 0.5, np.ones(s.size, dtype=bool)):
            assert_agree(_moments(calibration, s, flagged), brute_force(calibration, s, flagged))


def test_a_suffix_and_the_same_rows_as_a_mask_give_the_same_sums(fitted):
    """The top scores as predicted positives take the slices' path; a scattered mask the shares'."""
    rng = np.random.default_rng(14)
    s = np.sort(np.round(rng.beta(2, 5, 5_000), 3))
    suffix = s >= 0.3
    scattered = suffix.copy()
    scattered[[0, -1]] = ~scattered[[0, -1]]  # no longer a suffix
    first, _, _ = _moments(fitted, s, suffix)
    second, _, _ = _moments(fitted, s, scattered)
    assert first["auc"] == pytest.approx(second["auc"], abs=1e-12)  # the AUC ignores the classes
    reference, _ = row_by_row(fitted, s, scattered)
    assert_agree((second, {}, {}), reference)


def test_a_million_rows_agree_with_the_row_by_row_implementation(fitted):
    rng = np.random.default_rng(15)
    s = np.sort(rng.beta(2, 5, 1_000_000))
    flagged = s >= 0.5
    assert_agree(_moments(fitted, s, flagged), *row_by_row(fitted, s, flagged))
