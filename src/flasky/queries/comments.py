"""Comments with their authors: under a post (oldest first), all of them (newest first,
for moderators and the API), and one by id; the post page's post with its comments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import BigInteger, CompoundSelect, Row, Select, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.memo import BoundedTable
from flasky.models import Comment, Post, User
from flasky.queries.pagination import (
    LAST_PAGE,
    MAX_OFFSET,
    PAGE_LIMIT,
    PAGE_OFFSET,
    Listing,
    Page,
    paginate,
)
from flasky.queries.posts import POST_COLUMNS, PostItem, post_by_id
from flasky.queries.records import (
    columns_by_label,
    one_row_and_window,
    read_rows,
    split_one_and_window,
)
from flasky.queries.users import AUTHOR_COLUMNS, AuthorCard


class CommentItem(NamedTuple):
    # Every field but `author` is a column of COMMENT_COLUMNS, labelled with its name.
    # A named tuple, like the other list records (queries/users.py says why).
    id: int
    body: str
    body_html: str | None
    timestamp: datetime
    disabled: bool
    author_id: int
    post_id: int
    author: AuthorCard

    @classmethod
    def from_rows(cls, rows: Sequence[Row]) -> list[CommentItem]:
        """From rows of COMMENT_COLUMNS and AUTHOR_COLUMNS."""
        if not rows:
            return []
        columns = columns_by_label(rows, COMMENT_LABELS)
        card = AuthorCard.reader(rows)
        return [tuple.__new__(cls, (*columns(row), card(row))) for row in rows]


COMMENT_LABELS = tuple(name for name in CommentItem._fields if name != "author")

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
        select(func.count()).select_from(Comment).where(of_post),
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


# -- the post page --------------------------------------------------------------------------
# The post page reads its post on every view but its page of comments only when it may
# have changed. Each worker keeps the records of the pages it read with the post's
# comments_version at the time, which the database moves on every change that shows
# (flasky/models/counters.py), and passes the kept version to the statement: the window
# half of the UNION runs only when the post's version is another one. An unchanged page
# costs the post row alone, and the same record objects come back, so the rendered list
# is found again by hashes their strings and timestamps already hold (read afresh, a page
# of 30 comments cost ~1.5 M instructions to fetch, build, hash and compare: the post
# page cost more than the home page with its 20 posts). A write by any worker or host
# moves the version in the database, so no worker serves a page it did not see change.

COMMENTS_VERSION = "comments_version"

# (post id, page, per page) -> (comments_version, that page's records); emptied when full.
_kept_pages: BoundedTable[tuple[int, list[CommentItem]]] = BoundedTable(4096)


@cache
def _post_with_comment_page() -> CompoundSelect:
    """A post with its author, count and version, then one window of its comments with
    their authors unless the post's comments_version is bindparam kept_version, as one
    UNION ALL (records.one_row_and_window). The version test is in the window's LIMIT
    (0 when the version is the kept one): the databases evaluate a LIMIT once, before
    the scan, where a WHERE term with a subquery was tested on each of the post's 600
    comment index entries (0.18 M instructions on SQLite)."""
    post = (
        select(*POST_COLUMNS, *AUTHOR_COLUMNS, Post.comments_version.label(COMMENTS_VERSION))
        .join(User, User.id == Post.author_id)
        .where(Post.id == bindparam("post_id"))
    )
    current = select(Post.comments_version).where(Post.id == bindparam("post_id"))
    kept = bindparam("kept_version", type_=BigInteger)
    changed = current.scalar_subquery().is_distinct_from(kept)
    limit = case((changed, PAGE_LIMIT), else_=0)
    window = _comments_of_post().stmt.limit(limit).offset(PAGE_OFFSET).subquery("comment_page")
    return one_row_and_window(post, window)


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
    key = (post_id, page, per_page)
    kept = _kept_pages.get(key)
    params = {"post_id": post_id, "kept_version": None if kept is None else kept[0]}
    rows = await read_rows(
        session, _post_with_comment_page(), Listing.bounds(params, page, per_page)
    )
    post_row, comment_rows = split_one_and_window(rows, ("timestamp", "id"))
    if post_row is None:  # no such post (its comments may outlive it for a moment)
        return None
    shown = PostItem.from_row(post_row)
    version = post_row._mapping[COMMENTS_VERSION]
    if kept is not None and kept[0] == version:
        items = kept[1]  # the statement skipped the window: nothing it shows changed
    else:
        items = CommentItem.from_rows(comment_rows)
        _kept_pages.store(key, (version, items))
    return shown, Page(items, page, per_page, shown.comment_count)


@cache
def _all_comments() -> Listing:
    return Listing(
        _with_authors().order_by(Comment.timestamp.desc(), Comment.id.desc()),
        select(func.count()).select_from(Comment),
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
    rows = await read_rows(session, _comment_by_id(), {"comment_id": comment_id})
    return CommentItem.from_rows(rows)[0] if rows else None
