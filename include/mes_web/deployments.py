"""The Deployments page of the MES web app: what the deployer holds, read-only.

Shapes what :class:`~include.bundles.deployer.Deployer` records into what the page and its JSON
show: the published bundles (id, created, source revision, size, where each is active), each
deployment with its active bundle, whether it is out of sync (it does not run the newest published
bundle, or its settings changed since its last update) and what differs, and its history of
updates and rollbacks. Updating and rolling back stay in the deployer's command line
(``python -m include.bundles.cli``) and the ``bundle_release`` DAG: nothing here writes, beyond
what opening the deployer itself does (creating its tables, reconciling a killed update).

The deployer is found as the command line finds it (``Deployer.open``: ``DEPLOYER_DATABASE_URL``,
else the SQLite file under ``$MES_HOME``; the bundle store ``MES_BUNDLE_STORE``), except that a
missing SQLite file means "no deployer here" (:class:`NoDeployerError`) instead of an empty one
created by looking.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from include.bundles.archive import BundleDiff, Manifest, compare, read_manifest
from include.bundles.deployer import Deployer, DeploymentStatus
from include.errors import MonitoringError
from include.files import size_text
from include.paths import mes_home
from include.settings import current
from include.templating import render

CLI = "python -m include.bundles.cli"
# How the deployer records who asked for a rollback (``Deployer.rollback``).
_ROLLBACK_PREFIX = "rollback by "


class NoDeployerError(MonitoringError):
    """No deployer database is configured on this machine."""


def open_deployer(url: str | None = None) -> Deployer:
    """The deployer at ``url``, else where ``Deployer.open`` finds it; NoDeployerError when that
    would be the default SQLite file and it does not exist (no bundle was ever published here)."""
    default = mes_home() / "deployer.sqlite"
    if not (url or current().deployer_database_url or default.is_file()):
        raise NoDeployerError(
            f"No deployer database is configured here: no connection deployer_db, no "
            f"DEPLOYER_DATABASE_URL, and no deployer file at {default}. Publish a bundle "
            f"({CLI} publish, or the bundle_release DAG) or point DEPLOYER_DATABASE_URL at the "
            "deployer's database, then reload this page."
        )
    return Deployer.open(url)


@dataclass(frozen=True)
class PublishedBundle:
    """A published bundle; ``problem`` says why its archive could not be read (then created,
    source revision, size and files are unknown)."""

    bundle_id: str
    published_at: datetime
    release_notes: str
    created_at: datetime | None
    source_revision: str | None
    size: int | None
    files: int | None
    active_in: tuple[str, ...]
    problem: str | None = None


@dataclass(frozen=True)
class Update:
    """One update of a deployment, as the history records it (a rollback is an update)."""

    update_id: int
    requested_at: datetime
    finished_at: datetime | None
    from_bundle_id: str | None
    to_bundle_id: str
    outcome: str
    requested_by: str
    message: str

    @property
    def kind(self) -> str:
        return "rollback" if self.requested_by.startswith(_ROLLBACK_PREFIX) else "update"

    @property
    def by(self) -> str:
        """Who asked: the deployer records a rollback as ``rollback by <who>``."""
        return self.requested_by.removeprefix(_ROLLBACK_PREFIX)


@dataclass(frozen=True)
class Deployment:
    """A deployment as served; ``problem`` is set for a name the deployer cannot use."""

    name: str
    active_bundle_id: str | None
    newest_bundle_id: str | None
    settings: dict[str, Any]
    settings_changed: bool
    difference: BundleDiff | None  # active -> newest, when both archives could be read
    history: tuple[Update, ...]
    problem: str | None = None

    @property
    def behind(self) -> bool:
        """Whether a newer bundle than the active one is published."""
        return self.newest_bundle_id is not None and self.active_bundle_id != self.newest_bundle_id

    @property
    def out_of_sync(self) -> bool:
        return self.problem is None and (self.behind or self.settings_changed)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the deployment is out of sync, in words."""
        reasons = []
        if self.behind:
            active = self.active_bundle_id or "no bundle"
            reasons.append(f"runs {active}; the newest published bundle is {self.newest_bundle_id}")
        if self.settings_changed:
            reasons.append(
                "its settings changed since its last update"
                if self.history
                else "it has never been updated"
            )
        return tuple(reasons)


@dataclass(frozen=True)
class DeployerOverview:
    """Everything the page shows, read at once."""

    where: str
    store: Path
    bundles: tuple[PublishedBundle, ...]
    deployments: tuple[Deployment, ...]

    @property
    def newest_bundle_id(self) -> str | None:
        return self.bundles[-1].bundle_id if self.bundles else None


