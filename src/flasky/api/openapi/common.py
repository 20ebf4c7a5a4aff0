"""Pieces every resource's part of the OpenAPI description uses: schema references,
URLs, the error responses and the shape of an operation."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def url(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "uri", "description": description}


def nullable_url(description: str) -> dict[str, Any]:
    return {"type": ["string", "null"], "format": "uri", "description": description}


def json_response(schema_name: str, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": ref(schema_name)}},
        **extra,
    }


ERROR_RESPONSES = {
    400: (
        "BadRequest",
        "A malformed request: bad JSON, a wrong type, a missing or empty body, or a NUL "
        "character anywhere in the URL.",
    ),
    401: ("Unauthorized", "No credentials, or wrong ones."),
    403: ("Forbidden", "Unconfirmed account, or not allowed to do this."),
    404: ("NotFound", "No such resource."),
    413: ("PayloadTooLarge", "The request body is larger than the server accepts."),
    415: ("UnsupportedMediaType", "The request body is not sent as application/json."),
    429: (
        "TooManyRequests",
        "Too many wrong passwords (or token requests) from this address; retry after "
        "Retry-After seconds. Only when rate limits are on (the production default).",
    ),
    500: ("InternalServerError", "An unexpected error on the server."),
    503: ("ServiceUnavailable", "The database is not answering; retry shortly."),
}
# What any authenticated operation can answer. 400: a NUL character in the URL is refused
# before routing (flasky/hardening.py); 429: wrong passwords are rate limited on every endpoint
# (flasky/ratelimit.py).
COMMON = (400, 401, 403, 429, 500, 503)
# What any operation that reads a JSON body can answer in addition.
WRITES = (400, 413, 415)

PAGE_PARAMETER = {
    "name": "page",
    "in": "query",
    "required": False,
    "description": "Page number, from 1. A page past the last one is empty.",
    "schema": {"type": "integer", "minimum": 1, "default": 1},
}


def id_parameter(what: str) -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": {"type": "integer", "minimum": 1},
    }


def operation(
    operation_id: str,
    summary: str,
    success: dict[str, dict[str, Any]],
    errors: tuple[int, ...] = (),
    *,
    parameters: list[dict[str, Any]] | None = None,
    request_body: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    responses = dict(success)
    for status in sorted({*COMMON, *errors}):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "responses": responses,
    }
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if request_body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(request_body)}},
        }
    return operation


def new_text(kind: str, max_length: int) -> dict[str, Any]:
    """The request body of a new post or comment; the same limit as the site's form."""
    return {
        "type": "object",
        "required": ["body"],
        "properties": {
            "body": {
                "type": "string",
                "minLength": 1,
                "maxLength": max_length,
                "description": f"The {kind} in Markdown. Must not be blank or contain NUL "
                "characters.",
            }
        },
    }


LOCATION_HEADER = {
    "Location": {
        "description": "The absolute URL of the new resource.",
        "schema": {"type": "string", "format": "uri"},
    }
}


def error_response(description: str, status: int) -> dict[str, Any]:
    response = json_response("Error", description)
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {
                "description": "The challenges: Basic and Bearer.",
                "schema": {"type": "string"},
            }
        }
    if status == 429:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        }
    return response


def page_schema(name: str, item_schema: str, what: str) -> dict[str, Any]:
    """A page of a list: the items under `name`, prev/next links and the total."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name, "prev", "next", "count"],
        "properties": {
            name: {"type": "array", "items": ref(item_schema)},
            "prev": nullable_url("The previous page, or null on the first."),
            "next": nullable_url("The next page, or null on the last."),
            "count": {"type": "integer", "minimum": 0, "description": f"{what} on all pages."},
        },
    }


ERROR_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "The status's short name: 'not found'."},
        "message": {"type": "string", "description": "What went wrong."},
    },
}
