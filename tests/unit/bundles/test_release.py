"""The id a scheduled release takes, and the looks at what the target Airflow serves."""

from __future__ import annotations

import pytest

from include.bundles import release
from include.bundles.release import next_bundle_id
from include.errors import BundleError


def test_auto_takes_the_version_after_the_highest() -> None:
    assert next_bundle_id([]) == "v1"
    assert next_bundle_id(["v1", "v3", "v2"]) == "v4"
    assert next_bundle_id(["v9", "v10", "hotfix-1", "vx"]) == "v11"


@pytest.fixture
def target(monkeypatch):
    """What the target serves, one answer per look (the last one repeated)."""
    answers: list[str | None] = []
    looks: list[str] = []

    def served(api_url, user, password, dag_id):
        looks.append(dag_id)
        return answers[min(len(looks), len(answers)) - 1]

    monkeypatch.setattr(release, "served_bundle_version", served)
    return answers, looks


def test_one_look_says_whether_the_target_serves_the_bundle(target) -> None:
    answers, looks = target
    answers[:] = ["v1", "v2"]
    assert release.check_served("http://prod", "u", "p", bundle_id="v2", waited=0) is False
    assert release.check_served("http://prod", "u", "p", bundle_id="v2", waited=10) is True
    assert looks == ["recursive_mes", "recursive_mes"]


def test_a_look_past_the_timeout_fails_saying_what_the_target_serves(target) -> None:
    answers, _ = target
    answers[:] = ["v1"]
    with pytest.raises(BundleError) as failed:
        release.check_served("http://prod", "u", "p", bundle_id="v2", waited=301.4, timeout=300)
    assert str(failed.value) == (
        "the target at http://prod still serves 'v1' for recursive_mes, not v2, after 301 s: "
        "check its dag-processor and DAG bundle settings"
    )
    # Served at the last look: no failure, however long it took.
    answers[:] = ["v2"]
    assert release.check_served("http://prod", "u", "p", bundle_id="v2", waited=999) is True
