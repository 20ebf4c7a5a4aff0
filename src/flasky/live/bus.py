"""Telling every worker, on every machine, which event rows were just committed.

- PostgreSQL: `pg_notify` inside the writing transaction (delivered by the server only
  if it commits, never if it rolls back); each worker LISTENs on one dedicated asyncpg
  connection of its own.
- Redis (when REDIS_URL is set): published after the commit; each worker subscribes
  with redis-py's asyncio client. Takes precedence over PostgreSQL's channel.
- SQLite: in-process delivery after the commit, plus a poll of the events table every
  FLASKY_EVENTS_POLL_INTERVAL seconds, which is how rows written by other worker processes
  arrive (SQLite has no notification between processes). Correct with any number of
  workers; only slower across them.

A notice carries only (id, user, post) triples; each worker reads the rows it has
streams for. Whatever a worker misses while its listener reconnects is read back from
the table, and a browser that misses anything replays it with Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from quart import Quart, current_app
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from flasky.db import Database, get_database
from flasky.live.hub import EventRef, Hub
from flasky.models import Event
from flasky.workers import master_stop_event

log = logging.getLogger("flasky.live")

# pg_notify payloads are limited to 8000 bytes; a triple takes at most ~30.
_REFS_PER_NOTICE = 200
_PENDING = "live_pending_refs"
_PUBLISH = "live_publish"


class Transport:
    """In-process delivery (one worker), with polling for SQLite's other workers."""

    name = "in-process"

    def __init__(self, live: Live) -> None:
        self.live = live
        self.hub = live.hub
        self._task: asyncio.Task | None = None
        # The newest event id this worker has looked at; None until the table was read.
        self.mark: int | None = None

    async def stage(self, session: AsyncSession, refs: list[EventRef]) -> None:
        session.info.setdefault(_PENDING, []).extend(refs)
        session.info[_PUBLISH] = self.committed

    def committed(self, refs: list[EventRef]) -> None:
        self.hub.deliver_soon(refs)

    # Stream leases: how many streams a user holds on every worker. Here, none are shared:
    # each worker's hub counts its own.

    async def acquire_stream(self, user_id: int, stream_id: str, limit: int) -> bool:
        return True

    async def renew_stream(self, user_id: int, stream_id: str) -> None:
        return None

    def release_stream(self, user_id: int, stream_id: str) -> None:
        return None

    async def start(self) -> None:
        interval = self.live.poll_interval
        if interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._poll(interval))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def newest_id(self) -> int:
        async with self.live.database.session() as session:
            return await session.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0

    async def catch_up(self) -> None:
        """Deliver the rows written since `mark` (after a poll interval or a reconnect)."""
        if self.mark is None:
            self.mark = await self.newest_id()
            return
        async with self.live.database.session() as session:
            rows = (
                await session.execute(
                    select(Event.id, Event.user_id, Event.post_id)
                    .where(Event.id > self.mark)
                    .order_by(Event.id)
                    .limit(1000)
                )
            ).all()
        if rows:
            self.mark = rows[-1][0]
            await self.hub.deliver([tuple(row) for row in rows])  # type: ignore[misc]

    def _advance(self, refs: list) -> None:
        newest = max(ref[0] for ref in refs)
        self.mark = newest if self.mark is None else max(self.mark, newest)

    async def _poll(self, interval: float) -> None:
        while True:
            try:
                await self.catch_up()
            except Exception as error:  # noqa: BLE001 -- the database is away: next interval
                log.warning("Polling for events failed: %s: %s", type(error).__name__, error)
            await asyncio.sleep(interval)


