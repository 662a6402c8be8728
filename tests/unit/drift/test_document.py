"""The stored drift analysis: a document of the earlier code reads back and writes unchanged, and
any stored form (older, partial, with values of another type) reads back with what does not fit
left out."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from include.drift.document import (
    DriftDocument,
    FeatureRow,
    Histogram,
    MetricChange,
    Side,
    StoredDataDrift,
    StoredSettings,
    Streamed,
)

# stored by the code before the analysis was a pydantic record (commit 06df9c2)
STORED = Path(__file__).parents[1] / "stored" / "drift_analysis.json"


def test_an_analysis_stored_by_earlier_code_round_trips_to_an_equal_document():
    stored = json.loads(STORED.read_text())

    document = DriftDocument.model_validate(stored)

    assert all(isinstance(row, FeatureRow) for row in document.features)
    assert document.data_drift.verdict == stored["data_drift"]["verdict"]
    assert document.to_dict() == stored
    assert json.loads(json.dumps(document.to_dict(), allow_nan=False)) == stored


# --- any stored form reads back: what is missing or does not fit reads as absent ------------


def test_an_analysis_of_the_first_stored_form_reads_with_the_later_fields_absent():
    # 32e9577 stored features without effect sizes, materiality nor the flag's basis, and a
    # reference without its description
    older = json.loads(STORED.read_text())
    later = {"effect_size", "material", "flag_basis", "missing_drifted", "missing_share_change"}
    older["features"] = [{k: v for k, v in f.items() if k not in later} for f in older["features"]]
    older["reference"] = {"model_version": "2017Q1-1", "period": "2017Q1"}

    document = DriftDocument.read(older)

    assert len(document.features) == len(older["features"])
    assert {(row.effect_size, row.material, row.flag_basis) for row in document.features} == {
        (None, None, None)
    }
    assert Side.read(document.reference).description is None


@pytest.mark.parametrize("analysis", [{}, "not an analysis", ["a"], None, 5])
def test_an_empty_analysis_or_none_at_all_reads_as_the_empty_document(analysis):
    document = DriftDocument.read(analysis)

    assert document == DriftDocument()
    assert (document.data_drift, document.prediction_drift) == (None, None)
    assert (document.features, document.performance_drift) == ([], {})


def test_a_partial_data_drift_reads_with_the_rest_absent():
    partial = DriftDocument.read({"data_drift": {"value": 0.51, "pvalue": 0.2}}).data_drift
    undefined = DriftDocument.read({"data_drift": {"value": None}}).data_drift

    assert (partial.value, partial.pvalue, partial.ci_low, partial.verdict) == (
        0.51,
        0.2,
        None,
        None,
    )
    assert undefined == StoredDataDrift()


def test_parts_stored_as_none_or_empty_read_as_absent():
    document = DriftDocument.read(
        {"features": None, "prediction_drift": None, "performance_drift": None, "data_drift": {}}
    )
    assert document == DriftDocument()
    assert DriftDocument.read({"prediction_drift": {}}).prediction_drift is None


def test_a_sparse_feature_reads_and_what_is_not_a_feature_is_left_out():
    document = DriftDocument.read(
        {
            "features": [
                {"feature": "x"},
                {"feature": "y", "kind": "numeric", "histogram": {"edges": [1, 2]}},
                "not a feature",
                {"kind": "numeric"},  # no name: shown as n/a
            ],
            "riskiest_features": [{"feature": "x"}, {"feature": "y", "drift_importance": 0.5}],
        }
    )

    assert [row.feature for row in document.features] == ["x", "y", ""]
    x = document.features[0]
    assert (x.kind, x.reference_rows, x.reference_missing_share, x.drifted) == (None,) * 4
    assert document.features[1].histogram == {"edges": [1, 2]}
    assert document.riskiest_features == []  # without their importances, no risk to show


def test_a_feature_without_its_drifted_flag_keeps_it_unknown():
    row = FeatureRow.read({"feature": "d", "pvalue_drifted": True, "psi": 0.01})

    assert (row.drifted, row.pvalue_drifted, row.psi) == (None, True, 0.01)


def test_values_of_another_type_read_as_absent():
    row = FeatureRow.read(
        {"feature": "x", "kind": "text", "psi": "large", "new_categories": ["a", 1], "note": 3}
    )

    assert (row.kind, row.psi, row.note) == (None, None, None)
    assert row.new_categories == ("a",)
    assert FeatureRow.read({"feature": "x", "psi": "0.25"}).psi == 0.25  # numeric text reads


def test_nan_and_infinity_read_as_none_as_the_store_keeps_them():
    document = DriftDocument.read(
        {"data_drift": {"value": math.nan}, "features": [{"feature": "x", "psi": math.inf}]}
    )
    histogram = Histogram.read({"edges": [-math.inf, 0.5, math.inf], "reference": [math.nan, 1]})

    assert document.data_drift.value is None
    assert document.features[0].psi is None
    assert histogram == Histogram(edges=(None, 0.5, None), reference=(None, 1.0))


def test_a_performance_only_analysis_reads_each_metric_change():
    document = DriftDocument.read(
        {
            "performance_drift": {
                "auc": {"reference": 0.85, "current": 0.81, "current_ci_low": 0.79},
                "recall": {"reference": 0.6, "current": None, "undefined": "no positive"},
                "broken": "not a mapping",
            }
        }
    )
    auc, recall = (MetricChange.read(document.performance_drift[n]) for n in ("auc", "recall"))

    assert list(document.performance_drift) == ["auc", "recall"]
    assert (auc.current, auc.current_ci_low, auc.current_ci_high, auc.change) == (
        0.81,
        0.79,
        None,
        None,
    )
    assert (recall.current, recall.undefined, recall.significant) == (None, "no positive", None)


def test_the_sides_and_settings_read_as_typed_views():
    streamed = Side.read({"period": "2017Q4", "rows": 20000, "streamed": {"partitions": 4}})
    in_memory = Side.read({"period": "2017Q4", "streamed": {}})
    settings = StoredSettings.read({"alpha": 0.05, "correction": "none", "psi_threshold": "x"})

    assert streamed.streamed == Streamed(partitions=4)
    assert (streamed.rows, streamed.small) == (20000.0, False)
    assert in_memory.streamed is None
    assert (settings.alpha, settings.correction, settings.psi_threshold) == (0.05, "none", None)


def test_a_built_document_dumps_what_it_was_built_from():
    # the optional fields are only for reading back: a stored analysis is written whole
    stored = json.loads(STORED.read_text())

    assert DriftDocument.read(stored).to_dict() == stored
    assert DriftDocument.model_validate(stored) == DriftDocument.read(stored)
