"""Production behaviour: slow-query log, /healthz, HTTPS redirect, proxy headers, logging
targets and the error mail to FLASKY_ADMIN."""

from __future__ import annotations

import asyncio
import logging
import time
from logging.handlers import SysLogHandler

import pytest
from quart import g, jsonify, request
from sqlalchemy import select

from flasky import create_app
from flasky.db import get_database, get_session
from flasky.models import User
from tests.factories import login_as, make_user

ADMIN = "admin@example.com"
UNREACHABLE_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/x"


def add_probe_routes(app) -> None:
    """Routes that exist only in these tests (added before the first request)."""

    @app.route("/_probe/user/<username>")
    async def probe_user(username: str):
        user = await get_session().scalar(select(User).where(User.username == username))
        return jsonify({"found": user is not None})

    @app.route("/_probe/request")
    async def probe_request():
        return jsonify(
            {"remote_addr": request.remote_addr, "scheme": request.scheme, "host": request.host}
        )

    @app.route("/_probe/boom")
    async def probe_boom():
        g.boom_started = time.perf_counter()
        raise RuntimeError("the probe exploded")


@pytest.fixture
def probe_app(app):
    add_probe_routes(app)
    return app


# --- slow-query log ----------------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"FLASKY_SLOW_DB_QUERY_TIME": 0}])
async def test_slow_query_is_logged_with_statement_parameters_duration_and_endpoint(
    probe_app, client, caplog
):
    caplog.set_level(logging.WARNING, logger="flasky.slow_query")

    response = await client.get("/_probe/user/susan")

    assert response.status_code == 200
    records = [r for r in caplog.records if r.name == "flasky.slow_query"]
    record = next(r for r in records if "FROM users" in r.statement)
    assert "susan" in repr(record.parameters)
    assert record.duration >= 0
    assert record.endpoint == "probe_user"
    # The formatted line carries the same facts for plain-text logs.
    line = record.getMessage()
    assert "endpoint=probe_user" in line and "FROM users" in line and "susan" in line


async def test_fast_queries_are_not_logged_at_the_default_threshold(probe_app, client, caplog):
    caplog.set_level(logging.WARNING, logger="flasky.slow_query")

    await client.get("/_probe/user/susan")

    assert probe_app.config["FLASKY_SLOW_DB_QUERY_TIME"] == 0.5
    assert not [r for r in caplog.records if r.name == "flasky.slow_query"]


# --- /healthz ----------------------------------------------------------------------------------


async def test_healthz_answers_ok_when_the_database_answers(client):
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


async def _health_of_app_using(url: str, **config) -> tuple[int, dict, float]:
    app = create_app("testing")
    app.config["SQLALCHEMY_DATABASE_URL"] = url
    app.config.update(config)
    async with app.test_app():
        started = time.perf_counter()
        response = await app.test_client().get("/healthz")
        elapsed = time.perf_counter() - started
        body = await response.get_json()
    await get_database(app).stop()
    return response.status_code, body, elapsed


async def test_healthz_answers_503_quickly_when_postgresql_is_unreachable():
    status, body, elapsed = await _health_of_app_using(UNREACHABLE_POSTGRES)

    assert status == 503
    assert body["status"] == "unavailable"
    assert elapsed < 5


async def test_healthz_answers_503_when_the_database_does_not_answer_in_time():
    # A server that accepts the connection and then says nothing: only the timeout helps.
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        status, body, elapsed = await _health_of_app_using(
            f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x", FLASKY_HEALTH_TIMEOUT=0.5
        )
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()

    assert status == 503
    assert body == {"status": "unavailable", "database": "timeout"}
    assert elapsed < 3


async def test_healthz_skips_the_unconfirmed_gate(client, session):
    login_as(client, await make_user(session, confirmed=False))

    assert (await client.get("/")).status_code == 302
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}


@pytest.mark.parametrize("app_config", [{"SSL_REDIRECT": True}])
async def test_healthz_is_not_redirected_to_https(client):
    response = await client.get("/healthz")

    assert response.status_code == 200


# --- HTTPS redirect and proxies ----------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"SSL_REDIRECT": True}])
@pytest.mark.parametrize(("method", "code"), [("GET", 301), ("HEAD", 301), ("POST", 308)])
async def test_ssl_redirect_sends_plain_http_to_https(client, method, code):
    response = await client.open("/user/john?page=2", method=method)

    assert response.status_code == code
    assert response.headers["Location"] == "https://localhost/user/john?page=2"


