"""Behind a reverse proxy: the client's address and scheme from trusted X-Forwarded-* headers,
and plain-HTTP requests sent to HTTPS (SSL_REDIRECT)."""

from __future__ import annotations

from typing import Any

from hypercorn.middleware import ProxyFixMiddleware
from quart import Quart, Response, current_app, redirect, request


class ForwardedHeaders:
    """Trust X-Forwarded-For/-Proto/-Host from FLASKY_PROXY_COUNT proxies (0: trust nothing).

    Delegates to Hypercorn's ProxyFixMiddleware ("legacy" X-Forwarded-* mode); the count is
    read per request so that a config set after create_app() still applies.
    """

    def __init__(self, app: Quart, asgi_app: Any) -> None:
        self.app = app
        self.asgi_app = asgi_app
        self._fixers: dict[int, ProxyFixMiddleware] = {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        hops = int(self.app.config["FLASKY_PROXY_COUNT"] or 0)
        if hops <= 0 or scope["type"] not in ("http", "websocket"):
            await self.asgi_app(scope, receive, send)
            return
        fixer = self._fixers.get(hops)
        if fixer is None:
            fixer = self._fixers[hops] = ProxyFixMiddleware(self.asgi_app, "legacy", hops)
        await fixer(scope, receive, send)


async def redirect_to_https() -> Response | None:
    """With SSL_REDIRECT on, a plain-HTTP request is answered with a redirect to HTTPS."""
    if current_app.config["SSL_REDIRECT"] and not request.is_secure:
        # The configured address, never the Host header the client sent.
        base = current_app.config.get("FLASKY_BASE_URL")
        if base and base.startswith("https://"):
            secure_url = base + request.full_path.rstrip("?")
        else:
            secure_url = "https://" + request.url.split("://", 1)[1]
        # 308 keeps the method and body of a POST; GET and HEAD get the classic 301.
        code = 301 if request.method in ("GET", "HEAD") else 308
        return redirect(secure_url, code)
    return None
