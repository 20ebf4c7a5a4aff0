"""Unhandled errors mailed to FLASKY_ADMIN (FLASKY_ERROR_MAIL, on in the production configs)."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from email.message import EmailMessage
from typing import Any

from quart import Quart, current_app, g, has_app_context, has_request_context, request


class ErrorMailHandler(logging.Handler):
    """Mails unhandled errors (records with a traceback on `flasky.errors`) to FLASKY_ADMIN.

    One handler serves every app in the process; it acts for the app of the current context
    when that app has FLASKY_ERROR_MAIL on. Sending is scheduled, never awaited, so the 500
    page goes out at once; the same error is mailed at most once per FLASKY_ERROR_MAIL_INTERVAL.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self._tasks: set[asyncio.Task[Any]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info is None or not has_app_context():
            return
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        admin = app.config["FLASKY_ADMIN"]
        if not app.config["FLASKY_ERROR_MAIL"] or not admin:
            return
        try:
            if self._throttled(app, record):
                return
            self._dispatch(app, self.build_message(app, record, admin))
        except Exception:  # a broken mail setup must never break the error page
            self.handleError(record)

    def _throttled(self, app: Quart, record: logging.LogRecord) -> bool:
        exc_type = record.exc_info[0] if record.exc_info else None
        path = request.path if has_request_context() else ""
        key = (getattr(exc_type, "__qualname__", str(exc_type)), path)
        sent: dict[tuple[str, str], float] = app.extensions.setdefault("error_mail_sent", {})
        now = time.monotonic()
        last = sent.get(key)
        if last is not None and now - last < app.config["FLASKY_ERROR_MAIL_INTERVAL"]:
            return True
        sent[key] = now
        return False

    def build_message(self, app: Quart, record: logging.LogRecord, admin: str) -> EmailMessage:
        prefix = app.config["FLASKY_MAIL_SUBJECT_PREFIX"]
        exc_type, exc_value, tb = record.exc_info or (None, None, None)
        lines = [record.getMessage(), ""]
        if has_request_context():
            user = g.get("current_user")
            lines += [
                f"Method:   {request.method}",
                f"URL:      {request.url}",
                f"Endpoint: {request.endpoint}",
                f"Client:   {request.remote_addr}",
                f"User:     {getattr(user, 'username', None) or 'anonymous'}",
                "",
            ]
        lines += traceback.format_exception(exc_type, exc_value, tb)
        message = EmailMessage()
        summary = f"{getattr(exc_type, '__name__', 'Error')}: {exc_value}"[:120]
        message["Subject"] = f"{prefix} Application Error: {summary}".replace("\n", " ")
        message["From"] = app.config["FLASKY_MAIL_SENDER"]
        message["To"] = admin
        message.set_content("\n".join(line.rstrip("\n") for line in lines) + "\n")
        return message

    def _dispatch(self, app: Quart, message: EmailMessage) -> None:
        from flasky.email import send_message

        # send_message queues the delivery itself (a task, tracked for shutdown); a
        # coroutine-returning replacement is scheduled here so the response never waits.
        result = send_message(app, message)
        if asyncio.iscoroutine(result):
            task = asyncio.get_running_loop().create_task(result)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


error_mail_handler = ErrorMailHandler()


def install_error_mail() -> None:
    """Attach the (process-wide) handler to `flasky.errors`, once."""
    errors_logger = logging.getLogger("flasky.errors")
    if error_mail_handler not in errors_logger.handlers:
        errors_logger.addHandler(error_mail_handler)
