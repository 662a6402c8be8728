from __future__ import annotations

from include.drift.categories import NEW, OTHER, group_categories
from include.drift.columns import MISSING_CATEGORY


def test_rare_reference_categories_become_other_and_unseen_ones_new():
    reference = {"a": 600, "b": 390, "rare": 4, "rarer": 1, MISSING_CATEGORY: 5}
    current = {"a": 500, "rare": 10, "z": 80, "y": 10, MISSING_CATEGORY: 0}

    grouped = group_categories(reference, current, rare_share=0.005, max_categories=50)

    assert grouped.labels == ("a", "b", MISSING_CATEGORY, OTHER, NEW)
    assert grouped.reference.tolist() == [600, 390, 5, 5, 0]
    assert grouped.current.tolist() == [500, 0, 0, 10, 90]


def test_only_the_largest_categories_are_kept_apart():
    reference = {f"c{i}": 100 - i for i in range(10)}

    grouped = group_categories(reference, {"c0": 5, "c9": 5}, rare_share=0.0, max_categories=3)

    assert grouped.labels == ("c0", "c1", "c2", OTHER)
    assert grouped.current.tolist() == [5, 0, 0, 5]


def test_groups_empty_on_both_sides_are_left_out():
    grouped = group_categories({"a": 3, "b": 1}, {"a": 2}, rare_share=0.0, max_categories=50)

    assert grouped.labels == ("a", "b")
