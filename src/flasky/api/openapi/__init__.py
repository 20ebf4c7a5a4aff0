"""The OpenAPI 3.1 description of /api/v1, maintained by hand, one module per resource
beside the views it describes (a new endpoint adds its schemas and paths to its
resource's module, or a new module listed in RESOURCES).

By hand rather than generated (quart-schema): the book's JSON shapes and error bodies are
fixed, and a generator would bring its own validation errors and models in parallel to
the models' from_json and the API's representations. What keeps this document true is
the test suite: the API tests validate real responses against these schemas and CI runs
schemathesis against a live server (tests/test_api_schemathesis.py).
"""

from __future__ import annotations

from typing import Any

from quart import current_app

from flasky.api import api
from flasky.api.openapi import comments, live, posts, search, tokens, users
from flasky.api.openapi.common import ERROR_RESPONSES, ERROR_SCHEMA, error_response
from flasky.api.representations import absolute_url_for

RESOURCES = (tokens, posts, comments, users, search, live)

OPENAPI_PATH: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This description",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


def openapi_document(server_url: str, version: str = "1.0") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for resource in RESOURCES:
        paths.update(resource.PATHS)
        schemas.update(resource.SCHEMAS)
    paths.update(OPENAPI_PATH)
    schemas["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Flasky API",
            "version": version,
            "description": "The REST API of Flasky (Flask Web Development, chapter 14). "
            "Every operation needs authentication: HTTP Basic with an email and password, "
            "or with a token from POST /tokens/ as the username and an empty password, or "
            "the token as `Authorization: Bearer <token>`. Tokens can be revoked "
            '(DELETE /tokens/). Errors are JSON: {"error": ..., "message": ...}.',
        },
        "servers": [{"url": server_url}],
        "security": [{"basicAuth": []}, {"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "basicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "email:password, or token: (a token from /tokens/ as the "
                    "username and an empty password).",
                },
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from /tokens/.",
                },
            },
            "schemas": schemas,
            "responses": {
                name: error_response(description, status)
                for status, (name, description) in ERROR_RESPONSES.items()
            },
        },
    }


@api.route("/openapi.json")
async def openapi() -> Any:
    server_url = absolute_url_for("api.openapi").rsplit("/", 1)[0]
    return openapi_document(server_url, current_app.config.get("FLASKY_API_VERSION", "1.0"))
