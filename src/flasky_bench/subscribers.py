"""The streams benchmark's subscribers: thousands of Server-Sent Events clients in one
process, driven over a pipe by `flasky_bench.streams`.

Each subscriber is a bare asyncio Protocol on uvloop (when installed): one socket, one
small object, and on every read only a clock reading and a substring count, so that at
10,000 streams the client's own share of a fan-out's latency stays small. What a
subscriber watches for is a marker (a nonce written into the comment or message that is
committed); its first receipt time and the number of times it arrived are kept.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from typing import Any

CONNECT_CONCURRENCY = 256


def raise_open_files() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


class Watch:
    """The marker every subscriber currently looks for (bytes; empty: none), and how many
    of the expected subscribers have not received it yet."""

    def __init__(self) -> None:
        self.marker = b""
        self.pending = 0
        self.done = asyncio.Event()


class Subscriber(asyncio.Protocol):
    def __init__(self, request: bytes, watch: Watch) -> None:
        self.request = request
        self.watch = watch
        self.head = b""
        self.status = 0
        self.worker = ""
        self.ready = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reset()

    def reset(self, expected: bool = False) -> None:
        self.first: float | None = None
        self.hits = 0
        self.tail = b""
        self.expected = expected

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.ready.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            # The stream is open once its head and its first line (`retry:`) arrived.
            streaming = self.head.startswith(b"HTTP/1.1 200")
            if end >= 0 and (b"retry:" in self.head[end:] or not streaming):
                self._parse_head(self.head[:end])
                self.ready.set_result(self.status)
                data, self.head = self.head[end:], b""
            else:
                return
        marker = self.watch.marker
        if marker:
            joined = self.tail + data
            found = joined.count(marker)
            if found:
                self.hits += found
                if self.first is None:
                    self.first = now
                    if self.expected:
                        self.watch.pending -= 1
                        if self.watch.pending == 0:
                            self.watch.done.set()
            # A marker split over two reads is still found once: keep all but its last byte.
            self.tail = joined[len(joined) - len(marker) + 1 :] if len(marker) > 1 else b""

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split()
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"x-bench-worker":
                self.worker = value.strip().decode()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_result(0)


class Crowd:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.watch = Watch()
        self.subscribers: list[Subscriber] = []
        self.targets: list[Subscriber] = []

    async def open(self, paths: list[tuple[str, str]], wait_seconds: float) -> dict[str, Any]:
        """Connect one subscriber per (path, token); wait up to `wait_seconds` in all for
        their streams to open. Subscribers that time out stay connected (waiting)."""
        loop = asyncio.get_running_loop()
        limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
        deadline = loop.time() + wait_seconds
        errors = 0

        async def connect(path: str, token: str) -> Subscriber | None:
            nonlocal errors
            request = (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                f"Authorization: Bearer {token}\r\n\r\n"
            ).encode()
            async with limit:
                try:
                    _, protocol = await asyncio.wait_for(
                        loop.create_connection(
                            lambda: Subscriber(request, self.watch), self.host, self.port
                        ),
                        max(0.1, deadline - loop.time()),
                    )
                except (OSError, TimeoutError):
                    errors += 1
                    return None
                # Hold the slot until the head arrives, so connections open at the pace
                # the server answers them (a backlog overflow would count as a failure).
                try:
                    await asyncio.wait_for(
                        asyncio.shield(protocol.ready), max(0.1, deadline - loop.time())
                    )
                except TimeoutError:
                    pass
                return protocol

        opened = await asyncio.gather(*(connect(path, token) for path, token in paths))
        new = [s for s in opened if s is not None]
        self.subscribers += new
        return {
            "attempted": len(paths),
            "connected": len(new),
            "streaming": sum(1 for s in new if s.status == 200 and not s.closed),
            "refused": sum(1 for s in new if s.ready.done() and s.status not in (0, 200)),
            "waiting": sum(1 for s in new if not s.ready.done()),
            "errors": errors,
            "workers": [s.worker for s in new],
        }

    def streaming(self) -> list[Subscriber]:
        return [s for s in self.subscribers if s.status == 200 and not s.closed]

    def arm(self, marker: bytes, expect: list[int] | None = None) -> None:
        """Look for `marker` from now on, expected at the subscribers of these indices
        (None: every streaming one)."""
        if expect is None:
            self.targets = self.streaming()
        else:
            self.targets = [self.subscribers[i] for i in expect]
        for subscriber in self.subscribers:
            subscriber.reset()
        for subscriber in self.targets:
            subscriber.expected = True
        self.watch.pending = len(self.targets)
        self.watch.done.clear()
        if not self.targets:
            self.watch.done.set()
        self.watch.marker = marker

    async def collect(self, wait_seconds: float, linger: float) -> dict:
        """Wait until every expected subscriber received the marker, or `wait_seconds`;
        then `linger` seconds more, for copies that should not come."""
        targets = self.targets
        try:
            await asyncio.wait_for(self.watch.done.wait(), wait_seconds)
        except TimeoutError:
            pass
        await asyncio.sleep(linger)
        self.watch.marker = b""
        return {
            "firsts": [s.first for s in targets],
            "hits": [s.hits for s in targets],
            "elsewhere": sum(s.hits for s in self.subscribers) - sum(s.hits for s in targets),
        }

    def close(self) -> int:
        alive = sum(1 for s in self.subscribers if not s.closed)
        for subscriber in self.subscribers:
            if subscriber.transport is not None:
                subscriber.transport.abort()
        self.subscribers = []
        return alive


def serve(host: str, port: int, conn: Any, cpus: set[int] | None) -> None:
    """The subscriber process: obey (command, *args) messages until ("stop",)."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    raise_open_files()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        crowd = Crowd(host, port)
        loop = asyncio.get_running_loop()
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            command, args = message[0], message[1:]
            if command == "open":
                conn.send(await crowd.open(*args))
            elif command == "arm":
                crowd.arm(*args)
                conn.send("armed")
            elif command == "collect":
                conn.send(await crowd.collect(*args))
            elif command == "close":
                conn.send(crowd.close())
            else:
                crowd.close()
                conn.send("stopped")
                return

    asyncio.run(main())
