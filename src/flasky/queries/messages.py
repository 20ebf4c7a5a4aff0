"""Private messages as the inbox and the sent view list them, and who blocks whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Row, bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Block, Message, User
from flasky.queries.pagination import Listing, Page, paginate
from flasky.queries.users import AUTHOR_COLUMNS, AuthorCard


@dataclass(frozen=True, slots=True)
class MessageItem:
    id: int
    body: str
    timestamp: datetime
    # The other party: the sender in the inbox, the recipient in the sent view.
    other: AuthorCard
    unread: bool


def _items(page: Page[Row], read_id: int) -> Page[MessageItem]:
    """Rows to records by label; those above `read_id` are unread."""
    if not page.items:
        return page.map(lambda row: row)
    other = AuthorCard.reader(page.items)

    def item(row: Row) -> MessageItem:
        columns = row._mapping
        number = columns["message_id"]
        return MessageItem(
            number, columns["message_body"], columns["message_timestamp"], other(row),
            number > read_id,
        )  # fmt: skip

    return page.map(item)


def _listing(received: bool) -> Listing:
    mine, theirs = (
        (Message.recipient_id, Message.sender_id)
        if received
        else (Message.sender_id, Message.recipient_id)
    )
    stmt = (
        select(
            Message.id.label("message_id"),
            Message.body.label("message_body"),
            Message.timestamp.label("message_timestamp"),
            # The other party, as an AuthorCard reads an author.
            theirs.label("author_id"),
            *AUTHOR_COLUMNS,
        )
        .join(User, User.id == theirs)
        .where(mine == bindparam("user_id"))
        .order_by(Message.id.desc())
    )
    count = select(func.count()).select_from(Message).where(mine == bindparam("user_id"))
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
    return _items(rows, read_id)


async def sent_page(
    session: AsyncSession, user_id: int, *, page: int, per_page: int
) -> Page[MessageItem]:
    rows = await paginate(session, _sent(), {"user_id": user_id}, page=page, per_page=per_page)
    return _items(rows, 2**62)


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
