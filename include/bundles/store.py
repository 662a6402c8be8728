"""The bundle store's layout: where deployments live, what their ``active`` link serves, and
the lock that serialises their updates.

A deployment ``prod`` lives in ``<store>/deployments/prod``: its releases (``releases/<update
id>-<bundle id>``), the ``active`` link to the one it serves, and ``.update.lock``. The lock is a
kernel file lock (``filelock``), so it dies with a killed process: holding it means no update of
the deployment is running.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from filelock import FileLock, Timeout

from include.bundles.manifest import check_name
from include.errors import BundleError
from include.settings import current

LOCK_FILE = ".update.lock"

# A release folder: ``{update_id:06d}-{bundle_id}``.
_RELEASE = re.compile(r"(\d+)-(.+)")


def default_store() -> Path:
    """The bundle store: ``MES_BUNDLE_STORE``, else ``$MES_HOME/bundles``."""
    return current().bundle_store


def check_deployment_name(name: str) -> str:
    """``name`` if it is a valid deployment name (``prod``); BundleError otherwise."""
    # Deployment names are folder names in the store: the bundle ids' rule keeps them inside.
    return check_name(name, "deployment name", "prod")


def deployment_folder(store: Path, name: str) -> Path:
    """Where a deployment's releases and its ``active`` link live in the store."""
    return Path(store) / "deployments" / check_deployment_name(name)


def settings_digest(settings: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


@contextlib.contextmanager
def deployment_lock(folder: Path, name: str, *, wait: bool = True) -> Iterator[bool]:
    """Serialise the updates of the deployment ``name`` whose folder is ``folder``.

    Yields whether the lock is held: with ``wait=False`` it is not when an update holds it, nor
    when the store cannot be locked from here (a read-only store). With ``wait=True`` it waits
    as long as the update holding it runs, and a store it cannot lock is a BundleError.
    """
    path = Path(folder) / LOCK_FILE
    lock = FileLock(path, timeout=-1 if wait else 0)
    try:
        lock.acquire()
    except Timeout:  # before OSError: filelock's Timeout is a TimeoutError
        yield False
        return
    except OSError as exc:
        if not wait:
            yield False
            return
        raise BundleError(
            f"cannot lock deployment {name} at {path} ({exc.strerror}): updating needs a "
            "bundle store this process may write to"
        ) from exc
    try:
        yield True
    finally:
        lock.release()


class Served(NamedTuple):
    """What a deployment's ``active`` link points at."""

    folder: str | None  # None: there is no link, nothing is served
    update_id: int | None = None
    bundle_id: str | None = None

    @property
    def known(self) -> bool:
        """Whether the bundle served is known: none, or a release folder of the deployer."""
        return self.folder is None or self.update_id is not None


def release_name(update_id: int, bundle_id: str) -> str:
    """The folder name of the release an update extracts."""
    return f"{update_id:06d}-{bundle_id}"


def served_release(link: Path) -> Served:
    """What the ``active`` link at ``link`` serves."""
    try:
        folder = Path(os.readlink(link)).name
    except FileNotFoundError:
        return Served(None)
    except OSError:  # not a link: something other than the deployer put it there
        return Served(link.name)
    match = _RELEASE.fullmatch(folder)
    return Served(folder, int(match[1]), match[2]) if match else Served(folder)
