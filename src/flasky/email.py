"""Outgoing mail (SPEC §3): rendered from templates/mail/, delivered off the request.

Backends, chosen by ``MAIL_BACKEND``:

- ``smtp``: aiosmtplib in a background task, so a response never waits for the mail
  server; STARTTLS when ``MAIL_USE_TLS``, implicit TLS when ``MAIL_USE_SSL``, login
  when ``MAIL_USERNAME`` is set. A failed send is logged, never raised.
- ``log``: development without ``MAIL_SERVER``; the whole message (with its links) is
  written to the ``flasky.mail`` logger at INFO, so the terminal shows it.
- ``memory``: the testing config; messages are appended to
  ``app.extensions["mail_outbox"]`` at once, so a test can read them after the response.

Queued SMTP deliveries are awaited at shutdown (``flush_mail``, run after serving); one
that cannot finish in ``MAIL_SHUTDOWN_TIMEOUT`` seconds is logged in full, never dropped
silently.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from quart import Quart, current_app, render_template

log = logging.getLogger("flasky.mail")

DEFAULT_SHUTDOWN_TIMEOUT = 10.0


@dataclass(frozen=True)
class SMTPSettings:
    """Read from the config when a message is queued: the delivery task has no app context."""

    hostname: str
    port: int
    start_tls: bool
    use_tls: bool
    username: str | None
    password: str | None
    timeout: float

    @classmethod
    def from_config(cls, config: Any) -> SMTPSettings:
        use_ssl = bool(config.get("MAIL_USE_SSL"))
        return cls(
            hostname=config.get("MAIL_SERVER") or "localhost",
            port=int(config.get("MAIL_PORT") or (465 if use_ssl else 25)),
            # STARTTLS and implicit TLS exclude each other; implicit TLS wins when both are set.
            start_tls=bool(config.get("MAIL_USE_TLS")) and not use_ssl,
            use_tls=use_ssl,
            username=config.get("MAIL_USERNAME") or None,
            password=config.get("MAIL_PASSWORD") or None,
            timeout=float(config.get("MAIL_TIMEOUT") or 10.0),
        )


class Mailer:
    """The app's mail state: the backend and the SMTP deliveries still under way."""

    def __init__(self, app: Quart) -> None:
        self.app = app
        self.pending: set[asyncio.Task[None]] = set()

    @property
    def backend(self) -> str:
        return str(self.app.config.get("MAIL_BACKEND") or "log").lower()

    def send(self, message: EmailMessage) -> asyncio.Task[None] | None:
        backend = self.backend
        if backend == "memory":
            self.app.extensions.setdefault("mail_outbox", []).append(message)
            return None
        if backend == "smtp":
            settings = SMTPSettings.from_config(self.app.config)
            task = asyncio.get_running_loop().create_task(
                deliver_smtp(message, settings), name=f"mail to {message['To']}"
            )
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)
            return task
        if backend != "log":
            log.error("Unknown MAIL_BACKEND %r; writing the message to the log instead", backend)
        write_to_log(message)
        return None

    async def flush(self, grace: float | None = None) -> None:
        """Wait up to `grace` seconds (default MAIL_SHUTDOWN_TIMEOUT) for queued deliveries;
        any that do not finish in time are cancelled and logged in full."""
        if not self.pending:
            return
        if grace is None:
            grace = float(self.app.config.get("MAIL_SHUTDOWN_TIMEOUT", DEFAULT_SHUTDOWN_TIMEOUT))
        tasks = set(self.pending)
        log.info("Waiting up to %.1f s for %d queued mail message(s)", grace, len(tasks))
        _done, unfinished = await asyncio.wait(tasks, timeout=grace)
        # deliver_smtp logs the whole message when it is cancelled. aiosmtplib answers the
        # first cancel by sending QUIT and waiting for a reply that a stuck server never
        # gives, so cancel again until every task has given up (and logged its message).
        for _attempt in range(20):
            if not unfinished:
                break
            for task in unfinished:
                task.cancel()
            _done, unfinished = await asyncio.wait(unfinished, timeout=0.5)


