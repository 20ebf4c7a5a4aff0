"""Jinja setup shared by every page: filters for times and the pagination macro's helpers."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any

import jinja2
from markupsafe import Markup
from quart import Quart, current_app
from quart.templating import Environment

from flasky.compat.quart_templating import FLASK_DEFAULT_CONTEXT_PROCESSOR, current_url_adapter
from flasky.memo import BoundedTable
from flasky.models.post import reading_time
from flasky.models.role import Permission
from flasky.queries.pagination import page_numbers


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


class MemoizedUrls:
    """Quart's `url_for`, remembering the URLs it has built.

    A list builds the same few kinds of link for every row (author, permalink, comments;
    three absolute URLs per post in the API); werkzeug's router rebuilds each from its
    rule every time, ~4 µs a call, 57 calls on the home page and 60 in the API's post
    list. Within a request a URL depends only on the endpoint and values plus, for an
    absolute URL, the scheme and host the request came in on, and the mount point
    (script root) — together, the key. Anything else goes to Quart's `url_for`
    unchanged: `_anchor`/`_method`/`_scheme`, blueprint-relative endpoints, unhashable
    values, use outside a request, and every call once the app has URL-default
    functions (they could make a URL depend on more of the request). The table is
    cleared when full, so odd Host headers cannot grow it without bound.
    """

    def __init__(self, app: Quart, max_entries: int = 8192) -> None:
        self.app = app
        self.build: Callable[..., str] = app.url_for
        self.urls: BoundedTable[str] = BoundedTable(max_entries)

    def __call__(self, endpoint: str, _external: bool = False, **values: Any) -> str:
        adapter = current_url_adapter()
        if adapter is None:
            return self.build(endpoint, _external=_external, **values)
        # The key first: a hit (most calls) needs no other check, as only URLs that
        # passed the checks below are ever stored.
        if _external:
            key: tuple = (adapter.url_scheme, adapter.server_name, adapter.script_name, endpoint)
        else:
            key = (adapter.script_name, endpoint)
        key += tuple(values.items())
        try:
            return self.urls[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value, say a list for a repeated query argument
            return self.build(endpoint, _external=_external, **values)
        if endpoint == "static" or endpoint.endswith(".static"):
            # The file's content version in its URL: the URL can then be cached for good.
            from flasky.caching import versioned_static_values

            values = versioned_static_values(endpoint, values)
        url = self.build(endpoint, _external=_external, **values)
        if not (
            endpoint.startswith(".")
            or self.app.url_default_functions
            or any(name.startswith("_") for name in values)
        ):
            self.urls.store(key, url)
        return url


_KEYWORDS = object()


class CachedFragments:
    """Templates' `cached_fragment(template, macro, *args, **kwargs)`: a macro's HTML for
    these arguments, rendered once and then looked up.

    A post page shows the same page of comments to every reader, and each row cost a
    macro call, two links, the avatar, the time and a dozen escapes: ~40 % of the post
    page's render in the benchmark's profile. A macro fit for this reads only its
    arguments (immutable records and flags for what differs per viewer), `url_for` and
    `avatar`; its HTML is then a function of those arguments plus the mount point and the
    avatar mode, which together are the key. The macro runs in the template's module,
    outside any request's template context, so `current_user` and the CSRF token are not
    even there to leak into a shared row (tests/test_templating.py checks what each such
    template reads).

    Whole lists are shared as well as their rows (a list's macro asks for each row
    here): one lookup per list instead of one per row, while a list that changed by one
    item renders one row. A list argument is keyed by its items, as a tuple; other
    unhashable arguments render uncached. Bounded by the characters it holds: cleared
    when over budget.
    """

    def __init__(self, app: Quart, max_chars: int = 4_000_000) -> None:
        self.app = app
        self.html: BoundedTable[Markup] = BoundedTable(max_chars)

    def __call__(self, template: str, macro: str, *args: Any, **kwargs: Any) -> Markup:
        adapter = current_url_adapter()
        env = self.app.jinja_env
        key = (
            None if adapter is None else adapter.script_name,
            self.app.config["FLASKY_AVATARS"],
            # Where templates reload when edited (development), the edited one is a new key.
            env.get_template(template) if env.auto_reload else template,
            macro,
            *[tuple(arg) if type(arg) is list else arg for arg in args],
        )
        if kwargs:  # behind a marker no positional argument can equal
            key += (_KEYWORDS, *kwargs.items())
        try:
            return self.html[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable argument
            return self.render(template, macro, args, kwargs)
        html = self.render(template, macro, args, kwargs)
        return self.html.store(key, html, weight=len(html))

    def render(self, template: str, macro: str, args: tuple, kwargs: dict | None = None) -> Markup:
        module = self.app.jinja_env.get_template(template).module
        return Markup(getattr(module, macro)(*args, **(kwargs or {})))


def url_for(endpoint: str, **values: Any) -> str:
    """The current app's memoized `url_for` (see MemoizedUrls), for Python code."""
    return current_app.extensions["urls"](endpoint, **values)


def run_context_processors_inline(app: Quart) -> None:
    """Let the template context processors run on the event loop, not in threads.

    Quart runs a synchronous context processor through `run_sync`, a thread-pool round
    trip per processor per render: quart-auth's and quart-wtf's are synchronous, and
    every Quart blueprint carries Flask's default processor (Quart's Blueprint inherits
    Flask's `Scaffold`), which reads Flask's request context — never set under Quart —
    and returns nothing. Three hops cost ~0.15 ms of the home page's ~2.5 ms. Flask's is
    dropped; the others only read the request's context, so they are called directly.
    Call once every blueprint is registered (registering copies the lists).
    """
    for name, processors in app.template_context_processors.items():
        kept = [
            _on_the_loop(processor)
            for processor in processors
            if processor is not FLASK_DEFAULT_CONTEXT_PROCESSOR
        ]
        app.template_context_processors[name] = kept


def _on_the_loop(processor: Callable[[], Any]) -> Callable[[], Any]:
    if inspect.iscoroutinefunction(processor):
        return processor

    async def call() -> Any:
        return processor()

    return call


def init_app(app: Quart) -> None:
    # Must be chosen before anything touches app.jinja_env (a cached property).
    if "jinja_env" in app.__dict__:
        raise RuntimeError("templating.init_app must run before app.jinja_env is used")
    app.jinja_environment = SyncEnvironment  # type: ignore[assignment]
    urls = app.extensions["urls"] = MemoizedUrls(app)
    app.jinja_env.globals["url_for"] = urls
    app.jinja_env.globals["cached_fragment"] = CachedFragments(app)
    # For macros imported without the page's context (loaded once, not per render).
    app.jinja_env.globals["Permission"] = Permission
    app.jinja_env.globals["page_numbers"] = page_numbers
    app.jinja_env.filters["isoutc"] = isoformat_utc
    app.jinja_env.filters["time_ago"] = time_ago
    app.jinja_env.filters["reading_time"] = reading_time
    app.jinja_env.filters["readable_utc"] = readable_utc
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
