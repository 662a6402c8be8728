"""A feature's drift record: validated when built, JSON without NaN nor infinity."""

from __future__ import annotations

import json
import math

import numpy as np

from include.drift.feature_drift import FeatureDrift


def test_non_finite_values_and_numpy_scalars_are_stored_as_json():
    drift = FeatureDrift(
        feature="amount",
        kind="numeric",
        reference_rows=np.int64(10),
        current_rows=10,
        reference_missing_share=0.0,
        current_missing_share=np.float64(0.1),
        psi=math.inf,
        ks_pvalue=math.nan,
        new_categories=("a",),
        histogram={"edges": [-math.inf, 0.0, math.inf], "reference": [0.5, 0.5]},
    )

    stored = json.loads(json.dumps(drift.to_dict(), allow_nan=False))

    assert (stored["psi"], stored["ks_pvalue"]) == (None, None)
    assert stored["histogram"]["edges"] == [None, 0.0, None]
    assert stored["new_categories"] == ["a"]
    assert stored["reference_rows"] == 10
