"""The typed, validated description of one monitored model and its data.

A configuration names the features and their types, the label, the date column, the reference
(training) period, the batch periods, the evaluation store, where the model comes from
(``model.source``), where the data live (``data``), the cadence and schedule of its monitoring,
its checks and its alert recipients. The fraud tutorial's is ``fraud_tutorial.yaml`` in
:mod:`include.tutorial`. A user's own binary classifiers are more YAML files, one per model, in
the configuration folder (``MES_CONFIG_DIR``, by default the tutorial's folder);
``MES_CONFIG=/path/to/file.yaml`` names the model that the tutorial's DAGs and the CLI work on
(by default the tutorial's).

``${VAR}`` in a setting's text is replaced by the environment variable ``VAR`` when the file is
read, so secrets (a database password in ``data.url``) stay out of the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from include.errors import ConfigurationError, PeriodError
from include.periods import Period
from include.tutorial import (
    TUTORIAL_CONFIG_PATH,
    TUTORIAL_MODEL,
    TUTORIAL_PREPARED,
    TUTORIAL_STORE,
)

# Without MES_CONFIG or MES_CONFIG_DIR, the tutorial's configuration and its folder.
DEFAULT_CONFIG_PATH = TUTORIAL_CONFIG_PATH
DEFAULT_CONFIG_DIR = DEFAULT_CONFIG_PATH.parent
# Model and store names: folder names and DAG id prefixes.
SAFE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.)){0,99}")
DEFAULT_SCHEDULES = {
    "quarter": "0 6 1 1,4,7,10 *",
    "month": "0 6 1 * *",
    "week": "0 6 * * 1",
    "day": "0 6 * * *",
}
DATA_DRIFT_CHECK = {"name": "data drift < 0.45", "metric": "data_drift", "soft_max": 0.45}


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


class MonitoringConfig(BaseModel):
    """One monitored binary classifier and the data it is evaluated on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="model name (a folder and DAG id prefix)")
    store_name: str = Field(TUTORIAL_STORE, description="the MES store (a report folder)")
    dataset: str = Field(TUTORIAL_PREPARED, pattern=r"^[A-Za-z0-9_]+$")
    data: DataSource | None = Field(
        None, description="where the rows live; none: dataset `dataset` of MES_DATASETS"
    )
    reference_dataset: DataSource | None = Field(
        None, description="the drift reference's rows; none: the reference period of `data`"
    )
    cadence: Literal["quarter", "month", "week", "day"] = "quarter"
    schedule: str | None = Field(
        None, description="cron of the monitor; none: from the cadence; 'none': manual only"
    )
    checks: tuple[dict[str, Any], ...] = (DATA_DRIFT_CHECK,)
    alerts: AlertSettings = AlertSettings()
    labels: LabelSettings = LabelSettings()
    label: str
    positive_class: int | str = 1
    date_column: str
    id_column: str | None = None
    numeric_features: tuple[str, ...] = ()
    categorical_features: tuple[str, ...] = ()
    reference_period: str
    batch_periods: tuple[str, ...] = ()
    sample_size: int = Field(50_000, ge=0)
    cost_matrix: CostMatrix = CostMatrix()
    model: ModelSettings = ModelSettings()
    drift: DriftSettings = DriftSettings()
    streaming: StreamingSettings = StreamingSettings()

    @field_validator("name", "store_name")
    @classmethod
    def _safe_name(cls, value: str, info) -> str:
        # Both name folders (models, reports) and DAG ids: nothing that leaves a folder.
        if not SAFE_NAME.fullmatch(value):
            raise ValueError(
                f"{info.field_name} {value!r} is not a valid name: use up to 100 letters, digits, "
                "'_', '.' and '-', starting with a letter or digit (no '/', no spaces, no '..')"
            )
        return value

    @field_validator("reference_period")
    @classmethod
    def _reference_parses(cls, value: str) -> str:
        _check_period(value)
        return value

    @field_validator("batch_periods")
    @classmethod
    def _batches_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: dict[tuple, str] = {}
        for text in value:
            _check_period(text)
            period = Period.parse(text)
            first = seen.setdefault((period.start, period.end), text)
            if first != text or value.count(text) > 1:
                same = "" if first == text else f" (as {first!r})"
                raise ValueError(
                    f"period {text!r} is listed twice{same}: each period is evaluated once"
                )
        return value

    @model_validator(mode="after")
    def _columns_consistent(self) -> MonitoringConfig:
        features = self.numeric_features + self.categorical_features
        if not features:
            raise ValueError("no features: list numeric_features and/or categorical_features")
        duplicated = sorted({f for f in features if features.count(f) > 1})
        if duplicated:
            raise ValueError(f"features listed twice or under both types: {duplicated}")
        for role in ("label", "date_column", "id_column"):
            column = getattr(self, role)
            if column is not None and column in features:
                raise ValueError(f"{role} {column!r} is also listed as a feature")
        for role in ("score_column", "prediction_column"):
            column = getattr(self.model, role)
            if column is not None and column in (*features, self.label, self.date_column):
                raise ValueError(f"model.{role} {column!r} is also a feature, label or date")
        schedule = (self.schedule or "none").strip()
        if schedule.lower() != "none" and len(schedule.split()) != 5 and schedule[:1] != "@":
            raise ValueError(
                f"schedule {self.schedule!r} is not a cron expression (five fields, e.g. "
                "'0 6 1 * *') nor 'none'"
            )
        from include.checks import validate_declared_checks
        from include.errors import ConfigurationError as _Refused

        try:
            validate_declared_checks(self.checks, self)
        except _Refused as exc:  # pydantic reports ValueErrors with the setting's place
            raise ValueError(f"checks: {exc}") from None
        return self

    @property
    def is_tutorial(self) -> bool:
        """Whether this is the fraud tutorial's model: its DAGs keep their unprefixed ids and its
        data can be generated. A name, not a setting: any file naming that model is the tutorial."""
        return self.name == TUTORIAL_MODEL

    @property
    def monitor_schedule(self) -> str | None:
        """The monitor's cron: ``schedule``, else the cadence's default; None: manual only."""
        if self.schedule is None:
            return DEFAULT_SCHEDULES[self.cadence]
        value = self.schedule.strip()
        return None if value.lower() == "none" else value

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric_features + self.categorical_features

    @property
    def reference(self) -> Period:
        return Period.parse(self.reference_period)

    @property
    def periods(self) -> list[Period]:
        return [Period.parse(text) for text in self.batch_periods]

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns every batch must have (the label is checked separately: it may be absent)."""
        return (self.date_column, *self.features)


def _check_period(text: str) -> None:
    try:
        Period.parse(text)
    except PeriodError as exc:  # pydantic names the setting only for ValueError
        raise ValueError(str(exc)) from None


def load_config(path: str | os.PathLike[str] | None = None) -> MonitoringConfig:
    """Read and validate a configuration file (YAML or JSON).

    Without a path, ``MES_CONFIG`` is used when set, else the fraud tutorial's configuration.
    Relative data paths in the file are taken from the file's folder.
    """
    path = Path(path or os.environ.get("MES_CONFIG") or DEFAULT_CONFIG_PATH)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigurationError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"configuration file {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"configuration file {path} must hold a mapping of settings")
    raw = _resolve_paths(_expand_variables(raw, str(path)), path.resolve().parent)
    return parse_config(raw, source=str(path))


def config_dir() -> Path:
    """The folder of model configurations: ``MES_CONFIG_DIR``, else the tutorial's folder."""
    return Path(os.environ.get("MES_CONFIG_DIR") or DEFAULT_CONFIG_DIR)


