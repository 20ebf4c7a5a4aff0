"""The life of a request: every app-wide hook and ASGI middleware of Flasky, in order.

create_app() calls install(app), and no other module registers an app-wide hook: read the
lists below top to bottom to follow a request, and add a new hook where it belongs in
them. Hooks that extensions register themselves (quart-auth, quart-wtf's CSRF check, the
rate limiter) are taken back from the extension and placed here like the others.

Within a blueprint, its own hooks run after the app-wide ones: the API authenticates
each request (api/authentication.py) and renders its errors as JSON (api/errors.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from quart import Quart
from quart_auth import Unauthorized
from quart_wtf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from flasky import (
    caching,
    db,
    email,
    errors,
    gcfreeze,
    hardening,
    headers,
    health,
    live,
    login,
    proxies,
    ratelimit,
    schema,
    site,
    workers,
)
from flasky.auth.views import record_visit_and_gate_unconfirmed
from flasky.disconnects import FinishAfterDisconnect
from flasky.memo import BoundedTable

Hook = Callable[..., Any]
Middleware = Callable[[Quart, Any], Any]

# The one CSRF checker; the API blueprint is exempted from it where it is registered.
csrf = CSRFProtect()


def install(app: Quart) -> None:
    # Extensions register their own hooks when initialised: take them back to place them.
    auth_cookie = hooks_registered_by(app, login.init_app)  # quart-auth
    csrf_check = hooks_registered_by(app, csrf.init_app)
    rate_limits = hooks_registered_by(app, ratelimit.init_app)

    # ASGI middleware, outermost first: what a connection passes through before Quart.
    middleware: list[Middleware] = [
        # The client's address and scheme as the trusted proxies (FLASKY_PROXY_COUNT) saw
        # them: the HTTPS redirect, HSTS and rate limits below rely on them.
        proxies.ForwardedHeaders,
        # A client that disconnects does not cancel its request inside a database call;
        # an event stream (no database work while streaming) ends when its client leaves.
        lambda app, inner: FinishAfterDisconnect(inner, streaming_paths=live.STREAM_PATHS),
    ]

    # Once per worker process, when it starts serving.
    before_serving: list[Hook] = [
        db.start_engine,  # the engine and its connection pool
        gcfreeze.freeze_at_startup,  # production: what the loaded app holds leaves the GC
        *rate_limits.before_serving,  # the limits, read from the config as it is now
        workers.stop_gracefully_on_sigterm,  # SIGTERM in a worker stops the whole server
        schema.check_at_startup,  # is the database's schema behind the code's migrations?
        live.start,  # this worker hears of new events (LISTEN, pub/sub or polling)
    ]

    # Each request, in order; the first hook to return a response ends the request there.
    before_request: list[Hook] = [
        site.refuse_unknown_host,  # production: 400 unless the Host is the site's own
        health.answer_health_checks,  # /healthz: no login, redirect or rate limit
        schema.refuse_while_schema_behind,  # 503 until `flasky deploy` has run
        proxies.redirect_to_https,  # SSL_REDIRECT: plain HTTP goes to HTTPS
        login.load_user_for_request,  # who is asking, from the login cookie
        *csrf_check.before_request,  # a form POST without a valid CSRF token is 400
        *rate_limits.before_request,  # 429 for a client over a limit
        hardening.refuse_json_for_forms,  # the pages take form data only
        hardening.refuse_nul_characters,  # no NUL in a URL or form (PostgreSQL text)
        hardening.refuse_unparsable_credentials,  # API: a malformed Authorization is 401
        record_visit_and_gate_unconfirmed,  # last_seen; unconfirmed users to /auth/unconfirmed
        # ... then the blueprint's own hooks (the API's authentication), then the view.
    ]

    # Template context, for every render (later entries win on a shared name).
    context_processors: list[Hook] = [
        *auth_cookie.context_processors,  # quart-auth's `current_user`, replaced next
        login.inject_user,  # the loaded user and Permission
        *csrf_check.context_processors,
    ]

    # Each response, in the order they run (Quart runs these lists last-registered first).
    after_request: list[Hook] = [
        *rate_limits.after_request,  # wrong API passwords counted against the address
        headers.add_security_headers,  # CSP, nosniff, frame and referrer policies, HSTS
        caching.set_cache_headers,  # personal: private, no-store; static: a year, versioned
        *auth_cookie.after_request,  # the login cookie set, refreshed or cleared
    ]

    # When the request's app context ends, whatever happened.
    teardown_appcontext: list[Hook] = [
        db.close_session,  # rollback on error, close; a dead connection is discarded
    ]

    # When a hook or view raises (the most specific class wins, not the order).
    error_handlers: dict[type[BaseException] | int, Hook] = {
        Unauthorized: login.redirect_to_login,  # pages: to the login form; API: 401 JSON
        CSRFError: errors.csrf_error,  # 400 with a message
        **rate_limits.error_handlers,  # 429 with Retry-After
        HTTPException: errors.http_error,  # 4xx/5xx as an HTML page or JSON
        Exception: errors.unhandled_error,  # 503 when the database is out of reach, else 500
    }

    # Once per worker process, when it stops serving.
    after_serving: list[Hook] = [
        schema.stop_checking,
        live.stop,  # open event streams end; their browsers reconnect elsewhere
        db.dispose_engine,
        email.flush_queued_mail,  # queued mail gets MAIL_SHUTDOWN_TIMEOUT to go out
        *rate_limits.after_serving,
    ]

    app.extensions["pipeline"] = {
        "before_serving": before_serving,
        "before_request": before_request,
        "after_request": after_request,
        "teardown_appcontext": teardown_appcontext,
        "after_serving": after_serving,
    }
    for wrap in reversed(middleware):
        app.asgi_app = wrap(app, app.asgi_app)  # type: ignore[method-assign]
    app.before_serving_funcs.extend(before_serving)
    app.before_request_funcs.setdefault(None, []).extend(before_request)
    app.template_context_processors.setdefault(None, []).extend(context_processors)
    app.after_request_funcs.setdefault(None, []).extend(reversed(after_request))
    app.teardown_appcontext_funcs.extend(teardown_appcontext)
    for error, handler in error_handlers.items():
        app.register_error_handler(error, handler)
    app.after_serving_funcs.extend(after_serving)
    remember_async_forms(app)


def remember_async_forms(app: Quart, max_entries: int = 1024) -> None:
    """Quart asks of every hook, view and handler, on every request, whether it is a
    coroutine function (`ensure_async`: inspect.iscoroutinefunction, ~24 times a page),
    and wraps it when it is not. The answer never changes for a function: remember it.
    The wrapper of a synchronous function copies the request's context when it is
    called, not when it is made, so reusing it is safe. Bounded: functions made per
    request (after_this_request callbacks) cannot grow the table without limit.
    """
    ensure_async = app.ensure_async
    known: BoundedTable[Callable[..., Any]] = BoundedTable(max_entries)

    def remembered(func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return known[func]
        except KeyError:
            pass
        except TypeError:  # unhashable callable
            return ensure_async(func)
        return known.store(func, ensure_async(func))

    app.ensure_async = remembered  # type: ignore[method-assign]


@dataclass
class Hooks:
    """The app-wide hooks one initialiser registered, in the order they run."""

    before_serving: list[Hook] = field(default_factory=list)
    before_request: list[Hook] = field(default_factory=list)
    context_processors: list[Hook] = field(default_factory=list)
    after_request: list[Hook] = field(default_factory=list)
    error_handlers: dict[type[BaseException] | int, Hook] = field(default_factory=dict)
    after_serving: list[Hook] = field(default_factory=list)


def _hook_lists(app: Quart) -> dict[str, list[Hook]]:
    return {
        "before_serving": app.before_serving_funcs,
        "before_request": app.before_request_funcs.setdefault(None, []),
        "context_processors": app.template_context_processors.setdefault(None, []),
        "after_request": app.after_request_funcs.setdefault(None, []),
        "after_serving": app.after_serving_funcs,
    }


def hooks_registered_by(app: Quart, init: Callable[[Quart], Any]) -> Hooks:
    """Run an extension's initialiser and take back the app-wide hooks it registered."""
    lists = _hook_lists(app)
    before = {name: list(hooks) for name, hooks in lists.items()}
    handlers = app.error_handler_spec[None]
    handlers_before = {code: dict(by_class) for code, by_class in handlers.items()}
    init(app)
    taken = Hooks()
    for name, hooks in lists.items():
        added = [hook for hook in hooks if not any(hook is old for old in before[name])]
        hooks[:] = before[name]
        # after_request lists run last-registered first: keep them in running order here.
        setattr(taken, name, added[::-1] if name == "after_request" else added)
    for code, by_class in handlers.items():
        for error, handler in list(by_class.items()):
            if handlers_before.get(code, {}).get(error) is not handler:
                taken.error_handlers[error] = handler
                del by_class[error]
    return taken
