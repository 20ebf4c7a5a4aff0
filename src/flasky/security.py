"""Password hashing off the event loop, and signed, expiring, purpose-bound tokens."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from quart import Quart, current_app, has_app_context
from quart.sessions import SecureCookieSessionInterface
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from flasky.memo import BoundedTable

# Token purposes: a token signed for one never verifies for another (a reset token does not
# confirm an account).
CONFIRM = "confirm"
RESET = "reset"
CHANGE_EMAIL = "change-email"
API = "api"
# The login cookie's binding to the credentials (flasky/login.py).
SESSION = "session"


DEFAULT_HASH_METHOD = "scrypt"

# What the API answers to missing or wrong credentials: every accepted way to authenticate,
# since a client may know only one of them.
API_CREDENTIALS_MESSAGE = (
    "Invalid credentials: send HTTP Basic auth with email:password or with a token as the "
    "username and an empty password, or Authorization: Bearer <token>"
)


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


_hashing_pool: ThreadPoolExecutor | None = None


def _hash_at_low_priority() -> None:
    # On Linux a thread's nice value is its own: hashing threads yield the CPU to the event
    # loop's thread, so pages stay fast while password checks queue (bench scenario (c):
    # 16 password clients took the pages from ~110 to 3 req/s with default threads).
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


def hashing_pool() -> ThreadPoolExecutor:
    """One thread per CPU for scrypt/pbkdf2: more would only share the same cores."""
    global _hashing_pool
    if _hashing_pool is None:
        _hashing_pool = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 1,
            thread_name_prefix="flasky-hash",
            initializer=_hash_at_low_priority,
        )
    return _hashing_pool


async def hash_password_async(password: str) -> str:
    # The method is read here: the worker thread has no app context.
    method = (
        current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD)
        if has_app_context()
        else DEFAULT_HASH_METHOD
    )
    return await asyncio.get_running_loop().run_in_executor(
        hashing_pool(), hash_password, password, method
    )


async def check_password_async(password_hash: str, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        hashing_pool(), check_password, password_hash, password
    )


# -- the rule for new passwords ----------------------------------------------------------
# Applied where a password is chosen (registration, change, reset), not to stored hashes:
# existing accounts keep the password they have until they change it.

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
# zxcvbn scores 0 (in the top lists of leaked passwords, or one small edit from them) to 4;
# 0 and 1 fall to an online guesser within its first thousands of tries.
PASSWORD_MIN_SCORE = 2
# zxcvbn's matching grows quickly with length; past this many characters a password made
# of guessable parts is long enough anyway.
ZXCVBN_MAX_LENGTH = 72


def password_problem(password: str, user_inputs: list[str] | None = None) -> str | None:
    """Why password may not be chosen (a sentence for the form), or None. CPU work of a few
    milliseconds: call password_problem_async from async code."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"Passwords must have at least {PASSWORD_MIN_LENGTH} characters."
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"Passwords must have at most {PASSWORD_MAX_LENGTH} characters."
    inputs = [value for value in (user_inputs or []) if value]
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=inputs, max_length=ZXCVBN_MAX_LENGTH)
    if result["score"] >= PASSWORD_MIN_SCORE:
        return None
    warning = (
        result["feedback"].get("warning") or "It is close to passwords that are commonly used."
    )
    return (
        f"This password is too easy to guess: {warning.rstrip('.')}. "
        "Choose a longer or less common one."
    )


async def password_problem_async(password: str, user_inputs: list[str] | None = None) -> str | None:
    return await asyncio.to_thread(password_problem, password, user_inputs)


class InvalidToken(Exception):
    """The token is malformed, forged, expired or made for another purpose."""


class SessionCookieInterface(SecureCookieSessionInterface):
    """Quart's signed session cookie (flashed messages), its signer made once per set
    of keys instead of once per request, cookie or not (~1.5 % of a request's CPU)."""

    # (the keys it was made with, the signer)
    _signer: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Quart) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if self._signer is None or self._signer[0] != keys:
            self._signer = (keys, super().get_signing_serializer(app))
        return self._signer[1]


def _serializer(purpose: str, secret_key: str | None = None) -> URLSafeSerializer:
    return _serializer_for(secret_key or current_app.config["SECRET_KEY"], purpose)


@functools.lru_cache(maxsize=32)
def _serializer_for(key: str | bytes, purpose: str) -> URLSafeSerializer:
    # Made once per key and purpose: every API request reads a token.
    return URLSafeSerializer(key, salt=f"flasky.{purpose}")


def make_token(
    purpose: str, payload: dict[str, Any], expiration: int = 3600, secret_key: str | None = None
) -> str:
    """Sign payload for purpose; it expires `expiration` seconds from now."""
    data = dict(payload, exp=time.time() + expiration)
    return _serializer(purpose, secret_key).dumps(data)


def read_token(purpose: str, token: str, secret_key: str | None = None) -> dict[str, Any]:
    """Return the payload of a valid token, or raise InvalidToken."""
    key = secret_key or current_app.config["SECRET_KEY"]
    try:
        data = _verified_payloads[(key, purpose, token)]
    except KeyError:
        data = _verify(key, purpose, token)
    if data["exp"] < time.time():
        raise InvalidToken("token expired")
    return dict(data)


def _verify(key: str | bytes, purpose: str, token: str) -> dict[str, Any]:
    try:
        data = _serializer_for(key, purpose).loads(token)
    except BadSignature as exc:
        raise InvalidToken("bad signature or wrong purpose") from exc
    if not isinstance(data, dict) or not isinstance(data.get("exp"), (int, float)):
        raise InvalidToken("malformed token")
    return _verified_payloads.store((key, purpose, token), data)


# The payloads of tokens whose signature checked out, by key, purpose and token: an API
# client sends the same token with every request, and the check (base64, HMAC, JSON) was
# ~4 % of an API call's CPU. Only a correctly signed token gets in, and what it maps to
# never changes; expiry is checked on every read, and revocation is the caller's
# database check, as before.
_verified_payloads: BoundedTable[dict[str, Any]] = BoundedTable(4096)


# -- fingerprints: binding a cookie or a token to the credentials it was issued against --


def _secret_keys(app: Quart | None = None) -> list[bytes]:
    """The current SECRET_KEY first, then SECRET_KEY_FALLBACKS (as quart-auth reads them)."""
    config = (app or current_app).config
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    return [key if isinstance(key, bytes) else str(key).encode() for key in keys]


def _fingerprint(key: bytes, purpose: str, values: tuple[str | None, ...]) -> str:
    message = json.dumps([purpose, *values]).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def fingerprint(purpose: str, *values: str | None, app: Quart | None = None) -> str:
    """A short keyed digest of values (a password hash, an address): it changes whenever
    they change, and whoever reads it (it travels in cookies and links) learns nothing
    about them."""
    return _fingerprint(_secret_keys(app)[0], purpose, values)


def fingerprint_matches(candidate: Any, purpose: str, *values: str | None) -> bool:
    """Whether candidate is the fingerprint of values, under SECRET_KEY or a fallback."""
    if not isinstance(candidate, str):
        return False
    return any(
        hmac.compare_digest(candidate.encode(), _fingerprint(key, purpose, values).encode())
        for key in _secret_keys()
    )
