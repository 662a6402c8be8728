"""include/mes_web/charts: what a reader of the metric charts sees (parsed as XML, not by eye).

tests/unit/mes_web/test_pages.py covers dots, intervals, long histories and tiny values; these
tests cover escaping, gaps, colours per version, the estimated series and the legend.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from include.mes_web.charts import (
    DOT_LIMIT,
    FRAME,
    VERSION_COLOURS,
    WIDE_FRAME,
    MetricValue,
    metric_chart,
    tick_label,
    version_legend,
)


def _parse(svg: str) -> ET.Element:
    # The charts are inline SVG without a namespace declaration: parse them as plain XML.
    return ET.fromstring(svg)


def _points(polyline: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in polyline.get("points").split()]


def test_the_chart_is_well_formed_and_sized_by_its_frame():
    values = [MetricValue("Q1", "v1", 0.5), MetricValue("Q2", "v1", 0.6)]
    small, wide = (
        _parse(metric_chart("auc", values)),
        _parse(metric_chart("auc", values, WIDE_FRAME)),
    )
    assert small.get("viewBox") == f"0 0 {FRAME.width} {FRAME.height}"
    assert wide.get("viewBox") == f"0 0 {WIDE_FRAME.width} {WIDE_FRAME.height}"
    assert small.get("aria-label") == "auc over the evaluations"


def test_higher_values_are_drawn_higher_and_stay_inside_the_plot():
    values = [MetricValue(f"Q{i}", "v1", v) for i, v in enumerate([0.2, 0.9, 0.5])]
    (line,) = _parse(metric_chart("auc", values)).iter("polyline")
    points = _points(line)
    assert points[1][1] < points[2][1] < points[0][1]  # SVG's y grows downwards
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    for x, y in points:
        assert FRAME.x0 <= x <= FRAME.x1
        assert FRAME.y1 <= y <= FRAME.y0


def test_text_from_the_data_is_escaped():
    values = [MetricValue("<b>Q1</b>", 'v"1&', 0.5)]
    svg = metric_chart("a<b", values)
    root = _parse(svg)
    assert "<b>" not in svg
    (title,) = root.iter("title")
    assert title.text == '<b>Q1</b> (model v"1&): a<b = 0.5'
    assert root.get("aria-label") == "a<b over the evaluations"


def test_a_missing_value_breaks_the_line_but_keeps_its_place_on_the_axis():
    values = [
        MetricValue("Q1", "v1", 0.5),
        MetricValue("Q2", "v1", 0.6),
        MetricValue("Q3", "v1", None),
        MetricValue("Q4", "v1", 0.7),
    ]
    root = _parse(metric_chart("auc", values))
    lines = list(root.iter("polyline"))
    assert [len(_points(line)) for line in lines] == [2, 1]
    assert len(list(root.iter("circle"))) == 3
    labels = [text.text for text in root.iter("text") if text.text and text.text.startswith("Q")]
    assert labels == ["Q1", "Q2", "Q3", "Q4"]


def test_each_model_version_has_its_colour_in_order_of_first_appearance():
    versions = ["b", "a", "b", "c"]
    values = [MetricValue(f"Q{i}", v, 0.1 * i) for i, v in enumerate(versions)]
    root = _parse(metric_chart("auc", values))
    fills = [circle.get("fill") for circle in root.iter("circle")]
    assert fills == [VERSION_COLOURS[0], VERSION_COLOURS[1], VERSION_COLOURS[0], VERSION_COLOURS[2]]


def test_colours_repeat_after_the_palette_runs_out():
    versions = [f"v{i}" for i in range(len(VERSION_COLOURS) + 1)]
    legend = version_legend(versions)
    colours = re.findall(r"background:(#[0-9A-Fa-f]{6})", legend)
    assert colours == [*VERSION_COLOURS, VERSION_COLOURS[0]]


def test_the_legend_names_each_version_once_escaped():
    legend = version_legend(["v1", "<v2>", "v1"])
    assert legend.count("model v1") == 1
    assert "model &lt;v2&gt;" in legend
    assert version_legend([]) == ""


def test_estimates_are_a_dashed_line_of_hollow_dots_beside_the_realised_one():
    values = [MetricValue("Q1", "v1", 0.8), MetricValue("Q2", "v1", None)]
    estimated = [MetricValue("Q1", "v1", 0.78), MetricValue("Q2", "v1", 0.7, 0.6, 0.75)]
    root = _parse(metric_chart("auc", values, estimated=estimated))
    series = {line.get("data-series"): line for line in root.iter("polyline")}
    assert set(series) == {"realised", "estimated"}
    assert series["estimated"].get("stroke-dasharray") == "5 4"
    assert series["realised"].get("stroke-dasharray") is None
    hollow = [c for c in root.iter("circle") if c.get("data-series") == "estimated"]
    assert [c.get("fill") for c in hollow] == ["#fff", "#fff"]
    titles = [c.find("title").text for c in hollow]
    assert titles[1] == "Q2 (model v1): estimated auc = 0.7 [0.6, 0.75]"


def test_estimates_need_one_entry_per_evaluation():
    values = [MetricValue("Q1", "v1", 0.8)]
    with pytest.raises(ValueError, match="one entry per evaluation"):
        metric_chart("auc", values, estimated=[MetricValue("Q1", "v1", 0.7)] * 2)
    # None or empty: no estimates.
    assert metric_chart("auc", values, estimated=[]) == metric_chart("auc", values)


def test_dots_are_limited_to_the_latest_evaluations():
    values = [MetricValue(f"E{i}", "v1", float(i)) for i in range(DOT_LIMIT + 5)]
    titles = [t.text for t in _parse(metric_chart("n", values)).iter("title")]
    assert len(titles) == DOT_LIMIT
    assert titles[0].startswith("E5 ")


def test_tick_labels_of_large_or_tiny_values_are_short():
    assert tick_label(25_000, 5_000) == "2.5e+04"
    assert tick_label(0.0002, 0.0001) == "0.0002"
    assert tick_label(0.25, 0.25) == "0.25"
    assert tick_label(3, 1) == "3"
