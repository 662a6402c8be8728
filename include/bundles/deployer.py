"""The deployer: published bundles and deployments (schema ``deployer``), with their history.

- **Publish** keeps a verified bundle archive in the bundle store (a folder; ``MES_BUNDLE_STORE``)
  and records it; publishing an id again with other content is refused.
- A **deployment** is a named target (``prod``) with its active bundle, its settings (the Airflow
  variables and connection ids it remaps) and the history of its updates. Settings changed since
  the last update make it report itself out of sync.
- **Update** activates a bundle: verify every checksum, check the bundle's requirements against
  the target's Python, extract it into a fresh release folder, import every DAG of the bundle in a
  separate process with the target's Python, then switch the ``active`` link in one rename. Until
  that rename the previous bundle stays active, and it stays active if anything fails. Updates of
  one deployment are serialised by a lock file; each is in the history from its start.
  **Rollback** is an update to an earlier bundle.
- **Reconciling** (``include.bundles.reconcile``) repairs what a killed update left, whenever
  the deployment is not being updated: the record follows what the ``active`` link serves.

The tables are in ``include.bundles.tables``, the store's layout and lock in
``include.bundles.store``, the questions to the target's Python in ``include.bundles.probes``.
One bundle store per deployer database: the lock that tells a running update from a killed one
lives in the store.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from include.bundles.archive import (
    Manifest,
    check_bundle_id,
    extract_bundle,
    sha256_file,
    verify_bundle,
)
from include.bundles.probes import dag_import_errors, unmet_requirements
from include.bundles.reconcile import reconcile, remove_leftovers
from include.bundles.store import (
    check_deployment_name,
    default_store,
    deployment_folder,
    deployment_lock,
    release_name,
    settings_digest,
)
from include.bundles.tables import (
    FAILED,
    INTERRUPTED,
    RUNNING,
    SCHEMA,
    SUCCESS,
    bundles,
    deployments,
    metadata,
    updates,
)
from include.db import create_engine, transaction
from include.errors import BundleError
from include.files import write_atomically
from include.paths import mes_home
from include.settings import current

__all__ = [
    "FAILED",
    "INTERRUPTED",
    "RUNNING",
    "SUCCESS",
    "Deployer",
    "DeploymentStatus",
    "check_deployment_name",
    "default_store",
    "deployment_folder",
    "settings_digest",
]


@dataclass(frozen=True)
class DeploymentStatus:
    name: str
    active_bundle_id: str | None
    settings: dict[str, Any]
    out_of_sync: bool
    history: list[dict[str, Any]]


class Deployer:
    """Bundles published to a store and deployments updated from them."""

    def __init__(self, engine: sa.Engine, description: str, store: Path) -> None:
        self._engine = engine
        self.description = description
        self.store = store

    @classmethod
    def open(cls, url: str | None = None, store: Path | None = None) -> Deployer:
        """The deployer database (``DEPLOYER_DATABASE_URL``, else a SQLite file under
        ``$MES_HOME``) and the bundle store (``MES_BUNDLE_STORE``, else ``$MES_HOME/bundles``)."""
        url = (
            url
            or current().deployer_database_url
            or (f"sqlite:///{mes_home() / 'deployer.sqlite'}")
        )
        engine, description = create_engine(url, SCHEMA, what="deployer database")
        deployer = cls(engine, description, Path(store or default_store()))
        with deployer._transaction() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
            metadata.create_all(conn)
            names = conn.execute(sa.select(deployments.c.name)).scalars().all()
        for name in names:
            try:
                check_deployment_name(name)
            except BundleError:
                continue  # recorded before names were checked: status refuses it, saying why
            deployer._reconcile_if_idle(name)
        return deployer

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Deployer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _transaction(self) -> contextlib.AbstractContextManager[sa.Connection]:
        return transaction(self._engine, f"the deployer at {self.description}")

    # -- bundles ----------------------------------------------------------------------------

    def archive_path(self, bundle_id: str) -> Path:
        return self.store / "published" / f"{check_bundle_id(bundle_id)}.tar.gz"

    def publish(self, archive: Path) -> Manifest:
        """Keep a verified bundle; the same id with other content is refused."""
        manifest = verify_bundle(archive)
        digest = sha256_file(archive)
        with self._transaction() as conn:
            known = conn.execute(
                sa.select(bundles.c.manifest).where(bundles.c.bundle_id == manifest.bundle_id)
            ).scalar()
        if known is not None:
            # Rebuilding the same tree gives a new archive (its creation time differs) with
            # the same files: that is the same bundle; other files under the same id are not.
            if known["files"] == json.loads(json.dumps(manifest.to_dict()["files"])):
                return Manifest.from_dict(known)
            raise BundleError(
                f"bundle {manifest.bundle_id} is already published with other content; bundles "
                "are immutable: publish this one under a new id"
            )
        content = Path(archive).read_bytes()
        write_atomically(self.archive_path(manifest.bundle_id), lambda f: f.write(content))
        with self._transaction() as conn:
            conn.execute(
                bundles.insert(),
                {
                    "bundle_id": manifest.bundle_id,
                    "sha256": digest,
                    "size": len(content),
                    "release_notes": manifest.release_notes,
                    "manifest": manifest.to_dict(),
                    "published_at": datetime.now(UTC),
                },
            )
        return manifest

    def published(self) -> list[dict[str, Any]]:
        query = sa.select(
            bundles.c.bundle_id, bundles.c.release_notes, bundles.c.sha256, bundles.c.published_at
        ).order_by(bundles.c.published_at)
        with self._transaction() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # -- deployments ------------------------------------------------------------------------

    def deployments(self) -> list[str]:
        """The names of the configured deployments, in order."""
        with self._transaction() as conn:
            query = sa.select(deployments.c.name).order_by(deployments.c.name)
            return list(conn.execute(query).scalars())

    def deployment_dir(self, name: str) -> Path:
        return deployment_folder(self.store, name)

    def active_path(self, name: str) -> Path:
        """The folder the deployment serves: a link switched in one rename by each update."""
        return self.deployment_dir(name) / "active"

    def configure(self, name: str, settings: Mapping[str, Any]) -> None:
        """Create the deployment, or change its settings (it is then out of sync)."""
        check_deployment_name(name)
        with self._transaction() as conn:
            exists = conn.execute(
                sa.select(deployments.c.name).where(deployments.c.name == name)
            ).scalar()
            if exists:
                conn.execute(
                    deployments.update()
                    .where(deployments.c.name == name)
                    .values(settings=dict(settings))
                )
            else:
                conn.execute(deployments.insert(), {"name": name, "settings": dict(settings)})

    def status(self, name: str) -> DeploymentStatus:
        """The deployment as served (reconciled first unless an update is running)."""
        self._reconcile_if_idle(name)
        return self._read_status(name)

    def _read_status(self, name: str) -> DeploymentStatus:
        with self._transaction() as conn:
            row = (
                conn.execute(sa.select(deployments).where(deployments.c.name == name))
                .mappings()
                .first()
            )
            history = [
                dict(r)
                for r in conn.execute(
                    sa.select(updates)
                    .where(updates.c.deployment == name)
                    .order_by(updates.c.update_id)
                ).mappings()
            ]
        if row is None:
            raise BundleError(f"no deployment named {name!r}: configure it first")
        return DeploymentStatus(
            name=name,
            active_bundle_id=row["active_bundle_id"],
            settings=row["settings"],
            out_of_sync=row["applied_settings_sha256"] != settings_digest(row["settings"]),
            history=history,
        )

    def update(
        self, name: str, bundle_id: str, *, requested_by: str = "cli", python: str = sys.executable
    ) -> DeploymentStatus:
        """Activate ``bundle_id`` on the deployment; on failure the previous one stays active."""
        check_deployment_name(name)
        check_bundle_id(bundle_id)
        with self._lock(name):
            self._reconcile(name)
            current = self._read_status(name)
            update_id = self._start(name, bundle_id, current.active_bundle_id, requested_by)
            try:
                release = self._prepare_release(name, bundle_id, update_id, python)
                _switch_link(self.active_path(name), release)
            except BaseException as exc:
                self._finish(update_id, FAILED, str(exc))
                self._remove_leftovers(name)
                if isinstance(exc, BundleError):
                    raise
                raise BundleError(f"update of {name} to {bundle_id} failed: {exc}") from exc
            with self._transaction() as conn:
                conn.execute(
                    deployments.update()
                    .where(deployments.c.name == name)
                    .values(
                        active_bundle_id=bundle_id,
                        applied_settings_sha256=settings_digest(current.settings),
                        updated_at=datetime.now(UTC),
                    )
                )
            self._finish(update_id, SUCCESS, f"{bundle_id} is active")
        return self.status(name)

    def rollback(self, name: str, bundle_id: str, *, requested_by: str = "cli") -> DeploymentStatus:
        """Go back to an earlier bundle: an update like any other, recorded as such."""
        return self.update(name, bundle_id, requested_by=f"rollback by {requested_by}")

    def _prepare_release(self, name: str, bundle_id: str, update_id: int, python: str) -> Path:
        archive = self.archive_path(bundle_id)
        if not archive.exists():
            raise BundleError(f"bundle {bundle_id} is not published: publish it first")
        with self._transaction() as conn:
            recorded = conn.execute(
                sa.select(bundles.c.sha256).where(bundles.c.bundle_id == bundle_id)
            ).scalar()
        # The archive's own manifest cannot catch a manifest rewritten with its files: the
        # digest recorded at publishing can.
        if recorded != sha256_file(archive):
            raise BundleError(
                f"bundle {bundle_id} in the store is not the archive that was published "
                "(its SHA-256 changed): publish it again from a trusted copy"
            )
        manifest = verify_bundle(archive)
        missing = unmet_requirements(manifest.requirements, python)
        if missing:
            raise BundleError(
                f"bundle {bundle_id} needs packages the target does not have: "
                + "; ".join(missing)
                + ". Install its requirements.txt on the target first"
            )
        release = self.deployment_dir(name) / "releases" / release_name(update_id, bundle_id)
        extract_bundle(archive, release)
        errors = dag_import_errors(release, python)
        if errors:
            details = "; ".join(f"{Path(p).name}: {e.splitlines()[-1]}" for p, e in errors.items())
            raise BundleError(f"bundle {bundle_id} has DAGs that do not import: {details}")
        return release

    def _start(self, name: str, bundle_id: str, active: str | None, requested_by: str) -> int:
        with self._transaction() as conn:
            return conn.execute(
                updates.insert().returning(updates.c.update_id),
                {
                    "deployment": name,
                    "requested_by": requested_by,
                    "requested_at": datetime.now(UTC),
                    "from_bundle_id": active,
                    "to_bundle_id": bundle_id,
                    "outcome": RUNNING,
                    "message": "",
                },
            ).scalar_one()

    def _finish(self, update_id: int, outcome: str, message: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                updates.update()
                .where(updates.c.update_id == update_id)
                .values(outcome=outcome, message=message, finished_at=datetime.now(UTC))
            )

    # -- reconciling --------------------------------------------------------------------------

    def _reconcile_if_idle(self, name: str) -> None:
        """Reconcile unless an update holds the lock (or the store cannot be locked from here:
        a read-only store, where nothing can be repaired anyway)."""
        if not self.deployment_dir(name).is_dir():
            return  # no update ever ran from this store: nothing to reconcile against
        with self._lock(name, wait=False) as held:
            if held:
                self._reconcile(name)

    def _reconcile(self, name: str) -> None:
        """Make the record say what the ``active`` link serves; call with the lock held."""
        reconcile(self._transaction, self.deployment_dir(name), name)

    def _remove_leftovers(self, name: str) -> None:
        """Remove the releases no update will use; call with the lock held."""
        remove_leftovers(self._transaction, self.deployment_dir(name), name)

    def _lock(self, name: str, *, wait: bool = True) -> contextlib.AbstractContextManager[bool]:
        """Serialise the updates of one deployment (the lock dies with a killed process).

        Yields whether the lock is held: with ``wait=False`` it is not when an update holds it.
        """
        return deployment_lock(self.deployment_dir(name), name, wait=wait)


def _switch_link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` in one rename: readers see the old folder or the new one."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, link)
