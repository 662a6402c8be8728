"""Tiny bundles for the tests of what shows the deployer: a DAG file that only sets a constant,
published in a few milliseconds (no model, no datasets, no requirements)."""

from __future__ import annotations

from pathlib import Path

from include.bundles.archive import create_bundle
from include.bundles.deployer import Deployer


def publish_tiny_bundle(
    deployer: Deployer, folder: Path, bundle_id: str, dag: str, *, extra: str | None = None
) -> None:
    """Create bundle ``bundle_id`` under ``folder`` (its DAG file ``dags/monitor.py`` holds
    ``dag``; ``extra`` names one more file under ``include/``) and publish it."""
    source = folder / f"src-{bundle_id}"
    for sub in ("dags", "plugins", "include"):
        (source / sub).mkdir(parents=True)
    (source / "dags" / "monitor.py").write_text(dag)
    (source / "include" / "__init__.py").write_text("")
    if extra:
        (source / "include" / extra).write_text("VALUE = 2\n")
    (source / "requirements.txt").write_text("")
    archive = create_bundle(
        bundle_id,
        out_dir=folder / "out",
        source=source,
        release_notes=f"release {bundle_id} <b>bold</b>",
    )
    deployer.publish(archive)
