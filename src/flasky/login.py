"""Who is asking: quart-auth's cookie, turned into a loaded User (or AnonymousUser) per request."""

from __future__ import annotations

from functools import wraps
from typing import Any, Awaitable, Callable, TypeVar
from urllib.parse import urlsplit

from quart import Quart, abort, g, redirect, request, url_for
from quart_auth import AuthUser, QuartAuth, Unauthorized, login_user, logout_user
from quart_auth import current_user as auth_cookie_user

from flasky.db import get_session
from flasky.models import AnonymousUser, User
from flasky.models.role import Permission
from flasky.models.user import load_user

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def current_user() -> User | AnonymousUser:
    """The user of this request, loaded once (with their role) by load_current_user."""
    user = g.get("current_user")
    return user if user is not None else AnonymousUser()


async def load_current_user() -> User | AnonymousUser:
    if "current_user" in g:
        return g.current_user
    user: User | AnonymousUser = AnonymousUser()
    auth_id = auth_cookie_user.auth_id
    if auth_id is not None and str(auth_id).isdigit():
        loaded = await load_user(get_session(), int(auth_id))
        if loaded is not None:
            user = loaded
    g.current_user = user
    return user


def sign_in(user: User, remember: bool = False) -> None:
    login_user(AuthUser(str(user.id)), remember=remember)
    g.current_user = user


def sign_out() -> None:
    logout_user()
    g.current_user = AnonymousUser()


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
    QuartAuth(app)

    @app.before_request
    async def _load_user() -> None:
        if request.endpoint == "static" or (request.endpoint or "").endswith(".static"):
            return
        await load_current_user()

    @app.errorhandler(Unauthorized)
    async def _redirect_to_login(error: Unauthorized) -> Any:
        if request.path.startswith("/api/"):
            from flasky.errors import json_error

            return json_error(401, "Invalid credentials")
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=target))

    @app.context_processor
    async def _inject_user() -> dict[str, Any]:
        return {"current_user": current_user(), "Permission": Permission}
