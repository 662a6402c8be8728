"""Performance drift: undefined metrics never faked, significance read off the intervals."""

from __future__ import annotations

from include.drift.analysis import performance_drift

REFERENCE = {"auc": 0.85, "auc_ci_low": 0.83, "auc_ci_high": 0.87, "recall": 0.6, "f1": 0.5}


def test_an_undefined_metric_is_listed_with_its_reason_and_no_change():
    drift = performance_drift(REFERENCE, {"auc": 0.8}, undefined={"recall": "no positive"})
    assert drift["recall"] == {
        "reference": 0.6,
        "current": None,
        "change": None,
        "undefined": "no positive",
    }


def test_a_change_is_significant_only_beyond_both_intervals():
    # se of each side 0.0102 (width 0.04); difference se 0.0144: beyond 0.0283 is significant
    small = performance_drift(REFERENCE, {"auc": 0.83, "auc_ci_low": 0.81, "auc_ci_high": 0.85})
    assert small["auc"]["significant"] is False
    large = performance_drift(REFERENCE, {"auc": 0.81, "auc_ci_low": 0.79, "auc_ci_high": 0.83})
    assert large["auc"]["significant"] is True
    assert large["auc"]["reference_ci_low"] == 0.83
    assert "auc_ci_low" not in large  # bounds are not metrics of their own here


def test_without_the_reference_interval_the_reference_outside_the_batch_interval_counts():
    reference = {"auc": 0.85}
    inside = performance_drift(reference, {"auc": 0.83, "auc_ci_low": 0.8, "auc_ci_high": 0.86})
    outside = performance_drift(reference, {"auc": 0.8, "auc_ci_low": 0.78, "auc_ci_high": 0.84})
    assert (inside["auc"]["significant"], outside["auc"]["significant"]) == (False, True)


def test_the_report_shows_intervals_significance_and_undefined_metrics():
    import re

    from include.drift.report import render_drift_report

    compared = performance_drift(
        REFERENCE,
        {"auc": 0.81, "auc_ci_low": 0.79, "auc_ci_high": 0.83},
        undefined={"recall": "no positive in the batch"},
    )
    page = render_drift_report({"performance_drift": compared})
    auc = re.search(r"<tr data-metric='auc'>.*?</tr>", page).group(0)
    assert "0.810 <span class='muted'>[0.790, 0.830]</span>" in auc
    assert "0.850 <span class='muted'>[0.830, 0.870]</span>" in auc
    assert "beyond the intervals" in auc
    assert auc.count("<line ") == 2  # the reference's and the batch's whiskers
    recall = re.search(r"<tr data-metric='recall'>.*?</tr>", page).group(0)
    assert "undefined (no positive in the batch)" in recall
    assert "nan" not in recall.lower()
    assert "<svg" not in recall
