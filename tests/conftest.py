"""Shared fixtures: a real PostgreSQL for the integration tests, found or started per run."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.postgres import PostgresServer, find_or_start_server


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
