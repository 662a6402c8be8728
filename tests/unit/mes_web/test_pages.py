"""The model status and the metric charts of the MES pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from include.mes.records import EvaluationSummary, StoredCheck
from include.mes_web.charts import MetricValue, metric_chart, tick_label
from include.mes_web.pages import NOT_CHECKED, model_status


def summary(name: str) -> EvaluationSummary:
    return EvaluationSummary(
        evaluation_id=name,
        store_name="the_MES",
        model_name="fraud",
        model_version="v1",
        name=name,
        period_start=datetime(2017, 4, 1),
        period_end=datetime(2017, 7, 1),
        created_at=datetime.now(UTC),
        row_count=10,
        labelled=True,
        metrics={"auc": 0.8},
        has_drift=False,
    )


def check(evaluation: str, name: str, outcome: str) -> StoredCheck:
    return StoredCheck(evaluation, name, "data_drift", outcome, 0.5, "", datetime.now(UTC), None)


def test_the_status_is_the_worst_check_of_the_latest_checked_evaluation() -> None:
    evaluations = [summary("2017Q2"), summary("2017Q3"), summary("2017Q4")]
    checks = {
        "2017Q2": [check("2017Q2", "drift", "ERROR")],
        "2017Q3": [check("2017Q3", "drift", "WARNING"), check("2017Q3", "auc", "OK")],
    }

    status = model_status(evaluations, checks)

    # Q4 is not checked yet; Q3 is the latest checked, and an old ERROR on Q2 no longer counts.
    assert status.outcome == "WARNING"
    assert status.evaluation.name == "2017Q3"
    assert status.explanation == "latest checked evaluation 2017Q3: drift"


def test_all_ok_and_never_checked() -> None:
    evaluations = [summary("2017Q2")]
    ok = model_status(evaluations, {"2017Q2": [check("2017Q2", "drift", "OK")]})
    assert ok.outcome == "OK"
    assert ok.explanation == "latest checked evaluation 2017Q2: 1 check(s), none above OK"
    never = model_status(evaluations, {})
    assert never.outcome == NOT_CHECKED
    assert "no check has been run" in never.explanation


def test_tick_labels_tell_close_values_apart() -> None:
    assert [tick_label(t, 0.0005) for t in (0.9985, 0.999, 0.9995)] == [
        "0.9985",
        "0.9990",
        "0.9995",
    ]
    assert tick_label(0.8, 0.025) == "0.800"
    assert tick_label(10, 2) == "10"


def test_a_chart_has_a_dot_per_evaluation_and_a_bar_per_interval() -> None:
    values = [
        MetricValue("2017Q2", "v1", 0.55, 0.50, 0.60),
        MetricValue("2017Q3", "v1", 0.61, 0.55, 0.66),
        MetricValue("2017Q4", "v2", 0.71),
    ]
    svg = metric_chart("data_drift", values)

    assert svg.count("<circle") == 3
    assert "2017Q2 (model v1): data_drift = 0.55 [0.5, 0.6]" in svg
    # One line joins Q2 and Q3 (same version), another holds Q4 alone: none crosses versions.
    assert re.findall(r'<polyline points="([^"]+)"', svg)[1].count(",") == 1
    assert len(re.findall(r"<polyline", svg)) == 2
    assert metric_chart("auc", []) == ""
    assert metric_chart("auc", [MetricValue("2017Q2", "v1", 0.8)]).count("<circle") == 1


def test_tiny_and_equal_values_still_make_a_chart() -> None:
    # p-values that underflow, and a metric that never moves.
    tiny = [MetricValue(q, "v1", v) for q, v in (("Q2", 1e-30), ("Q3", 0.0), ("Q4", 1e-25))]
    assert metric_chart("data_drift_pvalue", tiny).count("<circle") == 3
    flat = [MetricValue(q, "v1", 0.0) for q in ("Q2", "Q3")]
    assert metric_chart("drifted_features", flat).count("<circle") == 2
    assert tick_label(0.0, 0.0) == "0"


def test_a_long_history_is_a_line_with_dots_and_labels_for_some() -> None:
    values = [MetricValue(f"W{i:03d}", "v1", float(i % 7)) for i in range(500)]
    svg = metric_chart("auc", values)
    assert svg.count("<polyline") == 1
    assert svg.count("<circle") == 120  # the latest evaluations only
    assert "W499 (model v1)" in svg
    assert "W379 (model v1)" not in svg
    assert 2 <= svg.count('class="tick">W') <= 7


def test_the_store_table_shows_intervals_undefined_metrics_and_in_sample_evaluations() -> None:
    from dataclasses import replace

    from include.mes_web.pages import store_page

    q1 = replace(
        summary("2017Q1"),
        metrics={"auc": 0.97, "auc_ci_low": 0.95, "auc_ci_high": 0.99, "in_sample": 1.0},
        labels={"note:in_sample": "in-sample evaluation: 2017Q1 overlaps the training period"},
    )
    q2 = replace(
        summary("2017Q2"),
        metrics={"accuracy": 0.9, "in_sample": 0.0},
        labels={"undefined:auc": "no positive in the batch"},
    )

    page = store_page("the_MES", [q1, q2], {})

    assert "0.970 <span class='muted interval'>[0.950, 0.990]</span>" in page
    assert "undefined (no positive in the batch)" in page
    assert "nan" not in page.lower().replace("nav", "")
    row = re.search(r"<tr data-evaluation='2017Q1'>.*?</tr>", page).group(0)
    assert "data-note='in_sample'" in row
    assert "overlaps the training period" in row
    assert "data-note" not in re.search(r"<tr data-evaluation='2017Q2'>.*?</tr>", page).group(0)
    # the bounds are drawn with the AUC's chart, not charted on their own
    assert "data-metric='auc'" in page
    assert "data-metric='auc_ci_low'" not in page
    auc_chart = re.search(r"<figure data-metric='auc'>.*?</figure>", page).group(0)
    assert "[0.95, 0.99]" in auc_chart


def test_estimated_and_realised_share_one_chart_and_the_table_marks_estimates() -> None:
    from dataclasses import replace

    from include.mes_web.pages import metric_page, store_page

    labelled = replace(
        summary("2017Q3"),
        metrics={"auc": 0.81, "estimated_auc": 0.79, "estimated_auc_ci_low": 0.75,
                 "estimated_auc_ci_high": 0.83, "estimated_auc_track_sd": 0.01},
    )  # fmt: skip
    waiting = replace(
        summary("2017Q4"),
        labelled=False,
        metrics={"estimated_auc": 0.64, "estimated_auc_ci_low": 0.6, "estimated_auc_ci_high": 0.68},
    )

    page = store_page("the_MES", [labelled, waiting], {})

    # One chart for the AUC, with both series; no chart of estimated_auc on its own, nor of the
    # spread its track record added to its interval.
    assert "data-metric='estimated_auc'" not in page
    assert "track_sd" not in page
    chart = re.search(r"<figure data-metric='auc'>.*?</figure>", page).group(0)
    assert "realised and estimated" in chart
    assert chart.count('<circle cx="') == 3  # Q3 realised and estimated, Q4 estimated only
    assert chart.count('data-series="estimated"') == 3  # the dashed line and two hollow dots
    assert "estimated auc = 0.64 [0.6, 0.68]" in chart
    assert "2017Q4 (model v1): auc" not in chart  # Q4 has no realised AUC to draw
    # The table shows the realised AUC where there is one, the marked estimate otherwise.
    q4 = re.search(r"<tr data-evaluation='2017Q4'>.*?</tr>", page).group(0)
    assert "≈0.640 <span class='muted'>est.</span>" in q4
    q3 = re.search(r"<tr data-evaluation='2017Q3'>.*?</tr>", page).group(0)
    assert "0.810" in q3
    assert "est." not in q3

    detail = metric_page("the_MES", "auc", [labelled, waiting])
    assert "<th class='num'>auc</th><th class='num'>estimated_auc</th>" in detail
    assert "<td>2017Q4</td><td>v1</td><td class='num'><span class='muted'>–</span></td>" in detail


def test_a_chart_of_estimates_only_before_any_label() -> None:
    values = [MetricValue("2017Q4", "v1", None)]
    estimated = [MetricValue("2017Q4", "v1", 0.7, 0.65, 0.75)]

    svg = metric_chart("auc", values, estimated=estimated)

    assert svg.count("<circle") == 1
    assert 'stroke-dasharray="5 4"' in svg
    assert metric_chart("auc", [MetricValue("2017Q4", "v1", None)]) == ""


def test_every_page_extends_the_base_chrome_with_its_blocks() -> None:
    # The contract of templates/mes_web/base.html that other pages (Deployments) build on.
    from include.templating import environment

    page = environment().from_string(
        '{% extends "mes_web/base.html" %}{% block title %}Deployments{% endblock %}'
        "{% block head %}<style>.mine { color: red; }</style>{% endblock %}"
        "{% block content %}<h1>{{ heading }}</h1>{% endblock %}"
    )

    narrow = page.render(heading="<b>x</b>")
    assert narrow.startswith("<!DOCTYPE html>")
    assert "<title>Deployments</title>" in narrow
    assert ".status-badge {" in narrow  # the pages' stylesheet, inlined
    assert narrow.index(".status-badge {") < narrow.index(".mine {") < narrow.index("</head>")
    assert "<main>\n<h1>&lt;b&gt;x&lt;/b&gt;</h1>" in narrow
    assert "<main class=wide>" in page.render(heading="x", wide=True)


def test_a_message_page_escapes_its_text_as_the_pages_always_did() -> None:
    from include.mes_web.pages import message_page

    page = message_page("MES <unavailable>", "cannot read 'x' & \"y\"")

    assert "<title>MES &lt;unavailable&gt;</title>" in page
    assert "<div class='block'>cannot read &#x27;x&#x27; &amp; &quot;y&quot;</div>" in page


def test_the_overview_of_an_empty_store_and_a_store_without_evaluations() -> None:
    from include.mes_web.pages import StoreOverview, overview_page, store_page

    empty = StoreOverview("new", (), model_status([], {}))
    page = overview_page([empty], where="sqlite:///<x>")

    assert "The MES at sqlite:///&lt;x&gt;." in page
    assert "<tr><th>Evaluations</th><td>0</td></tr>" in page
    assert "Latest evaluation" not in page
    assert "data-status='NOT CHECKED'" in page
    store = store_page("new", [], {})
    assert "<title>new</title>" in store
    assert "No evaluation in this store." in store
    assert "<main>" in store  # only a store with evaluations takes the whole width
