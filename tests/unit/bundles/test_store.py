"""The bundle store's layout, what an ``active`` link serves, and the deployment lock."""

from __future__ import annotations

import os
import threading
import time

import pytest

from include.bundles.store import (
    LOCK_FILE,
    Served,
    deployment_lock,
    release_name,
    served_release,
)
from include.errors import BundleError


def test_a_release_folder_is_named_by_its_update_and_bundle(tmp_path):
    assert release_name(7, "v3") == "000007-v3"
    link = tmp_path / "active"
    assert served_release(link) == Served(None)
    assert served_release(link).known
    os.symlink(tmp_path / "releases" / "000007-v3", link)
    assert served_release(link) == Served("000007-v3", 7, "v3")
    link.unlink()
    os.symlink(tmp_path / "elsewhere", link)
    assert served_release(link) == Served("elsewhere")
    assert not served_release(link).known
    link.unlink()
    link.mkdir()  # not a link: something other than the deployer put it there
    assert served_release(link) == Served("active")


def test_the_lock_is_held_by_one_at_a_time(tmp_path):
    with deployment_lock(tmp_path / "prod", "prod") as held:
        assert held
        assert (tmp_path / "prod" / LOCK_FILE).is_file()
        with deployment_lock(tmp_path / "prod", "prod", wait=False) as other:
            assert not other
    with deployment_lock(tmp_path / "prod", "prod", wait=False) as held:
        assert held
    assert (tmp_path / "prod" / LOCK_FILE).is_file()  # left in place for the next update


def test_a_waiting_update_gets_the_lock_when_the_holder_lets_go(tmp_path):
    events = []

    def second() -> None:
        with deployment_lock(tmp_path, "prod") as held:
            events.append(("second", held))

    with deployment_lock(tmp_path, "prod"):
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.3)
        events.append(("first done", True))
    waiting.join(timeout=10)
    assert events == [("first done", True), ("second", True)]


def test_a_store_where_the_lock_cannot_be_made_is_not_locked(tmp_path):
    # As a read-only store: the lock file cannot be created (a file stands where its folder
    # should be, which even root cannot get past).
    blocker = tmp_path / "store"
    blocker.write_text("a file where the store's folder should be")
    with deployment_lock(blocker / "prod", "prod", wait=False) as held:
        assert not held
    with (
        pytest.raises(BundleError, match=r"cannot lock deployment prod at .*bundle store"),
        deployment_lock(blocker / "prod", "prod"),
    ):
        pass
