"""Real servers for the tests that need processes: Hypercorn with N workers on a free port,
and a throwaway redis-server to stop and start."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest

from flasky.config import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hypercorn_command(port: int, workers: int) -> list[str]:
    """The README's production command, on a free port."""
    return [
        sys.executable,
        "-m",
        "hypercorn",
        "--config",
        str(ROOT / "hypercorn.toml"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "flasky.asgi:app",
    ]


class Server:
    """A server process on a free port, its output in a log file."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        workers: int = 1,
        command: list[str] | None = None,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.workers = workers
        self.log_path = log_path
        self.log_file = open(log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            command or hypercorn_command(self.port, workers),
            cwd=ROOT,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            # Its own process group: stop() ends the workers with the master, never orphans.
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    async def wait_ready(self, within: float = 120.0) -> None:
        """Until /healthz answers 200 and every worker is listening."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                async with httpx.AsyncClient(base_url=self.url) as client:
                    healthy = (await client.get("/healthz")).status_code == 200
                if healthy and self.log().count("Running on") >= self.workers:
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
        assert code is not None, f"server still running {within}s later:\n{self.log()}"
        return code

    def log(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log_file.close()


async def form_token_and_cookie(url: str, path: str) -> tuple[str, str]:
    """The CSRF token of the form at `path` and the cookie header a browser would send back.

    Production cookies are Secure, which httpx (rightly) keeps off plain HTTP; the tests
    play the browser behind a TLS-terminating proxy and return them themselves."""
    async with httpx.AsyncClient(base_url=url) as client:
        page = await client.get(path)
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert token, page.text
    jar = SimpleCookie()
    for header in page.headers.get_list("set-cookie"):
        jar.load(header)
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
    return token.group(1), cookie


def redis_server_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (.ci/run installs it)")
        pytest.skip("redis-server is not installed")
    return binary


class RedisServer:
    """A redis-server of our own on a free port, without persistence: it can be stopped
    and started again to play an outage."""

    def __init__(self, tmp_path: Path) -> None:
        self.binary = redis_server_binary()
        self.port = free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
