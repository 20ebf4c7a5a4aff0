"""Who is asking: quart-auth's cookie, turned into a loaded User (or AnonymousUser) per request.

The cookie carries only a signed random secret naming a row of the sessions table
(flasky.models.login_session). The row is what makes the login valid: logging out deletes
it, so a copied cookie is worth nothing afterwards; it expires FLASKY_SESSION_LIFETIME
seconds after login, or FLASKY_REMEMBER_LIFETIME with "Keep me logged in", whatever the
cookie says; a password change deletes every other row of the account. Loading the user
checks the row in the same statement, so a signed-in page costs no extra query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from quart import Quart, abort, current_app, g, redirect, request, session, url_for
from quart_auth import AuthUser, QuartAuth, Unauthorized, login_user, logout_user
from quart_auth import current_user as auth_cookie_user

from flasky.db import get_session
from flasky.models import AnonymousUser, User
from flasky.models.login_session import (
    BROWSER,
    open_session,
    revoke_session,
    revoke_sessions,
    session_key,
    sweep_expired,
)
from flasky.models.role import Permission
from flasky.queries.signed_in import load_signed_in_user

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

# The key in Quart's (cookie) session that ties it, and so the CSRF token kept in it, to
# one login: a session planted before the login, or left from another login, is emptied.
LOGIN_MARK = "login"


def current_user() -> User | AnonymousUser:
    """The user of this request, loaded once (with their role) by load_current_user."""
    user = g.get("current_user")
    return user if user is not None else AnonymousUser()


def current_session_id() -> str | None:
    """The sessions-table id of this request's login, if it has one."""
    return g.get("login_session_id")


def session_lifetime(remember: bool, app: Quart | None = None) -> int:
    config = (app or current_app).config
    return int(config["FLASKY_REMEMBER_LIFETIME" if remember else "FLASKY_SESSION_LIFETIME"])


def _login_mark(session_id: str) -> str:
    # Derived, not the id itself: the cookie session is signed but readable by its holder.
    return hashlib.sha256(f"csrf-bind:{session_id}".encode()).hexdigest()[:32]


async def load_current_user() -> User | AnonymousUser:
    if "current_user" in g:
        return g.current_user
    user: User | AnonymousUser = AnonymousUser()
    secret = auth_cookie_user.auth_id
    if secret is not None:
        session_id = session_key(str(secret))
        loaded = await load_signed_in_user(get_session(), session_id)
        if loaded is not None:
            user = loaded
            g.login_session_id = session_id
            mark = _login_mark(session_id)
            if session.get(LOGIN_MARK) != mark:
                session.clear()
                session[LOGIN_MARK] = mark
        else:
            # Logged out, revoked, expired, for a deleted user, or in an older format: the
            # visitor is anonymous, and the cookie is cleared.
            logout_user()
    g.current_user = user
    return user


async def log_in(user: User, remember: bool = False) -> None:
    """Open a server-side session for user, commit it, and give this client its cookie.

    The cookie session (and the CSRF token in it) starts afresh: nothing planted in it
    before the login is carried into the logged-in session."""
    db = get_session()
    await sweep_expired(db, user.id)
    secret = open_session(db, user.id, BROWSER, session_lifetime(remember), remember)
    await db.commit()
    login_user(AuthUser(secret), remember=remember)
    session_id = session_key(secret)
    session.clear()
    session[LOGIN_MARK] = _login_mark(session_id)
    g.current_user = user
    g.login_session_id = session_id


async def log_out() -> None:
    """End this login on the server (the cookie dies with it) and in this client."""
    session_id = current_session_id()
    if session_id is not None:
        db = get_session()
        await revoke_session(db, session_id)
        await db.commit()
    sign_out()


async def revoke_other_sessions(user: User) -> None:
    """After a change of password or address: every login and API token of user ends,
    except this request's own login when it is user's. The caller commits."""
    keep = current_session_id() if current_user().id == user.id else None
    await revoke_sessions(get_session(), user.id, keep=keep)


def sign_out() -> None:
    logout_user()
    session.pop(LOGIN_MARK, None)
    g.current_user = AnonymousUser()
    g.pop("login_session_id", None)


def is_safe_next(target: str | None) -> bool:
    """Only local paths: '/x' yes; '//host', '/\\host', 'http://…' no (SPEC §5)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def login_required(view: F) -> F:
    @wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user().is_authenticated:
            raise Unauthorized()
        return await view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def permission_required(permission: int) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if not user.is_authenticated:
                raise Unauthorized()
            if not user.can(permission):
                abort(403)
            return await view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def admin_required(view: F) -> F:
    return permission_required(Permission.ADMIN)(view)


def init_app(app: Quart) -> None:
    """quart-auth's cookie handling; this module's hooks are placed by flasky.pipeline."""
    QuartAuth(app)


async def load_user_for_request() -> None:
    """Who is asking, once per request (static files need nobody)."""
    if request.endpoint == "static" or (request.endpoint or "").endswith(".static"):
        return
    await load_current_user()


async def redirect_to_login(error: Unauthorized) -> Any:
    """A page that needs a login sends a visitor to it (the API answers 401 JSON)."""
    if request.path.startswith("/api/"):
        from flasky.errors import json_error

        return json_error(401, "Invalid credentials")
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


async def inject_user() -> dict[str, Any]:
    """Templates see the loaded user (not quart-auth's cookie user) and the permissions."""
    return {"current_user": current_user(), "Permission": Permission}
