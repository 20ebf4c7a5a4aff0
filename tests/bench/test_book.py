"""The book's app as a benchmark peer: its schema gets the bench data set.

The book's repository is not needed: the test writes a throwaway copy of the book's schema
(its five tables, as its models create them on SQLite) and checks that the seed fills it
with the same rows the app's own schema gets.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from werkzeug.security import check_password_hash

from flasky.config import async_database_url
from flasky_bench import book, seed

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SMALL = {"users": 6, "posts": 30, "comments": 120}

# As the book's models declare them (Flask-SQLAlchemy create_all on SQLite).
BOOK_SCHEMA = """
CREATE TABLE roles (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(64) UNIQUE,
    "default" BOOLEAN, permissions INTEGER);
CREATE TABLE users (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(64), username VARCHAR(64),
    role_id INTEGER REFERENCES roles (id), password_hash VARCHAR(128), confirmed BOOLEAN,
    name VARCHAR(64), location VARCHAR(64), about_me TEXT, member_since DATETIME,
    last_seen DATETIME, avatar_hash VARCHAR(32));
CREATE UNIQUE INDEX ix_users_username ON users (username);
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE TABLE follows (follower_id INTEGER NOT NULL REFERENCES users (id),
    followed_id INTEGER NOT NULL REFERENCES users (id), timestamp DATETIME,
    PRIMARY KEY (follower_id, followed_id));
CREATE TABLE posts (id INTEGER NOT NULL PRIMARY KEY, body TEXT, body_html TEXT,
    timestamp DATETIME, author_id INTEGER REFERENCES users (id));
CREATE TABLE comments (id INTEGER NOT NULL PRIMARY KEY, body TEXT, body_html TEXT,
    timestamp DATETIME, disabled BOOLEAN, author_id INTEGER REFERENCES users (id),
    post_id INTEGER REFERENCES posts (id));
