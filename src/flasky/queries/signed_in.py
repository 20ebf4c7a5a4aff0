"""The signed-in user, loaded once per request with what the navbar shows."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Select, bindparam, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from flasky.db import UTCDateTime, utcnow
from flasky.models import Event, LoginSession, Message, User
from flasky.models.login_session import BROWSER


@cache
def _signed_in_user() -> Select:
    """The signed-in user with their role and what the navbar shows, in one statement,
    found through their live login (the sessions row the cookie names): neither the badge
    counts nor the check that the login was not revoked or expired cost a round trip."""
    unread_messages = (
        select(func.count(Message.id))
        .where(Message.recipient_id == User.id, Message.id > User.messages_read_id)
        .correlate(User)
        .scalar_subquery()
    )
    unread_notifications = (
        select(func.count(Event.id))
        .where(
            Event.user_id == User.id, Event.listed == true(), Event.id > User.notifications_read_id
        )
        .correlate(User)
        .scalar_subquery()
    )
    # Where the page's event stream starts: whatever is newer was not in the page.
    newest_event = select(func.coalesce(func.max(Event.id), 0)).scalar_subquery()
    return (
        select(
            User,
            unread_messages.label("unread_messages"),
            unread_notifications.label("unread_notifications"),
            newest_event.label("newest_event_id"),
        )
        .options(joinedload(User.role))
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.id == bindparam("session_id"),
            LoginSession.kind == BROWSER,
            LoginSession.expires > bindparam("now", type_=UTCDateTime()),
        )
    )


async def load_signed_in_user(session: AsyncSession, session_id: str) -> User | None:
    """The user of the login whose sessions-table id is session_id, if it is live."""
    params = {"session_id": session_id, "now": utcnow()}
    row = (await session.execute(_signed_in_user(), params)).first()
    if row is None:
        return None
    user: User = row[0]
    user.unread_messages = row.unread_messages
    user.unread_notifications = row.unread_notifications
    user.newest_event_id = row.newest_event_id
    return user
