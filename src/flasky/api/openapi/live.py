"""The OpenAPI description of private messages, notifications and the event stream."""

from __future__ import annotations

from typing import Any

from flasky.api.openapi.common import (
    LOCATION_HEADER,
    PAGE_PARAMETER,
    WRITES,
    id_parameter,
    json_response,
    operation,
    page_schema,
    url,
)
from flasky.api.openapi.users import USER_ID
from flasky.models.message import MESSAGE_MAX_LENGTH

SCHEMAS: dict[str, Any] = {
    "Message": {
        "type": "object",
        "additionalProperties": False,
        "required": ["url", "sender_url", "recipient_url", "body", "timestamp", "unread"],
        "properties": {
            "url": url("This message."),
            "sender_url": url("The sender (a User)."),
            "recipient_url": url("The recipient (a User)."),
            "body": {"type": "string", "description": "Plain text, not Markdown."},
            "timestamp": {"type": "string", "format": "date-time"},
            "unread": {
                "type": "boolean",
                "description": "Not yet seen in the recipient's inbox on the site.",
            },
        },
    },
    "MessagePage": page_schema("messages", "Message", "Messages"),
    "NewMessage": {
        "type": "object",
        "required": ["body"],
        "properties": {
            "body": {
                "type": "string",
                "minLength": 1,
                "maxLength": MESSAGE_MAX_LENGTH,
                "description": "Plain text. Must not be blank or contain NUL characters.",
            }
        },
    },
    "Notification": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "kind", "text", "url", "timestamp", "unread"],
        "properties": {
            "id": {"type": "integer", "minimum": 1, "description": "Also the event's id."},
            "kind": {"type": "string", "enum": ["follower", "comment", "message", "post"]},
            "text": {"type": "string"},
            "url": {"type": ["string", "null"], "format": "uri", "description": "The page."},
            "timestamp": {"type": "string", "format": "date-time"},
            "unread": {"type": "boolean"},
        },
    },
    "NotificationPage": page_schema("notifications", "Notification", "Notifications"),
}

EVENT_STREAM_DESCRIPTION = (
    "Server-Sent Events for the authenticated user, open until the client leaves: "
    "`id:` is the event's id, `event:` its kind (message, follower, comment, post, "
    "messages_read, notifications_read, resync) and `data:` a JSON object. Reconnect with "
    "the Last-Event-ID header (or ?since=<id>) to receive what was missed, oldest first "
    "(at most FLASKY_SSE_REPLAY_LIMIT events; a `resync` event says more was missed). "
    "Lines starting with ':' are heartbeats. ?post=<id> adds `post_comment` events for "
    "new comments on that post."
)

PATHS: dict[str, Any] = {
    "/messages/": {
        "get": operation(
            "get_messages",
            "Messages received, newest first",
            {"200": json_response("MessagePage", "A page of messages.")},
            parameters=[PAGE_PARAMETER],
        ),
    },
    "/users/{id}/messages/": {
        "post": operation(
            "new_message",
            "Send the user a private message",
            {"201": json_response("Message", "The message sent.", headers=LOCATION_HEADER)},
            (*WRITES, 403, 404),
            parameters=[USER_ID],
            request_body="NewMessage",
            description="403 when the user blocked the sender; 400 for a message to oneself.",
        ),
    },
    "/messages/{id}": {
        "get": operation(
            "get_message",
            "A message the user sent or received",
            {"200": json_response("Message", "The message.")},
            (404,),
            parameters=[id_parameter("message")],
        ),
    },
    "/notifications/": {
        "get": operation(
            "get_notifications",
            "Notifications, newest first",
            {"200": json_response("NotificationPage", "A page of notifications.")},
            parameters=[PAGE_PARAMETER],
        ),
    },
    "/events": {
        "get": operation(
            "get_events",
            "The live event stream (text/event-stream)",
            {
                "200": {
                    "description": "The stream.",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                }
            },
            (429,),
            parameters=[
                {
                    "name": "since",
                    "in": "query",
                    "required": False,
                    "description": "Replay the events after this id (as Last-Event-ID).",
                    "schema": {"type": "integer", "minimum": 0},
                },
                {
                    "name": "post",
                    "in": "query",
                    "required": False,
                    "description": "Also stream new comments on this post.",
                    "schema": {"type": "integer", "minimum": 1},
                },
            ],
            description=EVENT_STREAM_DESCRIPTION,
        ),
    },
}
