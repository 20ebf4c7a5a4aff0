"""Jinja setup shared by every page: filters for times and the pagination macro's helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jinja2
from markupsafe import Markup
from quart import Quart
from quart.templating import Environment


def isoformat_utc(value: datetime | None) -> str:
    """An ISO 8601 UTC time that the browser's Intl API turns into local time."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def readable_utc(value: datetime | None) -> str:
    """The fallback shown without JavaScript."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M UTC")


def time_ago(value: datetime | None) -> Markup:
    """`<time>` shown as "3 minutes ago" by static/js/moment.js: the time_ago macro of
    main/_macros.html as a filter, for long lists (a macro call per row cost ~15 % of the
    home page's render in the benchmark's profile)."""
    iso = isoformat_utc(value)
    # One strftime, no escaping pass: the text is digits and separators only (3x faster).
    shown = f"{iso[:10]} {iso[11:16]} UTC" if iso else ""
    return Markup(
        f'<time class="flasky-time" datetime="{iso}" data-format="fromNow">{shown}</time>'
    )


class SyncTemplate(jinja2.Template):
    """Renders synchronously behind Quart's awaitable `render_async`.

    Quart compiles templates in Jinja's async mode, which wraps every call, attribute
    and filter in the template in an awaitable check, though no template of this app
    awaits anything: rendering is CPU work that holds the event loop either way. Plain
    rendering makes the home page's render ~25 % cheaper (the benchmark's profile);
    `render_template`, its signals and context processors stay Quart's.
    """

    async def render_async(self, *args: Any, **kwargs: Any) -> str:
        return self.render(*args, **kwargs)


class SyncEnvironment(Environment):
    """Quart's environment (its loader, globals and autoescape) without async mode."""

    template_class = SyncTemplate

    def __init__(self, app: Quart, **options: Any) -> None:
        super().__init__(app, **options)
        self.is_async = False


def init_app(app: Quart) -> None:
    # Must be chosen before anything touches app.jinja_env (a cached property).
    if "jinja_env" in app.__dict__:
        raise RuntimeError("templating.init_app must run before app.jinja_env is used")
    app.jinja_environment = SyncEnvironment  # type: ignore[assignment]
    app.jinja_env.filters["isoutc"] = isoformat_utc
    app.jinja_env.filters["time_ago"] = time_ago
    app.jinja_env.filters["readable_utc"] = readable_utc
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
