"""Live events across processes: real Hypercorn servers on one database, an event caused by
a request to one server reaching a stream held by another (what two workers, or two
machines, are to each other), through each transport: PostgreSQL LISTEN/NOTIFY (or, on
SQLite, the poll of the events table), and Redis pub/sub. Also: shutdown ends open streams
within the graceful timeout.

Servers run the development config (forms with CSRF tokens, cookies over plain HTTP) on the
test database that the `app` fixture has just created.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from flasky.config import ROOT
from tests.factories import make_user
from tests.sse import EventParser

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, env: dict[str, str], log_path: Path, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.log_file = open(log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hypercorn", "--config", str(ROOT / "hypercorn.toml"),
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "flasky.asgi:app"],
            cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT,
            # Its own process group: stop() kills the workers too, not only the master
            # (a killed master leaves spawned workers running otherwise).
            start_new_session=True,
        )  # fmt: skip

    async def wait_ready(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.url) as client:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log()
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"server did not start:\n{self.log()}")

    def log(self) -> str:
        self.log_file.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log_file.close()


@pytest.fixture
async def start_server(app, tmp_path):
    servers: list[Server] = []
    channel = f"flasky_test_{uuid.uuid4().hex[:12]}"

    async def start(workers: int = 1, **settings: str) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASKY_", "MAIL_"))}
        env.update(
            FLASKY_CONFIG="development",
            DEV_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URL"],
            SECRET_KEY="live-servers-test-" + "x" * 32,
            FLASKY_RATE_LIMITS="off",
            FLASKY_EVENTS_CHANNEL=channel,
            FLASKY_EVENTS_POLL_INTERVAL="0.2",
            FLASKY_SSE_HEARTBEAT="1",
            MAIL_BACKEND="log",
            PYTHONUNBUFFERED="1",
            **settings,
        )
        server = Server(env, tmp_path / f"server-{len(servers)}.log", workers)
        servers.append(server)
        await server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


async def signed_in(server: Server, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=server.url, timeout=30)
    page = await client.get("/auth/login")
    response = await client.post(
        "/auth/login",
        data={"email": email, "password": "cat", "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302, response.text[:2000]
    return client


async def send_message(client: httpx.AsyncClient, to: str, body: str) -> None:
    page = await client.get(f"/send_message/{to}")
    response = await client.post(
        f"/send_message/{to}", data={"body": body, "csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 302, response.text[:2000]


class LiveStream:
    """An open /events response read in the background by httpx."""

    def __init__(self, client: httpx.AsyncClient, url: str = "/events") -> None:
        self.client = client
        self.url = url
        self.parser = EventParser()
        self.events: list = []
        self.status: int | None = None
        self.ended = asyncio.Event()
        self.opened = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async with self.client.stream("GET", self.url) as response:
                self.status = response.status_code
                self.opened.set()
                async for chunk in response.aiter_text():
                    self.events.extend(self.parser.feed(chunk))
        except httpx.HTTPError:
            pass
        finally:
            self.opened.set()
            self.ended.set()

    async def wait_for(self, predicate, within: float = 10.0):  # noqa: ANN001, ANN201
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for event in self.events:
                if predicate(event):
                    return event
            await asyncio.sleep(0.02)
        raise AssertionError(f"no such event within {within} s; got {self.events}")

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def ann_and_bob(session):
    await make_user(session, username="ann", email="ann@example.com")
    await make_user(session, username="bob", email="bob@example.com")
    await session.commit()


TRANSPORTS = ["database", "redis"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_message_sent_through_one_server_reaches_a_stream_on_another(
    request, start_server, ann_and_bob, transport
):
    settings = {}
    if transport == "redis":
        settings["REDIS_URL"] = request.getfixturevalue("redis_url")
    first = await start_server(**settings)
    second = await start_server(**settings)
    ann = await signed_in(first, "ann@example.com")
    bob = await signed_in(second, "bob@example.com")
    stream = LiveStream(bob)
    try:
        await asyncio.wait_for(stream.opened.wait(), 10)
        assert stream.status == 200
        await asyncio.sleep(0.5)  # the stream is registered before the message is sent
        started = time.monotonic()
        await send_message(ann, "bob", "across servers")
        event = await stream.wait_for(lambda e: e.kind == "message")
        assert event.data["body"] == "across servers"
        # Generous: a loaded CI machine must not fail this; at idle it is milliseconds.
        assert time.monotonic() - started < 8
    finally:
        await stream.close()
        await ann.aclose()
        await bob.aclose()


async def test_two_workers_deliver_to_every_stream(start_server, ann_and_bob):
    """One server of two workers: whichever worker each stream landed on, all receive."""
    server = await start_server(workers=2, FLASKY_MAX_STREAMS_PER_USER="20")
    ann = await signed_in(server, "ann@example.com")
    bobs = [await signed_in(server, "bob@example.com") for _ in range(6)]
    streams = [LiveStream(client) for client in bobs]
    try:
        for stream in streams:
            await asyncio.wait_for(stream.opened.wait(), 10)
            assert stream.status == 200
        await asyncio.sleep(0.5)
        await send_message(ann, "bob", "to every worker")
        for stream in streams:
            await stream.wait_for(lambda e: e.kind == "message")
    finally:
        for stream in streams:
            await stream.close()
        for client in (ann, *bobs):
            await client.aclose()


@pytest.mark.parametrize("workers", [1, 2])
async def test_shutdown_ends_open_streams_at_once(start_server, ann_and_bob, workers):
    """Hypercorn would wait graceful_timeout (20 s in hypercorn.toml) for open responses;
    streams end as soon as the stop begins, and the server exits well before that."""
    server = await start_server(workers=workers)
    bob = await signed_in(server, "bob@example.com")
    stream = LiveStream(bob)
    try:
        await asyncio.wait_for(stream.opened.wait(), 10)
        assert stream.status == 200
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(stream.ended.wait(), 40)
        ended = time.monotonic() - started
        deadline = time.monotonic() + 40
        while server.process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        assert server.process.poll() is not None, server.log()
        # Generous for a loaded machine, and still well under the 20 s graceful timeout.
        assert ended < 12, f"the stream ended {ended:.1f} s after SIGTERM"
        assert time.monotonic() - started < 15, server.log()
    finally:
        await stream.close()
        await bob.aclose()
