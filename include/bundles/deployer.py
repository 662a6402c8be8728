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
- **Reconciling** repairs what a killed update left, whenever the deployment is not being updated
  (on open, status and before each update, under the lock): the ``active`` link is the truth of
  what is served, so the record follows the link; the update whose release the link points at
  succeeded in fact and is recorded so; every other update still "running" (its process is gone,
  since it no longer holds the lock) is recorded as interrupted. Releases that were never
  activated (failed or interrupted updates, half-extracted folders, stale temporary links) are
  removed; every release that was once active is kept, because runs started under it still run
  its code (``plugins/mes_dag_bundle.py``) and rolling back to it needs no extraction.

One bundle store per deployer database: the lock that tells a running update from a killed one
lives in the store.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from include.bundles.archive import (
    Manifest,
    check_bundle_id,
    check_name,
    extract_bundle,
    sha256_file,
    verify_bundle,
)
from include.bundles.pins import read_pins
from include.db import create_engine, transaction
from include.errors import BundleError
from include.files import write_atomically
from include.paths import mes_home
from include.settings import current

SCHEMA = "deployer"
Json = sa.JSON().with_variant(JSONB(), "postgresql")
metadata = sa.MetaData(schema=SCHEMA)

bundles = sa.Table(
    "bundles",
    metadata,
    sa.Column("bundle_id", sa.Text, primary_key=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("release_notes", sa.Text, nullable=False),
    sa.Column("manifest", Json, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
)
deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("active_bundle_id", sa.Text),
    sa.Column("settings", Json, nullable=False),
    sa.Column("applied_settings_sha256", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)
updates = sa.Table(
    "updates",
    metadata,
    sa.Column("update_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("deployment", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("from_bundle_id", sa.Text),
    sa.Column("to_bundle_id", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)

RUNNING, SUCCESS, FAILED, INTERRUPTED = "running", "success", "failed", "interrupted"

# Deployment names are folder names in the store: the bundle ids' rule, which keeps them inside.
# A release folder: ``{update_id:06d}-{bundle_id}``.
_RELEASE = re.compile(r"(\d+)-(.+)")

# Imports every DAG file of a bundle, each on its own, and reports the errors as JSON.
_IMPORT_PROBE = """
import json, runpy, sys, traceback
errors = {}
for path in sys.argv[1:]:
    try:
        runpy.run_path(path)
    except BaseException as exc:
        errors[path] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
print(json.dumps(errors))
"""
# Which of the pinned distributions the target's Python has, and at which version.
_REQUIREMENTS_PROBE = """
import json, sys
from importlib import metadata
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        found[name] = None
print(json.dumps(found))
"""


@dataclass(frozen=True)
class DeploymentStatus:
    name: str
    active_bundle_id: str | None
    settings: dict[str, Any]
    out_of_sync: bool
    history: list[dict[str, Any]]


def default_store() -> Path:
    """The bundle store: ``MES_BUNDLE_STORE``, else ``$MES_HOME/bundles``."""
    return current().bundle_store


def check_deployment_name(name: str) -> str:
    """``name`` if it is a valid deployment name (``prod``); BundleError otherwise."""
    return check_name(name, "deployment name", "prod")


def deployment_folder(store: Path, name: str) -> Path:
    """Where a deployment's releases and its ``active`` link live in the store."""
    return Path(store) / "deployments" / check_deployment_name(name)


def settings_digest(settings: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


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
        missing = _unmet_requirements(manifest.requirements, python)
        if missing:
            raise BundleError(
                f"bundle {bundle_id} needs packages the target does not have: "
                + "; ".join(missing)
                + ". Install its requirements.txt on the target first"
            )
        release = self.deployment_dir(name) / "releases" / f"{update_id:06d}-{bundle_id}"
        extract_bundle(archive, release)
        errors = _dag_import_errors(release, python)
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
        """Make the record say what the ``active`` link serves; call with the lock held.

        Holding the lock, no update of the deployment is running: a "running" row belongs to a
        process that died. The one whose release the link points at switched the link before it
        died, so it succeeded in fact; the others never took effect. Which settings a completed
        update applied is not known, so the applied-settings digest stays the last recorded one
        (the deployment reads out of sync rather than in sync by guess).
        """
        served = _served_release(self.active_path(name))
        now = datetime.now(UTC)
        with self._transaction() as conn:
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
        self._remove_leftovers(name)

    def _remove_leftovers(self, name: str) -> None:
        """Remove what no update will use: releases of failed or interrupted updates (never the
        one the link points at), half-extracted folders and temporary links; call with the lock
        held. A release whose update is not in the history is left alone."""
        folder = self.deployment_dir(name)
        for link in folder.glob(".active.*"):
            if link.is_symlink():
                link.unlink(missing_ok=True)
        releases = folder / "releases"
        if not releases.is_dir():
            return
        served = _served_release(self.active_path(name))
        with self._transaction() as conn:
            never_active = {
                f"{update_id:06d}-{bundle_id}"
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

    @contextlib.contextmanager
    def _lock(self, name: str, *, wait: bool = True) -> Iterator[bool]:
        """Serialise the updates of one deployment (the lock dies with a killed process).

        Yields whether the lock is held: with ``wait=False`` it is not when an update holds it.
        """
        path = self.deployment_dir(name) / ".update.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("a")
        except OSError as exc:
            if not wait:
                yield False
                return
            raise BundleError(
                f"cannot lock deployment {name} at {path} ({exc.strerror}): updating needs a "
                "bundle store this process may write to"
            ) from exc
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held = False
            else:
                held = True
            try:
                yield held
            finally:
                if held:
                    fcntl.flock(handle, fcntl.LOCK_UN)


class _Served(NamedTuple):
    """What a deployment's ``active`` link points at."""

    folder: str | None  # None: there is no link, nothing is served
    update_id: int | None = None
    bundle_id: str | None = None

    @property
    def known(self) -> bool:
        """Whether the bundle served is known: none, or a release folder of the deployer."""
        return self.folder is None or self.update_id is not None


def _served_release(link: Path) -> _Served:
    try:
        folder = Path(os.readlink(link)).name
    except FileNotFoundError:
        return _Served(None)
    except OSError:  # not a link: something other than the deployer put it there
        return _Served(link.name)
    match = _RELEASE.fullmatch(folder)
    return _Served(folder, int(match[1]), match[2]) if match else _Served(folder)


def _switch_link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` in one rename: readers see the old folder or the new one."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, link)


def _run_probe(python: str, probe: str, args: list[str], env: dict[str, str] | None = None) -> Any:
    done = subprocess.run(
        [python, "-c", probe, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise BundleError(f"the target's Python {python} failed: {done.stderr[-1000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _unmet_requirements(requirements: tuple[str, ...], python: str) -> list[str]:
    """Pins (``name==version``, read by ``read_pins``) the target's Python does not satisfy
    (PEP 440 equality), said plainly with the canonical name."""
    pins = {pin.name: pin for pin in read_pins("\n".join(requirements))}
    if not pins:
        return []
    installed = _run_probe(python, _REQUIREMENTS_PROBE, list(pins))
    return [
        f"{pin} (installed: {installed.get(name) or 'none'})"
        for name, pin in pins.items()
        if not pin.satisfied_by(installed.get(name))
    ]


def _dag_import_errors(release: Path, python: str) -> dict[str, str]:
    """Import each DAG file of the release in a separate process, as the target would.

    The process gets an Airflow of its own (a throwaway home, no inherited Airflow settings):
    a task that runs this (``bundle_release``) lives in a worker whose settings forbid
    database access, and the import must not depend on where it is checked from.
    """
    files = sorted(str(p) for p in (release / "dags").glob("*.py"))
    if not files:
        return {}
    with tempfile.TemporaryDirectory(prefix="bundle-import-") as home:
        env = {k: v for k, v in os.environ.items() if "AIRFLOW" not in k.upper()}
        env.update(
            {
                "AIRFLOW_HOME": home,
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
                "PYTHONPATH": os.pathsep.join([str(release), str(release / "plugins")]),
            }
        )
        return _run_probe(python, _IMPORT_PROBE, files, env=env)
