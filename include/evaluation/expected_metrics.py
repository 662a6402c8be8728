"""The expected metrics of one batch and their variances, from its calibrated scores alone.

For :mod:`include.evaluation.estimation`, whose module docstring gives the method: the expected
confusion matrix (step 2), the expected ROC AUC (step 3) and each metric's variance from the
labels' randomness and from the calibration's block rates (step 4). This module computes them
from the sorted scores in one sweep, a block of rows at a time, without a per-row array beyond
the block (a million rows in about 0.01 s, after the caller's sort):

- the scores come sorted, so the calibration's knots cut them into contiguous runs, one per
  interval between two knots (plus the runs below the first and from the last), and the
  threshold cuts them in two. Within a run the probability is linear in the score, and every
  per-knot sum of step 4 is a sum over one or two runs;
- the AUC's gradient in the labels (step 4) is ``g_i = (r_i + p_i - P - AUC·(N - P)) / E[P·N]``,
  ``r_i`` the row's rank from 0 (the mean rank of its tie), ``P`` and ``N`` the expected
  positives and negatives: the negatives below row ``i`` less the positives above it, with tied
  rows counting one half, is ``r_i + p_i - P`` once the sums cancel. So is the expected count of
  correctly ranked pairs ``Σ p_i r_i - (P² + Σ p_i(1 - p_i) - P) / 2``: no running sums needed;
- ``Σ g_i² p_i(1 - p_i)`` expands into sums of ``h_i = r_i + p_i`` against ``p_i`` and ``p_i²``,
  so no per-row variance is kept. Where ``p`` is within ``1e-6`` of 1 (a pure block of a million
  reference rows), ``p - p²`` loses up to 6 of its 16 digits: still far below 1e-9 on any result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from include.evaluation.calibration import Calibration

MIN_EXPECTED_CLASS_ROWS = 3.0
"""Fewer expected positives than this (e^-3 ≈ 5 % chance of none): no recall, F1 or AUC."""


def _moments(
    calibration: Calibration,
    s: np.ndarray,
    flagged: np.ndarray,
    weights: np.ndarray | None = None,
) -> tuple[dict[str, tuple[float, float]], dict[str, str], dict[str, float]]:
    """Each metric's estimate and variance (step 4), why some are not given, the expected counts.

    ``s`` comes sorted, ``flagged`` (the predicted positives) in the same order. The variance
    leaves out step 5's drift term, which ``estimation._estimate`` adds. ``weights`` (whole
    numbers ≥ 0, one per score) make score ``i`` stand for ``weights[i]`` rows tied at it: the
    same results as ``np.repeat(s, weights)`` up to rounding (see :class:`_BatchSums`); None,
    one row each, computed exactly as without the argument.
    """
    sums = _BatchSums(calibration, s, flagged, weights)
    n = s.size if weights is None else sums.rows
    k = float(sums.flagged_rows)
    tp, fn = sums.p_flagged, sums.p_other
    positives = tp + fn
    fp = k - tp
    tn = (n - k) - fn
    negatives = n - positives
    # Accuracy, precision, recall and F1 have a gradient a on predicted positives and c on
    # predicted negatives: their variances come from sums over the two groups.
    linear = sums.two_group_variance

    untrusted: dict[str, str] = {}
    variances: dict[str, tuple[float, float]] = {
        "accuracy": ((tp + tn) / n, linear(1.0 / n, -1.0 / n))
    }
    if k == 0:
        untrusted["precision"] = "no predicted positive in the batch: precision is undefined"
    else:
        variances["precision"] = (tp / k, linear(1.0 / k, 0.0))
    few = _few_expected(positives, "positive")
    if few:
        untrusted["recall"] = untrusted["f1"] = few
    else:
        variances["recall"] = (tp / positives, linear(fn / positives**2, -tp / positives**2))
        denominator = tp + fn + k
        variances["f1"] = (
            2.0 * tp / denominator,
            linear(2.0 * (fn + k) / denominator**2, -2.0 * tp / denominator**2),
        )
    few = _few_expected(positives, "positive") or _few_expected(negatives, "negative")
    if few:
        untrusted["auc"] = few
    else:
        variances["auc"] = sums.auc_and_variance()
    confusion = {
        "true_positive": tp,
        "false_positive": fp,
        "true_negative": tn,
        "false_negative": fn,
    }
    return variances, untrusted, confusion


def _few_expected(expected: float, kind: str) -> str | None:
    if expected >= MIN_EXPECTED_CLASS_ROWS:
        return None
    return (
        f"only {expected:.1f} {kind} row(s) expected in the batch (fewer than "
        f"{MIN_EXPECTED_CLASS_ROWS:g}): the realised value may well be undefined"
    )


class _BatchSums:
    """The sums over a batch's rows that its metrics and their variances are made of.

    Runs: run 0 holds the scores below the first knot, run ``j`` (1 to K-1) those in
    ``[knot[j-1], knot[j])``, run K those from the last knot on (K knots). Run ``j`` leans on knot
    ``lower[j]`` with weight ``1 - u`` and on knot ``lower[j] + 1`` with weight ``u``, where
    ``u = t / width`` and ``t = s - knot[lower]``, and ``p = probability[lower] + slope·t``:
    ``np.interp``'s value, bit for bit. The first and last runs lean on one knot only (their
    ``1 / width`` and slope are 0).

    The rows are swept in blocks of about ``_BLOCK_ROWS`` (cut where a tie starts, and where the
    predicted positives start when they are the top scores), so that each block's temporaries
    stay in the processor's cache. ``h = r + p`` (``r`` the row's rank from 0, the mean rank of
    its tie) is summed as ``h' + a``, ``h'`` the rank within the block (plus ``p``) and ``a`` the
    block's first row: ``Σ h²p = Σ h'²p + 2a Σ h'p + a² Σ p``, all terms positive.

    With ``weights``, score ``i`` stands for ``weights[i]`` tied rows: every sum is weighted,
    a row's rank is its tie's mean rank among all the rows the weights stand for, and the runs'
    bounds count rows, not scores; no blocks (a weighted batch is a summary's bins, small).
    """

    def __init__(
        self,
        calibration: Calibration,
        s: np.ndarray,
        flagged: np.ndarray,
        weights: np.ndarray | None = None,
    ) -> None:
        knots, rates = calibration.score, calibration.probability
        count, n = knots.size, s.size
        self._n = n
        self._rate_variance = rates * (1.0 - rates) / calibration.rows
        bounds = np.empty(count + 2, dtype=np.intp)
        bounds[0], bounds[-1] = 0, n
        bounds[1:-1] = np.searchsorted(s, knots, side="left")
        width = np.diff(knots)
        self._bounds = bounds
        self._lower = np.r_[0, np.arange(count - 1), count - 1]
        self._upper = np.minimum(self._lower + 1, count - 1)
        self._run_rate = rates[self._lower]
        self._run_slope = np.r_[0.0, np.diff(rates) / width, 0.0]
        self._run_knot = knots[self._lower]
        self._inverse_width = np.r_[0.0, 1.0 / width, 0.0]
        runs = count + 1
        if weights is not None:
            self._weighted(s, flagged, np.asarray(weights, dtype=np.float64))
            return
        self._run_rows = np.diff(bounds).astype(np.float64)
        self._run_t = np.zeros(runs)  # Σ t per run
        self._run_flagged = np.zeros(runs)  # predicted positives per run
        self._run_flagged_t = np.zeros(runs)  # their Σ t
        self._run_ht = np.zeros(runs)  # Σ h·t per run
        self.p_flagged = self.p_other = 0.0  # Σ p
        self._squared_flagged = self._squared_other = 0.0  # Σ p²
        self._rank_p = self._h2p = self._h2p2 = self._hp2 = 0.0  # Σ r·p, Σ h²p, Σ h²p², Σ h·p²

        start = _suffix_start(flagged)
        # the predicted positives are the top scores: each block is all flagged or all not
        share = None if start is not None else flagged.astype(np.float64)
        cuts = np.arange(_BLOCK_ROWS, n, _BLOCK_ROWS)
        cuts = np.searchsorted(s, s[cuts], side="left")  # a tie stays in one block
        blocks = np.unique(np.r_[0, cuts, n] if start is None else np.r_[0, cuts, start, n])
        edges = np.union1d(blocks, bounds)
        piece_run = np.searchsorted(bounds, edges[:-1], side="right") - 1
        piece_rows = np.diff(edges)
        piece_of_block = np.searchsorted(edges, blocks)
        longest = int(np.diff(blocks).max())
        buffers = np.empty((4, longest))
        within = np.arange(longest, dtype=np.float64)
        for a, e, first, last in zip(
            blocks[:-1].tolist(),
            blocks[1:].tolist(),
            piece_of_block[:-1].tolist(),
            piece_of_block[1:].tolist(),
            strict=True,
        ):
            self._sweep(
                s[a:e],
                a,
                buffers[:, : e - a],
                within[: e - a],
                piece_run[first:last],
                edges[first:last] - a,
                piece_rows[first:last],
                None if share is None else share[a:e],
                start is not None and a >= start,
            )
        self.flagged_rows = (n - start) if start is not None else int(np.count_nonzero(flagged))
        self.rows = n
        self._finish()

    def _finish(self) -> None:
        # Σ p(1 - p) as Σ p - Σ p²: no per-row variance is kept
        self._v_flagged = self.p_flagged - self._squared_flagged
        self._v_other = self.p_other - self._squared_other
        run_other = self._run_rows - self._run_flagged
        self._flagged_weights = self._knot_weights(self._run_flagged, self._run_flagged_t)
        self._other_weights = self._knot_weights(run_other, self._run_t - self._run_flagged_t)

    def _weighted(self, s: np.ndarray, flagged: np.ndarray, w: np.ndarray) -> None:
        """The sums when score ``i`` stands for ``w[i]`` tied rows, in one pass over the scores."""
        runs = self._run_rows_of(np.diff(self._bounds))
        t = s - self._run_knot[runs]
        p = t * self._run_slope[runs] + self._run_rate[runs]
        # a tie's rows (equal scores, whatever their weights) share their mean rank from 0
        ends = np.r_[0.0, np.cumsum(w)]
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        sizes = np.diff(np.r_[starts, s.size])
        tie_rows = np.diff(ends[np.r_[starts, s.size]])
        r = np.repeat(ends[starts] + 0.5 * (tie_rows - 1.0), sizes)
        h = r + p
        wf = np.where(flagged, w, 0.0)
        wp, wfp, wop = w * p, wf * p, (w - wf) * p
        size = self._run_rate.size
        self._run_rows = np.bincount(runs, weights=w, minlength=size)
        self._run_t = np.bincount(runs, weights=w * t, minlength=size)
        self._run_flagged = np.bincount(runs, weights=wf, minlength=size)
        self._run_flagged_t = np.bincount(runs, weights=wf * t, minlength=size)
        self._run_ht = np.bincount(runs, weights=w * h * t, minlength=size)
        self.p_flagged = float(wfp.sum())
        self.p_other = float(wop.sum())
        self._squared_flagged = _dot(wfp, p)
        self._squared_other = _dot(wop, p)
        self._rank_p = _dot(wp, r)
        wph = wp * h
        self._h2p = _dot(wph, h)
        self._h2p2 = _dot(wph * p, h)
        self._hp2 = _dot(wph, p)
        self._bounds = ends[self._bounds]  # the runs' bounds, counted in rows
        self._n = self.rows = float(ends[-1])
        self.flagged_rows = float(wf.sum())
        self._finish()

    @staticmethod
    def _run_rows_of(lengths: np.ndarray) -> np.ndarray:
        """Each score's run, from the runs' lengths in scores."""
        return np.repeat(np.arange(lengths.size), lengths)

    def _sweep(
        self,
        s: np.ndarray,
        a: int,
        buffers: np.ndarray,
        within: np.ndarray,
        runs: np.ndarray,
        starts: np.ndarray,
        lengths: np.ndarray,
        share: np.ndarray | None,
        flagged: bool,
    ) -> None:
        """Add the sums of one block: scores ``s`` from row ``a``, in pieces of ``runs``."""
        t, p, h, hp = buffers
        np.subtract(s, np.repeat(self._run_knot[runs], lengths), out=t)
        np.multiply(t, np.repeat(self._run_slope[runs], lengths), out=p)
        np.add(p, np.repeat(self._run_rate[runs], lengths), out=p)
        run_t = np.add.reduceat(t, starts)
        self._run_t[runs] += run_t
        # Σ p per piece is rate·rows + slope·Σ t
        total = float(self._run_rate[runs] @ lengths + self._run_slope[runs] @ run_t)
        squared = _dot(p, p)
        if share is None:
            if flagged:
                self.p_flagged += total
                self._squared_flagged += squared
                self._run_flagged[runs] += lengths
                self._run_flagged_t[runs] += run_t
            else:
                self.p_other += total
                self._squared_other += squared
        else:
            shared_p = share * p
            flagged_p, flagged_squared = float(shared_p.sum()), _dot(shared_p, p)
            self.p_flagged += flagged_p
            self.p_other += total - flagged_p
            self._squared_flagged += flagged_squared
            self._squared_other += squared - flagged_squared
            self._run_flagged[runs] += np.add.reduceat(share, starts)
            self._run_flagged_t[runs] += np.add.reduceat(share * t, starts)
        # h' = the rank within the block (the mean rank of a tie) plus p
        np.add(_block_midranks(s, within), p, out=h)
        np.multiply(h, p, out=hp)
        h_p = float(hp.sum())
        # Σ r·p = a Σ p + Σ (h' - p)·p
        self._rank_p += a * total + (h_p - squared)
        self._h2p += _dot(hp, h) + 2.0 * a * h_p + a * a * total
        hp2 = _dot(hp, p)
        self._h2p2 += _dot(hp, hp) + 2.0 * a * hp2 + a * a * squared
        self._hp2 += hp2 + a * squared
        # Σ h·t per run = Σ h'·t + a Σ t
        self._run_ht[runs] += np.add.reduceat(np.multiply(t, h, out=t), starts) + a * run_t

    def two_group_variance(self, a: float, c: float) -> float:
        """Var of a metric whose gradient is a on predicted positives and c on the others.

        Labels' variance plus the calibration's: Σ g² p(1-p) + Σ_b (Σ g w_b)² Var(r_b).
        """
        label = a * a * self._v_flagged + c * c * self._v_other
        per_knot = a * self._flagged_weights + c * self._other_weights
        return label + float(per_knot**2 @ self._rate_variance)

    def auc_and_variance(self) -> tuple[float, float]:
        """The expected AUC (step 3) and its variance (step 4), as the module docstring says."""
        n, bounds = self._n, self._bounds
        positives = self.p_flagged + self.p_other
        variance = self._v_flagged + self._v_other
        pairs_right = self._rank_p - 0.5 * (positives * positives + variance - positives)
        pairs = positives * (n - positives) - variance
        auc = pairs_right / pairs
        # g_i = (h_i - centre) / pairs, h_i = r_i + p_i: Σ g² p(1-p) from Σ h²p(1-p), Σ h p(1-p)
        centre = positives + auc * (n - 2.0 * positives)
        h2v = self._h2p - self._h2p2
        hv = self._rank_p + self._squared_flagged + self._squared_other - self._hp2
        label = h2v - 2.0 * centre * hv + centre * centre * variance
        # Σ_i (h_i - centre) w_ib per knot b: each run's Σ h is its ranks' sum (a tie never
        # straddles two runs) plus its Σ p
        first, end = bounds[:-1].astype(np.float64), bounds[1:].astype(np.float64)
        run_h = (
            0.5 * (first + end - 1.0) * (end - first)
            + self._run_rate * self._run_rows
            + self._run_slope * self._run_t
        )
        per_knot = self._knot_weights(run_h, self._run_ht) - centre * self._knot_weights(
            self._run_rows, self._run_t
        )
        calibration = float(per_knot**2 @ self._rate_variance)
        return auc, (label + calibration) / (pairs * pairs)

    def _knot_weights(self, run_g: np.ndarray, run_gt: np.ndarray) -> np.ndarray:
        """Σ_i g_i w_ib for each knot b, from each run's Σ g and Σ g·t."""
        upper = run_gt * self._inverse_width
        size = self._rate_variance.size
        return np.bincount(self._lower, weights=run_g - upper, minlength=size) + np.bincount(
            self._upper, weights=upper, minlength=size
        )


_BLOCK_ROWS = 65_536
"""Rows per block of the sweep: its few temporaries (0.5 MB each) stay in cache."""


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a·b by einsum, not BLAS: BLAS splits it over threads, twice as slow when the machine's
    other cores are busy."""
    return float(np.einsum("i,i->", a, b))


def _block_midranks(s: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Each sorted score's rank from 0 in ``s`` (``within`` when no tie), a tie's mean rank."""
    tied = s[1:] == s[:-1]
    if not tied.any():
        return within
    starts = np.flatnonzero(np.r_[True, ~tied])
    sizes = np.diff(np.r_[starts, s.size])
    return np.repeat(starts + 0.5 * (sizes - 1), sizes)


def _suffix_start(flagged: np.ndarray) -> int | None:
    """Where the flagged rows start when they are the last ones, else None."""
    start = flagged.size - int(np.count_nonzero(flagged))
    return start if bool(flagged[start:].all()) else None


class _CalibrationSpread:
    """The variance an estimate inherits from the calibration's block rates (step 4), row by row.

    For a gradient given per row (the calibration check of ``estimation._quality``).
    """

    def __init__(self, calibration: Calibration, s: np.ndarray) -> None:
        knots = calibration.score
        last = knots.size - 1
        below = np.clip(np.searchsorted(knots, s, side="right") - 1, 0, last)
        above = np.minimum(below + 1, last)
        between = (s > knots[below]) & (below < last)
        width = np.where(between, knots[above] - knots[below], 1.0)
        self._share_above = np.where(between, (s - knots[below]) / width, 0.0)
        self._below, self._above, self._knots = below, above, knots.size
        r, m = calibration.probability, calibration.rows
        self.rate_variance = r * (1.0 - r) / m

    def per_knot(self, gradient: np.ndarray) -> np.ndarray:
        """Σ_i g_i w_ib for each knot b."""
        upper = gradient * self._share_above
        return np.bincount(
            self._below, weights=gradient - upper, minlength=self._knots
        ) + np.bincount(self._above, weights=upper, minlength=self._knots)

    def variance(self, gradient: np.ndarray) -> float:
        """Σ_b (Σ_i g_i w_ib)² r_b(1 - r_b)/m_b for the gradient ``g`` of a metric."""
        return float(self.per_knot(gradient) ** 2 @ self.rate_variance)
