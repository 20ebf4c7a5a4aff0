"""flasky.email: the memory, log and SMTP backends, delivery off the request, failures that
are logged and never break a page, and the wait for queued mail at shutdown. The SMTP
tests talk to a real server (aiosmtpd) on a free local port."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from flasky.auth.mail import describe_duration
from flasky.config import ROOT
from flasky.email import (
    SMTPSettings,
    flush_mail,
    flush_queued_mail,
    get_mailer,
    pending_mail,
    send_message,
)
from tests.factories import STRONG_PASSWORD
from tests.test_auth import (
    link_in,
    log_in,
    mail_html,
    mail_text,
    path_of,
    register,
    text_of,
    user_by_email,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps what it receives (it runs in the server's thread)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.messages: list[EmailMessage] = []
        self.envelopes = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"secret")

    async def wait_for(self, count: int = 1, within: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + within
        while len(self.messages) < count:
            assert time.monotonic() < deadline, "no mail arrived at the SMTP server"
            await asyncio.sleep(0.02)
        return self.messages


def start_smtp_server(inbox: Inbox, **kwargs) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


@pytest.fixture
def smtp_inbox():
    inbox = Inbox()
    controller, port = start_smtp_server(inbox)
    inbox.port = port
    yield inbox
    controller.stop()


def smtp_config(port: int, **extra) -> dict:
    return {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_USE_TLS": False,
        "MAIL_USERNAME": "",
        "MAIL_PASSWORD": "",
        "MAIL_TIMEOUT": 5.0,
        **extra,
    }


# -- memory backend (the testing config) ---------------------------------------------------


async def test_message_has_prefix_sender_and_text_and_html_bodies(app, client, outbox):
    app.config["FLASKY_MAIL_SENDER"] = "Flasky Admin <admin@flasky.test>"
    await register(client)
    (message,) = outbox
    assert message["Subject"] == "[Flasky] Confirm Your Account"
    assert message["From"] == "Flasky Admin <admin@flasky.test>"
    assert message["To"] == "john@example.com"
    assert message.get_content_type() == "multipart/alternative"
    assert "Dear john" in mail_text(message)
    assert "<p>Dear john,</p>" in mail_html(message)
    assert "1 hour" in mail_text(message)


@pytest.mark.parametrize("app_config", [{"FLASKY_BASE_URL": "https://blog.example.com"}])
async def test_links_in_mail_use_the_site_address_never_the_request_host(client, outbox):
    await client.post(
        "/auth/register",
        form={
            "email": "j@example.com",
            "username": "j",
            "password": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
        headers={"Host": "evil.example:8443"},
    )
    link = link_in(outbox[0], "/auth/confirm")
    assert link.startswith("https://blog.example.com/auth/confirm/")


def test_link_lifetime_is_described_in_words():
    assert describe_duration(3600) == "1 hour"
    assert describe_duration(7200) == "2 hours"
    assert describe_duration(1800) == "30 minutes"


# -- log backend (development without MAIL_SERVER) --------------------------------------------


@pytest.mark.parametrize("app_config", [{"MAIL_BACKEND": "log"}])
async def test_log_backend_writes_the_whole_message_with_its_link(client, outbox, caplog):
    caplog.set_level(logging.INFO, logger="flasky.mail")
    response = await register(client)
    assert response.status_code == 302
    assert outbox == []
    records = [r for r in caplog.records if r.name == "flasky.mail" and r.levelno == logging.INFO]
    assert len(records) == 1
    logged = records[0].getMessage()
    assert "To: john@example.com" in logged
    assert "Subject: [Flasky] Confirm Your Account" in logged
    assert "http://localhost/auth/confirm/" in logged
    # The link is printed whole (decoded, no quoted-printable line breaks), ready to click.
    assert re.search(r"^http://localhost/auth/confirm/[\w.-]{40,}$", logged, re.MULTILINE)


def test_development_without_mail_server_prints_mail_in_the_terminal(tmp_path):
    """What `flasky run` shows: a fresh process, the development config, no logging set up."""
    script = textwrap.dedent(
        """
        import asyncio
        from email.message import EmailMessage
        from flasky import create_app
        from flasky.email import send_message

        app = create_app("development")
        assert app.config["MAIL_BACKEND"] == "log", app.config["MAIL_BACKEND"]
        message = EmailMessage()
        message["To"] = "new@example.com"
        message["Subject"] = "[Flasky] Confirm Your Account"
        message.set_content("Open http://localhost:5000/auth/confirm/TOKEN-123 to confirm.")

        async def main():
            send_message(app, message)

        asyncio.run(main())
        """
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAIL_", "FLASKY_CONFIG"))
    }
    env["DEV_DATABASE_URL"] = f"sqlite:///{tmp_path / 'dev.sqlite'}"
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    terminal = result.stdout + result.stderr
    assert "http://localhost:5000/auth/confirm/TOKEN-123" in terminal
    assert "new@example.com" in terminal


# -- SMTP backend, through a real server --------------------------------------------------


async def test_register_and_confirm_through_a_real_smtp_server(app, client, session, smtp_inbox):
    app.config.update(smtp_config(smtp_inbox.port))  # read when a message is queued
    response = await register(client)
    assert response.status_code == 302

    (message,) = await smtp_inbox.wait_for(1)
    assert message["To"] == "john@example.com"
    assert smtp_inbox.envelopes[0].rcpt_tos == ["john@example.com"]
    link = link_in(message, "/auth/confirm")
    assert link.startswith("http://localhost/auth/confirm/")

    await log_in(client, "john@example.com", STRONG_PASSWORD)
    response = await client.get(path_of(link), follow_redirects=True)
    assert "You have confirmed your account. Thanks!" in await text_of(response)
    assert (await user_by_email(session, "john@example.com")).confirmed


async def test_smtp_login_when_a_username_is_set(app, client):
    inbox = Inbox()
    controller, port = start_smtp_server(
        inbox, authenticator=inbox.authenticate, auth_require_tls=False
    )
    try:
        app.config.update(smtp_config(port, MAIL_USERNAME="flasky", MAIL_PASSWORD="secret"))
        await register(client)
        await inbox.wait_for(1)
        assert inbox.logins == [(b"flasky", b"secret")]
    finally:
        controller.stop()


async def test_the_response_does_not_wait_for_the_smtp_server(app, client):
    inbox = Inbox(delay=1.0)
    controller, port = start_smtp_server(inbox)
    try:
        app.config.update(smtp_config(port))
        response = await register(client)
        assert response.status_code == 302
        # Answered, while the server is still holding the message.
        assert inbox.messages == []
        assert len(pending_mail(app)) == 1
        await flush_mail(app)
        assert len(inbox.messages) == 1
        assert pending_mail(app) == set()
    finally:
        controller.stop()


async def test_a_failed_send_is_logged_and_the_page_still_works(app, client, session, caplog):
    app.config.update(smtp_config(free_port()))  # nothing listens there
    response = await register(client)
    assert response.status_code == 302
    await flush_mail(app)
    errors = [r for r in caplog.records if r.name == "flasky.mail" and r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "Could not send mail to john@example.com" in errors[0].getMessage()
    assert await user_by_email(session, "john@example.com") is not None
    assert (await client.get(response.headers["Location"])).status_code == 200


async def test_mail_not_sent_by_shutdown_is_logged_in_full(app, client, caplog):
    async def say_nothing(reader, writer):  # accepts, never greets: the send hangs
        await reader.read()

    server = await asyncio.start_server(say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        app.config.update(smtp_config(port, MAIL_TIMEOUT=30.0))
        await register(client)
        assert len(pending_mail(app)) == 1
        await flush_mail(app, grace=0.2)
        assert pending_mail(app) == set()
    finally:
        server.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "was not sent before shutdown" in errors[0]
    assert "/auth/confirm/" in errors[0]


async def test_queued_mail_is_flushed_after_serving(app):
    assert flush_queued_mail in app.after_serving_funcs


async def test_send_message_fills_in_the_sender(app, outbox):
    message = EmailMessage()
    message["To"] = "admin@example.com"
    message["Subject"] = "hello"
    message.set_content("body")
    assert send_message(app, message) is None  # memory backend: stored at once
    assert outbox[-1]["From"] == app.config["FLASKY_MAIL_SENDER"]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"MAIL_USE_TLS": True}, {"start_tls": True, "use_tls": False, "port": 587}),
        ({"MAIL_USE_TLS": False}, {"start_tls": False, "use_tls": False, "port": 587}),
        (
            {"MAIL_USE_SSL": True, "MAIL_PORT": None},
            {"start_tls": False, "use_tls": True, "port": 465},
        ),
        ({"MAIL_USERNAME": "u", "MAIL_PASSWORD": "p"}, {"username": "u", "password": "p"}),
        ({"MAIL_USERNAME": ""}, {"username": None}),
    ],
)
def test_smtp_settings_follow_the_config(config, expected):
    base = {"MAIL_SERVER": "smtp.example.com", "MAIL_PORT": 587, "MAIL_USE_TLS": True}
    settings = SMTPSettings.from_config({**base, **config})
    for key, value in expected.items():
        assert getattr(settings, key) == value


async def test_unknown_backend_falls_back_to_the_log(app, outbox, caplog):
    caplog.set_level(logging.INFO, logger="flasky.mail")
    app.config["MAIL_BACKEND"] = "carrier-pigeon"
    message = EmailMessage()
    message["To"] = "x@example.com"
    message["Subject"] = "s"
    message.set_content("the body")
    get_mailer(app).send(message)
    assert outbox == []
    assert any("the body" in r.getMessage() for r in caplog.records)
