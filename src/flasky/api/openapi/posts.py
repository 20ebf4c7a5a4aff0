"""The OpenAPI description of /posts/."""

from __future__ import annotations

from typing import Any

from flasky.api.openapi.common import (
    LOCATION_HEADER,
    PAGE_PARAMETER,
    WRITES,
    id_parameter,
    json_response,
    new_text,
    operation,
    page_schema,
    url,
)
from flasky.models.post import POST_MAX_LENGTH

SCHEMAS: dict[str, Any] = {
    "Post": {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "url",
            "body",
            "body_html",
            "timestamp",
            "author_url",
            "comments_url",
            "comment_count",
            "word_count",
        ],
        "properties": {
            "url": url("This post."),
            "body": {"type": "string", "description": "Markdown source."},
            "body_html": {
                "type": ["string", "null"],
                "description": "Sanitised HTML rendered from body.",
            },
            "timestamp": {"type": "string", "format": "date-time", "description": "UTC."},
            "author_url": url("The author (a User)."),
            "comments_url": url("The post's comments."),
            "comment_count": {"type": "integer", "minimum": 0},
            "word_count": {
                "type": "integer",
                "minimum": 0,
                "description": "Words of the rendered text (the site shows a reading time "
                "of one minute per 200 words, at least one).",
            },
        },
    },
    "PostPage": page_schema("posts", "Post", "Posts"),
    "NewPost": new_text("post", POST_MAX_LENGTH),
}

POST_ID = id_parameter("post")
POST_PAGE = {"200": json_response("PostPage", "A page of posts, newest first.")}

PATHS: dict[str, Any] = {
    "/posts/": {
        "get": operation("get_posts", "All posts", POST_PAGE, parameters=[PAGE_PARAMETER]),
        "post": operation(
            "new_post",
            "Write a post (needs the write permission)",
            {"201": json_response("Post", "The new post.", headers=LOCATION_HEADER)},
            WRITES,
            request_body="NewPost",
        ),
    },
    "/posts/{id}": {
        "get": operation(
            "get_post",
            "A post",
            {"200": json_response("Post", "The post.")},
            (404,),
            parameters=[POST_ID],
        ),
        "put": operation(
            "edit_post",
            "Edit a post (its author, or an administrator)",
            {"200": json_response("Post", "The edited post.")},
            (*WRITES, 404),
            parameters=[POST_ID],
            request_body="NewPost",
        ),
        "delete": operation(
            "delete_post",
            "Delete a post and its comments (its author, a moderator or an administrator)",
            {"204": {"description": "Deleted."}},
            (404,),
            parameters=[POST_ID],
        ),
    },
}
