"""Command line for the deployer: ``python -m include.bundles.cli COMMAND``.

Commands: ``bundles``, ``publish``, ``deployments``, ``history``, ``configure``, ``update``,
``rollback``. Each works on the deployer database (``--database``, else ``DEPLOYER_DATABASE_URL``,
else a SQLite file under ``$MES_HOME``) and the bundle store (``--store``, else
``MES_BUNDLE_STORE``, else ``$MES_HOME/bundles``), as :meth:`Deployer.open` does.

A bundle is named by its id, which is its version (``v3``); ``update`` and ``rollback --to`` also
take ``3`` for ``v3`` and ``latest`` for the newest published bundle. ``rollback`` without
``--to`` goes back to the bundle the last successful update replaced (so a second rollback undoes
the first).

Exit codes: 0 done; 1 the update or rollback was tried and failed (the previous bundle stays
active, the failure is in the history); 2 bad input or configuration (unknown deployment, unknown
or corrupt bundle, unreachable database), said in one line, with nothing changed. Times are
UTC, to the second.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.errors import MonitoringError
from include.files import size_text
from include.settings import current

if TYPE_CHECKING:
    from include.bundles.deployer import Deployer, DeploymentStatus

# SQLAlchemy and the deployer are imported once the command line is read, so that --help and a
# usage error answer at once.
DEFERRED_LIBRARIES = ("sqlalchemy", "include.bundles.deployer")
LATEST = "latest"


class UsageError(MonitoringError):
    """What was asked cannot be done as asked: nothing was tried, nothing changed."""


class UpdateFailedError(MonitoringError):
    """An update (or rollback) was tried and failed; the previous bundle stays active."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        current()  # a bad MES_* variable is a configuration error, before anything runs
        from include.bundles.deployer import Deployer

        with Deployer.open(args.database, args.store) as deployer:
            args.run(deployer, args)
    except UpdateFailedError as exc:
        _error(exc)
        return 1
    except (MonitoringError, OSError) as exc:
        _error(exc)
        return 2
    return 0


def _error(exc: BaseException) -> None:
    """One line on stderr: a probe's output inside a message may span several."""
    print("error: " + " ".join(str(exc).split()), file=sys.stderr)


# -- commands -------------------------------------------------------------------------------------


def _bundles(deployer: Deployer, _args: argparse.Namespace) -> None:
    """Published bundles, oldest first; created and size are read from the archive in the store."""
    from include.bundles.archive import read_manifest

    active_in: dict[str, list[str]] = {}
    for name, status in _statuses(deployer):
        if status is not None and status.active_bundle_id:
            active_in.setdefault(status.active_bundle_id, []).append(name)
    rows = []
    for bundle in deployer.published():
        archive = deployer.archive_path(bundle["bundle_id"])
        if not archive.is_file():
            created, size = "-", "missing"
        else:
            try:
                manifest = read_manifest(archive)
                created, size = _iso_time(manifest.created_at), size_text(archive.stat().st_size)
            except MonitoringError:
                created, size = "-", "corrupt"
        rows.append(
            [
                bundle["bundle_id"],
                created,
                _time(bundle["published_at"]),
                size,
                ", ".join(active_in.get(bundle["bundle_id"], [])) or "-",
                bundle["release_notes"].splitlines()[0] if bundle["release_notes"] else "",
            ]
        )
    if not rows:
        print(f"no bundles published to {deployer.store}")
        return
    _table(["BUNDLE", "CREATED", "PUBLISHED", "SIZE", "ACTIVE IN", "RELEASE NOTES"], rows)


def _publish(deployer: Deployer, args: argparse.Namespace) -> None:
    archive = Path(args.archive)
    if not archive.is_file():
        raise UsageError(f"no bundle archive at {archive}: give the path of a <id>.tar.gz")
    manifest = deployer.publish(archive)
    print(f"published {manifest.bundle_id} to {deployer.store}")


def _deployments(deployer: Deployer, _args: argparse.Namespace) -> None:
    """Each deployment: its active bundle, whether its settings changed since its last update,
    and its last update."""
    rows = []
    for name, status in _statuses(deployer):
        if status is None:
            rows.append([name, "-", "-", "invalid name: not usable by this deployer"])
            continue
        rows.append(
            [
                name,
                status.active_bundle_id or "-",
                "yes" if status.out_of_sync else "no",
                _last_update(status.history),
            ]
        )
    if not rows:
        print("no deployments: create one with 'configure NAME'")
        return
    _table(["DEPLOYMENT", "ACTIVE", "OUT OF SYNC", "LAST UPDATE"], rows)


def _history(deployer: Deployer, args: argparse.Namespace) -> None:
    status = _status(deployer, args.deployment)
    _print_status(status)
    if not status.history:
        print("no updates yet")
        return
    _table(
        ["#", "REQUESTED", "FINISHED", "FROM", "TO", "OUTCOME", "BY", "MESSAGE"],
        [
            [
                str(u["update_id"]),
                _time(u["requested_at"]),
                _time(u["finished_at"]),
                u["from_bundle_id"] or "-",
                u["to_bundle_id"],
                u["outcome"],
                u["requested_by"],
                u["message"],
            ]
            for u in status.history
        ],
    )