"""


@pytest.fixture
def book_database(tmp_path):
    path = tmp_path / "book.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(BOOK_SCHEMA)
        # Rows of an earlier run: the seed replaces them.
        conn.execute("INSERT INTO roles (name, permissions) VALUES ('Old', 1)")
    return path


async def test_seed_fills_the_books_schema_with_the_bench_data_set(book_database):
    written = await book.seed_book(f"sqlite:///{book_database}", **SMALL)
    expected = seed.generate(**SMALL, password_hash="x", user_role_id=1)

    conn = sqlite3.connect(book_database)
    check_seeded(conn, expected, written)


def check_seeded(conn, expected, written) -> None:
    roles = dict(conn.execute("SELECT name, permissions FROM roles"))
    assert roles == {"User": 7, "Moderator": 15, "Administrator": 31}
    user_role = conn.execute("SELECT id FROM roles WHERE name = 'User'").fetchone()[0]

    users = conn.execute(
        "SELECT id, email, username, role_id, password_hash, member_since FROM users ORDER BY id"
    ).fetchall()
    assert [(u[0], u[1], u[2]) for u in users] == [
        (u["id"], u["email"], u["username"]) for u in expected.users
    ]
    assert {u[3] for u in users} == {user_role}
    # The book's Werkzeug 2.0 checks PBKDF2 hashes; the bench logs in with its password.
    assert users[0][4].startswith("pbkdf2:sha256:")
    assert check_password_hash(users[0][4], seed.BENCH_PASSWORD)
    # Naive UTC, as the book's datetime.utcnow() stores them, and the same instants.
    first_since = users[0][5]
    if isinstance(first_since, str):  # SQLite's DATETIME text
        first_since = datetime.fromisoformat(first_since)
    assert first_since.tzinfo is None
    assert first_since == expected.users[0]["member_since"].replace(tzinfo=None)

    posts = conn.execute("SELECT id, body, author_id, timestamp FROM posts ORDER BY id").fetchall()
    assert [(p[0], p[1], p[2]) for p in posts] == [
        (p["id"], p["body"], p["author_id"]) for p in expected.posts
    ]
    comments = conn.execute("SELECT post_id, COUNT(*) FROM comments GROUP BY post_id").fetchall()
    per_post: dict[int, int] = {}
    for comment in expected.comments:
        per_post[comment["post_id"]] = per_post.get(comment["post_id"], 0) + 1
    assert dict(comments) == per_post
    follows = conn.execute("SELECT COUNT(*) FROM follows").fetchone()[0]
    assert follows == len(expected.follows) == len(written.follows)
    # Columns the book does not have (none today) would simply not be written.
    assert written.posts[0]["body"] == expected.posts[0]["body"]


async def test_seed_again_replaces_the_previous_rows(book_database):
    url = f"sqlite:///{book_database}"
    await book.seed_book(url, **SMALL)
    await book.seed_book(url, **SMALL)
    conn = sqlite3.connect(book_database)
    assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == SMALL["users"]
    assert conn.execute("SELECT COUNT(*) FROM comments").fetchone()[0] == SMALL["comments"]


def test_book_server_is_pinned_gunicorn_with_the_books_own_python(tmp_path):
    spec = book.server_spec(
        "book-gthread",
        tmp_path / "venv" / "bin" / "python",
        tmp_path / "flasky",
        "sqlite+aiosqlite:////tmp/x.sqlite",
        worker_class="gthread",
        threads=16,
    )
    assert spec.command[0].endswith("venv/bin/python")
    assert spec.command[spec.command.index("--workers") + 1] == "1"
    assert spec.command[spec.command.index("--threads") + 1] == "16"
    assert "SERVER_NAME=127.0.0.1:{port}" in spec.command
    assert spec.env["DATABASE_URL"] == "sqlite:////tmp/x.sqlite"
    assert spec.env["FLASK_CONFIG"] == "production"
    sync = book.server_spec(
        "book-sync",
        tmp_path / "py",
        tmp_path,
        "postgresql+asyncpg://u@h/db",
        worker_class="sync",
        threads=16,
    )
    assert "--threads" not in sync.command
    assert sync.env["DATABASE_URL"] == "postgresql://u@h/db"


def test_a_directory_that_is_not_the_books_checkout_is_refused(tmp_path):
    with pytest.raises(Exception, match="not a checkout"):
        book.check_checkout(tmp_path)


@pytest.mark.parametrize(
    ("app_url", "book_url"),
    [
        ("sqlite:////data/bench.sqlite", "sqlite:////data/bench-book.sqlite"),
        (
            "postgresql://postgres@127.0.0.1/flasky_bench",
            "postgresql://postgres@127.0.0.1/flasky_bench_book",
        ),
    ],
)
def test_the_book_gets_its_own_database_beside_the_apps(app_url, book_url):
    assert book.database_beside(app_url) == book_url


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="the PostgreSQL variant runs with TEST_DATABASE_URL",
)
async def test_seed_fills_the_books_schema_on_postgresql():
    """On PostgreSQL the book's timestamps are `timestamp without time zone`: the seed
    must hand the driver naive UTC values. A database of its own, beside the tests'."""
    url = book.database_beside(os.environ["TEST_DATABASE_URL"])
    await seed.ensure_database(url)
    schema = BOOK_SCHEMA.replace("INTEGER NOT NULL PRIMARY KEY", "SERIAL PRIMARY KEY").replace(
        "DATETIME", "TIMESTAMP WITHOUT TIME ZONE"
    )
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS comments, posts, follows, users, roles"))
            for statement in filter(str.strip, schema.split(";")):
                await conn.execute(text(statement))
    finally:
        await engine.dispose()
    written = await book.seed_book(url, **SMALL)
    expected = seed.generate(**SMALL, password_hash="x", user_role_id=1)

    psycopg = pytest.importorskip("psycopg")  # the bench extra

    with psycopg.connect(url.replace("+asyncpg", "")) as pg:
        check_seeded(pg, expected, written)  # psycopg's execute reads like sqlite3's
        # Sequences caught up: the book's next post gets a fresh id.
        next_id = pg.execute("SELECT nextval(pg_get_serial_sequence('posts', 'id'))").fetchone()
        assert next_id[0] == SMALL["posts"] + 1
