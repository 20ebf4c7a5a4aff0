"""The queries the pages run, each a fixed number of statements whatever the page size.

Authors are joined into the page query, each post's comment count and the page total
are subqueries of that same statement, and profile figures come from one statement of
scalar subqueries — never a query per row (the book's home page ran 41 statements; this
one runs 1). Statements are built once per process and run with bound values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property
from typing import Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Comment, Follow, Post, User
from flasky.models.user import gravatar_url

T = TypeVar("T")
U = TypeVar("U")

LAST_PAGE = -1
# Past this OFFSET a page is certainly empty; PostgreSQL rejects OFFSETs beyond 64 bits.
MAX_OFFSET = 2**31


@dataclass
class Page(Generic[T]):
    """One page of a list: its items plus what the pagination widget needs."""

    items: list[T]
    page: int
    per_page: int
    total: int
    # For pages of posts: {post id: comments}, read in the same statement as the posts.
    comment_counts: dict[int, int] = field(default_factory=dict)

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        return Page([convert(item) for item in self.items], self.page, self.per_page, self.total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(
        self, left_edge: int = 2, left_current: int = 2, right_current: int = 4, right_edge: int = 2
    ) -> Iterator[int | None]:
        """Page numbers to show, with None where a run of numbers is left out."""
        last = 0
        for number in range(1, self.pages + 1):
            if (
                number <= left_edge
                or self.page - left_current <= number <= self.page + right_current
                or number > self.pages - right_edge
            ):
                if last + 1 != number:
                    yield None
                yield number
                last = number


def page_number(value: int | None, *, allow_last: bool = False) -> int:
    """A requested page number made usable: below 1 means 1 (or -1, the last page, if allowed)."""
    if value is None:
        return 1
    if allow_last and value == LAST_PAGE:
        return LAST_PAGE
    return max(1, value)


# -- what lists show -----------------------------------------------------------------------
#
# Lists read plain columns into these small frozen records rather than ORM instances: no
# identity map, no instance state, no lazy attribute to trip over in a template. Loading
# a page of 20 posts with their authors as entities cost ~0.45 ms of the home page's
# ~2.6 ms of CPU. They carry the attributes the templates use, under the models' names.


@dataclass(frozen=True, slots=True)
class AuthorCard:
    """An author as a list shows them: name and avatar."""

    id: int
    username: str
    avatar_hash: str | None
    email: str

    def gravatar(self, size: int = 100, default: str = "identicon", rating: str = "g") -> str:
        return gravatar_url(self.avatar_hash, self.email, size, default, rating)

    @classmethod
    def of(cls, user: User) -> AuthorCard:
        return cls(user.id, user.username, user.avatar_hash, user.email)


AUTHOR_COLUMNS = (User.id, User.username, User.avatar_hash, User.email)


@dataclass(frozen=True, slots=True)
class PostItem:
    id: int
    body: str
    body_html: str | None
    timestamp: datetime
    author_id: int
    author: AuthorCard


POST_COLUMNS = (Post.id, Post.body, Post.body_html, Post.timestamp, Post.author_id)

# A post's comments, as a column of any statement over posts (evaluated per row).
POST_COMMENT_COUNT = (
    select(func.count(Comment.id))
    .where(Comment.post_id == Post.id)
    .correlate(Post)
    .scalar_subquery()
)


def _post_item(row: Sequence) -> PostItem:
    """A row of POST_COLUMNS then AUTHOR_COLUMNS."""
    return PostItem(*row[:5], AuthorCard(*row[5:9]))


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


COMMENT_COLUMNS = (
    Comment.id,
    Comment.body,
    Comment.body_html,
    Comment.timestamp,
    Comment.disabled,
    Comment.author_id,
    Comment.post_id,
)


def _comment_item(row: Sequence) -> CommentItem:
    return CommentItem(*row[:7], AuthorCard(*row[7:11]))


# -- statements built once ----------------------------------------------------------------
#
# Each list's statement is built once per process (functools.cache) and run with bound
# values: constructing a Select and deriving its cache key cost ~0.3 ms of a page's CPU,
# more than SQLite took to run it. Values that vary per request are named bindparams.

PAGE_LIMIT = bindparam("page_limit", type_=BigInteger)
PAGE_OFFSET = bindparam("page_offset", type_=BigInteger)


class Listing:
    """A list query: its rows (ordered, without LIMIT/OFFSET) and its count, from which
    the windowed statements are derived on first use and then reused."""

    def __init__(self, stmt: Select, count_stmt: Select | None = None) -> None:
        self.stmt = stmt
        if count_stmt is None:  # count the rows themselves
            count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
        self.count_stmt = count_stmt
        self.single = len(stmt.column_descriptions) == 1

    @staticmethod
    def bounds(params: dict[str, object], page: int, per_page: int) -> dict[str, object]:
        """`params` plus the values of the windows' LIMIT and OFFSET for a page."""
        return {**params, "page_limit": per_page, "page_offset": (page - 1) * per_page}

    @cached_property
    def window(self) -> Select:
        return self.stmt.limit(PAGE_LIMIT).offset(PAGE_OFFSET)

    @cached_property
    def window_with_total(self) -> Select:
        """The window plus the total as a last, uncorrelated column (evaluated once)."""
        everything = self.count_stmt.scalar_subquery().correlate(None)
        return self.stmt.add_columns(everything).limit(PAGE_LIMIT).offset(PAGE_OFFSET)


