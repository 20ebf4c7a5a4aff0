"""Graceful shutdown with a real Hypercorn (issue 8, point 4): on SIGTERM the request in
flight is finished, and queued mail is delivered, or written to the log when the mail
server is too slow, never dropped silently.

The server runs the production config from the repository's hypercorn.toml, on the test
database (SQLite file or TEST_DATABASE_URL), with mail going to an aiosmtpd server in this
process whose DATA handler is slow.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from aiosmtpd.controller import Controller

from flasky.config import ROOT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


class Server:
    """`hypercorn --config hypercorn.toml flasky.asgi:app`, one worker, on a free port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.log_file = open(log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hypercorn",
                "--config",
                str(ROOT / "hypercorn.toml"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "flasky.asgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    async def wait_ready(self, within: float = 30.0) -> None:
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

    async def wait_exit(self, within: float) -> int:
        deadline = time.monotonic() + within
        while self.process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        code = self.process.poll()
        assert code is not None, f"server still running {within}s after SIGTERM:\n{self.log()}"
        return code

    def log(self) -> str:
        self.log_file.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log_file.close()


@pytest.fixture
def start_server(app, tmp_path):
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
            "LOG_TO": "",
            **settings,
        }
        env.pop("FLASKY_ADMIN", None)
        server = Server(env, tmp_path / f"server-{len(servers)}.log")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


async def registration_form(server: Server) -> tuple[str, str]:
    """The CSRF token and the cookie header a browser would send back.

    Production cookies are Secure, which httpx (rightly) keeps off plain HTTP; the test
    plays the browser behind a TLS-terminating proxy and returns them itself."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        page = await client.get("/auth/register")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert token, page.text
    jar = SimpleCookie()
    for header in page.headers.get_list("set-cookie"):
        jar.load(header)
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
    return token.group(1), cookie


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