class PostgresTransport(Transport):
    name = "postgresql"
    channel = "flasky_events"

    def __init__(self, live: Live) -> None:
        super().__init__(live)
        self._connection: Any = None

    async def stage(self, session: AsyncSession, refs: list[EventRef]) -> None:
        # Inside the writer's transaction: the server sends it at commit, or never.
        for start in range(0, len(refs), _REFS_PER_NOTICE):
            notice = json.dumps(refs[start : start + _REFS_PER_NOTICE], separators=(",", ":"))
            await session.execute(
                text("SELECT pg_notify(:channel, :notice)"),
                {"channel": self.live.channel, "notice": notice},
            )

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def stop(self) -> None:
        await super().stop()
        if self._connection is not None:
            await self._connection.close(timeout=2)
            self._connection = None

    def _on_notice(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        try:
            refs = [tuple(ref) for ref in json.loads(payload)]
        except (ValueError, TypeError):
            log.warning("Ignoring a malformed notice on %s: %.100r", channel, payload)
            return
        self._advance(refs)
        self.hub.deliver_soon(refs)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        import asyncpg

        dsn = self.live.database.url.replace("postgresql+asyncpg://", "postgresql://", 1)
        delay = 0.5
        while True:
            lost = asyncio.Event()
            try:
                self._connection = await asyncpg.connect(dsn, timeout=10)
                self._connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await self._connection.add_listener(self.live.channel, self._on_notice)
                await self.catch_up()  # what was committed while we were away
                delay = 0.5
                await lost.wait()
                log.warning("Lost the LISTEN connection; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 -- any failure: wait and reconnect
                log.warning("LISTEN connection failed: %s: %s", type(error).__name__, error)
            if self._connection is not None:
                self._connection.terminate()
                self._connection = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)


class RedisTransport(Transport):
    name = "redis"

    def __init__(self, live: Live, url: str) -> None:
        super().__init__(live)
        self.url = url
        self._client: Any = None

    def committed(self, refs: list[EventRef]) -> None:
        notice = json.dumps(refs, separators=(",", ":"))
        task = asyncio.get_running_loop().create_task(self._publish(notice))
        self.hub._tasks.add(task)
        task.add_done_callback(self.hub._tasks.discard)

    # A sorted set per user: one member per open stream, scored by when its lease ends.
    # Renewed at each heartbeat; a worker that died leaves leases that simply expire.
    _ACQUIRE = """
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
    if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
    redis.call('EXPIRE', KEYS[1], ARGV[5])
    return 1
    """

    def _streams_key(self, user_id: int) -> str:
        return f"{self.live.app.config.get('FLASKY_REDIS_PREFIX') or 'flasky'}:streams:{user_id}"

    @property
    def lease_seconds(self) -> float:
        return max(30.0, 3 * float(self.live.app.config["FLASKY_SSE_HEARTBEAT"]))

    async def acquire_stream(self, user_id: int, stream_id: str, limit: int) -> bool:
        now = time.time()
        try:
            taken = await self._client.eval(
                self._ACQUIRE, 1, self._streams_key(user_id),
                now, now + self.lease_seconds, limit, stream_id, int(self.lease_seconds) + 1,
            )  # fmt: skip
        except Exception as error:  # noqa: BLE001 -- Redis away: each worker's own cap holds
            log.warning("Stream leases unavailable: %s: %s", type(error).__name__, error)
            return True
        return bool(taken)

    async def renew_stream(self, user_id: int, stream_id: str) -> None:
        key = self._streams_key(user_id)
        try:
            await self._client.zadd(key, {stream_id: time.time() + self.lease_seconds}, xx=True)
            await self._client.expire(key, int(self.lease_seconds) + 1)
        except Exception as error:  # noqa: BLE001 -- the lease then lapses; the stream goes on
            log.warning("Could not renew a stream lease: %s: %s", type(error).__name__, error)

    def release_stream(self, user_id: int, stream_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._release(user_id, stream_id))
        self.hub._tasks.add(task)
        task.add_done_callback(self.hub._tasks.discard)

    async def _release(self, user_id: int, stream_id: str) -> None:
        try:
            await self._client.zrem(self._streams_key(user_id), stream_id)
        except Exception as error:  # noqa: BLE001 -- the lease expires by itself
            log.warning("Could not release a stream lease: %s: %s", type(error).__name__, error)

    async def _publish(self, notice: str) -> None:
        try:
            await self._client.publish(self.live.channel, notice)
        except Exception as error:  # noqa: BLE001 -- the rows are committed; clients replay
            log.warning("Could not publish events: %s: %s", type(error).__name__, error)

    async def start(self) -> None:
        import redis.asyncio as redis

        self._client = redis.Redis.from_url(self.url)
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def stop(self) -> None:
        await super().stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.live.channel)
                await self.catch_up()
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._on_notice(message["data"])
            except asyncio.CancelledError:
                await pubsub.aclose()
                raise
            except Exception as error:  # noqa: BLE001 -- any failure: wait and resubscribe
                log.warning("Redis subscription failed: %s: %s", type(error).__name__, error)
            await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)

    def _on_notice(self, payload: bytes | str) -> None:
        try:
            refs = [tuple(ref) for ref in json.loads(payload)]
        except (ValueError, TypeError):
            log.warning("Ignoring a malformed notice: %.100r", payload)
            return
        self._advance(refs)
        self.hub.deliver_soon(refs)  # type: ignore[arg-type]


