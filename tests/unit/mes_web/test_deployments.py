"""include/mes_web/deployments and its routes: a real deployer (SQLite) with published bundles.

Two tiny bundles are published; ``prod`` is updated to v1, to v2, refused a broken v3, and rolled
back to v1; ``staging`` is configured and never updated. The page and the JSON show the bundles,
each deployment's active bundle, whether it is out of sync and why, and its history.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from include.bundles.deployer import Deployer
from include.errors import BundleError, StoreError
from include.mes_web import deployments
from include.mes_web.app import create_app
from include.mes_web.deployments import NoDeployerError, open_deployer, read_overview
from tests.support.tiny_bundles import publish_tiny_bundle as publish


@pytest.fixture(scope="module")
def deployer_env(tmp_path_factory) -> dict[str, str]:
    """A deployer with published bundles and two deployments; its settings as environment."""
    folder = tmp_path_factory.mktemp("deployer")
    env = {
        "DEPLOYER_DATABASE_URL": f"sqlite:///{folder / 'deployer.sqlite'}",
        "MES_BUNDLE_STORE": str(folder / "store"),
    }
    with Deployer.open(env["DEPLOYER_DATABASE_URL"], folder / "store") as deployer:
        publish(deployer, folder, "v1", "VERSION = 1\n")
        publish(deployer, folder, "v2", "VERSION = 2\n", extra="added.py")
        publish(deployer, folder, "v3", "raise ImportError('v3 is broken')\n")
        deployer.configure("prod", {"connections": {"mes_db": "mes_prod"}})
        deployer.update("prod", "v1", requested_by="alice")
        deployer.update("prod", "v2", requested_by="bundle_release")
        with pytest.raises(BundleError):
            deployer.update("prod", "v3", requested_by="bob")
        deployer.rollback("prod", "v1", requested_by="carol")
        deployer.configure("staging", {})
    return env


@pytest.fixture
def with_deployer(deployer_env, monkeypatch) -> dict[str, str]:
    for name, value in deployer_env.items():
        monkeypatch.setenv(name, value)
    return deployer_env


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(lambda: None))


def test_the_overview_reads_bundles_deployments_and_history(with_deployer) -> None:
    with open_deployer() as deployer:
        overview = read_overview(deployer)

    assert [b.bundle_id for b in overview.bundles] == ["v1", "v2", "v3"]
    assert overview.newest_bundle_id == "v3"
    v1 = overview.bundles[0]
    assert v1.active_in == ("prod",)
    assert (v1.files, v1.problem) == (3, None)
    archive = Path(with_deployer["MES_BUNDLE_STORE"], "published", "v1.tar.gz")
    assert v1.size == archive.stat().st_size
    assert v1.created_at is not None
    assert v1.created_at.tzinfo is not None

    prod, staging = overview.deployments
    assert (prod.name, prod.active_bundle_id, prod.out_of_sync) == ("prod", "v1", True)
    assert prod.reasons == ("runs v1; the newest published bundle is v3",)
    assert prod.settings_changed is False
    assert prod.difference is not None
    assert prod.difference.changed == ("dags/monitor.py",)
    assert [(u.kind, u.by, u.from_bundle_id, u.to_bundle_id, u.outcome) for u in prod.history] == [
        ("update", "alice", None, "v1", "success"),
        ("update", "bundle_release", "v1", "v2", "success"),
        ("update", "bob", "v2", "v3", "failed"),
        ("rollback", "carol", "v2", "v1", "success"),
    ]
    assert staging.active_bundle_id is None
    assert staging.reasons == (
        "runs no bundle; the newest published bundle is v3",
        "it has never been updated",
    )


def test_a_deployment_on_the_newest_bundle_with_its_settings_applied_is_in_sync(
    tmp_path,
) -> None:
    with Deployer.open(f"sqlite:///{tmp_path / 'd.sqlite'}", tmp_path / "store") as deployer:
        publish(deployer, tmp_path, "v1", "VERSION = 1\n")
        deployer.configure("prod", {})
        deployer.update("prod", "v1")
        [prod] = read_overview(deployer).deployments
        assert (prod.out_of_sync, prod.reasons, prod.difference) == (False, (), None)

        deployer.configure("prod", {"variables": {"x": "1"}})
        [prod] = read_overview(deployer).deployments
        assert prod.reasons == ("its settings changed since its last update",)


def test_a_bundle_whose_archive_left_the_store_is_listed_with_the_problem(tmp_path) -> None:
    with Deployer.open(f"sqlite:///{tmp_path / 'd.sqlite'}", tmp_path / "store") as deployer:
        publish(deployer, tmp_path, "v1", "VERSION = 1\n")
        deployer.archive_path("v1").unlink()
        [bundle] = read_overview(deployer).bundles
    assert bundle.problem == "its archive is missing from the bundle store"
    assert (bundle.size, bundle.files, bundle.created_at) == (None, None, None)


def test_the_page_shows_bundles_deployments_sync_and_history(with_deployer, client) -> None:
    response = client.get("/deployments/")
    page = response.text

    assert response.status_code == 200
    assert re.findall(r'<tr data-bundle="([^"]+)">', page) == ["v3", "v2", "v1"]  # newest first
    assert re.findall(r'<tr data-deployment="([^"]+)">', page) == ["prod", "staging"]
    prod_row = page[page.index('<tr data-deployment="prod">') :].split("</tr>")[0]
    assert "<td data-active>v1</td>" in prod_row
    assert 'data-sync="out-of-sync"' in prod_row
    assert "runs v1; the newest published bundle is v3" in prod_row
    assert "changed: dags/monitor.py" in prod_row
    history = page[page.index('data-history="prod"') :].split("</table>")[0]
    assert re.findall(r'data-kind="(\w+)" data-outcome="(\w+)"', history) == [
        ("rollback", "success"),
        ("update", "failed"),
        ("update", "success"),
        ("update", "success"),
    ]
    assert "<td>carol</td>" in history
    assert "v3 is broken" in history
    # Text from the deployer is escaped, and the page says how to change things.
    assert "release v1 &lt;b&gt;bold&lt;/b&gt;" in page
    assert "python -m include.bundles.cli rollback DEPLOYMENT" in page
    assert "No update yet: <code>python -m include.bundles.cli update staging latest" in page


def test_the_json_has_the_same_data(with_deployer, client) -> None:
    data = client.get("/api/deployments").json()

    assert data["configured"] is True
    assert data["newest_bundle_id"] == "v3"
    assert [b["bundle_id"] for b in data["bundles"]] == ["v1", "v2", "v3"]
    prod = data["deployments"][0]
    assert (prod["active_bundle_id"], prod["out_of_sync"], prod["behind_newest"]) == (
        "v1",
        True,
        True,
    )
    assert prod["difference"]["changed"] == ["dags/monitor.py"]
    assert [u["kind"] for u in prod["history"]] == ["update", "update", "update", "rollback"]
    assert prod["history"][-1]["requested_by"] == "rollback by carol"
    assert prod["history"][0]["requested_at"].endswith("+00:00")


def test_without_a_deployer_the_page_says_so_and_creates_none(tmp_path, monkeypatch, client):
    monkeypatch.delenv("DEPLOYER_DATABASE_URL", raising=False)
    monkeypatch.setenv("MES_HOME", str(tmp_path))

    page = client.get("/deployments/")
    assert page.status_code == 200
    assert "<h1>No deployer</h1>" in page.text
    assert "No deployer database is configured here" in page.text
    data = client.get("/api/deployments").json()
    assert (data["configured"], data["bundles"], data["deployments"]) == (False, [], [])
    assert not (tmp_path / "deployer.sqlite").exists()
    with pytest.raises(NoDeployerError):
        open_deployer()


def test_an_unreadable_deployer_is_a_503_message_not_an_error(monkeypatch) -> None:
    def unreachable() -> Deployer:
        raise StoreError("could not connect to the deployer database at db:5432")

    client = TestClient(create_app(lambda: None, open_deployer=unreachable))
    page = client.get("/deployments/")
    assert page.status_code == 503
    assert "The deployer cannot be read: could not connect" in page.text
    answer = client.get("/api/deployments")
    assert answer.status_code == 503
    assert "could not connect" in answer.json()["detail"]


def test_a_deployer_url_given_is_opened_even_without_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("DEPLOYER_DATABASE_URL", raising=False)
    monkeypatch.setenv("MES_HOME", str(tmp_path / "home"))
    with open_deployer(f"sqlite:///{tmp_path / 'given.sqlite'}") as deployer:
        assert deployments.read_overview(deployer).bundles == ()
