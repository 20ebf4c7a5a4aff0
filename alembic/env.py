"""Alembic environment: an async engine on the URL from the app's configuration.

The URL comes from flasky's config (FLASKY_CONFIG, DATABASE_URL / DEV_DATABASE_URL /
TEST_DATABASE_URL, .env), not from alembic.ini, so the app and its migrations always
agree. `alembic -x database_url=...` or flasky.migrations.alembic_config(url) override it.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

import flasky.models  # noqa: F401  (registers every table on Base.metadata)
from flasky.config import async_database_url, load_config
from flasky.migrations import context_options, migration_engine
from flasky.models import counters
from flasky.models.search_index import restore_sqlite_triggers

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = config.attributes.get("database_url") or context.get_x_argument(as_dictionary=True).get(
        "database_url"
    )
    if url:
        return async_database_url(url)
    return load_config().SQLALCHEMY_DATABASE_URL


def _options(dialect_name: str) -> dict:
    return {k: v for k, v in context_options(dialect_name).items() if v is not None}


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: write the SQL instead of running it."""
    url = database_url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_options(url.split(":", 1)[0].split("+", 1)[0]),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()
        # A migration that rebuilt a table on SQLite took its triggers along.
        restore_sqlite_triggers(connection)
        counters.restore_sqlite_triggers(connection)


async def run_async_migrations() -> None:
    engine = migration_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    # A caller may lend its own (sync) connection, e.g. inside connection.run_sync(...).
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
