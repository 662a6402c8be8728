"""The reference profile: what each feature looked like in the reference data, kept as files.

It is computed once per model version from the reference (training) frame, so that evaluating
a new batch never reads or re-sorts the reference again. Per numeric feature it keeps the sorted
finite values (for the Kolmogorov–Smirnov test and the Wasserstein distance), the row, missing
and infinite counts, the decile edges (for the PSI) and the edges and shares of a display
histogram; per categorical feature the rows per category. ``save`` writes one ``.npz`` with the
arrays and one JSON file with everything else; ``load`` refuses any file that does not hold a
well-formed profile.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from include.drift.columns import check_features, count_categories, read_numeric
from include.drift.stats.binning import bin_shares, sorted_quantiles
from include.drift.stats.psi import decile_edges
from include.errors import EmptyBatchError, ModelIntegrityError
from include.files import write_atomically

HISTOGRAM_BINS = 20
HISTOGRAM_RANGE = (0.005, 0.995)
"""The display histogram: equal-width bins between these reference quantiles, plus open outer
bins below and above so that every current value lands in a bin."""

PROFILE_JSON = "reference_profile.json"
PROFILE_ARRAYS = "reference_profile.npz"
_FORMAT = {"format": "mes-reference-profile", "version": 1}
_ARRAYS = ("values", "decile_edges", "histogram_edges", "histogram_shares")


@dataclass(frozen=True, eq=False)
class NumericReference:
    """One numeric feature of the reference.

    ``values``: the finite values, sorted, float64. ``rows`` = ``values.size + missing +
    infinite``. ``decile_edges``: the distinct inner deciles (PSI bins). ``histogram_edges``:
    the inner edges of the display histogram, 21 equal-width edges between the 0.5 % and 99.5 %
    quantiles; ``histogram_shares`` the share of ``values`` in each of its 22 bins, the outer two
    open. Bins are closed on the right (see :mod:`include.drift.stats.binning`). Without any
    finite value the four arrays are empty.
    """

    name: str
    values: np.ndarray
    rows: int
    missing: int
    infinite: int
    decile_edges: np.ndarray
    histogram_edges: np.ndarray
    histogram_shares: np.ndarray


@dataclass(frozen=True)
class CategoricalReference:
    """One categorical feature of the reference: rows per category (as text), most frequent
    first; missing values are the category ``(missing)``."""

    name: str
    categories: tuple[str, ...]
    counts: tuple[int, ...]

    @property
    def rows(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """Everything univariate drift needs from the reference, per feature (numeric first)."""

    rows: int
    numeric: tuple[NumericReference, ...]
    categorical: tuple[CategoricalReference, ...]

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.numeric) + tuple(f.name for f in self.categorical)

    def save(self, folder: Path) -> list[Path]:
        """Write the profile into ``folder`` (created if needed); returns the files written.

        Each file is written under a temporary name and renamed, so a crash never leaves a
        half-written file; the bytes depend only on the profile, so checksums are stable.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        numeric = []
        for index, feature in enumerate(self.numeric):
            for part in _ARRAYS:
                arrays[f"numeric{index}_{part}"] = getattr(feature, part)
            numeric.append(
                {
                    "name": feature.name,
                    "rows": feature.rows,
                    "missing": feature.missing,
                    "infinite": feature.infinite,
                }
            )
        document = _FORMAT | {
            "rows": self.rows,
            "numeric": numeric,
            "categorical": [
                {"name": f.name, "categories": list(f.categories), "counts": list(f.counts)}
                for f in self.categorical
            ],
        }
        arrays_path, json_path = folder / PROFILE_ARRAYS, folder / PROFILE_JSON
        write_atomically(arrays_path, lambda handle: _write_npz(handle, arrays))
        text = json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
        write_atomically(json_path, lambda handle: handle.write(text.encode()))
        return [json_path, arrays_path]

    @classmethod
    def load(cls, folder: Path) -> ReferenceProfile:
        """Read a profile written by :meth:`save`; ModelIntegrityError if absent or malformed."""
        folder = Path(folder)
        json_path, arrays_path = folder / PROFILE_JSON, folder / PROFILE_ARRAYS
        try:
            document = json.loads(json_path.read_text(encoding="utf-8"))
            with np.load(arrays_path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except FileNotFoundError as exc:
            raise ModelIntegrityError(
                f"reference profile file {exc.filename} is missing; save the model version again"
            ) from None
        except (OSError, ValueError, zipfile.BadZipFile, EOFError, UnicodeDecodeError) as exc:
            raise ModelIntegrityError(
                f"reference profile in {folder} cannot be read ({type(exc).__name__}: {exc}); "
                "the files are damaged: save the model version again"
            ) from None
        try:
            return _profile_from(document, arrays)
        except KeyError as exc:
            raise ModelIntegrityError(
                f"reference profile in {folder} is malformed: the entry {exc.args[0]!r} is "
                "missing; the files are damaged or were edited: save the model version again"
            ) from None
        except (TypeError, ValueError) as exc:
            problem = exc.args[0] if exc.args else type(exc).__name__
            raise ModelIntegrityError(
                f"reference profile in {folder} is malformed: {problem}; "
                "the files are damaged or were edited: save the model version again"
            ) from None


def build_reference_profile(
    reference: pd.DataFrame,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
) -> ReferenceProfile:
    """Profile the listed features of the reference frame (all rows).

    Raises :class:`DataValidationError` naming a feature that is absent, listed twice, or
    listed as numeric but holding non-numbers, and :class:`EmptyBatchError` for no rows.
    """
    numeric, categorical = list(numeric), list(categorical)
    check_features(reference, numeric + categorical, "reference")
    if len(reference) == 0:
        raise EmptyBatchError("the reference data has no rows: there is nothing to compare with")
    return ReferenceProfile(
        rows=len(reference),
        numeric=tuple(_numeric_reference(reference[name], name) for name in numeric),
        categorical=tuple(_categorical_reference(reference[name], name) for name in categorical),
    )


def histogram_edges(reference_sorted: np.ndarray) -> np.ndarray:
    """The display histogram's inner edges: equal-width between the 0.5 % and 99.5 % quantiles
    (a constant column gets the range value ± 0.5, as numpy's histogram)."""
    low, high = sorted_quantiles(reference_sorted, np.array(HISTOGRAM_RANGE))
    if low == high:
        low, high = low - 0.5, high + 0.5
    steps = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    # interpolating without ``high - low``, which overflows for values near ±1.8e308
    edges = low * (1.0 - steps) + high * steps
    edges[0], edges[-1] = low, high
    return edges


def _numeric_reference(series: pd.Series, name: str) -> NumericReference:
    column = read_numeric(series, name)
    if column.values.size:
        deciles = decile_edges(column.values)
        edges = histogram_edges(column.values)
        shares = bin_shares(column.values, edges)
    else:
        deciles = edges = shares = np.empty(0)
    for array in (column.values, deciles, edges, shares):
        array.flags.writeable = False  # the profile is shared by every evaluation of the version
    return NumericReference(
        name=name,
        values=column.values,
        rows=column.rows,
        missing=column.missing,
        infinite=column.infinite,
        decile_edges=deciles,
        histogram_edges=edges,
        histogram_shares=shares,
    )


def _categorical_reference(series: pd.Series, name: str) -> CategoricalReference:
    counts = count_categories(series)
    return CategoricalReference(name, tuple(counts), tuple(counts.values()))


def _profile_from(document: Any, arrays: dict[str, np.ndarray]) -> ReferenceProfile:
    """Rebuild a profile, checking every part; KeyError/TypeError/ValueError say what is wrong."""
    if not isinstance(document, dict) or any(document.get(k) != v for k, v in _FORMAT.items()):
        raise ValueError(f"not a reference profile of format {_FORMAT}")
    rows = _count(document["rows"], "rows")
    numeric = tuple(
        _numeric_from(entry, index, arrays, rows) for index, entry in enumerate(document["numeric"])
    )
    categorical = tuple(_categorical_from(entry, rows) for entry in document["categorical"])
    names = [f.name for f in numeric] + [f.name for f in categorical]
    if len(set(names)) != len(names):
        raise ValueError("a feature is listed twice")
    expected = {f"numeric{i}_{part}" for i in range(len(numeric)) for part in _ARRAYS}
    if set(arrays) != expected:
        raise ValueError(f"the arrays file holds {sorted(arrays)}, expected {sorted(expected)}")
    return ReferenceProfile(rows, numeric, categorical)


def _numeric_from(entry: dict, index: int, arrays: dict, rows: int) -> NumericReference:
    name = entry["name"]
    if not isinstance(name, str):
        raise TypeError(f"numeric feature {index} has no text name")
    parts = {part: arrays[f"numeric{index}_{part}"] for part in _ARRAYS}
    for part, array in parts.items():
        if array.dtype != np.float64 or array.ndim != 1:
            raise ValueError(f"{name!r}: {part} is not a float64 vector")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name!r}: {part} holds NaN or infinite values")
        array.flags.writeable = False
    values, deciles, edges, shares = parts.values()
    feature = NumericReference(
        name=name,
        rows=_count(entry["rows"], f"{name!r} rows"),
        missing=_count(entry["missing"], f"{name!r} missing"),
        infinite=_count(entry["infinite"], f"{name!r} infinite"),
        **parts,
    )
    if feature.rows != rows or values.size + feature.missing + feature.infinite != rows:
        raise ValueError(
            f"{name!r}: the value, missing and infinite counts do not add up to {rows}"
        )
    if np.any(values[1:] < values[:-1]) or np.any(np.diff(deciles) <= 0):
        raise ValueError(f"{name!r}: values or decile edges are not in ascending order")
    has_values = values.size > 0
    if (
        deciles.size > (9 if has_values else 0)
        or (has_values and deciles.size == 0)
        or edges.size != (HISTOGRAM_BINS + 1 if has_values else 0)
        or shares.size != (HISTOGRAM_BINS + 2 if has_values else 0)
        or np.any(np.diff(edges) < 0)  # equal edges happen when the range is one or two ulps
        or np.any(shares < 0)
        or (has_values and not np.isclose(shares.sum(), 1.0))
    ):
        raise ValueError(f"{name!r}: the decile or histogram arrays are inconsistent")
    return feature


def _categorical_from(entry: dict, rows: int) -> CategoricalReference:
    name, categories, counts = entry["name"], entry["categories"], entry["counts"]
    if not isinstance(name, str) or not all(isinstance(c, str) for c in categories):
        raise TypeError("a categorical feature or category is not text")
    counts = tuple(_count(c, f"{name!r} count") for c in counts)
    if len(categories) != len(counts) or len(set(categories)) != len(categories):
        raise ValueError(f"{name!r}: categories and counts do not match one to one")
    if sum(counts) != rows:
        raise ValueError(f"{name!r}: the category counts do not add up to {rows}")
    return CategoricalReference(name, tuple(categories), counts)


def _count(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} is not a count: {value!r}")
    return value


def _write_npz(handle: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    """``numpy.savez`` with fixed timestamps, so that one profile always gives the same bytes."""
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
