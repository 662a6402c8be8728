"""The developer tooling in ``deploy/`` stays out of what bundles carry (issue 15): a bundle of the
repository holds ``dags/``, ``plugins/`` and ``include/`` and none of the demo, stack or servers."""

from __future__ import annotations

from include.bundles.archive import SOURCE_FOLDERS, create_bundle, read_manifest
from include.paths import REPO_ROOT


def test_a_bundle_of_the_repository_carries_no_deploy_tooling(tmp_path) -> None:
    archive = create_bundle("v1", source=REPO_ROOT, out_dir=tmp_path)
    paths = [entry.path for entry in read_manifest(archive).files]

    assert (REPO_ROOT / "deploy" / "stack.py").is_file()
    assert "deploy" not in SOURCE_FOLDERS
    assert not [path for path in paths if path.startswith(("deploy/", "include/deployment/"))]
    assert "include/bundles/archive.py" in paths  # the product itself is bundled