async def paginate(
    session: AsyncSession,
    listing: Listing,
    params: dict[str, object],
    *,
    page: int,
    per_page: int,
    total: int | None = None,
) -> Page:
    """One page of `listing` (its bound values in `params`), counted unless the caller
    already knows the total.

    `page=-1` means the last page; a page past the end is an empty page, and is not
    queried at all (a huge page number must not become an OFFSET the database rejects).
    For a numbered page the count rides along as an uncorrelated subquery column, so it
    is one statement (each costs ~0.4 ms of CPU through the async driver); only the last
    page, or a page found empty, counts first. Items are the single column's values, or
    tuples of the columns.
    """
    if total is None and page != LAST_PAGE and (page - 1) * per_page <= MAX_OFFSET:
        window = listing.bounds(params, page, per_page)
        rows = (await session.execute(listing.window_with_total, window)).all()
        if rows:
            items = [row[0] if listing.single else tuple(row[:-1]) for row in rows]
            return Page(items, page, per_page, rows[0][-1])
    if total is None:
        total = (await session.scalar(listing.count_stmt, params)) or 0
    pages = max(1, -(-total // per_page))
    if page == LAST_PAGE:
        page = pages
    if page > pages:
        return Page([], page, per_page, total)
    window = listing.bounds(params, page, per_page)
    if listing.single:
        items: list = list((await session.scalars(listing.window, window)).all())
    else:
        items = [tuple(row) for row in (await session.execute(listing.window, window)).all()]
    return Page(items, page, per_page, total)


# -- posts ---------------------------------------------------------------------------------


def _newest_first(stmt: Select) -> Select:
    # id breaks ties between posts written in the same instant, so pages never overlap.
    return stmt.order_by(Post.timestamp.desc(), Post.id.desc())


def _post_listing(stmt: Select, count_stmt: Select) -> Listing:
    """Posts newest first, each row ending with the post's comment count."""
    return Listing(_newest_first(stmt).add_columns(POST_COMMENT_COUNT), count_stmt)


@cache
def _timeline(followed: bool) -> Listing:
    stmt = select(*POST_COLUMNS, *AUTHOR_COLUMNS).join(User, User.id == Post.author_id)
    count_stmt = select(func.count(Post.id))
    if followed:
        follows = and_(
            Follow.followed_id == Post.author_id, Follow.follower_id == bindparam("viewer_id")
        )
        stmt = stmt.join(Follow, follows)
        count_stmt = count_stmt.join(Follow, follows)
    return _post_listing(stmt, count_stmt)


@cache
def posts_by_user() -> Listing:
    """The posts of bindparam user_id, newest first, each with its comment count (no
    author columns: every post is theirs). The profile page and the API use it."""
    by_author = Post.author_id == bindparam("user_id")
    return _post_listing(
        select(*POST_COLUMNS).where(by_author), select(func.count(Post.id)).where(by_author)
    )


async def posts_page(
    session: AsyncSession,
    listing: Listing,
    params: dict[str, object],
    *,
    page: int,
    per_page: int,
    total: int | None = None,
    author: AuthorCard | None = None,
) -> Page[PostItem]:
    """A page of posts with each post's comment count and the total, in ONE statement:
    the count is a correlated subquery per row, the total an uncorrelated one the
    database evaluates once. The home page went from 3 statements to 1 (each costs
    ~0.3 ms of CPU through the async driver).

    `listing` selects POST_COLUMNS, then AUTHOR_COLUMNS unless every post is by `author`.
    """
    rows = await paginate(session, listing, params, page=page, per_page=per_page, total=total)
    if author is None:
        items = [_post_item(row) for row in rows.items]
    else:
        items = [PostItem(*row[:5], author) for row in rows.items]
    return Page(
        items,
        rows.page,
        per_page,
        rows.total,
        comment_counts={row[0]: row[-1] for row in rows.items if row[-1]},
    )


async def timeline_page(
    session: AsyncSession, *, page: int, per_page: int, followed_by: User | None = None
) -> Page[PostItem]:
    """All posts, or those of the people `followed_by` follows (themself included)."""
    if followed_by is None:
        return await posts_page(session, _timeline(False), {}, page=page, per_page=per_page)
    return await posts_page(
        session, _timeline(True), {"viewer_id": followed_by.id}, page=page, per_page=per_page
    )


async def user_posts_page(
    session: AsyncSession, user: User, *, page: int, per_page: int, total: int | None = None
) -> Page[PostItem]:
    """A user's posts, newest first; pass `total` when the post count is already known.
    The author is `user`, already loaded: no join."""
    return await posts_page(
        session,
        posts_by_user(),
        {"user_id": user.id},
        page=page,
        per_page=per_page,
        total=total,
        author=AuthorCard.of(user),
    )


@cache
def _post_with_author() -> Select:
    return (
        select(*POST_COLUMNS, *AUTHOR_COLUMNS)
        .join(User, User.id == Post.author_id)
        .where(Post.id == bindparam("post_id"))
    )


async def post_with_author(session: AsyncSession, post_id: int) -> PostItem | None:
    row = (await session.execute(_post_with_author(), {"post_id": post_id})).first()
    return None if row is None else _post_item(row)


# -- comments ------------------------------------------------------------------------------


def _comments_with_authors() -> Select:
    return select(*COMMENT_COLUMNS, *AUTHOR_COLUMNS).join(User, User.id == Comment.author_id)


@cache
def _comments_of_post() -> Listing:
    of_post = Comment.post_id == bindparam("post_id")
    return Listing(
        _comments_with_authors().where(of_post).order_by(Comment.timestamp.asc(), Comment.id.asc()),
        select(func.count(Comment.id)).where(of_post),
    )


async def post_comments_page(
    session: AsyncSession, post: PostItem | Post, *, page: int, per_page: int
) -> Page[CommentItem]:
    """A post's comments, oldest first (new ones land on the last page), with authors."""
    rows = await paginate(
        session, _comments_of_post(), {"post_id": post.id}, page=page, per_page=per_page
    )
    return rows.map(_comment_item)


@cache
def _all_comments() -> Listing:
    return Listing(
        _comments_with_authors().order_by(Comment.timestamp.desc(), Comment.id.desc()),
        select(func.count(Comment.id)),
    )


async def moderation_page(session: AsyncSession, *, page: int, per_page: int) -> Page[CommentItem]:
    """Every comment, newest first, with its author, for the moderators."""
    rows = await paginate(session, _all_comments(), {}, page=page, per_page=per_page)
    return rows.map(_comment_item)


# -- profiles and follows ------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileStats:
    post_count: int
    comment_count: int
    follower_count: int  # the self-follow left out (SPEC §4)
    following_count: int
    viewer_follows: bool  # the person looking at the profile follows this user
    follows_viewer: bool


@cache
def _user_by_username() -> Select:
    return select(User).where(User.username == bindparam("username"))


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(_user_by_username(), {"username": username})


def _stats_columns(user_id: ColumnElement[int], with_viewer: bool) -> list[ColumnElement]:
    """A profile's figures as scalar subqueries over `user_id`: a bound value, or the
    profile row's own id (correlated) when the profile is read in the same statement."""
    viewer_id = bindparam("viewer_id")

    def count(stmt: Select) -> ColumnElement:
        return stmt.scalar_subquery()

    def follow_exists(follower_id: ColumnElement, followed_id: ColumnElement) -> ColumnElement:
        if not with_viewer:
            return false()
        return exists().where(Follow.follower_id == follower_id, Follow.followed_id == followed_id)

    return [
        count(select(func.count(Post.id)).where(Post.author_id == user_id)),
        count(select(func.count(Comment.id)).where(Comment.author_id == user_id)),
        count(
            select(func.count()).where(Follow.followed_id == user_id, Follow.follower_id != user_id)
        ),
        count(
            select(func.count()).where(Follow.follower_id == user_id, Follow.followed_id != user_id)
        ),
        follow_exists(viewer_id, user_id),
        follow_exists(user_id, viewer_id),
    ]


def _stats(row: Sequence, profile_id: int, viewer_id: int | None) -> ProfileStats:
    # Nobody "follows" themself on their own page: the self-follow is bookkeeping.
    with_viewer = viewer_id is not None and viewer_id != profile_id
    return ProfileStats(
        *(int(value) for value in row[:4]),
        with_viewer and bool(row[4]),
        with_viewer and bool(row[5]),
    )


@cache
def _profile_stats(with_viewer: bool) -> Select:
    return select(*_stats_columns(bindparam("user_id"), with_viewer))


async def profile_stats(
    session: AsyncSession, user: User, viewer_id: int | None = None
) -> ProfileStats:
    """Every figure of a profile page in one statement of scalar subqueries."""
    with_viewer = viewer_id is not None and viewer_id != user.id
    params = {"user_id": user.id, "viewer_id": viewer_id} if with_viewer else {"user_id": user.id}
    row = (await session.execute(_profile_stats(with_viewer), params)).one()
    return _stats(row, user.id, viewer_id)


@cache
def _profile_by_name(with_viewer: bool) -> Select:
    return select(User, *_stats_columns(User.id, with_viewer)).where(
        User.username == bindparam("username")
    )


async def profile_by_username(
    session: AsyncSession, username: str, viewer_id: int | None = None
) -> tuple[User, ProfileStats] | None:
    """A profile's user and every figure of their page, in one statement."""
    with_viewer = viewer_id is not None
    params = (
        {"username": username, "viewer_id": viewer_id} if with_viewer else {"username": username}
    )
    row = (await session.execute(_profile_by_name(with_viewer), params)).first()
    if row is None:
        return None
    profile = row[0]
    return profile, _stats(row[1:], profile.id, viewer_id)


@dataclass(frozen=True)
class FollowEntry:
    user: User
    since: datetime


@cache
def _follows(followers: bool) -> Listing:
    """The follows of bindparam user_id: who follows them, or whom they follow."""
    if followers:
        user_column, other_column = Follow.followed_id, Follow.follower_id
    else:
        user_column, other_column = Follow.follower_id, Follow.followed_id
    user_id = bindparam("user_id")
    condition = and_(user_column == user_id, other_column != user_id)
    return Listing(
        select(User, Follow.timestamp)
        .join(Follow, other_column == User.id)
        .where(condition)
        .order_by(Follow.timestamp.desc(), User.id.desc()),
        select(func.count()).select_from(Follow).where(condition),
    )


async def _follow_page(
    session: AsyncSession, *, followers: bool, user: User, page: int, per_page: int
) -> Page[FollowEntry]:
    rows = await paginate(
        session, _follows(followers), {"user_id": user.id}, page=page, per_page=per_page
    )
    return rows.map(lambda row: FollowEntry(*row))


async def followers_page(
    session: AsyncSession, user: User, *, page: int, per_page: int
) -> Page[FollowEntry]:
    """The people who follow `user`, most recent first, the self-follow left out."""
    return await _follow_page(
        session,
        followers=True,
        user=user,
        page=page,
        per_page=per_page,
    )


async def followed_page(
    session: AsyncSession, user: User, *, page: int, per_page: int
) -> Page[FollowEntry]:
    """The people `user` follows, most recent first, the self-follow left out."""
    return await _follow_page(
        session,
        followers=False,
        user=user,
        page=page,
        per_page=per_page,
    )
