"""The deployment's settings: every `MES_*` environment variable, typed and validated in one place.

``current()`` is what code calls: the settings of the environment as it is now. It is read at
the edges (the command lines, the MES hook, the DAG defaults), and by the library functions whose
default locations depend on it (``mes_home()``, ``models_root()``...). A value that cannot be
used is a :class:`~include.errors.ConfigurationError` naming the variable and what is wrong
(``MES_TASK_RETRIES must be a whole number >= 0, got 'two'``); in a DAG file that is its import
error.

Each field mirrors one variable (its alias is the variable's name): the default is the one the
code always had, and for most an empty value counts as unset, as it always did (``EMPTY_IS_SET``
lists the exceptions, whose empty value means something). Locations derived from ``MES_HOME``
are properties. The README's table of variables is :func:`environment_table`'s output
(``python -m include.settings`` prints it; a unit test keeps them equal).

The settings are rebuilt whenever one of these variables changes (tests set them with
``monkeypatch.setenv``), and cached otherwise: a look-up costs about 50 microseconds, a rebuild
about 2 milliseconds (pydantic-settings reads the whole environment).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from include.errors import ConfigurationError

REPO_ROOT = Path(__file__).resolve().parent.parent

# Variables whose empty value is a value (not "unset"): an empty sender or fallback recipient
# list, MES_MONITOR_SCHEDULE="" for manual runs only, empty API credentials, and the two numbers,
# which an empty value never was.
EMPTY_IS_SET = frozenset(
    {
        "MES_ALERT_FROM",
        "MES_ALERT_RECIPIENTS",
        "MES_MONITOR_SCHEDULE",
        "MES_PROD_API_USER",
        "MES_PROD_API_PASSWORD",
        "MES_TASK_RETRIES",
        "MES_RETRY_DELAY_SECONDS",
    }
)


def _variable(name: str, default: Any, meaning: str, shown_default: str) -> Any:
    """A field read from environment variable ``name``; ``meaning`` and ``shown_default`` are
    its row of the README's table."""
    return Field(
        default, alias=name, description=meaning, json_schema_extra={"shown_default": shown_default}
    )


