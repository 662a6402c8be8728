"""include/mes/records: what goes into the store (finite metrics, JSON-safe values)."""

from __future__ import annotations

import json
import math
from datetime import date, datetime

import numpy as np
import pandas as pd

from include.mes.records import EvaluationRecord, finite_metrics, json_safe
from include.periods import Period


def _record(**changes) -> EvaluationRecord:
    return EvaluationRecord(
        store_name="the_MES",
        model_name="fraud",
        model_version="v1",
        period=Period.parse("2019Q2"),
        row_count=10,
        metrics={"auc": 0.9},
        **changes,
    )


def test_the_display_name_is_the_name_else_the_period():
    assert _record().display_name == "2019Q2"
    assert _record(name="after the fix").display_name == "after the fix"


def test_a_record_has_the_documented_defaults():
    record = _record()
    assert record.labelled is True
    assert record.labels == {}
    assert record.column_statistics == ()
    assert record.feature_drift == ()
    assert record.sample is None


def test_finite_metrics_keep_finite_numbers_as_floats():
    kept = finite_metrics({"auc": np.float32(0.5), "count": 3, "text": "0.25"})
    assert kept == {"auc": 0.5, "count": 3.0, "text": 0.25}
    assert all(type(value) is float for value in kept.values())


def test_finite_metrics_leave_out_what_is_not_a_finite_number():
    metrics = {
        "nan": float("nan"),
        "inf": np.inf,
        "none": None,
        "bool": True,
        "text": "n/a",
        "list": [1],
        "ok": 1,
    }
    assert finite_metrics(metrics) == {"ok": 1.0}


def test_finite_metric_names_become_text():
    assert finite_metrics({1: 0.5}) == {"1": 0.5}


def test_json_safe_turns_numpy_and_pandas_values_into_json():
    value = {
        "int": np.int64(3),
        "float": np.float32(0.5),
        "bool": np.bool_(True),
        "array": np.array([1, 2]),
        "tuple": (1.5, None),
        "nan": float("nan"),
        "inf": -np.inf,
        "timestamp": pd.Timestamp("2019-04-01 12:00"),
        "date": date(2019, 4, 1),
        "datetime": datetime(2019, 4, 1, 8, 30),
        "na": pd.NA,
        "other": Period.parse("2019Q2"),
        7: "key",
    }
    safe = json_safe(value)
    assert safe == {
        "int": 3,
        "float": 0.5,
        "bool": True,
        "array": [1, 2],
        "tuple": [1.5, None],
        "nan": None,
        "inf": None,
        "timestamp": "2019-04-01T12:00:00",
        "date": "2019-04-01",
        "datetime": "2019-04-01T08:30:00",
        "na": None,
        "other": "2019Q2",
        "7": "key",
    }
    assert type(safe["int"]) is int
    assert type(safe["bool"]) is bool
    json.dumps(safe, allow_nan=False)


def test_json_safe_recurses_into_nested_values():
    assert json_safe({"a": [{"b": np.float64(math.inf)}, {np.int8(1)}]}) == {
        "a": [{"b": None}, [1]]
    }


def test_json_safe_turns_a_missing_timestamp_into_null():
    # pd.NaT is a datetime: it was once stored as the text "NaT"
    assert json_safe({"when": pd.NaT}) == {"when": None}
