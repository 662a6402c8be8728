"""The MES web app on a store holding the tutorial's three evaluations (embedded SQLite)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import HTTPException, Request
from fastapi.testclient import TestClient

from include.errors import StoreError
from include.mes.records import EvaluationRecord
from include.mes.store import ModelEvaluationStore
from include.mes_web.app import create_app
from include.periods import Period
from tests.support.tutorial_mes import build_tutorial_mes


@pytest.fixture(scope="module")
def tutorial_mes(tmp_path_factory) -> tuple[str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("tutorial_mes")
    url = f"sqlite:///{folder / 'mes.sqlite'}"
    return url, build_tutorial_mes(url, folder)


def opener(url: str) -> Callable[[], ModelEvaluationStore]:
    return lambda: ModelEvaluationStore.open(url)


@pytest.fixture(scope="module")
def client(tutorial_mes) -> TestClient:
    return TestClient(create_app(opener(tutorial_mes[0])))


def rows(page: str) -> list[str]:
    return re.findall(r"<tr data-evaluation='([^']+)'>", page)


def test_the_overview_shows_each_store_with_its_model_status(client: TestClient) -> None:
    page = client.get("/").text

    assert "<h2><a href='stores/the_MES'>the_MES</a></h2>" in page
    assert "data-status='WARNING'" in page
    assert "latest checked evaluation 2017Q4: data drift &lt; 0.45" in page
    assert "<tr><th>Evaluations</th><td>3</td></tr>" in page


def test_a_store_page_lists_its_evaluations_with_metrics_drift_and_checks(
    client: TestClient, tutorial_mes
) -> None:
    url, ids = tutorial_mes
    page = client.get("/stores/the_MES").text

    assert rows(page) == ["2017Q4", "2017Q3", "2017Q2"]  # the most recent first
    with ModelEvaluationStore.open(url) as store:
        q4 = store.get(ids["2017Q4"])
    q4_row = page[page.index("<tr data-evaluation='2017Q4'>") :].split("</tr>")[0]
    assert f"{q4.metrics['auc']:.3f}" in q4_row
    assert (
        f"{q4.metrics['data_drift']:.3f} <span class='muted'>"
        f"[{q4.metrics['data_drift_ci_low']:.3f}, {q4.metrics['data_drift_ci_high']:.3f}]"
    ) in q4_row
    assert "outcome-WARNING" in q4_row
    assert "data drift &lt; 0.45" in q4_row
    assert f"href='../evaluations/{ids['2017Q4']}/report'" in q4_row
    q2_row = page[page.index("<tr data-evaluation='2017Q2'>") :].split("</tr>")[0]
    assert "not checked" in q2_row
    assert "by run <code>manual__test</code> of <code>data_drift_monitor</code>" in page


def test_a_store_page_charts_every_metric_over_the_evaluations(client: TestClient) -> None:
    page = client.get("/stores/the_MES").text

    charts = re.findall(r"<figure data-metric='([^']+)'>", page)
    assert charts[:6] == ["auc", "accuracy", "precision", "recall", "f1", "log_loss"]
    assert {"data_drift", "data_drift_pvalue", "prediction_drift_psi"} <= set(charts)
    assert "data_drift_ci_low" not in charts  # drawn as data_drift's interval
    auc_chart = page.split("<figure data-metric='auc'>")[1].split("</figure>")[0]
    # The realised AUC of each quarter, and the AUC estimated from the scores beside it.
    assert auc_chart.count('<circle cx="') == 6
    assert auc_chart.count('r="3.5" fill="#fff"') == 3  # the estimates' hollow dots
    assert "estimated auc = " in auc_chart
    assert "estimated_auc" not in charts  # drawn on the AUC's chart
    drift_chart = page.split("<figure data-metric='data_drift'>")[1].split("</figure>")[0]
    assert "2017Q4 (model " in drift_chart
    assert "data_drift = " in drift_chart
    # Per-feature metrics: a table of links to each one's chart, not 100 charts on the page.
    assert not any(":" in chart for chart in charts)
    assert "<a href='?metric=psi%3Acard_age'>" in page


def test_a_per_feature_metric_has_a_page_of_its_own(client: TestClient) -> None:
    page = client.get("/stores/the_MES", params={"metric": "psi:card_age"}).text

    assert "<h1>psi:card_age</h1>" in page
    assert page.count("<circle") == 3
    assert "<a href='the_MES'>the_MES</a>" in page
    missing = client.get("/stores/the_MES", params={"metric": "nope"}).text
    assert "No evaluation of the_MES has the metric nope." in missing


def test_the_drift_report_of_an_evaluation_opens_with_a_way_back(
    client: TestClient, tutorial_mes
) -> None:
    _, ids = tutorial_mes
    answer = client.get(f"/evaluations/{ids['2017Q4']}/report")

    assert answer.status_code == 200
    assert "<title>Drift report: 2017Q4 (model " in answer.text
    assert "card_fico_score" in answer.text
    assert "<a href='../../stores/the_MES'>the_MES</a>" in answer.text


def test_pages_load_nothing_from_another_host(client: TestClient, tutorial_mes) -> None:
    _, ids = tutorial_mes
    for path in ("/", "/stores/the_MES", f"/evaluations/{ids['2017Q4']}/report"):
        answer = client.get(path)
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert "frame-ancestors 'self'" in answer.headers["content-security-policy"]
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", answer.text), path
        assert "<script" not in answer.text


def test_unknown_stores_and_evaluations_say_what_is_missing(client: TestClient) -> None:
    answer = client.get("/stores/nope")
    assert answer.status_code == 404
    assert "the MES holds no store named &#x27;nope&#x27;" in answer.text
    answer = client.get("/evaluations/0000/report")
    assert answer.status_code == 404
    assert "no evaluation &#x27;0000&#x27; in the MES" in answer.text
    assert client.get("/api/stores/nope").json() == {
        "detail": "the MES holds no store named 'nope'"
    }


def test_the_json_api_gives_the_same_status_and_evaluations(client: TestClient) -> None:
    [store] = client.get("/api/stores").json()
    assert store == {
        "store_name": "the_MES",
        "status": "WARNING",
        "status_explanation": "latest checked evaluation 2017Q4: data drift < 0.45",
        "evaluations": 3,
    }
    detail = client.get("/api/stores/the_MES").json()
    assert [e["name"] for e in detail["evaluations"]] == ["2017Q2", "2017Q3", "2017Q4"]
    assert [c["outcome"] for c in detail["evaluations"][2]["checks"]] == ["WARNING"]
    assert detail["evaluations"][0]["checks"] == []


def test_without_a_login_a_browser_goes_to_the_login_page_and_a_script_gets_401(
    tutorial_mes,
) -> None:
    def logged_in(request: Request) -> str:
        if request.cookies.get("_token") != "valid":
            raise HTTPException(401, "Not authenticated")
        return "admin"

    app = create_app(
        opener(tutorial_mes[0]),
        authenticate=logged_in,
        login_url=lambda next_url: f"/auth/login?next={next_url}",
    )
    client = TestClient(app, follow_redirects=False)

    for path in ("/", "/stores/the_MES", f"/evaluations/{tutorial_mes[1]['2017Q4']}/report"):
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/auth/login?next=http://testserver{path}"
    assert client.get("/api/stores").status_code == 401
    client.cookies.set("_token", "valid")
    assert client.get("/").status_code == 200
    assert client.get("/api/stores").status_code == 200


def test_an_unreachable_store_is_a_clear_503_and_the_app_recovers(tutorial_mes) -> None:
    attempts = []

    def flaky() -> ModelEvaluationStore:
        attempts.append(1)
        if len(attempts) == 1:
            raise StoreError("cannot connect to the MES database at 127.0.0.1:1/mes")
        return ModelEvaluationStore.open(tutorial_mes[0])

    client = TestClient(create_app(flaky))
    answer = client.get("/")
    assert answer.status_code == 503
    assert "cannot connect to the MES database at 127.0.0.1:1/mes" in answer.text
    assert client.get("/").status_code == 200


def test_an_empty_mes_says_how_to_fill_it(tmp_path) -> None:
    client = TestClient(create_app(opener(f"sqlite:///{tmp_path / 'empty.sqlite'}")))
    page = client.get("/").text
    assert "The MES holds no evaluation yet" in page
    assert "build_project_mes" in page


def test_names_from_the_store_are_escaped(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'mes.sqlite'}"
    with ModelEvaluationStore.open(url) as store:
        store.save(
            EvaluationRecord(
                store_name="<b>store</b>",
                model_name="<script>alert(1)</script>",
                model_version="v'1",
                period=Period.parse("2017Q2"),
                row_count=10,
                metrics={"auc": 0.7},
            )
        )
    client = TestClient(create_app(opener(url)))
    overview = client.get("/").text
    assert "<script>alert" not in overview
    assert "&lt;script&gt;" in overview
    assert "href='stores/%3Cb%3Estore%3C%2Fb%3E'" in overview
    page = client.get("/stores/%3Cb%3Estore%3C%2Fb%3E").text
    assert "<h1>&lt;b&gt;store&lt;/b&gt;</h1>" in page
    assert "v&#x27;1" in page


def test_a_long_store_shows_its_latest_evaluations_and_all_on_demand(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'mes.sqlite'}"
    with ModelEvaluationStore.open(url) as store:
        for month in range(1, 13):
            for year in (2016, 2017, 2018, 2019, 2020, 2021):
                store.save(
                    EvaluationRecord(
                        store_name="monthly",
                        model_name="m",
                        model_version="v1",
                        period=Period.parse(f"{year}-{month:02d}"),
                        row_count=10,
                        metrics={"auc": 0.7},
                    )
                )
    client = TestClient(create_app(opener(url)))

    page = client.get("/stores/monthly").text
    assert len(rows(page)) == 60
    assert rows(page)[0] == "2021-12"
    assert "The latest 60 of 72 evaluations" in page
    assert page.split("<figure data-metric='auc'>")[1].split("</figure>")[0].count("<circle") == 72
    assert len(rows(client.get("/stores/monthly", params={"rows": "all"}).text)) == 72
