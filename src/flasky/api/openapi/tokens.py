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
                "description": "Send it as the Basic auth username with an empty password, "
                "or as `Authorization: Bearer <token>`.",
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
            description="Only with an email and password: a token cannot buy a new token "
            "(401). The token works until it expires, is revoked (DELETE /tokens/), or the "
            "account's password or email changes, or its owner logs out everywhere.",
        ),
        "delete": operation(
            "revoke_tokens",
            "Revoke tokens",
            {"204": {"description": "Revoked; the token(s) now get 401."}},
            description="Authenticated with a token (Basic token: or Bearer): revokes that "
            "token. Authenticated with an email and password: revokes every token of the "
            "account. Browser logins are not affected.",
        ),
    },
}
