"""The OpenAPI description of /search/posts and /search/users."""

from __future__ import annotations

from typing import Any

from flasky.api.openapi.common import PAGE_PARAMETER, json_response, operation, page_schema
from flasky.api.openapi.posts import SCHEMAS as POST_SCHEMAS

_POST = POST_SCHEMAS["Post"]
_FOUND_POSTS = page_schema("posts", "FoundPost", "Posts found")
_FOUND_POSTS["properties"]["count"]["description"] = (
    "Posts found on all pages, at most the server's limit (FLASKY_SEARCH_MAX_RESULTS, 1000 "
    "by default): a search ranks and lists the newest matches up to it."
)

SCHEMAS: dict[str, Any] = {
    "FoundPost": {
        **_POST,
        "required": [*_POST["required"], "snippet"],
        "properties": {
            **_POST["properties"],
            "snippet": {
                "type": "string",
                "description": "HTML: a short extract of the post's text, escaped, with the "
                "matched words in <mark> elements.",
            },
        },
    },
    "FoundPostPage": _FOUND_POSTS,
    "UserPage": page_schema("users", "User", "Users found"),
}

SEARCH_PARAMETER = {
    "name": "q",
    "in": "query",
    "required": False,
    "description": 'What to find: words (all must match), "an exact phrase", -excluded, '
    "and OR between alternatives; English stemming, accents and case ignored. Any text is "
    "accepted; one without a word to look for finds nothing.",
    "schema": {"type": "string"},
}

PATHS: dict[str, Any] = {
    "/search/posts": {
        "get": operation(
            "search_posts",
            "Posts matching a query, most relevant first, then newest",
            {"200": json_response("FoundPostPage", "A page of posts found.")},
            parameters=[SEARCH_PARAMETER, PAGE_PARAMETER],
        ),
    },
    "/search/users": {
        "get": operation(
            "search_users",
            "Users whose username, name or location match a query (never their email)",
            {"200": json_response("UserPage", "A page of users found.")},
            parameters=[SEARCH_PARAMETER, PAGE_PARAMETER],
        ),
    },
}
