"""The OpenAPI description of /tokens/."""

from __future__ import annotations

from typing import Any

from flasky.api.openapi.common import json_response, operation

SCHEMAS: dict[str, Any] = {
    "Token": {
        "type": "object",
        "additionalProperties": False,
        "required": ["token", "expiration"],
        "properties": {
            "token": {
                "type": "string",
                "description": "Send it as the Basic auth username, with an empty password.",
            },
            "expiration": {"type": "integer", "description": "Seconds the token is valid for."},
        },
    },
}

PATHS: dict[str, Any] = {
    "/tokens/": {
        "post": operation(
            "get_token",
            "Get an authentication token",
            {"200": json_response("Token", "A new token.")},
            description="Only with an email and password: a token cannot buy a new token (401).",
        )
    },
}
