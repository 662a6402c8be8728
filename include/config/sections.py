"""The sections of a model's configuration: model source, data, alerts, labels, streaming, drift.

Each is a frozen pydantic model that refuses unknown keys; ``MonitoringConfig`` (in
``include.config``) puts them together and checks what spans sections.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class CostMatrix(BaseModel):
    """Gain of each cell of the confusion matrix; the cost-matrix gain is their mean per row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    true_positive: float = 1.0
    true_negative: float = 0.0
    false_positive: float = -0.3
    false_negative: float = 0.0


_MLFLOW_URI = re.compile(r"^(models|runs|file|s3|gs|wasbs?|dbfs):")


class ModelSettings(BaseModel):
    """Where the monitored model comes from (``source``), and how it is trained when this
    project trains it.

    - ``train``: the project trains ``estimator`` on the reference period; its test split is the
      drift reference (the tutorial);
    - ``file``: a model the user saved (``path``) with joblib, pickle or skops (``format``, else
      told by the file's extension): any object with ``predict_proba``;
    - ``mlflow``: a model URI (``uri``): ``models:/name/3``, ``models:/name@champion``,
      ``runs:/<run id>/model``; the registry is ``tracking_uri`` (else ``MLFLOW_TRACKING_URI``);
    - ``predictions``: no model; every row carries the model's score (``score_column``, the
      probability of the positive class) and optionally its predicted class
      (``prediction_column``).

    For every source but ``train`` the threshold turning a score into a class is ``threshold``
    (default 0.5).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Literal["train", "file", "mlflow", "predictions"] = "train"
    estimator: Literal["hist_gradient_boosting", "random_forest", "logistic_regression"] = (
        "hist_gradient_boosting"
    )
    test_size: float = Field(0.2, gt=0.0, lt=1.0)
    threshold: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="train: None takes the threshold maximising F1 on the test split; "
        "other sources: None means 0.5",
    )
    seed: int = 42
    path: str | None = Field(None, description="file: the saved model")
    format: Literal["joblib", "pickle", "skops"] | None = Field(
        None, description="file: how it was saved (default: from the extension)"
    )
    uri: str | None = Field(None, description="mlflow: the model URI")
    tracking_uri: str | None = Field(None, description="mlflow: the tracking/registry URI")
    score_column: str | None = Field(None, description="predictions: the positive-class score")
    prediction_column: str | None = Field(
        None, description="predictions: the predicted class (optional)"
    )

    @model_validator(mode="after")
    def _source_settings(self) -> ModelSettings:
        needs = {"file": "path", "mlflow": "uri", "predictions": "score_column"}
        wanted = needs.get(self.source)
        if wanted and not getattr(self, wanted):
            raise ValueError(f"model.source {self.source!r} needs model.{wanted}")
        owned = {
            "path": "file",
            "format": "file",
            "uri": "mlflow",
            "tracking_uri": "mlflow",
            "score_column": "predictions",
            "prediction_column": "predictions",
        }
        for key, source in owned.items():
            if getattr(self, key) is not None and self.source != source:
                raise ValueError(
                    f"model.{key} is a setting of model.source {source!r}, "
                    f"but model.source is {self.source!r}"
                )
        if self.uri is not None and not _MLFLOW_URI.match(self.uri):
            raise ValueError(
                f"model.uri {self.uri!r} is not an MLflow model URI: write models:/name/version, "
                "models:/name@alias or runs:/<run id>/<path>"
            )
        return self

    @property
    def trained_here(self) -> bool:
        return self.source == "train"

    @property
    def fixed_threshold(self) -> float:
        """The threshold of a model this project did not train."""
        return 0.5 if self.threshold is None else self.threshold


class DataSource(BaseModel):
    """Where rows live: a Parquet file or folder, a CSV file, or a PostgreSQL table or view.

    ``path`` (relative paths are read from the configuration file's folder) with ``format``
    (default: ``csv`` for ``.csv`` files, else ``parquet``); or ``table`` (``schema.name`` or
    ``name``, a table or a view) with ``url`` (``postgresql://user:password@host/db``, write the
    password as ``${VAR}``; default: ``MES_DATASETS`` when it is a PostgreSQL URL).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str | None = None
    format: Literal["parquet", "csv"] | None = None
    table: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
    url: str | None = None

    @model_validator(mode="after")
    def _one_location(self) -> DataSource:
        if (self.path is None) == (self.table is None):
            raise ValueError("give either path (a Parquet file or folder, or a CSV file) or table")
        if self.table is not None and self.format is not None:
            raise ValueError("format is for files; a table is read from PostgreSQL")
        if self.path is not None and self.url is not None:
            raise ValueError("url is for a table; a path is read from the file system")
        return self

    @property
    def file_format(self) -> str | None:
        if self.path is None:
            return None
        return self.format or ("csv" if self.path.lower().endswith(".csv") else "parquet")

    def describe(self) -> str:
        if self.path is not None:
            return f"{self.file_format} {self.path}"
        return f"PostgreSQL table {self.table}"


class AlertSettings(BaseModel):
    """Who is told when this model's checks warn or its runs fail."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipients: tuple[str, ...] = Field(
        (), description="email addresses; none: the deployment's (mes_alert_recipients)"
    )

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            if not re.match(r"^[^@\s,]+@[^@\s,]+$", address):
                raise ValueError(f"{address!r} is not an email address")
        return value


class LabelSettings(BaseModel):
    """Labels that arrive late (a fraud label weeks after the transaction): how far back each
    monitoring run looks for periods whose labels have landed since they were evaluated.

    A period evaluated before all its labels were in holds estimated performance (and realised
    performance from the rows labelled then, if any). With ``recheck_periods`` N, each run of
    the monitor re-evaluates those of the N periods of the cadence before its own whose data
    now holds more labelled rows; the new evaluation replaces the old one, realised performance
    beside the estimate.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    recheck_periods: int = Field(
        0,
        ge=0,
        le=366,
        description="re-evaluate up to this many earlier periods when their labels have landed "
        "since; 0: never",
    )


class StreamingSettings(BaseModel):
    """When a batch is evaluated in chunks, in bounded memory, and split over mapped tasks.

    A batch of at most ``memory_rows`` rows is evaluated in memory, exactly; a larger one is read
    ``chunk_rows`` at a time into mergeable summaries (``include.streaming``), so memory no longer
    grows with the batch. With ``partitions`` above 1, the monitor DAG splits the period into
    that many slices of days, summarised by mapped tasks (the Celery workers share them) and
    merged by ``build_mes`` into one evaluation; each slice streams.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    memory_rows: int = Field(
        1_000_000,
        ge=0,
        description="evaluate batches of up to this many rows in memory (exact); larger ones in "
        "chunks",
    )
    chunk_rows: int = Field(250_000, ge=1_000, description="rows read at a time when streaming")
    partitions: int = Field(
        1,
        ge=1,
        le=366,
        description="mapped tasks a period is split into (slices of its days) in the monitor DAG",
    )


class DriftSettings(BaseModel):
    """How drift is measured and when a feature is flagged (SPEC section 3).

    A feature is flagged when a change of its distribution or of its missing share is both
    significant (p-value after ``correction`` at most ``alpha``) and material (effect size at or
    above its threshold); with fewer than ``min_rows_for_effect_size`` values on a side, on
    significance alone. The defaults were chosen from ``benchmarks/drift_flags.py`` (see
    ``include/drift/rule.py`` and ``benchmarks/README.md``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sample_size: int = Field(
        25_000, ge=100, description="domain classifier: at most this many rows from each side"
    )
    alpha: float = Field(
        0.05, gt=0.0, lt=1.0, description="an adjusted p-value at or below this is significant"
    )
    correction: Literal["none", "bonferroni", "holm", "benjamini-hochberg"] = Field(
        "benjamini-hochberg",
        description="multiple-testing correction across every feature's tests of a batch",
    )
    wasserstein_threshold: float = Field(
        0.1,
        ge=0.0,
        description="numeric: Wasserstein distance / reference IQR at or above this is material",
    )
    jensen_shannon_threshold: float = Field(
        0.05,
        ge=0.0,
        description="categorical: Jensen–Shannon distance (bits) at or above this is material",
    )
    missing_threshold: float = Field(
        0.2, ge=0.0, description="missing share: Cohen's h at or above this is material"
    )
    min_rows_for_effect_size: int = Field(
        1_000,
        ge=0,
        description="below this many values on a side, effect sizes are not used: significance "
        "alone flags",
    )
    rare_category_share: float = Field(
        0.005,
        ge=0.0,
        lt=1.0,
        description="categories under this share of the reference are grouped into (other)",
    )
    max_categories: int = Field(
        50, ge=1, description="at most this many reference categories are kept apart"
    )
    psi_threshold: float = Field(
        0.2, gt=0.0, description="a PSI above this is reported (psi_drifted); it flags nothing"
    )
    seed: int = 1337
