"""The search migration on a database that already has posts: it fills the index, new
rows are indexed from then on, and downgrading removes every part of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from flasky import migrations
from flasky.markdown import render_post
from flasky.models.search_index import SEARCH_TABLES, SEARCH_VECTOR
from flasky.queries.search import parse, search_people, search_posts
from tests.db_helpers import empty_database

SEARCH = "9c1f3e7a5b20"
BEFORE_SEARCH = (
    ScriptDirectory.from_config(migrations.alembic_config()).get_revision(SEARCH).down_revision
)


@pytest.fixture
async def url(tmp_path) -> AsyncIterator[str]:
    async for url in empty_database(tmp_path, "search-migration.sqlite"):
        yield url


async def run(url: str, work):  # noqa: ANN001, ANN201
    engine = migrations.migration_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


async def found(url: str, words: str, people: bool = False) -> list[int] | list[str]:
    engine = migrations.migration_engine(url)
    try:
        async with AsyncSession(engine) as session:
            if people:
                page = await search_people(session, parse(words), page=1, per_page=20)
                return [person.user.username for person in page.items]
            page = await search_posts(session, parse(words), page=1, per_page=20)
            return [hit.post.id for hit in page.items]
    finally:
        await engine.dispose()


def insert_rows(connection: Connection, posts: dict[int, str]) -> None:
    when = datetime(2026, 1, 1)
    connection.execute(
        text("INSERT INTO roles (id, name, \"default\", permissions) VALUES (1, 'User', true, 7)")
    )
    connection.execute(
        text(
            "INSERT INTO users (id, email, username, role_id, confirmed, name, location, "
            "member_since, last_seen) VALUES (1, 'hidden@example.com', 'olduser', 1, true, "
            "'Renée', 'Besançon', :when, :when)"
        ),
        {"when": when},
    )
    for id, body in posts.items():
        connection.execute(
            text(
                "INSERT INTO posts (id, body, body_html, timestamp, author_id) "
                "VALUES (:id, :body, :html, :when, 1)"
            ),
            {"id": id, "body": body, "html": render_post(body), "when": when},
        )


def search_objects(connection: Connection) -> set[str]:
    inspector = inspect(connection)
    names = set(inspector.get_table_names()) & SEARCH_TABLES
    for table in ("posts", "users"):
        names |= {f"{table}.{c['name']}" for c in inspector.get_columns(table)} & {
            f"{table}.{SEARCH_VECTOR}",
            "posts.body_text",
        }
        names |= {ix["name"] for ix in inspector.get_indexes(table) if SEARCH_VECTOR in ix["name"]}
    if connection.dialect.name == "sqlite":
        names |= {
            row[0]
            for row in connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            )
        }
    return names


async def test_upgrade_indexes_existing_posts_and_downgrade_removes_the_index(url):
    await asyncio.to_thread(migrations.upgrade, url, BEFORE_SEARCH)
    posts = {1: "Crème brûlée **recipes** for running cooks", 2: "Nothing about desserts"}
    await run(url, lambda c: insert_rows(c, posts))

    # To the newest revision (the search one and any after it): the app's queries and the
    # schema check below expect the whole current schema.
    await asyncio.to_thread(migrations.upgrade, url, "head")
    assert await found(url, "creme brulee") == [1]
    assert await found(url, "run") == [1]
    assert await found(url, "strong") == []
    assert await found(url, "renee besancon", people=True) == ["olduser"]
    assert await found(url, "hidden", people=True) == []
    assert await migrations.schema_differences(url) == []
    made = await run(url, search_objects)
    assert "posts.body_text" in made

    # From here on, writes keep the index in step.
    await run(
        url,
        lambda c: c.execute(
            text(
                "INSERT INTO posts (id, body, body_html, body_text, timestamp, author_id) "
                "VALUES (3, 'x', '<p>x</p>', 'fresh quinces', '2026-01-02', 1)"
            )
        ),
    )
    assert await found(url, "quince") == [3]

    await asyncio.to_thread(migrations.downgrade, url, BEFORE_SEARCH)
    assert await run(url, search_objects) == set()
    assert await run(url, lambda c: c.execute(text("SELECT count(*) FROM posts")).scalar()) == 3

    # And up again, on the same rows, through every later migration: on SQLite those
    # that rebuild users or posts drop their triggers, which the environment puts back.
    await asyncio.to_thread(migrations.upgrade, url, "head")
    assert await run(url, search_objects) == made
    assert await found(url, "creme") == [1]
    assert await found(url, "dessert") == [2]
    assert await found(url, "besancon", people=True) == ["olduser"]
    await run(url, lambda c: c.execute(text("UPDATE users SET location = 'Lyon' WHERE id = 1")))
    assert await found(url, "besancon", people=True) == []
    assert await found(url, "lyon", people=True) == ["olduser"]
