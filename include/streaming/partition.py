"""A partition of a batch summarised chunk by chunk, in bounded memory, and partitions merged.

:func:`summarise_partition` reads one partition of a period (a slice of its days, see
``Period.slices``) from the model's row source a chunk at a time (``RowSource.chunks``), scores
each chunk, and keeps only the mergeable summaries of ``include.streaming``: the scores and labels
(:class:`ScoreSummary`), each feature on its reference's edges (:class:`NumericSummary`,
:class:`CategorySummary`), the predicted probability on the reference predictions' edges (for
prediction drift), and a uniform sample of the rows with their scores (:class:`Reservoir`, the
stored sample and the domain classifier's). Memory is a chunk plus the summaries, whatever the
partition's size. :meth:`BatchSummary.merge` combines the partitions' summaries into the batch's:
exactly for counts, within each summary's stated bound for the rest.

Not yet wired into ``evaluate_period``: from a merged summary, ``performance.py`` gives the
realised metrics and ``drift.py`` the univariate drift; the rest of its evaluation and the mapped
tasks are the next steps of issue 14.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from include.config import MonitoringConfig
from include.data.rows import CHUNK_ROWS
from include.data.sources import RowSource
from include.drift.reference import ReferenceProfile
from include.errors import ConfigurationError, DataValidationError
from include.evaluation.evaluate import predict_proba, predicted_classes
from include.model.features import PREDICTION_COLUMN, PROBABILITY_COLUMN, known_labels
from include.model.registry import SavedModel
from include.periods import Period
from include.quality.gate import ReferenceExpectations
from include.streaming.columns import CategorySummary, NumericSummary, reference_edges
from include.streaming.quality import QualityTally
from include.streaming.reservoir import Reservoir
from include.streaming.scores import ScoreSummary


@dataclass(eq=False)
class BatchSummary:
    """Everything an evaluation reads of a batch (or of one of its partitions), mergeable.

    ``rows`` and ``labelled`` count rows and labelled rows; ``label_values`` the distinct label
    values seen (two classes at most across the whole batch, which no single chunk can check);
    ``sample`` is the uniform sample of rows the stored sample and the domain classifier read.
    """

    rows: int
    labelled: int
    label_values: frozenset[Any]
    scores: ScoreSummary
    numeric: dict[str, NumericSummary]
    categorical: dict[str, CategorySummary]
    probability: NumericSummary
    sample: Reservoir | None
    # the predicted class at the model's threshold, as the in-memory prediction drift reads it
    predicted: CategorySummary = field(default_factory=lambda: CategorySummary(PREDICTION_COLUMN))
    # the quality gate's counts (None: not kept, e.g. a summary built without the gate)
    quality: QualityTally | None = None
    label_present: bool = False  # whether any chunk had the label column

    def merge(self, other: BatchSummary) -> BatchSummary:
        """The summary of both (a new one); ConfigurationError for summaries of other features."""
        if set(self.numeric) != set(other.numeric) or set(self.categorical) != set(
            other.categorical
        ):
            raise ConfigurationError(
                "cannot merge summaries of different features: "
                f"{sorted([*self.numeric, *self.categorical])} and "
                f"{sorted([*other.numeric, *other.categorical])}"
            )
        if (self.sample is None) != (other.sample is None):
            raise ConfigurationError("cannot merge a summary with a sample and one without")
        merged = BatchSummary(
            rows=self.rows + other.rows,
            labelled=self.labelled + other.labelled,
            label_values=self.label_values | other.label_values,
            scores=self.scores.merge(other.scores),
            numeric={n: s.merge(other.numeric[n]) for n, s in self.numeric.items()},
            categorical={n: s.merge(other.categorical[n]) for n, s in self.categorical.items()},
            probability=self.probability.merge(other.probability),
            sample=None if self.sample is None else self.sample.merge(other.sample),
            predicted=self.predicted.merge(other.predicted),
            quality=_merged_quality(self.quality, other.quality),
            label_present=self.label_present or other.label_present,
        )
        _check_two_classes(merged.label_values)
        return merged

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the summary into ``folder`` (created): ``summary.json`` and, with a sample,
        ``sample.parquet`` (its rows and keys). What a partition's task hands to the merge."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        document = {
            "format": _FORMAT,
            "rows": self.rows,
            "labelled": self.labelled,
            "label_values": sorted(self.label_values, key=repr),
            "scores": self.scores.to_dict(),
            "numeric": [summary.to_dict() for summary in self.numeric.values()],
            "categorical": [summary.to_dict() for summary in self.categorical.values()],
            "probability": self.probability.to_dict(),
            "sample": None
            if self.sample is None
            else {"size": self.sample.size, "seen": self.sample.seen},
            "predicted": self.predicted.to_dict(),
            "quality": None if self.quality is None else self.quality.to_dict(),
            "label_present": self.label_present,
        }
        if self.sample is not None and self.sample.rows is not None:
            rows = self.sample.rows.reset_index(drop=True)
            rows.assign(**{_KEY: self.sample.keys}).to_parquet(folder / "sample.parquet")
        (folder / "summary.json").write_text(json.dumps(document, default=_plain))
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> BatchSummary:
        """The summary :meth:`save` wrote; DataValidationError when it is missing or damaged."""
        folder = Path(folder)
        try:
            document = json.loads((folder / "summary.json").read_text())
        except (OSError, ValueError) as exc:
            raise DataValidationError(f"cannot read the batch summary in {folder}: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise DataValidationError(f"{folder / 'summary.json'} is not a batch summary")
        try:
            sample = None
            if document["sample"] is not None:
                sample = Reservoir(document["sample"]["size"], seed=None)
                sample.seen = int(document["sample"]["seen"])
                if (folder / "sample.parquet").exists():
                    rows = pd.read_parquet(folder / "sample.parquet")
                    sample.keys = rows.pop(_KEY).to_numpy()
                    sample.rows = rows
            numeric = [NumericSummary.from_dict(entry) for entry in document["numeric"]]
            categorical = [CategorySummary.from_dict(entry) for entry in document["categorical"]]
            return cls(
                rows=int(document["rows"]),
                labelled=int(document["labelled"]),
                label_values=frozenset(document["label_values"]),
                scores=ScoreSummary.from_dict(document["scores"]),
                numeric={summary.name: summary for summary in numeric},
                categorical={summary.name: summary for summary in categorical},
                probability=NumericSummary.from_dict(document["probability"]),
                sample=sample,
                predicted=CategorySummary.from_dict(document["predicted"]),
                quality=None
                if document["quality"] is None
                else QualityTally.from_dict(document["quality"]),
                label_present=bool(document["label_present"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataValidationError(
                f"the batch summary in {folder} is damaged: {type(exc).__name__}: {exc}"
            ) from None


_FORMAT = "mes-batch-summary-2"
_KEY = "__reservoir_key"


def _plain(value: Any) -> Any:
    """numpy scalars (label values) as JSON numbers."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")


