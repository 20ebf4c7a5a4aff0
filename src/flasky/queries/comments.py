"""Comments with their authors: under a post (oldest first), all of them (newest first,
for moderators and the API), and one by id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache

from sqlalchemy import Row, Select, bindparam, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Comment, Post, User
from flasky.queries.pagination import LAST_PAGE, MAX_OFFSET, Listing, Page, paginate
from flasky.queries.posts import POST_COLUMNS, PostItem, post_by_id
from flasky.queries.records import columns_by_label
from flasky.queries.users import AUTHOR_COLUMNS, AuthorCard


@dataclass(frozen=True, slots=True)
class CommentItem:
    # Every field but `author` is a column of COMMENT_COLUMNS, labelled with its name.
    id: int
    body: str
    body_html: str | None
    timestamp: datetime
    disabled: bool
    author_id: int
    post_id: int
    author: AuthorCard

    @classmethod
    def from_rows(cls, rows: Sequence[Row], prefix: str = "") -> list[CommentItem]:
        """From rows of COMMENT_COLUMNS and AUTHOR_COLUMNS (labelled behind `prefix`)."""
        if not rows:
            return []
        columns = columns_by_label(rows, [prefix + label for label in COMMENT_LABELS])
        card = AuthorCard.reader(rows, prefix)
        return [cls(*columns(row), card(row)) for row in rows]


COMMENT_LABELS = tuple(field.name for field in fields(CommentItem) if field.name != "author")

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
    session: AsyncSession, post_id: int, *, page: int, per_page: int, total: int | None = None
) -> Page[CommentItem]:
    """A post's comments, oldest first (new ones land on the last page), with authors;
    pass `total` when the comment count is already known."""
    params = {"post_id": post_id}
    rows = await paginate(
        session, _comments_of_post(), params, page=page, per_page=per_page, total=total
    )
    return rows.with_items(CommentItem.from_rows(rows.items))


# The post page's comment columns, beside the post's own columns in one statement.
PAGE_COMMENT = "comment_"


@cache
def _post_with_comment_page() -> Select:
    """A post with its author and comment count, left-joined to one window of its
    comments with their authors: one row per comment of the page, or one row with NULL
    comment columns when the page is empty. The post's comment count is the page total.

    The count is a one-row aggregate joined in, not the correlated subquery post lists
    use: a column subquery is evaluated again for every row of the result, and here
    that meant counting a popular post's comments once per comment shown (30 counts of
    600 entries made the statement cost 1 ms on SQLite instead of 0.1 ms)."""
    window = _comments_of_post().window.subquery("comment_page")
    total = (
        select(func.count(Comment.id).label("comment_count"))
        .where(Comment.post_id == bindparam("post_id"))
        .subquery("comment_total")
    )
    post_columns = [
        total.c.comment_count if column.key == "comment_count" else column
        for column in POST_COLUMNS
    ]
    return (
        select(
            *post_columns,
            *AUTHOR_COLUMNS,
            *(column.label(PAGE_COMMENT + column.key) for column in window.c),
        )
        .join(User, User.id == Post.author_id)
        .join(total, true())
        .outerjoin(window, true())
        .where(Post.id == bindparam("post_id"))
        .order_by(window.c.timestamp.asc(), window.c.id.asc())
    )


async def post_with_comments_page(
    session: AsyncSession, post_id: int, *, page: int, per_page: int
) -> tuple[PostItem, Page[CommentItem]] | None:
    """A post and one page of its comments (oldest first), in one statement; None when
    there is no such post. The last page (`page=-1`) needs the count first: two."""
    if page == LAST_PAGE or (page - 1) * per_page > MAX_OFFSET:
        shown = await post_by_id(session, post_id)
        if shown is None:
            return None
        listed = await post_comments_page(
            session, post_id, page=page, per_page=per_page, total=shown.comment_count
        )
        return shown, listed
    window = Listing.bounds({"post_id": post_id}, page, per_page)
    rows = (await session.execute(_post_with_comment_page(), window)).all()
    if not rows:
        return None
    shown = PostItem.from_row(rows[0])
    # An empty page is the post's one row with NULL comment columns.
    with_comments = rows if rows[0]._mapping[PAGE_COMMENT + "id"] is not None else []
    items = CommentItem.from_rows(with_comments, PAGE_COMMENT)
    return shown, Page(items, page, per_page, shown.comment_count)


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
    return rows.with_items(CommentItem.from_rows(rows.items))


@cache
def _comment_by_id() -> Select:
    return _with_authors().where(Comment.id == bindparam("comment_id"))


async def comment_by_id(session: AsyncSession, comment_id: int) -> CommentItem | None:
    rows = (await session.execute(_comment_by_id(), {"comment_id": comment_id})).all()
    return CommentItem.from_rows(rows)[0] if rows else None
