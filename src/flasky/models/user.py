from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import idna
from quart import current_app
from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    bindparam,
    delete,
    exists,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship, validates
from sqlalchemy.sql import Select

from flasky import security
from flasky.db import Base, UTCDateTime, utcnow
from flasky.models.follow import Follow
from flasky.models.login_session import API, open_session
from flasky.models.post import Post
from flasky.models.role import Permission, Role

if TYPE_CHECKING:
    from flasky.models.comment import Comment


# The book's username rule, shared by every form and the fake-data generator. \Z, not $:
# "$" also matches before a trailing newline, which let "john\n" through.
USERNAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.]*\Z"
USERNAME_MESSAGE = "Usernames must have only letters, numbers, dots or underscores"


# Longest normalised form stored: NFKC and IDNA can lengthen a 64-character name or address.
IDENTITY_KEY_LENGTH = 255


def username_key(username: str) -> str:
    """What makes two usernames the same name: NFKC (full-width and compatibility forms
    fold to plain letters) and case folding, so "alice", "Alice" and "ＡＬＩＣＥ" are one."""
    folded = unicodedata.normalize("NFKC", username).casefold()
    return unicodedata.normalize("NFKC", folded)


def email_key(email: str) -> str:
    """What makes two addresses the same: lower case, the local part in NFC, the domain in
    its ASCII (IDNA) form, so "alice@exämple.com" and "alice@xn--exmple-cua.com" are one."""
    address = email.strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return unicodedata.normalize("NFC", address).lower()
    local = unicodedata.normalize("NFC", local).lower()
    domain = domain.rstrip(".").lower()
    try:
        domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        # Not a valid international name (the forms refuse those): compare it as typed.
        domain = unicodedata.normalize("NFC", domain)
    return f"{local}@{domain}".lower()


def _column_key(column: str, normalise: Callable[[str], str]) -> Callable[[Any], str | None]:
    # A column default for bulk inserts (fake data, benchmark seed), which skip @validates.
    def default(context: Any) -> str | None:
        value = context.get_current_parameters().get(column)
        return normalise(value) if value is not None else None

    return default


def normalise_email(value: str | None) -> str | None:
    """Addresses are stored trimmed and lowercased (compared through email_key)."""
    return value.strip().lower() if isinstance(value, str) else value


def email_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode("utf-8")).hexdigest()


