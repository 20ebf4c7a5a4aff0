"""REST API v1 (SPEC §6): HTTP Basic auth (email + password, or a token as the username),
JSON everywhere, including errors, and an OpenAPI description at /api/v1/openapi.json."""

from quart import Blueprint

api = Blueprint("api", __name__)

from flasky.api import (  # noqa: E402,F401
    authentication,
    comments,
    errors,
    live,
    openapi,
    posts,
    search,
    users,
)
