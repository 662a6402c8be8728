"""ActiveReleaseBundle finds the release of the exact bundle a run recorded."""

from __future__ import annotations

from mes_dag_bundle import ActiveReleaseBundle


def test_a_version_finds_its_own_release_not_one_whose_id_ends_the_same(tmp_path) -> None:
    releases = tmp_path / "releases"
    for name in ("000001-v1", "000003-rc-v1", "000004-v2"):
        (releases / name / "dags").mkdir(parents=True)

    bundle = ActiveReleaseBundle(name="prod", deployment_dir=str(tmp_path), version="v1")

    assert bundle.path == releases / "000001-v1" / "dags"
