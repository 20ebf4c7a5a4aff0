"""The OpenAPI description of /users/<id> and a user's lists of posts."""

from __future__ import annotations

from typing import Any

from flasky.api.openapi.common import PAGE_PARAMETER, id_parameter, json_response, operation, url
from flasky.api.openapi.posts import POST_PAGE

SCHEMAS: dict[str, Any] = {
    "User": {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "url",
            "username",
            "member_since",
            "last_seen",
            "posts_url",
            "followed_posts_url",
            "post_count",
        ],
        "properties": {
            "url": url("This user."),
            "username": {"type": "string"},
            "member_since": {"type": "string", "format": "date-time"},
            "last_seen": {"type": "string", "format": "date-time"},
            "posts_url": url("The user's posts."),
            "followed_posts_url": url("Posts of the people the user follows (their timeline)."),
            "post_count": {"type": "integer", "minimum": 0},
        },
    },
}

USER_ID = id_parameter("user")

PATHS: dict[str, Any] = {
    "/users/{id}": {
        "get": operation(
            "get_user",
            "A user",
            {"200": json_response("User", "The user.")},
            (404,),
            parameters=[USER_ID],
        ),
    },
    "/users/{id}/posts/": {
        "get": operation(
            "get_user_posts",
            "A user's posts",
            POST_PAGE,
            (404,),
            parameters=[USER_ID, PAGE_PARAMETER],
        ),
    },
    "/users/{id}/timeline/": {
        "get": operation(
            "get_user_followed_posts",
            "Posts of the people a user follows, themself included",
            POST_PAGE,
            (404,),
            parameters=[USER_ID, PAGE_PARAMETER],
        ),
    },
}
