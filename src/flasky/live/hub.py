"""This worker's open streams, and the routing of new event rows to them.

A row addressed to a user goes to that user's streams; a row about a post goes to the
streams opened on that post's page. Rows are read once per worker per batch, whatever
the number of streams, and only when some stream here wants one of them. A comment that
a moderator disabled is not delivered (the read joins the comment).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from flasky.models import Comment, Event

log = logging.getLogger("flasky.live")

# (event id, user id, post id): what a worker needs to know to decide whether to read a row.
EventRef = tuple[int, "int | None", "int | None"]


@dataclass(frozen=True, slots=True)
class Delivered:
    id: int
    kind: str
    payload: str


class StreamLimit(Exception):
    """The user already holds as many streams as allowed."""


class StreamClosed(Exception):
    """The stream was closed (logout, shutdown, a client too far behind)."""


_CLOSE = object()
# Ids a stream remembers having sent, so a row both replayed and delivered live (or seen
# by two transports) goes out once.
_REMEMBERED_IDS = 512


class Stream:
    def __init__(self, user_id: int, post_id: int | None, queue_size: int) -> None:
        self.id = uuid.uuid4().hex
        self.user_id = user_id
        self.post_id = post_id
        self.queue: asyncio.Queue[object] = asyncio.Queue(queue_size)
        self.closed_because: str | None = None
        # Ids up to this one were shown by the page or replayed: live copies are dropped.
        self.floor = 0
        self._sent: set[int] = set()
        self._sent_order: deque[int] = deque()

    def push(self, item: Delivered) -> None:
        if self.closed_because is not None or item.id <= self.floor:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            # A client this far behind reconnects and replays from its Last-Event-ID.
            self.close("overflow")

    def close(self, reason: str) -> None:
        if self.closed_because is not None:
            return
        self.closed_because = reason
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_CLOSE)

    async def next(self, quiet: float) -> Delivered | None:
        """The next row to send; None after `quiet` seconds without one; raises
        StreamClosed once the stream is closed."""
        try:
            async with asyncio.timeout(quiet):
                item = await self.queue.get()
        except TimeoutError:
            return None
        if item is _CLOSE:
            raise StreamClosed(self.closed_because)
        return item  # type: ignore[return-value]

    def first_time(self, event_id: int) -> bool:
        if event_id in self._sent:
            return False
        self._sent.add(event_id)
        self._sent_order.append(event_id)
        if len(self._sent_order) > _REMEMBERED_IDS:
            self._sent.discard(self._sent_order.popleft())
        return True


class Hub:
    def __init__(self, database: Any, queue_size: int = 256) -> None:
        self.database = database
        self.queue_size = queue_size
        self.by_user: dict[int, set[Stream]] = {}
        self.by_post: dict[int, set[Stream]] = {}
        # Set when the worker stops: no new stream opens.
        self.closing = False
        self._tasks: set[asyncio.Task] = set()

    @property
    def stream_count(self) -> int:
        return sum(len(streams) for streams in self.by_user.values())

    def open(self, user_id: int, post_id: int | None = None, *, limit: int = 5) -> Stream:
        """A new stream of user_id's (reading post_id's comments), unless they hold `limit`."""
        if self.closing:
            raise StreamLimit()
        streams = self.by_user.setdefault(user_id, set())
        if len(streams) >= limit:
            if not streams:
                del self.by_user[user_id]
            raise StreamLimit()
        stream = Stream(user_id, post_id, self.queue_size)
        streams.add(stream)
        if post_id is not None:
            self.by_post.setdefault(post_id, set()).add(stream)
        return stream

    def release(self, stream: Stream) -> None:
        for index, key in ((self.by_user, stream.user_id), (self.by_post, stream.post_id)):
            streams = index.get(key)  # type: ignore[arg-type]
            if streams is not None:
                streams.discard(stream)
                if not streams:
                    del index[key]  # type: ignore[arg-type]

    def close_all(self, reason: str) -> None:
        for streams in list(self.by_user.values()):
            for stream in list(streams):
                stream.close(reason)

    def _targets(self, user_id: int | None, post_id: int | None) -> Iterable[Stream]:
        if user_id is not None:
            return self.by_user.get(user_id, ())
        if post_id is not None:
            return self.by_post.get(post_id, ())
        return ()

    def wants(self, ref: EventRef) -> bool:
        return bool(self._targets(ref[1], ref[2]))

    def deliver_soon(self, refs: list[EventRef]) -> None:
        """Schedule deliver() (from synchronous code: a commit hook, a listener callback)."""
        task = asyncio.get_running_loop().create_task(self.deliver(refs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, refs: list[EventRef]) -> None:
        wanted = [ref[0] for ref in refs if self.wants(ref)]
        if not wanted:
            return
        try:
            rows = await self._read(wanted)
        except Exception:  # the database is down: the clients replay when they reconnect
            log.exception("Could not read events %s for delivery", wanted[:10])
            return
        for event_id, user_id, post_id, kind, payload in rows:
            item = Delivered(event_id, kind, payload)
            for stream in list(self._targets(user_id, post_id)):
                if kind == "session_ended":
                    stream.close("session ended")
                else:
                    stream.push(item)

    async def _read(self, ids: list[int]) -> list[tuple]:
        statement = (
            select(Event.id, Event.user_id, Event.post_id, Event.kind, Event.payload)
            .outerjoin(Comment, Comment.id == Event.comment_id)
            .where(Event.id.in_(ids), or_(Event.comment_id.is_(None), Comment.disabled.is_(False)))
            .order_by(Event.id)
        )
        async with self.database.session() as session:
            return [tuple(row) for row in (await session.execute(statement)).all()]

    async def wait_idle(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
