"""A user's notifications (the listed rows of the event log), newest first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Row, bindparam, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Event, User
from flasky.queries.pagination import Listing, Page, paginate


@dataclass(frozen=True, slots=True)
class NotificationItem:
    id: int
    kind: str
    text: str
    url: str | None
    timestamp: datetime
    unread: bool

    @classmethod
    def from_row(cls, row: Row, read_id: int) -> NotificationItem:
        columns = row._mapping
        payload = json.loads(columns["payload"] or "{}")
        return cls(
            columns["id"],
            columns["kind"],
            payload.get("text", ""),
            payload.get("url"),
            columns["timestamp"],
            columns["id"] > read_id,
        )


@cache
def _notifications() -> Listing:
    mine = (Event.user_id == bindparam("user_id"), Event.listed == true())
    stmt = (
        select(Event.id, Event.kind, Event.payload, Event.timestamp)
        .where(*mine)
        .order_by(Event.id.desc())
    )
    return Listing(stmt, select(func.count()).select_from(Event).where(*mine))


async def notifications_page(
    session: AsyncSession, user_id: int, read_id: int, *, page: int, per_page: int
) -> Page[NotificationItem]:
    rows = await paginate(
        session, _notifications(), {"user_id": user_id}, page=page, per_page=per_page
    )
    return rows.map(lambda row: NotificationItem.from_row(row, read_id))


async def mark_notifications_read(session: AsyncSession, user_id: int) -> bool:
    """Move the user's read mark to their newest notification; True if it moved."""
    newest = (
        select(func.max(Event.id))
        .where(Event.user_id == user_id, Event.listed == true())
        .scalar_subquery()
    )
    result = await session.execute(
        update(User)
        .where(User.id == user_id, User.notifications_read_id < newest)
        .values(notifications_read_id=newest)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)
