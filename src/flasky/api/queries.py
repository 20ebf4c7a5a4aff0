"""The few counts the API's JSON needs, each one statement whatever the page size."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Comment, Post

# Ids are 32-bit integers on PostgreSQL; a larger one in a URL matches no row (and would
# make the driver raise), so it is answered with 404 before any query.
MAX_ID = 2**31 - 1


def valid_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


async def comment_counts(session: AsyncSession, post_ids: Iterable[int]) -> dict[int, int]:
    """{post id: number of comments} for a page of posts, in one grouped query."""
    ids = list(post_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Comment.post_id, func.count())
        .where(Comment.post_id.in_(ids))
        .group_by(Comment.post_id)
    )
    return {post_id: count for post_id, count in rows.all()}


async def post_count(session: AsyncSession, user_id: int) -> int:
    return await session.scalar(select(func.count()).where(Post.author_id == user_id)) or 0
