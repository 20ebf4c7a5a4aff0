"""Reading a text/event-stream: from the Quart test client, or from a real server (httpx)."""

from __future__ import annotations

import asyncio
import contextvars
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ServerSentEvent:
    id: int | None
    event: str
    data: dict

    @property
    def kind(self) -> str:
        return self.event


@dataclass
class EventParser:
    """Feed it chunks; it returns the complete events and counts the comment lines."""

    buffer: str = ""
    comments: int = 0
    retry: int | None = None
    frames: list[str] = field(default_factory=list)

    def feed(self, chunk: bytes | str) -> list[ServerSentEvent]:
        self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        events = []
        while "\n\n" in self.buffer:
            frame, self.buffer = self.buffer.split("\n\n", 1)
            self.frames.append(frame)
            fields: dict[str, str] = {}
            for line in frame.split("\n"):
                if line.startswith(":"):
                    self.comments += 1
                    continue
                name, _, value = line.partition(": ")
                fields[name] = value
            if "retry" in fields:
                self.retry = int(fields["retry"])
            if "data" in fields:
                events.append(
                    ServerSentEvent(
                        int(fields["id"]) if "id" in fields else None,
                        fields.get("event", "message"),
                        json.loads(fields["data"]),
                    )
                )
        return events


class TestStream:
    """An open /events response through the Quart test client."""

    __test__ = False

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.parser = EventParser()
        self.pending: list[ServerSentEvent] = []
        self.ended = False

    @classmethod
    async def open(
        cls, client: Any, url: str = "/events", headers: dict | None = None
    ) -> TestStream:
        connection = client.request(url, headers=headers or {})
        # A fresh context, as a real server gives each request (see conftest.IsolatedClient).
        await asyncio.create_task(connection.__aenter__(), context=contextvars.Context())
        await connection.send_complete()
        stream = cls(connection)
        await stream.wait_for_headers()
        return stream

    async def wait_for_headers(self, within: float = 10) -> None:
        async with asyncio.timeout(within):
            while self.connection.status_code is None:  # noqa: ASYNC110 -- a test-client attribute
                await asyncio.sleep(0.01)

    @property
    def status_code(self) -> int:
        return self.connection.status_code

    async def next_events(self, count: int = 1, within: float = 10) -> list[ServerSentEvent]:
        async with asyncio.timeout(within):
            while len(self.pending) < count:
                chunk = await self.connection.receive()
                if chunk == b"":
                    self.ended = True
                    raise EOFError("the stream ended")
                self.pending.extend(self.parser.feed(chunk))
        taken, self.pending = self.pending[:count], self.pending[count:]
        return taken

    async def nothing_within(self, seconds: float) -> bool:
        try:
            await self.next_events(1, within=seconds)
        except TimeoutError:
            return True
        return False

    async def until_end(self, within: float = 10) -> None:
        async with asyncio.timeout(within):
            while True:
                chunk = await self.connection.receive()
                if chunk == b"":
                    self.ended = True
                    return
                self.pending.extend(self.parser.feed(chunk))

    async def close(self) -> None:
        await self.connection.disconnect()
        try:
            async with asyncio.timeout(5):
                await self.connection._task
        except (TimeoutError, asyncio.CancelledError):
            pass
