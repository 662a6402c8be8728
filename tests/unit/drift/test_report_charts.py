"""include/drift/report_charts: the drift report's SVG charts, read back as XML.

The report's own tests (tests/unit/drift/test_report.py) check that the charts appear in the
page; these check what each chart shows: the values in its tooltips, bar heights in proportion
to the shares, labels that do not overlap, and the small number formatters the charts share.
"""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET

import pytest

from include.drift.report_charts import (
    RISK_COLOUR,
    Frame,
    Point,
    accuracy_gauge,
    categorical_histogram,
    importance_scatter,
    interval_whiskers,
    nice_ticks,
    numeric_histogram,
    percent,
    short_number,
    truncate,
)


def _titles(svg: str) -> list[str]:
    return [title.text for title in ET.fromstring(svg).iter("title")]


def _bar_heights(svg: str) -> list[tuple[float, float]]:
    """(reference, current) bar heights of each bin, in the order drawn."""
    groups = [g for g in ET.fromstring(svg).iter("g") if g.find("title") is not None]
    return [tuple(float(rect.get("height")) for rect in group.iter("rect")) for group in groups]


def test_numbers_for_axes_are_short():
    assert [short_number(v) for v in (0, 0.5, 0.12345, 123.456, 25_000, 0.0001234)] == [
        "0",
        "0.5",
        "0.123",
        "123.5",
        "2.5e+04",
        "0.00012",
    ]


def test_percent_and_truncate():
    assert percent(0.1234) == "12.3 %"
    assert percent(None) == "n/a"
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdefg", 6) == "abcde…"


@pytest.mark.parametrize(("low", "high"), [(0, 1), (0.13, 0.87), (-3.2, 41.0), (1e-6, 3e-6)])
def test_ticks_are_round_evenly_spaced_and_cover_the_range(low, high):
    ticks = nice_ticks(low, high, 5)
    step = ticks[1] - ticks[0]
    assert ticks[0] <= low
    assert ticks[-1] >= high - step * 1e-6
    assert all(math.isclose(b - a, step, rel_tol=1e-9) for a, b in itertools.pairwise(ticks))
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5))
    assert 2 <= len(ticks) <= 7


def test_ticks_of_an_empty_range_still_make_an_axis():
    ticks = nice_ticks(3.0, 3.0)
    assert ticks[0] <= 3.0 < ticks[-1]


def test_a_frame_is_its_size_less_its_margins():
    frame = Frame(width=100, height=50, left=10, right=5, top=4, bottom=6)
    assert (frame.x0, frame.x1, frame.y1, frame.y0) == (10, 95, 4, 44)


def test_the_gauge_shows_the_accuracy_and_its_interval():
    titles = _titles(accuracy_gauge(0.734, 0.70, 0.77))
    assert titles == ["95 % interval 0.700–0.770", "accuracy 0.734"]


def _gauge_ticks(svg: str) -> list[tuple[float, str]]:
    return [(float(t.get("x")), t.text) for t in ET.fromstring(svg).iter("text")]


def test_the_gauge_scale_runs_from_a_half_to_one():
    ticks = _gauge_ticks(accuracy_gauge(0.9, 0.85, 0.95))
    assert [label for _, label in ticks] == ["0.5", "0.6", "0.7", "0.8", "0.9", "1.0"]
    assert all(14 <= x <= 420 - 14 for x, _ in ticks)


def test_the_gauge_scale_reaches_down_to_values_below_a_half():
    svg = accuracy_gauge(0.45, 0.38, 0.52)
    labels = [label for _, label in _gauge_ticks(svg)]
    assert "0.4" in labels
    assert labels[-1] == "1.0"
    dot = next(ET.fromstring(svg).iter("circle"))
    assert 14 <= float(dot.get("cx")) <= 420 - 14


def test_every_gauge_tick_lies_inside_the_chart():
    # the scale starts at 0.3 and nice_ticks(0.3, 1) steps by 0.2 from 0.2: that tick was once
    # drawn left of the chart
    assert all(14 <= x <= 420 - 14 for x, _ in _gauge_ticks(accuracy_gauge(0.45, 0.38, 0.52)))


def test_the_gauge_without_values_draws_only_the_scale():
    assert _titles(accuracy_gauge(None, None, None)) == []


def test_the_scatter_has_a_dot_per_feature_with_its_values():
    points = [Point("amount", 0.4, 0.3, True), Point("<zip>", 0.1, 0.05, False)]
    svg, unlabelled = importance_scatter(points)
    root = ET.fromstring(svg)
    titles = {c.find("title").text: c for c in root.iter("circle")}
    assert set(titles) == {
        "amount: model importance 0.4, drift importance 0.3",
        "<zip>: model importance 0.1, drift importance 0.05",
    }
    risky = titles["amount: model importance 0.4, drift importance 0.3"]
    assert risky.get("fill") == RISK_COLOUR
    assert unlabelled == []
    labels = {t.text for t in root.iter("text") if "label" in (t.get("class") or "")}
    assert labels == {"amount", "<zip>"}


