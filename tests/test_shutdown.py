"""Graceful shutdown with a real Hypercorn (issue 8, point 4): on SIGTERM the request in
flight is finished, and queued mail is delivered, or written to the log when the mail
server is too slow, never dropped silently.

The server runs the production config from the repository's hypercorn.toml, with 1 and
with 2 workers (with several, the master used to SIGTERM a worker still busy), on the test
database (SQLite file or TEST_DATABASE_URL), with mail going to an aiosmtpd server in this
process whose DATA handler is slow.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from urllib.parse import urlencode

import pytest
from aiosmtpd.controller import Controller

from tests.live_server import Server, form_token_and_cookie, free_port

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class SlowMailServer:
    """An SMTP server that takes `delay` seconds to accept each message."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.messages: list[bytes] = []
        self.recipients: list[str] = []
        self.released = threading.Event()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        # Sleep in aiosmtpd's own thread and loop; released early when the test ends.
        await asyncio.get_running_loop().run_in_executor(None, self.released.wait, self.delay)
        self.recipients.extend(envelope.rcpt_tos)
        self.messages.append(envelope.content)
        return "250 Message accepted"

    def __enter__(self) -> SlowMailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.controller.stop()


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def workers(request) -> int:
    return request.param


@pytest.fixture
def start_server(app, tmp_path, workers):
    """Starts Hypercorn on the test database, which the `app` fixture has just created."""
    servers: list[Server] = []

    def start(mail_port: int, **settings: str) -> Server:
        env = {
            **os.environ,
            "FLASKY_CONFIG": "production",
            "SECRET_KEY": "graceful-shutdown-test-" + "x" * 32,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URL"],
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(mail_port),
            "MAIL_USE_TLS": "false",
            "MAIL_BACKEND": "smtp",
            "FLASKY_RATE_LIMITS": "off",
            "FLASKY_BASE_URL": "http://127.0.0.1",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "LOG_TO": "",
            **settings,
        }
        env.pop("FLASKY_ADMIN", None)
        server = Server(env, tmp_path / f"server-{len(servers)}.log", workers=workers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


async def registration_form(server: Server) -> tuple[str, str]:
    return await form_token_and_cookie(server.url, "/auth/register")


async def send_slowly_through_sigterm(server: Server, path: str, form: dict, cookie: str) -> bytes:
    """POST whose body is still arriving when SIGTERM is sent; returns the raw response."""
    body = urlencode(form).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    ).encode()
    writer.write(head + body[: len(body) // 2])
    await writer.drain()
    await asyncio.sleep(0.3)

    server.process.send_signal(signal.SIGTERM)
    await asyncio.sleep(1.0)
    assert server.process.poll() is None, "the server quit with a request in flight"

    writer.write(body[len(body) // 2 :])
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), timeout=15)
    writer.close()
    return response


def registration(token: str, email: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "email": email,
        "username": email.split("@")[0],
        "password": "correct horse",
        "password2": "correct horse",
    }


async def user_exists(app, email: str) -> bool:
    from sqlalchemy import select

    from flasky.db import get_database
    from flasky.models import User

    async with get_database(app).session() as session:
        return await session.scalar(select(User.id).where(User.email == email)) is not None


async def test_sigterm_finishes_the_request_in_flight_and_delivers_queued_mail(app, start_server):
    with SlowMailServer(delay=2.0) as mail:
        server = start_server(mail.controller.port)
        await server.wait_ready()
        token, cookie = await registration_form(server)

        raw = await send_slowly_through_sigterm(
            server, "/auth/register", registration(token, "inflight@example.com"), cookie
        )
        status_line = raw.split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 302"), raw[:500]
        assert b"/auth/login" in raw.split(b"\r\n\r\n", 1)[0]

        # The confirmation mail was queued behind a 2 s SMTP server; shutdown waits for it.
        assert await server.wait_exit(within=30) == 0, server.log()
        assert mail.recipients == ["inflight@example.com"], server.log()
        assert b"/auth/confirm/" in mail.messages[0]
    assert await user_exists(app, "inflight@example.com")


async def test_mail_the_server_cannot_deliver_before_exit_is_logged_in_full(app, start_server):
    with SlowMailServer(delay=60.0) as mail:
        server = start_server(mail.controller.port, MAIL_SHUTDOWN_TIMEOUT="1", MAIL_TIMEOUT="60")
        await server.wait_ready()
        token, cookie = await registration_form(server)

        raw = await send_slowly_through_sigterm(
            server, "/auth/register", registration(token, "stuck@example.com"), cookie
        )
        assert raw.startswith(b"HTTP/1.1 302"), raw[:500]
        started = time.monotonic()
        assert await server.wait_exit(within=30) == 0, server.log()
        assert time.monotonic() - started < 15
        assert mail.recipients == []

    log = server.log()
    assert "was not sent before shutdown" in log, log
    assert "stuck@example.com" in log
    assert "/auth/confirm/" in log  # the link itself, so the mail can be sent by hand
    assert await user_exists(app, "stuck@example.com")
