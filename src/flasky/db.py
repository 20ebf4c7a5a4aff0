"""The async database layer: one engine per app, one AsyncSession per request."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from quart import Quart, current_app, g, has_request_context, request
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import (
    AsyncAttrs,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from flasky.compat.aiosqlite_cursor import one_hop_statements
from flasky.compat.sqlalchemy_pool import FairQueuePool
from flasky.compat.sqlite import in_transaction, skip_empty_transaction_ends

log = logging.getLogger("flasky.db")
slow_query_log = logging.getLogger("flasky.slow_query")

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(AsyncAttrs, DeclarativeBase):
    # AsyncAttrs: `await row.awaitable_attrs.name` loads a relationship where loading is
    # allowed (the shell); the app's own relationships are lazy="raise" and loaded explicitly.
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every database, read back as an aware UTC datetime: one way
    for timestamps throughout."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        generic = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or generic is None:
            return generic
        return _sqlite_reader(generic)


def _sqlite_reader(generic: Any) -> Any:
    """SQLite keeps these as text ("2026-12-07 03:04:05.000000", naive UTC): one C parse
    with the UTC offset appended instead of SQLAlchemy's parse, a call to
    process_result_value and a replace() (a post page reads 62 of them). Text in any other
    shape takes the generic path, which parses (or refuses) it as before."""
    parse = datetime.fromisoformat

    def read(value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            return parse(value + "+00:00")
        except (TypeError, ValueError):
            return generic(value)

    return read


class Database:
    """Owns the app's engine and session factory; started at app startup, disposed at shutdown."""

    def __init__(self, app: Quart) -> None:
        self.app = app
        self.engine: AsyncEngine | None = None
        self.sessionmaker: async_sessionmaker[AsyncSession] | None = None
        # Incremented for every statement; tests and the benchmark read it.
        self.statement_count = 0

    @property
    def url(self) -> str:
        return self.app.config["SQLALCHEMY_DATABASE_URL"]

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def start(self) -> AsyncEngine:
        if self.engine is None:
            self.engine = self._create_engine()
            self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        return self.engine

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None
            self.sessionmaker = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Database]:
        """For CLI commands and scripts: the engine for the duration of a block."""
        started = self.engine is None
        self.start()
        try:
            yield self
        finally:
            if started:
                await self.stop()

    def session(self) -> AsyncSession:
        if self.sessionmaker is None:
            self.start()
        assert self.sessionmaker is not None
        return self.sessionmaker()

    def _create_engine(self) -> AsyncEngine:
        config = self.app.config
        kwargs: dict[str, Any] = {"echo": config["SQLALCHEMY_ECHO"]}
        if self.is_sqlite:
            # One connection per process: SQLite has one writer at a time anyway, and a
            # single connection means no transaction in this process ever sees a stale
            # snapshot. BEGIN IMMEDIATE (below) plus busy_timeout serialises writers
            # across worker processes instead of failing with "database is locked".
            if ":memory:" in self.url or self.url.endswith("://"):
                kwargs["poolclass"] = NullPool
            else:
                kwargs.update(
                    poolclass=FairQueuePool,
                    pool_size=1,
                    max_overflow=0,
                    pool_timeout=config["DB_POOL_TIMEOUT"],
                )
        else:
            kwargs.update(
                poolclass=FairQueuePool,
                pool_size=config["DB_POOL_SIZE"],
                max_overflow=config["DB_MAX_OVERFLOW"],
                pool_timeout=config["DB_POOL_TIMEOUT"],
                pool_pre_ping=True,
                pool_recycle=1800,
                # Both bound a dead or partitioned server: a refused or silent connect, and a
                # pooled connection whose server stopped answering (even the pre-ping hangs).
                connect_args={
                    "timeout": config["DB_CONNECT_TIMEOUT"],
                    "command_timeout": config.get("DB_COMMAND_TIMEOUT") or None,
                },
            )
        engine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(engine.sync_engine, config["SQLITE_BUSY_TIMEOUT_MS"])
        self._instrument(engine.sync_engine)
        return engine

    def _instrument(self, engine: Engine) -> None:
        threshold = self.app.config["FLASKY_SLOW_DB_QUERY_TIME"]

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            self.statement_count += 1
            conn.info.setdefault("query_start", []).append(time.perf_counter())
            if has_request_context():
                g.statement_count = g.get("statement_count", 0) + 1

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            duration = time.perf_counter() - conn.info["query_start"].pop()
            if duration >= threshold:
                endpoint = request.endpoint if has_request_context() else None
                # Bulk inserts can carry thousands of rows: keep the line readable.
                shown = repr(parameters)
                if len(shown) > 1000:
                    shown = shown[:1000] + "…"
                slow_query_log.warning(
                    "Slow query: %.3fs endpoint=%s statement=%s parameters=%s",
                    duration,
                    endpoint,
                    statement,
                    shown,
                    # The same facts as fields, for structured log handlers and tests.
                    extra={
                        "duration": duration,
                        "endpoint": endpoint,
                        "statement": statement,
                        "parameters": parameters,
                    },
                )


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout, foreign keys, and SQLite's write lock taken before any write.

    A request that may change data (POST and the like), and all work outside requests,
    begins with BEGIN IMMEDIATE: the whole transaction, reads included, runs under the
    write lock, so read-then-write is serialised even across worker processes.
    A GET or HEAD begins without a lock: its reads run as autocommit statements (each
    on its own snapshot, what PostgreSQL's READ COMMITTED gives), and only a statement
    that is not a SELECT (say the throttled last_seen update) takes the lock first, on a
    fresh snapshot. A page view thus costs no BEGIN and no ROLLBACK — two of the
    aiosqlite thread hops each statement costs — and never holds the write lock, so
    worker processes serve pages in parallel.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):  # noqa: ANN001
        # Each statement in one aiosqlite thread hop, not four (flasky/compat).
        one_hop_statements(dbapi_connection)
        # Take over transaction control from the driver so BEGIN can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        if not (has_request_context() and request.method in READ_ONLY_METHODS):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _lock_before_writing(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if _needs_write_lock(statement) and not in_transaction(conn.connection.dbapi_connection):
            cursor.execute("BEGIN IMMEDIATE")

    # A page view's transaction never began: its COMMIT or ROLLBACK would be a thread hop
    # for nothing.
    skip_empty_transaction_ends(engine.dialect)


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _needs_write_lock(statement: str) -> bool:
    head = statement.lstrip()[:6].upper()
    return head != "SELECT" and not head.startswith("BEGIN")


def init_app(app: Quart) -> Database:
    """Attach the app's Database; its hooks are placed by flasky.pipeline."""
    database = Database(app)
    app.extensions["database"] = database
    return database


async def start_engine() -> None:
    """Per worker process, once serving starts: the engine and its pool."""
    get_database().start()


async def dispose_engine() -> None:
    await get_database().stop()


async def close_session(exc: BaseException | None) -> None:
    """At the end of a request (or app context): roll back on error, close the session."""
    session: AsyncSession | None = g.pop("db_session", None)
    if session is None:
        return
    try:
        if exc is not None:
            await session.rollback()
        await session.close()
    except Exception as error:  # noqa: BLE001
        # The connection died under the request (database restarted, backend
        # terminated); the response is already decided, so don't turn it into a 500
        # here, just make sure the dead connection never goes back to the pool.
        log.warning("Discarding a broken database connection: %s: %s", type(error).__name__, error)
        await session.invalidate()


def get_database(app: Quart | None = None) -> Database:
    return (app or current_app).extensions["database"]


def get_session() -> AsyncSession:
    """The current request's (or app context's) session, opened on first use."""
    session = g.get("db_session")
    if session is None:
        session = get_database().session()
        g.db_session = session
    return session
