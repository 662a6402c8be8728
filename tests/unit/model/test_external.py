"""What an externally built version records: importances, metrics, a labelled reference."""

from __future__ import annotations

import pytest

from include.errors import DataValidationError
from include.model.external import external_version
from include.model.sources import SourceIdentity
from tests.unit.model.conftest import external_config


def test_the_reference_must_be_labelled(reference_rows, outside_model) -> None:
    config = external_config({"source": "file", "path": "m.joblib"})

    with pytest.raises(DataValidationError, match=r"\(Q1\) lack the label 'churned'"):
        external_version(
            config,
            reference_rows.drop(columns=["churned"]),
            SourceIdentity("file-x"),
            outside_model,
            "Q1",
        )


def test_a_pipeline_gets_permutation_importances_summing_to_one(
    reference_rows, outside_model
) -> None:
    config = external_config({"source": "file", "path": "m.joblib"})

    version = external_version(
        config, reference_rows, SourceIdentity("file-x"), outside_model, "Q1"
    )

    importances = version.metadata["feature_importances"]
    assert version.metadata["feature_importances_method"] == "permutation"
    assert set(importances) == {"amount", "age", "channel"}
    assert sum(importances.values()) == pytest.approx(1.0)
    assert 0.5 < version.metadata["test_metrics"]["auc"] <= 1.0


def test_predictions_have_no_importances(reference_rows) -> None:
    rows = reference_rows.assign(score=0.3)
    config = external_config({"source": "predictions", "score_column": "score"})

    version = external_version(config, rows, SourceIdentity("predictions-x"), None, "Q1")

    assert version.metadata["feature_importances_method"].startswith("none")
    assert set(version.metadata["feature_importances"].values()) == {0.0}