async def deliver_smtp(message: EmailMessage, settings: SMTPSettings) -> None:
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.hostname,
            port=settings.port,
            start_tls=settings.start_tls,
            use_tls=settings.use_tls,
            username=settings.username,
            password=settings.password,
            timeout=settings.timeout,
        )
    except asyncio.CancelledError:
        log.error(
            "Mail to %s (%r) was not sent before shutdown; its content follows.\n%s",
            message["To"],
            message["Subject"],
            message.as_string(),
        )
        raise
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
        # The request that queued this mail has already been answered: log, don't raise.
        log.error(
            "Could not send mail to %s (%r) through %s:%s: %s",
            message["To"],
            message["Subject"],
            settings.hostname,
            settings.port,
            error,
        )
    else:
        log.info("Mail sent to %s: %s", message["To"], message["Subject"])


def write_to_log(message: EmailMessage) -> None:
    _make_visible(log)
    log.info("Mail (not sent: no MAIL_SERVER configured)\n%s", _readable(message))


def _readable(message: EmailMessage) -> str:
    """Headers plus the plain-text body, decoded, so the link can be clicked in a terminal."""
    headers = "\n".join(f"{name}: {message[name]}" for name in ("From", "To", "Subject"))
    text = message.get_body(preferencelist=("plain",))
    body = text.get_content() if text is not None else message.as_string()
    return f"{headers}\n\n{body}"


def _make_visible(logger: logging.Logger) -> None:
    # Nothing configures logging for `flasky run` by default, and Python's last-resort
    # handler drops INFO: give the mail logger a stderr handler unless one is in place.
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    if not logger.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


def get_mailer(app: Quart | None = None) -> Mailer:
    return (app or current_app).extensions["mail"]


def build_message(
    app: Quart, to: str, subject: str, text: str, html: str | None = None
) -> EmailMessage:
    message = EmailMessage()
    prefix = app.config.get("FLASKY_MAIL_SUBJECT_PREFIX") or ""
    message["Subject"] = f"{prefix} {subject}".strip()
    message["From"] = app.config["FLASKY_MAIL_SENDER"]
    message["To"] = to
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


async def render_email(to: str, subject: str, template: str, **context: Any) -> EmailMessage:
    """Render templates/mail/<template>.txt and .html into a message, without sending it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    name = template if template.startswith("mail/") else f"mail/{template}"
    text = await render_template(f"{name}.txt", **context)
    html = await render_template(f"{name}.html", **context)
    return build_message(app, to, subject, text, html)


async def send_email(to: str, subject: str, template: str, **context: Any) -> EmailMessage:
    """Render templates/mail/<template>.txt and .html and queue the message.

    Rendering happens here, inside the request, so ``url_for(..., _external=True)`` in the
    templates builds links from the request's host; delivery does not hold up the response.
    """
    message = await render_email(to, subject, template, **context)
    send_message(current_app._get_current_object(), message)  # type: ignore[attr-defined]
    return message


def send_message(app: Quart, message: EmailMessage) -> asyncio.Task[None] | None:
    """Queue a message built elsewhere (e.g. the production error mail); fills in From."""
    if message["From"] is None:
        message["From"] = app.config["FLASKY_MAIL_SENDER"]
    return get_mailer(app).send(message)


def pending_mail(app: Quart) -> set[asyncio.Task[None]]:
    """SMTP deliveries still under way."""
    return set(get_mailer(app).pending)


async def flush_mail(app: Quart, grace: float | None = None) -> None:
    """Wait for queued mail (see Mailer.flush); the app runs this after serving."""
    await get_mailer(app).flush(grace)


async def flush_queued_mail() -> None:
    """When serving ends: let queued mail go out (see Mailer.flush)."""
    await get_mailer().flush()


def init_app(app: Quart) -> Mailer:
    """Attach the app's Mailer; flush_queued_mail is placed by flasky.pipeline."""
    mailer = Mailer(app)
    app.extensions["mail"] = mailer
    app.extensions.setdefault("mail_outbox", [])
    return mailer
