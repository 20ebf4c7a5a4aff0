"""Every error under /api/v1 as `{"error": <short name>, "message": <why>}` (SPEC §6)."""

from __future__ import annotations

from quart import Response, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from flasky.api import api
from flasky.errors import SHORT_NAMES
from flasky.models import ValidationError

# RFC 9110 says a 401 carries a challenge; Flask-HTTPAuth (the book's API) sends this one too.
# A browser opening the API directly will show its login box, which is what Basic auth means.
# Bearer is offered too: a token may also be sent as `Authorization: Bearer <token>`.
WWW_AUTHENTICATE = 'Basic realm="Authentication Required", Bearer realm="Authentication Required"'


def error_name(status: int) -> str:
    return SHORT_NAMES.get(status) or HTTP_STATUS_CODES.get(status, "error").lower()


def api_error(status: int, message: str) -> Response:
    response = jsonify({"error": error_name(status), "message": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


def bad_request(message: str) -> Response:
    return api_error(400, message)


def unauthorized(message: str = "Invalid credentials") -> Response:
    return api_error(401, message)


def forbidden(message: str) -> Response:
    return api_error(403, message)


@api.errorhandler(ValidationError)
async def _validation_error(error: ValidationError) -> Response:
    return bad_request(str(error.args[0]) if error.args else "invalid input")


async def _http_error(error: HTTPException) -> Response | HTTPException:
    status = error.code or 500
    if status < 400:  # a routing redirect (missing trailing slash) is not an error
        return error
    response = api_error(status, error.description or error_name(status))
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


# Registered per status code as well: the app registers code-specific handlers (quart-auth's
# 401 redirect, the CSRF 400 page) that would otherwise win over a class-wide one. 429 is left
# to the rate limiter's handler, which adds Retry-After.
api.register_error_handler(HTTPException, _http_error)
for _status in (400, 401, 403, 404, 405, 413, 415):
    api.register_error_handler(_status, _http_error)
