"""Alembic's environment for the MES schema.

``include.mes.migrations`` runs it with the store's open connection (``config.attributes``), in
the caller's transaction and under its lock. Without one (``command.revision(...,
autogenerate=True)`` from a developer's shell), it opens the store that ``MES_DATABASE_URL``
names, or the embedded SQLite file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from include.db import create_engine
from include.mes import migrations
from include.mes.schema import SCHEMA

config = context.config


def run_migrations(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        on_version_apply=config.attributes.get("on_version_apply", ()),
        **migrations.context_options(connection),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_on_the_configured_store() -> None:
    from include.mes.store import resolve_mes_url

    url = resolve_mes_url(config.get_main_option("sqlalchemy.url"))
    engine, _ = create_engine(url, SCHEMA, what="MES database")
    try:
        with engine.begin() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if config.attributes.get("connection") is not None:
    run_migrations(config.attributes["connection"])
else:
    run_on_the_configured_store()
