"""Reading request bodies: every malformed input becomes a 4xx with a message, never a 500."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

from quart import request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from flasky.models import Comment, Message, Post, ValidationError
from flasky.models.comment import COMMENT_MAX_LENGTH
from flasky.models.message import MESSAGE_MAX_LENGTH
from flasky.models.post import POST_MAX_LENGTH

T = TypeVar("T")


async def json_body() -> Any:
    """The parsed JSON body. Reading it past MAX_CONTENT_LENGTH raises 413 (Quart)."""
    raw = await request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest('The request body is empty; send a JSON object like {"body": "..."}')
    if not request.is_json:
        raise UnsupportedMediaType("Send the request body as JSON (Content-Type: application/json)")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise BadRequest(f"The request body is not valid JSON: {error}") from error


def _check_storable(data: Any) -> None:
    # Both databases reject NUL characters and lone surrogates ("\ud800" is legal JSON);
    # refuse them here rather than let the INSERT fail.
    body = data.get("body") if isinstance(data, dict) else None
    if not isinstance(body, str):
        return
    if "\x00" in body:
        raise ValidationError("body must not contain NUL characters")
    try:
        body.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValidationError("body is not valid Unicode text") from error


def _build(from_json: Callable[[Any], T], data: Any) -> T:
    try:
        return from_json(data)
    except RecursionError as error:
        raise ValidationError("body is nested too deeply to render") from error


def _check_length(from_json: Callable[[Any], Any], data: Any) -> None:
    # The pages' forms cap bodies; without the same cap here the API stored what the site
    # refuses, and one request could cost seconds of Markdown rendering.
    limits = {
        Post.from_json: ("post", POST_MAX_LENGTH),
        Comment.from_json: ("comment", COMMENT_MAX_LENGTH),
        Message.from_json: ("message", MESSAGE_MAX_LENGTH),
    }
    kind, limit = limits.get(from_json, ("body", None))
    body = data.get("body") if isinstance(data, dict) else None
    if limit is not None and isinstance(body, str) and len(body) > limit:
        raise ValidationError(f"a {kind} is at most {limit} characters")


async def build_from_json(from_json: Callable[[Any], T], data: Any) -> T:
    """Validate with the model's from_json, which also renders the Markdown: that is CPU work
    (milliseconds per KB), so it runs in a worker thread."""
    _check_storable(data)
    _check_length(from_json, data)
    return await asyncio.to_thread(_build, from_json, data)