def gravatar_url(
    avatar_hash: str | None,
    email: str | None,
    size: int = 100,
    default: str = "identicon",
    rating: str = "g",
) -> str:
    digest = avatar_hash or email_hash(email or "")
    return f"https://secure.gravatar.com/avatar/{digest}?s={size}&d={default}&r={rating}"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    # The normalised forms (username_key, email_key) are what must be unique: the database
    # refuses a second "Alice" or "ALICE@Example.com" even when two registrations race.
    email_key: Mapped[str] = mapped_column(
        String(IDENTITY_KEY_LENGTH),
        unique=True,
        index=True,
        default=_column_key("email", email_key),
    )
    username_key: Mapped[str] = mapped_column(
        String(IDENTITY_KEY_LENGTH),
        unique=True,
        index=True,
        default=_column_key("username", username_key),
    )
    role_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(64))
    about_me: Mapped[str | None] = mapped_column(Text)
    member_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    avatar_hash: Mapped[str | None] = mapped_column(String(32))
    # An uploaded picture's file name under FLASKY_UPLOAD_DIR/avatars (flasky.avatars).
    avatar_file: Mapped[str | None] = mapped_column(String(64))
    # Unread counts are "ids above what the user last saw": opening the inbox or marking
    # notifications read moves these marks, no per-row flag to update.
    messages_read_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    notifications_read_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # NotificationKind bits of the notifications this user opted out of.
    notifications_muted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    role: Mapped[Role | None] = relationship(back_populates="users", lazy="raise")
    posts: Mapped[list[Post]] = relationship(
        back_populates="author", lazy="raise", passive_deletes=True
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="author", lazy="raise", passive_deletes=True
    )

    is_authenticated = True
    is_anonymous = False
    # Set by the signed-in user's load (flasky.queries.signed_in), for the navbar.
    unread_messages = 0
    unread_notifications = 0
    newest_event_id = 0

    @validates("email")
    def _cache_avatar_hash(self, key: str, email: str) -> str:
        # The Gravatar hash and the comparison key follow the address, whichever way it changes.
        self.avatar_hash = email_hash(email) if email else None
        self.email_key = email_key(email) if email else None
        return email

    @validates("username")
    def _cache_username_key(self, key: str, username: str) -> str:
        self.username_key = username_key(username) if username else None
        return username

    # -- passwords: hashed and checked in a worker thread -------------------------------

    async def set_password(self, password: str) -> None:
        """Hash in a worker thread: scrypt must not stall the event loop."""
        self.password_hash = await security.hash_password_async(password)

    async def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        return await security.check_password_async(self.password_hash, password)

    # -- tokens ---------------------------------------------------------------------------
    # Links in mail carry a fingerprint of what they were issued for (the address, the
    # password), so each works once and only while that still holds: a confirmation link
    # confirms the address it was mailed to, a reset link dies when the password or the
    # address changes, an email-change link when either changes.

    def generate_confirmation_token(self, expiration: int = 3600) -> str:
        fingerprint = security.fingerprint(security.CONFIRM, email_key(self.email))
        return security.make_token(
            security.CONFIRM, {"confirm": self.id, "email": fingerprint}, expiration
        )

    def confirm(self, token: str) -> bool:
        try:
            data = security.read_token(security.CONFIRM, token)
        except security.InvalidToken:
            return False
        if data.get("confirm") != self.id or self.confirmed:
            return False
        if not security.fingerprint_matches(
            data.get("email"), security.CONFIRM, email_key(self.email)
        ):
            return False
        self.confirmed = True
        return True

    def _reset_fingerprint_values(self) -> tuple[str | None, str]:
        return self.password_hash, email_key(self.email)

    def generate_reset_token(self, expiration: int = 3600) -> str:
        fingerprint = security.fingerprint(security.RESET, *self._reset_fingerprint_values())
        return security.make_token(
            security.RESET, {"reset": self.id, "password": fingerprint}, expiration
        )

    @staticmethod
    async def from_reset_token(session: AsyncSession, token: str) -> User | None:
        """The user a reset link is for, while their password and address are the ones it
        was made for."""
        try:
            data = security.read_token(security.RESET, token)
        except security.InvalidToken:
            return None
        user_id = data.get("reset")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            return None
        user = await session.get(User, user_id)
        if user is None or not security.fingerprint_matches(
            data.get("password"), security.RESET, *user._reset_fingerprint_values()
        ):
            return None
        return user

    async def replace_password_hash(self, session: AsyncSession, new_hash: str) -> bool:
        """Store new_hash only if the stored hash and address are still the ones this object
        holds: of two requests racing with one reset link, the second changes nothing."""
        result = await session.execute(
            update(User)
            .where(
                User.id == self.id,
                User.password_hash == self.password_hash,
                User.email == self.email,
            )
            .values(password_hash=new_hash)
        )
        return result.rowcount == 1

    @staticmethod
    async def reset_password(session: AsyncSession, token: str, new_password: str) -> bool:
        user = await User.from_reset_token(session, token)
        if user is None:
            return False
        return await user.replace_password_hash(
            session, await security.hash_password_async(new_password)
        )

    def generate_email_change_token(self, new_email: str, expiration: int = 3600) -> str:
        fingerprint = security.fingerprint(security.CHANGE_EMAIL, self.email, self.password_hash)
        payload = {"change_email": self.id, "new_email": new_email, "credentials": fingerprint}
        return security.make_token(security.CHANGE_EMAIL, payload, expiration)

    async def change_email(self, session: AsyncSession, token: str) -> bool:
        try:
            data = security.read_token(security.CHANGE_EMAIL, token)
        except security.InvalidToken:
            return False
        if data.get("change_email") != self.id:
            return False
        if not security.fingerprint_matches(
            data.get("credentials"), security.CHANGE_EMAIL, self.email, self.password_hash
        ):
            return False
        new_email = data.get("new_email")
        if not isinstance(new_email, str) or not new_email:
            return False
        taken = await session.scalar(
            select(exists().where(User.email_key == email_key(new_email), User.id != self.id))
        )
        if taken:
            return False
        self.email = new_email.strip().lower()
        return True

    # API tokens are signed (purpose, expiry) and name a server-side session row: deleting
    # the row revokes the token before it expires (queries/signed_in.py checks them).

    def issue_auth_token(self, session: AsyncSession, expiration: int = 3600) -> str:
        """A new API token, valid for expiration seconds. The caller commits."""
        secret = open_session(session, self.id, API, expiration)
        return security.make_token(security.API, {"id": self.id, "sid": secret}, expiration)

    # -- roles and permissions ------------------------------------------------------------

    def can(self, perm: int) -> bool:
        return self.role is not None and self.role.has_permission(perm)

    def is_administrator(self) -> bool:
        return self.can(Permission.ADMIN)

    def ping(self) -> None:
        self.last_seen = utcnow()

    def gravatar(self, size: int = 100, default: str = "identicon", rating: str = "g") -> str:
        return gravatar_url(self.avatar_hash, self.email, size, default, rating)

    # -- follows --------------------------------------------------------------------------

    async def is_following(self, session: AsyncSession, user: User) -> bool:
        if user.id is None:
            return False
        return bool(
            await session.scalar(
                select(exists().where(Follow.follower_id == self.id, Follow.followed_id == user.id))
            )
        )

    async def follow(self, session: AsyncSession, user: User) -> bool:
        """Add the follow unless it exists; True when something changed."""
        if await self.is_following(session, user):
            return False
        session.add(Follow(follower_id=self.id, followed_id=user.id))
        return True

    async def unfollow(self, session: AsyncSession, user: User) -> bool:
        result = await session.execute(
            delete(Follow).where(Follow.follower_id == self.id, Follow.followed_id == user.id)
        )
        return bool(result.rowcount)

    def __repr__(self) -> str:
        return f"<User {self.username!r}>"


