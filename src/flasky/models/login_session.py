"""Server-side identities: one row per login (a browser's cookie) or per API token.

The cookie or token carries a random secret; the row is keyed by its SHA-256, so a copy of
the table is no key to anyone's account. Revoking is deleting rows: logging out deletes one,
a password change deletes every other one of the account, "log out everywhere" all of them.
Expired rows are refused by the query that loads the user, and swept at the owner's next
login or token request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Boolean, ForeignKey, String, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from flasky.db import Base, UTCDateTime, utcnow

BROWSER = "browser"
API = "api"


def session_key(secret: str) -> str:
    """The row id of a secret (hex SHA-256): what is stored instead of the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


class LoginSession(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # BROWSER (a login cookie) or API (a bearer token).
    kind: Mapped[str] = mapped_column(String(8))
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return (
            f"<LoginSession {self.kind} user={self.user_id} expires={self.expires:%Y-%m-%d %H:%M}>"
        )


def open_session(
    session: AsyncSession, user_id: int, kind: str, lifetime: int, remember: bool = False
) -> str:
    """Add a row for a new login or token, valid for lifetime seconds; return its secret
    (to hand to the client once). The caller commits."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginSession(
            id=session_key(secret),
            user_id=user_id,
            kind=kind,
            remember=remember,
            created=now,
            expires=now + timedelta(seconds=lifetime),
        )
    )
    return secret


async def revoke_sessions(
    session: AsyncSession,
    user_id: int,
    *,
    keep: str | None = None,
    kind: str | None = None,
) -> int:
    """Delete the user's sessions and tokens (only those of kind, if given), except the one
    whose id is keep. The caller commits. Returns how many were revoked."""
    statement = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(LoginSession.id != keep)
    if kind is not None:
        statement = statement.where(LoginSession.kind == kind)
    result = await session.execute(statement)
    return result.rowcount or 0


async def revoke_session(session: AsyncSession, session_id: str) -> int:
    result = await session.execute(delete(LoginSession).where(LoginSession.id == session_id))
    return result.rowcount or 0


async def sweep_expired(session: AsyncSession, user_id: int) -> None:
    """Drop the user's expired rows (run at each login and token issue, so the table holds
    live sessions, give or take the ones of accounts that stopped coming back)."""
    await session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user_id, LoginSession.expires <= utcnow()
        )
    )
