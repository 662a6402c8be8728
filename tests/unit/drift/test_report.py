"""The HTML drift report: complete, readable in order, safe with hostile data, and offline."""

from __future__ import annotations

import json
import math
import re
import threading
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import pytest

from include.drift.report import (
    format_pvalue,
    render_drift_report,
    sort_by_drift,
    write_drift_report,
)
from include.templating import TEMPLATES

# name, kind, mean shift of the current batch (in reference standard deviations), model importance
FEATURES = [
    ("card_age", "numeric", 0.9, 0.02),
    ("card_fico_score", "numeric", -0.7, 0.19),
    ("purchase_amount", "numeric", 0.05, 0.31),
    ("days_active", "numeric", 0.25, 0.08),
    ("merchant_cardholder_distance", "numeric", 0.02, 0.12),
    ("card_latitude", "numeric", 0.01, 0.03),
    ("card_longitude", "numeric", -0.01, 0.03),
    ("merchant_latitude", "numeric", 0.0, 0.02),
    ("merchant_longitude", "numeric", 0.03, 0.02),
    ("card_first_active_month", "numeric", 0.04, 0.05),
    ("signature_provided", "numeric", 0.0, 0.04),
    ("card_reward_program", "categorical", 0.0, 0.02),
    ("item_category", "categorical", 0.1, 0.03),
    ("merchant_subsector_description", "categorical", 0.02, 0.03),
    ("merchant_category_id", "categorical", 0.0, 0.01),
]


def _normal_cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _numeric_feature(name: str, shift: float, centre: float, spread: float) -> dict:
    """Ten reference deciles with open outer bins; the batch is the reference shifted."""
    quantiles = [-1.2816, -0.8416, -0.5244, -0.2533, 0.0, 0.2533, 0.5244, 0.8416, 1.2816]
    edges = [None, *(round(centre + q * spread, 2) for q in quantiles), None]
    cuts = [-math.inf, *quantiles, math.inf]
    current = [_normal_cdf(b - shift) - _normal_cdf(a - shift) for a, b in pairwise(cuts)]
    psi = sum((c - 0.1) * math.log(max(c, 1e-3) / 0.1) for c in current)
    ks = max(abs(_normal_cdf(q - shift) - _normal_cdf(q)) for q in quantiles)
    drifted = psi > 0.2 or ks > 0.05
    return {
        "feature": name,
        "kind": "numeric",
        "ks_statistic": ks,
        "ks_pvalue": 1e-80 if ks > 0.05 else 0.3 + ks,
        "wasserstein": abs(shift) * spread,
        "psi": psi,
        "chi2_statistic": None,
        "chi2_pvalue": None,
        "pvalue_adjusted": 1e-80 if ks > 0.05 else 0.3 + ks,
        "new_categories": [],
        "vanished_categories": [],
        "reference_missing_share": 0.0,
        "current_missing_share": 0.0,
        "pvalue_drifted": ks > 0.05,
        "psi_drifted": psi > 0.2,
        "drifted": drifted,
        "note": None,
        "histogram": {"edges": edges, "reference": [0.1] * 10, "current": current},
    }


def _categorical_feature(name: str, shift: float) -> dict:
    categories = ["cash_back", "points", "miles", "others"]
    reference = [0.4, 0.3, 0.2, 0.1]
    current = [0.4 - shift, 0.3, 0.2 + shift / 2, 0.1 + shift / 2]
    psi = sum((c - r) * math.log(c / r) for c, r in zip(current, reference, strict=True))
    return {
        "feature": name,
        "kind": "categorical",
        "ks_statistic": None,
        "ks_pvalue": None,
        "wasserstein": None,
        "psi": psi,
        "chi2_statistic": 3.1 + 400 * shift,
        "chi2_pvalue": 0.37 if shift < 0.05 else 2.3e-5,
        "pvalue_adjusted": 0.37 if shift < 0.05 else 2.3e-5,
        "new_categories": ["platinum"] if name == "card_reward_program" else [],
        "vanished_categories": [],
        "reference_missing_share": 0.0,
        "current_missing_share": 0.02 if name == "item_category" else 0.0,
        "pvalue_drifted": shift >= 0.05,
        "psi_drifted": psi > 0.2,
        "drifted": shift >= 0.05 or psi > 0.2,
        "note": None,
        "histogram": {"categories": categories, "reference": reference, "current": current},
    }


