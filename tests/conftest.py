"""Fixtures: an app on a fresh database (SQLite by default, PostgreSQL with TEST_DATABASE_URL),
its test client, a session for arranging data, and factories."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from quart import Quart
from quart.typing import TestClientProtocol
from sqlalchemy.ext.asyncio import AsyncSession

from flasky import create_app
from flasky.config import async_database_url
from flasky.db import Base, Database, get_database
from flasky.models import Role


def test_database_url(tmp_path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return async_database_url(url)
    return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite'}"


async def reset_schema(database: Database) -> None:
    engine = database.start()
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)


@pytest.fixture
def app_config() -> dict:
    """Override in a test module (or parametrize) to change settings before startup."""
    return {}


@pytest.fixture
async def app(tmp_path, app_config) -> AsyncIterator[Quart]:
    app = create_app("testing")
    app.config["SQLALCHEMY_DATABASE_URL"] = test_database_url(tmp_path)
    app.config.update(app_config)
    database = get_database(app)
    await reset_schema(database)
    async with database.session() as session:
        await Role.insert_roles(session)
    async with app.test_app():
        async with app.app_context():
            yield app
    await database.stop()


@pytest.fixture
def database(app) -> Database:
    return get_database(app)


@pytest.fixture
async def session(database) -> AsyncIterator[AsyncSession]:
    async with database.session() as session:
        yield session


@pytest.fixture
def client(app) -> TestClientProtocol:
    return app.test_client()


@pytest.fixture
def outbox(app) -> list:
    """Messages the testing config captured instead of sending."""
    return app.extensions.setdefault("mail_outbox", [])
