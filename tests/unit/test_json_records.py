"""Frozen pydantic records: validated when built, JSON without NaN nor infinity."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from include.json_records import JsonFloat, JsonRecord, json_record


@json_record(kw_only=True)
class Sample(JsonRecord):
    count: int
    share: JsonFloat | None = None
    labels: tuple[str, ...] = ()
    extra: dict[str, Any] | None = None


def test_numpy_scalars_become_plain_numbers_when_built():
    sample = Sample(count=np.int64(3), share=np.float64(0.5))

    assert type(sample.count) is int
    assert type(sample.share) is float


def test_non_finite_floats_and_numpy_scalars_dump_as_json_types():
    sample = Sample(
        count=1,
        share=math.nan,
        labels=("a",),
        extra={"edges": [-math.inf, 1.0], "n": np.int64(2), "flag": np.bool_(True)},
    )

    assert sample.model_dump(mode="json") == {
        "count": 1,
        "share": None,
        "labels": ["a"],
        "extra": {"edges": [None, 1.0], "n": 2, "flag": True},
    }
    assert math.isnan(sample.model_dump()["share"])  # python mode keeps the value


def test_records_are_frozen_validated_dataclasses():
    sample = Sample(count=1)

    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.count = 2  # type: ignore[misc]
    with pytest.raises(ValidationError):
        dataclasses.replace(sample, count="many")
    assert Sample.model_validate({"count": 2, "labels": ["b"]}) == Sample(count=2, labels=("b",))
