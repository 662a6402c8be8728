"""Models trained elsewhere: a saved file, or scores already in the data, registered and loaded."""

from __future__ import annotations

import json
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest

from include.errors import ConfigurationError, DataValidationError, ModelIntegrityError
from include.evaluation.evaluate import evaluate_batch, predict_proba
from include.model.file_model import file_sha256
from include.model.registry import METADATA_FILE, list_versions, load_model, register_model
from include.model.sources import SMALL_REFERENCE_ROWS
from include.periods import Period
from tests.unit.model.conftest import external_config, make_rows

FEATURE_COLUMNS = ["amount", "age", "channel"]


def _save(model, path, how: str):
    if how == "joblib":
        joblib.dump(model, path)
    else:
        path.write_bytes(pickle.dumps(model))
    return path


@pytest.mark.parametrize(("how", "name"), [("joblib", "model.joblib"), ("pickle", "model.pkl")])
def test_a_saved_model_is_registered_and_scores_like_the_original(
    how, name, outside_model, reference_rows, tmp_path
) -> None:
    path = _save(outside_model, tmp_path / name, how)
    config = external_config({"source": "file", "path": str(path)})
    model = register_model(
        config, reference_rows, root=tmp_path / "models", reference_description="Q1 rows"
    )

    digest = file_sha256(path)
    assert model.version == f"file-{digest[:12]}"
    metadata = model.metadata
    assert metadata["source"] == "file"
    assert metadata["file"]["path"] == str(path.resolve())
    assert metadata["file"]["format"] == how
    assert metadata["file"]["sha256"] == digest
    # The file travels with the version (bundles carry it), under its recorded checksum.
    assert metadata["checksums"][metadata["file"]["copy"]] == digest
    assert metadata["threshold"] == 0.5
    assert metadata["reference"]["rows"] == len(reference_rows)
    assert metadata["reference"]["small"] is False
    assert metadata["reference"]["period"]["name"] == "2017Q1"
    assert metadata["test_metrics"]["auc"] > 0.6
    assert set(metadata["feature_importances"]) == set(FEATURE_COLUMNS)
    assert metadata["feature_importances_method"] == "permutation"

    batch = make_rows(400, start="2017-04-01", seed=5)
    loaded = load_model(config, root=tmp_path / "models")
    np.testing.assert_array_equal(
        predict_proba(loaded, batch, config),
        outside_model.predict_proba(batch[FEATURE_COLUMNS])[:, 1],
    )
    evaluation = evaluate_batch(loaded, batch, config, Period.parse("2017Q2"))
    assert evaluation.performance is not None
    assert evaluation.drift is not None


def test_registering_the_same_model_twice_gives_the_same_version_untouched(
    outside_model, reference_rows, tmp_path
) -> None:
    path = _save(outside_model, tmp_path / "model.joblib", "joblib")
    config = external_config({"source": "file", "path": str(path)})
    root = tmp_path / "models"
    first = register_model(config, reference_rows, root=root, reference_description="Q1")
    written = (first.path / METADATA_FILE).stat().st_mtime_ns
    second = register_model(config, reference_rows, root=root, reference_description="Q1")
    assert second.version == first.version
    assert (second.path / METADATA_FILE).stat().st_mtime_ns == written
    assert list_versions("churn", root) == [first.version]


def test_a_model_file_changed_after_registering_is_refused_before_unpickling(
    outside_model, reference_rows, tmp_path
) -> None:
    path = _save(outside_model, tmp_path / "model.pkl", "pickle")
    config = external_config({"source": "file", "path": str(path)})
    root = tmp_path / "models"
    version = register_model(config, reference_rows, root=root, reference_description="Q1").version

    # A pickle that would run code when loaded: the checksum must refuse it first.
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (marker.write_text, ("ran",))

    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelIntegrityError, match=rf"changed since version {version} was regis"):
        load_model(config, root=root)
    assert not marker.exists()

    # The copy inside the version folder is checked the same way.
    path.unlink()
    copy = root / "churn" / version / "model_file.pickle"
    copy.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelIntegrityError, match="does not match its recorded SHA-256"):
        load_model(config, root=root)
    assert not marker.exists()


