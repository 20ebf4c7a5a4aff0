"""A profile page as others see it: the user, every figure of their page and one page of
their posts, in one statement (one's own profile shows the signed-in User, read already:
its figures and posts are users.profile_stats and posts.user_posts_page)."""

from __future__ import annotations

from functools import cache
from operator import itemgetter

from sqlalchemy import CompoundSelect, bindparam, cast, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Post, User
from flasky.queries.pagination import MAX_OFFSET, Listing, Page
from flasky.queries.posts import POST_COLUMNS, PostItem, user_posts_page
from flasky.queries.records import columns_by_label, read_rows
from flasky.queries.users import (
    PROFILE_COLUMNS,
    AuthorCard,
    ProfileCard,
    ProfileStats,
    profile_by_username,
    profile_stats_columns,
    with_viewer_param,
)

# The page's post columns, in the same statement as the profile's own columns.
PAGE_POST = "post_"


@cache
def _profile_with_posts(with_viewer: bool) -> CompoundSelect:
    """The profile's row (its post columns NULL) and one row per post of the page (their
    profile columns NULL), as one UNION ALL, like the post page's statement
    (comments.py): the user's columns and figures are read once, not repeated on every
    post row. The rows of a UNION ALL come in no promised order: the reader picks the
    profile's row by its NULL post id and orders the posts itself."""
    author_id = select(User.id).where(User.username == bindparam("username")).scalar_subquery()
    window = Listing(
        select(*POST_COLUMNS)
        .where(Post.author_id == author_id)
        .order_by(Post.timestamp.desc(), Post.id.desc())
    ).window.subquery("post_page")
    profile_columns = (*PROFILE_COLUMNS, *profile_stats_columns(User.id, with_viewer))
    profile_row = select(
        *profile_columns,
        *(cast(null(), column.type).label(PAGE_POST + column.key) for column in window.c),
    ).where(User.username == bindparam("username"))
    post_rows = select(
        *(cast(null(), column.type) for column in profile_columns),
        *window.c,
    )
    return union_all(profile_row, post_rows)


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
    labels = rows[0]._fields if rows else ()
    post_id = labels.index(PAGE_POST + "id") if rows else 0
    profile_rows = [row for row in rows if row[post_id] is None]
    if not profile_rows:
        return None
    profile = tuple.__new__(
        ProfileCard, columns_by_label(rows, ProfileCard._fields)(profile_rows[0])
    )
    stats = ProfileStats.from_row(profile_rows[0], profile.id, viewer_id)
    timestamp = labels.index(PAGE_POST + "timestamp")
    post_rows = sorted(
        (row for row in rows if row[post_id] is not None),
        key=itemgetter(timestamp, post_id),
        reverse=True,
    )
    items = PostItem.from_rows(post_rows, AuthorCard.of(profile), PAGE_POST)
    return profile, stats, Page(items, page, per_page, stats.post_count)