def build_analysis() -> dict:
    """A realistic Q4 analysis, shaped like ``DriftAnalysis.to_dict()`` after a JSON round trip."""
    features = []
    drift_importance = {}
    for index, (name, kind, shift, model_importance) in enumerate(FEATURES):
        if kind == "numeric":
            feature = _numeric_feature(name, shift, centre=40 + 10 * index, spread=5 + index)
        else:
            feature = _categorical_feature(name, shift)
        drift_importance[name] = round(0.02 + 0.5 * abs(shift), 3)
        feature["drift_importance"] = drift_importance[name]
        feature["model_importance"] = model_importance
        features.append(feature)
    total = sum(drift_importance.values())
    for feature in features:
        feature["drift_importance"] = round(feature["drift_importance"] / total, 3)
    riskiest = sorted(features, key=lambda f: -f["drift_importance"] * f["model_importance"])[:3]
    analysis = {
        "reference": {"model_version": "2017Q1-7563525d", "period": "2017Q1", "rows": 4000},
        "current": {"period": "2017Q4", "rows": 20000},
        "settings": {"alpha": 0.05, "psi_threshold": 0.2, "correction": "none"},
        "data_drift": {
            "value": 0.62,
            "ci_low": 0.60,
            "ci_high": 0.64,
            "pvalue": 1e-30,
            "rows_per_side": 4000,
            "train_rows": 5600,
            "test_rows": 2400,
            "feature_importance": {f["feature"]: f["drift_importance"] for f in features},
            "verdict": "drift detected (accuracy 0.62, 95 % CI 0.60–0.64, p < 0.001)",
        },
        "features": features,
        "drifted_features": [f["feature"] for f in features if f["drifted"]],
        "riskiest_features": [
            {
                "feature": f["feature"],
                "drift_importance": f["drift_importance"],
                "model_importance": f["model_importance"],
                "risk": 0.8 - 0.2 * rank,
            }
            for rank, f in enumerate(riskiest)
        ],
        "prediction_drift": {
            "reference_positive_share": 0.91,
            "current_positive_share": 0.86,
            "chi2_statistic": 210.4,
            "chi2_pvalue": 3.2e-47,
            "proba_ks_statistic": 0.08,
            "proba_ks_pvalue": 1.1e-9,
            "proba_psi": 0.06,
            "drifted": True,
            "histogram": {
                "edges": [0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 1.0],
                "reference": [0.02, 0.02, 0.03, 0.08, 0.15, 0.30, 0.40],
                "current": [0.04, 0.04, 0.05, 0.10, 0.17, 0.28, 0.32],
            },
        },
        "performance_drift": {
            "auc": {"reference": 0.83, "current": 0.80, "change": -0.03},
            "accuracy": {"reference": 0.91, "current": 0.88, "change": -0.03},
            "log_loss": {"reference": 0.24, "current": 0.29, "change": 0.05},
        },
    }
    return json.loads(json.dumps(analysis))


