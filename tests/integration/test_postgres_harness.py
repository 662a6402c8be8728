"""The harness itself: a run gets a fresh database, and can start a throwaway cluster."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support.postgres import start_local_cluster

pytestmark = pytest.mark.integration


def test_each_test_gets_an_empty_database(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        tables = conn.execute(
            sa.text(
                "select count(*) from information_schema.tables "
                "where table_schema not in ('pg_catalog', 'information_schema')"
            )
        ).scalar_one()
    engine.dispose()
    assert tables == 0


def test_throwaway_cluster_starts_answers_and_stops() -> None:
    """The fallback a fresh machine without a running server takes."""
    server = start_local_cluster()
    assert server is not None, "no local PostgreSQL binaries: cannot start a throwaway cluster"
    try:
        url = server.create_database()
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
        engine.dispose()
    finally:
        server.stop()
    with pytest.raises(sa.exc.OperationalError):
        sa.create_engine(server.admin_url, connect_args={"connect_timeout": 2}).connect()
