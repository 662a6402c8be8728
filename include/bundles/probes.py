"""What an update asks the target's Python before activating a bundle, each in a separate process.

- ``unmet_requirements``: the bundle's pins the target's Python does not satisfy.
- ``dag_import_errors``: the DAG files of a release that do not import, as the target would
  import them.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from include.bundles.pins import read_pins
from include.errors import BundleError

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


def unmet_requirements(requirements: tuple[str, ...], python: str) -> list[str]:
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


def dag_import_errors(release: Path, python: str) -> dict[str, str]:
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
