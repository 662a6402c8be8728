"""plugins/mes_dag_defaults: retries, schedules and alert recipients from the settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from include.errors import ConfigurationError
from mes_dag_defaults import (
    alert_recipients_template,
    dag_settings,
    default_args,
    monitor_schedule,
    release_schedule,
)

_NAMES = (
    "MES_TASK_RETRIES",
    "MES_RETRY_DELAY_SECONDS",
    "MES_MONITOR_SCHEDULE",
    "MES_RELEASE_SCHEDULE",
    "MES_ALERT_RECIPIENTS",
)


@pytest.fixture(autouse=True)
def unset(monkeypatch) -> None:
    for name in _NAMES:
        monkeypatch.delenv(name, raising=False)


def test_tasks_retry_twice_a_minute_apart_by_default():
    args = default_args()
    assert (args["owner"], args["retries"], args["retry_delay"]) == (
        "mlops",
        2,
        timedelta(seconds=60),
    )


def test_the_deployment_tunes_the_retries(monkeypatch):
    monkeypatch.setenv("MES_TASK_RETRIES", "0")
    monkeypatch.setenv("MES_RETRY_DELAY_SECONDS", "1.5")
    args = dag_settings()["default_args"]
    assert (args["retries"], args["retry_delay"]) == (0, timedelta(seconds=1.5))


def test_a_bad_retry_count_stops_the_dag_with_the_sentence(monkeypatch):
    monkeypatch.setenv("MES_TASK_RETRIES", "two")
    with pytest.raises(ConfigurationError) as raised:
        dag_settings()
    assert str(raised.value) == "MES_TASK_RETRIES must be a whole number >= 0, got 'two'"


@pytest.mark.parametrize(
    ("value", "schedule"),
    [
        (None, "0 6 1 1,4,7,10 *"),  # unset: the configuration's
        ("", None),
        ("none", None),
        ("None", None),
        (" 0 5 * * * ", "0 5 * * *"),
    ],
)
def test_the_monitor_schedule(monkeypatch, value, schedule):
    if value is not None:
        monkeypatch.setenv("MES_MONITOR_SCHEDULE", value)
    assert monitor_schedule("0 6 1 1,4,7,10 *") == schedule


def test_a_monitor_without_configured_schedule_is_manual():
    assert monitor_schedule(None) is None


@pytest.mark.parametrize(
    ("value", "schedule"),
    [(None, None), ("", None), ("NONE", None), ("0 7 * * 1", "0 7 * * 1")],
)
def test_the_release_schedule(monkeypatch, value, schedule):
    if value is not None:
        monkeypatch.setenv("MES_RELEASE_SCHEDULE", value)
    assert release_schedule() == schedule


def test_the_recipients_template_falls_back_on_the_environment(monkeypatch):
    assert alert_recipients_template(("team@example.org",)) == "team@example.org"
    assert "'mlops@example.com'" in alert_recipients_template()
    monkeypatch.setenv("MES_ALERT_RECIPIENTS", "ops@example.org")
    assert alert_recipients_template() == (
        "{{ var.value.get('mes_alert_recipients', 'ops@example.org') }}"
    )
