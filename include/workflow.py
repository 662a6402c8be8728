"""The monitoring flow as plain functions: prepare a project, train, evaluate a period into the MES.

A ``Workspace`` ties together what every step needs, read once from the environment:
the configuration (``MES_CONFIG``), the dataset store (``MES_DATASETS``: a folder or a
``postgresql://`` URL), the model folder (``MES_MODELS``) and the MES (``MES_DATABASE_URL``,
else the embedded SQLite file). Airflow tasks build the same workspace from their connections.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from include.config import MonitoringConfig, load_config
from include.data.sources import RowSource, open_reference_rows, open_rows
from include.data.storage import DatasetStore, open_dataset_store
from include.drift.report import write_drift_report
from include.errors import ConfigurationError, EmptyBatchError
from include.evaluation.evaluate import Evaluation, evaluate_batch
from include.evaluation.track_record import TrackRecord, from_history
from include.mes.store import ModelEvaluationStore
from include.model.registry import (
    SavedModel,
    list_versions,
    load_model,
    models_root,
    register_model,
    save_model,
)
from include.model.sources import identify_source
from include.model.training import train_model
from include.periods import Period
from include.quality.gate import ReferenceExpectations, validate_batch
from include.settings import current
from include.streaming.batch import read_batch, read_reference
from include.streaming.evaluate import evaluate_summary
from include.streaming.partition import BatchSummary, merge_summaries, summarise_partition
from include.tutorial.datasets import generate_tutorial_data


@dataclass
class Workspace:
    """Configuration, datasets, saved models and the evaluation store of one monitored model."""

    config: MonitoringConfig
    datasets: DatasetStore
    models: Path
    mes: ModelEvaluationStore
    reports: Path

    @classmethod
    def open(
        cls,
        *,
        config: MonitoringConfig | None = None,
        datasets: str | os.PathLike[str] | None = None,
        models: str | os.PathLike[str] | None = None,
        mes_url: str | None = None,
        reports: str | os.PathLike[str] | None = None,
        read_only: bool = False,
    ) -> Workspace:
        """``read_only``: the MES is only read (``show``, ``check``), so a SELECT-only role will do
        and the schema is not created or upgraded."""
        return cls(
            config=config or load_config(),
            datasets=open_dataset_store(datasets or current().mes_datasets),
            models=Path(models or models_root()),
            mes=ModelEvaluationStore.open(mes_url, read_only=read_only),
            reports=Path(reports or current().reports),
        )

    @property
    def rows(self) -> RowSource:
        """Where the model's rows live: ``data`` of its configuration, else its dataset of the
        dataset store."""
        return open_rows(self.config, self.datasets)

    def report_path(self, evaluation: Evaluation) -> Path:
        """Where the drift report of an evaluation is written."""
        name = f"{evaluation.period.name}_{evaluation.model_version}.html".replace("/", "_")
        path = self.reports / self.config.store_name / name
        # The configuration refuses names that leave a folder; this keeps it so whatever the
        # caller built.
        if not path.resolve().is_relative_to(self.reports.resolve()):
            raise ConfigurationError(
                f"store {self.config.store_name!r}: its drift reports would be written outside "
                f"{self.reports}"
            )
        return path

    def close(self) -> None:
        self.mes.close()


def train(workspace: Workspace) -> SavedModel:
    """Train on the reference period, save the version, and return it loaded and verified."""
    config = workspace.config
    data, sampled = read_reference(workspace.rows, config, config.reference)
    if sampled:
        logging.getLogger(__name__).info("training %s on %s", config.name, sampled)
    trained = train_model(data, config)
    save_model(trained, workspace.models)
    return load_model(config, trained.metadata["version"], workspace.models)


# Model sources whose version id comes from the model itself (sources.identify_source).
CONTENT_ADDRESSED = ("file", "mlflow")


def prepare_project(
    workspace: Workspace, *, transactions_per_quarter: int = 20_000, seed: int = 2017
) -> SavedModel:
    """What every evaluation needs: the data and a saved model version.

    For the tutorial's configuration, a missing dataset is generated; any other configuration
    must bring its own data (reading it fails with what is missing and where). When no model
    version is saved, one is trained on the reference period, or, for a model trained elsewhere
    (model.source file, mlflow, predictions), registered against the reference rows. Safe to run
    again: nothing that exists is rebuilt.
    """
    config = workspace.config
    if config.is_tutorial and config.data is None and not workspace.datasets.exists(config.dataset):
        generate_tutorial_data(
            workspace.datasets,
            config,
            transactions_per_quarter=transactions_per_quarter,
            seed=seed,
        )
    if config.model.source in CONTENT_ADDRESSED:
        # The version is the model's content: a model file replaced in place, or an MLflow alias
        # moved, is a new version (registered now), never the old copy evaluated quietly; a
        # file that is gone is an error, whatever was registered before.
        version = identify_source(config, None).version
        if version in list_versions(config.name, workspace.models):
            return load_model(config, version, root=workspace.models)
    elif list_versions(config.name, workspace.models):
        return load_model(config, root=workspace.models)
    if not config.model.trained_here:
        rows, description = reference_rows(workspace)
        return register_model(
            config, rows, root=workspace.models, reference_description=description
        )
    return train(workspace)


def reference_rows(workspace: Workspace) -> tuple[pd.DataFrame, str]:
    """The rows an external model is registered against, and a sentence saying what they are.

    The named reference dataset (``reference_dataset``), else the whole reference period of the
    model's data: a model this project did not train has no test split of ours.
    """
    config = workspace.config
    named = open_reference_rows(config, workspace.datasets)
    if named is not None:
        return named.read(), f"reference dataset {named.describe()}"
    source = workspace.rows
    rows, sampled = read_reference(source, config, config.reference)
    if rows.empty:
        raise EmptyBatchError(
            f"no rows in the reference period {config.reference} ({config.reference.start} <= "
            f"{config.date_column} < {config.reference.end}) of {source.describe()}: set "
            "reference_period to a period your data covers, or name a reference_dataset"
        )
    description = f"reference period {config.reference_period} of {source.describe()}"
    return rows, description + (f" ({sampled})" if sampled else "")


def evaluate_period(
    workspace: Workspace,
    period_name: str,
    *,
    model: SavedModel | None = None,
    labelled: bool = True,
    stage: Callable[[str], AbstractContextManager] = lambda _name: nullcontext(),
) -> tuple[str, Evaluation]:
    """Filter, validate, evaluate one period and store it; returns (evaluation id, evaluation).

    A batch of at most ``streaming.memory_rows`` rows is evaluated in memory, exactly; a larger
    one in chunks, in bounded memory (``include.streaming``). Everything that can fail (a bad
    period, an empty batch, a broken batch, a tampered model) fails before the store is touched;
    the store write itself is one transaction. ``stage(name)`` wraps each step, for timing or
    logging.
    """
    config = workspace.config
    period = Period.parse(period_name)
    model = model or load_model(config, root=workspace.models)
    source = workspace.rows
    with stage("read"):
        batch = read_batch(model, source, config, period, labelled=labelled)
    if isinstance(batch, BatchSummary):
        return _evaluate_summary(workspace, period, model, batch, labelled=labelled, stage=stage)
    if batch.empty:
        raise EmptyBatchError(
            f"no rows for {period} ({period.start} <= {config.date_column} < {period.end}) in "
            f"{source.describe()}: check the period, or load that period's data first"
        )
    with stage("quality gate"):
        expectations = ReferenceExpectations.from_dict(model.metadata["quality_expectations"])
        report = validate_batch(batch, expectations, config, check_label=labelled)
    evaluation = evaluate_batch(
        model,
        batch,
        config,
        period,
        labelled=labelled,
        quality=report.to_dict(),
        track=_track_record(workspace, model, period, stage),
        stage=stage,
    )
    return _store(workspace, evaluation, stage), evaluation


def summarise_slice(
    workspace: Workspace,
    period_name: str,
    index: int,
    count: int,
    *,
    model: SavedModel,
    folder: str | os.PathLike[str],
    labelled: bool = True,
) -> Path:
    """Summarise slice ``index`` of the period cut into ``count`` slices of days
    (``Period.slices``) into ``folder``: one mapped task's share of a partitioned evaluation."""
    config = workspace.config
    parts = Period.parse(period_name).slices(count)
    if not 0 <= index < len(parts):
        raise ConfigurationError(
            f"{period_name} has {len(parts)} slice(s) of days: there is no slice {index}"
        )
    summary = summarise_partition(
        model,
        workspace.rows,
        config,
        parts[index],
        index=index,
        labelled=labelled,
        rows=config.streaming.chunk_rows,
    )
    return summary.save(folder)


