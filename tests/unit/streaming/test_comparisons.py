from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.drift.reference import build_reference_profile
from include.drift.stats.ks import ks_two_sample
from include.drift.stats.psi import decile_psi
from include.drift.stats.wasserstein import wasserstein_distance
from include.errors import ConfigurationError, EmptyBatchError
from include.streaming.columns import NumericSummary, reference_edges
from include.streaming.comparisons import summary_decile_psi, summary_ks, summary_wasserstein

ROWS = 100_000


def _pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(11)
    return {
        "shifted": (rng.normal(0, 1, ROWS), rng.normal(0.1, 1.1, ROWS)),
        "unchanged": (rng.normal(0, 1, ROWS), rng.normal(0, 1, ROWS)),
        "outside the reference": (rng.normal(0, 1, ROWS), rng.normal(5, 0.1, ROWS)),
        "discrete": (rng.integers(0, 5, ROWS) * 1.0, rng.integers(0, 6, ROWS) * 1.0),
        "heavy-tailed": (rng.lognormal(0, 2, ROWS), rng.lognormal(0.2, 2, ROWS)),
    }


PAIRS = _pairs()


def _summaries(name: str) -> tuple[NumericSummary, NumericSummary, np.ndarray, np.ndarray]:
    """Reference and current summaries, each merged from three partitions of a few chunks."""
    reference, current = PAIRS[name]
    profile = build_reference_profile(
        pd.DataFrame({"x": reference}), numeric=["x"], categorical=[]
    ).numeric[0]
    edges = reference_edges(profile)
    merged = []
    for values in (reference, current):
        parts = []
        for partition in np.array_split(values, 3):
            part = NumericSummary.empty("x", edges)
            for chunk in np.array_split(partition, 4):
                part.update(pd.Series(chunk))
            parts.append(part)
        merged.append(parts[0].merge(parts[1]).merge(parts[2]))
    return merged[0], merged[1], profile.decile_edges, edges


@pytest.mark.parametrize("name", list(PAIRS))
def test_decile_psi_is_the_exact_one(name):
    reference, current, deciles, _ = _summaries(name)
    exact, _ = decile_psi(np.sort(PAIRS[name][0]), np.sort(PAIRS[name][1]))

    assert summary_decile_psi(reference, current, deciles) == exact


@pytest.mark.parametrize("name", list(PAIRS))
def test_ks_statistic_is_within_its_bound(name):
    reference, current, _, _ = _summaries(name)
    exact = ks_two_sample(np.sort(PAIRS[name][0]), np.sort(PAIRS[name][1]))
    estimate = summary_ks(reference, current)

    assert abs(estimate.statistic - exact.statistic) <= estimate.bound
    # the 0.1 % reference bins and the sketches' 0.86 % rank error keep it small
    assert estimate.bound <= 0.0015
    assert 0.0 <= estimate.pvalue <= 1.0


@pytest.mark.parametrize("name", list(PAIRS))
def test_wasserstein_distance_is_within_its_bound(name):
    reference, current, _, _ = _summaries(name)
    exact = wasserstein_distance(np.sort(PAIRS[name][0]), np.sort(PAIRS[name][1]))
    estimate = summary_wasserstein(reference, current)

    assert abs(estimate.value - exact) <= estimate.bound


def test_wasserstein_bound_is_tight_for_a_light_tail():
    reference, current, _, _ = _summaries("shifted")

    assert summary_wasserstein(reference, current).bound < 0.02  # the distance is 0.12


def test_discrete_values_on_the_edges_are_exact():
    reference, current, _, _ = _summaries("discrete")
    exact = ks_two_sample(np.sort(PAIRS["discrete"][0]), np.sort(PAIRS["discrete"][1]))

    assert summary_ks(reference, current).statistic == exact.statistic
    assert summary_ks(reference, current).bound == 0.0


def test_summaries_on_other_edges_or_without_values_are_refused():
    reference, current, deciles, edges = _summaries("shifted")

    with pytest.raises(ConfigurationError, match="different edges"):
        summary_ks(reference, NumericSummary.empty("x", edges[::2]))
    with pytest.raises(EmptyBatchError, match="no finite value on one side"):
        summary_wasserstein(reference, NumericSummary.empty("x", edges))
    with pytest.raises(ConfigurationError, match="decile edges are not among"):
        summary_decile_psi(reference, current, deciles + 1e-9)
