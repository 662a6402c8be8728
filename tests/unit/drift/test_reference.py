from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from include.drift.reference import (
    HISTOGRAM_BINS,
    PROFILE_ARRAYS,
    PROFILE_JSON,
    ReferenceProfile,
    build_reference_profile,
)
from include.drift.stats.psi import DECILES
from include.errors import DataValidationError, EmptyBatchError, ModelIntegrityError


@pytest.fixture
def reference() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    amount = rng.lognormal(size=2_000).round(2)
    amount[:5] = np.nan
    amount[5:7] = np.inf
    return pd.DataFrame(
        {
            "amount": amount,
            "age": rng.integers(18, 90, 2_000),
            "empty": np.full(2_000, np.nan),
            "program": rng.choice(["gold", "silver", None], 2_000),
            "code": rng.integers(0, 4, 2_000),
        }
    )


@pytest.fixture
def profile(reference) -> ReferenceProfile:
    return build_reference_profile(
        reference, numeric=["amount", "age", "empty"], categorical=["program", "code"]
    )


def test_numeric_reference_holds_sorted_values_counts_and_bins(reference, profile):
    amount = profile.numeric[0]
    finite = np.sort(reference["amount"].to_numpy()[np.isfinite(reference["amount"])])

    assert profile.rows == 2_000
    assert profile.features == ("amount", "age", "empty", "program", "code")
    np.testing.assert_array_equal(amount.values, finite)
    assert (amount.rows, amount.missing, amount.infinite) == (2_000, 5, 2)
    np.testing.assert_array_equal(amount.decile_edges, np.unique(np.quantile(finite, DECILES)))
    low, high = np.quantile(finite, [0.005, 0.995])
    np.testing.assert_allclose(
        amount.histogram_edges, np.linspace(low, high, HISTOGRAM_BINS + 1), rtol=1e-12
    )
    assert amount.histogram_shares.size == HISTOGRAM_BINS + 2
    assert amount.histogram_shares.sum() == pytest.approx(1.0)
    assert not amount.values.flags.writeable


def test_a_numeric_feature_without_finite_values_has_empty_arrays(profile):
    empty = profile.numeric[2]

    assert (empty.rows, empty.missing, empty.values.size, empty.decile_edges.size) == (
        2_000,
        2_000,
        0,
        0,
    )


def test_categorical_reference_counts_text_categories_most_frequent_first(reference, profile):
    program, code = profile.categorical

    assert set(program.categories) == {"gold", "silver", "(missing)"}
    assert sum(program.counts) == 2_000
    assert list(program.counts) == sorted(program.counts, reverse=True)
    assert set(code.categories) == {"0", "1", "2", "3"}


def test_save_and_load_round_trip(tmp_path, profile):
    written = profile.save(tmp_path / "profile")

    loaded = ReferenceProfile.load(tmp_path / "profile")

    assert sorted(p.name for p in written) == sorted([PROFILE_JSON, PROFILE_ARRAYS])
    assert loaded.rows == profile.rows
    assert loaded.categorical == profile.categorical
    for saved, read in zip(profile.numeric, loaded.numeric, strict=True):
        assert (read.name, read.rows, read.missing, read.infinite) == (
            saved.name,
            saved.rows,
            saved.missing,
            saved.infinite,
        )
        for part in ("values", "decile_edges", "histogram_edges", "histogram_shares"):
            np.testing.assert_array_equal(getattr(read, part), getattr(saved, part))


def test_saving_the_same_profile_twice_gives_the_same_bytes(tmp_path, profile):
    first = [p.read_bytes() for p in profile.save(tmp_path / "a")]
    second = [p.read_bytes() for p in profile.save(tmp_path / "b")]

    assert first == second
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        [PROFILE_JSON, PROFILE_ARRAYS]
    )  # no temporary file left behind


def test_missing_file_is_an_integrity_error(tmp_path, profile):
    profile.save(tmp_path)
    (tmp_path / PROFILE_ARRAYS).unlink()

    with pytest.raises(ModelIntegrityError, match=r"reference_profile\.npz is missing"):
        ReferenceProfile.load(tmp_path)


def test_truncated_arrays_file_is_an_integrity_error(tmp_path, profile):
    profile.save(tmp_path)
    arrays = tmp_path / PROFILE_ARRAYS
    arrays.write_bytes(arrays.read_bytes()[:1_000])

    with pytest.raises(ModelIntegrityError, match="cannot be read"):
        ReferenceProfile.load(tmp_path)


def test_invalid_json_is_an_integrity_error(tmp_path, profile):
    profile.save(tmp_path)
    (tmp_path / PROFILE_JSON).write_text("{not json")

    with pytest.raises(ModelIntegrityError, match="cannot be read"):
        ReferenceProfile.load(tmp_path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(rows=1_999), "do not add up"),
        (lambda d: d["categorical"][0]["counts"].__setitem__(0, -1), "is not a count"),
        (lambda d: d["numeric"][0].pop("missing"), "'missing' is missing"),
        (lambda d: d["numeric"].pop(), "the arrays file holds"),
        (lambda d: d.update(version=99), "not a reference profile"),
        (lambda d: d["categorical"][1].update(name="program"), "listed twice"),
    ],
)
def test_edited_json_is_an_integrity_error(tmp_path, profile, edit, message):
    profile.save(tmp_path)
    document = json.loads((tmp_path / PROFILE_JSON).read_text())
    edit(document)
    (tmp_path / PROFILE_JSON).write_text(json.dumps(document))

    with pytest.raises(ModelIntegrityError, match=message):
        ReferenceProfile.load(tmp_path)


def test_unsorted_values_are_an_integrity_error(tmp_path, profile):
    profile.save(tmp_path)
    with np.load(tmp_path / PROFILE_ARRAYS) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["numeric0_values"] = arrays["numeric0_values"][::-1].copy()
    np.savez(tmp_path / PROFILE_ARRAYS, **arrays)

    with pytest.raises(ModelIntegrityError, match="not in ascending order"):
        ReferenceProfile.load(tmp_path)


def test_pickled_arrays_are_refused(tmp_path, profile):
    profile.save(tmp_path)
    np.savez(tmp_path / PROFILE_ARRAYS, numeric0_values=np.array([object()]))

    with pytest.raises(ModelIntegrityError):
        ReferenceProfile.load(tmp_path)


def test_build_refuses_missing_features_text_and_no_rows(reference):
    with pytest.raises(DataValidationError, match=r"\['balance'\] missing from the reference"):
        build_reference_profile(reference, numeric=["balance"], categorical=[])
    with pytest.raises(DataValidationError, match="feature 'program' is listed as numeric"):
        build_reference_profile(reference, numeric=["program"], categorical=[])
    with pytest.raises(DataValidationError, match="listed twice"):
        build_reference_profile(reference, numeric=["age"], categorical=["age"])
    with pytest.raises(EmptyBatchError, match="no rows"):
        build_reference_profile(reference.iloc[:0], numeric=["age"], categorical=[])