def empty_summary(
    model: SavedModel, config: MonitoringConfig, *, seed: Any, labelled: bool = True
) -> BatchSummary:
    """The summary of no rows for ``model``'s features, on its reference profiles' edges.

    ``seed`` seeds the sample's keys; partitions of one batch need distinct seeds, e.g.
    ``(config.model.seed, partition_index)``. The sample keeps as many rows as the larger of
    the stored sample (``sample_size``) and the domain classifier's (``drift.sample_size``),
    so the classifier reads as many rows of a streamed batch as of one in memory. The quality
    gate's counts are kept against the version's saved expectations (``labelled``: whether the
    label is checked, as ``validate_batch``'s ``check_label``).
    """
    profile = model.feature_profile
    numeric = {
        feature.name: NumericSummary.empty(feature.name, reference_edges(feature))
        for feature in profile.numeric
        if feature.name in config.numeric_features
    }
    categorical = {name: CategorySummary(name) for name in config.categorical_features}
    missing = [name for name in config.numeric_features if name not in numeric]
    if missing:
        raise ConfigurationError(
            f"the reference profile of model version {model.version} has no numeric feature(s) "
            f"{missing}: the configuration changed since the version was trained or registered"
        )
    return BatchSummary(
        rows=0,
        labelled=0,
        label_values=frozenset(),
        scores=ScoreSummary.empty(model.threshold),
        numeric=numeric,
        categorical=categorical,
        probability=NumericSummary.empty(
            PROBABILITY_COLUMN, reference_edges(_probability(model.prediction_profile))
        ),
        sample=Reservoir(max(config.sample_size, config.drift.sample_size), seed=seed),
        quality=QualityTally.empty(
            ReferenceExpectations.from_dict(model.metadata["quality_expectations"]),
            config,
            check_label=labelled,
        ),
    )