class Reader:
    """A small engine of its own for reading event rows outside requests (polls, delivery).

    Apart from the request pool, so delivery never waits behind page views for SQLite's one
    pooled connection, and plain reads: the app's SQLite engine opens every transaction
    outside a request with BEGIN IMMEDIATE, which would take the write lock every poll.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self.engine: AsyncEngine | None = None

    @property
    def url(self) -> str:
        return self.database.url

    @property
    def is_sqlite(self) -> bool:
        return self.database.is_sqlite

    def session(self) -> AsyncSession:
        if self.engine is None:
            config = self.database.app.config
            if self.is_sqlite:
                connect_args = {"timeout": config["SQLITE_BUSY_TIMEOUT_MS"] / 1000}
                kwargs: dict[str, Any] = {"pool_size": 1, "max_overflow": 0}
                if ":memory:" in self.url:
                    kwargs = {"poolclass": NullPool}
            else:
                connect_args = {"timeout": config["DB_CONNECT_TIMEOUT"]}
                kwargs = {"pool_size": 2, "max_overflow": 0, "pool_pre_ping": True}
            self.engine = create_async_engine(self.url, connect_args=connect_args, **kwargs)
        return AsyncSession(self.engine, expire_on_commit=False)

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None


class Live:
    """The app's live-update machinery: its hub of streams and its transport."""

    def __init__(self, app: Quart) -> None:
        config = app.config
        self.app = app
        self.database = Reader(get_database(app))
        self.hub = Hub(self.database)
        self.channel = config["FLASKY_EVENTS_CHANNEL"]
        self.poll_interval = float(config["FLASKY_EVENTS_POLL_INTERVAL"])
        self.transport: Transport | None = None
        self._watch: asyncio.Task | None = None

    def choose_transport(self) -> Transport:
        redis_url = self.app.config.get("REDIS_URL")
        if redis_url:
            return RedisTransport(self, redis_url)
        if self.database.is_sqlite:
            return Transport(self)
        return PostgresTransport(self)

    async def start(self) -> None:
        self.hub.closing = False
        self.transport = self.choose_transport()
        await self.transport.start()
        stopping = master_stop_event()
        if stopping is not None:
            self._watch = asyncio.get_running_loop().create_task(self._end_streams_on(stopping))

    async def _end_streams_on(self, stopping: Any) -> None:
        """Hypercorn waits up to graceful_timeout for open responses when it stops: end the
        streams as soon as the stop begins (their browsers reconnect to another server)."""
        # A multiprocessing event (set in another process) has no awaitable form: poll it.
        while not stopping.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        log.info("Stopping: closing %d event streams", self.hub.stream_count)
        self.hub.closing = True
        self.hub.close_all("shutdown")

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        self.hub.closing = True
        self.hub.close_all("shutdown")
        if self.transport is not None:
            await self.transport.stop()
        await self.hub.wait_idle()
        await self.database.stop()


def get_live(app: Quart | None = None) -> Live:
    return (app or current_app).extensions["live"]


async def stage(session: AsyncSession, refs: list[EventRef]) -> None:
    """Arrange for workers to hear of `refs` once the session's transaction commits."""
    live = current_app.extensions.get("live")
    if not refs or live is None or live.transport is None:
        return  # the rows are written all the same; streams replay them on reconnect
    await live.transport.stage(session, refs)


@sa_event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    refs = session.info.pop(_PENDING, None)
    publish = session.info.pop(_PUBLISH, None)
    if refs and publish is not None:
        publish(refs)


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PUBLISH, None)


# Where the event streams are served (the pages' and the API's).
STREAM_PATHS = ("/events", "/api/v1/events")


def init_app(app: Quart) -> Live:
    """Attach the app's Live; flasky.pipeline starts and stops it with each worker."""
    live = Live(app)
    app.extensions["live"] = live
    return live


async def start() -> None:
    await get_live().start()


async def stop() -> None:
    await get_live().stop()