class _Document(HTMLParser):
    """Collects what a browser would act on: attribute values and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((tag, name, value or "") for name, value in attrs)

    def handle_data(self, data):
        self.text.append(data)


def parse(document: str) -> _Document:
    parser = _Document()
    parser.feed(document)
    parser.close()
    return parser


@pytest.fixture
def analysis() -> dict:
    return build_analysis()


def _table_order(document: str) -> list[str]:
    table = document.split('<table class="features">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="#feature-\d+">([^<]*)</a>', table)


def test_the_full_report_shows_every_section_and_every_feature(analysis) -> None:
    document = render_drift_report(analysis)
    text = " ".join(parse(document).text)
    assert document.startswith("<!DOCTYPE html>")
    for name, *_ in FEATURES:
        assert name in text
    for heading in (
        "Data drift",
        "Prediction drift",
        "Drifted features",
        "Drift importance against model importance",
        "Per-feature drift",
        "Distributions, reference against current",
        "Performance drift",
    ):
        assert heading in text
    assert "2017Q1-7563525d" in text
    assert "0.62" in text
    assert "95 % CI 0.60–0.64" in text
    assert "0.830" in text
    assert "−0.030" in text
    assert "+0.050" in text
    assert "drift detected (accuracy 0.62" in text
    assert "91.0 % → 86.0 %" in text
    # One histogram per feature plus the predicted probability's, and the scatter and gauge.
    assert document.count('<figure class="histogram') == len(FEATURES) + 1
    assert document.count("<svg") == len(FEATURES) + 3


def test_the_table_lists_drifted_features_first_then_by_psi(analysis) -> None:
    order = _table_order(render_drift_report(analysis))
    by_name = {f["feature"]: f for f in analysis["features"]}
    drifted = [by_name[name]["drifted"] for name in order]
    assert sorted(order) == sorted(by_name)
    assert drifted == sorted(drifted, reverse=True)
    assert drifted.count(True) == 4
    for flag in (True, False):
        psis = [by_name[n]["psi"] for n in order if by_name[n]["drifted"] is flag]
        assert psis == sorted(psis, reverse=True)
    assert order[:2] == ["card_age", "card_fico_score"]


def test_drifted_rows_and_histograms_are_marked_in_words_not_only_colour(analysis) -> None:
    document = render_drift_report(analysis)
    assert document.count('<tr class="drifted">') == 4
    assert document.count('<figure class="histogram drifted"') == 4
    assert "4<small>of 15</small>" in document
    assert "PSI &gt; 0.2" in document
    assert "p ≤ 0.05" in document


def test_histograms_follow_the_table_order(analysis) -> None:
    document = render_drift_report(analysis)
    figures = re.findall(r"<figcaption><strong>([^<]*)</strong>", document)
    assert figures == _table_order(document)


def test_sort_by_drift_puts_features_without_psi_last_within_their_group() -> None:
    features = [
        {"feature": "a", "drifted": False, "psi": None},
        {"feature": "b", "drifted": False, "psi": 0.1},
        {"feature": "c", "drifted": True, "psi": 0.3},
        {"feature": "d", "pvalue_drifted": True, "psi": 0.01},
        {"feature": "e", "drifted": True, "psi": 0.9},
    ]
    assert [f["feature"] for f in sort_by_drift(features)] == ["e", "c", "d", "b", "a"]


@pytest.mark.parametrize(
    ("pvalue", "shown"),
    [
        (0.0, "< 1e-16"),
        (1e-80, "< 1e-16"),
        (3.2e-5, "3.2e-05"),
        (0.0004, "4.0e-04"),
        (0.0123, "0.012"),
        (0.41, "0.41"),
        (1.0, "1"),
        (None, "n/a"),
        (float("nan"), "n/a"),
        ("not a number", "n/a"),
    ],
)
def test_pvalues_are_formatted_for_reading(pvalue, shown) -> None:
    assert format_pvalue(pvalue) == shown


def test_hostile_names_and_categories_are_escaped(analysis) -> None:
    script = "<script>alert(1)</script>"
    image = '"><img src=x>'
    analysis["features"][0]["feature"] = script
    analysis["features"][11]["new_categories"] = [image]
    analysis["features"][11]["histogram"]["categories"][0] = image
    analysis["reference"]["period"] = script
    analysis["performance_drift"][image] = {"reference": 1, "current": 2}
    document = render_drift_report(analysis, title=image)
    parsed = parse(document)
    assert "script" not in parsed.tags
    assert "img" not in parsed.tags
    assert script not in document
    assert image not in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "&quot;&gt;&lt;img src=x&gt;" in document
    assert script in " ".join(parsed.text)


def test_the_report_references_nothing_outside_itself(analysis) -> None:
    analysis["features"][3]["feature"] = "see https://example.com/data"
    document = render_drift_report(analysis)
    parsed = parse(document)
    assert {"script", "img", "link", "iframe", "object", "embed"}.isdisjoint(parsed.tags)
    for _tag, name, value in parsed.attributes:
        if name in {"src", "href", "xlink:href", "action", "srcset"}:
            assert value.startswith("#"), (name, value)
        assert "//" not in value, (name, value)
    style = document.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "url(" not in style
    assert "@import" not in style
    # The only address in the page is the one that was data, and it is only ever shown as text.
    assert document.count("http") == document.count("see https://example.com/data") > 0
    assert "see https://example.com/data" in parsed.text


@pytest.mark.parametrize(
    "analysis",
    [
        {},
        {"data_drift": {"value": 0.51, "ci_low": 0.49, "ci_high": 0.53, "pvalue": 0.2}},
        {"data_drift": {"value": None}, "features": []},
        {"features": None, "prediction_drift": None, "performance_drift": None},
        {
            "features": [
                {"feature": "x"},
                {"feature": "y", "kind": "numeric", "histogram": {"edges": [1, 2], "current": []}},
                {"feature": "z", "histogram": {"categories": ["a"], "reference": [1, 2]}},
                "not a feature",
            ],
            "riskiest_features": [{"feature": "x"}],
        },
    ],
)
def test_a_sparse_analysis_renders_with_na_instead_of_failing(analysis) -> None:
    document = render_drift_report(analysis)
    assert document.rstrip().endswith("</html>")
    assert "n/a" in document
    for feature in analysis.get("features") or []:
        if isinstance(feature, dict):
            assert feature["feature"] in document


def test_a_data_drift_only_analysis_shows_the_data_drift() -> None:
    document = render_drift_report(
        {"data_drift": {"value": 0.51, "ci_low": 0.49, "ci_high": 0.53, "pvalue": 0.2}}
    )
    assert "0.51" in document
    assert "95 % CI 0.49–0.53" in document
    assert 'class="card primary stable"' in document
    assert "No per-feature statistics" in document


def test_open_and_infinite_edges_are_both_drawn_as_end_bars(analysis) -> None:
    histogram = analysis["features"][0]["histogram"]
    from_json = render_drift_report(analysis)
    histogram["edges"] = [-math.inf, *histogram["edges"][1:-1], math.inf]
    from_python = render_drift_report(analysis)
    assert from_json == from_python
    assert ">&lt;</text>" in from_json
    assert ">&gt;</text>" in from_json


def test_a_discrete_feature_with_repeated_deciles_gets_equal_width_bins(analysis) -> None:
    analysis["features"] = [
        {
            "feature": "signature_provided",
            "kind": "numeric",
            "histogram": {
                "edges": [None, 0, 0, 1, None],
                "reference": [0, 0.4, 0.6, 0],
                "current": [0, 0.7, 0.3, 0],
            },
        }
    ]
    document = render_drift_report(analysis)
    assert "share per bin" in document
    assert "reference 40.0 %, current 70.0 %" in document


def test_a_report_for_fifteen_features_stays_small(analysis) -> None:
    assert len(render_drift_report(analysis).encode()) < 300_000


def test_writing_replaces_the_file_whole(analysis, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "2017Q4.html"
    target.parent.mkdir()
    target.write_text("old report")
    expected = render_drift_report(analysis)
    seen: set[str] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.add(target.read_text(encoding="utf-8"))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(20):
            assert write_drift_report(analysis, target) == target
    finally:
        stop.set()
        watcher.join()
    assert seen <= {"old report", expected}
    assert target.read_text(encoding="utf-8") == expected
    assert [p.name for p in target.parent.iterdir()] == ["2017Q4.html"]
    assert target.stat().st_mode & 0o044 == 0o044


def test_a_failed_write_leaves_the_previous_report_and_no_temporary_file(
    analysis, tmp_path: Path, monkeypatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("previous")

    def refuse(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("include.files.os.replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_drift_report(analysis, target)
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_small_reference_is_shown_prominently_with_what_it_means(analysis) -> None:
    analysis["reference"].update(
        rows=19,
        small=True,
        description="the user's reference dataset",
        note="the reference holds 19 rows: the drift statistics compare against very few rows; "
        "only large changes can be told apart from chance; effect sizes are not used",
    )
    analysis["features"][0].update(flag_basis="significance alone")

    text = " ".join(parse(render_drift_report(analysis)).text)

    assert "Small reference: 19 rows" in text
    assert "only large changes can be told apart from chance" in text
    assert "Reference: the user's reference dataset" in text
    assert "significance alone: too few rows for an effect size" in text


def test_a_large_reference_gets_no_warning(analysis) -> None:
    analysis["reference"].update(small=False, note=None)

    assert "Small reference" not in render_drift_report(analysis)


def test_the_one_stylesheet_is_inlined_whole(analysis) -> None:
    stylesheet = (TEMPLATES / "report" / "report.css").read_text(encoding="utf-8")
    document = render_drift_report(analysis)
    assert document.count("<style>") == 1
    assert stylesheet in document.split("<style>", 1)[1].split("</style>", 1)[0]


@pytest.mark.parametrize("analysis", ["not an analysis", ["a"], None, 5])
def test_what_is_not_an_analysis_renders_as_the_empty_report(analysis) -> None:
    assert render_drift_report(analysis) == render_drift_report({})


def test_a_feature_stored_without_its_drifted_flag_is_drifted_by_the_flags_that_make_it(
    analysis,
) -> None:
    for feature in analysis["features"]:
        del feature["drifted"]
    analysis["features"][0].update(pvalue_drifted=False, psi_drifted=False)
    analysis["features"][2].update(pvalue_drifted=False, psi_drifted=True)
    flagged = [f for f in analysis["features"] if f["pvalue_drifted"] or f["psi_drifted"]]

    document = render_drift_report(analysis)

    assert document.count('<tr class="drifted">') == len(flagged)
    assert _table_order(document)[: len(flagged)] == [f["feature"] for f in sort_by_drift(flagged)]


def test_a_verdict_or_histogram_missing_from_the_analysis_is_left_out(analysis) -> None:
    del analysis["data_drift"]["verdict"], analysis["prediction_drift"]["histogram"]

    document = render_drift_report(analysis)

    assert '<p class="verdict">' not in document
    assert "Predicted probability, reference against current" not in document
