"""The prod deployment's DAG bundle: the deployer's active bundle, versioned by its bundle id.

Airflow 3 loads DAGs from DAG bundles. This one serves ``<deployment dir>/active`` (the link the
deployer switches in one rename on each update) and reports the active bundle's id (``v3``) as
the bundle version, so every DAG run records which bundle it ran, and a task of a run started
under ``v2`` still runs ``v2``'s code after ``v3`` is activated (its release folder is kept).

Configure it in ``[dag_processor] dag_bundle_config_list``::

    [{"name": "prod", "classpath": "mes_dag_bundle.ActiveReleaseBundle",
      "kwargs": {"deployment_dir": "/srv/bundles/deployments/prod"}}]

It subclasses ``BaseDagBundle``, the extension point Airflow documents for DAG bundles (the git
provider's bundle does the same); Airflow offers it from no other module.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from airflow.dag_processing.bundles.base import BaseDagBundle


class ActiveReleaseBundle(BaseDagBundle):
    """DAGs of the deployment's active bundle (or, for a task, of the bundle its run recorded)."""

    supports_versioning = True

    def __init__(self, *, deployment_dir: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.deployment_dir = Path(deployment_dir)

    def _release(self) -> Path:
        if not self.version:
            return (self.deployment_dir / "active").resolve()
        # Release folders are "<update id>-<bundle id>": match the id whole, so v1 does not
        # find 000003-rc-v1.
        releases = sorted(
            path
            for path in (self.deployment_dir / "releases").glob(f"*-{self.version}")
            if re.fullmatch(rf"\d+-{re.escape(self.version)}", path.name)
        )
        if not releases:
            raise FileNotFoundError(
                f"bundle {self.version} is not among the releases of {self.deployment_dir}"
            )
        return releases[-1]

    @property
    def path(self) -> Path:
        return self._release() / "dags"

    def get_current_version(self) -> str:
        """The active bundle's id; ``""`` while none is active. Not None: Airflow's dag-processor
        reads None as "version unknown" and would never notice the first bundle arrive."""
        manifest = self._release() / "manifest.json"
        if not manifest.exists():
            return ""
        return json.loads(manifest.read_text())["bundle_id"]

    def initialize(self) -> None:
        """Put the release's own code (``include/``, ``plugins/``) first on ``sys.path``.

        A task imports the code of the bundle its run recorded, and a process started before the
        first bundle was active (when ``PYTHONPATH``'s ``active`` did not exist yet) still finds
        it. Called by the dag-processor and by every task before the bundle is used.
        """
        release = self._release()
        for folder in (release / "plugins", release):
            entry = str(folder)
            if entry in sys.path:
                sys.path.remove(entry)
            sys.path.insert(0, entry)
        super().initialize()

    def refresh(self) -> None:
        """Nothing to fetch: the deployer switches the ``active`` link itself."""
