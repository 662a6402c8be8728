"""Reconciling: the record follows the ``active`` link, and never-activated releases go.

Real kills at every step of an update are in tests/faults/test_deployer_faults.py; these tests
set the leftovers up by hand on an SQLite deployer database.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from include.bundles.reconcile import reconcile, remove_leftovers
from include.bundles.tables import SCHEMA, deployments, metadata, updates
from include.db import create_engine, transaction


@pytest.fixture
def begin(tmp_path):
    engine, _ = create_engine(f"sqlite:///{tmp_path / 'd.sqlite'}", SCHEMA, what="test")
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(deployments.insert(), {"name": "prod", "settings": {}})
    yield lambda: transaction(engine, "the test deployer")
    engine.dispose()


def started(begin, bundle_id: str, outcome: str = "running") -> int:
    with begin() as conn:
        return conn.execute(
            updates.insert().returning(updates.c.update_id),
            {
                "deployment": "prod",
                "requested_by": "test",
                "requested_at": datetime.now(UTC),
                "to_bundle_id": bundle_id,
                "outcome": outcome,
                "message": "",
            },
        ).scalar_one()


def recorded(begin) -> tuple[str | None, list[tuple[str, str]]]:
    with begin() as conn:
        active = conn.execute(sa.select(deployments.c.active_bundle_id)).scalar()
        rows = conn.execute(
            sa.select(updates.c.to_bundle_id, updates.c.outcome).order_by(updates.c.update_id)
        ).all()
    return active, [tuple(row) for row in rows]


def test_the_update_the_link_points_at_succeeded_the_others_were_interrupted(begin, tmp_path):
    folder = tmp_path / "prod"
    linked = started(begin, "v1")
    started(begin, "v2")
    (folder / "releases" / f"{linked:06d}-v1").mkdir(parents=True)
    (folder / "releases" / "000002-v2").mkdir()
    os.symlink(folder / "releases" / f"{linked:06d}-v1", folder / "active")
    reconcile(begin, folder, "prod")
    assert recorded(begin) == ("v1", [("v1", "success"), ("v2", "interrupted")])
    assert sorted(p.name for p in (folder / "releases").iterdir()) == ["000001-v1"]


def test_leftovers_are_half_extracted_folders_temporary_links_and_failed_releases(begin, tmp_path):
    folder = tmp_path / "prod"
    releases = folder / "releases"
    failed = started(begin, "v2", "failed")
    for name in (f"{failed:06d}-v2", ".000009-v3.abc.partial", "000042-unknown"):
        (releases / name).mkdir(parents=True)
    os.symlink(releases / "000042-unknown", folder / ".active.123")
    remove_leftovers(begin, folder, "prod")
    # A release whose update is not in the history is left alone.
    assert [p.name for p in releases.iterdir()] == ["000042-unknown"]
    assert not (folder / ".active.123").is_symlink()
