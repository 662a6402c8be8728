"""Reconciling a deployment's record with what its ``active`` link serves, after a killed update.

Whenever the deployment is not being updated (on open, status and before each update, under the
lock), the ``active`` link is the truth of what is served, so the record follows the link: the
update whose release the link points at succeeded in fact and is recorded so; every other update
still "running" (its process is gone, since it no longer holds the lock) is recorded as
interrupted. Releases that were never activated (failed or interrupted updates, half-extracted
folders, stale temporary links) are removed; every release that was once active is kept, because
runs started under it still run its code (``plugins/mes_dag_bundle.py``) and rolling back to it
needs no extraction.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from include.bundles.store import release_name, served_release
from include.bundles.tables import FAILED, INTERRUPTED, RUNNING, SUCCESS, deployments, updates

# One transaction on the deployer database, as ``Deployer._transaction`` opens it.
Transaction = Callable[[], contextlib.AbstractContextManager[sa.Connection]]


def reconcile(transaction: Transaction, folder: Path, name: str) -> None:
    """Make the record say what the ``active`` link serves; call with the lock held.

    Holding the lock, no update of the deployment is running: a "running" row belongs to a
    process that died. The one whose release the link points at switched the link before it
    died, so it succeeded in fact; the others never took effect. Which settings a completed
    update applied is not known, so the applied-settings digest stays the last recorded one
    (the deployment reads out of sync rather than in sync by guess).
    """
    served = served_release(folder / "active")
    now = datetime.now(UTC)
    with transaction() as conn:
        recorded = conn.execute(
            sa.select(deployments.c.active_bundle_id).where(deployments.c.name == name)
        ).first()
        if recorded is None:
            return
        unfinished = conn.execute(
            sa.select(updates.c.update_id, updates.c.to_bundle_id).where(
                updates.c.deployment == name,
                sa.or_(
                    updates.c.outcome == RUNNING,
                    sa.and_(
                        updates.c.update_id == served.update_id,
                        updates.c.outcome != SUCCESS,
                    ),
                ),
            )
        ).all()
        for update_id, to_bundle_id in unfinished:
            if update_id == served.update_id:
                outcome = SUCCESS
                message = (
                    f"{to_bundle_id} is active (the update's process stopped after switching "
                    "the active link; completed on reconciliation)"
                )
            else:
                outcome = INTERRUPTED
                message = (
                    f"interrupted: the update's process stopped before {to_bundle_id} was "
                    "activated; the active bundle did not change (found on reconciliation)"
                )
            conn.execute(
                updates.update()
                .where(updates.c.update_id == update_id)
                .values(outcome=outcome, message=message, finished_at=now)
            )
        # A link the deployer did not make (served.known False) tells no bundle id: the
        # record is left as it is.
        if served.known and recorded.active_bundle_id != served.bundle_id:
            conn.execute(
                deployments.update()
                .where(deployments.c.name == name)
                .values(active_bundle_id=served.bundle_id, updated_at=now)
            )
    remove_leftovers(transaction, folder, name)


def remove_leftovers(transaction: Transaction, folder: Path, name: str) -> None:
    """Remove what no update will use: releases of failed or interrupted updates (never the
    one the link points at), half-extracted folders and temporary links; call with the lock
    held. A release whose update is not in the history is left alone."""
    for link in folder.glob(".active.*"):
        if link.is_symlink():
            link.unlink(missing_ok=True)
    releases = folder / "releases"
    if not releases.is_dir():
        return
    served = served_release(folder / "active")
    with transaction() as conn:
        never_active = {
            release_name(update_id, bundle_id)
            for update_id, bundle_id in conn.execute(
                sa.select(updates.c.update_id, updates.c.to_bundle_id).where(
                    updates.c.deployment == name,
                    updates.c.outcome.in_([FAILED, INTERRUPTED]),
                )
            )
        }
    never_active.discard(served.folder)
    for release in releases.iterdir():
        staging = release.name.startswith(".") and release.name.endswith(".partial")
        if staging or release.name in never_active:
            shutil.rmtree(release, ignore_errors=True)
