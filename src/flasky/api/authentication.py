"""Who is calling: HTTP Basic with email + password, or a token as the username and an empty
password, or `Authorization: Bearer <token>`. The API never looks at the login cookie, so it
needs no CSRF token.

A token names a row of the sessions table: it stops working when that row is deleted (the
token revoked, the password or address changed, "log out everywhere"), and checking it
is part of the one statement that loads the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from quart import Response, current_app, g, request
from werkzeug.exceptions import Forbidden, Unauthorized

from flasky import security
from flasky.api import api
from flasky.db import get_session
from flasky.models import User
from flasky.models.login_session import API, revoke_session, revoke_sessions, sweep_expired
from flasky.queries.signed_in import TokenCaller, verify_auth_token
from flasky.queries.users import user_by_email

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

# Endpoints anyone may read: the API's own description.
PUBLIC_ENDPOINTS = {"api.openapi"}
# Longer than any email or token we issue; refused before it reaches the database.
MAX_CREDENTIAL_LENGTH = 512


def api_user() -> User | TokenCaller:
    """The authenticated user of this API request (set by authenticate): the User when
    the password was given, a TokenCaller record (the same attributes) for a token."""
    return g.api_user


async def _dummy_password_check(password: str) -> None:
    # An unknown email costs as much as a wrong password, so timing does not tell which
    # addresses have accounts. The hash is made once per app, with the configured method.
    dummy = current_app.extensions.get("api_dummy_password_hash")
    if dummy is None:
        dummy = await security.hash_password_async("not a real password")
        current_app.extensions["api_dummy_password_hash"] = dummy
    await security.check_password_async(dummy, password)


def _acceptable(credential: str) -> bool:
    return (
        bool(credential) and len(credential) <= MAX_CREDENTIAL_LENGTH and "\x00" not in credential
    )


async def user_from_token(token: str) -> TokenCaller | None:
    """The user of a live API token, remembering which token it was (g.api_session_id)."""
    if not _acceptable(token):
        return None
    found = await verify_auth_token(get_session(), token)
    if found is None:
        return None
    user, g.api_session_id = found
    return user


async def user_from_credentials(
    email_or_token: str, password: str
) -> tuple[User | TokenCaller | None, bool]:
    """(user, token_used); user is None when the credentials are wrong."""
    if not _acceptable(email_or_token):
        return None, False
    if password == "":
        return await user_from_token(email_or_token), True
    session = get_session()
    user = await user_by_email(session, email_or_token)
    # Hand the connection back before the slow hash: on SQLite (one connection per process)
    # every other request waited behind each ~100 ms check, and under load the checks ran
    # one at a time; on PostgreSQL they held pool connections. The user stays loaded
    # (expire_on_commit=False); a later query opens a new transaction.
    await session.commit()
    if user is None:
        await _dummy_password_check(password)
        return None, False
    # check_password hashes in a worker thread: scrypt would stall the event loop.
    return (user if await user.check_password(password) else None), False


@api.before_request
async def authenticate() -> Any:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    # An Authorization header that cannot be parsed was refused before this hook
    # (hardening.refuse_unparsable_credentials).
    credentials = request.authorization
    if credentials is None:
        raise Unauthorized(security.API_CREDENTIALS_MESSAGE)
    user: User | TokenCaller | None
    if credentials.type == "basic":
        user, token_used = await user_from_credentials(
            credentials.username or "", credentials.password or ""
        )
    elif credentials.type == "bearer":
        user, token_used = await user_from_token(credentials.token or ""), True
    else:
        user = None
    if user is None:
        raise Unauthorized(security.API_CREDENTIALS_MESSAGE)
    g.api_user = user
    g.token_used = token_used
    if not user.confirmed:
        raise Forbidden("Unconfirmed account")
    return None


def permission_required(permission: int) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not api_user().can(permission):
                raise Forbidden("Insufficient permissions")
            return await view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


@api.route("/tokens/", methods=["POST"])
async def get_token() -> Any:
    # A token buys a token only with a password: a stolen token cannot renew itself forever.
    if g.token_used:
        raise Unauthorized(security.API_CREDENTIALS_MESSAGE)
    expiration = current_app.config["FLASKY_TOKEN_EXPIRATION"]
    session = get_session()
    user = api_user()
    assert isinstance(user, User)  # signed in with the password (checked above)
    await sweep_expired(session, user.id)
    token = user.issue_auth_token(session, expiration=expiration)
    await session.commit()
    return {"token": token, "expiration": expiration}


@api.route("/tokens/", methods=["DELETE"])
async def revoke_tokens() -> Any:
    """Authenticated with a token: that token ends. With a password: every token of the
    account ends (the way to shut out a leaked token whose text is lost)."""
    session = get_session()
    if g.token_used:
        await revoke_session(session, g.api_session_id)
    else:
        await revoke_sessions(session, api_user().id, kind=API)
    await session.commit()
    return Response(status=204)
