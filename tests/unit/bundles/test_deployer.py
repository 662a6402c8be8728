"""include/bundles/deployer without a bundle: names, folders, settings and failed updates.

Publishing, updating and rolling back real bundles are tested in tests/integration/test_deployer.py,
tests/faults/test_deployer_faults.py and, through the command line, test_deploy_cli.py; these
tests cover the deployer's own rules on an SQLite database, each in a few milliseconds.
"""

from __future__ import annotations

import pytest

from include.bundles.deployer import (
    FAILED,
    Deployer,
    check_deployment_name,
    default_store,
    deployment_folder,
    settings_digest,
)
from include.errors import BundleError


@pytest.fixture
def deployer(tmp_path):
    opened = Deployer.open(f"sqlite:///{tmp_path / 'deployer.sqlite'}", tmp_path / "store")
    yield opened
    opened.close()


def test_the_bundle_store_is_the_environment_setting_else_under_mes_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MES_BUNDLE_STORE", str(tmp_path / "bundles_here"))
    assert default_store() == tmp_path / "bundles_here"
    monkeypatch.delenv("MES_BUNDLE_STORE")
    monkeypatch.setenv("MES_HOME", str(tmp_path))
    assert default_store() == tmp_path / "bundles"


def test_open_without_arguments_uses_mes_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MES_HOME", str(tmp_path))
    monkeypatch.delenv("MES_BUNDLE_STORE", raising=False)
    monkeypatch.delenv("DEPLOYER_DATABASE_URL", raising=False)
    with Deployer.open() as opened:
        assert opened.description == f"SQLite file {tmp_path / 'deployer.sqlite'}"
        assert opened.store == tmp_path / "bundles"


@pytest.mark.parametrize("name", ["prod", "staging-2", "a.b_c", "x" * 64])
def test_valid_deployment_names(name):
    assert check_deployment_name(name) == name


@pytest.mark.parametrize("name", ["", "..", "../prod", "a/b", "-prod", "x" * 65, None])
def test_names_that_could_leave_the_store_are_refused(name):
    with pytest.raises(BundleError, match="invalid deployment name"):
        check_deployment_name(name)


def test_a_deployment_lives_in_its_folder_of_the_store(tmp_path, deployer):
    assert deployment_folder(tmp_path, "prod") == tmp_path / "deployments" / "prod"
    assert deployer.active_path("prod") == tmp_path / "store" / "deployments" / "prod" / "active"
    with pytest.raises(BundleError):
        deployment_folder(tmp_path, "../prod")


def test_the_settings_digest_ignores_key_order_and_sees_values():
    a = settings_digest({"x": 1, "y": {"b": 2, "a": 1}})
    assert a == settings_digest({"y": {"a": 1, "b": 2}, "x": 1})
    assert a != settings_digest({"x": 2, "y": {"b": 2, "a": 1}})
    assert len(a) == 64


def test_archives_are_named_by_bundle_id(deployer, tmp_path):
    assert deployer.archive_path("2024.1") == tmp_path / "store" / "published" / "2024.1.tar.gz"
    with pytest.raises(BundleError, match="invalid bundle id"):
        deployer.archive_path("../x")


def test_a_new_deployer_has_nothing_published(deployer):
    assert deployer.published() == []


def test_a_configured_deployment_serves_nothing_and_is_out_of_sync(deployer):
    deployer.configure("prod", {"variables": {"mes_store": "prod_MES"}})
    status = deployer.status("prod")
    assert status.name == "prod"
    assert status.active_bundle_id is None
    assert status.settings == {"variables": {"mes_store": "prod_MES"}}
    assert status.out_of_sync is True
    assert status.history == []


def test_configuring_again_replaces_the_settings(deployer):
    deployer.configure("prod", {"a": 1})
    deployer.configure("prod", {"b": 2})
    assert deployer.status("prod").settings == {"b": 2}


def test_the_status_of_an_unknown_deployment_says_to_configure_it(deployer):
    with pytest.raises(BundleError, match="no deployment named 'qa': configure it first"):
        deployer.status("qa")


def test_a_deployment_with_an_invalid_name_is_not_configured(deployer):
    with pytest.raises(BundleError, match="invalid deployment name"):
        deployer.configure("a/b", {})


def test_updating_to_an_unpublished_bundle_fails_and_is_recorded(deployer):
    deployer.configure("prod", {})
    with pytest.raises(BundleError, match=r"bundle 2024\.1 is not published: publish it first"):
        deployer.update("prod", "2024.1", requested_by="test")
    status = deployer.status("prod")
    assert status.active_bundle_id is None
    assert [(u["to_bundle_id"], u["outcome"], u["requested_by"]) for u in status.history] == [
        ("2024.1", FAILED, "test")
    ]
    assert not deployer.active_path("prod").exists()


def test_a_rollback_is_an_update_recorded_as_a_rollback(deployer):
    deployer.configure("prod", {})
    with pytest.raises(BundleError, match="not published"):
        deployer.rollback("prod", "2023.9", requested_by="ops")
    (update,) = deployer.status("prod").history
    assert update["requested_by"] == "rollback by ops"


def test_publishing_a_file_that_is_not_a_bundle_is_refused(deployer, tmp_path):
    fake = tmp_path / "fake.tar.gz"
    fake.write_bytes(b"not an archive")
    with pytest.raises(BundleError):
        deployer.publish(fake)
    assert deployer.published() == []