def test_an_object_without_predict_proba_is_refused_with_what_it_is(
    reference_rows, tmp_path
) -> None:
    from sklearn.linear_model import LinearRegression

    features, labels = reference_rows[["amount", "age"]], reference_rows["churned"]
    regression = LinearRegression().fit(features, labels)
    path = _save(regression, tmp_path / "regression.joblib", "joblib")
    config = external_config({"source": "file", "path": str(path)})
    with pytest.raises(ModelIntegrityError, match="LinearRegression, which has no predict_proba"):
        register_model(config, reference_rows, root=tmp_path / "models", reference_description="Q1")
    assert list_versions("churn", tmp_path / "models") == []
    assert not any((tmp_path / "models" / "churn").iterdir())  # nothing half written


def test_a_model_with_the_positive_class_first_is_scored_on_the_right_column(
    reference_rows, tmp_path
) -> None:
    from sklearn.ensemble import RandomForestClassifier

    rows = reference_rows.assign(churned=np.where(reference_rows["churned"] == 1, "yes", "no"))
    forest = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0)
    forest.fit(rows[["amount", "age"]], rows["churned"].map({"yes": "a_yes", "no": "b_no"}))
    path = _save(forest, tmp_path / "forest.joblib", "joblib")
    config = external_config(
        {"source": "file", "path": str(path)},
        numeric_features=["amount", "age"],
        categorical_features=[],
        positive_class="a_yes",
    )
    rows = rows.assign(churned=rows["churned"].map({"yes": "a_yes", "no": "b_no"}))
    model = register_model(config, rows, root=tmp_path / "m", reference_description="Q1")
    assert model.positive_index == 0
    assert model.metadata["test_metrics"]["auc"] > 0.6
    # Its own importances are per configured feature: used as they are, no permutation needed.
    assert model.metadata["feature_importances_method"] == "model"


def test_a_skops_file_is_registered_trusting_the_types_it_held(
    outside_model, reference_rows, tmp_path
) -> None:
    sio = pytest.importorskip("skops.io")
    path = tmp_path / "model.skops"
    sio.dump(outside_model, path)
    config = external_config({"source": "file", "path": str(path)})
    model = register_model(config, reference_rows, root=tmp_path / "m", reference_description="Q1")
    assert model.metadata["file"]["format"] == "skops"
    batch = make_rows(50, start="2017-04-01", seed=8)
    np.testing.assert_allclose(
        predict_proba(model, batch, config),
        outside_model.predict_proba(batch[FEATURE_COLUMNS])[:, 1],
    )


def test_a_small_reference_is_flagged_with_what_it_means(outside_model, tmp_path) -> None:
    path = _save(outside_model, tmp_path / "model.joblib", "joblib")
    config = external_config({"source": "file", "path": str(path)})
    rows = make_rows(300)
    model = register_model(config, rows, root=tmp_path / "m", reference_description="Q1")
    reference = model.metadata["reference"]
    assert reference["small"] is True
    assert reference["rows"] == 300 < SMALL_REFERENCE_ROWS
    assert "only 300 rows" in reference["note"]
    assert "detect only large shifts" in reference["note"]


def test_a_train_source_is_not_registered(reference_rows, tmp_path) -> None:
    config = external_config({"source": "train"})
    with pytest.raises(ConfigurationError, match="run train"):
        register_model(config, reference_rows, root=tmp_path, reference_description="Q1")


# The predictions source: the rows carry the model's score (and maybe its predicted class).


