"""When SQLite's write lock is taken (db._configure_sqlite), and in what order waiting
requests get a pooled connection (compat.sqlalchemy_pool.FairQueuePool).

The lock is observed from outside, as another process would: a plain sqlite3 connection
with no busy timeout tries to write while the app's request is paused at a known point.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from quart import Quart, request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.util.queue import AsyncAdaptedQueue

from flasky.compat.sqlalchemy_pool import FairQueue, FairQueuePool
from flasky.db import get_database, get_session
from flasky.models import Post
from tests.factories import make_user


def sqlite_path(app: Quart) -> str:
    database = get_database(app)
    if not database.is_sqlite:
        pytest.skip("SQLite's locking")
    return database.engine.url.database


def outside_write(path: str) -> str:
    """Try one write from another connection without waiting: 'ok' or the error."""
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return "ok"
    except sqlite3.OperationalError as error:
        return str(error)
    finally:
        connection.close()


def add_paused_route(app: Quart, author_id: int) -> list:
    """/_test/paused reads, pauses, inserts a post, pauses, commits; at each pause it lets
    the test try an outside write, and records what it saw."""
    seen: list[str] = []
    path = get_database(app).engine.url.database

    async def paused():
        session = get_session()
        await session.scalar(select(func.count(Post.id)))
        seen.append(await asyncio.to_thread(outside_write, path))
        session.add(Post(body=f"paused {request.method}", author_id=author_id))
        await session.flush()
        seen.append(await asyncio.to_thread(outside_write, path))
        await session.commit()
        seen.append(await asyncio.to_thread(outside_write, path))
        return "done"

    app.add_url_rule("/_test/paused", view_func=paused, methods=["GET", "POST"])
    return seen


@pytest.mark.parametrize(
    ("method", "after_read"),
    [
        # After its reads a GET holds no lock; its INSERT takes it until the commit.
        ("GET", "free"),
        # A form post takes BEGIN IMMEDIATE before its first read: read-then-write is
        # serialised across worker processes.
        ("POST", "locked"),
    ],
)
async def test_when_a_request_takes_the_write_lock(app, client, session, method, after_read):
    sqlite_path(app)
    author = await make_user(session)
    await session.close()
    seen = add_paused_route(app, author.id)

    response = await client.open("/_test/paused", method=method)

    assert response.status_code == 200
    if after_read == "free":
        assert seen[0] == "ok"
    else:
        assert "locked" in seen[0]
    assert "locked" in seen[1]  # from the INSERT to the commit
    assert seen[2] == "ok"
    assert await session.scalar(select(func.count(Post.id))) == 1


async def test_home_page_on_sqlite_never_locks(app, client, session):
    path = sqlite_path(app)
    await make_user(session)
    await session.commit()
    await session.close()
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        # Another process holds the write lock for the whole request: reads still work.
        holder.execute("BEGIN IMMEDIATE")
        response = await client.get("/")
        assert response.status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def order_of_checkout(queue) -> list[str]:
    """A pool queue with its one connection out; five requests wait for it; just as it
    comes back a sixth request arrives (already scheduled when the connection is put
    back, as other requests' steps are on a busy server). The order they got it in."""
    order: list[str] = []

    async def use(name: str) -> None:
        connection = await greenlet_spawn(queue.get, True, None)
        order.append(name)
        await asyncio.sleep(0)
        queue.put_nowait(connection)

    waiters = [asyncio.create_task(use(f"waiter {n}")) for n in range(5)]
    await asyncio.sleep(0.05)  # all five are queued
    newcomer = asyncio.create_task(use("newcomer"))
    queue.put_nowait("the connection")
    await asyncio.gather(*waiters, newcomer)
    return order


@pytest.mark.parametrize("queue_class", [FairQueue, AsyncAdaptedQueue])
async def test_connections_go_to_the_longest_waiting(queue_class):
    order = await order_of_checkout(queue_class(maxsize=1))
    everyone = [f"waiter {n}" for n in range(5)] + ["newcomer"]
    if queue_class is FairQueue:
        assert order == everyone
    else:
        # SQLAlchemy's own queue lets the newcomer overtake: why FairQueue exists.
        assert order[0] == "newcomer"
        assert sorted(order) == sorted(everyone)


async def test_a_free_connection_is_taken_at_once_when_nobody_waits():
    queue = FairQueue(maxsize=1)
    queue.put_nowait("the connection")
    assert await greenlet_spawn(queue.get, True, None) == "the connection"
    assert queue._turnstile is None  # never needed: no lock, timeout or switch


async def test_a_woken_waiter_is_not_overtaken_by_the_quick_way():
    queue = FairQueue(maxsize=1)
    queue.put_nowait("the connection")
    queue._turnstile = asyncio.Lock()
    await queue._turnstile.acquire()
    waiter = asyncio.create_task(greenlet_spawn(queue.get, True, None))
    await asyncio.sleep(0.01)  # queued at the turnstile
    assert not queue._nobody_waiting()
    queue._turnstile.release()
    # Woken but not yet run, the waiter leaves the lock reading as free: still its turn.
    assert not queue._turnstile.locked() and not queue._nobody_waiting()
    assert await waiter == "the connection"
    assert queue._nobody_waiting()


async def test_pool_timeout_still_applies(tmp_path):
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'timeout.sqlite'}",
        poolclass=FairQueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.2,
    )
    holder = await engine.connect()
    await holder.exec_driver_sql("SELECT 1")
    with pytest.raises(Exception, match="QueuePool limit"):
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
    await holder.close()
    async with engine.connect() as connection:  # and the queue still works afterwards
        assert (await connection.exec_driver_sql("SELECT 1")).scalar() == 1
    await engine.dispose()
