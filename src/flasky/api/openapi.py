"""The OpenAPI 3.1 description of /api/v1, maintained by hand next to the views it describes.

By hand rather than generated (quart-schema): the book's JSON shapes and error bodies are
fixed by SPEC §6, and a generator would bring its own validation errors and models in
parallel to Post.from_json/to_json. What keeps this document true is the test suite: the
API tests validate real responses against these schemas and CI runs schemathesis against a
live server (tests/test_api_schemathesis.py).
"""

from __future__ import annotations

from typing import Any

from quart import current_app

from flasky.api import api
from flasky.api.representations import absolute_url_for
from flasky.main.forms import COMMENT_MAX_LENGTH, POST_MAX_LENGTH


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _url(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "uri", "description": description}


def _nullable_url(description: str) -> dict[str, Any]:
    return {"type": ["string", "null"], "format": "uri", "description": description}


def _json(schema_name: str, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref(schema_name)}},
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


def _id_parameter(what: str) -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": {"type": "integer", "minimum": 1},
    }


def _operation(
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
            "content": {"application/json": {"schema": _ref(request_body)}},
        }
    return operation


def _new_text(kind: str, max_length: int) -> dict[str, Any]:
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
        ],
        "properties": {
            "url": _url("This post."),
            "body": {"type": "string", "description": "Markdown source."},
            "body_html": {
                "type": ["string", "null"],
                "description": "Sanitised HTML rendered from body.",
            },
            "timestamp": {"type": "string", "format": "date-time", "description": "UTC."},
            "author_url": _url("The author (a User)."),
            "comments_url": _url("The post's comments."),
            "comment_count": {"type": "integer", "minimum": 0},
        },
    },
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
            "url": _url("This user."),
            "username": {"type": "string"},
            "member_since": {"type": "string", "format": "date-time"},
            "last_seen": {"type": "string", "format": "date-time"},
            "posts_url": _url("The user's posts."),
            "followed_posts_url": _url("Posts of the people the user follows (their timeline)."),
            "post_count": {"type": "integer", "minimum": 0},
        },
    },
    "Comment": {
        "type": "object",
        "additionalProperties": False,
        "required": ["url", "post_url", "body", "body_html", "timestamp", "author_url", "disabled"],
        "properties": {
            "url": _url("This comment."),
            "post_url": _url("The post it comments on."),
            "body": {
                "type": "string",
                "description": "Markdown source; for a disabled comment, readers without the "
                "moderate permission get the notice that it was disabled instead.",
            },
            "body_html": {"type": ["string", "null"]},
            "timestamp": {"type": "string", "format": "date-time"},
            "author_url": _url("The author (a User)."),
            "disabled": {"type": "boolean", "description": "Disabled by a moderator."},
        },
    },
    "PostPage": {
        "type": "object",
        "additionalProperties": False,
        "required": ["posts", "prev", "next", "count"],
        "properties": {
            "posts": {"type": "array", "items": _ref("Post")},
            "prev": _nullable_url("The previous page, or null on the first."),
            "next": _nullable_url("The next page, or null on the last."),
            "count": {"type": "integer", "minimum": 0, "description": "Posts on all pages."},
        },
    },
    "CommentPage": {
        "type": "object",
        "additionalProperties": False,
        "required": ["comments", "prev", "next", "count"],
        "properties": {
            "comments": {"type": "array", "items": _ref("Comment")},
            "prev": _nullable_url("The previous page, or null on the first."),
            "next": _nullable_url("The next page, or null on the last."),
            "count": {"type": "integer", "minimum": 0, "description": "Comments on all pages."},
        },
    },
    "NewPost": _new_text("post", POST_MAX_LENGTH),
    "NewComment": _new_text("comment", COMMENT_MAX_LENGTH),
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
    "Error": {
        "type": "object",
        "additionalProperties": False,
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "The status's short name: 'not found'."},
            "message": {"type": "string", "description": "What went wrong."},
        },
    },
}


