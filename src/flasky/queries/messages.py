"""Private messages as the inbox and the sent view list them, and who blocks whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Row, bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from flasky.models import Block, Message, User
from flasky.queries.pagination import Listing, Page, paginate
from flasky.queries.users import AuthorCard


@dataclass(frozen=True, slots=True)
class MessageItem:
    id: int
    body: str
    timestamp: datetime
    # The other party: the sender in the inbox, the recipient in the sent view.
    other: AuthorCard
    unread: bool

    @classmethod
    def from_row(cls, row: Row, read_id: int = 2**62) -> MessageItem:
        columns = row._mapping
        other = AuthorCard(
            columns["other_id"],
            columns["other_username"],
            columns["other_avatar_hash"],
            columns["other_email"],
            columns["other_avatar_file"],
        )
        return cls(
            columns["id"], columns["body"], columns["timestamp"], other, columns["id"] > read_id
        )


def _listing(received: bool) -> Listing:
    other = aliased(User)
    mine, theirs = (
        (Message.recipient_id, Message.sender_id)
        if received
        else (Message.sender_id, Message.recipient_id)
    )
    stmt = (
        select(
            Message.id,
            Message.body,
            Message.timestamp,
            other.id.label("other_id"),
            other.username.label("other_username"),
            other.avatar_hash.label("other_avatar_hash"),
            other.email.label("other_email"),
            other.avatar_file.label("other_avatar_file"),
        )
        .join(other, other.id == theirs)
        .where(mine == bindparam("user_id"))
        .order_by(Message.id.desc())
    )
    count = select(func.count(Message.id)).where(mine == bindparam("user_id"))
    return Listing(stmt, count)


@cache
def _inbox() -> Listing:
    return _listing(received=True)


@cache
def _sent() -> Listing:
    return _listing(received=False)


async def inbox_page(
    session: AsyncSession, user_id: int, read_id: int, *, page: int, per_page: int
) -> Page[MessageItem]:
    """Messages received, newest first; those above `read_id` marked unread."""
    rows = await paginate(session, _inbox(), {"user_id": user_id}, page=page, per_page=per_page)
    return rows.map(lambda row: MessageItem.from_row(row, read_id))


async def sent_page(
    session: AsyncSession, user_id: int, *, page: int, per_page: int
) -> Page[MessageItem]:
    rows = await paginate(session, _sent(), {"user_id": user_id}, page=page, per_page=per_page)
    return rows.map(MessageItem.from_row)


async def mark_messages_read(session: AsyncSession, user_id: int) -> bool:
    """Move the user's read mark to their newest message; True if it moved (one statement)."""
    newest = select(func.max(Message.id)).where(Message.recipient_id == user_id).scalar_subquery()
    result = await session.execute(
        update(User)
        .where(User.id == user_id, User.messages_read_id < newest)
        .values(messages_read_id=newest)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def blocks(session: AsyncSession, blocker_id: int, blocked_id: int) -> bool:
    return bool(
        await session.scalar(
            select(exists().where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id))
        )
    )
