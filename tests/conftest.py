"""Fixtures: an app on a fresh database (SQLite by default, PostgreSQL with TEST_DATABASE_URL),
its test client, a session for arranging data, and factories."""

from __future__ import annotations

import asyncio
import contextvars
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from quart import Quart
from quart.testing import QuartClient
from quart.typing import TestClientProtocol
from sqlalchemy.ext.asyncio import AsyncSession

from flasky import create_app
from flasky.config import async_database_url
from flasky.db import Base, Database, get_database
from flasky.models import Role, User
from tests.api_client import APIClient
from tests.factories import make_user


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


class IsolatedClient(QuartClient):
    """Runs each request in a fresh contextvars context, as a real server does. Otherwise
    the request task inherits the test's pushed app context, so every request of a test
    shares one `g` (current user, database session — never closed, holding SQLite's
    single pooled connection) and no request's teardown_appcontext runs."""

    async def _make_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        request = super()._make_request(*args, **kwargs)
        return await asyncio.create_task(request, context=contextvars.Context())


@pytest.fixture
def app_config() -> dict:
    """Override in a test module (or parametrize) to change settings before startup."""
    return {}


@pytest.fixture
async def app(tmp_path, app_config) -> AsyncIterator[Quart]:
    app = create_app("testing")
    app.test_client_class = IsolatedClient
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


@pytest.fixture
def redis_url() -> str:
    """The shared Redis the tests may use (TEST_REDIS_URL; .ci/run sets it)."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_REDIS_URL is not set (.ci/run sets it)")
        pytest.skip("TEST_REDIS_URL is not set")
    return url


@pytest.fixture
def redis_prefix(redis_url) -> Iterator[str]:
    """A key prefix of this test's own in the shared Redis, removed afterwards."""
    import uuid

    import redis

    prefix = f"flasky-test-{uuid.uuid4().hex}"
    yield prefix
    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
def limit_store(request) -> dict:
    """Settings for each rate limit store: the worker's memory, or the shared Redis."""
    if request.param == "memory":
        return {"REDIS_URL": ""}
    return {
        "REDIS_URL": request.getfixturevalue("redis_url"),
        "FLASKY_REDIS_PREFIX": request.getfixturevalue("redis_prefix"),
    }


# -- the API's usual cast ---------------------------------------------------------------


@pytest.fixture
def api(client) -> APIClient:
    """A client for /api/v1 that checks each response against the OpenAPI document."""
    return APIClient(client)


@pytest.fixture
async def john(session) -> User:
    return await make_user(session, username="john", email="john@example.com", password="cat")


@pytest.fixture
async def susan(session) -> User:
    return await make_user(session, username="susan", email="susan@example.com", password="dog")