@pytest.mark.parametrize("app_config", [{"SSL_REDIRECT": True}])
async def test_ssl_redirect_ignores_forwarded_proto_from_an_untrusted_client(client):
    response = await client.get("/", headers={"X-Forwarded-Proto": "https"})

    assert response.status_code == 301


@pytest.mark.parametrize("app_config", [{"SSL_REDIRECT": True, "FLASKY_PROXY_COUNT": 1}])
async def test_ssl_redirect_trusts_forwarded_proto_behind_a_configured_proxy(client):
    secure = await client.get("/", headers={"X-Forwarded-Proto": "https"})
    plain = await client.get(
        "/", headers={"X-Forwarded-Proto": "http", "X-Forwarded-Host": "ex.org"}
    )

    assert secure.status_code == 200
    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://ex.org/"


async def test_https_requests_are_served_when_ssl_redirect_is_on(app, client):
    app.config["SSL_REDIRECT"] = True

    response = await client.get("/", scheme="https")

    assert response.status_code == 200


FORWARDED = {
    "X-Forwarded-For": "203.0.113.9, 198.51.100.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "blog.example.org",
}


@pytest.mark.parametrize("app_config", [{"FLASKY_PROXY_COUNT": 1}])
async def test_forwarded_headers_are_honoured_behind_one_proxy(probe_app, client):
    response = await client.get(
        "/_probe/request", headers=FORWARDED, scope_base={"client": ("10.0.0.2", 40000)}
    )

    # Only the last hop (the one our proxy added) is trusted; the client's own claim is not.
    assert await response.get_json() == {
        "remote_addr": "198.51.100.7",
        "scheme": "https",
        "host": "blog.example.org",
    }


@pytest.mark.parametrize("app_config", [{"FLASKY_PROXY_COUNT": 2}])
async def test_forwarded_headers_trust_as_many_hops_as_configured(probe_app, client):
    response = await client.get("/_probe/request", headers=FORWARDED)

    assert (await response.get_json())["remote_addr"] == "203.0.113.9"


async def test_forwarded_headers_are_ignored_without_a_configured_proxy(probe_app, client):
    response = await client.get(
        "/_probe/request", headers=FORWARDED, scope_base={"client": ("10.0.0.2", 40000)}
    )

    assert await response.get_json() == {
        "remote_addr": "10.0.0.2",
        "scheme": "http",
        "host": "localhost",
    }


# --- logging targets ---------------------------------------------------------------------------


@pytest.fixture
def restore_flasky_logger():
    logger = logging.getLogger("flasky")
    handlers, propagate, level = list(logger.handlers), logger.propagate, logger.level
    yield logger
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    logger.propagate, logger.level = propagate, level


def _our_handlers(logger: logging.Logger) -> list[logging.Handler]:
    return [h for h in logger.handlers if getattr(h, "_flasky_handler", False)]


def test_docker_config_logs_to_stderr(monkeypatch, restore_flasky_logger):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("FLASKY_BASE_URL", "http://localhost")

    create_app("docker")
    create_app("docker")  # building the app again must not stack handlers

    (handler,) = _our_handlers(restore_flasky_logger)
    assert isinstance(handler, logging.StreamHandler)
    assert handler.stream is __import__("sys").stderr
    assert restore_flasky_logger.propagate is False
    # Slow queries (WARNING) and mail in the log (INFO) are both let through.
    assert logging.getLogger("flasky.slow_query").isEnabledFor(logging.WARNING)
    assert logging.getLogger("flasky.mail").isEnabledFor(logging.INFO)


def test_unix_config_logs_to_syslog(monkeypatch, restore_flasky_logger):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("FLASKY_BASE_URL", "http://localhost")

    create_app("unix")

    (handler,) = _our_handlers(restore_flasky_logger)
    assert isinstance(handler, SysLogHandler)
    record = logging.LogRecord("flasky.slow_query", logging.WARNING, __file__, 1, "Slow", (), None)
    assert handler.format(record).startswith("flasky[")


def test_development_config_logs_to_stderr_when_nothing_else_is_set_up(
    monkeypatch, restore_flasky_logger
):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])

    create_app("development")

    (handler,) = _our_handlers(restore_flasky_logger)
    assert isinstance(handler, logging.StreamHandler)
    assert restore_flasky_logger.propagate is True


# --- error mail --------------------------------------------------------------------------------