def evaluate_slices(
    workspace: Workspace,
    period_name: str,
    folders: list[str | os.PathLike[str]],
    *,
    model: SavedModel,
    labelled: bool = True,
    stage: Callable[[str], AbstractContextManager] = lambda _name: nullcontext(),
) -> tuple[str, Evaluation]:
    """Merge the slices' summaries (:func:`summarise_slice`) into the period's evaluation and
    store it, as :func:`evaluate_period` would have for the whole batch."""
    period = Period.parse(period_name)
    with stage("merge"):
        summary = merge_summaries(BatchSummary.load(folder) for folder in folders)
    return _evaluate_summary(
        workspace, period, model, summary, labelled=labelled, partitions=len(folders), stage=stage
    )


def _evaluate_summary(
    workspace: Workspace,
    period: Period,
    model: SavedModel,
    summary: BatchSummary,
    *,
    labelled: bool,
    partitions: int = 1,
    stage: Callable[[str], AbstractContextManager],
) -> tuple[str, Evaluation]:
    evaluation, _bounds = evaluate_summary(
        model,
        summary,
        workspace.config,
        period,
        labelled=labelled,
        partitions=partitions,
        track=_track_record(workspace, model, period, stage),
        stage=stage,
    )
    return _store(workspace, evaluation, stage), evaluation