def test_crowded_labels_are_left_out_and_returned():
    points = [Point(f"feature_{i}", 0.5, 0.5, i == 0) for i in range(12)]
    svg, unlabelled = importance_scatter(points)
    root = ET.fromstring(svg)
    labels = [t.text for t in root.iter("text") if "label" in (t.get("class") or "")]
    assert "feature_0" in labels  # the risky feature is labelled first
    assert sorted(labels + unlabelled) == sorted(p.name for p in points)
    assert unlabelled


def test_an_empty_scatter_is_still_a_chart():
    svg, unlabelled = importance_scatter([])
    assert ET.fromstring(svg).get("aria-label") == "drift importance against model importance"
    assert unlabelled == []


def test_equal_bins_have_heights_in_proportion_to_their_shares():
    reference, current = [0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]
    svg = numeric_histogram([0.0, 1.0, 2.0, 3.0, 4.0], reference, current)
    heights = _bar_heights(svg)
    assert len(heights) == 4
    for (ref_h, cur_h), ref, cur in zip(heights, reference, current, strict=True):
        assert ref_h / heights[-1][0] == pytest.approx(ref / 0.4, abs=0.01)
        assert cur_h / heights[-1][0] == pytest.approx(cur / 0.4, abs=0.01)
    assert "share per bin" in {t.text for t in ET.fromstring(svg).iter("text")}


def test_bins_of_unequal_width_keep_area_in_proportion_to_share():
    svg = numeric_histogram([0.0, 1.0, 3.0], [0.5, 0.5], [0.5, 0.5])
    (narrow, _), (wide, _) = _bar_heights(svg)
    assert narrow == pytest.approx(2 * wide, abs=0.2)
    captions = {t.text for t in ET.fromstring(svg).iter("text")}
    assert "share per bin of average width (area = share)" in captions


def test_tooltips_name_each_bin_closed_on_the_right_with_both_shares():
    svg = numeric_histogram([None, 1.0, 2.0, None], [0.2, 0.5, 0.3], [0.1, 0.6, 0.3])
    assert _titles(svg) == [
        "≤ 1: reference 20.0 %, current 10.0 %",
        "(1, 2]: reference 50.0 %, current 60.0 %",
        "> 2: reference 30.0 %, current 30.0 %",
    ]


def test_bins_of_zero_width_fall_back_to_equal_slots():
    svg = numeric_histogram([None, 1.0, 1.0, 2.0, None], [0.1, 0.0, 0.6, 0.3], [0.1, 0.0, 0.5, 0.4])
    assert len(_bar_heights(svg)) == 4
    texts = {t.text for t in ET.fromstring(svg).iter("text")}
    assert "share per bin" in texts
    assert "≤ 1" in texts


def test_categories_show_both_shares_and_star_the_new_ones():
    svg = categorical_histogram(["a", "b", "c"], [0.5, 0.5, 0.0], [0.4, 0.4, 0.2], frozenset({"c"}))
    assert _titles(svg) == [
        "a: reference 50.0 %, current 40.0 %",
        "b: reference 50.0 %, current 40.0 %",
        "c *: reference 0.0 %, current 20.0 %",
    ]


def test_many_categories_have_rotated_truncated_labels():
    categories = [f"category_number_{i}" for i in range(8)]
    shares = [1 / 8] * 8
    root = ET.fromstring(categorical_histogram(categories, shares, shares))
    rotated = [t for t in root.iter("text") if "rotate" in (t.get("transform") or "")]
    assert len(rotated) == 8
    assert all(len(t.text) <= 14 and t.text.endswith("…") for t in rotated)


def test_text_from_the_data_is_escaped_by_the_chart_templates():
    name = '<b class="x">&'
    svg = categorical_histogram([name, "b"], [0.5, 0.5], [0.4, 0.6], frozenset({name}))
    assert "<b " not in svg
    texts = {t.text for t in ET.fromstring(svg).iter("text")}
    assert f"{name} *" in texts
    assert _titles(svg)[0] == f"{name} *: reference 50.0 %, current 40.0 %"


def test_whiskers_draw_both_intervals_on_one_scale_with_their_values():
    svg = interval_whiskers(0.85, (0.83, 0.87), 0.81, (0.79, 0.83), lambda v: f"{v:.2f}")
    assert "\n" not in svg  # it sits in one line of the performance table
    root = ET.fromstring(svg)
    lines = [(float(line.get("x1")), float(line.get("x2"))) for line in root.iter("line")]
    assert len(lines) == 2
    assert all(4 <= x <= 176 for pair in lines for x in pair)
    assert lines[1][0] < lines[0][0]  # the batch's interval lies lower
    assert _titles(svg) == ["0.85 [0.83, 0.87]", "0.81 [0.79, 0.83]"]


def test_whiskers_without_the_reference_interval_draw_its_dot_only():
    svg = interval_whiskers(0.85, None, 0.81, (0.79, 0.83), lambda v: f"{v:.2f}")
    root = ET.fromstring(svg)
    assert len(list(root.iter("line"))) == 1
    assert _titles(svg) == ["0.85", "0.81 [0.79, 0.83]"]
