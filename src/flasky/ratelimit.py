"""Rate limits on what guesses or spends, counted in one store that every worker shares.

Two kinds of limit:
- per client address, on the endpoints that guess or spend (login, registration,
  password-reset requests, confirmation-mail resends, API token issue, Markdown
  previews), chosen by endpoint name from the config so the views stay unaware of them;
  and on wrong passwords sent to any API endpoint in Basic auth;
- per account, on wrong passwords (login, and the re-authentication asked by the
  change-password and change-email forms), called by those views, so one account cannot be
  guessed from many addresses.

The counting is the `limits` library's moving window. With REDIS_URL set the counters live
in Redis and hold across workers and machines; without it they live in each worker's
memory, and N workers give a client up to N times each limit.

A Redis outage fails open: requests go through uncounted, one error is logged when Redis
stops answering and one line when it answers again. Failing closed would turn an outage
of a helper store into an outage of login for everyone; the limits are a brake on
guessing, and a few minutes without it are the smaller harm.

Limits are written `"<count>/<period>"`, several joined by `;`, e.g. `"10/minute;50/hour"`;
a period is `second`, `minute`, `hour`, `day`, optionally with a number (`15minutes`), or
a number of seconds (`30`).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from quart import Quart, Response, current_app, request

from flasky.config import ConfigError

log = logging.getLogger("flasky.ratelimit")
T = TypeVar("T")


@dataclass(frozen=True)
class LimitedEndpoint:
    setting: str
    methods: frozenset[str]


# Only the submissions count: looking at the login form is free.
LIMITED_ENDPOINTS = {
    "auth.login": LimitedEndpoint("RATELIMIT_LOGIN", frozenset({"POST"})),
    "auth.register": LimitedEndpoint("RATELIMIT_REGISTER", frozenset({"POST"})),
    "auth.password_reset_request": LimitedEndpoint("RATELIMIT_PASSWORD_RESET", frozenset({"POST"})),
    # Each resend mails the account's address: a signed-in script could otherwise flood it.
    "auth.resend_confirmation": LimitedEndpoint(
        "RATELIMIT_RESEND_CONFIRMATION", frozenset({"POST"})
    ),
    "api.get_token": LimitedEndpoint("RATELIMIT_API_TOKEN", frozenset({"POST"})),
    # Each preview renders Markdown and stores nothing: free work for a script otherwise.
    "main.preview": LimitedEndpoint("RATELIMIT_PREVIEW", frozenset({"POST"})),
}

# Every API endpoint takes email + password in Basic auth, so each one could serve to
# guess passwords past the login limit: wrong passwords there are counted, per address.
API_PASSWORD_FAILURES = "api.password_failures"
# Wrong passwords per account, whatever the address: at login, and when a signed-in user
# confirms a sensitive change with their password (a stolen session must not be a way
# to guess the password behind it).
LOGIN_ACCOUNT_FAILURES = "account.login_failures"
REAUTHENTICATION_FAILURES = "account.reauthentication_failures"

BUCKET_SETTINGS = {
    **{name: endpoint.setting for name, endpoint in LIMITED_ENDPOINTS.items()},
    API_PASSWORD_FAILURES: "RATELIMIT_API_PASSWORD_FAILURES",
    LOGIN_ACCOUNT_FAILURES: "RATELIMIT_LOGIN_ACCOUNT",
    REAUTHENTICATION_FAILURES: "RATELIMIT_REAUTHENTICATION",
}

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_PERIOD = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*(second|minute|hour|day)?s?\s*$")


def parse_limits(text: str) -> list[RateLimitItem]:
    """`"10/minute;50/hour"` -> two limits; an empty string -> no limit."""
    limits = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        count, _, period = part.partition("/")
        match = _PERIOD.match(period)
        if not count.strip().isdigit() or int(count) < 1 or not match or not any(match.groups()):
            raise ConfigError(
                f"Bad rate limit {part!r}: write it as '<count>/<period>', e.g. '10/minute'."
            )
        number = float(match.group(1) or 1)
        seconds = number * _UNITS[match.group(2)] if match.group(2) else number
        if seconds < 1:
            raise ConfigError(f"Bad rate limit {part!r}: the period must be a second or longer.")
        limits.append(RateLimitItemPerSecond(int(count), math.ceil(seconds)))
    return limits


def limits_from_config(config: dict[str, Any]) -> dict[str, list[RateLimitItem]]:
    return {
        name: parse_limits(config.get(setting) or "") for name, setting in BUCKET_SETTINGS.items()
    }


class RateLimited(Exception):
    """A bucket is empty: answered with 429 and Retry-After."""

    def __init__(self, retry_after: float, message: str) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))
        self.message = message


def storage_uri(redis_url: str) -> str:
    """`redis://host:port/db` as the `limits` library names its asyncio Redis storage."""
    scheme = urlsplit(redis_url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"REDIS_URL must start with redis://, rediss:// or unix:// (got {scheme!r})."
        )
    return "async+" + (redis_url if scheme != "unix" else "redis+" + redis_url)


def describe(redis_url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(redis_url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Limiter:
    """The app's buckets and the store that counts them (made per worker at startup)."""

    # After a failed call, Redis is left alone this long: a dead server must not cost
    # every request a connection attempt.
    RETRY_AFTER_OUTAGE = 1.0

    def __init__(self, app: Quart) -> None:
        self.app = app
        self.table: dict[str, list[RateLimitItem]] = {}
        self.enabled = False
        self.storage: Storage | None = None
        self.strategy: MovingWindowRateLimiter | None = None
        self.redis_url = ""
        self.redis_pool: Any = None
        self._down_since: float | None = None
        self._retry_at = 0.0

    def configure(self) -> None:
        config = self.app.config
        self.enabled = bool(config.get("FLASKY_RATE_LIMITS"))
        self.table = limits_from_config(config)
        self.redis_url = config.get("REDIS_URL") or ""

    async def start(self) -> None:
        self.configure()
        if self.redis_url:
            import redis.asyncio

            timeout = float(self.app.config.get("REDIS_TIMEOUT", 0.5))
            # Our own pool (the storage takes it as given), so the worker closes it at exit.
            self.redis_pool = redis.asyncio.ConnectionPool.from_url(
                self.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
            self.storage = RedisStorage(
                storage_uri(self.redis_url),
                implementation="redispy",
                key_prefix=self.app.config.get("FLASKY_REDIS_PREFIX") or "flasky",
                connection_pool=self.redis_pool,
            )
        else:
            self.storage = MemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)

    async def stop(self) -> None:
        pool, self.redis_pool = self.redis_pool, None
        self.storage, self.strategy = None, None
        if pool is not None:
            await pool.disconnect()

    @property
    def shared(self) -> bool:
        return bool(self.redis_url)

    def limits(self, name: str) -> list[RateLimitItem]:
        if not self.enabled or self.strategy is None:
            return []
        return self.table.get(name, [])

    async def _guarded(self, call: Callable[[], Awaitable[T]], fallback: T) -> T:
        """Run a store call; while the store is unreachable, `fallback` (let it through)."""
        assert self.storage is not None
        if self._down_since is not None and time.monotonic() < self._retry_at:
            return fallback
        try:
            result = await call()
        except (*_as_tuple(self.storage.base_exceptions), OSError, TimeoutError) as error:
            now = time.monotonic()
            if self._down_since is None:
                self._down_since = now
                log.error(
                    "Rate limit store %s is not answering (%s: %s); requests go through "
                    "without rate limits until it answers again.",
                    describe(self.redis_url) or "memory",
                    type(error).__name__,
                    error,
                )
            self._retry_at = now + self.RETRY_AFTER_OUTAGE
            return fallback
        if self._down_since is not None:
            log.warning(
                "Rate limit store %s answers again after %.0f s; rate limits are back on.",
                describe(self.redis_url),
                time.monotonic() - self._down_since,
            )
            self._down_since = None
        return result

    async def _retry_after(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> float:
        assert self.strategy is not None
        strategy = self.strategy
        stats = await self._guarded(lambda: strategy.get_window_stats(item, *identifiers), None)
        if stats is None:
            return float(item.get_expiry())
        return stats.reset_time - time.time()

    async def hit(self, name: str, key: str, message: str) -> None:
        """Count one, or raise RateLimited if any of the bucket's limits is used up."""
        strategy = self.strategy
        for item in self.limits(name):
            assert strategy is not None
            if not await self._guarded(lambda i=item: strategy.hit(i, name, key), True):
                raise RateLimited(await self._retry_after(item, (name, key)), message)

    async def check(self, name: str, key: str, message: str) -> None:
        """Raise RateLimited if the bucket is used up, without counting."""
        strategy = self.strategy
        for item in self.limits(name):
            assert strategy is not None
            if not await self._guarded(lambda i=item: strategy.test(i, name, key), True):
                raise RateLimited(await self._retry_after(item, (name, key)), message)

    async def count(self, name: str, key: str) -> None:
        """Count one; a full bucket is refused by the next `check`."""
        strategy = self.strategy
        for item in self.limits(name):
            assert strategy is not None
            await self._guarded(lambda i=item: strategy.hit(i, name, key), True)


def _as_tuple(
    exceptions: type[Exception] | tuple[type[Exception], ...],
) -> tuple[type[Exception], ...]:
    return exceptions if isinstance(exceptions, tuple) else (exceptions,)


def limiter(app: Quart | None = None) -> Limiter:
    return (app or current_app).extensions["rate_limiter"]


ADDRESS_MESSAGE = "Too many attempts from your address."
ACCOUNT_MESSAGE = "Too many wrong passwords for this account."


async def client_address() -> str:
    # The connection's peer, which the forwarded-headers fix rewrites only for trusted
    # proxies; X-Forwarded-For itself can be forged by any client.
    return request.remote_addr or "unknown"


def account_key(email_or_id: str | int) -> str:
    return str(email_or_id).strip().lower()


async def refuse_account_if_exhausted(bucket: str, account: str | int) -> None:
    """Before checking a password: 429 once the account has had too many wrong ones."""
    await limiter().check(bucket, account_key(account), ACCOUNT_MESSAGE)


async def count_wrong_password(bucket: str, account: str | int) -> None:
    await limiter().count(bucket, account_key(account))


def _api_password_attempt() -> bool:
    from flasky.hardening import authorization_or_none

    credentials = authorization_or_none()
    return (
        request.blueprint == "api"
        and credentials is not None
        and credentials.type == "basic"
        and bool(credentials.password)
    )


async def limit_endpoint() -> None:
    endpoint = LIMITED_ENDPOINTS.get(request.endpoint or "")
    if endpoint is not None and request.method in endpoint.methods:
        await limiter().hit(request.endpoint or "", await client_address(), ADDRESS_MESSAGE)


async def refuse_api_password_guessers() -> None:
    # Before the API's own authentication, so a refused guess costs no hashing.
    if limiter().limits(API_PASSWORD_FAILURES) and _api_password_attempt():
        await limiter().check(API_PASSWORD_FAILURES, await client_address(), ADDRESS_MESSAGE)


async def count_api_wrong_passwords(response: Response) -> Response:
    if (
        response.status_code == 401
        and limiter().limits(API_PASSWORD_FAILURES)
        and _api_password_attempt()
    ):
        await limiter().count(API_PASSWORD_FAILURES, await client_address())
    return response


async def too_many_requests(error: RateLimited) -> Response:
    from flasky.errors import error_response

    wait = error.retry_after
    if wait >= 120:
        delay = f"{math.ceil(wait / 60)} minutes"
    else:
        delay = f"{wait} second{'s' if wait != 1 else ''}"
    response = await error_response(429, f"{error.message} Please wait {delay} and try again.")
    response.headers["Retry-After"] = str(wait)
    return response


PER_WORKER_WARNING = (
    "Rate limits are per worker: %d Hypercorn workers each count alone, so a client gets up "
    "to %d times each limit. Set REDIS_URL so every worker shares one count."
)


def warn_if_counted_per_worker(state: Limiter) -> bool:
    """Said once, by one worker, when several workers count limits each in its own memory."""
    from flasky.workers import is_first_worker, worker_pids

    workers = worker_pids()
    if not state.enabled or state.shared or not workers or len(workers) < 2:
        return False
    if is_first_worker():
        log.warning(PER_WORKER_WARNING, len(workers), len(workers))
    return True


def init_app(app: Quart) -> None:
    state = Limiter(app)
    state.configure()
    app.extensions["rate_limiter"] = state

    @app.before_serving
    async def _start_limits() -> None:
        # Settings are read at startup: tests (and scripts) adjust the config after create_app.
        await state.start()
        warn_if_counted_per_worker(state)

    @app.after_serving
    async def _stop_limits() -> None:
        await state.stop()

    app.before_request(limit_endpoint)
    app.before_request(refuse_api_password_guessers)
    app.after_request(count_api_wrong_passwords)
    app.register_error_handler(RateLimited, too_many_requests)
