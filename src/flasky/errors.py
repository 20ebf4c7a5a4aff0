"""Error pages: HTML for browsers, JSON for clients that accept JSON and not HTML (SPEC §5)."""

from __future__ import annotations

import logging

from quart import Response, g, jsonify, make_response, render_template, request
from quart_wtf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("flasky.errors")

SHORT_NAMES = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    413: "payload too large",
    429: "too many requests",
    500: "internal server error",
    503: "service unavailable",
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    accept = request.accept_mimetypes
    return accept.accept_json and not accept.accept_html


def json_error(status: int, message: str | None = None) -> Response:
    body: dict[str, str] = {"error": SHORT_NAMES.get(status, "error")}
    if message:
        body["message"] = message
    response = jsonify(body)
    response.status_code = status
    return response


async def error_response(status: int, message: str | None = None) -> Response:
    """One error, rendered the way the client asked for it."""
    if wants_json():
        return json_error(status, message)
    html = await render_template(
        "errors/error.html", status=status, name=SHORT_NAMES.get(status, "error"), message=message
    )
    return await make_response(html, status)


# SQLSTATEs that say the database is not there to answer, whatever the statement was:
# class 08 (connection exception), 57P01-57P05 (operator intervention: admin or crash
# shutdown, cannot connect now while the server starts or stops, database dropped, idle
# session timeout), 3D000 (the database does not exist: dropped or never created) and
# 53300 (too many connections). A wrong statement (class 42, 23, ...) stays a 500.
UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "57P0", "3D000", "53300")


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE of the error, of the driver error it wraps, or of what it was raised from
    (not of an error that was merely being handled when it happened)."""
    current: BaseException | None = error
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(code, str) and code:
            return code
        current = getattr(current, "orig", None) or current.__cause__
    return None


def is_database_unavailable(error: BaseException) -> bool:
    """Connection-level failures (server down, refused, timed out, shutting down, database
    gone), not bad SQL."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    code = sqlstate_of(error)
    if code is not None:
        return code.startswith(UNAVAILABLE_SQLSTATE_PREFIXES)
    if isinstance(error, (PoolTimeout, ConnectionError, OSError, TimeoutError)):
        return True
    if isinstance(error, DBAPIError):
        return bool(error.connection_invalidated) or isinstance(
            error.orig, (ConnectionError, OSError, TimeoutError)
        )
    return False


async def csrf_error(error: CSRFError) -> Response:
    return await error_response(
        400, "The form's CSRF token is missing or invalid; reload the page and try again."
    )


async def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    message = None if status in (403, 404) else error.description
    response = await error_response(status, message)
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


async def unhandled_error(error: Exception) -> Response:
    """503 when the database is out of reach, else 500 (logged, and mailed in production)."""
    # Render the page as for a visitor: the user row belongs to the request's session,
    # which the error may have left unusable (a failed flush, a dead connection), and
    # reading it again would raise inside this handler (a bare 500).
    from flasky.models import AnonymousUser

    g.current_user = AnonymousUser()
    if is_database_unavailable(error):
        log.error(
            "Database unavailable on %s %s: %s: %s",
            request.method,
            request.path,
            type(error).__name__,
            error,
        )
        response = await error_response(503, "The database is not answering; try again shortly.")
        response.headers["Retry-After"] = "5"
        return response
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return await error_response(500, None)
