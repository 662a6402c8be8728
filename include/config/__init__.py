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

from include.config.sections import (
    AlertSettings,
    CostMatrix,
    DataSource,
    DriftSettings,
    LabelSettings,
    ModelSettings,
    StreamingSettings,
)
from include.errors import ConfigurationError, PeriodError
from include.periods import Period
from include.settings import current
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
    path = Path(path or current().mes_config or DEFAULT_CONFIG_PATH)
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
    return Path(current().mes_config_dir or DEFAULT_CONFIG_DIR)


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
