"""include/settings: every MES_* variable, its default, its validation, and the README's table."""

from __future__ import annotations

import re
import time

import pytest
from pydantic import ValidationError

from include import settings
from include.errors import ConfigurationError, MonitoringError
from include.settings import ENVIRONMENT_NAMES, REPO_ROOT, Settings, current, environment_table

# The public contract (README, SPEC.md): these names keep working.
CONTRACT = {
    "MES_HOME",
    "MES_MODELS",
    "MES_CONFIG",
    "MES_CONFIG_DIR",
    "MES_DATASETS",
    "MES_REPORTS",
    "MES_DATABASE_URL",
    "MES_BUNDLE_SOURCE",
    "MES_BUNDLE_STORE",
    "DEPLOYER_DATABASE_URL",
    "MES_ALERT_FROM",
    "MES_ALERT_RECIPIENTS",
    "MES_MONITOR_SCHEDULE",
    "MES_RELEASE_SCHEDULE",
    "MES_TASK_RETRIES",
    "MES_RETRY_DELAY_SECONDS",
    "MES_PROD_API_URL",
    "MES_PROD_API_USER",
    "MES_PROD_API_PASSWORD",
}


@pytest.fixture
def clean(monkeypatch) -> None:
    """No MES variable set: the defaults."""
    for name in ENVIRONMENT_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_every_variable_of_the_contract_is_a_setting():
    assert set(ENVIRONMENT_NAMES) == CONTRACT


def test_the_defaults_are_the_embedded_ones(clean):
    found = current()
    assert found.mes_home == REPO_ROOT / ".mes"
    assert found.models == REPO_ROOT / ".mes" / "models"
    assert found.reports == REPO_ROOT / ".mes" / "reports"
    assert found.bundle_store == REPO_ROOT / ".mes" / "bundles"
    assert found.mes_bundle_source == REPO_ROOT
    assert found.mes_config is None  # the tutorial's (include.config's default)
    assert found.mes_config_dir is None
    assert found.mes_database_url is None  # the SQLite file under MES_HOME
    assert found.deployer_database_url is None
    assert found.mes_datasets is None
    assert found.mes_alert_from == "airflow-mes@localhost"
    assert found.mes_alert_recipients == "mlops@example.com"
    assert found.mes_monitor_schedule is None
    assert found.mes_release_schedule is None
    assert found.mes_task_retries == 2
    assert found.mes_retry_delay_seconds == 60.0
    assert found.mes_prod_api_url is None
    assert found.mes_prod_api_user == "admin"
    assert found.mes_prod_api_password.get_secret_value() == "admin"


def test_each_variable_is_read_as_given(clean, monkeypatch, tmp_path):
    given = {
        "MES_HOME": str(tmp_path / "home"),
        "MES_MODELS": str(tmp_path / "models"),
        "MES_REPORTS": str(tmp_path / "reports"),
        "MES_BUNDLE_STORE": str(tmp_path / "bundles"),
        "MES_BUNDLE_SOURCE": str(tmp_path / "source"),
        "MES_CONFIG": str(tmp_path / "model.yaml"),
        "MES_CONFIG_DIR": str(tmp_path / "configs"),
        "MES_DATASETS": "postgresql://u:p@db/data",
        "MES_DATABASE_URL": "postgresql://u:p@db/mes",
        "DEPLOYER_DATABASE_URL": "postgresql://u:p@db/deployer",
        "MES_ALERT_FROM": "alerts@example.org",
        "MES_ALERT_RECIPIENTS": "a@example.org, b@example.org",
        "MES_MONITOR_SCHEDULE": "0 6 * * *",
        "MES_RELEASE_SCHEDULE": "0 7 * * 1",
        "MES_TASK_RETRIES": "0",
        "MES_RETRY_DELAY_SECONDS": "2.5",
        "MES_PROD_API_URL": "http://prod:8080",
        "MES_PROD_API_USER": "deployer",
        "MES_PROD_API_PASSWORD": "s3cret",
    }
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    found = current()
    assert found.mes_home == tmp_path / "home"
    assert found.models == tmp_path / "models"
    assert found.reports == tmp_path / "reports"
    assert found.bundle_store == tmp_path / "bundles"
    assert found.mes_bundle_source == tmp_path / "source"
    assert found.mes_config == tmp_path / "model.yaml"
    assert found.mes_config_dir == tmp_path / "configs"
    assert found.mes_datasets == "postgresql://u:p@db/data"
    assert found.mes_database_url == "postgresql://u:p@db/mes"
    assert found.deployer_database_url == "postgresql://u:p@db/deployer"
    assert found.mes_alert_from == "alerts@example.org"
    assert found.mes_alert_recipients == "a@example.org, b@example.org"
    assert found.mes_monitor_schedule == "0 6 * * *"
    assert found.mes_release_schedule == "0 7 * * 1"
    assert found.mes_task_retries == 0
    assert found.mes_retry_delay_seconds == 2.5
    assert found.mes_prod_api_url == "http://prod:8080"
    assert found.mes_prod_api_user == "deployer"
    assert found.mes_prod_api_password.get_secret_value() == "s3cret"


def test_the_derived_locations_follow_mes_home(clean, monkeypatch, tmp_path):
    monkeypatch.setenv("MES_HOME", str(tmp_path))
    found = current()
    assert (found.models, found.reports, found.bundle_store) == (
        tmp_path / "models",
        tmp_path / "reports",
        tmp_path / "bundles",
    )


@pytest.mark.parametrize(
    "name", sorted(set(ENVIRONMENT_NAMES) - settings.EMPTY_IS_SET), ids=lambda n: n
)
def test_an_empty_value_counts_as_unset(clean, monkeypatch, name):
    default = current()
    monkeypatch.setenv(name, "")
    assert current() == default


