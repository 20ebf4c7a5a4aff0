"""Browser tests: Debian's Chromium driven by Playwright against a real Hypercorn process.

The server runs the development config (real forms with CSRF tokens, cookies over plain
HTTP) on a fresh database — a SQLite file, or `<name>_e2e` beside TEST_DATABASE_URL on
PostgreSQL — filled by `flasky deploy`, `flasky fake ...` and tests/e2e/seed.py. Its mail
goes over SMTP to an aiosmtpd server in this process, so a test can follow the link in a
confirmation mail. A failed test leaves its page's HTML and screenshots at 1280 and 390 px
in test-artifacts/.

Chromium is looked for at CHROMIUM_PATH, else /usr/bin/chromium (Debian's `chromium`
package). Without it the tests are skipped locally, and fail when CI is set.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.e2e import seed

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Debian's Chromium with Playwright (STACK.md): headless, no sandbox as root, and no
# attempts to reach the network for updates, sync or field trials.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ADMIN_EMAIL = "admin@e2e.example.com"
SERVER_START_TIMEOUT = 60.0
PAGE_TIMEOUT_MS = 15_000
# A failed test keeps its page as seen on a desktop and on a phone.
SCREENSHOT_SIZES = ((1280, 800), (390, 844))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: browser test against a real Hypercorn server")


def unavailable(reason: str) -> None:
    """No browser: a skip on a developer's machine, a failure in CI (issue 6)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- mail --------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the aiosmtpd server received; filled from its thread."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    def wait_for(self, to: str, timeout: float = 15.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if to.lower() in str(message["To"]).lower():
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to} within {timeout} s; got {len(self.messages)}")

    def link(self, to: str, path_prefix: str) -> str:
        """The first absolute link in the mail to `to` whose path starts with path_prefix."""
        message = self.wait_for(to)
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else str(message)
        for url in re.findall(r"https?://[^\s\"'<>]+", text):
            if urlsplit(url).path.startswith(path_prefix):
                return url
        raise AssertionError(f"no {path_prefix} link in the mail to {to}:\n{text}")


@pytest.fixture(scope="package")
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(port=free_port())

    class Keep:
        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
            message = BytesParser(policy=default_policy).parsebytes(envelope.content)
            box.messages.append(message)
            return "250 OK"

    controller = Controller(Keep(), hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


# --- database ----------------------------------------------------------------------------------


async def _postgres_admin(url: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _run_async(coroutine_function, *args) -> None:  # noqa: ANN001
    # In a thread of its own: Playwright's sync API may already own this thread's loop.
    with ThreadPoolExecutor(1) as executor:
        executor.submit(asyncio.run, coroutine_function(*args)).result()


@pytest.fixture(scope="package")
def database_url(tmp_path_factory) -> Iterator[str]:
    """SQLite in a temporary file, or a fresh `<name>_e2e` database beside TEST_DATABASE_URL."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not (url and url.startswith(("postgres://", "postgresql"))):
        yield f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.sqlite'}"
        return
    parts = urlsplit(url.replace("+asyncpg", "").replace("postgres://", "postgresql://"))
    name = parts.path.lstrip("/") + "_e2e"
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    _run_async(_postgres_admin, urlunsplit(parts), drop, f'CREATE DATABASE "{name}"')
    yield urlunsplit(parts._replace(path="/" + name))
    _run_async(_postgres_admin, urlunsplit(parts), drop)


# --- server ------------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path


def _server_environment(database_url: str, mailbox: Mailbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASKY_", "MAIL_"))}
    env.update(
        FLASKY_CONFIG="development",
        DEV_DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_hex(32),
        FLASKY_ADMIN=ADMIN_EMAIL,
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(mailbox.port),
        MAIL_USE_TLS="false",
        MAIL_USE_SSL="false",
        FLASKY_RATE_LIMITS="off",
        # Cheap hashes keep seeding and logins quick; hashing cost is tested elsewhere.
        PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
        PYTHONUNBUFFERED="1",
    )
    return env


def _flasky(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "-c", "from flasky.cli import main; main()", *args]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"flasky {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def _wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Hypercorn exited early:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Hypercorn did not answer /healthz:\n{log_path.read_text()[-4000:]}")


@pytest.fixture(scope="package")
def server(database_url: str, mailbox: Mailbox, tmp_path_factory) -> Iterator[Server]:
    env = _server_environment(database_url, mailbox)
    env["FLASKY_UPLOAD_DIR"] = str(tmp_path_factory.mktemp("uploads"))
    _flasky(env, "deploy")
    _flasky(env, "fake", "users", "12", "--seed", "6")
    _flasky(env, "fake", "posts", "30", "--seed", "6")
    _flasky(env, "fake", "comments", "30", "--seed", "6")
    subprocess.run(
        [sys.executable, "-m", "tests.e2e.seed"], env=env, cwd=ROOT, check=True, timeout=120
    )

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "e2e-server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--access-logfile", "-", "flasky.asgi:app"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_until_healthy(url, process, log_path)
        yield Server(url=url, process=process, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser():
    if os.environ.get("CHROMIUM_PATH"):
        candidates: tuple[str, ...] = (os.environ["CHROMIUM_PATH"],)
    else:
        candidates = (*CHROMIUM_CANDIDATES, shutil.which("chromium") or "")
    executable = next((p for p in candidates if p and os.access(p, os.X_OK)), None)
    if executable is None:
        unavailable(f"Chromium is not installed at {' or '.join(filter(None, candidates))}")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except PlaywrightError as error:
            unavailable(f"Chromium at {executable} could not start: {error}")
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def new_context(browser, server: Server):
    """A browser context on the test server that never leaves this machine: requests to
    other hosts (Gravatar avatars) get an empty answer instead of a DNS failure."""
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    local = urlsplit(server.url).netloc

    def keep_local(route) -> None:  # noqa: ANN001
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            route.fulfill(status=204, body=b"")

    context.route("**/*", keep_local)
    return context


@pytest.fixture
def page(browser, server: Server, request: pytest.FixtureRequest):
    """A fresh browser context (no cookies) per test; its page is kept on failure (keep_failure)."""
    context = new_context(browser, server)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    page.script_errors = errors  # type: ignore[attr-defined]
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        keep_failure(page, re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid))
    context.close()


def keep_failure(page, name: str) -> None:
    """The page a test failed on, as HTML and as screenshots at desktop and phone widths."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.html").write_text(page.content())
    for width, height in SCREENSHOT_SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)


# --- helpers the scenarios share --------------------------------------------------------------


def log_in(page, email: str, password: str = seed.PASSWORD) -> None:
    page.goto("/auth/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("form input[type=submit], form button[type=submit]").first.click()
    # Wait for the redirect away from the login page: navigating elsewhere while the POST is
    # in flight would cancel it, and with it the login cookie.
    page.wait_for_url(lambda url: "/auth/login" not in url)