def _scored(rows: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = np.clip(0.35 * rows["churned"] + rng.uniform(0, 0.65, len(rows)), 0.0, 1.0)
    return rows.assign(score=score, decision=(score >= 0.4).astype("int64"))


def test_predictions_are_read_from_the_score_column(reference_rows, tmp_path) -> None:
    config = external_config({"source": "predictions", "score_column": "score"})
    reference = _scored(reference_rows)
    model = register_model(config, reference, root=tmp_path, reference_description="Q1 scores")
    assert model.pipeline is None
    assert model.version.startswith("predictions-")
    assert model.metadata["predictions"] == {"score_column": "score", "prediction_column": None}
    assert model.metadata["feature_importances_method"].startswith("none")
    assert model.metadata["test_metrics"]["auc"] > 0.7
    again = register_model(config, reference, root=tmp_path, reference_description="Q1 scores")
    assert again.version == model.version

    batch = _scored(make_rows(300, start="2017-04-01", seed=4), seed=2)
    np.testing.assert_array_equal(predict_proba(model, batch, config), batch["score"].to_numpy())
    evaluation = evaluate_batch(model, batch, config, Period.parse("2017Q2"))
    np.testing.assert_array_equal(
        evaluation.sample["prediction"], (evaluation.sample["proba"] >= 0.5).astype("int8")
    )


def test_a_prediction_column_gives_the_predicted_class(reference_rows, tmp_path) -> None:
    config = external_config(
        {"source": "predictions", "score_column": "score", "prediction_column": "decision"}
    )
    model = register_model(
        config, _scored(reference_rows), root=tmp_path, reference_description="Q1"
    )
    batch = _scored(make_rows(300, start="2017-04-01", seed=4), seed=2)
    evaluation = evaluate_batch(model, batch, config, Period.parse("2017Q2"))
    # The model decided at 0.4, not at the configured 0.5: its own decisions are reported.
    expected = batch.set_index(["amount", "age"])["decision"]
    got = evaluation.sample.set_index(["amount", "age"])["prediction"]
    assert (got == expected.loc[got.index]).all()
    assert ((evaluation.sample["proba"] < 0.5) & (evaluation.sample["prediction"] == 1)).any()


@pytest.mark.parametrize(
    ("score", "message"),
    [
        (1.7, r"outside \[0, 1\] \(e\.g\. 1\.7\)"),
        (np.nan, "missing on 1 of"),
        ("high", "not numbers \\(e\\.g\\. 'high'\\)"),
    ],
)
def test_bad_scores_are_refused_with_what_is_wrong(score, message, reference_rows, tmp_path):
    config = external_config({"source": "predictions", "score_column": "score"})
    reference = _scored(reference_rows)
    broken = reference.astype({"score": object})
    broken.loc[5, "score"] = score
    if not isinstance(score, str):
        broken["score"] = broken["score"].astype("float64")
    with pytest.raises(DataValidationError, match=message):
        register_model(config, broken, root=tmp_path, reference_description="Q1")

    model = register_model(config, reference, root=tmp_path, reference_description="Q1")
    batch = _scored(make_rows(100, start="2017-04-01", seed=4)).astype({"score": object})
    batch.loc[3, "score"] = score
    with pytest.raises(DataValidationError, match=message):
        predict_proba(model, batch, config)


def test_a_missing_score_column_is_named(reference_rows, tmp_path) -> None:
    config = external_config({"source": "predictions", "score_column": "score"})
    with pytest.raises(DataValidationError, match="lack the score column 'score'"):
        register_model(config, reference_rows, root=tmp_path, reference_description="Q1")


def test_a_version_of_another_source_or_threshold_is_not_loaded(
    outside_model, reference_rows, tmp_path
) -> None:
    path = _save(outside_model, tmp_path / "model.joblib", "joblib")
    root = tmp_path / "models"
    config = external_config({"source": "file", "path": str(path)})
    register_model(config, reference_rows, root=root, reference_description="Q1")
    stricter = external_config({"source": "file", "path": str(path), "threshold": 0.3})
    with pytest.raises(ModelIntegrityError, match=r"threshold is 0\.5.*Register"):
        load_model(stricter, root=root)
    model = register_model(stricter, reference_rows, root=root, reference_description="Q1")
    assert model.version.endswith("-t0.3")
    assert model.threshold == 0.3
    recorded = json.loads((model.path / METADATA_FILE).read_text())
    assert recorded["threshold"] == 0.3


def test_a_version_loads_from_its_own_copy_where_the_model_file_is_absent(
    outside_model, reference_rows, tmp_path
) -> None:
    # As on a machine a bundle was deployed to: the version folder travels, the user's file not.
    path = _save(outside_model, tmp_path / "model.joblib", "joblib")
    config = external_config({"source": "file", "path": str(path)})
    root = tmp_path / "models"
    register_model(config, reference_rows, root=root, reference_description="Q1")
    path.unlink()
    batch = make_rows(50, start="2017-04-01", seed=8)
    np.testing.assert_array_equal(
        predict_proba(load_model(config, root=root), batch, config),
        outside_model.predict_proba(batch[FEATURE_COLUMNS])[:, 1],
    )

    # Pointing model.path at another model is a new model: it must be registered.
    other = _save(fit_outside_small(), tmp_path / "other.joblib", "joblib")
    moved = external_config({"source": "file", "path": str(other)})
    with pytest.raises(ModelIntegrityError, match="is not the file version file-"):
        load_model(moved, root=root)


def fit_outside_small():
    from tests.unit.model.conftest import fit_outside

    return fit_outside(make_rows(300, seed=99))