def read_overview(deployer: Deployer) -> DeployerOverview:
    """The published bundles (oldest first) and every deployment with its history."""
    statuses: list[tuple[str, DeploymentStatus | None]] = []
    for name in deployer.deployments():
        try:
            statuses.append((name, deployer.status(name)))
        except MonitoringError:  # a name recorded before names were checked
            statuses.append((name, None))
    active_in: dict[str, list[str]] = {}
    for name, status in statuses:
        if status is not None and status.active_bundle_id:
            active_in.setdefault(status.active_bundle_id, []).append(name)

    manifests: dict[str, Manifest] = {}
    bundles = []
    for row in deployer.published():
        bundle_id = row["bundle_id"]
        bundle = PublishedBundle(
            bundle_id=bundle_id,
            published_at=_utc(row["published_at"]),
            release_notes=row["release_notes"],
            created_at=None,
            source_revision=None,
            size=None,
            files=None,
            active_in=tuple(active_in.get(bundle_id, ())),
        )
        archive = deployer.archive_path(bundle_id)
        if not archive.is_file():
            bundles.append(replace(bundle, problem="its archive is missing from the bundle store"))
            continue
        try:
            manifest = read_manifest(archive)
            size = archive.stat().st_size
        except (MonitoringError, OSError) as exc:
            bundle = replace(bundle, problem=f"its archive cannot be read: {exc}")
        else:
            manifests[bundle_id] = manifest
            bundle = replace(
                bundle,
                created_at=_parse_time(manifest.created_at),
                source_revision=manifest.source_revision,
                size=size,
                files=len(manifest.files),
            )
        bundles.append(bundle)

    newest = bundles[-1].bundle_id if bundles else None
    deployments = tuple(_deployment(name, status, newest, manifests) for name, status in statuses)
    return DeployerOverview(deployer.description, deployer.store, tuple(bundles), deployments)


def _deployment(
    name: str, status: DeploymentStatus | None, newest: str | None, manifests: dict[str, Manifest]
) -> Deployment:
    if status is None:
        return Deployment(
            name, None, newest, {}, False, None, (), problem="invalid name: not usable"
        )
    difference = None
    active = status.active_bundle_id
    if active and newest and active != newest and active in manifests and newest in manifests:
        difference = compare(manifests[active], manifests[newest])
    history = tuple(
        Update(
            update_id=u["update_id"],
            requested_at=_utc(u["requested_at"]),
            finished_at=_utc(u["finished_at"]),
            from_bundle_id=u["from_bundle_id"],
            to_bundle_id=u["to_bundle_id"],
            outcome=u["outcome"],
            requested_by=u["requested_by"],
            message=u["message"],
        )
        for u in status.history
    )
    return Deployment(
        name=name,
        active_bundle_id=active,
        newest_bundle_id=newest,
        settings=status.settings,
        settings_changed=status.out_of_sync,
        difference=difference,
        history=history,
    )


# -- output ---------------------------------------------------------------------------------------


def overview_json(overview: DeployerOverview) -> dict[str, Any]:
    """The overview as JSON (times in ISO 8601, UTC; the history oldest first)."""
    return {
        "configured": True,
        "deployer": overview.where,
        "bundle_store": str(overview.store),
        "newest_bundle_id": overview.newest_bundle_id,
        "bundles": [
            {
                "bundle_id": b.bundle_id,
                "created_at": _iso(b.created_at),
                "published_at": _iso(b.published_at),
                "source_revision": b.source_revision,
                "size": b.size,
                "files": b.files,
                "release_notes": b.release_notes,
                "active_in": list(b.active_in),
                "problem": b.problem,
            }
            for b in overview.bundles
        ],
        "deployments": [_deployment_json(d) for d in overview.deployments],
    }


def _deployment_json(deployment: Deployment) -> dict[str, Any]:
    diff = deployment.difference
    return {
        "name": deployment.name,
        "active_bundle_id": deployment.active_bundle_id,
        "newest_bundle_id": deployment.newest_bundle_id,
        "out_of_sync": deployment.out_of_sync,
        "behind_newest": deployment.behind,
        "settings_changed": deployment.settings_changed,
        "reasons": list(deployment.reasons),
        "difference": None
        if diff is None
        else {
            "from_bundle_id": diff.previous_id,
            "added": list(diff.added),
            "removed": list(diff.removed),
            "changed": list(diff.changed),
            "requirements_changed": list(diff.requirements_changed),
        },
        "settings": deployment.settings,
        "problem": deployment.problem,
        "history": [
            {
                "update_id": u.update_id,
                "kind": u.kind,
                "requested_by": u.requested_by,
                "requested_at": _iso(u.requested_at),
                "finished_at": _iso(u.finished_at),
                "from_bundle_id": u.from_bundle_id,
                "to_bundle_id": u.to_bundle_id,
                "outcome": u.outcome,
                "message": u.message,
            }
            for u in deployment.history
        ],
    }


def no_deployer_json(message: str) -> dict[str, Any]:
    """What ``/api/deployments`` answers when there is no deployer: the same keys, empty."""
    return {"configured": False, "detail": message, "bundles": [], "deployments": []}


def deployments_page(overview: DeployerOverview) -> str:
    return _render(overview=overview, title="Deployments", message=None)


def message_page(title: str, message: str) -> str:
    """The page in place of the overview: no deployer here, or it cannot be read."""
    return _render(overview=None, title=title, message=message)


def _render(**context: Any) -> str:
    return render(
        "deployments/page.html", wide=True, cli=CLI, when=_display_time, size=size_text, **context
    )


def _utc(value: datetime | None) -> Any:
    """The deployer's times are UTC; SQLite gives them back without their zone."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _parse_time(text: str) -> datetime | None:
    try:
        return _utc(datetime.fromisoformat(text)).astimezone(UTC)
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _display_time(value: datetime | None) -> str:
    return "-" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
