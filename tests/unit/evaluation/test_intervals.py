"""The 95 % intervals of the performance metrics: known values and coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from include.config import CostMatrix
from include.evaluation.intervals import auc_interval, wilson_interval
from include.evaluation.metrics import binary_metrics


def test_wilson_interval_matches_the_textbook_values():
    # Newcombe (1998), table I: 81 of 263 -> 0.2553 to 0.3662; 0 of 10 -> 0 to 0.2775
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(0, 0) is None


def test_auc_interval_matches_delong_by_pairs():
    rng = np.random.default_rng(3)
    y = rng.random(120) < 0.3
    p = np.round(rng.normal(y * 0.8, 1.0), 1)  # ties across the classes
    auc = roc_auc_score(y, p)
    pos, neg = p[y], p[~y]
    # DeLong et al. (1988) from the pairwise kernel, O(m n)
    kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = kernel.mean(axis=1), kernel.mean(axis=0)
    se = np.sqrt(v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size)
    low, high = auc_interval(y, p, auc)
    assert (low, high) == pytest.approx((auc - 1.959964 * se, auc + 1.959964 * se), rel=1e-6)


def test_auc_interval_with_one_positive_uses_hanley_mcneil():
    y = np.zeros(21, dtype=bool)
    y[0] = True
    p = np.linspace(0.0, 1.0, 21)
    p[0] = 0.5  # ranks above 10 of 20 negatives: AUC 0.5
    low, high = auc_interval(y, p, 0.5)
    # Hanley-McNeil: q1 = 1/3, q2 = 1/3; var = (0.25 + 0 + 19 (1/3 - 1/4)) / 20
    half = 1.959964 * np.sqrt((0.25 + 19 / 12) / 20)
    assert (low, high) == pytest.approx((max(0.0, 0.5 - half), min(1.0, 0.5 + half)), rel=1e-6)


@pytest.mark.parametrize(("metric", "true_value"), [("auc", 0.8), ("accuracy", None)])
def test_intervals_cover_the_true_value_about_95_percent_of_the_time(metric, true_value):
    # binormal scores: positives N(d, 1), negatives N(0, 1) have AUC = Phi(d / sqrt 2)
    d = np.sqrt(2) * norm.ppf(0.8)
    threshold = 0.5
    if true_value is None:  # accuracy at p >= 0.5 of a logistic score, from the two normals
        share = 0.15
        cut = d / 2  # the logistic of d·s − d²/2 crosses 0.5 at s = d/2
        true_value = share * (1 - norm.cdf(cut - d)) + (1 - share) * norm.cdf(cut)
    rng = np.random.default_rng(11)
    covered, runs = 0, 400
    for _ in range(runs):
        y = rng.random(400) < 0.15
        score = rng.normal(np.where(y, d, 0.0), 1.0)
        proba = 1 / (1 + np.exp(-(d * score - d * d / 2)))
        result = binary_metrics(y, proba, threshold=threshold, cost_matrix=CostMatrix()).as_dict()
        covered += result[f"{metric}_ci_low"] <= true_value <= result[f"{metric}_ci_high"]
    assert 0.92 <= covered / runs <= 0.98
