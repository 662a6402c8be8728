"""The id a scheduled release takes."""

from __future__ import annotations

from include.bundles.release import next_bundle_id


def test_auto_takes_the_version_after_the_highest() -> None:
    assert next_bundle_id([]) == "v1"
    assert next_bundle_id(["v1", "v3", "v2"]) == "v4"
    assert next_bundle_id(["v9", "v10", "hotfix-1", "vx"]) == "v11"