def summarise_chunks(
    model: SavedModel,
    chunks: Iterable[pd.DataFrame],
    config: MonitoringConfig,
    *,
    seed: Any,
    labelled: bool = True,
) -> BatchSummary:
    """Summarise the rows of ``chunks`` (one pass; each chunk is dropped once summarised).

    ``labelled=False`` reads no label (every row counts as unlabelled). Bad rows raise the
    errors the in-memory evaluation raises (DataValidationError for a label outside the two
    classes, non-numbers in a numeric feature, scores outside [0, 1]).
    """
    summary = empty_summary(model, config, seed=seed, labelled=labelled)
    for chunk in chunks:
        if chunk.empty:
            continue
        # the gate first: a chunk it finds unusable raises before anything is counted
        summary.quality.update(chunk)
        summary.label_present = summary.label_present or config.label in chunk.columns
        proba = predict_proba(model, chunk, config)
        labels = known_labels(chunk, config) if labelled else None
        if labels is not None and labels.count:
            label_column = np.full(len(chunk), np.nan)
            label_column[labels.labelled] = labels.values
            summary.scores.update(proba, label_column)
            summary.labelled += labels.count
            seen = pd.unique(chunk.loc[labels.labelled, config.label])
            summary.label_values = summary.label_values | frozenset(seen.tolist())
            _check_two_classes(summary.label_values)
        else:
            summary.scores.update(proba)
        summary.rows += len(chunk)
        for name, feature in summary.numeric.items():
            feature.update(chunk[name])
        for name, feature in summary.categorical.items():
            feature.update(chunk[name])
        summary.probability.update(pd.Series(proba))
        summary.predicted.update(pd.Series((proba >= model.threshold).astype("int64")))
        if summary.sample is not None:
            rows = chunk.assign(
                **{
                    PROBABILITY_COLUMN: proba,
                    PREDICTION_COLUMN: predicted_classes(model, chunk, proba, config),
                }
            )
            summary.sample.update(rows)
    return summary


def summarise_partition(
    model: SavedModel,
    source: RowSource,
    config: MonitoringConfig,
    partition: Period,
    *,
    index: int,
    labelled: bool = True,
    rows: int = CHUNK_ROWS,
) -> BatchSummary:
    """:func:`summarise_chunks` of the rows of ``partition`` in ``source``, ``rows`` at a time;
    ``index`` (the partition's place in the batch) makes its sample's seed its own."""
    return summarise_chunks(
        model,
        source.chunks(period=partition, rows=rows),
        config,
        seed=(config.model.seed, index),
        labelled=labelled,
    )


def merge_summaries(summaries: Iterable[BatchSummary]) -> BatchSummary:
    """The batch's summary from its partitions' (in any order); ConfigurationError for none."""
    merged = None
    for summary in summaries:
        merged = summary if merged is None else merged.merge(summary)
    if merged is None:
        raise ConfigurationError("no partition summary to merge")
    return merged


def _merged_quality(one: QualityTally | None, other: QualityTally | None) -> QualityTally | None:
    if one is None or other is None:
        if one is not other:
            raise ConfigurationError("cannot merge a summary with quality counts and one without")
        return None
    return one.merge(other)


def _probability(profile: ReferenceProfile):
    for feature in profile.numeric:
        if feature.name == PROBABILITY_COLUMN:
            return feature
    raise ConfigurationError(
        f"the reference prediction profile has no {PROBABILITY_COLUMN!r} column: the model "
        "version was saved by an older release; train or register it again"
    )


def _check_two_classes(values: frozenset[Any]) -> None:
    if len(values) > 2:
        shown = ", ".join(sorted(map(repr, values))[:5])
        raise DataValidationError(
            f"the label takes {len(values)} values across the batch ({shown}): a binary "
            "classifier's label has two"
        )
