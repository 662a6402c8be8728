"""The typed, validated description of one monitored model and its data.

A configuration names the features and their types, the label, the date column, the reference
(training) period, the batch periods and the evaluation store. The fraud tutorial is
``fraud_tutorial.yaml`` beside this file; a user's own binary classifier is another YAML file,
passed with ``MES_CONFIG=/path/to/file.yaml`` or ``load_config(path)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from include.errors import ConfigurationError, PeriodError
from include.periods import Period

DEFAULT_CONFIG_PATH = Path(__file__).with_name("fraud_tutorial.yaml")


class CostMatrix(BaseModel):
    """Gain of each cell of the confusion matrix; the cost-matrix gain is their mean per row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    true_positive: float = 1.0
    true_negative: float = 0.0
    false_positive: float = -0.3
    false_negative: float = 0.0


class ModelSettings(BaseModel):
    """How the monitored model is trained when this project trains it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    estimator: Literal["hist_gradient_boosting", "random_forest", "logistic_regression"] = (
        "hist_gradient_boosting"
    )
    test_size: float = Field(0.2, gt=0.0, lt=1.0)
    threshold: float | None = Field(
        None, gt=0.0, lt=1.0, description="None: the threshold maximising F1 on the test split"
    )
    seed: int = 42


class DriftSettings(BaseModel):
    """How drift is measured (SPEC section 3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sample_size: int = Field(
        25_000, ge=100, description="domain classifier: at most this many rows from each side"
    )
    alpha: float = Field(0.05, gt=0.0, lt=1.0, description="a p-value at or below flags drift")
    psi_threshold: float = Field(0.2, gt=0.0, description="a PSI above this flags drift")
    correction: Literal["none", "bonferroni", "benjamini-hochberg"] = "none"
    seed: int = 1337


class MonitoringConfig(BaseModel):
    """One monitored binary classifier and the data it is evaluated on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="model name")
    store_name: str = Field("the_MES", min_length=1)
    dataset: str = Field("transactions_prepared", pattern=r"^[A-Za-z0-9_]+$")
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

    @field_validator("reference_period")
    @classmethod
    def _reference_parses(cls, value: str) -> str:
        _check_period(value)
        return value

    @field_validator("batch_periods")
    @classmethod
    def _batches_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            _check_period(text)
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
        return self

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
    return parse_config(raw, source=str(path))


def parse_config(raw: dict, *, source: str = "configuration") -> MonitoringConfig:
    """Validate a configuration given as a mapping; errors name each wrong setting."""
    try:
        return MonitoringConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"{source} is invalid: {problems}") from None
