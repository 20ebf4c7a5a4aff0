"""Alembic: the migrations build exactly the models' schema, and come back down cleanly.

Runs on SQLite (a fresh file) or on TEST_DATABASE_URL (emptied first).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

import flasky.models  # noqa: F401
from flasky import migrations
from flasky.config import async_database_url
from flasky.db import Base
from flasky.models.search_index import is_search_object
from tests.db_helpers import empty_database


async def _run(connection_work, url: str):  # noqa: ANN001, ANN202
    engine = migrations.migration_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(connection_work)
    finally:
        await engine.dispose()


def _inspect_schema(connection: Connection) -> dict:
    inspector = inspect(connection)
    schema = {}
    for table in inspector.get_table_names():
        schema[table] = {
            "pk": inspector.get_pk_constraint(table)["name"],
            "fks": sorted(fk["name"] for fk in inspector.get_foreign_keys(table)),
            # PostgreSQL also lists the index behind each unique constraint; skip those,
            # and the full-text index, which is DDL beside the models.
            "indexes": sorted(
                ix["name"]
                for ix in inspector.get_indexes(table)
                if not ix.get("duplicates_constraint") and not is_search_object(ix["name"], "index")
            ),
            "uniques": sorted(uq["name"] for uq in inspector.get_unique_constraints(table)),
        }
    return schema


@pytest.fixture
async def empty_url(tmp_path) -> AsyncIterator[str]:
    async for url in empty_database(tmp_path, "migrations.sqlite"):
        yield url


async def upgrade(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(migrations.upgrade, url, revision)


async def downgrade(url: str, revision: str = "base") -> None:
    await asyncio.to_thread(migrations.downgrade, url, revision)


async def test_upgrade_head_matches_the_models(empty_url):
    assert await migrations.current_revision(empty_url) is None
    await upgrade(empty_url)
    assert await migrations.current_revision(empty_url) == migrations.head_revision()
    assert await migrations.schema_differences(empty_url) == []


async def test_constraint_and_index_names_follow_the_naming_convention(empty_url):
    await upgrade(empty_url)
    schema = await _run(_inspect_schema, empty_url)
    for table in Base.metadata.sorted_tables:
        reflected = schema[table.name]
        assert reflected["pk"] == f"pk_{table.name}"
        assert reflected["fks"] == sorted(fk.name for fk in table.foreign_key_constraints)
        assert reflected["indexes"] == sorted(ix.name for ix in table.indexes)
    assert schema["roles"]["uniques"] == ["uq_roles_name"]
    assert "ix_posts_author_id_timestamp" in schema["posts"]["indexes"]
    assert "ix_comments_post_id_timestamp" in schema["comments"]["indexes"]
    assert "fk_comments_post_id_posts" in schema["comments"]["fks"]


async def test_downgrade_to_base_and_up_again(empty_url):
    await upgrade(empty_url)
    await downgrade(empty_url)
    tables = await _run(lambda c: inspect(c).get_table_names(), empty_url)
    assert tables == ["alembic_version"]
    assert await migrations.current_revision(empty_url) is None
    await upgrade(empty_url)
    assert await migrations.schema_differences(empty_url) == []


async def test_upgrade_is_a_no_op_at_head(empty_url):
    await upgrade(empty_url)
    await upgrade(empty_url)
    assert await migrations.current_revision(empty_url) == migrations.head_revision()


async def test_empty_database_differs_from_the_models(empty_url):
    # The comparison used above can see differences: an empty database has them all.
    differences = await migrations.schema_differences(empty_url)
    added = {diff[1].name for diff in differences if diff[0] == "add_table"}
    assert added == set(Base.metadata.tables)


async def test_env_reads_the_url_from_the_app_config(tmp_path, monkeypatch):
    target = tmp_path / "from-config.sqlite"
    monkeypatch.setenv("FLASKY_CONFIG", "testing")
    monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{target}")
    await upgrade(None)
    assert target.exists()
    url = async_database_url(f"sqlite:///{target}")
    assert await migrations.current_revision(url) == migrations.head_revision()


def test_offline_sql_generation():
    config = migrations.alembic_config("postgresql://user@localhost/flasky")
    config.output_buffer = io.StringIO()
    from alembic import command

    command.upgrade(config, "head", sql=True)
    sql = config.output_buffer.getvalue()
    assert "CREATE TABLE users" in sql
    assert "CONSTRAINT pk_users PRIMARY KEY" in sql


async def test_sqlite_batch_migrations_do_not_cascade_deletes(tmp_path):
    """Batch mode recreates tables; with foreign keys enforced, dropping the old `users`
    would delete every post. The migration engine keeps enforcement off."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    url = async_database_url(f"sqlite:///{tmp_path / 'batch.sqlite'}")
    await upgrade(url)

    def seed_and_recreate(connection: Connection) -> int:
        for statement in (
            "INSERT INTO roles (id, name, \"default\", permissions) VALUES (1, 'User', 1, 7)",
            "INSERT INTO users (id, email, username, email_key, username_key, role_id, confirmed,"
            " member_since, last_seen) VALUES (1, 'a@example.com', 'a', 'a@example.com', 'a', 1,"
            " 1, '2024-01-01', '2024-01-01')",
            "INSERT INTO posts (id, body, timestamp, author_id) VALUES (1, 'x', '2024-01-01', 1)",
        ):
            connection.execute(text(statement))
        operations = Operations(MigrationContext.configure(connection))
        with operations.batch_alter_table("users", recreate="always"):
            pass
        return connection.execute(text("SELECT count(*) FROM posts")).scalar_one()

    assert await _run(seed_and_recreate, url) == 1