class Settings(BaseSettings):
    """The ``MES_*`` (and ``DEPLOYER_DATABASE_URL``) environment variables; None means unset."""

    model_config = SettingsConfigDict(frozen=True, case_sensitive=True, extra="ignore")

    mes_config: Path | None = _variable(
        "MES_CONFIG",
        None,
        "the model of the tutorial's DAGs and of the CLI",
        "`include/tutorial/fraud_tutorial.yaml`",
    )
    mes_config_dir: Path | None = _variable(
        "MES_CONFIG_DIR",
        None,
        "the folder of model configurations, one YAML file per model",
        "`include/tutorial/` (the tutorial's file)",
    )
    mes_database_url: str | None = _variable(
        "MES_DATABASE_URL",
        None,
        "the MES database, e.g. `postgresql://user:pw@host:5432/mes` (in Airflow: connection "
        "`mes_db`)",
        "SQLite file `$MES_HOME/mes.sqlite`",
    )
    mes_datasets: str | None = _variable(
        "MES_DATASETS",
        None,
        "the dataset store of models without `data`: a folder (Parquet) or a `postgresql://` URL "
        "(tables in schema `datasets`)",
        "`$MES_HOME/datasets`",
    )
    mes_models: Path | None = _variable(
        "MES_MODELS", None, "where model versions are saved", "`$MES_HOME/models`"
    )
    mes_reports: Path | None = _variable(
        "MES_REPORTS", None, "where drift reports are written", "`$MES_HOME/reports`"
    )
    mes_home: Path = _variable(
        "MES_HOME", REPO_ROOT / ".mes", "the working folder of the embedded defaults", "`./.mes`"
    )
    mes_bundle_source: Path = _variable(
        "MES_BUNDLE_SOURCE", REPO_ROOT, "the project tree bundles are made from", "this repository"
    )
    mes_bundle_store: Path | None = _variable(
        "MES_BUNDLE_STORE",
        None,
        "the bundle store: published bundles and the deployments' releases",
        "`$MES_HOME/bundles`",
    )
    deployer_database_url: str | None = _variable(
        "DEPLOYER_DATABASE_URL",
        None,
        "the deployer database (in Airflow: connection `deployer_db`)",
        "SQLite file `$MES_HOME/deployer.sqlite`",
    )
    mes_alert_from: str = _variable(
        "MES_ALERT_FROM",
        "airflow-mes@localhost",
        "the sender of the DAGs' emails",
        "`airflow-mes@localhost`",
    )
    mes_alert_recipients: str = _variable(
        "MES_ALERT_RECIPIENTS",
        "mlops@example.com",
        "alert recipients (comma-separated) of models that declare none, when the Variable "
        "`mes_alert_recipients` is not set",
        "`mlops@example.com`",
    )
    mes_monitor_schedule: str | None = _variable(
        "MES_MONITOR_SCHEDULE",
        None,
        "the tutorial monitor's schedule: a cron expression, or `none` (or empty) for manual runs "
        "only",
        "its configuration's (quarterly)",
    )
    mes_release_schedule: str | None = _variable(
        "MES_RELEASE_SCHEDULE",
        None,
        "`bundle_release`'s schedule: a cron expression, or `none`",
        "manual runs only",
    )
    mes_task_retries: int = _variable(
        "MES_TASK_RETRIES", 2, "how many times a failed task is retried", "`2`"
    )
    mes_retry_delay_seconds: float = _variable(
        "MES_RETRY_DELAY_SECONDS", 60.0, "seconds between a task's retries", "`60`"
    )
    mes_prod_api_url: str | None = _variable(
        "MES_PROD_API_URL",
        None,
        "the prod Airflow's REST API, where `bundle_release` checks that the release is served",
        "none: the deployer's record is checked",
    )
    mes_prod_api_user: str = _variable(
        "MES_PROD_API_USER", "admin", "the user `bundle_release` logs in as there", "`admin`"
    )
    mes_prod_api_password: SecretStr = _variable(
        "MES_PROD_API_PASSWORD", SecretStr("admin"), "that user's password", "`admin`"
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigurationError("; ".join(_explain(error) for error in exc.errors())) from None

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v != "" or k in EMPTY_IS_SET}
        return data

    @field_validator("mes_task_retries", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if number < 0:
            raise ValueError(f"MES_TASK_RETRIES must be a whole number >= 0, got {value!r}")
        return number

    @field_validator("mes_retry_delay_seconds", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(
                f"MES_RETRY_DELAY_SECONDS must be a number of seconds >= 0, got {value!r}"
            )
        return seconds

    @property
    def models(self) -> Path:
        """Where model versions are saved: ``MES_MODELS``, else ``$MES_HOME/models``."""
        return self.mes_models or self.mes_home / "models"

    @property
    def reports(self) -> Path:
        """Where drift reports are written: ``MES_REPORTS``, else ``$MES_HOME/reports``."""
        return self.mes_reports or self.mes_home / "reports"

    @property
    def bundle_store(self) -> Path:
        """The bundle store: ``MES_BUNDLE_STORE``, else ``$MES_HOME/bundles``."""
        return self.mes_bundle_store or self.mes_home / "bundles"


def _explain(error: Any) -> str:
    """One validation error as a sentence naming the variable."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):  # our validators' own sentence
        return str(cause)
    name = ".".join(str(part) for part in error["loc"])
    return f"{name} {error['msg'].lower()}, got {error['input']!r}"


ENVIRONMENT_NAMES = tuple(field.alias for field in Settings.model_fields.values())


def current() -> Settings:
    """The settings of the environment as it is now (validated; rebuilt when it changed)."""
    return _settings_of(tuple((name, os.environ.get(name)) for name in ENVIRONMENT_NAMES))


@lru_cache(maxsize=8)
def _settings_of(variables: tuple[tuple[str, str | None], ...]) -> Settings:
    # Built from the key itself, so that a cached value is always the key's.
    return Settings(**{name: value for name, value in variables if value is not None})


def environment_table() -> str:
    """The README's table of environment variables: name, meaning and default of each."""
    rows = ["| Environment variable | Meaning | Default |", "|---|---|---|"]
    for field in Settings.model_fields.values():
        shown = (field.json_schema_extra or {})["shown_default"]
        rows.append(f"| `{field.alias}` | {field.description} | {shown} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(environment_table(), end="")
