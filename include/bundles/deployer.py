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
  one deployment are serialised by a lock file; each is in the history from its start, so an
  update killed half way shows as interrupted. **Rollback** is an update to an earlier bundle.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from include.bundles.archive import Manifest, extract_bundle, sha256_file, verify_bundle
from include.db import create_engine, transaction
from include.errors import BundleError
from include.files import write_atomically
from include.paths import mes_home

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
    return Path(os.environ.get("MES_BUNDLE_STORE") or mes_home() / "bundles")


def deployment_folder(store: Path, name: str) -> Path:
    """Where a deployment's releases and its ``active`` link live in the store."""
    return Path(store) / "deployments" / name


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
            or os.environ.get("DEPLOYER_DATABASE_URL")
            or (f"sqlite:///{mes_home() / 'deployer.sqlite'}")
        )
        engine, description = create_engine(url, SCHEMA, what="deployer database")
        deployer = cls(engine, description, Path(store or default_store()))
        with deployer._transaction() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
            metadata.create_all(conn)
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
        return self.store / "published" / f"{bundle_id}.tar.gz"

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

    def deployment_dir(self, name: str) -> Path:
        return deployment_folder(self.store, name)

    def active_path(self, name: str) -> Path:
        """The folder the deployment serves: a link switched in one rename by each update."""
        return self.deployment_dir(name) / "active"

    def configure(self, name: str, settings: Mapping[str, Any]) -> None:
        """Create the deployment, or change its settings (it is then out of sync)."""
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
        if history and history[-1]["outcome"] == RUNNING and not self._locked(name):
            history[-1]["outcome"] = INTERRUPTED
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
        with self._lock(name):
            current = self.status(name)
            update_id = self._start(name, bundle_id, current.active_bundle_id, requested_by)
            try:
                release = self._prepare_release(name, bundle_id, update_id, python)
                _switch_link(self.active_path(name), release)
            except BaseException as exc:
                self._finish(update_id, FAILED, str(exc))
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

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        """Serialise the updates of one deployment (the lock dies with a killed process)."""
        path = self.deployment_dir(name) / ".update.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _locked(self, name: str) -> bool:
        path = self.deployment_dir(name) / ".update.lock"
        if not path.exists():
            return False
        with path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False


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
    """Pins (``name==version``) the target's Python does not satisfy, said plainly."""
    pins = {}
    for line in requirements:
        name, _, version = line.partition("==")
        if version:
            pins[name.strip()] = version.strip()
    if not pins:
        return []
    installed = _run_probe(python, _REQUIREMENTS_PROBE, list(pins))
    return [
        f"{name}=={wanted} (installed: {installed.get(name) or 'none'})"
        for name, wanted in pins.items()
        if installed.get(name) != wanted
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