async def test_word_count_migration_counts_the_posts_already_written(empty_url):
    await upgrade(empty_url, "54e1b7bec048")  # the schema before posts had word counts

    def seed(connection: Connection) -> None:
        for statement in (
            "INSERT INTO roles (id, name, \"default\", permissions) VALUES (1, 'User', true, 7)",
            "INSERT INTO users (id, email, username, role_id, confirmed, member_since, last_seen)"
            " VALUES (1, 'a@example.com', 'a', 1, true, '2024-01-01', '2024-01-01')",
            "INSERT INTO posts (id, body, body_html, timestamp, author_id) VALUES"
            " (1, 'x', '<p>two <em>words</em></p>', '2024-01-01', 1),"
            " (2, 'y', NULL, '2024-01-01', 1)",
        ):
            connection.execute(text(statement))

    await _run(seed, empty_url)
    await upgrade(empty_url, "3f5a9d2c7e18")
    counted = await _run(
        lambda c: c.execute(text("SELECT id, word_count FROM posts ORDER BY id")).all(), empty_url
    )
    assert [tuple(row) for row in counted] == [(1, 2), (2, 0)]


def _seed_two_posts(connection: Connection, comments_on_1: int) -> None:
    """A user, posts 1 and 2, and `comments_on_1` comments on post 1, in plain SQL (the
    schema of an older revision, which the models no longer describe)."""
    for statement in (
        "INSERT INTO roles (id, name, \"default\", permissions) VALUES (1, 'User', true, 7)",
        "INSERT INTO users (id, email, username, email_key, username_key, role_id,"
        " confirmed, member_since, last_seen) VALUES (1, 'a@example.com', 'a',"
        " 'a@example.com', 'a', 1, true, '2024-01-01', '2024-01-01')",
        "INSERT INTO posts (id, body, timestamp, author_id) VALUES"
        " (1, 'x', '2024-01-01', 1), (2, 'y', '2024-01-01', 1)",
    ):
        connection.execute(text(statement))
    for n in range(comments_on_1):
        connection.execute(
            text(
                "INSERT INTO comments (body, timestamp, disabled, author_id, post_id)"
                f" VALUES ('c{n}', '2024-01-01', false, 1, 1)"
            )
        )


