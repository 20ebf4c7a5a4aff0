"""Users as lists show them (AuthorCard), users by name or address, and profile figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Row, Select, bindparam, exists, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from flasky.models import Comment, Follow, Post, User
from flasky.models.user import email_key, gravatar_url
from flasky.queries.records import columns_by_label, read_rows

# Lists read plain columns into small immutable records rather than ORM instances: no
# identity map, no instance state, no lazy attribute to trip over in a template. Loading
# a page of 20 posts with their authors as entities cost ~0.45 ms of the home page's
# ~2.6 ms of CPU. Records carry the attributes the templates use, under the models' names,
# and are built by one constructor each that reads the columns by label (records.py).
#
# The list records are named tuples: built, hashed and compared in C. Each row of a page
# is looked up by its record in the shared-row table (templating.CachedFragments), and as
# frozen dataclasses their generated __hash__ and __eq__ were ~5 % of the post page's CPU.
# Built with tuple.__new__ from the row's columns, as the generated __new__ would, minus a
# Python call per record.
# Like any tuple, a record equals another of the same values whatever its class: keys
# that mix kinds of record also name the template that renders them.


class AuthorCard(NamedTuple):
    """An author as a list shows them: name and avatar."""

    id: int
    username: str
    avatar_hash: str | None
    email: str
    avatar_file: str | None

    def gravatar(self, size: int = 100, default: str = "identicon", rating: str = "g") -> str:
        return gravatar_url(self.avatar_hash, self.email, size, default, rating)

    @classmethod
    def reader(cls, rows: Sequence[Row]) -> Callable[[Row], AuthorCard]:
        """Builds the author card of any row of these: AUTHOR_COLUMNS and the item's own
        `author_id`."""
        columns = columns_by_label(rows, AUTHOR_LABELS)
        return lambda row: tuple.__new__(cls, columns(row))

    @classmethod
    def of(cls, user: User | ProfileCard) -> AuthorCard:
        return cls(user.id, user.username, user.avatar_hash, user.email, user.avatar_file)


class ProfileCard(NamedTuple):
    """A user as their profile page shows them to others, with the User's attribute
    names (one's own profile shows the signed-in User itself)."""

    id: int
    username: str
    email: str
    name: str | None
    location: str | None
    about_me: str | None
    member_since: datetime
    last_seen: datetime
    avatar_hash: str | None
    avatar_file: str | None

    @classmethod
    def from_row(cls, row: Row) -> ProfileCard:
        """From a row of PROFILE_COLUMNS (and anything else)."""
        return tuple.__new__(cls, columns_by_label([row], cls._fields)(row))


PROFILE_COLUMNS = tuple(getattr(User, name).label(name) for name in ProfileCard._fields)


# Joined on the item's author_id, which gives the card its id.
AUTHOR_LABELS = tuple(f"author_{name}" for name in AuthorCard._fields)
AUTHOR_COLUMNS = (
    User.username.label("author_username"),
    User.avatar_hash.label("author_avatar_hash"),
    User.email.label("author_email"),
    User.avatar_file.label("author_avatar_file"),
)


@cache
def _user_by_username() -> Select:
    return select(User).where(User.username == bindparam("username"))


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(_user_by_username(), {"username": username})


@cache
def _user_by_email() -> Select:
    return (
        select(User).options(joinedload(User.role)).where(User.email_key == bindparam("email_key"))
    )


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    """The account of an address, however it is spelled (compared in normalised form, as
    the unique index compares them), with its role for can() checks."""
    return await session.scalar(_user_by_email(), {"email_key": email_key(email)})


# -- profiles ------------------------------------------------------------------------------


def post_count_of(user_id: ColumnElement[int]) -> ColumnElement[int]:
    return select(func.count()).select_from(Post).where(Post.author_id == user_id).scalar_subquery()


@cache
def _user_with_post_count() -> Select:
    return select(User, post_count_of(User.id).label("post_count")).where(
        User.id == bindparam("user_id")
    )


async def user_with_post_count(session: AsyncSession, user_id: int) -> tuple[User, int] | None:
    """A user and how many posts they wrote, in one statement."""
    row = (await session.execute(_user_with_post_count(), {"user_id": user_id})).first()
    if row is None:
        return None
    return row._mapping["User"], row._mapping["post_count"]


@dataclass(frozen=True)
class ProfileStats:
    post_count: int
    comment_count: int
    follower_count: int  # the self-follow left out: it is bookkeeping, not a follower
    following_count: int
    viewer_follows: bool  # the signed-in user looking at the profile follows this user
    follows_viewer: bool

    @classmethod
    def from_row(cls, row: Row, profile_id: int, viewer_id: int | None) -> ProfileStats:
        columns = row._mapping
        # Nobody "follows" themself on their own page: the self-follow is bookkeeping.
        with_viewer = viewer_id is not None and viewer_id != profile_id
        return cls(
            int(columns["post_count"]),
            int(columns["comment_count"]),
            int(columns["follower_count"]),
            int(columns["following_count"]),
            with_viewer and bool(columns["viewer_follows"]),
            with_viewer and bool(columns["follows_viewer"]),
        )


def profile_stats_columns(user_id: ColumnElement[int], with_viewer: bool) -> list[ColumnElement]:
    """A profile's figures as scalar subqueries over `user_id`: a bound value, or the
    profile row's own id (correlated) when the profile is read in the same statement."""
    viewer_id = bindparam("viewer_id")

    def follow_exists(follower_id: ColumnElement, followed_id: ColumnElement) -> ColumnElement:
        if not with_viewer:
            return false()
        return exists().where(Follow.follower_id == follower_id, Follow.followed_id == followed_id)

    followers = select(func.count()).where(
        Follow.followed_id == user_id, Follow.follower_id != user_id
    )
    following = select(func.count()).where(
        Follow.follower_id == user_id, Follow.followed_id != user_id
    )
    comments = select(func.count()).select_from(Comment).where(Comment.author_id == user_id)
    return [
        post_count_of(user_id).label("post_count"),
        comments.scalar_subquery().label("comment_count"),
        followers.scalar_subquery().label("follower_count"),
        following.scalar_subquery().label("following_count"),
        follow_exists(viewer_id, user_id).label("viewer_follows"),
        follow_exists(user_id, viewer_id).label("follows_viewer"),
    ]


@cache
def _profile_stats(with_viewer: bool) -> Select:
    return select(*profile_stats_columns(bindparam("user_id"), with_viewer))


def with_viewer_param(params: dict[str, Any], viewer_id: int | None) -> dict[str, Any]:
    return params if viewer_id is None else {**params, "viewer_id": viewer_id}


async def profile_stats(
    session: AsyncSession, user: User, viewer_id: int | None = None
) -> ProfileStats:
    """Every figure of a profile page in one statement of scalar subqueries."""
    if viewer_id == user.id:
        viewer_id = None
    params = with_viewer_param({"user_id": user.id}, viewer_id)
    row = (await read_rows(session, _profile_stats(viewer_id is not None), params))[0]
    return ProfileStats.from_row(row, user.id, viewer_id)


@cache
def _profile_by_name(with_viewer: bool) -> Select:
    return select(*PROFILE_COLUMNS, *profile_stats_columns(User.id, with_viewer)).where(
        User.username == bindparam("username")
    )


async def profile_by_username(
    session: AsyncSession, username: str, viewer_id: int | None = None
) -> tuple[ProfileCard, ProfileStats] | None:
    """A profile's user and every figure of their page, in one statement: plain
    columns, as a list's rows are read (an ORM User with its instance state was ~15 %
    of the profile page's CPU)."""
    params = with_viewer_param({"username": username}, viewer_id)
    rows = await read_rows(session, _profile_by_name(viewer_id is not None), params)
    if not rows:
        return None
    profile = ProfileCard.from_row(rows[0])
    return profile, ProfileStats.from_row(rows[0], profile.id, viewer_id)
