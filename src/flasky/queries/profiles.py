"""A profile page as others see it: the user, every figure of their page and one page of
their posts, in one statement (one's own profile shows the signed-in User, read already:
its figures and posts are users.profile_stats and posts.user_posts_page)."""

from __future__ import annotations

from functools import cache

from sqlalchemy import CompoundSelect, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Post, User
from flasky.queries.pagination import MAX_OFFSET, Listing, Page
from flasky.queries.posts import POST_COLUMNS, PostItem, user_posts_page
from flasky.queries.records import one_row_and_window, read_rows, split_one_and_window
from flasky.queries.users import (
    PROFILE_COLUMNS,
    AuthorCard,
    ProfileCard,
    ProfileStats,
    profile_by_username,
    profile_stats_columns,
    with_viewer_param,
)


@cache
def _profile_with_posts(with_viewer: bool) -> CompoundSelect:
    """The profile's row with its figures, then one window of their posts, as one UNION
    ALL (records.one_row_and_window): the user's columns and figures are read once, not
    repeated on every post row."""
    author_id = select(User.id).where(User.username == bindparam("username")).scalar_subquery()
    window = Listing(
        select(*POST_COLUMNS)
        .where(Post.author_id == author_id)
        .order_by(Post.timestamp.desc(), Post.id.desc())
    ).window.subquery("post_page")
    profile = select(*PROFILE_COLUMNS, *profile_stats_columns(User.id, with_viewer)).where(
        User.username == bindparam("username")
    )
    return one_row_and_window(profile, window)


async def profile_page(
    session: AsyncSession,
    username: str,
    viewer_id: int | None,
    *,
    page: int,
    per_page: int,
) -> tuple[ProfileCard, ProfileStats, Page[PostItem]] | None:
    """A user's profile, figures and page of posts (newest first) as `viewer_id` sees
    them; None when there is no such user. A page beyond MAX_OFFSET takes two."""
    if (page - 1) * per_page > MAX_OFFSET:
        found = await profile_by_username(session, username, viewer_id)
        if found is None:
            return None
        profile, stats = found
        listed = await user_posts_page(
            session,
            AuthorCard.of(profile),
            page=page,
            per_page=per_page,
            total=stats.post_count,
        )
        return profile, stats, listed
    params = Listing.bounds(with_viewer_param({"username": username}, viewer_id), page, per_page)
    rows = await read_rows(session, _profile_with_posts(viewer_id is not None), params)
    profile_row, post_rows = split_one_and_window(rows, ("timestamp", "id"), descending=True)
    if profile_row is None:
        return None
    profile = ProfileCard.from_row(profile_row)
    stats = ProfileStats.from_row(profile_row, profile.id, viewer_id)
    items = PostItem.from_rows(post_rows, AuthorCard.of(profile))
    return profile, stats, Page(items, page, per_page, stats.post_count)