class AnonymousUser:
    """Stands in for a visitor who is not logged in: can do nothing."""

    id = None
    username = None
    is_authenticated = False
    is_anonymous = True
    confirmed = False
    unread_messages = 0
    unread_notifications = 0
    newest_event_id = 0

    def can(self, perm: int) -> bool:
        return False

    def is_administrator(self) -> bool:
        return False


@cache
def _user_with_role() -> Select:
    # Built once, run with a bound id: every signed-in page and API call loads its user.
    return select(User).options(joinedload(User.role)).where(User.id == bindparam("user_id"))


async def load_user(session: AsyncSession, user_id: int) -> User | None:
    """A user with their role, ready for can() checks."""
    return await session.scalar(_user_with_role(), {"user_id": user_id})


async def create_user(
    session: AsyncSession,
    *,
    password: str | None = None,
    password_hash: str | None = None,
    **fields: Any,
) -> User:
    """Make a user the way registration does: role from FLASKY_ADMIN or the default role,
    a self-follow, the password hashed off the event loop. The caller commits."""
    if "email" in fields and fields["email"]:
        fields["email"] = fields["email"].strip().lower()
    user = User(**fields)
    if password_hash is not None:
        user.password_hash = password_hash
    elif password is not None:
        await user.set_password(password)
    if user.role is None and user.role_id is None:
        admin_email = (current_app.config.get("FLASKY_ADMIN") or "").strip()
        if admin_email and user.email_key == email_key(admin_email):
            role = await session.scalar(select(Role).where(Role.name == "Administrator"))
        else:
            role = await session.scalar(select(Role).where(Role.default.is_(True)))
        user.role = role
    elif user.role is None and user.role_id is not None:
        user.role = await session.get(Role, user.role_id)
    session.add(user)
    await session.flush()
    session.add(Follow(follower_id=user.id, followed_id=user.id))
    return user