def _error_response(description: str, status: int) -> dict[str, Any]:
    response = _json("Error", description)
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


def _paths() -> dict[str, Any]:
    post_id = _id_parameter("post")
    user_id = _id_parameter("user")
    post_page = {"200": _json("PostPage", "A page of posts, newest first.")}
    comment_page = {"200": _json("CommentPage", "A page of comments.")}
    return {
        "/tokens/": {
            "post": _operation(
                "get_token",
                "Get an authentication token",
                {"200": _json("Token", "A new token.")},
                description="Only with an email and password: a token cannot buy a new token "
                "(401). The token works until it expires, is revoked (DELETE /tokens/), or "
                "the account's password or email changes, or its owner logs out everywhere.",
            ),
            "delete": _operation(
                "revoke_tokens",
                "Revoke tokens",
                {"204": {"description": "Revoked; the token(s) now get 401."}},
                description="Authenticated with a token (Basic token: or Bearer): revokes that "
                "token. Authenticated with an email and password: revokes every token of the "
                "account. Browser logins are not affected.",
            ),
        },
        "/posts/": {
            "get": _operation("get_posts", "All posts", post_page, parameters=[PAGE_PARAMETER]),
            "post": _operation(
                "new_post",
                "Write a post (needs the write permission)",
                {"201": _json("Post", "The new post.", headers=LOCATION_HEADER)},
                WRITES,
                request_body="NewPost",
            ),
        },
        "/posts/{id}": {
            "get": _operation(
                "get_post",
                "A post",
                {"200": _json("Post", "The post.")},
                (404,),
                parameters=[post_id],
            ),
            "put": _operation(
                "edit_post",
                "Edit a post (its author, or an administrator)",
                {"200": _json("Post", "The edited post.")},
                (*WRITES, 404),
                parameters=[post_id],
                request_body="NewPost",
            ),
        },
        "/posts/{id}/comments/": {
            "get": _operation(
                "get_post_comments",
                "A post's comments, oldest first",
                comment_page,
                (404,),
                parameters=[post_id, PAGE_PARAMETER],
            ),
            "post": _operation(
                "new_post_comment",
                "Comment on a post (needs the comment permission)",
                {"201": _json("Comment", "The new comment.", headers=LOCATION_HEADER)},
                (*WRITES, 404),
                parameters=[post_id],
                request_body="NewComment",
            ),
        },
        "/users/{id}": {
            "get": _operation(
                "get_user",
                "A user",
                {"200": _json("User", "The user.")},
                (404,),
                parameters=[user_id],
            ),
        },
        "/users/{id}/posts/": {
            "get": _operation(
                "get_user_posts",
                "A user's posts",
                post_page,
                (404,),
                parameters=[user_id, PAGE_PARAMETER],
            ),
        },
        "/users/{id}/timeline/": {
            "get": _operation(
                "get_user_followed_posts",
                "Posts of the people a user follows, themself included",
                post_page,
                (404,),
                parameters=[user_id, PAGE_PARAMETER],
            ),
        },
        "/comments/": {
            "get": _operation(
                "get_comments",
                "All comments, newest first",
                {"200": _json("CommentPage", "A page of comments.")},
                parameters=[PAGE_PARAMETER],
            ),
        },
        "/comments/{id}": {
            "get": _operation(
                "get_comment",
                "A comment",
                {"200": _json("Comment", "The comment.")},
                (404,),
                parameters=[_id_parameter("comment")],
            ),
        },
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
        "paths": _paths(),
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
            "schemas": SCHEMAS,
            "responses": {
                name: _error_response(description, status)
                for status, (name, description) in ERROR_RESPONSES.items()
            },
        },
    }


@api.route("/openapi.json")
async def openapi() -> Any:
    server_url = absolute_url_for("api.openapi").rsplit("/", 1)[0]
    return openapi_document(server_url, current_app.config.get("FLASKY_API_VERSION", "1.0"))