def test_an_empty_value_is_a_value_where_it_always_was(clean, monkeypatch):
    for name in ("MES_ALERT_FROM", "MES_ALERT_RECIPIENTS", "MES_PROD_API_USER"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("MES_MONITOR_SCHEDULE", "")  # manual runs only, not the configured one
    found = current()
    assert (found.mes_alert_from, found.mes_alert_recipients, found.mes_prod_api_user) == (
        "",
        "",
        "",
    )
    assert found.mes_monitor_schedule == ""


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MES_TASK_RETRIES", "two", "MES_TASK_RETRIES must be a whole number >= 0, got 'two'"),
        ("MES_TASK_RETRIES", "-1", "MES_TASK_RETRIES must be a whole number >= 0, got '-1'"),
        ("MES_TASK_RETRIES", "1.5", "MES_TASK_RETRIES must be a whole number >= 0, got '1.5'"),
        ("MES_TASK_RETRIES", "", "MES_TASK_RETRIES must be a whole number >= 0, got ''"),
        (
            "MES_RETRY_DELAY_SECONDS",
            "a minute",
            "MES_RETRY_DELAY_SECONDS must be a number of seconds >= 0, got 'a minute'",
        ),
        (
            "MES_RETRY_DELAY_SECONDS",
            "-5",
            "MES_RETRY_DELAY_SECONDS must be a number of seconds >= 0, got '-5'",
        ),
        (
            "MES_RETRY_DELAY_SECONDS",
            "nan",
            "MES_RETRY_DELAY_SECONDS must be a number of seconds >= 0, got 'nan'",
        ),
        (
            "MES_RETRY_DELAY_SECONDS",
            "inf",
            "MES_RETRY_DELAY_SECONDS must be a number of seconds >= 0, got 'inf'",
        ),
        (
            "MES_RETRY_DELAY_SECONDS",
            "",
            "MES_RETRY_DELAY_SECONDS must be a number of seconds >= 0, got ''",
        ),
    ],
)
def test_a_value_that_cannot_be_used_is_named_in_one_sentence(
    clean, monkeypatch, name, value, message
):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        current()
    assert str(raised.value) == message
    assert isinstance(raised.value, MonitoringError)


def test_every_bad_value_is_named_at_once(clean, monkeypatch):
    monkeypatch.setenv("MES_TASK_RETRIES", "two")
    monkeypatch.setenv("MES_RETRY_DELAY_SECONDS", "soon")
    with pytest.raises(ConfigurationError) as raised:
        Settings()
    assert str(raised.value) == (
        "MES_TASK_RETRIES must be a whole number >= 0, got 'two'; "
        "MES_RETRY_DELAY_SECONDS must be a number of seconds >= 0, got 'soon'"
    )


def test_numbers_are_read_as_python_reads_them(clean, monkeypatch):
    monkeypatch.setenv("MES_TASK_RETRIES", " 3 ")
    monkeypatch.setenv("MES_RETRY_DELAY_SECONDS", "0")
    assert (current().mes_task_retries, current().mes_retry_delay_seconds) == (3, 0.0)


def test_the_settings_are_frozen_and_hide_the_password(clean, monkeypatch):
    monkeypatch.setenv("MES_PROD_API_PASSWORD", "s3cret")
    found = current()
    with pytest.raises(ValidationError):
        found.mes_task_retries = 5
    assert "s3cret" not in repr(found)


def test_current_follows_the_environment_and_is_cheap(clean, monkeypatch, tmp_path):
    first = current()
    assert current() is first  # unchanged environment: the same settings
    monkeypatch.setenv("MES_HOME", str(tmp_path))
    assert current().mes_home == tmp_path
    monkeypatch.delenv("MES_HOME")
    assert current().mes_home == REPO_ROOT / ".mes"

    started = time.perf_counter()
    for _ in range(1_000):
        current()
    # About 50 microseconds each on a laptop; a generous bound for a busy machine.
    assert time.perf_counter() - started < 1.0


def test_the_readme_table_is_the_settings_model():
    readme = (REPO_ROOT / "README.md").read_text()
    assert environment_table() in readme
    # And it is the README's only table of environment variables.
    assert readme.count("| Environment variable |") == 1


def _shown(value) -> str:
    if isinstance(value, float):
        return f"`{value:g}`"
    if hasattr(value, "get_secret_value"):
        return f"`{value.get_secret_value()}`"
    return f"`{value}`"


@pytest.mark.parametrize(
    "name",
    [
        n
        for n, f in zip(ENVIRONMENT_NAMES, Settings.model_fields.values(), strict=True)
        if isinstance(f.default, (str, int, float)) or hasattr(f.default, "get_secret_value")
    ],
)
def test_the_readme_shows_the_real_default(name):
    field = next(f for f in Settings.model_fields.values() if f.alias == name)
    assert field.json_schema_extra["shown_default"] == _shown(field.default)


def test_only_the_settings_read_the_mes_variables():
    # deploy/ (developer tooling, outside what bundles carry) reads variables of its own.
    read = re.compile(r"""(environ\.get\(|environ\[|getenv\()\s*["'](MES_|DEPLOYER_)""")
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for folder in ("include", "plugins", "dags")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if read.search(path.read_text())
    ]
    assert offenders == []


def test_the_command_lines_stop_with_the_sentence_and_exit_code_2(clean, monkeypatch, capsys):
    from include.bundles.cli import main as bundles_main
    from include.cli import main

    monkeypatch.setenv("MES_TASK_RETRIES", "two")
    assert main(["show"]) == 2
    assert bundles_main(["bundles"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["error: MES_TASK_RETRIES must be a whole number >= 0, got 'two'"] * 2
