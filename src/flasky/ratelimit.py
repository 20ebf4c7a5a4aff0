"""Rate limits on the endpoints that guess or spend: login, registration, password-reset
requests, confirmation-mail resends, API token issue (issue 8, point 2) and Markdown
previews, per client address; and on wrong passwords sent to any API endpoint in Basic auth.

quart-rate-limiter does the counting (GCRA, `Retry-After`, `RateLimit-*` headers). Its
limits normally ride on view functions as decorator attributes; here they are chosen by
endpoint name from the config instead, so the auth and api views stay unaware of them and
each app (each test) has its own limits and its own store.

Limits are written `"<count>/<period>"`, several joined by `;`, e.g. `"10/minute;50/hour"`;
a period is `second`, `minute`, `hour`, `day`, optionally with a number (`15minutes`), or
a number of seconds (`30`). The memory store is per process: with N Hypercorn workers a
client gets up to N times the limit (still a hard ceiling on guessing).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.sansio.blueprints import Blueprint
from quart import Quart, Response, current_app, request
from quart_rate_limiter import RateLimit, RateLimiter, RateLimitExceeded
from quart_rate_limiter.store import MemoryStore

from flasky.config import ConfigError


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

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_PERIOD = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*(second|minute|hour|day)?s?\s*$")


def parse_limits(text: str) -> list[RateLimit]:
    """`"10/minute;50/hour"` -> two RateLimits; an empty string -> no limit."""
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
        if seconds <= 0:
            raise ConfigError(f"Bad rate limit {part!r}: the period must be longer than zero.")
        limits.append(RateLimit(int(count), timedelta(seconds=seconds)))
    return limits


async def client_address() -> str:
    # The connection's peer, which production.py's proxy fix rewrites only for trusted
    # proxies; the library's default trusts any X-Forwarded-For, which a client can forge.
    return request.remote_addr or "unknown"


class ExpiringMemoryStore(MemoryStore):
    """The library's memory store never forgets a client; this one drops arrival times
    already in the past, which mean exactly what a missing key means (a full bucket)."""

    PRUNE_EVERY = 1000

    def __init__(self) -> None:
        super().__init__()
        self._writes = 0

    async def set(self, key: str, tat: datetime) -> None:
        await super().set(key, tat)
        self._writes += 1
        if self._writes % self.PRUNE_EVERY == 0:
            now = datetime.now(UTC)
            self._tats = {k: v for k, v in self._tats.items() if v > now}


class EndpointRateLimiter(RateLimiter):
    """Limits looked up by endpoint name and method in the app's table."""

    def _get_limits_for_view_function(
        self, view_func: Callable[..., Any], blueprint: Blueprint | None
    ) -> list[RateLimit]:
        table: dict[str, list[RateLimit]] = current_app.extensions.get("rate_limits", {})
        endpoint = LIMITED_ENDPOINTS.get(request.endpoint or "")
        if endpoint is None or request.method not in endpoint.methods:
            return []
        return table.get(request.endpoint, [])


def limits_from_config(config: dict[str, Any]) -> dict[str, list[RateLimit]]:
    table = {
        name: parse_limits(config.get(endpoint.setting) or "")
        for name, endpoint in LIMITED_ENDPOINTS.items()
    }
    table[API_PASSWORD_FAILURES] = parse_limits(config.get("RATELIMIT_API_PASSWORD_FAILURES") or "")
    return table


# Every API endpoint takes email + password in Basic auth, so each one could serve to
# guess passwords past the login limit: wrong passwords there are counted, per address.
API_PASSWORD_FAILURES = "api.password_failures"


def _api_password_attempt() -> bool:
    from flasky.hardening import authorization_or_none

    credentials = authorization_or_none()
    return (
        request.blueprint == "api"
        and credentials is not None
        and credentials.type == "basic"
        and bool(credentials.password)
    )


def _enabled_limits(name: str) -> list[RateLimit]:
    if not current_app.config.get("QUART_RATE_LIMITER_ENABLED"):
        return []
    return current_app.extensions.get("rate_limits", {}).get(name, [])


def init_app(app: Quart) -> None:
    limiter = EndpointRateLimiter(key_function=client_address, store=ExpiringMemoryStore())
    limiter.init_app(app)
    app.extensions["rate_limiter"] = limiter
    app.extensions["rate_limits"] = limits_from_config(app.config)
    app.config["QUART_RATE_LIMITER_ENABLED"] = bool(app.config.get("FLASKY_RATE_LIMITS"))

    @app.before_serving
    async def _read_limits() -> None:
        # Read again at startup: tests (and scripts) adjust the config after create_app.
        app.config["QUART_RATE_LIMITER_ENABLED"] = bool(app.config.get("FLASKY_RATE_LIMITS"))
        app.extensions["rate_limits"] = limits_from_config(app.config)

    @app.before_request
    async def _refuse_password_guessers() -> None:
        limits = _enabled_limits(API_PASSWORD_FAILURES)
        if limits and _api_password_attempt():
            # Before the API's own authentication, so a refused guess costs no hashing.
            await limiter._raise_on_rejection(API_PASSWORD_FAILURES, limits)

    @app.after_request
    async def _count_wrong_passwords(response: Response) -> Response:
        limits = _enabled_limits(API_PASSWORD_FAILURES)
        if limits and response.status_code == 401 and _api_password_attempt():
            await limiter._update_limits(API_PASSWORD_FAILURES, limits)
        return response

    @app.errorhandler(RateLimitExceeded)
    async def _too_many_requests(error: RateLimitExceeded) -> Response:
        from flasky.errors import error_response

        wait = max(1, math.ceil(error.retry_after))
        response = await error_response(
            429,
            f"Too many attempts from your address. Please wait {wait} second"
            f"{'s' if wait != 1 else ''} and try again.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