def _track_record(
    workspace: Workspace,
    model: SavedModel,
    period: Period,
    stage: Callable[[str], AbstractContextManager],
) -> TrackRecord:
    """How the version's earlier estimates held up once their labels landed."""
    with stage("track record"):
        return from_history(
            workspace.mes.summaries(workspace.config.store_name, model_version=model.version),
            before=period.start,
        )


def _store(
    workspace: Workspace, evaluation: Evaluation, stage: Callable[[str], AbstractContextManager]
) -> str:
    """Save the evaluation (one transaction) and write its drift report; its id."""
    config = workspace.config
    with stage("store"):
        evaluation_id = workspace.mes.save(evaluation.to_record(config.store_name))
    if evaluation.drift is not None:
        with stage("drift report"):
            write_drift_report(
                evaluation.drift.to_dict(),
                workspace.report_path(evaluation),
                title=f"Drift of {config.name} on {evaluation.period} ({config.store_name})",
            )
    return evaluation_id


def summarise(workspace: Workspace, evaluation_id: str, evaluation: Evaluation) -> dict:
    """A stored evaluation in a few JSON values: what a task returns and logs."""
    metrics = evaluation.metrics()
    drift = evaluation.drift
    return {
        "evaluation_id": evaluation_id,
        "quarter": evaluation.period.name,
        "model_version": evaluation.model_version,
        "rows": evaluation.row_count,
        # Undefined metrics (an AUC with one class) are None here: XCom is JSON, NaN is not.
        "auc": _finite(metrics.get("auc")),
        "label_share": metrics.get("label_share"),
        "estimated_auc": _finite(metrics.get("estimated_auc")),
        "data_drift": _finite(metrics.get("data_drift")),
        "drifted_features": drift.drifted_features if drift else [],
        "quality": (evaluation.quality or {}).get("summary"),
        "drift_report": str(workspace.report_path(evaluation)) if drift else None,
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
