"""Shared fixtures: a real PostgreSQL for the integration tests, found or started per run, and a
throwaway Airflow (own home, SQLite metadata database) for the ``dag.test()`` runs."""

from __future__ import annotations

import os
import subprocess

# scikit-learn's OpenMP threads busy-wait; with two test processes on two cores a tiny fit can
# take a minute instead of a second. Test data is small: one thread each is plenty.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from collections.abc import Callable, Iterator

import pytest

from tests.support import airflow as airflow_support
from tests.support.postgres import PostgresServer, find_or_start_server

_AIRFLOW_SETTINGS_SET: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    # Airflow reads its settings once, when first imported: set them before any test module
    # (or DAG, or plugin) imports it.
    _AIRFLOW_SETTINGS_SET.update(airflow_support.configure_environment())


def pytest_unconfigure(config: pytest.Config) -> None:
    airflow_support.remove_created_folders(_AIRFLOW_SETTINGS_SET)


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """A migrated Airflow metadata database (once per session); returns the AIRFLOW_HOME."""
    try:
        airflow_support.migrate_metadata_db()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        pytest.fail(str(exc), pytrace=False)
    return os.environ["AIRFLOW_HOME"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A reachable PostgreSQL server; the run fails (never skips) when none can be had."""
    try:
        server = find_or_start_server()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def make_database(postgres_server: PostgresServer) -> Iterator[Callable[[], str]]:
    """Factory of fresh databases (SQLAlchemy URLs), each dropped after the test."""
    created: list[str] = []

    def make() -> str:
        url = postgres_server.create_database()
        created.append(url)
        return url

    yield make
    for url in created:
        postgres_server.drop_database(url)


@pytest.fixture
def postgres_url(make_database: Callable[[], str]) -> str:
    """A fresh, empty PostgreSQL database for one test (SQLAlchemy URL, psycopg2 driver)."""
    return make_database()


@pytest.fixture(scope="session")
def tutorial_config():
    """The fraud tutorial's configuration."""
    from include.config import load_config

    return load_config()


@pytest.fixture(scope="session")
def prepared_data():
    """The prepared tutorial dataset for all of 2017, small enough for tests (3,000 per quarter)."""
    from include.tutorial.generator import generate_tables
    from include.tutorial.prepare import prepare_transactions

    return prepare_transactions(generate_tables(transactions_per_quarter=3_000, seed=7))


@pytest.fixture(scope="session")
def trained_model(prepared_data, tutorial_config):
    """The Q1 2017 model, trained once per test run (not saved)."""
    from include.model.training import train_model

    return train_model(prepared_data, tutorial_config)


@pytest.fixture(scope="session")
def saved_model(trained_model, tutorial_config, tmp_path_factory):
    """The Q1 model saved and loaded back, verified, as evaluations use it."""
    from include.model.registry import load_model, save_model

    root = tmp_path_factory.mktemp("models")
    save_model(trained_model, root)
    return load_model(tutorial_config, root=root)


@pytest.fixture
def smtp_sink(monkeypatch):
    """A real SMTP server on 127.0.0.1, wired to Airflow's ``smtp_default`` connection."""
    from deploy.mail_sink import smtp_connection_uri
    from tests.support.smtp import smtp_server

    with smtp_server() as (port, sink):
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection_uri(port))
        yield sink