@dataclass(frozen=True)
class ConfigFile:
    """One file of the configuration folder: its model, or why it cannot be read."""

    path: Path
    config: MonitoringConfig | None
    error: str | None = None


def load_config_dir(folder: str | os.PathLike[str] | None = None) -> list[ConfigFile]:
    """Every ``*.yaml``/``*.yml`` file of the folder, sorted, each loaded on its own.

    A broken file does not stop the others: it comes back with its error. A model name or store
    used by an earlier file is an error of the later one (each model needs its own DAG ids).
    """
    folder = Path(folder or config_dir())
    if not folder.is_dir():
        raise ConfigurationError(
            f"MES_CONFIG_DIR {folder} is not a folder: point it at the folder holding one YAML "
            "file per model"
        )
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    found: list[ConfigFile] = []
    names: dict[str, Path] = {}
    stores: dict[str, Path] = {}
    for path in files:
        try:
            config = load_config(path)
        except ConfigurationError as exc:
            found.append(ConfigFile(path, None, str(exc)))
            continue
        clash = names.get(config.name) or stores.get(config.store_name)
        if clash is not None:
            what = "model name" if config.name in names else "store_name"
            value = config.name if config.name in names else config.store_name
            found.append(
                ConfigFile(
                    path,
                    None,
                    f"{path}: {what} {value!r} is already used by {clash.name}; give each model "
                    "its own name and store_name",
                )
            )
            continue
        names[config.name] = stores[config.store_name] = path
        found.append(ConfigFile(path, config))
    return found


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_variables(raw: Any, source: str) -> Any:
    """``${VAR}`` in any text replaced by the environment variable; unset ones are errors."""
    if isinstance(raw, dict):
        return {key: _expand_variables(value, source) for key, value in raw.items()}
    if isinstance(raw, list):
        return [_expand_variables(value, source) for value in raw]
    if isinstance(raw, str):

        def value(match: re.Match[str]) -> str:
            name = match[1]
            if name not in os.environ:
                raise ConfigurationError(
                    f"{source} uses ${{{name}}}, but the environment variable {name} is not set"
                )
            return os.environ[name]

        return _VARIABLE.sub(value, raw)
    return raw


def _resolve_paths(raw: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Relative ``path`` settings (data, reference data, model file) from the file's folder."""
    resolved = dict(raw)
    for section in ("data", "reference_dataset", "model"):
        value = resolved.get(section)
        if isinstance(value, dict) and isinstance(value.get("path"), str):
            path = Path(value["path"]).expanduser()
            if not path.is_absolute():
                resolved[section] = {**value, "path": os.path.normpath(folder / path)}
    return resolved


def parse_config(raw: dict, *, source: str = "configuration") -> MonitoringConfig:
    """Validate a configuration given as a mapping; errors name each wrong setting."""
    try:
        return MonitoringConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            # "Value error, " is pydantic's wording for a validator's ValueError: drop it.
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"{source} is invalid: {problems}") from None
