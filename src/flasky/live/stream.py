"""The Server-Sent Events response shared by /events (cookie) and /api/v1/events (token).

A stream is registered with the hub before the replay is read, so nothing committed in
between is missed; an id both replayed and delivered live goes out once. The replay is
bounded (FLASKY_SSE_REPLAY_LIMIT rows, FLASKY_SSE_REPLAY_HOURS hours): a client that
missed more receives a `resync` event first and should reload what it shows. The request's
database session is closed before streaming starts: an open stream holds no connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from quart import Response, current_app, request
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.db import utcnow
from flasky.errors import json_error
from flasky.live.bus import get_live
from flasky.live.hub import Delivered, Stream, StreamClosed, StreamLimit
from flasky.models import Comment, Event
from flasky.models.event import CONTROL_KINDS

# What a browser waits before reconnecting after a drop (milliseconds).
RETRY_MS = 2000


def requested_last_event_id() -> int | None:
    """The Last-Event-ID header a reconnecting EventSource sends, else `?since=` (the newest
    id when the page was rendered, so nothing between the page and the stream is lost)."""
    raw = request.headers.get("Last-Event-ID") or request.args.get("since")
    if raw is None or not raw.strip().isdigit():
        return None
    return min(int(raw.strip()), 2**62)


def requested_post_id() -> int | None:
    raw = request.args.get("post", "")
    return int(raw) if raw.isdigit() and int(raw) < 2**62 else None


async def replay(
    session: AsyncSession, user_id: int, post_id: int | None, after: int, limit: int, hours: float
) -> tuple[list[Delivered], bool]:
    """The rows after `after` this stream may see, oldest first, at most `limit`; and
    whether older ones were left out."""
    audience = Event.user_id == user_id
    if post_id is not None:
        audience = or_(audience, and_(Event.user_id.is_(None), Event.post_id == post_id))
    statement = (
        select(Event.id, Event.kind, Event.payload)
        .outerjoin(Comment, Comment.id == Event.comment_id)
        .where(
            audience,
            Event.id > after,
            Event.timestamp >= utcnow() - timedelta(hours=hours),
            Event.kind.not_in(CONTROL_KINDS),
            or_(Event.comment_id.is_(None), Comment.disabled.is_(False)),
        )
        .order_by(Event.id.desc())
        .limit(limit + 1)
    )
    rows = (await session.execute(statement)).all()
    missed_more = len(rows) > limit
    return [Delivered(*row) for row in reversed(rows[:limit])], missed_more


def format_event(item: Delivered) -> str:
    return f"id: {item.id}\nevent: {item.kind}\ndata: {item.payload}\n\n"


async def event_stream(session: AsyncSession, user_id: int) -> Response:
    config = current_app.config
    live = get_live()
    post_id = requested_post_id()
    after = requested_last_event_id()
    limit = int(config["FLASKY_MAX_STREAMS_PER_USER"])
    if live.hub.closing:
        return json_error(503, "This server is stopping; connect again.")
    try:
        stream = live.hub.open(user_id, post_id, limit=limit)
    except StreamLimit:
        return json_error(429, f"At most {limit} open event streams per user.")
    transport = live.transport
    # With Redis, the cap counts the user's streams on every worker and machine.
    if transport is not None and not await transport.acquire_stream(user_id, stream.id, limit):
        live.hub.release(stream)
        return json_error(429, f"At most {limit} open event streams per user.")
    try:
        if after is not None:
            stream.floor = after
            replayed, missed_more = await replay(
                session,
                user_id,
                post_id,
                after,
                config["FLASKY_SSE_REPLAY_LIMIT"],
                config["FLASKY_SSE_REPLAY_HOURS"],
            )
        else:
            replayed, missed_more = [], False
        # End the read transaction now: the stream must not hold a pooled connection.
        await session.commit()
    except BaseException:
        live.hub.release(stream)
        if transport is not None:
            transport.release_stream(user_id, stream.id)
        raise
    body = _body(stream, replayed, missed_more, config["FLASKY_SSE_HEARTBEAT"], live)
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache, no-store"
    # nginx passes the stream through unbuffered (it also honours this header).
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None  # type: ignore[assignment]
    return response


async def _body(
    stream: Stream, replayed: list[Delivered], missed_more: bool, heartbeat: float, live: Any
) -> AsyncIterator[bytes]:
    transport = live.transport
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        if missed_more:
            yield b"event: resync\ndata: {}\n\n"
        for item in replayed:
            if stream.first_time(item.id):
                yield format_event(item).encode()
        while True:
            try:
                item = await stream.next(heartbeat)
            except StreamClosed:
                return
            if item is None:
                # A comment line: keeps proxies and load balancers from closing a quiet stream.
                yield b": heartbeat\n\n"
                if transport is not None:
                    await transport.renew_stream(stream.user_id, stream.id)
            elif stream.first_time(item.id):
                yield format_event(item).encode()
    finally:
        live.hub.release(stream)
        if transport is not None:
            transport.release_stream(stream.user_id, stream.id)
