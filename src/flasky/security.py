"""Password hashing off the event loop, and signed, expiring, purpose-bound tokens."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from quart import current_app, has_app_context
from werkzeug.security import check_password_hash, generate_password_hash

# Token purposes: a token signed for one never verifies for another (SPEC §4).
CONFIRM = "confirm"
RESET = "reset"
CHANGE_EMAIL = "change-email"
API = "api"


DEFAULT_HASH_METHOD = "scrypt"


def hash_password(password: str, method: str | None = None) -> str:
    """CPU-heavy (scrypt, ~100 ms): call hash_password_async from async code."""
    if method is None:
        method = (
            current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD)
            if has_app_context()
            else DEFAULT_HASH_METHOD
        )
    return generate_password_hash(password, method=method)


def check_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


async def hash_password_async(password: str) -> str:
    # The method is read here: the worker thread has no app context.
    method = (
        current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD)
        if has_app_context()
        else DEFAULT_HASH_METHOD
    )
    return await asyncio.to_thread(hash_password, password, method)


async def check_password_async(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(check_password, password_hash, password)


class InvalidToken(Exception):
    """The token is malformed, forged, expired or made for another purpose."""


def _serializer(purpose: str, secret_key: str | None = None) -> URLSafeSerializer:
    key = secret_key or current_app.config["SECRET_KEY"]
    return URLSafeSerializer(key, salt=f"flasky.{purpose}")


def make_token(purpose: str, payload: dict[str, Any], expiration: int = 3600,
               secret_key: str | None = None) -> str:
    """Sign payload for purpose; it expires `expiration` seconds from now."""
    data = dict(payload, exp=time.time() + expiration)
    return _serializer(purpose, secret_key).dumps(data)


def read_token(purpose: str, token: str, secret_key: str | None = None) -> dict[str, Any]:
    """Return the payload of a valid token, or raise InvalidToken."""
    try:
        data = _serializer(purpose, secret_key).loads(token)
    except BadSignature as exc:
        raise InvalidToken("bad signature or wrong purpose") from exc
    if not isinstance(data, dict) or not isinstance(data.get("exp"), (int, float)):
        raise InvalidToken("malformed token")
    if data["exp"] < time.time():
        raise InvalidToken("token expired")
    return data
