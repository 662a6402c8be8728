"""95 % confidence intervals of the performance metrics of one batch.

- :func:`wilson_interval`: a proportion (accuracy, precision, recall), Wilson's score interval;
- :func:`auc_interval`: the ROC AUC, DeLong's nonparametric variance (midrank algorithm of Sun and
  Xu, 2014, O(n log n)); with a single row of a class, where DeLong's variance needs two,
  Hanley and McNeil's (1982) closed form.

Every interval is clipped to [0, 1]. They say how far the metric of this batch could be from the
metric of the process that produced it, given the batch's size alone.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from scipy.stats import rankdata

CONFIDENCE = 0.95
Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959963984540054


def wilson_interval(successes: int, trials: int) -> tuple[float, float] | None:
    """Wilson's 95 % score interval of ``successes / trials``; None when ``trials`` is 0.

    Unlike the normal approximation it stays inside [0, 1] and keeps its coverage near 0 and 1
    (0 of 20 gives [0, 0.161], not [0, 0]).
    """
    if trials <= 0:
        return None
    share = successes / trials
    z2 = Z * Z
    centre = (share + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials))
    half /= 1 + z2 / trials
    return max(0.0, centre - half), min(1.0, centre + half)


def auc_interval(y: np.ndarray, p: np.ndarray, auc: float) -> tuple[float, float]:
    """The 95 % interval of ``auc`` (labels ``y`` as booleans, scores ``p``; both classes present).

    DeLong: the AUC's variance is S10/m + S01/n, the variances of each positive's share of
    negatives ranked below it (and of each negative's share of positives above it), with m
    positives and n negatives. A perfectly separated batch has zero variance: its interval is
    the point itself.
    """
    positives, negatives = p[y], p[~y]
    m, n = positives.size, negatives.size
    if m < 2 or n < 2:
        variance = hanley_mcneil_variance(auc, m, n)
    else:
        combined = rankdata(np.concatenate((positives, negatives)))
        # each positive's placement: how many negatives it outranks (ties count one half)
        v10 = (combined[:m] - rankdata(positives)) / n
        v01 = 1.0 - (combined[m:] - rankdata(negatives)) / m
        variance = float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)
    half = Z * math.sqrt(max(variance, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)


def hanley_mcneil_variance(auc: float, positives: int, negatives: int) -> float:
    """Hanley and McNeil's (1982) variance of an AUC, from the AUC and the class sizes alone."""
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    return (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
