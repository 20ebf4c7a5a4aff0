"""Comments with their authors: under a post (oldest first), all of them (newest first,
for moderators and the API), and one by id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Row, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Comment, User
from flasky.queries.pagination import Listing, Page, paginate
from flasky.queries.users import AUTHOR_COLUMNS, AuthorCard


@dataclass(frozen=True, slots=True)
class CommentItem:
    id: int
    body: str
    body_html: str | None
    timestamp: datetime
    disabled: bool
    author_id: int
    post_id: int
    author: AuthorCard

    @classmethod
    def from_row(cls, row: Row) -> CommentItem:
        """From a row of COMMENT_COLUMNS and AUTHOR_COLUMNS."""
        columns = row._mapping
        return cls(
            columns["id"],
            columns["body"],
            columns["body_html"],
            columns["timestamp"],
            bool(columns["disabled"]),
            columns["author_id"],
            columns["post_id"],
            AuthorCard.from_row(row),
        )


COMMENT_COLUMNS = (
    Comment.id.label("id"),
    Comment.body.label("body"),
    Comment.body_html.label("body_html"),
    Comment.timestamp.label("timestamp"),
    Comment.disabled.label("disabled"),
    Comment.author_id.label("author_id"),
    Comment.post_id.label("post_id"),
)


def _with_authors() -> Select:
    return select(*COMMENT_COLUMNS, *AUTHOR_COLUMNS).join(User, User.id == Comment.author_id)


@cache
def _comments_of_post() -> Listing:
    of_post = Comment.post_id == bindparam("post_id")
    return Listing(
        _with_authors().where(of_post).order_by(Comment.timestamp.asc(), Comment.id.asc()),
        select(func.count(Comment.id)).where(of_post),
    )


async def post_comments_page(
    session: AsyncSession, post_id: int, *, page: int, per_page: int
) -> Page[CommentItem]:
    """A post's comments, oldest first (new ones land on the last page), with authors."""
    params = {"post_id": post_id}
    rows = await paginate(session, _comments_of_post(), params, page=page, per_page=per_page)
    return rows.map(CommentItem.from_row)


@cache
def _all_comments() -> Listing:
    return Listing(
        _with_authors().order_by(Comment.timestamp.desc(), Comment.id.desc()),
        select(func.count(Comment.id)),
    )


async def all_comments_page(
    session: AsyncSession, *, page: int, per_page: int
) -> Page[CommentItem]:
    """Every comment, newest first, with its author."""
    rows = await paginate(session, _all_comments(), {}, page=page, per_page=per_page)
    return rows.map(CommentItem.from_row)


@cache
def _comment_by_id() -> Select:
    return _with_authors().where(Comment.id == bindparam("comment_id"))


async def comment_by_id(session: AsyncSession, comment_id: int) -> CommentItem | None:
    row = (await session.execute(_comment_by_id(), {"comment_id": comment_id})).first()
    return None if row is None else CommentItem.from_row(row)
