"""Who is asking: quart-auth's cookie, turned into a loaded User (or AnonymousUser) per request.

The cookie carries only a signed auth id, `"<user id>:<fingerprint>"` (`":r"` appended for
"Keep me logged in"), where the fingerprint is a keyed digest of the user's password hash
and email address. Changing either (a new password, a reset, a new address) makes every
cookie issued before it worthless — a stolen cookie does not outlive the password change
meant to shut its thief out — while the request that made the change re-issues its own
cookie (refresh_sign_in).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Any, Awaitable, Callable, TypeVar
from urllib.parse import urlsplit

from quart import Quart, abort, g, redirect, request, url_for
from quart_auth import AuthUser, QuartAuth, Unauthorized, login_user, logout_user
from quart_auth import current_user as auth_cookie_user

from flasky import security
from flasky.db import get_session
from flasky.models import AnonymousUser, User
from flasky.models.role import Permission
from flasky.queries.signed_in import load_signed_in_user

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def current_user() -> User | AnonymousUser:
    """The user of this request, loaded once (with their role) by load_current_user."""
    user = g.get("current_user")
    return user if user is not None else AnonymousUser()


@dataclass(frozen=True)
class AuthId:
    """What the login cookie says: whose it is, which credentials it was issued against,
    and whether it was a "Keep me logged in" cookie."""

    user_id: int
    fingerprint: str
    remember: bool = False

    def __str__(self) -> str:
        return f"{self.user_id}:{self.fingerprint}{':r' if self.remember else ''}"

    @classmethod
    def parse(cls, auth_id: object) -> AuthId | None:
        parts = str(auth_id).split(":")
        if len(parts) not in (2, 3) or not parts[0].isdigit() or not parts[1]:
            return None
        if len(parts) == 3 and parts[2] != "r":
            return None
        return cls(int(parts[0]), parts[1], remember=len(parts) == 3)


def auth_id_for(user: User, remember: bool = False, app: Quart | None = None) -> str:
    """The auth id a login cookie for user carries (tests set cookies with it too)."""
    fingerprint = security.fingerprint(security.SESSION, user.password_hash, user.email, app=app)
    return str(AuthId(user.id, fingerprint, remember))


def cookie_matches_credentials(auth_id: AuthId, user: User) -> bool:
    return security.fingerprint_matches(
        auth_id.fingerprint, security.SESSION, user.password_hash, user.email
    )


async def load_current_user() -> User | AnonymousUser:
    if "current_user" in g:
        return g.current_user
    user: User | AnonymousUser = AnonymousUser()
    raw = auth_cookie_user.auth_id
    if raw is not None:
        auth_id = AuthId.parse(raw)
        loaded = await load_signed_in_user(get_session(), auth_id.user_id) if auth_id else None
        if auth_id and loaded and cookie_matches_credentials(auth_id, loaded):
            user = loaded
            g.auth_remember = auth_id.remember
        else:
            # Issued before the password or address changed, for a deleted user, or in an
            # older format: the visitor is anonymous, and the cookie is cleared.
            logout_user()
    g.current_user = user
    return user


def sign_in(user: User, remember: bool = False) -> None:
    login_user(AuthUser(auth_id_for(user, remember)), remember=remember)
    g.current_user = user
    g.auth_remember = remember


def refresh_sign_in(user: User) -> None:
    """After this request changed user's password or address (and committed it): give the
    request's own cookie the new fingerprint, keeping "Keep me logged in" as it was, so
    only the other sessions end."""
    current = current_user()
    if isinstance(current, User) and current.id == user.id:
        sign_in(user, remember=g.get("auth_remember", False))


def sign_out() -> None:
    logout_user()
    g.current_user = AnonymousUser()
    g.auth_remember = False


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
