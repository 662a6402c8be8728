"""Quantiles and bin counts read off a sorted array, without sorting or partitioning it again.

Every bin scheme here is a list of inner edges ``e_0 < … < e_{k-1}`` with open outer bins:
``(−inf, e_0], (e_0, e_1], …, (e_{k-1}, +inf)``. Bins are closed on the right, so a value equal
to an edge falls in the bin that the edge closes (the lower one), as ``pandas.cut(right=True)``.
"""

from __future__ import annotations

import numpy as np


def sorted_quantiles(ascending: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """``numpy.quantile(values, quantiles)`` (method ``linear``) of an already sorted array.

    Bit for bit numpy's result: the same virtual index ``(n - 1)·q`` and the same two-sided
    interpolation, which is exact at both ends and monotone.
    """
    if ascending.size == 0:
        raise ValueError("quantiles of an empty array are undefined")
    quantiles = np.asarray(quantiles, dtype=np.float64)
    virtual = (ascending.size - 1) * quantiles
    below = np.floor(virtual)
    gamma = virtual - below
    low_index = np.minimum(below.astype(np.intp), ascending.size - 1)
    high_index = np.minimum(low_index + 1, ascending.size - 1)
    low, high = ascending[low_index], ascending[high_index]
    step = high - low
    return np.where(gamma >= 0.5, high - step * (1 - gamma), low + step * gamma)


def bin_counts(ascending: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Number of values in each of the ``len(edges) + 1`` right-closed bins (module docstring)."""
    closed_below = np.searchsorted(ascending, edges, side="right")
    return np.diff(np.concatenate(([0], closed_below, [ascending.size])))


def bin_shares(ascending: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of the values in each of the ``len(edges) + 1`` bins; the shares sum to 1."""
    if ascending.size == 0:
        raise ValueError("shares of an empty array are undefined")
    return bin_counts(ascending, edges) / ascending.size