async def test_comment_count_migration_counts_and_keeps_counting(empty_url):
    await upgrade(empty_url, "8d03e111b2f0")  # the schema before posts had comment counts

    def seed(connection: Connection) -> None:
        _seed_two_posts(connection, comments_on_1=2)

    def comment_counts(connection: Connection) -> list[tuple]:
        rows = connection.execute(text("SELECT id, comment_count FROM posts ORDER BY id"))
        return [tuple(row) for row in rows]

    def comment_on_2(connection: Connection) -> None:
        connection.execute(
            text(
                "INSERT INTO comments (body, timestamp, disabled, author_id, post_id)"
                " VALUES ('c', '2024-01-01', false, 1, 2)"
            )
        )

    await _run(seed, empty_url)
    await upgrade(empty_url)
    assert await _run(comment_counts, empty_url) == [(1, 2), (2, 0)]
    await _run(comment_on_2, empty_url)
    assert await _run(comment_counts, empty_url) == [(1, 2), (2, 1)]

    # Down again: the column and its triggers go, and comments can still be written.
    await downgrade(empty_url, "8d03e111b2f0")
    await _run(comment_on_2, empty_url)


async def test_sqlite_triggers_a_migration_dropped_come_back_and_recount(tmp_path):
    from flasky.models import counters

    url = async_database_url(f"sqlite:///{tmp_path / 'recreate.sqlite'}")
    await upgrade(url)

    def seed_and_lose_triggers(connection: Connection) -> list[tuple]:
        for statement in (
            "INSERT INTO roles (id, name, \"default\", permissions) VALUES (1, 'User', 1, 7)",
            "INSERT INTO users (id, email, username, email_key, username_key, role_id, confirmed,"
            " member_since, last_seen) VALUES (1, 'a@example.com', 'a', 'a@example.com', 'a', 1,"
            " 1, '2024-01-01', '2024-01-01')",
            "INSERT INTO posts (id, body, timestamp, author_id) VALUES (1, 'x', '2024-01-01', 1)",
            # As a batch migration recreating `comments` would leave things:
            *(statement for statement in counters.drop_statements("sqlite")),
            "INSERT INTO comments (body, timestamp, disabled, author_id, post_id) VALUES"
            " ('a', '2024-01-01', 0, 1, 1)",
        ):
            connection.execute(text(statement))

        def post() -> tuple:
            return tuple(
                connection.execute(text("SELECT comment_count, comments_version FROM posts")).one()
            )

        before = post()
        counters.restore_sqlite_triggers(connection)
        after = post()
        connection.execute(text("DELETE FROM comments"))
        emptied = post()
        return [before, after, emptied]

    before, after, emptied = await _run(seed_and_lose_triggers, url)
    assert [before[0], after[0], emptied[0]] == [0, 1, 0]
    # The comment written while no trigger watched has moved the version, and so has its
    # deletion since.
    assert before[1] == 0 and after[1] != 0 and emptied[1] not in (0, after[1])


async def test_comments_version_migration_moves_commented_posts_and_goes_down_again(empty_url):
    await upgrade(empty_url, "c0a7e5d1f3b9")  # the schema before posts had versions

    def seed(connection: Connection) -> None:
        _seed_two_posts(connection, comments_on_1=1)

    def versions(connection: Connection) -> list[int]:
        rows = connection.execute(text("SELECT comments_version FROM posts ORDER BY id"))
        return [row[0] for row in rows]

    def comment_on_2(connection: Connection) -> list[tuple]:
        connection.execute(
            text(
                "INSERT INTO comments (body, timestamp, disabled, author_id, post_id)"
                " VALUES ('c', '2024-01-01', false, 1, 2)"
            )
        )
        rows = connection.execute(text("SELECT id, comment_count FROM posts ORDER BY id"))
        return [tuple(row) for row in rows]

    await _run(seed, empty_url)
    await upgrade(empty_url)
    first, second = await _run(versions, empty_url)
    assert first != 0 and second == 0  # a post with comments never keeps version 0
    assert await _run(comment_on_2, empty_url) == [(1, 1), (2, 1)]
    assert (await _run(versions, empty_url))[1] != 0

    # Down again: the column and its triggers go, the counts keep counting.
    await downgrade(empty_url, "c0a7e5d1f3b9")
    assert await _run(comment_on_2, empty_url) == [(1, 1), (2, 2)]
