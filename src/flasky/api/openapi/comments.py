"""The OpenAPI description of /comments/ and /posts/<id>/comments/."""

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
from flasky.api.openapi.posts import POST_ID
from flasky.models.comment import COMMENT_MAX_LENGTH

SCHEMAS: dict[str, Any] = {
    "Comment": {
        "type": "object",
        "additionalProperties": False,
        "required": ["url", "post_url", "body", "body_html", "timestamp", "author_url", "disabled"],
        "properties": {
            "url": url("This comment."),
            "post_url": url("The post it comments on."),
            "body": {
                "type": "string",
                "description": "Markdown source; for a disabled comment, readers without the "
                "moderate permission get the notice that it was disabled instead.",
            },
            "body_html": {"type": ["string", "null"]},
            "timestamp": {"type": "string", "format": "date-time"},
            "author_url": url("The author (a User)."),
            "disabled": {"type": "boolean", "description": "Disabled by a moderator."},
        },
    },
    "CommentPage": page_schema("comments", "Comment", "Comments"),
    "NewComment": new_text("comment", COMMENT_MAX_LENGTH),
}

PATHS: dict[str, Any] = {
    "/posts/{id}/comments/": {
        "get": operation(
            "get_post_comments",
            "A post's comments, oldest first",
            {"200": json_response("CommentPage", "A page of comments.")},
            (404,),
            parameters=[POST_ID, PAGE_PARAMETER],
        ),
        "post": operation(
            "new_post_comment",
            "Comment on a post (needs the comment permission)",
            {"201": json_response("Comment", "The new comment.", headers=LOCATION_HEADER)},
            (*WRITES, 404),
            parameters=[POST_ID],
            request_body="NewComment",
        ),
    },
    "/comments/": {
        "get": operation(
            "get_comments",
            "All comments, newest first",
            {"200": json_response("CommentPage", "A page of comments.")},
            parameters=[PAGE_PARAMETER],
        ),
    },
    "/comments/{id}": {
        "get": operation(
            "get_comment",
            "A comment",
            {"200": json_response("Comment", "The comment.")},
            (404,),
            parameters=[id_parameter("comment")],
        ),
        "delete": operation(
            "delete_comment",
            "Delete a comment (its author, a moderator or an administrator)",
            {"204": {"description": "Deleted."}},
            (404,),
            parameters=[id_parameter("comment")],
        ),
    },
}
