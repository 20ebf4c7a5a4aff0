"""Private messages, notifications and the live event stream, for API clients: the same
rows and the same stream as the pages, authenticated like every API call."""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import BadRequest, Forbidden, NotFound

from flasky.api import api
from flasky.api.authentication import api_user
from flasky.api.inputs import build_from_json, json_body
from flasky.api.representations import absolute_url_for, page_json
from flasky.api.users import get_user_or_404
from flasky.db import get_session
from flasky.live import record
from flasky.live.stream import event_stream
from flasky.models import Message
from flasky.queries import messages, notifications
from flasky.queries.messages import MessageItem
from flasky.queries.notifications import NotificationItem
from flasky.queries.pagination import per_page, requested_page


def message_json(
    message: MessageItem | Message, *, sender_id: int, recipient_id: int, unread: bool
) -> dict[str, Any]:
    return {
        "url": absolute_url_for("api.get_message", id=message.id),
        "sender_url": absolute_url_for("api.get_user", id=sender_id),
        "recipient_url": absolute_url_for("api.get_user", id=recipient_id),
        "body": message.body,
        "timestamp": message.timestamp.isoformat(),
        "unread": unread,
    }


def notification_json(item: NotificationItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "text": item.text,
        "url": absolute_url_for_path(item.url),
        "timestamp": item.timestamp.isoformat(),
        "unread": item.unread,
    }


def absolute_url_for_path(path: str | None) -> str | None:
    """The site's own page a notification points at, as an absolute URL."""
    if not path:
        return None
    return absolute_url_for("main.index").rstrip("/") + path


@api.route("/messages/")
async def get_messages() -> Any:
    """Messages received, newest first (reading them here leaves them unread on the site)."""
    me = api_user()
    page = await messages.inbox_page(
        get_session(),
        me.id,
        me.messages_read_id,
        page=requested_page(),
        per_page=per_page("FLASKY_MESSAGES_PER_PAGE"),
    )
    items = [
        message_json(m, sender_id=m.other.id, recipient_id=me.id, unread=m.unread)
        for m in page.items
    ]
    return page_json(page, "messages", items, "api.get_messages")


@api.route("/users/<int:id>/messages/", methods=["POST"])
async def new_message(id: int) -> Any:
    me = api_user()
    recipient = await get_user_or_404(id)
    message = await build_from_json(Message.from_json, await json_body())
    if recipient.id == me.id:
        raise BadRequest("You cannot send a message to yourself.")
    session = get_session()
    if await messages.blocks(session, recipient.id, me.id):
        raise Forbidden(f"{recipient.username} does not accept messages from you.")
    message.sender_id, message.recipient_id = me.id, recipient.id
    session.add(message)
    await record.message(session, message, me, recipient)
    await session.commit()
    body = message_json(message, sender_id=me.id, recipient_id=recipient.id, unread=True)
    return body, 201, {"Location": body["url"]}


@api.route("/messages/<int:id>")
async def get_message(id: int) -> Any:
    """A message the user sent or received (anyone else's is 404, as if it did not exist)."""
    me = api_user()
    message = await get_session().get(Message, id)
    if message is None or me.id not in (message.sender_id, message.recipient_id):
        raise NotFound("Message not found")
    unread = message.recipient_id == me.id and message.id > me.messages_read_id
    return message_json(
        message, sender_id=message.sender_id, recipient_id=message.recipient_id, unread=unread
    )


@api.route("/notifications/")
async def get_notifications() -> Any:
    me = api_user()
    page = await notifications.notifications_page(
        get_session(),
        me.id,
        me.notifications_read_id,
        page=requested_page(),
        per_page=per_page("FLASKY_NOTIFICATIONS_PER_PAGE"),
    )
    items = [notification_json(item) for item in page.items]
    return page_json(page, "notifications", items, "api.get_notifications")


@api.route("/events")
async def get_events() -> Any:
    """The same text/event-stream as /events, for the authenticated user."""
    return await event_stream(get_session(), api_user().id)
