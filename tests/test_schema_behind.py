"""Served on a database whose schema is behind the code (never deployed, or a migration
pending), pages answer 503 with a page that says so and /healthz answers 503
{"status": "schema behind"}; once `flasky deploy` has run, the site serves again."""

from __future__ import annotations

import asyncio

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from flasky import create_app
from flasky.db import get_database
from flasky.migrations import alembic_config, downgrade, head_revision, upgrade
from tests import conftest
from tests.factories import basic_auth


def previous_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config())
    return script.get_revision(head_revision()).down_revision


async def drop_everything(url: str) -> None:
    """An empty database: every table, the Alembic version table too."""
    from flasky.db import Base

    app = create_app("testing")
    app.config["SQLALCHEMY_DATABASE_URL"] = url
    database = get_database(app)
    async with database.start().begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await database.stop()


@pytest.fixture
async def served(tmp_path):
    """An app on a database that the test migrates, rechecking its schema at once."""
    url = conftest.test_database_url(tmp_path)
    await drop_everything(url)
    apps = []

    async def serve(revision: str | None):
        if revision is not None:
            await asyncio.to_thread(upgrade, url, revision)
        app = create_app("testing")
        app.test_client_class = conftest.IsolatedClient
        app.config.update(SQLALCHEMY_DATABASE_URL=url, FLASKY_SCHEMA_RECHECK=0.0)
        apps.append(app)
        return app

    yield url, serve
    for app in apps:
        await get_database(app).stop()
    await asyncio.to_thread(downgrade, url, "base")
    await drop_everything(url)


async def assert_schema_behind(client) -> None:
    page = await client.get("/")
    assert page.status_code == 503
    assert "being upgraded" in await page.get_data(as_text=True)
    api = await client.get("/api/v1/posts/", headers=basic_auth("a@b.c", "x"))
    assert api.status_code == 503
    assert (await api.get_json())["error"] == "service unavailable"
    health = await client.get("/healthz")
    assert health.status_code == 503
    body = await health.get_json()
    assert body["status"] == "schema behind"
    assert body["head"] == head_revision()


@pytest.mark.parametrize("deployed", ["never", "one migration behind"])
async def test_a_schema_behind_the_code_gives_503_until_deployed(served, deployed):
    url, serve = served
    app = await serve(None if deployed == "never" else previous_revision())
    async with app.test_app(), app.app_context():
        client = app.test_client()
        await assert_schema_behind(client)

        await asyncio.to_thread(upgrade, url, "head")  # `flasky deploy`
        assert (await client.get("/healthz")).status_code == 200
        # The pages see it at their next check, without a restart.
        for _ in range(50):
            if (await client.get("/")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert (await client.get("/")).status_code == 200


async def test_a_deployed_database_is_served(served):
    _, serve = served
    app = await serve("head")
    async with app.test_app(), app.app_context():
        client = app.test_client()
        assert (await client.get("/")).status_code == 200
        assert await (await client.get("/healthz")).get_json() == {"status": "ok"}
