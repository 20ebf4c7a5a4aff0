"""Database outages (issue 8, point 3): a 503 page (API: 503 JSON) within seconds instead of a
hang or a 500, and recovery without a restart.

The first two tests need no database server (asyncpg against a dead address); the others
run against the real PostgreSQL of TEST_DATABASE_URL and are skipped on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from flasky import create_app
from flasky.config import async_database_url
from flasky.db import get_database
from flasky.models import Post
from tests.conftest import IsolatedClient, reset_schema
from tests.factories import basic_auth, login_as, make_post, make_user

PG_URL = async_database_url(os.environ.get("TEST_DATABASE_URL", ""))
needs_postgres = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"), reason="needs TEST_DATABASE_URL on PostgreSQL"
)

# Answer within a few seconds: generous against CI jitter, far below "hanging".
PROMPT = 4.0


def unreachable_app(url: str, **settings):
    app = create_app("testing")
    app.test_client_class = IsolatedClient
    app.config.update(
        SQLALCHEMY_DATABASE_URL=url, DB_CONNECT_TIMEOUT=1.0, DB_POOL_TIMEOUT=1.0, **settings
    )
    return app


async def assert_unavailable(client, path: str, **kwargs) -> None:
    started = time.perf_counter()
    response = await client.get(path, **kwargs)
    elapsed = time.perf_counter() - started
    assert response.status_code == 503, path
    assert elapsed < PROMPT, f"{path} took {elapsed:.1f}s"
    assert response.headers["Retry-After"]
    if path.startswith("/api/"):
        assert (await response.get_json())["error"] == "service unavailable"
    else:
        assert response.content_type.startswith("text/html")
        assert "503" in await response.get_data(as_text=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_nothing_listening_gives_503_page_and_json_at_once():
    app = unreachable_app(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/flasky")
    async with app.test_app():
        client = app.test_client()
        await assert_unavailable(client, "/")
        await assert_unavailable(client, "/user/john")
        await assert_unavailable(client, "/api/v1/posts/", headers=basic_auth("a@b.c", "cat"))


async def test_server_that_never_answers_gives_503_after_the_connect_timeout():
    """A host that accepts the connection and then says nothing (a hung server)."""
    silent: list[asyncio.StreamWriter] = []

    async def accept(reader, writer):
        silent.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    app = unreachable_app(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/flasky")
    try:
        async with app.test_app():
            client = app.test_client()
            await assert_unavailable(client, "/")
            await assert_unavailable(client, "/api/v1/posts/", headers=basic_auth("a@b.c", "cat"))
    finally:
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()


class TcpProxy:
    """Stands between the app and PostgreSQL, to cut or freeze the line on demand."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.frozen = False
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """The server goes away: connections dropped, new ones refused."""
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers.add(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                while self.frozen:  # noqa: ASYNC110 - a partition: bytes sent, nothing arrives
                    await asyncio.sleep(0.05)
                writer.write(data)
                await writer.drain()
        except (OSError, ConnectionError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()


@pytest.fixture
async def proxied_app(tmp_path) -> AsyncIterator[tuple]:
    """An app on the test PostgreSQL reached through a TcpProxy, with a user and a post."""
    url = make_url(PG_URL)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    app = unreachable_app(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        DB_COMMAND_TIMEOUT=1.0,
    )
    database = get_database(app)
    await reset_schema(database)
    from flasky.models import Role

    async with database.session() as session:
        await Role.insert_roles(session)
    async with app.test_app(), app.app_context():
        async with database.session() as session:
            user = await make_user(session, username="john", email="john@example.com")
            await make_post(session, user, body="still here")
        yield app, proxy
    with contextlib.suppress(Exception):
        await proxy.stop()
    await database.stop()


PAGES = ["/", "/user/john", "/api/v1/posts/"]


async def get_all(client) -> list[int]:
    statuses = []
    for path in PAGES:
        headers = basic_auth("john@example.com", "cat") if path.startswith("/api/") else None
        statuses.append((await client.get(path, headers=headers)).status_code)
    return statuses


@needs_postgres
async def test_database_restart_gives_503_then_recovers_without_restarting_the_app(proxied_app):
    app, proxy = proxied_app
    client = app.test_client()
    assert await get_all(client) == [200, 200, 200]

    await proxy.stop()
    await assert_unavailable(client, "/")
    await assert_unavailable(
        client, "/api/v1/posts/", headers=basic_auth("john@example.com", "cat")
    )

    await proxy.start()  # same port: the database is back
    assert await get_all(client) == [200, 200, 200]


@needs_postgres
async def test_partitioned_database_gives_503_within_seconds_then_recovers(proxied_app):
    """Pooled connections whose server stopped answering: without a command timeout even
    the pool's pre-ping would wait for TCP to give up, many minutes later."""
    app, proxy = proxied_app
    client = app.test_client()
    assert await get_all(client) == [200, 200, 200]

    proxy.frozen = True
    started = time.perf_counter()
    responses = await asyncio.gather(*(client.get("/") for _ in range(3)))
    assert [r.status_code for r in responses] == [503, 503, 503]
    # command timeout (1 s) on the pooled connection, then a connect timeout (1 s).
    assert time.perf_counter() - started < PROMPT

    proxy.frozen = False
    assert await get_all(client) == [200, 200, 200]


async def terminate_backends(url) -> int:
    """pg_terminate_backend every other connection to the test database."""
    admin = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        return await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()


@needs_postgres
async def test_terminated_backends_are_replaced_by_the_pre_ping(app, session):
    user = await make_user(session, username="john", email="john@example.com")
    await make_post(session, user, body="still here")
    await session.close()
    client = app.test_client()
    assert await get_all(client) == [200, 200, 200]

    assert await terminate_backends(make_url(PG_URL)) >= 1
    # Every pooled connection is dead; each checkout pings, finds out, reconnects.
    assert await get_all(client) == [200, 200, 200]


@needs_postgres
async def test_backends_terminated_mid_run_cost_no_500_and_lose_no_acknowledged_write(app, session):
    user = await make_user(session, username="john", email="john@example.com")
    await make_post(session, user, body="still here")
    await session.close()
    reader = app.test_client()
    writers = [app.test_client() for _ in range(2)]
    for writer in writers:
        login_as(writer, user)
    url = make_url(PG_URL)
    statuses: list[int] = []
    acknowledged: list[str] = []
    running = True

    async def read() -> None:
        while running:
            statuses.extend(await get_all(reader))

    async def write(n: int, writer) -> None:
        sequence = 0
        while running:
            sequence += 1
            body = f"written by {n} #{sequence}"
            response = await writer.post("/", form={"body": body})
            statuses.append(response.status_code)
            if response.status_code == 302:
                acknowledged.append(body)
            # A logged-in page: the user is loaded, then the page's own queries run.
            statuses.append((await writer.get("/")).status_code)

    async def killer() -> int:
        killed = 0
        for _ in range(5):
            await asyncio.sleep(0.15)
            killed += await terminate_backends(url)
        return killed

    tasks = [asyncio.create_task(read()) for _ in range(3)]
    tasks += [asyncio.create_task(write(n, w)) for n, w in enumerate(writers)]
    killed = await killer()
    running = False
    await asyncio.gather(*tasks)

    assert killed >= 1
    # A request whose connection died under it may get a 503; never a 500.
    assert set(statuses) <= {200, 302, 503}, sorted(set(statuses))
    assert statuses.count(503) < len(statuses) / 2
    # Once the killing stops, everything answers again, and every acknowledged post is there.
    assert await get_all(reader) == [200, 200, 200]
    async with get_database(app).session() as check:
        stored = set((await check.scalars(select(Post.body))).all())
    assert acknowledged and set(acknowledged) <= stored


# -- outages told apart from bad statements by SQLSTATE ------------------------------------------


@pytest.mark.parametrize(
    ("exception", "unavailable"),
    [
        (asyncpg.exceptions.InvalidCatalogNameError, True),  # 3D000: database dropped
        (asyncpg.exceptions.CannotConnectNowError, True),  # 57P03: starting or stopping
        (asyncpg.exceptions.AdminShutdownError, True),  # 57P01: backend terminated
        (asyncpg.exceptions.CrashShutdownError, True),  # 57P02
        (asyncpg.exceptions.ConnectionDoesNotExistError, True),  # 08003
        (asyncpg.exceptions.ConnectionFailureError, True),  # 08006
        (asyncpg.exceptions.TooManyConnectionsError, True),  # 53300
        (asyncpg.exceptions.UniqueViolationError, False),  # 23505
        (asyncpg.exceptions.PostgresSyntaxError, False),  # 42601
        (asyncpg.exceptions.UndefinedTableError, False),  # 42P01
        (asyncpg.exceptions.QueryCanceledError, False),  # 57014: not a 57P0x
    ],
)
def test_outages_are_told_from_bad_statements_by_sqlstate(exception, unavailable):
    from sqlalchemy.exc import DBAPIError

    from flasky.errors import is_database_unavailable

    raw = exception("the server said so")
    assert is_database_unavailable(raw) is unavailable
    # As the app sees it: wrapped by SQLAlchemy, or raised from the driver's error.
    assert is_database_unavailable(DBAPIError("SELECT 1", {}, raw)) is unavailable
    try:
        raise RuntimeError("while running a query") from raw
    except RuntimeError as chained:
        assert is_database_unavailable(chained) is unavailable


def test_an_error_merely_raised_while_handling_a_bad_statement_keeps_its_own_meaning():
    from flasky.errors import is_database_unavailable

    try:
        try:
            raise asyncpg.exceptions.UniqueViolationError("duplicate")
        except asyncpg.exceptions.UniqueViolationError:
            raise ConnectionResetError("and then the connection dropped") from None
    except ConnectionResetError as error:
        assert is_database_unavailable(error)


class StartingPostgres:
    """Speaks just enough of PostgreSQL's protocol to refuse every connection the way a
    server that is starting up or shutting down does (SQLSTATE 57P03)."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._refuse, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import struct

        try:
            while True:
                length = struct.unpack("!I", await reader.readexactly(4))[0]
                body = await reader.readexactly(length - 4)
                if struct.unpack("!I", body[:4])[0] == 80877103:  # SSLRequest: no TLS here
                    writer.write(b"N")
                    await writer.drain()
                    continue
                fields = b"".join(
                    kind + text + b"\0"
                    for kind, text in [
                        (b"S", b"FATAL"),
                        (b"V", b"FATAL"),
                        (b"C", b"57P03"),
                        (b"M", b"the database system is starting up"),
                    ]
                )
                payload = fields + b"\0"
                writer.write(b"E" + struct.pack("!I", len(payload) + 4) + payload)
                await writer.drain()
                break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.mark.parametrize("path", ["/", "/user/john", "/api/v1/posts/"])
async def test_a_database_starting_up_gives_503_not_500(path):
    server = StartingPostgres()
    await server.start()
    app = unreachable_app(f"postgresql+asyncpg://postgres@127.0.0.1:{server.port}/flasky")
    try:
        async with app.test_app():
            client = app.test_client()
            headers = basic_auth("a@b.c", "cat") if path.startswith("/api/") else None
            await assert_unavailable(client, path, headers=headers)
            health = await client.get("/healthz")
            assert health.status_code == 503
    finally:
        await server.stop()


@pytest.fixture
async def throwaway_database() -> AsyncIterator[str]:
    """A database of its own on the test server, which the test may drop."""
    import uuid

    url = make_url(PG_URL)
    name = f"{url.database}_drop_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database=url.database,
    )  # fmt: skip
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def drop_database(url: str) -> None:
    target = make_url(url)
    admin = await asyncpg.connect(
        host=target.host, port=target.port or 5432, user=target.username,
        password=target.password, database=make_url(PG_URL).database,
    )  # fmt: skip
    try:
        await admin.execute(f'DROP DATABASE "{target.database}" WITH (FORCE)')
    finally:
        await admin.close()


@needs_postgres
async def test_a_dropped_database_gives_503_and_no_error_mail(throwaway_database):
    app = unreachable_app(
        throwaway_database, FLASKY_ERROR_MAIL=True, FLASKY_ADMIN="admin@example.com"
    )
    database = get_database(app)
    await reset_schema(database)
    from flasky.models import Role

    async with database.session() as session:
        await Role.insert_roles(session)
    async with app.test_app(), app.app_context():
        async with database.session() as session:
            user = await make_user(session, username="john", email="john@example.com")
            await make_post(session, user, body="soon gone")
        client = app.test_client()
        assert await get_all(client) == [200, 200, 200]

        await drop_database(throwaway_database)
        await assert_unavailable(client, "/")
        await assert_unavailable(client, "/user/john")
        await assert_unavailable(
            client, "/api/v1/posts/", headers=basic_auth("john@example.com", "cat")
        )
        health = await client.get("/healthz")
        assert health.status_code == 503
        assert app.extensions.get("mail_outbox", []) == []
    await database.stop()


@needs_postgres
async def test_a_backend_terminated_mid_statement_gives_503(tmp_path):
    """The server ends the connection under a running statement (SQLSTATE 57P01)."""
    from sqlalchemy import text

    from flasky.db import get_session

    app = unreachable_app(PG_URL, DB_COMMAND_TIMEOUT=30.0)

    async def slow_page() -> str:
        await get_session().execute(text("SELECT pg_sleep(20)"))
        return "done"

    app.add_url_rule("/_probe/slow", "probe_slow", slow_page)
    database = get_database(app)
    await reset_schema(database)
    async with app.test_app(), app.app_context():
        client = app.test_client()
        request = asyncio.create_task(client.get("/_probe/slow"))
        url = make_url(PG_URL)
        for _ in range(50):  # until the statement is running
            await asyncio.sleep(0.1)
            admin = await asyncpg.connect(
                host=url.host, port=url.port or 5432, user=url.username,
                password=url.password, database=url.database,
            )  # fmt: skip
            try:
                killed = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep(20)%'"
                )
            finally:
                await admin.close()
            if killed:
                break
        response = await asyncio.wait_for(request, timeout=PROMPT)
        assert response.status_code == 503
    await database.stop()
