"""Posts as lists and the API show them: pages of posts (all, followed, by one user) and
one post, each a single statement whatever the page size.

Authors are joined into the page query, and each post's comment count and the page total
are subqueries of that same statement: never a query per row (the book's home page ran
41 statements; this one runs 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import Row, Select, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Follow, Post, User
from flasky.queries.pagination import Listing, Page, paginate
from flasky.queries.records import columns_by_label, read_rows
from flasky.queries.users import AUTHOR_COLUMNS, AuthorCard


class PostItem(NamedTuple):
    # Every field but `author` is a column of POST_COLUMNS, labelled with the field's name.
    # A named tuple, like the other list records (queries/users.py says why).
    id: int
    body: str
    body_html: str | None
    timestamp: datetime
    author_id: int
    word_count: int
    comment_count: int
    author: AuthorCard

    @classmethod
    def from_rows(cls, rows: Sequence[Row], author: AuthorCard | None = None) -> list[PostItem]:
        """From rows of POST_COLUMNS, plus AUTHOR_COLUMNS unless every post is `author`'s."""
        if not rows:
            return []
        columns = columns_by_label(rows, POST_LABELS)
        if author is not None:
            return [tuple.__new__(cls, (*columns(row), author)) for row in rows]
        card = AuthorCard.reader(rows)
        return [tuple.__new__(cls, (*columns(row), card(row))) for row in rows]

    @classmethod
    def from_row(cls, row: Row, author: AuthorCard | None = None) -> PostItem:
        """One row's record (from_rows for a list: it reads the labels once)."""
        return cls.from_rows([row], author)[0]


POST_LABELS = tuple(name for name in PostItem._fields if name != "author")

POST_COLUMNS = (
    Post.id.label("id"),
    Post.body.label("body"),
    Post.body_html.label("body_html"),
    Post.timestamp.label("timestamp"),
    Post.author_id.label("author_id"),
    Post.word_count.label("word_count"),
    # Kept by the database (models/counters.py): a column, not a count per row read.
    Post.comment_count.label("comment_count"),
)


def _with_authors() -> Select:
    return select(*POST_COLUMNS, *AUTHOR_COLUMNS).join(User, User.id == Post.author_id)


def _newest_first(stmt: Select, count_stmt: Select) -> Listing:
    # id breaks ties between posts written in the same instant, so pages never overlap.
    return Listing(stmt.order_by(Post.timestamp.desc(), Post.id.desc()), count_stmt)


@cache
def _all_posts() -> Listing:
    return _newest_first(_with_authors(), select(func.count()).select_from(Post))


@cache
def _followed_posts() -> Listing:
    """Posts of everyone bindparam user_id follows, themself included (the self-follow)."""
    follows = and_(Follow.followed_id == Post.author_id, Follow.follower_id == bindparam("user_id"))
    return _newest_first(
        _with_authors().join(Follow, follows),
        select(func.count()).select_from(Post).join(Follow, follows),
    )


@cache
def _posts_by_user() -> Listing:
    """The posts of bindparam user_id (no author columns: every post is theirs)."""
    by_author = Post.author_id == bindparam("user_id")
    return _newest_first(
        select(*POST_COLUMNS).where(by_author),
        select(func.count()).select_from(Post).where(by_author),
    )


async def all_posts_page(session: AsyncSession, *, page: int, per_page: int) -> Page[PostItem]:
    """Everyone's posts, newest first."""
    rows = await paginate(session, _all_posts(), {}, page=page, per_page=per_page)
    return rows.with_items(PostItem.from_rows(rows.items))


async def followed_posts_page(
    session: AsyncSession, user_id: int, *, page: int, per_page: int
) -> Page[PostItem]:
    """The posts of the people `user_id` follows, themself included, newest first."""
    params = {"user_id": user_id}
    rows = await paginate(session, _followed_posts(), params, page=page, per_page=per_page)
    return rows.with_items(PostItem.from_rows(rows.items))


async def user_posts_page(
    session: AsyncSession,
    author: AuthorCard,
    *,
    page: int,
    per_page: int,
    total: int | None = None,
) -> Page[PostItem]:
    """A user's posts, newest first; pass `total` when the post count is already known.
    The author is already loaded: no join."""
    params = {"user_id": author.id}
    rows = await paginate(
        session, _posts_by_user(), params, page=page, per_page=per_page, total=total
    )
    return rows.with_items(PostItem.from_rows(rows.items, author))


@cache
def _post_by_id() -> Select:
    return _with_authors().where(Post.id == bindparam("post_id"))


async def post_by_id(session: AsyncSession, post_id: int) -> PostItem | None:
    """One post with its author and comment count, in one statement."""
    rows = await read_rows(session, _post_by_id(), {"post_id": post_id})
    return PostItem.from_rows(rows)[0] if rows else None
