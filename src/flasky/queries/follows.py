"""Who follows whom, as the followers pages list them (the self-follow left out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Row, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Follow, User
from flasky.queries.pagination import Listing, Page, paginate
from flasky.queries.records import columns_by_label


@dataclass(frozen=True)
class FollowEntry:
    user: User
    since: datetime

    @classmethod
    def from_rows(cls, rows: Sequence[Row]) -> list[FollowEntry]:
        """From rows of the User entity and the follow's timestamp labelled `since`."""
        if not rows:
            return []
        columns = columns_by_label(rows, ("User", "since"))
        return [cls(*columns(row)) for row in rows]


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
        select(User, Follow.timestamp.label("since"))
        .join(Follow, other_column == User.id)
        .where(condition)
        .order_by(Follow.timestamp.desc(), User.id.desc()),
        select(func.count()).select_from(Follow).where(condition),
    )


async def follows_page(
    session: AsyncSession, user: User, *, followers: bool, page: int, per_page: int
) -> Page[FollowEntry]:
    """The people who follow `user` (followers=True) or whom `user` follows, most recent
    first, the self-follow left out."""
    params = {"user_id": user.id}
    rows = await paginate(session, _follows(followers), params, page=page, per_page=per_page)
    return rows.with_items(FollowEntry.from_rows(rows.items))
