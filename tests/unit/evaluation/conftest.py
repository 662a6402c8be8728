"""Helpers of the estimation and calibration tests: a known calibration and synthetic scores."""

from __future__ import annotations

import numpy as np

from include.config import CostMatrix
from include.evaluation.calibration import Calibration
from include.evaluation.metrics import binary_metrics

NO_COST = CostMatrix(true_positive=0, true_negative=0, false_positive=0, false_negative=0)


def identity_calibration(rows: int = 10**9) -> Calibration:
    """p = score on [0.001, 0.999]: a perfectly calibrated score, known from a huge reference."""
    return Calibration.from_dict(
        {
            "method": "centred isotonic",
            "format": 1,
            "score": [0.001, 0.999],
            "probability": [0.001, 0.999],
            "rows": [rows, rows],
            "positives": [rows // 1000, rows - rows // 1000],
            "score_min": 0.001,
            "score_max": 0.999,
            "quality": {"folds": 5, "chi2": 50.0, "df": 50, "p_value": 0.5, "ece": 0.0},
        }
    )


def beta_scores(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.clip(rng.beta(2, 5, n), 0.001, 0.999)


def realised(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    return binary_metrics(labels, scores, threshold=threshold, cost_matrix=NO_COST).as_dict()
