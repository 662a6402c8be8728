"""The MES page of the Airflow UI, in a real api-server, driven by headless Chromium.

The api-server runs the project's plugins with the MES (``mes_db``) on PostgreSQL holding the
tutorial's three evaluations. The browser logs in through Airflow's own login page, opens
**Browse → Model evaluations**, sees the three evaluations, opens the Q4 drift report, and leaves
screenshots in ``test-output/mes_ui/``. Every request the pages make stays on the api-server.
**Browse → Deployments** says there is no deployer, then, once bundles are published and a
deployment updated and rolled back, shows them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.engine import make_url

from deploy.local_airflow import LocalAirflow
from include.bundles.deployer import Deployer
from tests.support.browser import chromium_page, log_in, output_folder
from tests.support.tiny_bundles import publish_tiny_bundle
from tests.support.tutorial_mes import build_tutorial_mes

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api_server(tmp_path_factory, postgres_server) -> Iterator[tuple[LocalAirflow, dict]]:
    folder = tmp_path_factory.mktemp("mes_ui")
    mes_url = postgres_server.create_database("mes_ui")
    metadata_db = postgres_server.create_database("airflow_meta")
    ids = build_tutorial_mes(mes_url, folder)
    uri = make_url(mes_url).set(drivername="postgres").render_as_string(hide_password=False)
    airflow = LocalAirflow.create(
        folder / "airflow",
        metadata_db=metadata_db,
        extra_env={"AIRFLOW_CONN_MES_DB": uri, "MES_HOME": str(folder / "mes_home")},
    )
    airflow.start(components=("api-server",))
    try:
        yield airflow, ids
    finally:
        airflow.stop()
        postgres_server.drop_database(mes_url)
        postgres_server.drop_database(metadata_db)


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page() as opened:
        yield opened


def test_a_logged_in_user_sees_the_mes_in_the_airflow_ui(api_server, page: Page) -> None:
    airflow, ids = api_server
    screenshots = output_folder("mes_ui")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    log_in(page, airflow.url, airflow.password)

    # Browse -> Model evaluations, the plugin's entry in the navigation.
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Model evaluations").click()
    expect(page).to_have_url(f"{airflow.url}/plugin/mes")
    frame = page.frame_locator("iframe[title='Model evaluations']")

    expect(frame.get_by_role("heading", name="Model evaluation stores")).to_be_visible()
    expect(frame.locator("[data-status]").first).to_have_text("WARNING")
    frame.get_by_role("link", name="Open the store").click()

    evaluations = frame.locator("tr[data-evaluation]")
    expect(evaluations).to_have_count(3)
    assert evaluations.evaluate_all("rows => rows.map(r => r.dataset.evaluation)") == [
        "2017Q4",
        "2017Q3",
        "2017Q2",
    ]
    expect(frame.get_by_text("Model status:")).to_contain_text("WARNING")
    # The AUC chart: the realised AUC of each quarter, and beside it the AUC estimated from the
    # scores alone (hollow dots).
    auc = frame.locator("figure[data-metric='auc']")
    expect(auc.locator("circle[data-series='realised']")).to_have_count(3)
    expect(auc.locator("circle[data-series='estimated']")).to_have_count(3)
    page.screenshot(path=screenshots / "mes_store.png", full_page=True)

    frame.get_by_role("link", name="Drift report 2017Q4").click()
    expect(frame.get_by_role("heading", name="Drift report: 2017Q4", exact=False)).to_be_visible()
    expect(frame.get_by_text("card_fico_score").first).to_be_visible()
    page.screenshot(path=screenshots / "mes_drift_report_2017Q4.png", full_page=True)
    assert f"/mes/evaluations/{ids['2017Q4']}/report" in page.url

    # about:, data: and blob: URLs load nothing; every network request goes to the api-server.
    network = [urlsplit(url) for url in requests]
    hosts = {url.netloc for url in network if url.scheme in ("http", "https", "ws", "wss")}
    assert hosts == {urlsplit(airflow.url).netloc}


def test_the_mes_is_closed_to_anyone_not_logged_in(api_server) -> None:
    airflow, _ = api_server
    with httpx.Client(base_url=airflow.url, timeout=30) as anonymous:
        page = anonymous.get("/mes/stores/the_MES")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/auth/login")
        assert anonymous.get("/mes/api/stores").status_code == 401
        anonymous.cookies.set("_token", "forged")
        assert anonymous.get("/mes/api/stores").status_code == 403

    token = httpx.post(
        f"{airflow.url}/auth/token",
        json={"username": "admin", "password": airflow.password},
        timeout=30,
    ).json()["access_token"]
    [store] = httpx.get(
        f"{airflow.url}/mes/api/stores", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()
    assert (store["store_name"], store["status"], store["evaluations"]) == ("the_MES", "WARNING", 3)


def test_the_deployments_page_shows_the_deployer_in_the_airflow_ui(
    api_server, page: Page, tmp_path: Path
) -> None:
    airflow, _ = api_server
    screenshots = output_folder("mes_ui")
    log_in(page, airflow.url, airflow.password)

    # Browse -> Deployments, beside Model evaluations: no deployer yet, and the page says so.
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Deployments").click()
    expect(page).to_have_url(f"{airflow.url}/plugin/deployments")
    frame = page.frame_locator("iframe[title='Deployments']")
    expect(frame.get_by_role("heading", name="No deployer")).to_be_visible()

    # The deployer the api-server finds by default (no deployer_db connection): under MES_HOME.
    home = Path(airflow.env["MES_HOME"])
    with Deployer.open(f"sqlite:///{home / 'deployer.sqlite'}", home / "bundles") as deployer:
        publish_tiny_bundle(deployer, tmp_path, "v1", "VERSION = 1\n")
        publish_tiny_bundle(deployer, tmp_path, "v2", "VERSION = 2\n", extra="added.py")
        deployer.configure("prod", {"connections": {"mes_db": "mes_prod"}})
        deployer.update("prod", "v1", requested_by="alice")
        deployer.update("prod", "v2", requested_by="bundle_release")
        deployer.rollback("prod", "v1", requested_by="carol")
    page.reload()
    frame = page.frame_locator("iframe[title='Deployments']")

    expect(frame.get_by_role("heading", name="Published bundles")).to_be_visible()
    bundles = frame.locator("tr[data-bundle]")
    expect(bundles).to_have_count(2)
    assert bundles.evaluate_all("rows => rows.map(r => r.dataset.bundle)") == ["v2", "v1"]
    expect(bundles.first).to_contain_text("newest")
    prod = frame.locator("tr[data-deployment='prod']")
    expect(prod.locator("td[data-active]")).to_have_text("v1")
    expect(prod.locator("[data-sync]")).to_have_text("OUT OF SYNC")
    expect(prod).to_contain_text("runs v1; the newest published bundle is v2")
    prod.get_by_text("What differs from v1 to v2").click()
    expect(prod.locator("[data-difference]")).to_contain_text("added: include/added.py")
    history = frame.locator("table[data-history='prod'] tr[data-update]")
    expect(history).to_have_count(3)
    assert history.evaluate_all("rows => rows.map(r => [r.dataset.kind, r.dataset.outcome])") == [
        ["rollback", "success"],
        ["update", "success"],
        ["update", "success"],
    ]
    expect(history.first).to_contain_text("carol")
    page.screenshot(path=screenshots / "deployments.png", full_page=True)

    token = httpx.post(
        f"{airflow.url}/auth/token",
        json={"username": "admin", "password": airflow.password},
        timeout=30,
    ).json()["access_token"]
    data = httpx.get(
        f"{airflow.url}/mes/api/deployments",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    [deployment] = data["deployments"]
    assert (deployment["active_bundle_id"], deployment["out_of_sync"]) == ("v1", True)
    with httpx.Client(base_url=airflow.url, timeout=30) as anonymous:
        assert anonymous.get("/mes/api/deployments").status_code == 401
