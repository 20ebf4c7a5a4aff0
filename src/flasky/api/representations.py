"""Rows to the book's JSON shapes (SPEC §6), with absolute URLs and counts from grouped queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flasky.api.queries import comment_counts, post_count
from flasky.models import Comment, Permission, Post, User
from flasky.templating import url_for

# SPEC §8: what the site shows in place of a disabled comment.
DISABLED_COMMENT = "This comment has been disabled by a moderator."


def absolute_url_for(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, _external=True, **values)


async def posts_json(session: AsyncSession, posts: Sequence[Post]) -> list[dict[str, Any]]:
    """A page of posts; their comment counts come from one grouped query."""
    counts = await comment_counts(session, (post.id for post in posts))
    return [post.to_json(absolute_url_for, counts.get(post.id, 0)) for post in posts]


async def post_json(session: AsyncSession, post: Post) -> dict[str, Any]:
    return (await posts_json(session, [post]))[0]


async def user_json(session: AsyncSession, user: User) -> dict[str, Any]:
    return user.to_json(absolute_url_for, await post_count(session, user.id))


def comment_json(comment: Comment, viewer: User) -> dict[str, Any]:
    """The book's comment JSON plus `disabled`. A moderator's verdict holds in the API too:
    only moderators read the text of a disabled comment, as on the site."""
    data = comment.to_json(absolute_url_for)
    data["disabled"] = bool(comment.disabled)
    if comment.disabled and not viewer.can(Permission.MODERATE):
        data["body"] = DISABLED_COMMENT
        data["body_html"] = f"<i>{DISABLED_COMMENT}</i>"
    return data