ERROR_MAIL = {"FLASKY_ERROR_MAIL": True, "FLASKY_ADMIN": ADMIN}


async def _wait_for(condition, within: float = 2.0) -> None:
    """Poll: the outbox is filled by a background task or by the SMTP server's thread."""
    deadline = time.perf_counter() + within
    while not condition() and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("app_config", [ERROR_MAIL])
async def test_unhandled_error_gives_500_page_and_mails_the_admin(probe_app, client, outbox):
    response = await client.get("/_probe/boom", headers={"Accept": "text/html"})

    assert response.status_code == 500
    assert "Internal Server Error" in await response.get_data(as_text=True)
    await _wait_for(lambda: outbox)
    (message,) = outbox
    assert message["To"] == ADMIN
    assert message["Subject"].startswith("[Flasky] Application Error")
    body = message.get_content() if hasattr(message, "get_content") else str(message)
    assert "RuntimeError: the probe exploded" in body
    assert "GET" in body and "/_probe/boom" in body
    assert "Traceback" in body


@pytest.mark.parametrize("app_config", [ERROR_MAIL])
async def test_the_same_error_is_mailed_once_per_interval(probe_app, client, outbox):
    for _ in range(3):
        assert (await client.get("/_probe/boom")).status_code == 500

    await _wait_for(lambda: outbox)
    await asyncio.sleep(0.05)
    assert len(outbox) == 1


@pytest.mark.parametrize("app_config", [ERROR_MAIL])
async def test_error_mail_does_not_delay_the_response(probe_app, client, monkeypatch):
    import flasky.email

    delivered = asyncio.Event()

    async def slow_smtp(app, message):
        await asyncio.sleep(0.5)
        delivered.set()

    monkeypatch.setattr(flasky.email, "send_message", slow_smtp)

    started = time.perf_counter()
    response = await client.get("/_probe/boom")
    elapsed = time.perf_counter() - started

    assert response.status_code == 500
    assert elapsed < 0.4
    await asyncio.wait_for(delivered.wait(), 2)


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd, in its own thread) that keeps what it receives."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Keep(Message):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list = []

        def handle_message(self, message) -> None:
            self.messages.append(message)

    import socket

    with socket.socket() as probe:  # aiosmtpd needs a real port number up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, handler.messages
    controller.stop()


async def test_error_mail_goes_out_over_smtp(probe_app, client, smtp_server):
    controller, received = smtp_server
    probe_app.config.update(
        ERROR_MAIL,
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=controller.port,
        MAIL_USE_TLS=False,
    )

    assert (await client.get("/_probe/boom")).status_code == 500

    await _wait_for(lambda: received, within=5)
    (message,) = received
    assert message["To"] == ADMIN
    assert "the probe exploded" in message.get_payload()


async def test_errors_are_not_mailed_when_error_mail_is_off(probe_app, client, outbox):
    probe_app.config["FLASKY_ADMIN"] = ADMIN

    assert probe_app.config["FLASKY_ERROR_MAIL"] is False
    assert (await client.get("/_probe/boom")).status_code == 500
    await asyncio.sleep(0.05)
    assert outbox == []


@pytest.mark.parametrize("name", ["production", "docker", "unix"])
def test_production_configs_mail_errors_by_default(monkeypatch, restore_flasky_logger, name):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("FLASKY_BASE_URL", "http://localhost")
    monkeypatch.delenv("FLASKY_ERROR_MAIL", raising=False)

    assert create_app(name).config["FLASKY_ERROR_MAIL"] is True


def test_production_freezes_startup_objects_once_per_process(monkeypatch, restore_flasky_logger):
    import gc

    from flasky import gcfreeze

    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("FLASKY_BASE_URL", "http://localhost")
    monkeypatch.setattr(gcfreeze, "_frozen", False)
    testing = create_app("testing")
    assert gcfreeze.freeze_startup_objects(testing) is False  # never in a test app
    monkeypatch.setenv("FLASKY_GC_FREEZE", "0")
    assert gcfreeze.freeze_startup_objects(create_app("production")) is False
    monkeypatch.delenv("FLASKY_GC_FREEZE")
    app = create_app("production")
    try:
        assert gcfreeze.freeze_startup_objects(app) is True
        assert gc.get_freeze_count() > 0
        assert gcfreeze.freeze_startup_objects(app) is False  # once per process
    finally:
        gc.unfreeze()
