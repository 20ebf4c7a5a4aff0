"""Empty databases for tests that build their own schema (migrations, deploy, CLI):
a fresh SQLite file, or TEST_DATABASE_URL with every table dropped."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from flasky import migrations
from flasky.config import async_database_url


def _drop_everything(connection: Connection) -> None:
    metadata = MetaData()
    metadata.reflect(connection)
    metadata.drop_all(connection)


async def drop_everything(url: str) -> None:
    engine = migrations.migration_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_drop_everything)
    finally:
        await engine.dispose()


async def empty_database(tmp_path: Path, name: str = "empty.sqlite") -> AsyncIterator[str]:
    """Yield the async URL of an empty database; for use in an async generator fixture."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield async_database_url(f"sqlite:///{tmp_path / name}")
        return
    url = async_database_url(url)
    await drop_everything(url)
    yield url
    await drop_everything(url)
