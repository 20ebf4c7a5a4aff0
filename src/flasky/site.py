"""The site's public address, FLASKY_BASE_URL: every absolute URL (links in mail, the API's
URLs, redirects to HTTPS) is built from it, never from the request's Host header, which
the client chooses. A password-reset request sent with `Host: evil.example` would
otherwise mail the victim a link to evil.example, carrying a valid token.

In production, requests for any other host than the configured one (plus the aliases in
FLASKY_ALLOWED_HOSTS, for example `localhost` for health checks) are refused with 400
before any view runs. Development and testing accept any host and, without a base URL,
build links from the request as Quart does.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from quart import Quart, abort, current_app, request
from werkzeug.routing import MapAdapter

from flasky.config import ConfigError


def parse_base_url(value: str) -> SplitResult:
    """`https://blog.example.com` (a port is allowed; a path, query or fragment is not)."""
    parts = urlsplit(value.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise ConfigError(
            f"FLASKY_BASE_URL {value!r} is not a site address: write it as "
            "https://host or https://host:port, e.g. https://blog.example.com."
        )
    return parts


def allowed_hosts(config: dict) -> frozenset[str]:
    """Host header values accepted: the base URL's host and FLASKY_ALLOWED_HOSTS, lower-cased.
    An entry without a port accepts that host on any port."""
    hosts = {h.strip().lower() for h in (config.get("FLASKY_ALLOWED_HOSTS") or "").split(",")}
    base = config.get("FLASKY_BASE_URL")
    if base:
        hosts.add(urlsplit(base).netloc.lower())
    hosts.discard("")
    return frozenset(hosts)


def host_is_allowed(host: str, allowed: frozenset[str]) -> bool:
    host = host.lower()
    if host in allowed:
        return True
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in allowed


async def refuse_unknown_host() -> None:
    """In production, 400 for a Host header that is not the site's (see the module doc)."""
    if not current_app.config.get("FLASKY_HOST_CHECK"):
        return
    allowed = current_app.extensions.get("allowed_hosts")
    if allowed is None:
        allowed = current_app.extensions["allowed_hosts"] = allowed_hosts(current_app.config)
    if not host_is_allowed(request.host, allowed):
        abort(400, "This site does not answer for that host name.")


def base_url_adapter(app: Quart, adapter: MapAdapter | None) -> MapAdapter | None:
    """The URL adapter with the configured scheme and host in place of the request's."""
    base = app.config.get("FLASKY_BASE_URL")
    if not base:
        return adapter
    parts = urlsplit(base)
    if adapter is None:
        return app.url_map.bind(parts.netloc, url_scheme=parts.scheme)
    adapter.url_scheme = parts.scheme
    adapter.server_name = parts.netloc
    adapter.subdomain = ""
    return adapter


def absolute_url(path: str) -> str:
    """`path` (starting with /) on the site's address; the request's own without one."""
    base = current_app.config.get("FLASKY_BASE_URL")
    if base:
        return base.rstrip("/") + path
    return request.host_url.rstrip("/") + path


def init_app(app: Quart) -> None:
    build_adapter = app.create_url_adapter

    def create_url_adapter(request: object) -> MapAdapter | None:
        return base_url_adapter(app, build_adapter(request))  # type: ignore[arg-type]

    # Quart builds one adapter per request (and one outside requests, from SERVER_NAME);
    # url_for(_external=True) takes scheme and host from it.
    app.create_url_adapter = create_url_adapter  # type: ignore[method-assign]
