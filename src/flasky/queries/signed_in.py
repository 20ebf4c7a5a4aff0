"""Who is asking: the signed-in user, loaded once per request with what the navbar
shows, and the owner of an API token."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from sqlalchemy import Select, bindparam, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from flasky import security
from flasky.db import UTCDateTime, utcnow
from flasky.models import Event, LoginSession, Message, Role, User
from flasky.models.login_session import API, BROWSER, session_key
from flasky.models.role import Permission, grants
from flasky.queries.records import columns_by_label, read_rows


@cache
def _signed_in_user() -> Select:
    """The signed-in user with their role and what the navbar shows, in one statement,
    found through their live login (the sessions row the cookie names): neither the badge
    counts nor the check that the login was not revoked or expired cost a round trip."""
    unread_messages = (
        select(func.count())
        .select_from(Message)
        .where(Message.recipient_id == User.id, Message.id > User.messages_read_id)
        .correlate(User)
        .scalar_subquery()
    )
    unread_notifications = (
        select(func.count())
        .select_from(Event)
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


class TokenCaller(NamedTuple):
    """The owner of an API token, as the API uses them: the User's attribute names and
    its can() and is_administrator(), read as plain columns in the statement that checks
    the token (an ORM User with its role cost ~5 % of an API call's CPU). A request that
    authenticates with the password gets the User itself."""

    id: int
    username: str
    email: str
    avatar_hash: str | None
    avatar_file: str | None
    confirmed: bool
    messages_read_id: int
    notifications_read_id: int
    permissions: int | None  # the role's; None for a user without a role

    is_authenticated = True
    is_anonymous = False

    def can(self, perm: int) -> bool:
        return grants(self.permissions, perm)

    def is_administrator(self) -> bool:
        return self.can(Permission.ADMIN)


@cache
def _token_caller() -> Select:
    user_columns = (
        getattr(User, name).label(name) for name in TokenCaller._fields if name != "permissions"
    )
    return (
        select(*user_columns, Role.permissions.label("permissions"))
        .outerjoin(Role, Role.id == User.role_id)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.id == bindparam("session_id"),
            LoginSession.kind == API,
            LoginSession.expires > bindparam("now", type_=UTCDateTime()),
        )
    )


async def verify_auth_token(session: AsyncSession, token: str) -> tuple[TokenCaller, str] | None:
    """(caller, sessions-table id) for a live API token, else None; one statement.

    A token is signed (purpose, expiry) and names a row of the sessions table: deleting
    the row revokes the token before it expires."""
    try:
        data = security.read_token(security.API, token)
    except security.InvalidToken:
        return None
    user_id, secret = data.get("id"), data.get("sid")
    if not isinstance(user_id, int) or not isinstance(secret, str):
        return None
    session_id = session_key(secret)
    params = {"session_id": session_id, "now": utcnow()}
    rows = await read_rows(session, _token_caller(), params)
    if not rows:
        return None
    caller = tuple.__new__(TokenCaller, columns_by_label(rows, TokenCaller._fields)(rows[0]))
    if caller.id != user_id:
        return None
    return caller, session_id
