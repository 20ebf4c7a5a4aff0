"""`flasky rerender`: every stored post and comment rendered again, in committed batches,
safe to interrupt and run again, and never overwriting an edit made meanwhile."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from flasky import create_app, rerender
from flasky.config import async_database_url
from flasky.db import get_database
from flasky.markdown import render_post
from flasky.models import Comment, Post
from flasky.models.post import post_body_columns
from tests.factories import make_comment, make_post, make_user
from tests.test_cli import flasky, target_url  # noqa: F401 - fixtures

STALE = "<p>rendered by an older version</p>"
TABLE_BODY = "| a | b |\n|---|---|\n| 1 | 2 |"


def run_on(url: str, *statements) -> list:  # noqa: ANN002
    """Execute statements on the target database and commit; returns each one's rows."""

    async def run() -> list:
        app = create_app("testing")
        app.config["SQLALCHEMY_DATABASE_URL"] = async_database_url(url)
        database = get_database(app)
        async with database.running(), database.session() as session:
            results = []
            for statement in statements:
                result = await session.execute(statement)
                results.append(result.all() if statement.is_select else None)
            await session.commit()
            return results

    return asyncio.run(run())


def make_stale(url: str) -> None:
    run_on(
        url,
        update(Post).values(body_html=STALE, body_text="stale", word_count=1),
        update(Comment).values(body_html=STALE),
        update(Post).where(Post.id == 1).values(body=TABLE_BODY),
    )


def stored(url: str) -> tuple[list, list]:
    """(body, what is stored derived from it) for each post and comment, by id."""
    posts, comments = run_on(
        url,
        select(Post.body, Post.body_html, Post.body_text, Post.word_count).order_by(Post.id),
        select(Comment.body, Comment.body_html).order_by(Comment.id),
    )
    names = ("body_html", "body_text", "word_count")
    posts = [(body, dict(zip(names, derived, strict=True))) for body, *derived in posts]
    comments = [(body, {"body_html": html}) for body, html in comments]
    return posts, comments


def fresh(rows: list, derive) -> list[bool]:  # noqa: ANN001
    return [columns == derive(body) for body, columns in rows]


def all_fresh(posts: list, comments: list) -> bool:
    return all(fresh(posts, rerender.post_columns)) and all(
        fresh(comments, rerender.comment_columns)
    )


@pytest.fixture
def stale_database(flasky, target_url):  # noqa: F811
    flasky("deploy")
    flasky("fake", "users", "3", "--seed", "1")
    flasky("fake", "posts", "7")
    flasky("fake", "comments", "9")
    make_stale(target_url)
    return target_url


def test_rerender_renders_every_row_in_batches_with_a_progress_bar(flasky, stale_database):  # noqa: F811
    result = flasky("rerender", "--batch-size", "2")
    assert "Rendering posts" in result.output and "Rendering comments" in result.output
    assert "Rendered 7 posts: 7 with new HTML." in result.output
    assert "Rendered 9 comments: 9 with new HTML." in result.output
    posts, comments = stored(stale_database)
    assert all_fresh(posts, comments)
    assert posts[0][1]["body_html"].startswith("<table>")

    again = flasky("rerender")
    assert "Rendered 7 posts: 0 with new HTML." in again.output
    assert "Rendered 9 comments: 0 with new HTML." in again.output


def test_an_interrupted_rerender_keeps_finished_batches_and_can_run_again(
    flasky,  # noqa: F811
    stale_database,
    monkeypatch,
):
    calls = 0

    def render_then_stop(body: str) -> dict:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise KeyboardInterrupt
        return rerender.post_columns(body)

    monkeypatch.setitem(rerender.TABLES, "posts", (Post, render_then_stop))
    flasky("rerender", "--batch-size", "2", expect=1)
    posts, comments = stored(stale_database)
    # Two batches of two were committed; the third was cut short and left nothing.
    assert fresh(posts, rerender.post_columns) == [True] * 4 + [False] * 3
    assert not any(fresh(comments, rerender.comment_columns))

    monkeypatch.undo()
    flasky("rerender", "--batch-size", "2")
    posts, comments = stored(stale_database)
    assert all_fresh(posts, comments)


async def test_an_edit_made_while_its_batch_renders_is_kept(app, session):
    author = await make_user(session)
    edited = await make_post(session, author, "first *version*")
    other = await make_post(session, author, "untouched")
    await make_comment(session, author, other, "a *comment*")
    await session.execute(update(Post).values(body_html=STALE))
    await session.commit()
    url = app.config["SQLALCHEMY_DATABASE_URL"]

    def edit_then_render(body: str) -> dict:
        # Someone saves a new version (and its HTML) between the read and the write.
        if body == "first *version*":
            asyncio.run(save_edit(url, edited.id, "second **version**"))
        return rerender.post_columns(body)

    rerender.TABLES["posts"], saved = (Post, edit_then_render), rerender.TABLES["posts"]
    try:
        done = await rerender.rerender(session, "posts", batch_size=10)
    finally:
        rerender.TABLES["posts"] = saved
    assert done.rows == 2
    session.expire_all()
    rows = (await session.execute(select(Post.body, Post.body_html).order_by(Post.id))).all()
    await session.commit()
    assert rows[0] == ("second **version**", render_post("second **version**"))
    assert rows[1] == ("untouched", render_post("untouched"))


async def save_edit(url: str, post_id: int, body: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as connection:
        await connection.execute(
            update(Post.__table__)
            .where(Post.__table__.c.id == post_id)
            .values(post_body_columns(body))
        )
    await engine.dispose()