def _configure(deployer: Deployer, args: argparse.Namespace) -> None:
    """Create the deployment, or change its settings: given pairs are set on the current ones
    (``--reset`` starts from none)."""
    from include.bundles.deployer import check_deployment_name

    name = check_deployment_name(args.deployment)
    try:
        current = deployer.status(name).settings
    except MonitoringError:
        current = {}
    settings: dict[str, Any] = {} if args.reset else copy.deepcopy(current)
    for key, pairs in (("variables", args.variable), ("connections", args.connection)):
        if pairs:
            settings.setdefault(key, {}).update(pairs)
    deployer.configure(name, settings)
    _print_status(deployer.status(name))


def _update(deployer: Deployer, args: argparse.Namespace) -> None:
    status = _status(deployer, args.deployment)
    bundle_id = _published_id(deployer, args.bundle)
    _run_update(deployer, status.name, bundle_id, rollback=False)


def _rollback(deployer: Deployer, args: argparse.Namespace) -> None:
    status = _status(deployer, args.deployment)
    if args.to is not None:
        bundle_id = _published_id(deployer, args.to)
    else:
        bundle_id = _previous_bundle(status)
    _run_update(deployer, status.name, bundle_id, rollback=True)


# -- helpers --------------------------------------------------------------------------------------


def _run_update(deployer: Deployer, name: str, bundle_id: str, *, rollback: bool) -> None:
    what = "rollback" if rollback else "update"
    try:
        status = (deployer.rollback if rollback else deployer.update)(name, bundle_id)
    except MonitoringError as exc:
        active = deployer.status(name).active_bundle_id or "none"
        raise UpdateFailedError(
            f"{what} of {name} to {bundle_id} failed, {active} stays active: {exc}"
        ) from None
    print(f"{what} of {name} to {bundle_id}: done")
    _print_status(status)


def _status(deployer: Deployer, name: str) -> DeploymentStatus:
    """The deployment's status; UsageError naming the known ones if there is none."""
    from include.bundles.deployer import check_deployment_name

    check_deployment_name(name)
    try:
        return deployer.status(name)
    except MonitoringError as exc:
        known = ", ".join(_names(deployer)) or "none"
        raise UsageError(f"{exc} (deployments: {known})") from None


def _published_id(deployer: Deployer, asked: str) -> str:
    """The published bundle ``asked`` names: its id, ``3`` for ``v3``, or ``latest``."""
    published = [b["bundle_id"] for b in deployer.published()]
    if asked == LATEST and published:
        return published[-1]
    if asked in published:
        return asked
    if asked.isdigit() and f"v{asked}" in published:
        return f"v{asked}"
    raise UsageError(
        f"bundle {asked!r} is not published (published: {', '.join(published) or 'none'}): "
        "publish it first"
    )


def _previous_bundle(status: DeploymentStatus) -> str:
    """The bundle the last successful update replaced."""
    done = [u for u in status.history if u["outcome"] == "success"]
    if not done or not done[-1]["from_bundle_id"]:
        raise UsageError(
            f"deployment {status.name} has no earlier bundle to roll back to: name one with --to"
        )
    return done[-1]["from_bundle_id"]


def _names(deployer: Deployer) -> list[str]:
    return deployer.deployments()


def _statuses(deployer: Deployer) -> list[tuple[str, DeploymentStatus | None]]:
    """Every deployment's status; None for a name recorded before names were checked."""
    result: list[tuple[str, DeploymentStatus | None]] = []
    for name in _names(deployer):
        try:
            result.append((name, deployer.status(name)))
        except MonitoringError:
            result.append((name, None))
    return result


def _print_status(status: DeploymentStatus) -> None:
    settings = json.dumps(status.settings, sort_keys=True)
    print(
        f"deployment {status.name}: active {status.active_bundle_id or 'none'}; "
        f"{'OUT OF SYNC' if status.out_of_sync else 'in sync'}; settings {settings}"
    )


def _last_update(history: list[dict[str, Any]]) -> str:
    if not history:
        return "-"
    last = history[-1]
    return f"{_time(last['requested_at'])} -> {last['to_bundle_id']} {last['outcome']}"


def _time(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _iso_time(text: str) -> str:
    try:
        return _time(datetime.fromisoformat(text).astimezone(UTC))
    except ValueError:
        return text


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return key, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m include.bundles.cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database", help="deployer database URL (default: DEPLOYER_DATABASE_URL)")
    parser.add_argument("--store", type=Path, help="bundle store (default: MES_BUNDLE_STORE)")
    commands = parser.add_subparsers(required=True, metavar="command")

    def add(name: str, run, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    add("bundles", _bundles, "list the published bundles: id, created, published, size, active in")
    add("publish", _publish, "publish a bundle archive to the store").add_argument("archive")
    add(
        "deployments", _deployments, "list the deployments: active bundle, out of sync, last update"
    )
    add("history", _history, "a deployment's status and its updates").add_argument("deployment")
    configure = add("configure", _configure, "create a deployment or change its settings")
    configure.add_argument("deployment")
    configure.add_argument(
        "--variable", type=_pair, action="append", metavar="NAME=VALUE", help="an Airflow variable"
    )
    configure.add_argument(
        "--connection", type=_pair, action="append", metavar="ID=TARGET", help="a connection remap"
    )
    configure.add_argument("--reset", action="store_true", help="start from no settings")
    update = add("update", _update, "activate a published bundle; exit 1 if the update fails")
    update.add_argument("deployment")
    update.add_argument("bundle", help="bundle id or version: v3, 3 or latest")
    rollback = add("rollback", _rollback, "go back to an earlier bundle; exit 1 if it fails")
    rollback.add_argument("deployment")
    rollback.add_argument("--to", help="the bundle (default: the one the last update replaced)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
